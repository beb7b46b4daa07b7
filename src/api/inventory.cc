#include "api/inventory.h"

#include <algorithm>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/views.h"
#include "core/strings.h"

namespace keelson::api {
namespace {

using net::http::status;
using nlohmann::json;

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(core::Cat(field, ": ", what));
}

absl::StatusOr<std::string> RequiredString(const json& body, const char* field) {
  if (!body.contains(field)) return Invalid(field, "is required");
  const json& v = body[field];
  if (!v.is_string() || v.get<std::string>().empty()) {
    return Invalid(field, "must be a non-empty string");
  }
  return v.get<std::string>();
}

// Absent → nullopt; otherwise an integer >= 0.
absl::StatusOr<std::optional<int64_t>> Quantity(const json& body, const char* field,
                                                bool required) {
  if (!body.contains(field) || body[field].is_null()) {
    if (required) return Invalid(field, "is required");
    return std::optional<int64_t>();
  }
  const json& v = body[field];
  if (!v.is_number_integer()) return Invalid(field, "must be an integer");
  if (v.is_number_unsigned() ? v.get<uint64_t>() > INT64_MAX : v.get<int64_t>() < 0) {
    return Invalid(field, "must be an integer >= 0");
  }
  return std::optional<int64_t>(v.get<int64_t>());
}

absl::StatusOr<absl::Time> Rfc3339(const json& body, const char* field) {
  if (!body.contains(field)) return Invalid(field, "is required");
  const json& v = body[field];
  absl::Time t;
  std::string err;
  if (!v.is_string() || !absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) {
    return Invalid(field, "must be an RFC 3339 date-time, e.g. \"2026-03-01T10:00:00Z\"");
  }
  return t;
}

json PositionJson(const model::InventoryPosition& p) {
  return {{"location", p.location},
          {"on_hand", p.on_hand},
          {"allocated", p.allocated},
          {"reserved", p.reserved},
          {"safety_stock", p.safety_stock},
          {"ats", model::SellableAt(p)},
          {"inbound", p.inbound},
          {"inbound_expected_at", FormatRfc3339(p.inbound_expected_at)},
          {"as_of", FormatRfc3339(p.as_of)},
          {"updated_at", FormatRfc3339(p.updated_at)}};
}

}  // namespace

absl::StatusOr<flows::StockEvent> ParseStockEvent(std::string_view text) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  flows::StockEvent e;
  {
    auto v = RequiredString(body, "event_id");
    if (!v.ok()) return v.status();
    e.event_id = *std::move(v);
  }
  {
    auto v = RequiredString(body, "sku");
    if (!v.ok()) return v.status();
    e.sku = *std::move(v);
  }
  {
    auto v = RequiredString(body, "location");
    if (!v.ok()) return v.status();
    e.location = *std::move(v);
  }
  {
    auto v = Quantity(body, "on_hand", /*required=*/true);
    if (!v.ok()) return v.status();
    e.on_hand = **v;
  }
  {
    auto v = Rfc3339(body, "occurred_at");
    if (!v.ok()) return v.status();
    e.occurred_at = *v;
  }
  for (auto [field, out] :
       {std::pair<const char*, std::optional<int64_t>*>{"allocated", &e.allocated},
        {"inbound", &e.inbound},
        {"safety_stock", &e.safety_stock}}) {
    auto v = Quantity(body, field, /*required=*/false);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  if (e.inbound.value_or(0) > 0) {
    auto v = Rfc3339(body, "inbound_expected_at");
    if (!v.ok()) return v.status();
    e.inbound_expected_at = *v;
  }
  if (body.contains("source")) {
    if (!body["source"].is_string() || body["source"].get<std::string>().empty()) {
      return Invalid("source", "must be a non-empty string");
    }
    e.source = body["source"].get<std::string>();
  }
  return e;
}

