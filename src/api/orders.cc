#include "api/orders.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/views.h"
#include "core/strings.h"

namespace keelson::api {

absl::StatusOr<nlohmann::json> OrderView(store::Store& store, const OrderMapperFn& mapper,
                                         std::string_view store_id, int64_t order_id) {
  auto held = store.GetOrder(store_id, order_id);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("order ", core::AbslSv(store_id), ":", order_id, " is not known to Keelson"));
  }
  const store::OrderRecord& r = **held;
  const std::string reference = absl::StrCat(core::AbslSv(store_id), ":", order_id);
  nlohmann::json out = {
      {"reference", reference},
      {"store_id", r.store_id},
      {"order_id", r.order_id},
      {"status", r.status},
      {"version", FormatRfc3339(r.version)},
      {"updated_at", FormatRfc3339(r.updated_at)},
      {"correlation_id", r.correlation_id},
      {"erp", {{"state", r.erp_state}, {"id", r.erp_id}, {"number", r.erp_number}}},
  };
  nlohmann::json snapshot =
      nlohmann::json::parse(r.snapshot_json, nullptr, /*allow_exceptions=*/false);
  absl::StatusOr<model::Order> order =
      r.status == "deleted" ? absl::NotFoundError("the order was deleted in the shop")
                            : mapper(store_id, snapshot);
  if (order.ok()) {
    out["order"] = OrderToJson(*order);
  } else {
    out["order"] = nullptr;
    out["mapping_error"] = std::string(order.status().message());
  }
  auto events = store.ListTimeline(absl::StrCat("order:", reference), 1000);
  if (!events.ok()) return events.status();
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& e : *events) timeline.push_back(TimelineToJson(e));
  out["timeline"] = std::move(timeline);
  return out;
}

void AddOrderRoutes(net::Router& router, const OpsDeps& deps, OrderMapperFn mapper) {
  router.Add(net::http::verb::get, "/v1/orders/{store_id}/{order_id}",
             GuardedHandler(deps, [deps, mapper](net::HttpRequest& req) {
               int64_t order_id = 0;
               if (!absl::SimpleAtoi(req.params["order_id"], &order_id) || order_id <= 0) {
                 return ProblemFromStatus(
                     absl::InvalidArgumentError("order_id must be a positive integer"));
               }
               auto view = OrderView(*deps.store, mapper, req.params["store_id"], order_id);
               if (!view.ok()) return ProblemFromStatus(view.status());
               return net::Json(net::http::status::ok, view->dump());
             }));
}

}  // namespace keelson::api
