#include "api/fulfillment.h"

#include "absl/strings/numbers.h"
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

void AddShipBobWebhookRoute(net::Router& router, const OpsDeps& deps,
                            flows::FulfillmentService* service,
                            const connectors::shipbob::ShipBobProvider* shipbob,
                            std::function<void()> on_enqueue) {
  router.Add(net::http::verb::post, "/v1/webhooks/shipbob",
             [deps, service, shipbob, on_enqueue](net::HttpRequest& req, net::Responder respond) {
               connectors::shipbob::ShipBobProvider::Headers headers;
               for (const auto& field : req.raw) {
                 headers.emplace_back(std::string(field.name_string()),
                                      std::string(field.value()));
               }
               auto shipments = shipbob->ParseShipmentWebhook(headers, req.raw.body());
               if (!shipments.ok()) {
                 if (shipments.status().code() == absl::StatusCode::kUnauthenticated) {
                   respond(net::Problem(net::http::status::unauthorized, "Unauthorized",
                                        std::string(shipments.status().message())));
                 } else {
                   respond(ProblemFromStatus(shipments.status()));
                 }
                 return;
               }
               const std::string corr = core::NewCorrelationId();
               absl::Status s = deps.store->Transact(deps.clock->Now(), [&](store::Tx& tx) {
                 for (const auto& sh : *shipments) {
                   if (auto st = service->EnqueueShipment(tx, sh, corr); !st.ok()) return st;
                 }
                 return absl::OkStatus();
               });
               if (!s.ok()) {
                 respond(ProblemFromStatus(s));
                 return;
               }
               if (on_enqueue && !shipments->empty()) on_enqueue();
               respond(net::Json(net::http::status::ok,
                                 nlohmann::json{{"status", "accepted"},
                                                {"shipments", shipments->size()},
                                                {"correlation_id", corr}}
                                     .dump()));
             });
}

void AddEdiRoutes(net::Router& router, const OpsDeps& deps, std::vector<std::string> partners) {
  router.Add(
      net::http::verb::get, "/ops/edi/files",
      GuardedHandler(deps, [deps, partners](net::HttpRequest& req) {
        const std::string partner = req.QueryParam("partner");
        if (std::find(partners.begin(), partners.end(), partner) == partners.end()) {
          return net::Problem(net::http::status::not_found, "Not Found",
                              absl::StrCat("no EDI trading partner \"", partner, "\""));
        }
        store::EdiFileQuery q{.partner = partner,
                              .direction = req.QueryParam("direction"),
                              .state = req.QueryParam("state")};
        int64_t after = 0, limit = 100;
        if (!req.QueryParam("after").empty() &&
            !absl::SimpleAtoi(req.QueryParam("after"), &after)) {
          return net::Problem(net::http::status::bad_request, "Bad Request", "after: an id");
        }
        if (!req.QueryParam("limit").empty() &&
            (!absl::SimpleAtoi(req.QueryParam("limit"), &limit) || limit <= 0 || limit > 1000)) {
          return net::Problem(net::http::status::bad_request, "Bad Request", "limit: 1..1000");
        }
        q.after_id = after;
        q.limit = static_cast<int>(limit);
        auto files = deps.store->ListEdiFiles(q);
        if (!files.ok()) return ProblemFromStatus(files.status());
        nlohmann::json items = nlohmann::json::array();
        for (const store::EdiFile& f : *files) {
          items.push_back({{"id", f.id},
                           {"partner", f.partner},
                           {"direction", f.direction},
                           {"name", f.name},
                           {"sha256", f.sha256},
                           {"size", f.size},
                           {"state", f.state},
                           {"detail", nlohmann::json::parse(f.detail_json, nullptr, false)},
                           {"created_at",
                            absl::FormatTime(absl::RFC3339_sec, f.created_at, absl::UTCTimeZone())},
                           {"updated_at", absl::FormatTime(absl::RFC3339_sec, f.updated_at,
                                                           absl::UTCTimeZone())}});
        }
        nlohmann::json out = {{"items", items}};
        if (static_cast<int64_t>(files->size()) == limit) out["next_after"] = files->back().id;
        return net::Json(net::http::status::ok, out.dump());
      }));
}

}  // namespace keelson::api
