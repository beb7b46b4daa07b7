#include "api/ops_views.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/dead_letters.h"
#include "api/views.h"
#include "core/strings.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "ops/overview.h"
#include "ops/sla.h"

namespace keelson::api {
namespace {

using net::http::status;
using net::http::verb;

int LimitParam(const net::HttpRequest& req, int def, int max) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(req.QueryParam("limit"), &v)) return def;
  return static_cast<int>(std::clamp<int64_t>(v, 1, max));
}

std::vector<std::string> ListParam(const net::HttpRequest& req, std::string_view name) {
  std::vector<std::string> out;
  for (absl::string_view v : absl::StrSplit(req.QueryParam(name), ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(v));
  }
  return out;
}

nlohmann::json OrderSummary(const store::OrderRecord& o) {
  return {{"ref", absl::StrCat(o.store_id, ":", o.order_id)},
          {"store_id", o.store_id},
          {"order_id", o.order_id},
          {"status", o.status},
          {"erp_state", o.erp_state},
          {"erp_number", o.erp_number},
          {"customer_email", o.customer_email},
          {"total", o.total},
          {"currency", o.currency},
          {"correlation_id", o.correlation_id},
          {"created_at", FormatRfc3339(o.created_at)},
          {"updated_at", FormatRfc3339(o.updated_at)},
          {"status_since", FormatRfc3339(o.status_since)},
          {"erp_since", FormatRfc3339(o.erp_since)}};
}

// "<updated_at ms>:<order_id>:<store_id>" (store ids may hold ':' — they come last).
std::string EncodeCursor(const store::OrderRecord& o) {
  return absl::StrCat(absl::ToUnixMillis(o.updated_at), ":", o.order_id, ":", o.store_id);
}
std::optional<store::OrderCursor> DecodeCursor(std::string_view c) {
  std::vector<std::string> parts = absl::StrSplit(core::AbslSv(c), absl::MaxSplits(':', 2));
  store::OrderCursor out;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &out.key_ms) ||
      !absl::SimpleAtoi(parts[1], &out.order_id)) {
    return std::nullopt;
  }
  out.store_id = parts[2];
  return out;
}

// Which system a timeline event belongs to, from its kind ("erp.order_created" -> erp).
std::string SystemOf(std::string_view kind) {
  if (kind.starts_with("webhook.") || kind.starts_with("backfill.") ||
      kind.starts_with("shop.") || kind.starts_with("woocommerce.")) {
    return "woocommerce";
  }
  if (kind.starts_with("erp.")) return "erp";
  if (kind.starts_with("fulfillment.") || kind.starts_with("edi.")) return "fulfillment";
  if (kind.starts_with("ops.")) return "ops";
  return "keelson";
}

// Orders in a status that creates them in the ERP (`create_on`) whose ERP state is still none or
// pending.
int64_t AwaitingErp(const std::vector<store::OrderStateCount>& counts,
                    const std::vector<std::string>& create_on) {
  int64_t n = 0;
  for (const auto& c : counts) {
    const bool create = std::find(create_on.begin(), create_on.end(), c.status) != create_on.end();
    if (create && (c.erp_state == "none" || c.erp_state == "pending")) n += c.count;
  }
  return n;
}

absl::StatusOr<std::vector<store::OrderRecord>> Search(const OpsDeps& deps,
                                                       store::OrderQuery q,
                                                       std::string_view text) {
  const std::string t(absl::StripAsciiWhitespace(core::AbslSv(text)));
  if (t.empty()) return deps.store->SearchOrders(q);
  int64_t id = 0;
  const size_t colon = t.rfind(':');
  if (colon != std::string::npos && colon > 0 && absl::SimpleAtoi(t.substr(colon + 1), &id)) {
    q.store_id = t.substr(0, colon);
    q.order_id = id;
    return deps.store->SearchOrders(q);
  }
  if (t.find('@') != std::string::npos) {
    q.customer_email = t;
    return deps.store->SearchOrders(q);
  }
  if (absl::SimpleAtoi(t, &id) && id > 0) {
    store::OrderQuery by_id = q;
    by_id.order_id = id;
    auto rows = deps.store->SearchOrders(by_id);
    if (!rows.ok() || !rows->empty()) return rows;
  }
  store::OrderQuery by_erp = q;
  by_erp.erp_number = t;
  auto rows = deps.store->SearchOrders(by_erp);
  if (!rows.ok() || !rows->empty()) return rows;
  q.correlation_id = t;
  return deps.store->SearchOrders(q);
}

