#include "flows/inventory.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/ids.h"
#include "core/strings.h"
#include "jobs/retry_policy.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::flows {
namespace {

using core::Cat;
using model::InventoryPosition;
using model::Movement;
using model::MovementKind;
using nlohmann::json;

std::string SkuEntity(std::string_view sku) { return Cat("sku:", sku); }
std::string OrderEntity(std::string_view order_ref) { return Cat("order:", order_ref); }

absl::StatusOr<std::string> StoreOf(const store::Job& job) {
  json p = json::parse(job.payload, nullptr, /*allow_exceptions=*/false);
  if (!p.is_object() || !p.contains("store") || !p["store"].is_string() ||
      p["store"].get<std::string>().empty()) {
    return absl::DataLossError(
        Cat("job payload is not {\"store\":S}: ", job.payload.substr(0, 200)));
  }
  return p["store"].get<std::string>();
}

const InventoryPosition* Find(const std::vector<InventoryPosition>& ps, std::string_view location) {
  for (const InventoryPosition& p : ps) {
    if (p.location == location) return &p;
  }
  return nullptr;
}

// Lines with one SKU merged, in first-seen order.
std::vector<InventoryLine> Merge(std::span<const InventoryLine> lines) {
  std::vector<InventoryLine> out;
  for (const InventoryLine& l : lines) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const InventoryLine& o) {
                             return o.sku == l.sku && o.location == l.location;
                           });
    if (it == out.end()) {
      out.push_back(l);
    } else {
      it->quantity += l.quantity;
    }
  }
  return out;
}


std::string ReserveKey(std::string_view order_ref, std::string_view sku) {
  return Cat("inventory.reserve:", order_ref, ":", sku);
}

// The longest Retry-After among technical failures, so the job waits for the slowest remote.
absl::Status RetryableSummary(int failed, const std::vector<absl::Status>& statuses) {
  std::optional<absl::Duration> wait;
  std::string first;
  for (const absl::Status& s : statuses) {
    if (first.empty()) first = std::string(s.message());
    if (auto ra = jobs::RetryAfterOf(s); ra && (!wait || *ra > *wait)) wait = ra;
  }
  absl::Status st = absl::UnavailableError(Cat(
      failed, " stock level(s) not published (technical failure; marked dirty again): ", first));
  return wait ? jobs::WithRetryAfter(st, *wait) : st;
}

// A StockSink outcome sorted for the deferred commit.
struct Sorted {
  std::vector<StockTarget> ok;
  std::vector<std::pair<StockTarget, std::string>> rejected;  // with the reason
  std::vector<StockTarget> retry;
  std::vector<absl::Status> retry_statuses;
};

Sorted SortOutcomes(std::span<const StockTarget> targets, const std::vector<SinkOutcome>& out) {
  absl::flat_hash_map<std::string, absl::Status> by_sku;
  for (const SinkOutcome& o : out) by_sku[o.sku] = o.status;
  Sorted s;
  for (const StockTarget& t : targets) {
    auto it = by_sku.find(t.sku);
    absl::Status st =
        it == by_sku.end() ? absl::UnavailableError(Cat("no outcome for SKU ", t.sku)) : it->second;
    if (st.ok()) {
      s.ok.push_back(t);
    } else if (jobs::Classify(st) == jobs::FailureClass::kRetryable) {
      s.retry.push_back(t);
      s.retry_statuses.push_back(st);
    } else {
      s.rejected.emplace_back(t, std::string(st.message()));
    }
  }
  return s;
}

