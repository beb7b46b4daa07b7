#include "flows/fulfillment.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "model/inventory.h"
#include "obs/log.h"

namespace keelson::flows {
namespace {

using json = nlohmann::json;

using jobs::MayHaveRunBefore;

bool IsBusinessRefusal(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition ||
         s.code() == absl::StatusCode::kInvalidArgument;
}

struct OrderKey {
  std::string store_id;
  int64_t order_id = 0;
  std::string Ref() const { return absl::StrCat(store_id, ":", order_id); }
};

// "main:1234/2" -> main, 1234.
absl::StatusOr<OrderKey> KeyOfSegment(std::string_view segment_id) {
  const size_t slash = segment_id.rfind('/');
  const size_t colon = segment_id.rfind(':', slash);
  OrderKey k;
  if (slash == std::string_view::npos || colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(core::AbslSv(segment_id.substr(colon + 1, slash - colon - 1)),
                        &k.order_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment id \"", core::AbslSv(segment_id), "\" is not <store>:<order>/<n>"));
  }
  k.store_id = std::string(segment_id.substr(0, colon));
  return k;
}

// What routing a segment's lines again starts from: the order's other segments, the nodes not to
// try again (`excluded`, then those that refused one of its segments), and the next free seq.
struct Reroute {
  std::vector<std::string> excluded;
  std::vector<store::SegmentRecord> others;
  int next_seq = 1;
};
Reroute RerouteFrom(const std::vector<store::SegmentRecord>& all, const std::string& segment_id,
                    std::vector<std::string> excluded = {}) {
  Reroute r{.excluded = std::move(excluded)};
  for (const auto& other : all) {
    if (other.state == "rejected") r.excluded.push_back(other.node_id);
    if (other.segment_id != segment_id) r.others.push_back(other);
    r.next_seq = std::max(r.next_seq, other.seq + 1);
  }
  return r;
}

// Adds `quantity` of a line to what is to be routed, merged with the line's earlier quantity.
void AddRouteLine(std::vector<model::RouteLine>& lines, int64_t line_id, const std::string& sku,
                  int64_t quantity) {
  auto same = std::find_if(lines.begin(), lines.end(),
                           [&](const model::RouteLine& r) { return r.line_id == line_id; });
  if (same != lines.end()) {
    same->quantity += quantity;
  } else {
    lines.push_back({line_id, sku, quantity});
  }
}

// The order Keelson holds for `key`, mapped from its snapshot; FAILED_PRECONDITION when it
// holds none.
absl::StatusOr<model::Order> HeldOrder(store::Store& store, const OrderMapper& mapper,
                                       const OrderKey& key) {
  auto held = store.GetOrder(key.store_id, key.order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("order ", key.Ref(), " is not held"));
  }
  return mapper(key.store_id, json::parse((*held)->snapshot_json, nullptr, false));
}

// The segment a job is about: its payload {"segment_id": "<store>:<order>/<n>"}.
struct SegmentJob {
  std::string segment_id;
  OrderKey key;
};
absl::StatusOr<SegmentJob> ParseSegmentJob(const std::string& payload) {
  json p = json::parse(payload, nullptr, false);
  if (!p.is_object() || !p.value("segment_id", json()).is_string()) {
    return absl::InvalidArgumentError("payload needs {\"segment_id\"}");
  }
  SegmentJob job{.segment_id = p["segment_id"].get<std::string>(), .key = {}};
  auto key = KeyOfSegment(job.segment_id);
  if (!key.ok()) return key.status();
  job.key = *std::move(key);
  return job;
}

absl::StatusOr<OrderKey> KeyOfPayload(const json& p) {
  if (!p.is_object() || !p.contains("store") || !p["store"].is_string() ||
      !p.contains("order_id") || !p["order_id"].is_number_integer()) {
    return absl::InvalidArgumentError("payload needs {\"store\", \"order_id\"}");
  }
  return OrderKey{p["store"].get<std::string>(), p["order_id"].get<int64_t>()};
}

store::TimelineEvent Event(const OrderKey& key, std::string_view corr, std::string kind,
                           json detail) {
  return {.entity = absl::StrCat("order:", key.Ref()),
          .correlation_id = std::string(corr),
          .kind = std::move(kind),
          .detail_json = detail.dump()};
}

constexpr char kHoldsPendingFlag[] = "fulfillment.holds.pending";
std::string HoldReleasePendingFlag(std::string_view segment_id) {
  return absl::StrCat("fulfillment.hold_release.pending:", core::AbslSv(segment_id));
}

// States in which a ship segment still owes units.
bool Live(const store::SegmentRecord& s) {
  return s.state == "planned" || s.state == "released" || s.state == "partially_shipped";
}
// States in which a segment still owes units to the customer (ship or hold).
bool Open(const store::SegmentRecord& s) { return Live(s) || s.state == "held"; }

bool ServesSku(const model::FulfillmentNode& node, std::string_view sku) {
  return node.skus.empty() ||
         std::any_of(node.skus.begin(), node.skus.end(),
                     [&](const std::string& p) { return sku.substr(0, p.size()) == p; });
}

// The customer's note for one shipment. Deterministic for a given shipment (the shop job looks
// it up by its text before writing it again).
std::string ShipmentNote(const std::vector<std::pair<std::string, int64_t>>& lines,
                         const std::string& carrier, const std::string& tracking,
                         const std::string& url, bool complete, bool first) {
  std::string out = complete ? (first ? "Your order has shipped: "
                                      : "The rest of your order has "
                                        "shipped: ")
                             : "Part of your order has shipped: ";
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", lines[i].second, " x ", lines[i].first);
  }
  absl::StrAppend(&out, ".");
  if (!carrier.empty()) absl::StrAppend(&out, " Carrier: ", carrier, ".");
  if (!tracking.empty()) absl::StrAppend(&out, " Tracking number: ", tracking, ".");
  if (!url.empty()) absl::StrAppend(&out, " Track it: ", url);
  return out;
}

// How a shipment notice fills a segment: each notice line fills the segment's lines of its SKU
// (and line id, when the provider echoes it) in order, never past what they still owe (`left`,
// updated). Returns (index of the segment line, units); what found no room goes to `over`.
std::vector<std::pair<size_t, int64_t>> FillSegment(const store::SegmentRecord& seg,
                                                    const std::vector<connectors::ShipmentLine>& in,
                                                    std::vector<int64_t>& left, json* over) {
  std::vector<std::pair<size_t, int64_t>> out;
  for (const connectors::ShipmentLine& sl : in) {
    int64_t qty = sl.quantity;
    for (size_t i = 0; i < seg.lines.size() && qty > 0; ++i) {
      const auto& l = seg.lines[i];
      if (l.sku != sl.sku || (sl.line_id != 0 && sl.line_id != l.line_id) || left[i] <= 0) {
        continue;
      }
      const int64_t n = std::min(qty, left[i]);
      left[i] -= n;
      qty -= n;
      out.emplace_back(i, n);
    }
    if (qty > 0 && over != nullptr) over->push_back({{"sku", sl.sku}, {"quantity", qty}});
  }
  return out;
}

