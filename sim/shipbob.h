#pragma once
// An in-process simulator of ShipBob's public API, version 2026-01, for tests, the demo and load
// benches. It serves (paths under /2026-01, JSON, snake_case fields as ShipBob's OpenAPI spec
// names them):
//
//   GET  /2026-01/channel                         the channels the token may use
//   POST /2026-01/order                           Create Order (shipbob_channel_id required)
//   GET  /2026-01/order?ReferenceIds=&IDs=&Page=&Limit=   Get Orders (array; `next-page` header)
//   GET  /2026-01/order/{orderId}                 Get Order (with its shipments)
//   GET  /2026-01/order/{orderId}/shipment        the order's shipments
//   GET  /2026-01/shipment/{shipmentId}           Get Shipment
//   GET  /2026-01/inventory-level                 Get All Inventory Levels (paged: items/next)
//   GET  /2026-01/inventory-level/locations       ... Grouped By Fulfillment Center
//
// and, as ShipBob does, POSTs `order.shipped` webhooks (Standard Webhooks headers: webhook-id,
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>", x-webhook-topic) to a target
// URL when an order's shipment gets its label. What is modelled, what is assumed and the sources
// are in src/connectors/fulfillment/shipbob/README.md.
//
// Behaviour:
//   - Auth: `Authorization: Bearer <Options::token>` (a Personal Access Token); otherwise 401.
//   - Channels: POST /order needs `shipbob_channel_id` (400 without, 403 for a channel the token
//     does not have); GETs filter by it when it is sent.
//   - reference_id is unique per channel: a second create answers 422
//     {"reference_id":["..."]} and creates nothing. Error bodies are ShipBob's documented shape:
//     an object of field name -> array of messages.
//   - Products are matched by reference_id (the SKU); an unknown one with a name is created, as
//     ShipBob does; without a name it is a 400. An inactive product is a 422 business refusal.
//   - Each order gets one shipment ("Processing") at the first fulfillment center that can fill
//     it; its quantities are committed there. Shipping (ShipOrder) turns all of it, or a split
//     of some lines, into a shipment with tracking ("LabeledCreated"), takes the units off hand
//     and fires the webhook. Order status: Processing, PartiallyFulfilled, Fulfilled.
//   - Rate limit: a sliding window of `requests_per_minute` per token; every API answer carries
//     `x-remaining-calls`; past it, 429 with `x-retry-after: <seconds>` and the documented body
//     {"statusCode":429,"message":"Rate limit is exceeded. Try again in N seconds."}.
//
// Test hooks (thread-safe C++ accessors) and the same under /_sim/ over HTTP (JSON, no auth, not
// counted), so the simulator can run standalone:
//   GET  /_sim/stats                                 counters (see Stats)
//   POST /_sim/products  {"reference_id","name","active":true,
//                         "inventory":[{"fulfillment_center_id":228,"on_hand":10}]}
//   POST /_sim/inventory {"reference_id","fulfillment_center_id","on_hand"}
//   GET  /_sim/orders?reference_id=R[&channel_id=C]  the order as Get Order shows it (404 if none)
//   POST /_sim/ship      {"reference_id","channel_id"(optional),"lines":[{"sku","quantity"}]
//                         (absent: everything still unshipped),"carrier","carrier_service",
//                         "tracking_number","tracking_url"}
//                         -> {"order_id","shipment_id","webhook_id","webhook_status"}
//   POST /_sim/reject_next_create {"sku":"X","message":"...","status":422}
//   POST /_sim/webhooks  {"url":"http://..."}        where webhooks go ("" stops them)
//   POST /_sim/webhooks/redeliver {"webhook_id":"msg_..."}  the same delivery again
//   POST /_sim/faults    {"fail_next":N,"status":503,"latency_ms":20,
//                         "drop_next_order_create":true,"throttle_429_next":N,
//                         "retry_after_s":25,"clear":true}
//   ("clear" first clears every fault, then the other keys of the same body apply.)
//
// Faults, checked in this order for every API request before auth: fail_next (the next N
// requests answered with `status`, 5xx bodies {"message"}), throttle_429_next (the next N
// requests answered 429 with x-retry-after: retry_after_s); after processing: drop-after-commit
// (the next successful POST /order commits, then the connection is closed unanswered) and
// latency.
//
// Thread-safety: every public method is thread-safe; webhooks are sent without holding the lock.
// Ownership: owns its server and threads; `clock` is borrowed and must outlive the simulator.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"

namespace keelson::sim {

class ShipBobSim {
 public:
  struct Channel {
    int64_t id = 0;
    std::string name;
  };
  struct FulfillmentCenter {
    int64_t id = 0;
    std::string name;
  };
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = any free port; see port()
    std::string api_version = "2026-01";
    // The Personal Access Token the simulator accepts, and the channels it may use.
    std::string token = "keelson-sim-pat";
    std::vector<Channel> channels = {{100102, "Keelson (API)"}};
    std::vector<FulfillmentCenter> fulfillment_centers = {{228, "Moreno Valley (CA)"},
                                                          {10, "Cicero (IL)"}};
    // ShipBob: 150 requests per minute, sliding window, per user and application.
    int64_t requests_per_minute = 150;
    // Where order.shipped goes; "" sends nothing (SetWebhookUrl changes it).
    std::string webhook_url;
    // The subscription's signing secret: "whsec_" + base64 of the key bytes.
    std::string webhook_secret = "whsec_a2VlbHNvbi1zaW0td2ViaG9vay1rZXktMDE=";
    absl::Duration webhook_timeout = absl::Seconds(5);
    // Default page sizes: Get Orders (ShipBob: 50, at most 250) and the inventory levels.
    int orders_page_size = 50;
    int inventory_page_size = 100;
    // Added processing time per API request (the answer is held, not the I/O thread).
    absl::Duration latency = absl::ZeroDuration();
    int threads = 2;
    // Timestamps, webhook-timestamp and the rate window read this clock. Never null.
    core::Clock* clock = core::Clock::Real();
  };