absl::StatusOr<nlohmann::json> OrderDetail(const OpsDeps& deps, std::string_view store_id,
                                           int64_t order_id) {
  auto held = deps.store->GetOrder(store_id, order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return absl::NotFoundError(absl::StrCat("order ", core::AbslSv(store_id), ":", order_id,
                                            " is not known to Keelson"));
  }
  const store::OrderRecord& r = **held;
  const std::string ref = absl::StrCat(core::AbslSv(store_id), ":", order_id);
  nlohmann::json out = {{"ref", ref}, {"summary", OrderSummary(r)}};
  out["order"] = nullptr;
  if (deps.mapper && r.status != "deleted") {
    nlohmann::json snapshot = nlohmann::json::parse(r.snapshot_json, nullptr, false);
    auto order = deps.mapper(store_id, snapshot);
    if (order.ok()) {
      out["order"] = OrderToJson(*order);
    } else {
      out["mapping_error"] = std::string(order.status().message());
    }
  }
  out["xrefs"] = nlohmann::json::array();
  if (!r.erp_id.empty() || !r.erp_number.empty()) {
    out["xrefs"].push_back({{"system", "erp"}, {"external_id", r.erp_number}, {"id", r.erp_id}});
  }
  // The order's own events, and everything that shared a correlation id with them (the webhook
  // deliveries that brought it, the stock movements it caused), oldest first.
  auto own = deps.store->ListTimeline(absl::StrCat("order:", ref), 1000);
  if (!own.ok()) return own.status();
  std::map<int64_t, store::TimelineEvent> events;
  std::set<std::string> correlations;
  for (const auto& e : *own) {
    events.emplace(e.id, e);
    if (!e.correlation_id.empty()) correlations.insert(e.correlation_id);
  }
  if (!r.correlation_id.empty()) correlations.insert(r.correlation_id);
  int looked = 0;
  for (const std::string& c : correlations) {
    if (++looked > 50) break;
    auto related = deps.store->ListTimelineByCorrelation(c, 200);
    if (!related.ok()) return related.status();
    for (const auto& e : *related) events.emplace(e.id, e);
  }
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& [id, e] : events) {
    nlohmann::json j = TimelineToJson(e);
    j["system"] = SystemOf(e.kind);
    timeline.push_back(std::move(j));
  }
  out["timeline"] = std::move(timeline);
  // The order's own partition and those of its shipments' postings (ERP, shop).
  const std::string partition = absl::StrCat("woo:", core::AbslSv(store_id), ":order:", order_id);
  std::map<int64_t, nlohmann::json> by_id;
  for (const std::string& p : {partition, partition + "/erp", partition + "/shop"}) {
    auto jobs = deps.store->ListJobs({.partition_key = p, .limit = 200});
    if (!jobs.ok()) return jobs.status();
    for (const auto& j : *jobs) by_id.emplace(j.id, JobToJson(j, false));
  }
  nlohmann::json job_items = nlohmann::json::array();
  for (auto& [id, j] : by_id) job_items.push_back(std::move(j));
  out["jobs"] = std::move(job_items);
  auto reservations = deps.store->GetReservations(ref);
  if (!reservations.ok()) return reservations.status();
  nlohmann::json res = nlohmann::json::array();
  for (const auto& v : *reservations) {
    res.push_back({{"sku", v.sku},
                   {"location", v.location},
                   {"channel", v.channel},
                   {"reserved", v.reserved},
                   {"consumed", v.consumed},
                   {"updated_at", FormatRfc3339(v.updated_at)}});
  }
  out["reservations"] = std::move(res);
  auto segments = deps.store->GetSegments(ref);
  if (!segments.ok()) return segments.status();
  nlohmann::json segs = nlohmann::json::array();
  for (const auto& sg : *segments) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : sg.lines) {
      lines.push_back({{"line_id", l.line_id},
                       {"sku", l.sku},
                       {"location", l.location},
                       {"quantity", l.quantity},
                       {"shipped", l.shipped}});
    }
    segs.push_back({{"segment_id", sg.segment_id},
                    {"node", sg.node_id},
                    {"provider", sg.provider},
                    {"kind", sg.kind},
                    {"state", sg.state},
                    {"state_since", FormatRfc3339(sg.state_since)},
                    {"provider_id", sg.provider_id},
                    {"error", sg.error},
                    {"promised_at", FormatRfc3339(sg.promised_at)},
                    {"lines", lines}});
  }
  out["segments"] = std::move(segs);
  auto shipments = deps.store->ListShipments(ref);
  if (!shipments.ok()) return shipments.status();
  nlohmann::json ships = nlohmann::json::array();
  for (const auto& sh : *shipments) {
    ships.push_back({{"provider", sh.provider},
                     {"shipment_id", sh.shipment_id},
                     {"segment_id", sh.segment_id},
                     {"carrier", sh.carrier},
                     {"tracking_number", sh.tracking_number},
                     {"tracking_url", sh.tracking_url},
                     {"shipped_at", FormatRfc3339(sh.shipped_at)},
                     {"received_at", FormatRfc3339(sh.received_at)},
                     {"lines", nlohmann::json::parse(sh.lines_json, nullptr, false)},
                     {"erp_state", sh.erp_state},
                     {"shop_state", sh.shop_state}});
  }
  out["shipments"] = std::move(ships);
  return out;
}