json SegmentSummary(const store::SegmentRecord& s) {
  json lines = json::array();
  for (const auto& l : s.lines) {
    lines.push_back({{"sku", l.sku}, {"quantity", l.quantity}, {"location", l.location}});
  }
  json j = {{"segment", s.segment_id}, {"node", s.node_id}, {"kind", s.kind}, {"lines", lines}};
  if (s.promised_at != absl::InfiniteFuture()) {
    j["promised"] = absl::FormatTime(absl::RFC3339_sec, s.promised_at, absl::UTCTimeZone());
  }
  return j;
}

}  // namespace

FulfillmentService::FulfillmentService(
    std::map<std::string, connectors::FulfillmentProvider*, std::less<>> providers,
    OrderMapper mapper, FulfillmentOptions options, obs::Registry* metrics)
    : providers_(std::move(providers)), mapper_(std::move(mapper)), options_(std::move(options)) {
  if (metrics != nullptr) {
    const std::string help = "Fulfillment segments and shipments, by outcome.";
    m_released_ = metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "released"}});
    m_rejected_ = metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "rejected"}});
    m_shipments_ = metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "shipment"}});
    m_erp_posted_ =
        metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "erp_posted"}});
    m_erp_refused_ =
        metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "erp_refused"}});
    m_shop_updated_ =
        metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "shop_updated"}});
    m_holds_released_ =
        metrics->GetCounter("keelson_fulfillment_total", help, {{"event", "hold_released"}});
  }
}

void FulfillmentService::Register(jobs::HandlerRegistry& registry) {
  registry.Register(kFulfillmentRouteJobKind, [this](jobs::JobContext& c) { return Route(c); });
  registry.Register(kFulfillmentReleaseJobKind,
                    [this](jobs::JobContext& c) { return ReleaseSegment(c); });
  registry.Register(kFulfillmentShipmentJobKind,
                    [this](jobs::JobContext& c) { return ApplyShipment(c); });
  registry.Register(kFulfillmentRefusedJobKind,
                    [this](jobs::JobContext& c) { return ApplyRefusal(c); });
  registry.Register(kFulfillmentErpPostJobKind,
                    [this](jobs::JobContext& c) { return PostToErp(c); });
  registry.Register(kFulfillmentShopUpdateJobKind,
                    [this](jobs::JobContext& c) { return UpdateShop(c); });
  registry.Register(kFulfillmentHoldsJobKind,
                    [this](jobs::JobContext& c) { return SweepHolds(c); });
  registry.Register(kFulfillmentHoldReleaseJobKind,
                    [this](jobs::JobContext& c) { return ReleaseHold(c); });
}

std::string FulfillmentService::ErpPostPartition(std::string_view store_id, int64_t order_id) {
  return absl::StrCat(OrderToCash::PartitionKey(store_id, order_id), "/erp");
}

std::string FulfillmentService::ShopUpdatePartition(std::string_view store_id, int64_t order_id) {
  return absl::StrCat(OrderToCash::PartitionKey(store_id, order_id), "/shop");
}

store::NewJob FulfillmentService::HoldsJob() const {
  return {.kind = kFulfillmentHoldsJobKind,
          .partition_key = "fulfillment:holds",
          .payload = "{}",
          .max_attempts = options_.max_attempts};
}

absl::Status FulfillmentService::OnStockArrived(store::Tx& tx, std::string_view sku,
                                                std::string_view location) {
  (void)sku;
  (void)location;
  // One sweep waiting at a time: the flag goes with the enqueue and the sweep drops it first
  // thing, so stock arriving while it runs queues the next one.
  absl::StatusOr<bool> fresh = tx.PutIdempotencyKey(kHoldsPendingFlag);
  if (!fresh.ok()) return fresh.status();
  if (!*fresh) return absl::OkStatus();
  return tx.EnqueueJob(HoldsJob()).status();
}

absl::Status FulfillmentService::EnqueueRoute(store::Tx& tx, std::string_view store_id,
                                              int64_t order_id, std::string_view corr) {
  return tx
      .EnqueueJob({.kind = kFulfillmentRouteJobKind,
                   .partition_key = OrderToCash::PartitionKey(store_id, order_id),
                   .payload = json{{"store", std::string(store_id)}, {"order_id", order_id}}.dump(),
                   .correlation_id = std::string(corr),
                   .max_attempts = options_.max_attempts})
      .status();
}

absl::Status FulfillmentService::EnqueueShipment(store::Tx& tx, const connectors::Shipment& s,
                                                 std::string_view corr) {
  auto key = KeyOfSegment(s.segment_id);
  // A shipment naming no segment of ours still gets a job: it parks, visibly, with the reason.
  const std::string partition =
      key.ok() ? OrderToCash::PartitionKey(key->store_id, key->order_id)
               : absl::StrCat("fulfillment:", s.provider);
  return tx
      .EnqueueJob({.kind = kFulfillmentShipmentJobKind,
                   .partition_key = partition,
                   .payload = ShipmentToJson(s).dump(),
                   .correlation_id = std::string(corr),
                   .max_attempts = options_.max_attempts})
      .status();
}

absl::Status FulfillmentService::EnqueueRefusal(store::Tx& tx, std::string_view segment_id,
                                                std::string_view reason, std::string_view corr) {
  auto key = KeyOfSegment(segment_id);
  const std::string partition = key.ok()
                                    ? OrderToCash::PartitionKey(key->store_id, key->order_id)
                                    : absl::StrCat("fulfillment:refused");
  return tx
      .EnqueueJob({.kind = kFulfillmentRefusedJobKind,
                   .partition_key = partition,
                   .payload = json{{"segment_id", std::string(segment_id)},
                                   {"reason", std::string(reason)}}
                                  .dump(),
                   .correlation_id = std::string(corr),
                   .max_attempts = options_.max_attempts})
      .status();
}

json FulfillmentService::ShipmentToJson(const connectors::Shipment& s) {
  json lines = json::array();
  for (const auto& l : s.lines) {
    lines.push_back({{"sku", l.sku}, {"quantity", l.quantity}, {"line_id", l.line_id}});
  }
  json j = {{"provider", s.provider},   {"shipment_id", s.shipment_id},
            {"segment_id", s.segment_id}, {"carrier", s.carrier},
            {"tracking_number", s.tracking_number}, {"tracking_url", s.tracking_url},
            {"lines", lines}};
  if (s.shipped_at != absl::InfinitePast()) j["shipped_at"] = absl::ToUnixMillis(s.shipped_at);
  if (s.closes_segment) j["closes_segment"] = true;
  return j;
}

