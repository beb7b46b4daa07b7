#pragma once
// Shipments into Keelson from any place that ships (a WMS beside the ERP, a scanner app, a 3PL
// without webhooks of its own):
//
//   POST /v1/fulfillment/shipments   {"provider","shipment_id","segment_id","carrier",
//                                     "tracking_number","tracking_url","shipped_at" (RFC 3339),
//                                     "lines":[{"sku","quantity","line_id"}]}
//     202 {"status":"accepted"} once the notice and its job are committed; it is applied once
//     per (provider, shipment_id) however often it is sent. 400 problem for a malformed notice.
//
// Authenticated like /ops (a key with scope "ops").
//
//   POST /v1/webhooks/shipbob   ShipBob's signed webhooks (order.shipped): verified by the
//     provider (401 problem for a bad or stale signature), each shipped shipment queued for
//     application in one commit before the 200; other topics are acknowledged and ignored.
//
//   GET /ops/edi/files?partner=acme&direction=in|out&state=&after=&limit=100
//     The X12 files exchanged with an EDI trading partner, oldest first (scope ops:read):
//     {"items": [{"id", "partner", "direction", "name", "sha256", "size", "state", "detail",
//     "created_at", "updated_at"}], "next_after"}. A rejected inbound file's `detail.errors` says
//     why (it is kept in the partner's error folder). 404 for a partner not configured.
//
// Thread-safety: stateless handlers.

#include "api/ops.h"
#include "connectors/fulfillment/shipbob/provider.h"
#include "flows/fulfillment.h"
#include "net/http_server.h"

namespace keelson::api {

void AddFulfillmentRoutes(net::Router& router, const OpsDeps& deps,
                          flows::FulfillmentService* service, std::function<void()> on_enqueue);
void AddShipBobWebhookRoute(net::Router& router, const OpsDeps& deps,
                            flows::FulfillmentService* service,
                            const connectors::shipbob::ShipBobProvider* shipbob,
                            std::function<void()> on_enqueue);

void AddEdiRoutes(net::Router& router, const OpsDeps& deps, std::vector<std::string> partners);

}  // namespace keelson::api