nlohmann::json RuleStateToJson(const ops::SlaRuleState& s) {
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& i : s.samples) samples.push_back(ops::SlaItemToJson(i));
  nlohmann::json j = {{"rule", s.rule.name},
                      {"description", s.rule.description},
                      {"subject", std::string(ops::SlaSubjectName(s.rule.subject))},
                      {"older_than_s", absl::ToDoubleSeconds(s.rule.older_than)},
                      {"count", s.count},
                      {"oldest_age_s", absl::ToDoubleSeconds(s.oldest_age)},
                      {"samples", samples}};
  j["firing_since"] = s.firing_since ? nlohmann::json(FormatRfc3339(*s.firing_since)) : nullptr;
  if (!s.error.empty()) j["error"] = s.error;
  return j;
}

// The discard reason from a body {"reason": "…"}; an error problem when missing.
absl::StatusOr<std::string> DiscardReason(const net::HttpRequest& req) {
  nlohmann::json body = nlohmann::json::parse(req.raw.body(), nullptr, false);
  if (!body.is_object() || !body.contains("reason") || !body["reason"].is_string() ||
      absl::StripAsciiWhitespace(body["reason"].get<std::string>()).empty()) {
    return absl::InvalidArgumentError(
        "the body must be a JSON object with a non-empty \"reason\": {\"reason\": \"…\"}");
  }
  return body["reason"].get<std::string>();
}

}  // namespace

