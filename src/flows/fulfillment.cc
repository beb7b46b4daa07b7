#include "flows/fulfillment.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
    const std::vector<std::string>& excluded, int first_seq) {
  const std::string ref = absl::StrCat(order.store_id, ":", order.order_id);
  auto held = store.GetReservations(ref);
  if (!held.ok()) return held.status();
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
    for (const auto& r : *held) {
      if (r.sku == sku && r.location == loc) n += r.reserved;
    }
    return n;
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
  auto held = ctx.store.GetOrder(key->store_id, key->order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("order ", key->Ref(), " is not held"));
  }
  auto order = mapper_(key->store_id, json::parse((*held)->snapshot_json, nullptr, false));
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
  json payload = json::parse(ctx.job.payload, nullptr, false);
  if (!payload.is_object() || !payload.value("segment_id", json()).is_string()) {
    return absl::InvalidArgumentError("payload needs {\"segment_id\"}");
  }
  const std::string segment_id = payload["segment_id"];
  auto key = KeyOfSegment(segment_id);
  if (!key.ok()) return key.status();
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
  auto held = ctx.store.GetOrder(key->store_id, key->order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("order ", key->Ref(), " is not held"));
  }
  auto order = mapper_(key->store_id, json::parse((*held)->snapshot_json, nullptr, false));
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
  auto held = ctx.store.GetOrder(key->store_id, key->order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("order ", key->Ref(), " is not held"));
  }
  auto order = mapper_(key->store_id, json::parse((*held)->snapshot_json, nullptr, false));
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
  std::vector<std::string> excluded = {s.node_id};
  int next_seq = 1;
  for (const auto& other : *all) {
    if (other.state == "rejected") excluded.push_back(other.node_id);
    next_seq = std::max(next_seq, other.seq + 1);
  }
  std::vector<model::RouteLine> lines;
  for (const auto& l : s.lines) {
    auto same = std::find_if(lines.begin(), lines.end(),
                             [&](const model::RouteLine& r) { return r.line_id == l.line_id; });
    if (same != lines.end()) {
      same->quantity += l.quantity;
    } else {
      lines.push_back({l.line_id, l.sku, l.quantity});
    }
  }
  auto plan = Plan(ctx.store, order, lines, excluded, next_seq);
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
  if (m_shipments_) m_shipments_->Inc();
  const std::string corr = ctx.job.correlation_id;
  ctx.Defer([this, key = *key, s = *shipment, corr](store::Tx& tx) -> absl::Status {
    auto segs = tx.GetSegments(key.Ref());
    if (!segs.ok()) return segs.status();
    auto seg = std::find_if(segs->begin(), segs->end(), [&](const store::SegmentRecord& r) {
      return r.segment_id == s.segment_id;
    });
    if (seg == segs->end()) return absl::NotFoundError("segment vanished");
    // Each notice line fills the segment's lines of its SKU in order, never past their quantity.
    json applied = json::array(), over = json::array();
    std::vector<std::pair<int, int64_t>> adds;  // line_no, units
    std::vector<int64_t> left;
    for (const auto& l : seg->lines) left.push_back(l.quantity - l.shipped);
    for (const connectors::ShipmentLine& sl : s.lines) {
      int64_t qty = sl.quantity;
      for (size_t i = 0; i < seg->lines.size() && qty > 0; ++i) {
        const auto& l = seg->lines[i];
        if (l.sku != sl.sku || (sl.line_id != 0 && sl.line_id != l.line_id) || left[i] <= 0) {
          continue;
        }
        const int64_t n = std::min(qty, left[i]);
        left[i] -= n;
        qty -= n;
        adds.push_back({l.line_no, n});
        applied.push_back({{"line_no", l.line_no}, {"sku", l.sku}, {"quantity", n}});
      }
      if (qty > 0) over.push_back({{"sku", sl.sku}, {"quantity", qty}});
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
    if (options_.consume) {
      // The order's cumulative shipped units per SKU, every segment.
      auto now_segs = tx.GetSegments(key.Ref());
      if (!now_segs.ok()) return now_segs.status();
      std::map<std::pair<std::string, std::string>, int64_t> shipped;  // sku, location
      for (const auto& sg : *now_segs) {
        for (const auto& l : sg.lines) {
          if (l.shipped > 0 && !l.location.empty()) shipped[{l.sku, l.location}] += l.shipped;
        }
      }
      std::vector<InventoryLine> lines;
      for (const auto& [k, n] : shipped) lines.push_back({k.first, n, k.second});
      if (auto st = options_.consume(tx, key.store_id, key.Ref(), lines); !st.ok()) return st;
    }
    json detail = {{"provider", s.provider},       {"shipment_id", s.shipment_id},
                   {"segment", s.segment_id},      {"carrier", s.carrier},
                   {"tracking_number", s.tracking_number}, {"lines", applied},
                   {"segment_state", complete ? "shipped" : "partially_shipped"}};
    if (!over.empty()) detail["over_shipped"] = over;
    if (auto st = options_.events.Emit(
            tx, events::kOrderShipped,
            absl::StrCat(events::kOrderShipped, ":", s.provider, ":", s.shipment_id), key.Ref(),
            {{"reference", key.Ref()}, {"store_id", key.store_id}, {"provider", s.provider},
             {"shipment_id", s.shipment_id}, {"segment_id", s.segment_id},
             {"carrier", s.carrier}, {"tracking_number", s.tracking_number},
             {"tracking_url", s.tracking_url}, {"lines", applied},
             {"segment_state", complete ? "shipped" : "partially_shipped"}},
            corr);
        !st.ok()) {
      return st;
    }
    return tx.AppendTimeline(Event(key, corr, "fulfillment.shipped", detail));
  });
  return absl::OkStatus();
}

}  // namespace keelson::flows