absl::StatusOr<connectors::Shipment> FulfillmentService::ShipmentFromJson(const json& j) {
  if (!j.is_object() || !j.value("provider", json()).is_string() ||
      !j.value("shipment_id", json()).is_string() || !j.value("segment_id", json()).is_string() ||
      !j.value("lines", json()).is_array()) {
    return absl::InvalidArgumentError(
        "a shipment needs provider, shipment_id, segment_id and lines");
  }
  connectors::Shipment s;
  s.provider = j["provider"];
  s.shipment_id = j["shipment_id"];
  s.segment_id = j["segment_id"];
  s.carrier = j.value("carrier", "");
  s.tracking_number = j.value("tracking_number", "");
  s.tracking_url = j.value("tracking_url", "");
  if (j.contains("shipped_at") && j["shipped_at"].is_number_integer()) {
    s.shipped_at = absl::FromUnixMillis(j["shipped_at"].get<int64_t>());
  }
  if (j.contains("closes_segment")) {
    if (!j["closes_segment"].is_boolean()) {
      return absl::InvalidArgumentError("closes_segment must be true or false");
    }
    s.closes_segment = j["closes_segment"].get<bool>();
  }
  for (const json& l : j["lines"]) {
    if (!l.is_object() || !l.value("sku", json()).is_string() ||
        !l.value("quantity", json()).is_number_integer() || l["quantity"].get<int64_t>() <= 0) {
      return absl::InvalidArgumentError("each shipment line needs a sku and a quantity > 0");
    }
    s.lines.push_back({l["sku"], l["quantity"], l.value("line_id", int64_t{0})});
  }
  return s;
}

store::NewJob FulfillmentService::ReleaseJob(const std::string& order_partition,
                                             const std::string& segment_id,
                                             const std::string& corr) const {
  return {.kind = kFulfillmentReleaseJobKind,
          .partition_key = order_partition,
          .payload = json{{"segment_id", segment_id}}.dump(),
          .correlation_id = corr,
          .max_attempts = options_.max_attempts};
}

absl::StatusOr<std::vector<store::SegmentRecord>> FulfillmentService::Plan(
    store::Store& store, const model::Order& order, const std::vector<model::RouteLine>& lines,
    const std::vector<std::string>& excluded, int first_seq,
    const std::vector<store::SegmentRecord>& others) {
  const std::string ref = absl::StrCat(order.store_id, ":", order.order_id);
  auto held = store.GetReservations(ref);
  if (!held.ok()) return held.status();
  // What the order holds at a location serves its other live segments there first.
  std::map<std::pair<std::string, std::string>, int64_t> committed;
  for (const auto& o : others) {
    if (o.kind != "ship" || !Live(o)) continue;
    for (const auto& l : o.lines) {
      committed[{l.sku, l.location}] += std::max<int64_t>(0, l.quantity - l.shipped);
    }
  }
  std::map<std::string, std::vector<model::InventoryPosition>, std::less<>> positions;
  absl::Status read_error;
  auto positions_of = [&](std::string_view sku) -> const std::vector<model::InventoryPosition>& {
    auto it = positions.find(sku);
    if (it == positions.end()) {
      auto p = store.GetPositions(sku);
      if (!p.ok() && read_error.ok()) read_error = p.status();
      it = positions.emplace(std::string(sku), p.ok() ? *p : std::vector<model::InventoryPosition>{})
               .first;
    }
    return it->second;
  };
  model::RoutingInputs in;
  in.available = [&](std::string_view sku, std::string_view loc) -> int64_t {
    int64_t n = 0;
    for (const auto& p : positions_of(sku)) {
      if (p.location == loc) n += model::SellableAt(p);
    }
    int64_t own = 0;
    for (const auto& r : *held) {
      if (r.sku == sku && r.location == loc) own += r.reserved;
    }
    auto c = committed.find({std::string(sku), std::string(loc)});
    return n + std::max<int64_t>(0, own - (c == committed.end() ? 0 : c->second));
  };
  in.inbound_at = [&](std::string_view sku) -> std::optional<absl::Time> {
    std::optional<absl::Time> at;
    for (const auto& p : positions_of(sku)) {
      if (p.inbound > 0 && p.inbound_expected_at != absl::InfiniteFuture() &&
          (!at || p.inbound_expected_at < *at)) {
        at = p.inbound_expected_at;
      }
    }
    return at;
  };
  std::vector<model::FulfillmentNode> nodes;
  for (const auto& n : options_.nodes) {
    if (std::find(excluded.begin(), excluded.end(), n.id) == excluded.end()) nodes.push_back(n);
  }
  const model::Address& ship = order.customer.shipping.country.empty() ? order.customer.billing
                                                                       : order.customer.shipping;
  auto plan = model::Route(lines, {ship.country, ship.state}, nodes, in);
  if (!read_error.ok()) return read_error;
  if (!plan.ok()) return plan.status();
  std::vector<store::SegmentRecord> out;
  int seq = first_seq;
  for (const model::Segment& s : *plan) {
    store::SegmentRecord r;
    r.segment_id = absl::StrCat(ref, "/", seq);
    r.order_ref = ref;
    r.seq = seq++;
    r.node_id = s.node_id;
    for (const auto& n : options_.nodes) {
      if (n.id == s.node_id) r.provider = n.provider;
    }
    r.kind = std::string(model::SegmentKindName(s.kind));
    r.state = s.kind == model::SegmentKind::kShip ? "planned" : "held";
    if (s.promised) r.promised_at = *s.promised;
    int line_no = 1;
    for (const auto& l : s.lines) {
      r.lines.push_back({line_no++, l.line_id, l.sku, l.location, l.quantity, 0});
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<json> FulfillmentService::WritePlan(store::Tx& tx,
                                                   const std::vector<store::SegmentRecord>& plan,
                                                   const std::string& partition,
                                                   const std::string& corr) const {
  json summary = json::array();
  for (const store::SegmentRecord& s : plan) {
    if (auto st = tx.PutSegment(s); !st.ok()) return st;
    if (s.state == "planned") {
      if (auto id = tx.EnqueueJob(ReleaseJob(partition, s.segment_id, corr)); !id.ok()) {
        return id.status();
      }
    }
    summary.push_back(SegmentSummary(s));
  }
  return summary;
}

absl::Status FulfillmentService::Route(jobs::JobContext& ctx) {
  json payload = json::parse(ctx.job.payload, nullptr, false);
  auto key = KeyOfPayload(payload);
  if (!key.ok()) return key.status();
  auto existing = ctx.store.GetSegments(key->Ref());
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) return absl::OkStatus();  // planned already (a replay, a second ERP event)
  auto order = HeldOrder(ctx.store, mapper_, *key);
  if (!order.ok()) return order.status();
  std::vector<model::RouteLine> lines;
  for (const model::OrderLine& l : order->lines) {
    const int64_t qty = l.quantity_ordered - l.quantity_cancelled;
    if (!l.sku.empty() && qty > 0) lines.push_back({l.line_id, l.sku, qty});
  }
  if (lines.empty()) return absl::OkStatus();  // nothing physical to ship
  auto plan = Plan(ctx.store, *order, lines, {}, 1);
  if (!plan.ok()) return plan.status();
  const std::string partition = OrderToCash::PartitionKey(key->store_id, key->order_id);
  const std::string corr = ctx.job.correlation_id;
  ctx.Defer([this, key = *key, plan = *plan, partition, corr](store::Tx& tx) -> absl::Status {
    auto segments = WritePlan(tx, plan, partition, corr);
    if (!segments.ok()) return segments.status();
    return tx.AppendTimeline(Event(key, corr, "fulfillment.routed", {{"segments", *segments}}));
  });
  return absl::OkStatus();
}

absl::Status FulfillmentService::ReleaseSegment(jobs::JobContext& ctx) {
  auto job = ParseSegmentJob(ctx.job.payload);
  if (!job.ok()) return job.status();
  const std::string& segment_id = job->segment_id;
  const auto* key = &job->key;
  auto seg = ctx.store.GetSegment(segment_id);
  if (!seg.ok()) return seg.status();
  if (!seg->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("segment ", segment_id, " does not exist"));
  }
  const store::SegmentRecord& s = **seg;
  if (s.state != "planned") return absl::OkStatus();  // released (or settled) already
  auto provider = providers_.find(s.provider);
  if (provider == providers_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "segment ", segment_id, ": no fulfillment provider \"", s.provider, "\" is configured"));
  }
  auto order = HeldOrder(ctx.store, mapper_, *key);
  if (!order.ok()) return order.status();

  connectors::ReleaseRequest req;
  req.segment_id = segment_id;
  req.order_ref = key->Ref();
  req.node_id = s.node_id;
  req.order_number = order->number.empty() ? std::to_string(order->order_id) : order->number;
  req.ship_to = order->customer.shipping.country.empty() ? order->customer.billing
                                                         : order->customer.shipping;
  req.email = order->customer.email;
  if (!order->shipping.empty()) req.shipping_method = order->shipping.front().method_title;
  for (const auto& l : s.lines) {
    std::string name;
    for (const auto& ol : order->lines) {
      if (ol.line_id == l.line_id) name = ol.name;
    }
    // One release line per order line (a segment may take one SKU from two locations).
    auto same = std::find_if(req.lines.begin(), req.lines.end(),
                             [&](const connectors::ReleaseLine& r) { return r.line_id == l.line_id; });
    if (same != req.lines.end()) {
      same->quantity += l.quantity;
    } else {
      req.lines.push_back({l.line_id, l.sku, name, l.quantity});
    }
  }
  const std::string corr = ctx.job.correlation_id;
  auto released = provider->second->Release(req, {.verify_first = MayHaveRunBefore(ctx.job)});
  if (released.ok()) {
    if (m_released_) m_released_->Inc();
    ctx.Defer([key = *key, segment_id, corr, node = s.node_id,
               result = *released](store::Tx& tx) -> absl::Status {
      if (auto st = tx.SetSegmentState(segment_id, "released", result.provider_id, "");
          !st.ok()) {
        return st;
      }
      if (result.commit) {
        if (auto st = result.commit(tx); !st.ok()) return st;
      }
      return tx.AppendTimeline(Event(key, corr, "fulfillment.released",
                                     {{"segment", segment_id},
                                      {"node", node},
                                      {"provider_id", result.provider_id},
                                      {"already_existed", result.already_existed}}));
    });
    return absl::OkStatus();
  }
  if (!IsBusinessRefusal(released.status())) return released.status();  // retried
  return RejectAndReroute(ctx, s, *order, std::string(released.status().message()));
}