absl::StatusOr<json> InventoryView(store::Store& store, const flows::InventoryService& service,
                                   std::string_view sku, absl::Time now) {
  auto ps = store.GetPositions(sku);
  if (!ps.ok()) return ps.status();
  if (ps->empty()) {
    return absl::NotFoundError(core::Cat("SKU \"", sku, "\" has no inventory position"));
  }
  json locations = json::array();
  model::InventoryPosition total;
  for (const model::InventoryPosition& p : *ps) {
    locations.push_back(PositionJson(p));
    total.on_hand += p.on_hand;
    total.allocated += p.allocated;
    total.reserved += p.reserved;
    total.safety_stock += p.safety_stock;
    total.inbound += p.inbound;
  }
  json channels = json::array();
  for (const model::ChannelRule& rule : service.channels()) {
    const int64_t ats = model::ComputeAts(*ps, rule, now);
    json per_location = json::array();
    for (const std::string& loc : rule.locations) {
      int64_t sellable = 0;
      for (const model::InventoryPosition& p : *ps) {
        if (p.location == loc) sellable = model::SellableAt(p);
      }
      per_location.push_back({{"location", loc}, {"ats", sellable}});
    }
    auto published = store.GetPublished(rule.channel, sku);
    if (!published.ok()) return published.status();
    json pub = nullptr;
    if (published->has_value()) {
      const store::PublishedLevel& l = **published;
      pub = {{"quantity", l.quantity},
             {"stock_status", l.stock_status},
             {"status", l.status},
             {"at", FormatRfc3339(l.at)}};
      if (!l.error.empty()) pub["error"] = l.error;
    }
    channels.push_back({{"store", rule.channel},
                        {"ats", ats},
                        {"stock_status", model::StockStatusFor(ats, rule)},
                        {"pooled", model::PooledAts(*ps, rule, now)},
                        {"locations", per_location},
                        {"published", pub}});
  }
  return json{{"sku", sku},
              {"on_hand", total.on_hand},
              {"allocated", total.allocated},
              {"reserved", total.reserved},
              {"safety_stock", total.safety_stock},
              {"inbound", total.inbound},
              {"locations", locations},
              {"channels", channels}};
}

namespace {
struct ReconcileRunView {
  const store::ReconcileRun& run;
  nlohmann::json Json() const {
    return {{"run_id", run.run_id},
            {"store", run.store_id},
            {"started_at", FormatRfc3339(run.started_at)},
            {"finished_at", FormatRfc3339(run.finished_at)},
            {"scanned", run.scanned},
            {"drifted", run.drifted},
            {"corrected", run.corrected},
            {"unknown", run.unknown}};
  }
};
}  // namespace