// The deferred writes for sorted outcomes: published levels, rejections on the SKU's timeline,
// technical failures marked dirty again.
absl::Status RecordOutcomes(store::Tx& tx, std::string_view store_id, const Sorted& s,
                            std::string_view correlation_id) {
  for (const StockTarget& t : s.ok) {
    if (auto st = tx.PutPublished({.store_id = std::string(store_id),
                                   .sku = t.sku,
                                   .quantity = t.quantity,
                                   .stock_status = t.stock_status,
                                   .status = "ok"});
        !st.ok()) {
      return st;
    }
  }
  for (const auto& [t, reason] : s.rejected) {
    if (auto st = tx.PutPublished({.store_id = std::string(store_id),
                                   .sku = t.sku,
                                   .quantity = t.quantity,
                                   .stock_status = t.stock_status,
                                   .status = "rejected",
                                   .error = reason});
        !st.ok()) {
      return st;
    }
    if (auto st = tx.AppendTimeline(
            {.entity = SkuEntity(t.sku),
             .correlation_id = std::string(correlation_id),
             .kind = "inventory.publish_rejected",
             .detail_json =
                 json{{"store", store_id}, {"quantity", t.quantity}, {"reason", reason}}.dump()});
        !st.ok()) {
      return st;
    }
  }
  for (const StockTarget& t : s.retry) {
    if (auto st = tx.MarkDirty(store_id, t.sku); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view StockEventResultName(StockEventResult r) {
  switch (r) {
    case StockEventResult::kApplied:
      return "applied";
    case StockEventResult::kDuplicate:
      return "duplicate";
    case StockEventResult::kStale:
      return "stale";
  }
  return "unknown";
}

std::vector<InventoryConfigProblem> ValidateInventoryOptions(const InventoryOptions& o) {
  std::vector<InventoryConfigProblem> out;
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < o.channels.size(); ++i) {
    const model::ChannelRule& c = o.channels[i];
    const std::string at = absl::StrCat("channels[", i, "]");
    auto problem = [&](std::string_view key, std::string message) {
      out.push_back({Cat(at, ".", key), std::move(message)});
    };
    if (c.channel.empty()) {
      problem("store", "must name a store");
    } else if (!seen.insert(c.channel).second) {
      problem("store", Cat("duplicate channel \"", c.channel, "\""));
    }
    if (c.locations.empty()) problem("locations", "must list at least one location");
    for (size_t j = 0; j < c.locations.size(); ++j) {
      if (c.locations[j].empty()) {
        out.push_back({absl::StrCat(at, ".locations[", j, "]"), "must not be empty"});
      }
    }
    if (c.percent < 0 || c.percent > 100) problem("percent", "must be between 0 and 100");
    if (c.cap.has_value() && *c.cap < 0) problem("cap", "must be >= 0");
    if (c.holdback < 0) problem("holdback", "must be >= 0");
    if (c.inbound_horizon < absl::ZeroDuration()) problem("inbound_horizon_days", "must be >= 0");
  }
  if (o.publish_batch < 1 || o.publish_batch > 1000) {
    out.push_back({"publish_batch", "must be between 1 and 1000"});
  }
  if (o.max_attempts < 1) out.push_back({"max_attempts", "must be >= 1"});
  return out;
}

InventoryService::InventoryService(StockSink* sink, InventoryOptions options,
                                   obs::Registry* metrics)
    : sink_(sink), options_(std::move(options)) {
  if (metrics == nullptr) return;
  for (const model::ChannelRule& c : options_.channels) {
    const obs::Labels store = {{"store", c.channel}};
    ChannelMetrics m;
    m.published = metrics->GetCounter("keelson_inventory_published_total",
                                      "Stock levels published to a store", store);
    m.retryable = metrics->GetCounter("keelson_inventory_publish_failures_total",
                                      "Stock levels a store did not take, by failure class",
                                      {{"store", c.channel}, {"class", "technical"}});
    m.rejected = metrics->GetCounter("keelson_inventory_publish_failures_total", "",
                                     {{"store", c.channel}, {"class", "business"}});
    m.shortfall =
        metrics->GetCounter("keelson_inventory_shortfall_units_total",
                            "Units ordered that could not be reserved (sold without stock)", store);
    m.drift = metrics->GetGauge("keelson_inventory_drift_skus",
                                "SKUs whose level in the store differed from the computed ATS "
                                "at the last reconciliation",
                                store);
    metrics_.push_back(m);
  }
  const std::string help = "Stock events received, by result";
  m_events_applied_ =
      metrics->GetCounter("keelson_inventory_events_total", help, {{"result", "applied"}});
  m_events_duplicate_ =
      metrics->GetCounter("keelson_inventory_events_total", help, {{"result", "duplicate"}});
  m_events_stale_ =
      metrics->GetCounter("keelson_inventory_events_total", help, {{"result", "stale"}});
}

absl::Status InventoryService::Apply(store::Tx& tx, Movement m) const {
  absl::StatusOr<model::InventoryPosition> p = tx.ApplyMovement(m);
  if (!p.ok() || !options_.events.enabled()) return p.status();
  // A movement has no natural key: it gets a random id, fixed once written to the outbox.
  return options_.events.Emit(
      tx, events::kInventoryChanged,
      Cat(events::kInventoryChanged, ":", core::NewCorrelationId()), Cat(m.sku, "@", m.location),
      {{"sku", m.sku},
       {"location", m.location},
       {"movement",
        {{"kind", model::MovementKindName(m.kind)},
         {"quantity", m.quantity},
         {"source", m.source},
         {"reference", m.correlation_id}}},
       {"position",
        {{"on_hand", p->on_hand},
         {"allocated", p->allocated},
         {"reserved", p->reserved},
         {"safety_stock", p->safety_stock},
         {"inbound", p->inbound},
         {"sellable", model::SellableAt(*p)}}}},
      m.correlation_id);
}

const model::ChannelRule* InventoryService::Channel(std::string_view channel) const {
  for (const model::ChannelRule& c : options_.channels) {
    if (c.channel == channel) return &c;
  }
  return nullptr;
}

const InventoryService::ChannelMetrics* InventoryService::MetricsFor(
    std::string_view channel) const {
  for (size_t i = 0; i < metrics_.size(); ++i) {
    if (options_.channels[i].channel == channel) return &metrics_[i];
  }
  return nullptr;
}

std::string InventoryService::Partition(std::string_view store_id) {
  return Cat("inventory:publish:", store_id);
}

std::string InventoryService::PendingFlag(std::string_view store_id) {
  return Cat("inventory.publish.pending:", store_id);
}

store::NewJob InventoryService::PublishJob(std::string_view store_id) const {
  return {.kind = kInventoryPublishJobKind,
          .partition_key = Partition(store_id),
          .payload = json{{"store", store_id}}.dump(),
          .max_attempts = options_.max_attempts};
}

store::NewJob InventoryService::ReconcileJob(std::string_view store_id) const {
  return {.kind = kInventoryReconcileJobKind,
          .partition_key = Partition(store_id),
          .payload = json{{"store", store_id}}.dump(),
          .max_attempts = options_.max_attempts};
}

absl::StatusOr<bool> InventoryService::EnsurePublishJob(store::Tx& tx, std::string_view store_id) {
  absl::StatusOr<bool> fresh = tx.PutIdempotencyKey(PendingFlag(store_id));
  if (!fresh.ok() || !*fresh) return fresh;
  if (auto id = tx.EnqueueJob(PublishJob(store_id)); !id.ok()) return id.status();
  return true;
}

absl::Status InventoryService::ConsumeReserved(store::Tx& tx, const Movement& base, int64_t take,
                                              int64_t on_hand) const {
  const int64_t from_stock = std::min(take, std::max<int64_t>(0, on_hand));
  if (from_stock > 0) {
    Movement m = base;
    m.kind = MovementKind::kConsume;
    m.quantity = from_stock;
    if (auto s = Apply(tx, m); !s.ok()) return s;
  }
  if (take > from_stock) {
    // The WMS already reported the stock gone: only the reservation is left to end.
    Movement m = base;
    m.kind = MovementKind::kRelease;
    m.quantity = take - from_stock;
    if (auto s = Apply(tx, m); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status InventoryService::MarkDirty(store::Tx& tx, std::string_view sku,
                                         std::string_view location) {
  for (const model::ChannelRule& c : options_.channels) {
    if (!c.Serves(location)) continue;
    if (auto s = tx.MarkDirty(c.channel, sku); !s.ok()) return s;
    if (auto s = EnsurePublishJob(tx, c.channel); !s.ok()) return s.status();
  }
  return absl::OkStatus();
}

void InventoryService::Register(jobs::HandlerRegistry& registry) {
  registry.Register(kInventoryPublishJobKind,
                    [this](jobs::JobContext& ctx) { return RunPublish(ctx); });
  registry.Register(kInventoryReconcileJobKind,
                    [this](jobs::JobContext& ctx) { return RunReconcile(ctx); });
}

// ---- stock events -----------------------------------------------------------------------------

absl::StatusOr<StockEventResult> InventoryService::ApplyStockEvent(store::Tx& tx,
                                                                   const StockEvent& e) {
  if (e.event_id.empty()) return absl::InvalidArgumentError("event_id is required");
  if (e.sku.empty()) return absl::InvalidArgumentError("sku is required");
  if (e.location.empty()) return absl::InvalidArgumentError("location is required");
  if (e.occurred_at == absl::InfinitePast() || e.occurred_at == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("occurred_at is required");
  }
  for (const auto& [name, v] :
       {std::pair<const char*, std::optional<int64_t>>{"on_hand", e.on_hand},
        {"allocated", e.allocated},
        {"inbound", e.inbound},
        {"safety_stock", e.safety_stock}}) {
    if (v.has_value() && *v < 0) return absl::InvalidArgumentError(Cat(name, " must be >= 0"));
  }

  absl::StatusOr<bool> fresh = tx.PutIdempotencyKey(Cat("inventory.event:", e.event_id));
  if (!fresh.ok()) return fresh.status();
  if (!*fresh) {
    if (m_events_duplicate_) m_events_duplicate_->Inc();
    return StockEventResult::kDuplicate;
  }
  absl::StatusOr<std::vector<InventoryPosition>> ps = tx.GetPositions(e.sku);
  if (!ps.ok()) return ps.status();
  if (const InventoryPosition* p = Find(*ps, e.location);
      p != nullptr && e.occurred_at < p->as_of) {
    // Delivered out of order: the newer truth already applied stands.
    if (m_events_stale_) m_events_stale_->Inc();
    if (auto s =
            tx.AppendTimeline({.entity = SkuEntity(e.sku),
                               .correlation_id = e.event_id,
                               .kind = "inventory.event_stale",
                               .detail_json = json{{"event_id", e.event_id},
                                                   {"location", e.location},
                                                   {"on_hand", e.on_hand},
                                                   {"occurred_at", absl::FormatTime(e.occurred_at)},
                                                   {"applied_as_of", absl::FormatTime(p->as_of)}}
                                                  .dump()});
        !s.ok()) {
      return s;
    }
    return StockEventResult::kStale;
  }

  const Movement base{.sku = e.sku,
                      .location = e.location,
                      .source = e.source,
                      .correlation_id = e.event_id,
                      .at = e.occurred_at};
  auto with = [&](MovementKind kind, int64_t q) {
    Movement m = base;
    m.kind = kind;
    m.quantity = q;
    return m;
  };
  if (auto s = Apply(tx, with(MovementKind::kSetOnHand, e.on_hand)); !s.ok()) return s;
  if (e.allocated) {
    if (auto s = Apply(tx, with(MovementKind::kSetAllocated, *e.allocated)); !s.ok()) return s;
  }
  if (e.inbound) {
    Movement m = with(MovementKind::kSetInbound, *e.inbound);
    m.expected_at = e.inbound_expected_at;
    if (auto s = Apply(tx, m); !s.ok()) return s;
  }
  if (e.safety_stock) {
    if (auto s = Apply(tx, with(MovementKind::kSetSafety, *e.safety_stock)); !s.ok()) return s;
  }
  if (auto s = MarkDirty(tx, e.sku, e.location); !s.ok()) return s;
  if (options_.on_stock_arrived) {
    const InventoryPosition* before = Find(*ps, e.location);
    if (e.on_hand > (before == nullptr ? 0 : before->on_hand)) {
      if (auto s = options_.on_stock_arrived(tx, e.sku, e.location); !s.ok()) return s;
    }
  }
  if (m_events_applied_) m_events_applied_->Inc();
  return StockEventResult::kApplied;
}

// ---- reservations -----------------------------------------------------------------------------

absl::StatusOr<std::vector<ReservedLine>> InventoryService::Reserve(
    store::Tx& tx, std::string_view order_ref, std::span<const InventoryLine> lines,
    std::string_view channel) {
  const model::ChannelRule* rule = Channel(channel);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        Cat("no inventory channel is configured for store \"", channel, "\""));
  }
  std::vector<ReservedLine> out;
  json detail = json::array();
  int64_t shortfall_total = 0;
  for (const InventoryLine& line : Merge(lines)) {
    if (line.quantity <= 0) continue;
    ReservedLine r{.sku = line.sku, .requested = line.quantity};
    absl::StatusOr<bool> fresh = tx.PutIdempotencyKey(ReserveKey(order_ref, line.sku));
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) {
      auto held = tx.GetReservations(order_ref);
      if (!held.ok()) return held.status();
      for (const store::Reservation& h : *held) {
        if (h.sku == line.sku) r.reserved += h.reserved + h.consumed;
      }
      r.shortfall = std::max<int64_t>(0, r.requested - r.reserved);
      r.duplicate = true;
      out.push_back(std::move(r));
      continue;
    }
    auto ps = tx.GetPositions(line.sku);
    if (!ps.ok()) return ps.status();
    // What each location gives: first its sellable stock, then (only if the order needs it) its
    // safety stock — the order is already sold; the buffer exists to absorb exactly this.
    std::vector<int64_t> take(rule->locations.size(), 0);
    int64_t remaining = line.quantity;
    for (int pass = 0; pass < 2 && remaining > 0; ++pass) {
      for (size_t i = 0; i < rule->locations.size() && remaining > 0; ++i) {
        const InventoryPosition* p = Find(*ps, rule->locations[i]);
        if (p == nullptr) continue;
        const int64_t physical = std::max<int64_t>(0, p->on_hand - p->allocated - p->reserved);
        const int64_t limit = pass == 0 ? std::min(physical, model::SellableAt(*p)) : physical;
        const int64_t t = std::min(remaining, std::max<int64_t>(0, limit - take[i]));
        take[i] += t;
        remaining -= t;
      }
    }
    for (size_t i = 0; i < rule->locations.size(); ++i) {
      if (take[i] == 0) continue;
      const std::string& loc = rule->locations[i];
      if (auto s = Apply(tx, {.sku = line.sku,
                              .location = loc,
                              .kind = MovementKind::kReserve,
                              .quantity = take[i],
                              .source = "order",
                              .correlation_id = std::string(order_ref)});
          !s.ok()) {
        return s;
      }
      if (auto s = tx.PutReservation({.order_ref = std::string(order_ref),
                                      .sku = line.sku,
                                      .location = loc,
                                      .channel = std::string(channel),
                                      .reserved = take[i]});
          !s.ok()) {
        return s;
      }
      if (auto s = MarkDirty(tx, line.sku, loc); !s.ok()) return s;
      r.reserved += take[i];
    }
    r.shortfall = remaining;
    shortfall_total += remaining;
    detail.push_back({{"sku", r.sku},
                      {"requested", r.requested},
                      {"reserved", r.reserved},
                      {"shortfall", r.shortfall}});
    out.push_back(std::move(r));
  }
  if (!detail.empty()) {
    if (auto s = tx.AppendTimeline(
            {.entity = OrderEntity(order_ref),
             .kind = shortfall_total > 0 ? "inventory.reserved_short" : "inventory.reserved",
             .detail_json = json{{"channel", channel}, {"lines", detail}}.dump()});
        !s.ok()) {
      return s;
    }
  }
  if (shortfall_total > 0) {
    if (const ChannelMetrics* m = MetricsFor(channel)) m->shortfall->Inc(shortfall_total);
  }
  return out;
}

absl::StatusOr<std::vector<ReservedLine>> InventoryService::ReserveAt(
    store::Tx& tx, std::string_view order_ref, std::span<const InventoryLine> lines,
    std::string_view channel) {
  if (Channel(channel) == nullptr) {
    return absl::FailedPreconditionError(
        Cat("no inventory channel is configured for store \"", channel, "\""));
  }
  auto held = tx.GetReservations(order_ref);
  if (!held.ok()) return held.status();
  std::vector<ReservedLine> out;
  json detail = json::array();
  for (const InventoryLine& line : lines) {
    if (line.location.empty()) {
      return absl::InvalidArgumentError(Cat("ReserveAt: line ", line.sku, " has no location"));
    }
    if (line.quantity <= 0) continue;
    ReservedLine r{.sku = line.sku, .requested = line.quantity};
    auto ps = tx.GetPositions(line.sku);
    if (!ps.ok()) return ps.status();
    const InventoryPosition* p = Find(*ps, line.location);
    const int64_t physical =
        p == nullptr ? 0 : std::max<int64_t>(0, p->on_hand - p->allocated - p->reserved);
    const int64_t take = std::min(line.quantity, physical);
    if (take > 0) {
      if (auto s = Apply(tx, {.sku = line.sku,
                              .location = line.location,
                              .kind = MovementKind::kReserve,
                              .quantity = take,
                              .source = "order",
                              .correlation_id = std::string(order_ref)});
          !s.ok()) {
        return s;
      }
      store::Reservation row{.order_ref = std::string(order_ref),
                             .sku = line.sku,
                             .location = line.location,
                             .channel = std::string(channel)};
      for (const store::Reservation& h : *held) {
        if (h.sku == line.sku && h.location == line.location) row = h;
      }
      row.reserved += take;
      if (auto s = tx.PutReservation(row); !s.ok()) return s;
      for (store::Reservation& h : *held) {
        if (h.sku == line.sku && h.location == line.location) h = row;
      }
      if (std::none_of(held->begin(), held->end(), [&](const store::Reservation& h) {
            return h.sku == line.sku && h.location == line.location;
          })) {
        held->push_back(row);
      }
      if (auto s = MarkDirty(tx, line.sku, line.location); !s.ok()) return s;
    }
    r.reserved = take;
    r.shortfall = line.quantity - take;
    detail.push_back({{"sku", r.sku},
                      {"location", line.location},
                      {"requested", r.requested},
                      {"reserved", r.reserved},
                      {"shortfall", r.shortfall}});
    out.push_back(std::move(r));
  }
  if (!detail.empty()) {
    if (auto s = tx.AppendTimeline(
            {.entity = OrderEntity(order_ref),
             .kind = "inventory.reserved_more",
             .detail_json = json{{"channel", channel}, {"lines", detail}}.dump()});
        !s.ok()) {
      return s;
    }
  }
  return out;
}

absl::StatusOr<int64_t> InventoryService::WriteOff(store::Tx& tx, std::string_view order_ref,
                                                   std::span<const InventoryLine> lines) {
  auto held = tx.GetReservations(order_ref);
  if (!held.ok()) return held.status();
  int64_t total = 0;
  json detail = json::array();
  for (const InventoryLine& line : lines) {
    if (line.quantity <= 0 || line.location.empty()) continue;
    for (store::Reservation& r : *held) {
      if (r.sku != line.sku || r.location != line.location) continue;
      const int64_t take = std::min(line.quantity, r.reserved);
      if (take <= 0) break;
      auto ps = tx.GetPositions(line.sku);
      if (!ps.ok()) return ps.status();
      const InventoryPosition* p = Find(*ps, line.location);
      if (auto s = ConsumeReserved(tx,
                                   {.sku = line.sku,
                                    .location = line.location,
                                    .source = "short_pick",
                                    .correlation_id = std::string(order_ref)},
                                   take, p == nullptr ? 0 : p->on_hand);
          !s.ok()) {
        return s;
      }
      r.reserved -= take;
      if (auto s = tx.PutReservation(r); !s.ok()) return s;
      if (auto s = MarkDirty(tx, line.sku, line.location); !s.ok()) return s;
      total += take;
      detail.push_back({{"sku", line.sku}, {"location", line.location}, {"written_off", take}});
      break;
    }
  }
  if (!detail.empty()) {
    if (auto s = tx.AppendTimeline({.entity = OrderEntity(order_ref),
                                    .kind = "inventory.written_off",
                                    .detail_json = json{{"lines", detail}}.dump()});
        !s.ok()) {
      return s;
    }
  }
  return total;
}

absl::StatusOr<int64_t> InventoryService::Release(store::Tx& tx, std::string_view order_ref) {
  auto held = tx.GetReservations(order_ref);
  if (!held.ok()) return held.status();
  int64_t released = 0;
  for (store::Reservation r : *held) {
    if (r.reserved <= 0) continue;
    if (auto s = Apply(tx, {.sku = r.sku,
                            .location = r.location,
                            .kind = MovementKind::kRelease,
                            .quantity = r.reserved,
                            .source = "order",
                            .correlation_id = std::string(order_ref)});
        !s.ok()) {
      return s;
    }
    released += r.reserved;
    r.reserved = 0;
    if (auto s = tx.PutReservation(r); !s.ok()) return s;
    if (auto s = MarkDirty(tx, r.sku, r.location); !s.ok()) return s;
  }
  if (released > 0) {
    if (auto s = tx.AppendTimeline({.entity = OrderEntity(order_ref),
                                    .kind = "inventory.released",
                                    .detail_json = json{{"units", released}}.dump()});
        !s.ok()) {
      return s;
    }
  }
  return released;
}

absl::StatusOr<ConsumedLine> InventoryService::ConsumeAt(store::Tx& tx,
                                                         std::string_view order_ref,
                                                         const InventoryLine& line,
                                                         std::vector<store::Reservation>& held) {
  ConsumedLine c{.sku = line.sku};
  store::Reservation* here = nullptr;
  std::vector<store::Reservation*> elsewhere;
  std::string channel;
  for (store::Reservation& r : held) {
    if (r.sku != line.sku) continue;
    channel = r.channel;
    if (r.location == line.location) {
      here = &r;
    } else {
      elsewhere.push_back(&r);
    }
  }
  if (here == nullptr) {
    held.push_back({.order_ref = std::string(order_ref), .sku = line.sku,
                    .location = line.location, .channel = channel});
    here = &held.back();
    elsewhere.clear();  // the push may have moved the rows: collect them again
    for (store::Reservation& r : held) {
      if (r.sku == line.sku && r.location != line.location) elsewhere.push_back(&r);
    }
  }
  int64_t delta = line.quantity - here->consumed;
  if (delta <= 0) return c;
  if (const model::ChannelRule* rule = Channel(channel)) {
    auto rank = [&](const std::string& loc) {
      auto it = std::find(rule->locations.begin(), rule->locations.end(), loc);
      return it - rule->locations.begin();
    };
    std::stable_sort(elsewhere.begin(), elsewhere.end(),
                     [&](auto* a, auto* b) { return rank(a->location) < rank(b->location); });
  }
  auto ps = tx.GetPositions(line.sku);
  if (!ps.ok()) return ps.status();
  const InventoryPosition* p = Find(*ps, line.location);
  int64_t stock_left = p == nullptr ? 0 : std::max<int64_t>(0, p->on_hand);
  const Movement base{.sku = line.sku,
                      .location = line.location,
                      .source = "order",
                      .correlation_id = std::string(order_ref)};
  // 1. Out of what the order holds here.
  const int64_t held_here = std::min(delta, here->reserved);
  const int64_t consume_here = std::min(held_here, stock_left);
  if (consume_here > 0) {
    Movement m = base;
    m.kind = MovementKind::kConsume;
    m.quantity = consume_here;
    if (auto s = Apply(tx, m); !s.ok()) return s;
    stock_left -= consume_here;
  }
  if (held_here > consume_here) {
    Movement m = base;
    m.kind = MovementKind::kRelease;
    m.quantity = held_here - consume_here;
    if (auto s = Apply(tx, m); !s.ok()) return s;
  }
  here->reserved -= held_here;
  // 2. Units that left from here while the order held them elsewhere: off this shelf, and the
  // holds elsewhere end.
  const int64_t rest = delta - held_here;
  const int64_t off_shelf = std::min(rest, stock_left);
  if (off_shelf > 0) {
    Movement m = base;
    m.kind = MovementKind::kAdjustment;
    m.quantity = -off_shelf;
    if (auto s = Apply(tx, m); !s.ok()) return s;
  }
  int64_t to_release = rest;
  for (store::Reservation* r : elsewhere) {
    const int64_t n = std::min(to_release, r->reserved);
    if (n <= 0) continue;
    Movement m = base;
    m.location = r->location;
    m.kind = MovementKind::kRelease;
    m.quantity = n;
    if (auto s = Apply(tx, m); !s.ok()) return s;
    r->reserved -= n;
    to_release -= n;
    if (auto s = tx.PutReservation(*r); !s.ok()) return s;
    if (auto s = MarkDirty(tx, line.sku, r->location); !s.ok()) return s;
  }
  here->consumed += delta;
  if (auto s = tx.PutReservation(*here); !s.ok()) return s;
  if (auto s = MarkDirty(tx, line.sku, line.location); !s.ok()) return s;
  c.consumed = held_here + (rest - to_release);
  c.unreserved = to_release;
  return c;
}

absl::StatusOr<std::vector<ConsumedLine>> InventoryService::Consume(
    store::Tx& tx, std::string_view order_ref, std::span<const InventoryLine> lines) {
  auto held = tx.GetReservations(order_ref);
  if (!held.ok()) return held.status();
  std::vector<ConsumedLine> out;
  json detail = json::array();
  for (const InventoryLine& line : Merge(lines)) {
    if (!line.location.empty()) {
      auto c = ConsumeAt(tx, order_ref, line, *held);
      if (!c.ok()) return c.status();
      detail.push_back({{"sku", c->sku},
                        {"location", line.location},
                        {"consumed", c->consumed},
                        {"unreserved", c->unreserved}});
      out.push_back(*std::move(c));
      continue;
    }
    ConsumedLine c{.sku = line.sku};
    std::vector<store::Reservation*> rows;
    int64_t already = 0;
    for (store::Reservation& r : *held) {
      if (r.sku != line.sku) continue;
      rows.push_back(&r);
      already += r.consumed;
    }
    // The channel's location order, as the reservation was made.
    if (!rows.empty()) {
      if (const model::ChannelRule* rule = Channel(rows.front()->channel)) {
        auto rank = [&](const std::string& loc) {
          auto it = std::find(rule->locations.begin(), rule->locations.end(), loc);
          return it - rule->locations.begin();
        };
        std::stable_sort(rows.begin(), rows.end(),
                         [&](auto* a, auto* b) { return rank(a->location) < rank(b->location); });
      }
    }
    int64_t delta = line.quantity - already;
    if (delta <= 0) continue;
    auto ps = tx.GetPositions(line.sku);
    if (!ps.ok()) return ps.status();
    for (store::Reservation* r : rows) {
      const int64_t take = std::min(delta, r->reserved);
      if (take <= 0) continue;
      const InventoryPosition* p = Find(*ps, r->location);
      if (auto s = ConsumeReserved(tx,
                                   {.sku = line.sku,
                                    .location = r->location,
                                    .source = "order",
                                    .correlation_id = std::string(order_ref)},
                                   take, p == nullptr ? 0 : p->on_hand);
          !s.ok()) {
        return s;
      }
      r->reserved -= take;
      r->consumed += take;
      if (auto s = tx.PutReservation(*r); !s.ok()) return s;
      if (auto s = MarkDirty(tx, line.sku, r->location); !s.ok()) return s;
      c.consumed += take;
      delta -= take;
    }
    c.unreserved = delta;
    detail.push_back({{"sku", c.sku}, {"consumed", c.consumed}, {"unreserved", c.unreserved}});
    out.push_back(std::move(c));
  }
  if (!detail.empty()) {
    if (auto s = tx.AppendTimeline({.entity = OrderEntity(order_ref),
                                    .kind = "inventory.consumed",
                                    .detail_json = json{{"lines", detail}}.dump()});
        !s.ok()) {
      return s;
    }
  }
  return out;
}

// ---- publication ------------------------------------------------------------------------------

absl::Status InventoryService::RunPublish(jobs::JobContext& ctx) {
  absl::StatusOr<std::string> store_id = StoreOf(ctx.job);
  if (!store_id.ok()) return store_id.status();
  const model::ChannelRule* rule = Channel(*store_id);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        Cat("no inventory channel is configured for store \"", *store_id, "\""));
  }
  if (sink_ == nullptr) return absl::FailedPreconditionError("no stock sink configured");

  // Claim the dirty set and drop the pending flag in one commit, so that any change from now on
  // queues the next run; more than one batch → the next run is queued at once.
  store::DirtyBatch batch;
  const absl::Time now = ctx.clock.Now();
  absl::Status claimed = ctx.store.Transact(now, [&](store::Tx& tx) -> absl::Status {
    if (auto s = tx.DeleteIdempotencyKey(PendingFlag(*store_id)); !s.ok()) return s.status();
    auto b = tx.TakeDirty(*store_id, options_.publish_batch, ctx.job.id);
    if (!b.ok()) return b.status();
    batch = *std::move(b);
    if (batch.remaining > 0) return EnsurePublishJob(tx, *store_id).status();
    return absl::OkStatus();
  });
  if (!claimed.ok()) return claimed;

  std::vector<StockTarget> targets;
  for (const std::string& sku : batch.skus) {
    auto ps = ctx.store.GetPositions(sku);
    if (!ps.ok()) return ps.status();
    const int64_t ats = model::ComputeAts(*ps, *rule, now);
    const std::string status(model::StockStatusFor(ats, *rule));
    auto last = ctx.store.GetPublished(*store_id, sku);
    if (!last.ok()) return last.status();
    if (last->has_value() && (*last)->quantity == ats && (*last)->stock_status == status) {
      continue;  // the shop holds it already (or rejected exactly this; a change will retry)
    }
    targets.push_back({.sku = sku, .quantity = ats, .stock_status = status});
  }

  Sorted sorted;
  if (!targets.empty()) sorted = SortOutcomes(targets, sink_->Publish(*store_id, targets));
  const std::string corr = ctx.job.correlation_id;
  ctx.Defer(
      [store_id = *store_id, sorted, taker = ctx.job.id, corr](store::Tx& tx) -> absl::Status {
        if (auto n = tx.ClearDirty(store_id, taker); !n.ok()) return n.status();
        return RecordOutcomes(tx, store_id, sorted, corr);
      });
  if (const ChannelMetrics* m = MetricsFor(*store_id)) {
    m->published->Inc(static_cast<double>(sorted.ok.size()));
    m->rejected->Inc(static_cast<double>(sorted.rejected.size()));
    m->retryable->Inc(static_cast<double>(sorted.retry.size()));
  }
  if (!sorted.rejected.empty()) {
    obs::LogWarn("stock levels rejected by the shop",
                 {{"store", *store_id},
                  {"count", sorted.rejected.size()},
                  {"first_sku", sorted.rejected.front().first.sku},
                  {"reason", sorted.rejected.front().second}});
  }
  if (!sorted.retry.empty()) {
    return RetryableSummary(static_cast<int>(sorted.retry.size()), sorted.retry_statuses);
  }
  return absl::OkStatus();
}