absl::Status FulfillmentService::ApplyRefusal(jobs::JobContext& ctx) {
  json payload = json::parse(ctx.job.payload, nullptr, false);
  if (!payload.is_object() || !payload.value("segment_id", json()).is_string() ||
      !payload.value("reason", json()).is_string()) {
    return absl::InvalidArgumentError("payload needs {\"segment_id\", \"reason\"}");
  }
  const std::string segment_id = payload["segment_id"];
  const std::string reason = payload["reason"];
  auto key = KeyOfSegment(segment_id);
  if (!key.ok()) return key.status();
  auto seg = ctx.store.GetSegment(segment_id);
  if (!seg.ok()) return seg.status();
  if (!seg->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("segment ", segment_id, " does not exist"));
  }
  const store::SegmentRecord& s = **seg;
  const std::string corr = ctx.job.correlation_id;
  if (s.state != "planned" && s.state != "released") {
    // Shipped (or being shipped), rejected or cancelled already: the refusal comes too late to
    // move anything, and says so.
    ctx.Defer([key = *key, segment_id, corr, reason, state = s.state](store::Tx& tx) {
      return tx.AppendTimeline(Event(key, corr, "fulfillment.refusal_ignored",
                                     {{"segment", segment_id},
                                      {"reason", reason},
                                      {"segment_state", state}}));
    });
    return absl::OkStatus();
  }
  auto order = HeldOrder(ctx.store, mapper_, *key);
  if (!order.ok()) return order.status();
  return RejectAndReroute(ctx, s, *order, reason);
}

absl::Status FulfillmentService::RejectAndReroute(jobs::JobContext& ctx,
                                                  const store::SegmentRecord& s,
                                                  const model::Order& order,
                                                  const std::string& reason) {
  // Refused: set the segment aside and route its lines again without the nodes that refused.
  const std::string& segment_id = s.segment_id;
  auto key = KeyOfSegment(segment_id);
  if (!key.ok()) return key.status();
  const std::string corr = ctx.job.correlation_id;
  if (m_rejected_) m_rejected_->Inc();
  obs::LogWarn("fulfillment segment rejected",
               {{"segment", segment_id}, {"node", s.node_id}, {"reason", reason}}, corr);
  auto all = ctx.store.GetSegments(key->Ref());
  if (!all.ok()) return all.status();
  const Reroute base = RerouteFrom(*all, segment_id, {s.node_id});
  std::vector<model::RouteLine> lines;
  for (const auto& l : s.lines) AddRouteLine(lines, l.line_id, l.sku, l.quantity);
  auto plan = Plan(ctx.store, order, lines, base.excluded, base.next_seq, base.others);
  if (!plan.ok()) return plan.status();
  const std::string partition = OrderToCash::PartitionKey(key->store_id, key->order_id);
  ctx.Defer([this, key = *key, segment_id, corr, reason, node = s.node_id, plan = *plan,
             partition](store::Tx& tx) -> absl::Status {
    if (auto st = tx.SetSegmentState(segment_id, "rejected", "", reason); !st.ok()) return st;
    auto rerouted = WritePlan(tx, plan, partition, corr);
    if (!rerouted.ok()) return rerouted.status();
    return tx.AppendTimeline(Event(key, corr, "fulfillment.rejected",
                                   {{"segment", segment_id},
                                    {"node", node},
                                    {"reason", reason},
                                    {"rerouted", *rerouted}}));
  });
  return absl::OkStatus();
}