void AddInventoryRoutes(net::Router& router, const OpsDeps& deps, flows::InventoryService* service,
                        std::function<void()> on_enqueue, store::TxGroupCommitter* committer) {
  // Reconcile now (an operator who just fixed something, or distrusts the shop).
  router.Add(net::http::verb::post, "/ops/inventory/reconcile",
             GuardedHandler(deps, [deps, service, on_enqueue](net::HttpRequest& req) {
               const std::string store_id = req.QueryParam("store");
               if (service->Channel(store_id) == nullptr) {
                 return net::Problem(net::http::status::not_found, "Not Found",
                                     absl::StrCat("no inventory channel for store \"", store_id,
                                                  "\" (?store=<id>)"));
               }
               absl::StatusOr<int64_t> id;
               absl::Status st =
                   deps.store->Transact(deps.clock->Now(), [&](store::Tx& tx) -> absl::Status {
                     id = tx.EnqueueJob(service->ReconcileJob(store_id));
                     if (!id.ok()) return id.status();
                     return tx.AppendAudit(
                         {.actor = req.principal.empty() ? "anonymous" : req.principal,
                          .action = "inventory.reconcile",
                          .target = absl::StrCat("store:", store_id),
                          .detail_json = nlohmann::json{{"job_id", *id}}.dump()});
                   });
               if (!st.ok()) return ProblemFromStatus(st);
               if (on_enqueue) on_enqueue();
               return net::Json(net::http::status::accepted,
                                nlohmann::json{{"job_id", *id}, {"store", store_id}}.dump());
             }));
  // The reconciliation report: the store's latest run (or ?run=ID) and its drifted SKUs, paged.
  router.Add(net::http::verb::get, "/ops/inventory/drift",
             GuardedHandler(deps, [deps, service](net::HttpRequest& req) {
               store::DriftQuery q;
               q.store_id = req.QueryParam("store");
               if (q.store_id.empty() && service->channels().size() == 1) {
                 q.store_id = service->channels().front().channel;
               }
               if (q.store_id.empty()) {
                 return net::Problem(net::http::status::bad_request, "Bad Request",
                                     "give the store: ?store=<id>");
               }
               q.run_id = req.QueryParam("run");
               int64_t v = 0;
               if (absl::SimpleAtoi(req.QueryParam("after"), &v)) q.after_id = v;
               if (absl::SimpleAtoi(req.QueryParam("limit"), &v)) {
                 q.limit = static_cast<int>(std::clamp<int64_t>(v, 1, 1000));
               }
               auto run = deps.store->GetReconcileRun(q.store_id, q.run_id);
               if (!run.ok()) return ProblemFromStatus(run.status());
               if (!run->has_value()) {
                 return net::Problem(net::http::status::not_found, "Not Found",
                                     absl::StrCat("no reconciliation run for store ", q.store_id));
               }
               q.run_id = (*run)->run_id;
               auto rows = deps.store->ListDrift(q);
               if (!rows.ok()) return ProblemFromStatus(rows.status());
               const ReconcileRunView r{**run};
               nlohmann::json items = nlohmann::json::array();
               for (const store::DriftRow& d : *rows) {
                 items.push_back({{"sku", d.sku},
                                  {"expected", d.expected},
                                  {"found", d.found},
                                  {"expected_status", d.expected_status},
                                  {"found_status", d.found_status},
                                  {"corrected", d.corrected},
                                  {"at", FormatRfc3339(d.at)}});
               }
               nlohmann::json out = {{"run", r.Json()}, {"items", items}};
               if (!rows->empty()) out["next_after"] = rows->back().id;
               return net::Json(net::http::status::ok, out.dump());
             }));
  router.Add(
      net::http::verb::post, "/v1/inventory/events",
      GuardedAsyncHandler(deps, [deps, service, on_enqueue, committer](net::HttpRequest& req,
                                                                       net::Responder respond) {
        absl::StatusOr<flows::StockEvent> event = ParseStockEvent(req.raw.body());
        if (!event.ok()) {
          respond(ProblemFromStatus(event.status()));
          return;
        }
        // The result is written by the transaction function and read by the callback, both on
        // the committing thread (or this one, without a committer).
        auto result =
            std::make_shared<flows::StockEventResult>(flows::StockEventResult::kDuplicate);
        std::string event_id = event->event_id;
        auto apply = [service, event = *std::move(event), result](store::Tx& tx) -> absl::Status {
          auto r = service->ApplyStockEvent(tx, event);
          if (!r.ok()) return r.status();
          *result = *r;
          return absl::OkStatus();
        };
        auto answer = [on_enqueue, result, event_id = std::move(event_id),
                       respond = std::move(respond)](absl::Status st) {
          if (!st.ok()) {
            respond(ProblemFromStatus(st));
            return;
          }
          if (*result == flows::StockEventResult::kApplied && on_enqueue) on_enqueue();
          respond(net::Json(status::ok, json{{"status", flows::StockEventResultName(*result)},
                                             {"event_id", event_id}}
                                            .dump()));
        };
        if (committer != nullptr) {
          committer->Submit(std::move(apply), std::move(answer));
        } else {
          answer(deps.store->Transact(deps.clock->Now(), apply));
        }
      }));
  router.Add(net::http::verb::get, "/v1/inventory/{sku}",
             GuardedHandler(deps, [deps, service](net::HttpRequest& req) {
               auto view =
                   InventoryView(*deps.store, *service, req.params["sku"], deps.clock->Now());
               if (!view.ok()) return ProblemFromStatus(view.status());
               return net::Json(status::ok, view->dump());
             }));
}

}  // namespace keelson::api