  struct Stats {
    int64_t requests = 0;  // API requests received (/_sim excluded)
    int64_t answered_401 = 0;
    int64_t answered_429 = 0;       // window exceeded or injected
    int64_t injected_failures = 0;  // fail_next answers
    int64_t create_attempts = 0;    // POST /order admitted (past auth, channel and rate limit)
    int64_t orders_created = 0;
    int64_t duplicates_refused = 0;  // 422 for a reference_id already used in the channel
    int64_t rejected_creates = 0;    // 422 business refusals (inactive product, injected)
    int64_t invalid_creates = 0;     // 400 validation errors
    int64_t order_lookups = 0;       // GET /order and GET /order/{id}
    int64_t dropped = 0;             // creates committed, answer withheld
    int64_t shipments_shipped = 0;
    int64_t webhooks_sent = 0;    // deliveries answered 2xx
    int64_t webhooks_failed = 0;  // deliveries not answered 2xx (or not answered)
  };

  struct ShipLine {
    std::string sku;
    int64_t quantity = 0;
  };
  struct ShipRequest {
    std::string reference_id;
    int64_t channel_id = 0;       // 0: the first order with that reference in any channel
    std::vector<ShipLine> lines;  // empty: everything still unshipped
    std::string carrier = "USPS";
    std::string carrier_service = "Ground Advantage";
    std::string tracking_number;  // "" = generated
    std::string tracking_url;     // "" = generated from the number
  };
  struct ShipResult {
    int64_t order_id = 0;
    int64_t shipment_id = 0;
    std::string webhook_id;  // "" when no webhook URL is set
    int webhook_status = 0;  // the target's HTTP status; 0 if not sent or not answered
  };
  struct WebhookDelivery {
    std::string id;  // webhook-id ("msg_...")
    std::string topic;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // as sent
    int status = 0;  // last answer's status; 0 = not answered
    int attempts = 0;
  };
  struct StockLevel {
    int64_t fulfillment_center_id = 0;
    int64_t on_hand = 0;
    int64_t committed = 0;
    int64_t fulfillable = 0;  // max(0, on_hand - committed)
  };

  explicit ShipBobSim(Options options);
  ShipBobSim() : ShipBobSim(Options{}) {}
  ~ShipBobSim();
  ShipBobSim(const ShipBobSim&) = delete;
  ShipBobSim& operator=(const ShipBobSim&) = delete;

  absl::Status Start();
  // Stops serving; delayed answers are dropped. Idempotent.
  void Stop();
  uint16_t port() const;
  // The API root, "http://127.0.0.1:PORT/2026-01".
  std::string base_url() const;
  // "http://127.0.0.1:PORT".
  std::string origin() const;
  const Options& options() const;

  // --- Data ---
  // Adds (or renames, re-activates) a product with its reference_id; returns its inventory_id.
  int64_t AddProduct(std::string_view reference_id, std::string_view name, bool active = true);
  void SetProductActive(std::string_view reference_id, bool active);
  // Sets on-hand units of a product at a fulfillment center. False if there is no such product
  // or fulfillment center.
  bool SetOnHand(std::string_view reference_id, int64_t fulfillment_center_id, int64_t on_hand);
  // Per fulfillment center, in Options order, of those that hold the product.
  std::vector<StockLevel> Stock(std::string_view reference_id) const;
  // Orders with this reference_id in any channel.
  int64_t CountOrders(std::string_view reference_id) const;
  int64_t OrderCount() const;
  // The order as Get Order shows it; channel 0 = any.
  std::optional<nlohmann::json> OrderJson(std::string_view reference_id,
                                          int64_t channel_id = 0) const;
  // Ships lines of an order and fires order.shipped (synchronously, outside the lock).
  // kNotFound without such an order, kFailedPrecondition when a line asks more than unshipped.
  absl::StatusOr<ShipResult> ShipOrder(const ShipRequest& request);

  // --- Webhooks ---
  void SetWebhookUrl(std::string url);
  std::vector<WebhookDelivery> WebhookDeliveries() const;
  // Sends a delivery again with the same webhook-id and body (a fresh timestamp and signature,
  // as a retry would). kNotFound for an unknown id.
  absl::StatusOr<int> RedeliverWebhook(std::string_view webhook_id);

  // --- Faults ---
  // The next create answers `status` (422 by default) {"products[i].reference_id":[message]}
  // naming the product `sku` (or {"order":[message]} if the order has no such line).
  void RejectNextCreate(std::string sku, std::string message, int status = 422);
  // The next `n` API requests are answered with `status`.
  void FailNextRequests(int n, int status = 503);
  // The next `n` API requests are answered 429 with x-retry-after: `retry_after`.
  void Throttle429Next(int n, absl::Duration retry_after = absl::Seconds(25));
  // The next successful POST /order commits, then the connection is closed unanswered.
  void DropResponseAfterNextOrderCreate();
  void SetLatency(absl::Duration latency);
  void ClearFaults();

  Stats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace keelson::sim