absl::Status FulfillmentService::ApplyShipment(jobs::JobContext& ctx) {
  auto shipment = ShipmentFromJson(json::parse(ctx.job.payload, nullptr, false));
  if (!shipment.ok()) return shipment.status();
  auto key = KeyOfSegment(shipment->segment_id);
  if (!key.ok()) return absl::FailedPreconditionError(key.status().message());
  auto seg = ctx.store.GetSegment(shipment->segment_id);
  if (!seg.ok()) return seg.status();
  if (!seg->has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("shipment ", shipment->provider, "/", shipment->shipment_id,
                     " names segment ", shipment->segment_id, ", which does not exist"));
  }
  // The shop's line names, for the customer's note (the SKU alone when the order is not held).
  std::map<int64_t, std::string> names;
  if (auto held = ctx.store.GetOrder(key->store_id, key->order_id);
      held.ok() && held->has_value()) {
    auto order = mapper_(key->store_id, json::parse((*held)->snapshot_json, nullptr, false));
    if (order.ok()) {
      for (const auto& l : order->lines) names[l.line_id] = l.name;
    }
  }
  // Closed short: what it will not ship is routed again now, without its node; the commit below
  // writes the plan if the notice is new.
  std::vector<store::SegmentRecord> short_plan;
  std::vector<InventoryLine> missing;  // sku, units, the closed segment's location
  if (shipment->closes_segment) {
    const store::SegmentRecord& closed = **seg;
    std::vector<int64_t> left;
    for (const auto& l : closed.lines) left.push_back(l.quantity - l.shipped);
    FillSegment(closed, shipment->lines, left, nullptr);
    std::vector<model::RouteLine> rest;
    for (size_t i = 0; i < closed.lines.size(); ++i) {
      const auto& l = closed.lines[i];
      if (left[i] <= 0) continue;
      missing.push_back({l.sku, left[i], l.location});
      AddRouteLine(rest, l.line_id, l.sku, left[i]);
    }
    if (!rest.empty()) {
      auto order = HeldOrder(ctx.store, mapper_, *key);
      if (!order.ok()) return order.status();
      auto all = ctx.store.GetSegments(key->Ref());
      if (!all.ok()) return all.status();
      const Reroute base = RerouteFrom(*all, closed.segment_id, {closed.node_id});
      auto plan = Plan(ctx.store, *order, rest, base.excluded, base.next_seq, base.others);
      if (!plan.ok()) return plan.status();
      short_plan = *std::move(plan);
    }
  }
  if (m_shipments_) m_shipments_->Inc();
  const std::string corr = ctx.job.correlation_id;
  ctx.Defer([this, key = *key, s = *shipment, corr, names, short_plan,
             missing](store::Tx& tx) -> absl::Status {
    auto segs = tx.GetSegments(key.Ref());
    if (!segs.ok()) return segs.status();
    auto seg = std::find_if(segs->begin(), segs->end(), [&](const store::SegmentRecord& r) {
      return r.segment_id == s.segment_id;
    });
    if (seg == segs->end()) return absl::NotFoundError("segment vanished");
    json applied = json::array(), over = json::array();
    std::vector<std::pair<int, int64_t>> adds;  // line_no, units
    std::vector<std::pair<std::string, int64_t>> noted;  // "name (SKU)", units, by order line
    std::vector<int64_t> noted_lines;
    std::vector<int64_t> left;
    for (const auto& l : seg->lines) left.push_back(l.quantity - l.shipped);
    for (const auto& [i, n] : FillSegment(*seg, s.lines, left, &over)) {
      const auto& l = seg->lines[i];
      adds.push_back({l.line_no, n});
      applied.push_back({{"line_no", l.line_no}, {"sku", l.sku}, {"quantity", n}});
      auto at = std::find(noted_lines.begin(), noted_lines.end(), l.line_id);
      if (at != noted_lines.end()) {
        noted[at - noted_lines.begin()].second += n;
      } else {
        auto name = names.find(l.line_id);
        noted_lines.push_back(l.line_id);
        noted.push_back({name == names.end() || name->second.empty()
                             ? l.sku
                             : absl::StrCat(name->second, " (", l.sku, ")"),
                         n});
      }
    }
    store::ShipmentRecord rec{.provider = s.provider,
                              .shipment_id = s.shipment_id,
                              .segment_id = s.segment_id,
                              .order_ref = key.Ref(),
                              .carrier = s.carrier,
                              .tracking_number = s.tracking_number,
                              .tracking_url = s.tracking_url,
                              .shipped_at = s.shipped_at,
                              .lines_json = applied.dump()};
    auto fresh = tx.PutShipment(rec);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) {
      return tx.AppendTimeline(Event(key, corr, "fulfillment.shipment_duplicate",
                                     {{"provider", s.provider}, {"shipment_id", s.shipment_id}}));
    }
    for (const auto& [line_no, n] : adds) {
      if (auto st = tx.AddShipped(s.segment_id, line_no, n); !st.ok()) return st;
    }
    const bool complete =
        std::all_of(left.begin(), left.end(), [](int64_t n) { return n <= 0; });
    if (auto st = tx.SetSegmentState(s.segment_id, complete ? "shipped" : "partially_shipped", "",
                                     "");
        !st.ok()) {
      return st;
    }
    const bool closed_short = s.closes_segment && !complete;
    if (closed_short) {
      // The segment ends with what shipped; the rest leaves the node's shelf and goes elsewhere.
      auto now = tx.GetSegments(key.Ref());
      if (!now.ok()) return now.status();
      auto it = std::find_if(now->begin(), now->end(), [&](const store::SegmentRecord& r) {
        return r.segment_id == s.segment_id;
      });
      if (it == now->end()) return absl::NotFoundError("segment vanished");
      store::SegmentRecord closed = *it;
      std::vector<std::string> what;
      for (const InventoryLine& m : missing) {
        absl::StrAppend(&what.emplace_back(), m.quantity, " x ", m.sku);
      }
      for (auto& l : closed.lines) l.quantity = l.shipped;
      closed.state = "shipped";
      closed.error = absl::StrCat("closed short by ", closed.node_id, ": ",
                                  absl::StrJoin(what, ", "), " not shipped, routed again");
      if (auto st = tx.PutSegment(closed); !st.ok()) return st;
      if (options_.write_off) {
        if (auto st = options_.write_off(tx, key.store_id, key.Ref(), missing); !st.ok()) return st;
      }
      auto rerouted =
          WritePlan(tx, short_plan, OrderToCash::PartitionKey(key.store_id, key.order_id), corr);
      if (!rerouted.ok()) return rerouted.status();
      json gone = json::array();
      for (const InventoryLine& m : missing) {
        gone.push_back({{"sku", m.sku}, {"quantity", m.quantity}, {"location", m.location}});
      }
      if (auto st = tx.AppendTimeline(Event(key, corr, "fulfillment.short_shipped",
                                            {{"segment", s.segment_id},
                                             {"node", closed.node_id},
                                             {"missing", gone},
                                             {"rerouted", *rerouted}}));
          !st.ok()) {
        return st;
      }
    }
    // The order's cumulative shipped units per SKU (and per SKU and location), every segment.
    auto now_segs = tx.GetSegments(key.Ref());
    if (!now_segs.ok()) return now_segs.status();
    std::map<std::pair<std::string, std::string>, int64_t> shipped_at;  // sku, location
    std::map<std::string, int64_t> shipped;                             // sku
    bool order_done = true;
    for (const auto& sg : *now_segs) {
      if (Open(sg)) order_done = false;
      for (const auto& l : sg.lines) {
        if (l.shipped <= 0) continue;
        shipped[l.sku] += l.shipped;
        if (!l.location.empty()) shipped_at[{l.sku, l.location}] += l.shipped;
      }
    }
    if (options_.consume) {
      std::vector<InventoryLine> lines;
      for (const auto& [k, n] : shipped_at) lines.push_back({k.first, n, k.second});
      if (auto st = options_.consume(tx, key.store_id, key.Ref(), lines); !st.ok()) return st;
    }
    // Reserve for where the missing units go now, once this shipment's units left the order's
    // reservation (what the order still holds counts for its new segments first).
    if (closed_short) {
      if (auto st = CoverReservations(tx, key.store_id, key.Ref()); !st.ok()) return st;
    }
    json detail = {{"provider", s.provider},
                   {"shipment_id", s.shipment_id},
                   {"segment", s.segment_id},
                   {"carrier", s.carrier},
                   {"tracking_number", s.tracking_number},
                   {"lines", applied},
                   {"segment_state", complete || closed_short ? "shipped" : "partially_shipped"},
                   {"order_shipped", order_done}};
    if (closed_short) detail["closed_short"] = true;
    if (!over.empty()) detail["over_shipped"] = over;
    if (auto st = options_.events.Emit(
            tx, events::kOrderShipped,
            absl::StrCat(events::kOrderShipped, ":", s.provider, ":", s.shipment_id), key.Ref(),
            {{"reference", key.Ref()}, {"store_id", key.store_id}, {"provider", s.provider},
             {"shipment_id", s.shipment_id}, {"segment_id", s.segment_id},
             {"carrier", s.carrier}, {"tracking_number", s.tracking_number},
             {"tracking_url", s.tracking_url}, {"lines", applied},
             {"segment_state", complete || closed_short ? "shipped" : "partially_shipped"}},
            corr);
        !st.ok()) {
      return st;
    }
    if (auto st = tx.AppendTimeline(Event(key, corr, "fulfillment.shipped", detail)); !st.ok()) {
      return st;
    }

    // Post it: the ERP with the cumulative totals as of this shipment, the shop with a note.
    if (options_.erp != nullptr) {
      json totals = json::array();
      for (const auto& [sku, n] : shipped) totals.push_back({{"sku", sku}, {"shipped_total", n}});
      auto id = tx.EnqueueJob({.kind = kFulfillmentErpPostJobKind,
                               .partition_key = ErpPostPartition(key.store_id, key.order_id),
                               .payload = json{{"store", key.store_id},
                                               {"order_id", key.order_id},
                                               {"provider", s.provider},
                                               {"shipment_id", s.shipment_id},
                                               {"lines", totals}}
                                              .dump(),
                               .correlation_id = corr,
                               .max_attempts = options_.max_attempts});
      if (!id.ok()) return id.status();
    }
    const bool first = std::none_of(segs->begin(), segs->end(), [](const store::SegmentRecord& r) {
      return std::any_of(r.lines.begin(), r.lines.end(),
                         [](const store::SegmentLineRecord& l) { return l.shipped > 0; });
    });
    const bool to_shop = options_.shop_for && !noted.empty();
    if (to_shop) {
      auto id =
          tx.EnqueueJob({.kind = kFulfillmentShopUpdateJobKind,
                         .partition_key = ShopUpdatePartition(key.store_id, key.order_id),
                         .payload = json{{"store", key.store_id},
                                         {"order_id", key.order_id},
                                         {"provider", s.provider},
                                         {"shipment_id", s.shipment_id},
                                         {"order_shipped", order_done},
                                         {"note", ShipmentNote(noted, s.carrier, s.tracking_number,
                                                               s.tracking_url, order_done, first)}}
                                        .dump(),
                         .correlation_id = corr,
                         .max_attempts = options_.max_attempts});
      if (!id.ok()) return id.status();
    }
    if (options_.erp == nullptr || !to_shop) {
      return tx.SetShipmentStates(s.provider, s.shipment_id,
                                  options_.erp == nullptr ? "skipped" : "",
                                  to_shop ? "" : "skipped");
    }
    return absl::OkStatus();
  });
  return absl::OkStatus();
}

