#include "api/fulfillment.h"

#include "absl/strings/str_cat.h"
#include "core/ids.h"

namespace keelson::api {

void AddFulfillmentRoutes(net::Router& router, const OpsDeps& deps,
                          flows::FulfillmentService* service, std::function<void()> on_enqueue) {
  router.Add(
      net::http::verb::post, "/v1/fulfillment/shipments",
      GuardedHandler(deps, [deps, service, on_enqueue](net::HttpRequest& req) {
        nlohmann::json body = nlohmann::json::parse(req.raw.body(), nullptr, false);
        if (body.is_object() && body.contains("shipped_at") && body["shipped_at"].is_string()) {
          absl::Time t;
          std::string err;
          if (!absl::ParseTime(absl::RFC3339_full, body["shipped_at"].get<std::string>(), &t,
                               &err)) {
            return net::Problem(net::http::status::bad_request, "Bad Request",
                                absl::StrCat("shipped_at: not an RFC 3339 time (", err, ")"));
          }
          body["shipped_at"] = absl::ToUnixMillis(t);
        }
        auto shipment = flows::FulfillmentService::ShipmentFromJson(body);
        if (!shipment.ok()) return ProblemFromStatus(shipment.status());
        if (shipment->shipment_id.empty() || shipment->provider.empty() ||
            shipment->lines.empty()) {
          return net::Problem(net::http::status::bad_request, "Bad Request",
                              "provider, shipment_id and at least one line are required");
        }
        const std::string corr = core::NewCorrelationId();
        absl::Status s = deps.store->Transact(deps.clock->Now(), [&](store::Tx& tx) {
          return service->EnqueueShipment(tx, *shipment, corr);
        });
        if (!s.ok()) return ProblemFromStatus(s);
        if (on_enqueue) on_enqueue();
        return net::Json(net::http::status::accepted,
                         nlohmann::json{{"status", "accepted"}, {"correlation_id", corr}}.dump());
      }));
}

}  // namespace keelson::api