// ---- reconciliation ---------------------------------------------------------------------------

absl::Status InventoryService::RunReconcile(jobs::JobContext& ctx) {
  absl::StatusOr<std::string> store_id = StoreOf(ctx.job);
  if (!store_id.ok()) return store_id.status();
  const model::ChannelRule* rule = Channel(*store_id);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        Cat("no inventory channel is configured for store \"", *store_id, "\""));
  }
  if (sink_ == nullptr) return absl::FailedPreconditionError("no stock sink configured");

  const absl::Time started = ctx.clock.Now();
  struct Found {
    std::string sku;
    int64_t quantity;
    std::string status;
  };
  std::vector<Found> found;
  absl::Status scanned =
      sink_->Scan(*store_id, [&](std::string_view sku, int64_t quantity, std::string_view status) {
        found.push_back({std::string(sku), quantity, std::string(status)});
      });
  // An incomplete scan proves nothing about the SKUs it did not reach: try the whole run again.
  if (!scanned.ok()) return scanned;

  const absl::Time now = ctx.clock.Now();
  store::ReconcileRun run{.run_id = absl::StrCat(*store_id, "-", ctx.job.id),
                          .store_id = *store_id,
                          .started_at = started,
                          .finished_at = now,
                          .scanned = static_cast<int64_t>(found.size())};
  std::vector<store::DriftRow> drift;
  std::vector<StockTarget> corrections;
  absl::flat_hash_set<std::string> seen;
  for (const Found& f : found) {
    if (!seen.insert(f.sku).second) continue;  // a SKU listed twice counts once
    auto ps = ctx.store.GetPositions(f.sku);
    if (!ps.ok()) return ps.status();
    if (ps->empty()) {
      ++run.unknown;
      continue;
    }
    const int64_t ats = model::ComputeAts(*ps, *rule, now);
    const std::string status(model::StockStatusFor(ats, *rule));
    if (f.quantity == ats && (f.status.empty() || f.status == status)) continue;
    drift.push_back({.run_id = run.run_id,
                     .store_id = *store_id,
                     .sku = f.sku,
                     .expected = ats,
                     .found = f.quantity,
                     .expected_status = status,
                     .found_status = f.status});
    corrections.push_back({.sku = f.sku, .quantity = ats, .stock_status = status});
  }
  run.drifted = static_cast<int64_t>(drift.size());

  Sorted sorted;
  for (size_t i = 0; i < corrections.size(); i += options_.publish_batch) {
    std::span<const StockTarget> chunk(
        corrections.data() + i, std::min<size_t>(options_.publish_batch, corrections.size() - i));
    Sorted part = SortOutcomes(chunk, sink_->Publish(*store_id, chunk));
    std::move(part.ok.begin(), part.ok.end(), std::back_inserter(sorted.ok));
    std::move(part.rejected.begin(), part.rejected.end(), std::back_inserter(sorted.rejected));
    std::move(part.retry.begin(), part.retry.end(), std::back_inserter(sorted.retry));
  }
  absl::flat_hash_set<std::string> corrected;
  for (const StockTarget& t : sorted.ok) corrected.insert(t.sku);
  for (store::DriftRow& d : drift) d.corrected = corrected.contains(d.sku);
  run.corrected = static_cast<int64_t>(corrected.size());

  const std::string corr = ctx.job.correlation_id;
  ctx.Defer([this, run, drift, sorted, corr](store::Tx& tx) -> absl::Status {
    if (auto s = tx.PutReconcileRun(run); !s.ok()) return s;
    for (const store::DriftRow& d : drift) {
      if (auto s = tx.AddDrift(d); !s.ok()) return s;
    }
    if (auto s = RecordOutcomes(tx, run.store_id, sorted, corr); !s.ok()) return s;
    // Corrections that failed for a technical reason go to the publish job, which retries.
    if (!sorted.retry.empty()) return EnsurePublishJob(tx, run.store_id).status();
    return absl::OkStatus();
  });
  if (const ChannelMetrics* m = MetricsFor(*store_id)) {
    m->drift->Set(static_cast<double>(run.drifted));
    m->published->Inc(static_cast<double>(sorted.ok.size()));
    m->rejected->Inc(static_cast<double>(sorted.rejected.size()));
    m->retryable->Inc(static_cast<double>(sorted.retry.size()));
  }
  obs::LogInfo("inventory reconciled", {{"store", *store_id},
                                        {"run_id", run.run_id},
                                        {"scanned", run.scanned},
                                        {"drifted", run.drifted},
                                        {"corrected", run.corrected},
                                        {"unknown", run.unknown}});
  return absl::OkStatus();
}

}  // namespace keelson::flows
