#pragma once
// connectors::FulfillmentProvider for a ShipBob account over ShipBob's public REST API, version
// 2026-01 (README.md: endpoints, auth, limits, error mapping, and the vendor documentation).
//
// Requests per call:
//   Release               1 POST /order; +1 GET /order?ReferenceIds= with verify_first; +1
//                         GET when ShipBob answers 422 (a duplicate reference is looked up and
//                         returned, never created twice)
//   ListInventoryLevels   1 GET /inventory-level/locations per page
//   ParseShipmentWebhook  none (verifies and parses what ShipBob POSTed)
// Pace them with the account's net::Endpoint (EndpointOptionsFor) as the HttpClient given here.
//
// Ownership: borrows `http` and the options' clock. Thread-safety: thread-safe (fulfillment.h).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/fulfillment.h"
#include "connectors/fulfillment/shipbob/client.h"
#include "connectors/fulfillment/shipbob/config.h"
#include "connectors/fulfillment/shipbob/mapping.h"
#include "net/http_client.h"

namespace keelson::connectors::shipbob {

class ShipBobProvider final : public FulfillmentProvider {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  ShipBobProvider(ShipBobOptions options, net::HttpClient& http);

  std::string_view name() const override { return options_.name; }

  // Creates the ShipBob order for the segment (reference_id = segment id). provider_id is
  // ShipBob's order id. With verify_first, an order already holding the reference is returned
  // (already_existed) and nothing is sent; a 422 from the create is looked up the same way.
  // A transport failure on the POST keeps its code (kUnavailable / kDeadlineExceeded): the order
  // may exist, and the retry (with verify_first) finds it.
  absl::StatusOr<ReleaseResult> Release(const ReleaseRequest& request,
                                        const ReleaseOptions& options) override;

  // The order holding `segment_id` as its reference_id in this channel, if any.
  absl::StatusOr<std::optional<OrderRef>> FindOrder(std::string_view segment_id);

  // Verifies and parses one webhook delivery. `headers` as received (names case-insensitive),
  // `body` the raw bytes: the signature is over them, so do not re-serialise.
  //   - signature: webhook-signature "v1,<base64>" entries (any may match) over
  //     "{webhook-id}.{webhook-timestamp}.{body}" with HMAC-SHA256 keyed by the secret's base64
  //     part; kUnauthenticated when missing or wrong, or when webhook-timestamp is further than
  //     webhook_tolerance from now. kFailedPrecondition when no secret is configured.
  //   - x-webhook-topic order.shipped: the order's shipped shipments (see ShipmentsFromJson);
  //     other topics: an empty vector (acknowledge and ignore).
  //   - kInvalidArgument for a body that is not the JSON of an order or a shipment.
  // Shipment::shipment_id is ShipBob's shipment id: a redelivery (same webhook-id, or the same
  // shipment in a later event) yields the same ids, so the flow applies it once.
  absl::StatusOr<std::vector<Shipment>> ParseShipmentWebhook(const Headers& headers,
                                                             std::string_view body) const;

  // One page of per-SKU, per-fulfillment-center levels (on hand, committed, fulfillable,
  // awaiting). `page` is "" for the first page, then the previous page's next_page.
  absl::StatusOr<InventoryPage> ListInventoryLevels(std::string_view page);

  const ShipBobOptions& options() const { return options_; }

 private:
  const ShipBobOptions options_;
  Client client_;
};

// The webhook-id header of a delivery ("" when absent): ShipBob keeps it across retries of the
// same message, so the intake can use it as its dedupe key.
std::string WebhookId(const ShipBobProvider::Headers& headers);

}  // namespace keelson::connectors::shipbob