void AddOpsViewRoutes(net::Router& router, const OpsDeps& deps) {
  router.Add(verb::get, "/ops/whoami", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               nlohmann::json out = {{"name", req.principal},
                                     {"auth", deps.api_keys.empty() ? "open" : "key"}};
               out["scopes"] = nlohmann::json::array({"ops"});
               for (const ApiKey& k : deps.api_keys) {
                 if (k.name == req.principal) out["scopes"] = k.scopes;
               }
               return net::Json(status::ok, out.dump());
             }));

  router.Add(verb::get, "/ops/overview", GuardedHandler(deps, [deps](net::HttpRequest&) {
               const absl::Time now = deps.clock->Now();
               auto counts = deps.store->CountOrdersByState();
               if (!counts.ok()) return ProblemFromStatus(counts.status());
               nlohmann::json by_status = nlohmann::json::object();
               nlohmann::json by_erp = nlohmann::json::object();
               int64_t total = 0;
               for (const auto& c : *counts) {
                 total += c.count;
                 by_status[c.status] = by_status.value(c.status, int64_t{0}) + c.count;
                 by_erp[c.erp_state] = by_erp.value(c.erp_state, int64_t{0}) + c.count;
               }
               const int64_t awaiting = AwaitingErp(*counts, deps.create_on);
               auto stats = deps.store->GetJobStats(now);
               if (!stats.ok()) return ProblemFromStatus(stats.status());
               auto unpublished = deps.store->CountStaleDirty(absl::InfiniteFuture());
               if (!unpublished.ok()) return ProblemFromStatus(unpublished.status());
               auto oldest = deps.store->ListStaleDirty(absl::InfiniteFuture(), 1);
               if (!oldest.ok()) return ProblemFromStatus(oldest.status());
               int64_t dead_waiting = 0;
               for (const auto& [reason, n] : stats->dead_by_reason) {
                 if (reason != "discarded") dead_waiting += n;
               }
               nlohmann::json out = {
                   {"now", FormatRfc3339(now)},
                   {"orders",
                    {{"total", total},
                     {"awaiting_erp", awaiting},
                     {"by_status", by_status},
                     {"by_erp_state", by_erp}}},
                   {"jobs",
                    {{"queued", stats->queued},
                     {"running", stats->running},
                     {"dead", dead_waiting},
                     {"due", stats->due},
                     {"oldest_due_age_s", absl::ToDoubleSeconds(stats->oldest_due_age)}}},
                   {"inventory",
                    {{"unpublished_skus", *unpublished},
                     {"sync_lag_s", oldest->empty() ? 0.0
                                                    : absl::ToDoubleSeconds(
                                                          now - oldest->front().marked_at)}}}};
               nlohmann::json rules = nlohmann::json::array();
               int64_t breaches = 0;
               if (deps.sla != nullptr) {
                 for (const auto& s : deps.sla->Snapshot()) {
                   breaches += s.count;
                   rules.push_back({{"rule", s.rule.name}, {"count", s.count}});
                 }
               }
               out["breaches"] = {{"total", breaches}, {"rules", rules}};
               nlohmann::json points = nlohmann::json::array();
               double interval = 5;
               if (deps.sampler != nullptr) {
                 interval = absl::ToDoubleSeconds(deps.sampler->interval());
                 for (const auto& p : deps.sampler->Points()) {
                   points.push_back({{"t", FormatRfc3339(p.t)},
                                     {"webhooks_per_s", p.webhooks_per_s},
                                     {"erp_orders_per_s", p.erp_orders_per_s},
                                     {"jobs_per_s", p.jobs_per_s},
                                     {"queue_depth", p.queue_depth},
                                     {"lag_s", p.lag_s},
                                     {"breaches", p.breaches}});
                 }
               }
               out["series"] = {{"interval_s", interval}, {"points", points}};
               return net::Json(status::ok, out.dump());
             }));

  router.Add(verb::get, "/ops/orders", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               store::OrderQuery q;
               q.store_id = req.QueryParam("store");
               q.statuses = ListParam(req, "status");
               q.erp_states = ListParam(req, "erp_state");
               q.limit = LimitParam(req, 50, 500);
               const std::string cursor = req.QueryParam("cursor");
               if (!cursor.empty()) {
                 q.after = DecodeCursor(cursor);
                 if (!q.after) {
                   return net::Problem(status::bad_request, "Bad Request",
                                       "cursor: not a cursor this API returned");
                 }
               }
               auto rows = Search(deps, q, req.QueryParam("q"));
               if (!rows.ok()) return ProblemFromStatus(rows.status());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& o : *rows) items.push_back(OrderSummary(o));
               nlohmann::json out = {{"items", items}};
               out["next_cursor"] = static_cast<int>(rows->size()) == q.limit
                                        ? nlohmann::json(EncodeCursor(rows->back()))
                                        : nlohmann::json(nullptr);
               return net::Json(status::ok, out.dump());
             }));

  router.Add(verb::get, "/ops/orders/{store_id}/{order_id}",
             GuardedHandler(deps, [deps](net::HttpRequest& req) {
               int64_t order_id = 0;
               if (!absl::SimpleAtoi(req.params["order_id"], &order_id) || order_id <= 0) {
                 return ProblemFromStatus(
                     absl::InvalidArgumentError("order_id must be a positive integer"));
               }
               auto out = OrderDetail(deps, req.params["store_id"], order_id);
               if (!out.ok()) return ProblemFromStatus(out.status());
               return net::Json(status::ok, out->dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace));
             }));

  router.Add(verb::post, "/ops/dead-letters/{id}/discard",
             GuardedHandler(deps, [deps](net::HttpRequest& req) {
               int64_t id = 0;
               if (!absl::SimpleAtoi(req.params["id"], &id) || id <= 0) {
                 return ProblemFromStatus(
                     absl::InvalidArgumentError("the id must be a positive integer"));
               }
               auto reason = DiscardReason(req);
               if (!reason.ok()) return ProblemFromStatus(reason.status());
               absl::Status s = deps.store->DiscardJob(id, deps.clock->Now());
               if (!s.ok()) return ProblemFromStatus(s);
               Audit(deps, req, "dead_letter.discard", absl::StrCat("job:", id),
                     {{"reason", *reason}});
               obs::LogInfo("dead letter discarded",
                            {{"job_id", id}, {"reason", *reason}, {"by", req.principal}});
               return net::Json(status::ok, nlohmann::json{{"discarded", {id}}}.dump());
             }));

  router.Add(verb::post, "/ops/dead-letters/discard",
             GuardedHandler(deps, [deps](net::HttpRequest& req) {
               auto reason = DiscardReason(req);
               if (!reason.ok()) return ProblemFromStatus(reason.status());
               store::JobFilter f{.kind = req.QueryParam("kind"),
                                  .dead_reason = req.QueryParam("reason")};
               auto ids = DiscardDeadLetters(*deps.store, f, deps.clock->Now());
               if (!ids.ok()) return ProblemFromStatus(ids.status());
               const std::vector<int64_t>& discarded = *ids;
               if (!discarded.empty()) {
                 Audit(deps, req, "dead_letter.discard_bulk", "dead-letters",
                       {{"ids", discarded},
                        {"reason", *reason},
                        {"filter_reason", f.dead_reason},
                        {"filter_kind", f.kind}});
               }
               return net::Json(status::ok, nlohmann::json{{"discarded", discarded}}.dump());
             }));

  if (deps.sla != nullptr) {
    router.Add(verb::get, "/ops/alerts", GuardedHandler(deps, [deps](net::HttpRequest&) {
                 nlohmann::json items = nlohmann::json::array();
                 for (const auto& s : deps.sla->Snapshot()) items.push_back(RuleStateToJson(s));
                 return net::Json(status::ok,
                                  nlohmann::json{{"evaluated_at",
                                                  FormatRfc3339(deps.sla->evaluated_at())},
                                                 {"items", items}}
                                      .dump());
               }));
    router.Add(verb::get, "/ops/alerts/{rule}", GuardedHandler(deps, [deps](net::HttpRequest& req) {
                 auto items = deps.sla->Items(req.params["rule"], LimitParam(req, 200, 1000));
                 if (!items.ok()) return ProblemFromStatus(items.status());
                 nlohmann::json out = nlohmann::json::array();
                 for (const auto& i : *items) out.push_back(ops::SlaItemToJson(i));
                 return net::Json(status::ok,
                                  nlohmann::json{{"rule", req.params["rule"]}, {"items", out}}.dump());
               }));
  }

  router.Add(verb::get, "/ops/audit", GuardedHandler(deps, [deps](net::HttpRequest& req) {
               int64_t after = 0;
               absl::SimpleAtoi(req.QueryParam("after"), &after);
               auto rows = deps.store->ListAudit(after, LimitParam(req, 100, 1000));
               if (!rows.ok()) return ProblemFromStatus(rows.status());
               nlohmann::json items = nlohmann::json::array();
               for (const auto& a : *rows) {
                 nlohmann::json detail = nlohmann::json::parse(a.detail_json, nullptr, false);
                 items.push_back({{"id", a.id},
                                  {"at", FormatRfc3339(a.at)},
                                  {"actor", a.actor},
                                  {"action", a.action},
                                  {"target", a.target},
                                  {"detail", detail.is_discarded() ? nlohmann::json(a.detail_json)
                                                                   : detail}});
               }
               nlohmann::json out = {{"items", items}};
               if (!rows->empty()) out["next_after"] = rows->back().id;
               return net::Json(status::ok, out.dump());
             }));
}