namespace {

struct PostingPayload {
  OrderKey key;
  std::string provider, shipment_id;
};

absl::StatusOr<PostingPayload> PostingOf(const json& p) {
  auto key = KeyOfPayload(p);
  if (!key.ok()) return key.status();
  if (!p.value("provider", json()).is_string() || !p.value("shipment_id", json()).is_string()) {
    return absl::InvalidArgumentError("payload needs {\"provider\", \"shipment_id\"}");
  }
  return PostingPayload{*key, p["provider"], p["shipment_id"]};
}

}  // namespace

absl::Status FulfillmentService::PostToErp(jobs::JobContext& ctx) {
  json payload = json::parse(ctx.job.payload, nullptr, false);
  auto posting = PostingOf(payload);
  if (!posting.ok()) return posting.status();
  if (!payload.value("lines", json()).is_array()) {
    return absl::InvalidArgumentError("payload needs {\"lines\": [...]}");
  }
  const auto& key = posting->key;
  if (options_.erp == nullptr) return absl::FailedPreconditionError("no ERP is configured");
  auto held = ctx.store.GetOrder(key.store_id, key.order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value() || (*held)->erp_id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("order ", key.Ref(), " has no ERP sales order to post shipments to"));
  }
  connectors::ErpShipmentPost post{
      .order_id = (*held)->erp_id,
      .order_number = (*held)->erp_number,
      .reference = key.Ref(),
      .shipment = absl::StrCat(posting->provider, "/", posting->shipment_id)};
  for (const json& l : payload["lines"]) {
    if (!l.value("sku", json()).is_string() ||
        !l.value("shipped_total", json()).is_number_integer()) {
      return absl::InvalidArgumentError("each line needs {\"sku\", \"shipped_total\"}");
    }
    post.lines.push_back({l["sku"], l["shipped_total"]});
  }
  const std::string corr = ctx.job.correlation_id;
  absl::StatusOr<connectors::ErpShipmentResult> r = options_.erp->PostShipment(post);
  if (r.ok()) {
    if (m_erp_posted_) m_erp_posted_->Inc();
    json posted = json::array();
    for (const auto& l : r->posted)
      posted.push_back({{"sku", l.sku}, {"quantity", l.shipped_total}});
    ctx.Defer([key, p = *posting, corr, posted, document = r->document,
               erp = std::string(options_.erp->name()),
               number = post.order_number](store::Tx& tx) -> absl::Status {
      if (auto st = tx.SetShipmentStates(p.provider, p.shipment_id, "posted", ""); !st.ok()) {
        return st;
      }
      return tx.AppendTimeline(Event(key, corr, "erp.shipment_posted",
                                     {{"erp", erp},
                                      {"erp_number", number},
                                      {"shipment", absl::StrCat(p.provider, "/", p.shipment_id)},
                                      {"posted", posted},
                                      {"already_posted", posted.empty()},
                                      {"document", document}}));
    });
    return absl::OkStatus();
  }
  const absl::StatusCode code = r.status().code();
  if (code == absl::StatusCode::kFailedPrecondition || code == absl::StatusCode::kInvalidArgument ||
      code == absl::StatusCode::kNotFound) {
    // A business refusal: the job dies (business) with the ERP's reason, and the order's timeline
    // says so where the operator looks.
    if (m_erp_refused_) m_erp_refused_->Inc();
    const std::string reason(r.status().message());
    obs::LogWarn("shipment refused by the ERP",
                 {{"order", key.Ref()}, {"shipment", post.shipment}, {"reason", reason}}, corr);
    ctx.Defer([key, shipment = post.shipment, corr, reason](store::Tx& tx) -> absl::Status {
      return tx.AppendTimeline(
          Event(key, corr, "erp.shipment_refused", {{"shipment", shipment}, {"reason", reason}}));
    });
  }
  return r.status();
}

absl::Status FulfillmentService::UpdateShop(jobs::JobContext& ctx) {
  json payload = json::parse(ctx.job.payload, nullptr, false);
  auto posting = PostingOf(payload);
  if (!posting.ok()) return posting.status();
  if (!payload.value("note", json()).is_string()) {
    return absl::InvalidArgumentError("payload needs {\"note\"}");
  }
  const auto& key = posting->key;
  const std::string corr = ctx.job.correlation_id;
  const std::string shipment = absl::StrCat(posting->provider, "/", posting->shipment_id);
  ShopWriteBack* shop = options_.shop_for ? options_.shop_for(key.store_id) : nullptr;
  if (shop == nullptr) {
    ctx.Defer([key, p = *posting, corr, shipment](store::Tx& tx) -> absl::Status {
      if (auto st = tx.SetShipmentStates(p.provider, p.shipment_id, "", "skipped"); !st.ok()) {
        return st;
      }
      return tx.AppendTimeline(
          Event(key, corr, "shop.shipment_skipped",
                {{"shipment", shipment}, {"reason", "the store has no REST credentials"}}));
    });
    return absl::OkStatus();
  }
  const std::string note = payload["note"];
  const bool order_shipped = payload.value("order_shipped", false);
  // The note once: on any attempt that may follow one whose answer was lost, look first.
  bool noted = false;
  if (MayHaveRunBefore(ctx.job)) {
    auto has = shop->HasOrderNote(key.order_id, note);
    if (!has.ok()) return has.status();
    noted = *has;
  }
  if (!noted) {
    if (auto st = shop->AddCustomerNote(key.order_id, note); !st.ok()) return st;
  }
  // Absolute values: safe to write again.
  auto shipments = ctx.store.ListShipments(key.Ref());
  if (!shipments.ok()) return shipments.status();
  json tracking = json::array();
  for (const auto& sh : *shipments) {
    json t = {{"shipment", absl::StrCat(sh.provider, "/", sh.shipment_id)},
              {"carrier", sh.carrier},
              {"tracking_number", sh.tracking_number}};
    if (!sh.tracking_url.empty()) t["tracking_url"] = sh.tracking_url;
    tracking.push_back(std::move(t));
  }
  ShopOrderUpdate update;
  if (order_shipped) update.status = "completed";
  update.meta = {{kFulfillmentStatusMetaKey, order_shipped ? "shipped" : "partially_shipped"},
                 {kTrackingMetaKey, tracking.dump()}};
  if (auto st = shop->UpdateOrder(key.order_id, update); !st.ok()) return st;
  if (m_shop_updated_) m_shop_updated_->Inc();
  ctx.Defer([key, p = *posting, corr, shipment, order_shipped](store::Tx& tx) -> absl::Status {
    if (auto st = tx.SetShipmentStates(p.provider, p.shipment_id, "", "written"); !st.ok()) {
      return st;
    }
    return tx.AppendTimeline(
        Event(key, corr, "shop.shipment_noted",
              {{"shipment", shipment},
               {"fulfillment_status", order_shipped ? "shipped" : "partially_shipped"},
               {"status", order_shipped ? "completed" : "unchanged"}}));
  });
  return absl::OkStatus();
}