void AddBusinessGauges(const OpsDeps& deps) {
  struct Snap {
    std::vector<store::OrderStateCount> counts;
    int64_t unpublished = 0;
    double lag_s = 0;
    int64_t shipments_awaiting_erp = 0;
  };
  struct Cache {
    std::mutex mu;
    absl::Time at = absl::InfinitePast();
    Snap snap;
  };
  auto cache = std::make_shared<Cache>();
  auto snapshot = [deps, cache]() {
    std::lock_guard<std::mutex> l(cache->mu);
    const absl::Time now = deps.clock->Now();
    if (now - cache->at > absl::Seconds(2)) {
      auto counts = deps.store->CountOrdersByState();
      auto unpublished = deps.store->CountStaleDirty(absl::InfiniteFuture());
      auto oldest = deps.store->ListStaleDirty(absl::InfiniteFuture(), 1);
      auto shipments = deps.store->CountShipmentsAwaitingErp(absl::InfiniteFuture());
      if (counts.ok() && unpublished.ok() && oldest.ok() && shipments.ok()) {
        cache->snap.shipments_awaiting_erp = *shipments;
        cache->snap.counts = *counts;
        cache->snap.unpublished = *unpublished;
        cache->snap.lag_s =
            oldest->empty() ? 0.0 : absl::ToDoubleSeconds(now - oldest->front().marked_at);
        cache->at = now;
      }
    }
    return cache->snap;
  };
  deps.metrics->AddCallbackGauge(
      "keelson_orders", "Orders held, by the shop's status and the ERP state.", [snapshot]() {
        std::vector<std::pair<obs::Labels, double>> out;
        for (const auto& c : snapshot().counts) {
          out.push_back({{{"status", c.status}, {"erp_state", c.erp_state}},
                         static_cast<double>(c.count)});
        }
        return out;
      });
  deps.metrics->AddCallbackGauge(
      "keelson_orders_awaiting_erp",
      "Orders in a status that creates them in the ERP, not there yet (ERP state none or pending).",
      [snapshot, create_on = deps.create_on]() {
        return std::vector<std::pair<obs::Labels, double>>{
            {{}, static_cast<double>(AwaitingErp(snapshot().counts, create_on))}};
      });
  deps.metrics->AddCallbackGauge(
      "keelson_inventory_unpublished_skus",
      "Stock changes (SKU x store) not yet published to their store.", [snapshot]() {
        return std::vector<std::pair<obs::Labels, double>>{
            {{}, static_cast<double>(snapshot().unpublished)}};
      });
  deps.metrics->AddCallbackGauge(
      "keelson_shipments_awaiting_erp",
      "Shipments received from fulfillment and not yet posted to the ERP.", [snapshot]() {
        return std::vector<std::pair<obs::Labels, double>>{
            {{}, static_cast<double>(snapshot().shipments_awaiting_erp)}};
      });
  deps.metrics->AddCallbackGauge(
      "keelson_inventory_sync_lag_seconds",
      "Age of the oldest stock change not yet published (0 when all are).", [snapshot]() {
        return std::vector<std::pair<obs::Labels, double>>{{{}, snapshot().lag_s}};
      });
}

}  // namespace keelson::api