absl::Status FulfillmentService::SweepHolds(jobs::JobContext& ctx) {
  if (auto st = ctx.store.Transact(
          ctx.clock.Now(),
          [](store::Tx& tx) { return tx.DeleteIdempotencyKey(kHoldsPendingFlag).status(); });
      !st.ok()) {
    return st;
  }
  auto held = ctx.store.ListSegmentsInState("held", absl::InfiniteFuture(), options_.holds_batch);
  if (!held.ok()) return held.status();
  std::map<std::string, std::vector<model::InventoryPosition>, std::less<>> positions;
  auto sellable = [&](const std::string& sku) -> absl::StatusOr<bool> {
    auto it = positions.find(sku);
    if (it == positions.end()) {
      auto p = ctx.store.GetPositions(sku);
      if (!p.ok()) return p.status();
      it = positions.emplace(sku, *std::move(p)).first;
    }
    for (const auto& node : options_.nodes) {
      if (!ServesSku(node, sku)) continue;
      if (node.untracked) return true;
      for (const auto& p : it->second) {
        if (std::find(node.locations.begin(), node.locations.end(), p.location) !=
                node.locations.end() &&
            model::SellableAt(p) > 0) {
          return true;
        }
      }
    }
    return false;
  };
  std::vector<std::string> due;
  for (const auto& h : *held) {
    auto seg = ctx.store.GetSegment(h.segment_id);
    if (!seg.ok()) return seg.status();
    if (!seg->has_value()) continue;
    for (const auto& l : (*seg)->lines) {
      auto any = sellable(l.sku);
      if (!any.ok()) return any.status();
      if (*any) {
        due.push_back(h.segment_id);
        break;
      }
    }
  }
  if (due.empty()) return absl::OkStatus();
  const std::string corr = ctx.job.correlation_id;
  ctx.Defer([this, due, corr](store::Tx& tx) -> absl::Status {
    for (const std::string& id : due) {
      auto key = KeyOfSegment(id);
      if (!key.ok()) continue;
      auto fresh = tx.PutIdempotencyKey(HoldReleasePendingFlag(id));
      if (!fresh.ok()) return fresh.status();
      if (!*fresh) continue;  // one is waiting already
      auto job =
          tx.EnqueueJob({.kind = kFulfillmentHoldReleaseJobKind,
                         .partition_key = OrderToCash::PartitionKey(key->store_id, key->order_id),
                         .payload = json{{"segment_id", id}}.dump(),
                         .correlation_id = corr,
                         .max_attempts = options_.max_attempts});
      if (!job.ok()) return job.status();
    }
    return absl::OkStatus();
  });
  return absl::OkStatus();
}

absl::Status FulfillmentService::ReleaseHold(jobs::JobContext& ctx) {
  auto job = ParseSegmentJob(ctx.job.payload);
  if (!job.ok()) return job.status();
  const std::string& segment_id = job->segment_id;
  const auto* key = &job->key;
  // The flag goes with this attempt's outcome, whatever it is: a later sweep may queue again.
  ctx.Defer([segment_id](store::Tx& tx) {
    return tx.DeleteIdempotencyKey(HoldReleasePendingFlag(segment_id)).status();
  });
  auto seg = ctx.store.GetSegment(segment_id);
  if (!seg.ok()) return seg.status();
  if (!seg->has_value() || (*seg)->state != "held") return absl::OkStatus();  // moved on already
  const store::SegmentRecord& hold = **seg;
  auto order = HeldOrder(ctx.store, mapper_, *key);
  if (!order.ok()) return order.status();
  auto all = ctx.store.GetSegments(key->Ref());
  if (!all.ok()) return all.status();
  const Reroute base = RerouteFrom(*all, segment_id);
  std::vector<model::RouteLine> lines;
  for (const auto& l : hold.lines) {
    if (l.quantity > l.shipped) AddRouteLine(lines, l.line_id, l.sku, l.quantity - l.shipped);
  }
  if (lines.empty()) return absl::OkStatus();
  auto plan = Plan(ctx.store, *order, lines, base.excluded, base.next_seq, base.others);
  if (!plan.ok()) return plan.status();
  auto first_ship = std::find_if(plan->begin(), plan->end(),
                                 [](const store::SegmentRecord& r) { return r.kind == "ship"; });
  if (first_ship == plan->end()) return absl::OkStatus();  // still nothing to ship
  // The first ship segment takes the hold's place (its id and seq: the hold becomes a planned
  // segment); the others are numbered after the order's last.
  std::rotate(plan->begin(), first_ship, first_ship + 1);
  int seq = base.next_seq;
  for (size_t i = 0; i < plan->size(); ++i) {
    store::SegmentRecord& r = (*plan)[i];
    r.seq = i == 0 ? hold.seq : seq++;
    r.segment_id = absl::StrCat(key->Ref(), "/", r.seq);
  }
  if (m_holds_released_) m_holds_released_->Inc();
  const std::string partition = OrderToCash::PartitionKey(key->store_id, key->order_id);
  const std::string corr = ctx.job.correlation_id;
  ctx.Defer(
      [this, key = *key, segment_id, plan = *plan, partition, corr](store::Tx& tx) -> absl::Status {
        auto segments = WritePlan(tx, plan, partition, corr);
        if (!segments.ok()) return segments.status();
        if (auto st = CoverReservations(tx, key.store_id, key.Ref()); !st.ok()) return st;
        return tx.AppendTimeline(Event(key, corr, "fulfillment.hold_released",
                                       {{"segment", segment_id}, {"segments", *segments}}));
      });
  return absl::OkStatus();
}

absl::Status FulfillmentService::CoverReservations(store::Tx& tx, std::string_view store_id,
                                                   std::string_view order_ref) const {
  if (!options_.reserve) return absl::OkStatus();
  auto segs = tx.GetSegments(order_ref);
  if (!segs.ok()) return segs.status();
  auto held = tx.GetReservations(order_ref);
  if (!held.ok()) return held.status();
  std::map<std::string, int64_t> demand, have;
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> demand_at;  // in plan order
  std::map<std::pair<std::string, std::string>, int64_t> have_at;
  for (const auto& sg : *segs) {
    if (sg.kind != "ship" || !Live(sg)) continue;
    for (const auto& l : sg.lines) {
      const int64_t n = l.quantity - l.shipped;
      if (l.location.empty() || n <= 0) continue;
      demand[l.sku] += n;
      auto& at = demand_at[l.sku];
      auto it =
          std::find_if(at.begin(), at.end(), [&](const auto& p) { return p.first == l.location; });
      if (it == at.end()) {
        at.emplace_back(l.location, n);
      } else {
        it->second += n;
      }
    }
  }
  for (const auto& r : *held) {
    have[r.sku] += r.reserved;
    have_at[{r.sku, r.location}] += r.reserved;
  }
  std::vector<InventoryLine> more;
  for (const auto& [sku, need] : demand) {
    int64_t deficit = need - have[sku];
    for (const auto& [loc, n] : demand_at[sku]) {
      if (deficit <= 0) break;
      const int64_t extra = std::min(deficit, std::max<int64_t>(0, n - have_at[{sku, loc}]));
      if (extra > 0) more.push_back({sku, extra, loc});
      deficit -= extra;
    }
    if (deficit > 0) more.push_back({sku, deficit, demand_at[sku].front().first});
  }
  if (more.empty()) return absl::OkStatus();
  return options_.reserve(tx, store_id, order_ref, more);
}

}  // namespace keelson::flows
