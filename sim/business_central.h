#pragma once
// An in-process simulator of the Business Central online API v2.0 and of the Microsoft identity
// platform's client-credentials token endpoint, for tests, the demo and load benches. It serves
//
//   POST /{tenant}/oauth2/v2.0/token                        OAuth2 client credentials (form body)
//   GET  /v2.0/{tenant}/{env}/api/v2.0/companies
//   {api}/companies({id})/customers        GET ($filter), POST     customers({id}) GET
//   {api}/companies({id})/items            GET ($filter, paging)   items({id})     GET
//   {api}/companies({id})/salesOrders      GET ($filter, $expand), POST (deep insert of lines)
//   {api}/companies({id})/salesOrders({id})                         GET, PATCH, DELETE
//   {api}/companies({id})/salesOrders({id})/salesOrderLines         GET
//   {api}/companies({id})/salesOrders({id})/salesOrderLines({id})   GET, PATCH (shipQuantity
//                                                                   also on a released order)
//   {api}/companies({id})/salesOrders({id})/Microsoft.NAV.shipAndInvoice   POST (bound action)
//   {api}/companies({id})/salesShipments   GET ($filter, $expand=salesShipmentLines)
//   {api}/companies({id})/salesShipments({id})[/salesShipmentLines]   GET
//
// with BC's entity shapes (@odata.etag, id GUIDs, number series "C00010", "S-ORD101001"), its
// error body {"error":{"code","message"}}, If-Match on PATCH/DELETE (412 on a stale etag),
// Code fields upper-cased and length-checked (externalDocumentNumber is Code[35]), bearer
// tokens that expire, and BC's per-user throttling: a sliding window of `requests_per_window`
// per `window` and `max_concurrent` requests processed at once (further requests wait in a queue
// of `max_queue`, then 429). A 429 carries no Retry-After, as BC's does not; the injected 503s
// carry one. Shipping: each line's shipQuantity ("Qty. to Ship") starts at the outstanding
// quantity, may be PATCHed (never above what is outstanding: 400 Application_DialogException
// "You cannot ship more than N units."), and shipAndInvoice posts it as one sales shipment,
// invoices what is shipped, re-initialises shipQuantity to the new outstanding quantity, and
// deletes an order left completely shipped and invoiced, as BC's posting does (its posted
// shipments stay readable under salesShipments, by externalDocumentNumber). The list of what is
// modelled and the sources is in src/connectors/erp/business_central/README.md.
//
// Test hooks (thread-safe C++ accessors) and the same under /_sim/ over HTTP (JSON, no auth, not
// counted), so the simulator can run standalone:
//   GET  /_sim/stats                              counters (see Stats)
//   POST /_sim/items      {"number","displayName","unitPrice"}
//   POST /_sim/items/inventory {"number","inventory","posted":false}   see SetItemInventory
//   POST /_sim/accounts   {"number","displayName"}
//   GET  /_sim/salesOrders?externalDocumentNumber=REF   {"count","lines","status"}
//   POST /_sim/salesOrders/status {"externalDocumentNumber","status"}   Sales Header status
//   POST /_sim/salesOrders/ship   {"externalDocumentNumber"}            ships every line
//                                                   (without posting or invoicing)
//   GET  /_sim/customers?email=E                  {"count"}
//   POST /_sim/faults {"fail_next":N,"status":503,"drop_next_order_create":true,
//                      "drop_next_ship_and_invoice":true,
//                      "latency_ms":20,"latency_jitter_ms":10,"revoke_tokens":true,
//                      "outage":true,"outage_mode":"503"|"close",
//                      "throttle_429_next":N,"throttle_429_ms":MS,
//                      "reset_probability":0.1,"drop_after_commit_probability":0.1,
//                      "seed":N,"clear":true}
//   ("clear" first clears every fault, then the other keys of the same body apply.)
//
// Chaos faults (for resilience tests and benches), checked in this order for every API request,
// before authentication and throttling; the token endpoint and /_sim are never affected:
//   outage        every request answered 503 with a BC error body (code "ServiceUnavailable")
//                 and Retry-After, as the front end answers while the environment is down for
//                 maintenance; or, in OutageMode::kClose, the connection is closed unanswered.
//   reset         with a probability, the connection is closed before the request is processed
//                 (nothing is committed).
//   fail_next     the next N requests answered with a status (FailNextRequests).
//   429 storm     the next N requests, or every request until a deadline of Options::clock,
//                 answered 429 {"error":{"code":"Application_TooManyRequests"}} without
//                 Retry-After.
// and, after processing: drop-after-commit (a successful salesOrders POST commits, then the
// connection is closed unanswered) with a probability, and latency with uniform jitter. The
// probabilities and the jitter draw from one RNG seeded by Options::seed (SeedFaults), so a run
// with the same seed and the same request order injects the same faults.
//
// Start it standalone: BusinessCentralSim sim({.port = 8089}); sim.Start(); then point Keelson's
// erp.url at sim.base_url() and erp.auth.token_url at sim.token_url() with the options'
// client_id / client_secret.
//
// Thread-safety: every public method is thread-safe. Ownership: owns its server and threads;
// `clock` is borrowed and must outlive the simulator.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "model/money.h"

namespace keelson::sim {

class BusinessCentralSim {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = any free port; see port()
    std::string tenant = "keelson-sim";
    std::string environment = "production";
    std::string company_id = "5d115c9c-44e3-ea11-bb43-000d3a2feca1";
    std::string company_name = "CRONUS Keelson Sim";
    std::string client_id = "keelson-sim-client";
    std::string client_secret = "keelson-sim-secret";
    std::string scope = "https://api.businesscentral.dynamics.com/.default";
    absl::Duration token_lifetime = absl::Seconds(3599);
    // BC online, per user: 6,000 requests in a 5-minute sliding window; 5 processed at once.
    int64_t requests_per_window = 6000;
    absl::Duration window = absl::Minutes(5);
    int max_concurrent = 5;
    // Requests beyond max_concurrent wait in a queue of this size; past it, 429. BC online queues
    // up to 95; 0 answers 429 as soon as max_concurrent are being processed.
    int max_queue = 0;
    // Added processing time per API request (the response is held, not the I/O thread).
    absl::Duration latency = absl::ZeroDuration();
    // Retry-After on injected 503s.
    absl::Duration retry_after = absl::Seconds(1);
    int threads = 2;
    // Seeds the fault RNG (reset and drop-after-commit probabilities, latency jitter).
    uint64_t seed = 1;
    // Token expiry and the throttling window read this clock. Never null.
    core::Clock* clock = core::Clock::Real();
    // G/L accounts that "Account" lines may name.
    std::vector<std::pair<std::string, std::string>> accounts = {{"6610", "Shipping charges"},
                                                                 {"6620", "Fees and surcharges"}};
  };

  struct Stats {
    int64_t requests = 0;  // API requests received (token and /_sim requests excluded)
    int64_t admitted = 0;  // of those, passed auth and throttling and were processed
    int64_t answered_401 = 0;
    int64_t answered_429 = 0;
    int64_t answered_503 = 0;    // injected (FailNextRequests and outage)
    int64_t dropped = 0;         // creates committed, answer withheld (drop-after-commit)
    int64_t outage_503 = 0;      // of answered_503: during an outage
    int64_t outage_closed = 0;   // connections closed unanswered in an OutageMode::kClose outage
    int64_t resets = 0;          // connections closed before processing (reset probability)
    int64_t storm_429 = 0;       // of answered_429: injected by a 429 storm
    int64_t delayed = 0;         // answers held back by latency (with or without jitter)
    int64_t token_requests = 0;  // POSTs to the token endpoint, granted or not
    int64_t tokens_issued = 0;
    int64_t orders_created = 0;
    int64_t shipments_posted = 0;  // sales shipments posted by shipAndInvoice
    int64_t customers_created = 0;
    int max_in_flight = 0;  // highest number of requests processed at once
  };

  explicit BusinessCentralSim(Options options);
  BusinessCentralSim() : BusinessCentralSim(Options{}) {}
  ~BusinessCentralSim();
  BusinessCentralSim(const BusinessCentralSim&) = delete;
  BusinessCentralSim& operator=(const BusinessCentralSim&) = delete;

  absl::Status Start();
  // Stops serving; pending delayed or queued answers are dropped. Idempotent.
  void Stop();
  uint16_t port() const;
  // The API root, e.g. "http://127.0.0.1:PORT/v2.0/{tenant}/production/api/v2.0".
  std::string base_url() const;
  // "http://127.0.0.1:PORT/{tenant}/oauth2/v2.0/token".
  std::string token_url() const;
  // Keelson's `erp:` section for this simulator (YAML): url, company, OAuth client, the G/L
  // accounts for shipping (6610) and fees (6620). The caller may add keys indented by two, such
  // as `  limits: {...}`. For tests, benchmarks and the demo.
  std::string KeelsonErpYaml() const;
  const Options& options() const;

  // --- Data ---
  // Adds (or re-prices) an item; `number` is stored upper-cased. Returns the item id.
  std::string AddItem(std::string_view number, std::string_view display_name,
                      const model::Money& unit_price);
  // How an item's inventory changed. In BC `items.inventory` is the Inventory FlowField (the sum
  // of the item ledger entries) and `lastModifiedDateTime` the Item record's SystemModifiedAt:
  // posting a journal or a shipment adds ledger entries and leaves the record alone, while a
  // PATCH of `inventory` through the API (which posts an adjustment and then modifies the record)
  // moves it.
  enum class InventoryChange {
    kModify,  // the record is modified too: lastModifiedDateTime moves (the API's PATCH)
    kPost,    // only ledger entries: lastModifiedDateTime stays (journals, shipments, receipts)
  };
  // Sets the item's inventory (total over all locations). False when there is no such item.
  bool SetItemInventory(std::string_view number, double inventory,
                        InventoryChange how = InventoryChange::kModify);
  void SetItemBlocked(std::string_view number, bool blocked);
  void AddAccount(std::string_view number, std::string_view display_name);
  // Sales orders whose externalDocumentNumber equals `reference` (case-insensitive).
  int64_t CountSalesOrders(std::string_view reference) const;
  // {externalDocumentNumber (as stored, upper-cased), number} of every sales order, in creation
  // order: one pass for tests and benches that count thousands of references.
  std::vector<std::pair<std::string, std::string>> SalesOrderReferences() const;
  // Lines of the first such order; -1 when there is none.
  int64_t SalesOrderLineCount(std::string_view reference) const;
  // Customers whose email equals `email` (case-insensitive).
  int64_t CountCustomers(std::string_view email) const;
  // Sets the Sales Header status of the first order with that reference: "Open", "Released",
  // "Pending Approval" or "Pending Prepayment" (the API shows them as Draft, Open, In Review,
  // Open). False when there is no such order or status.
  bool SetOrderStatus(std::string_view reference, std::string_view status);
  // Ships every line in full (shippedQuantity = quantity) and releases the order.
  bool MarkShipped(std::string_view reference);
  // The order as GET salesOrders({id})?$expand=salesOrderLines would show it.
  std::optional<nlohmann::json> SalesOrderJson(std::string_view reference) const;
  // Shipping state of each line of the order with that reference (also after posting deleted
  // it), in line order; empty when there is none.
  struct ShippedLine {
    std::string line_type;  // Item | Account | Comment
    std::string number;     // lineObjectNumber
    double quantity = 0, shipped = 0, to_ship = 0, invoiced = 0;
  };
  std::vector<ShippedLine> ShippedLines(std::string_view reference) const;
  // Posted sales shipments whose externalDocumentNumber equals `reference`.
  int64_t PostedShipmentCount(std::string_view reference) const;
  // True when posting deleted the order (completely shipped and invoiced).
  bool SalesOrderDeleted(std::string_view reference) const;

  // --- Faults ---
  enum class OutageMode {
    k503,    // answered 503 with BC's error body and Retry-After (Options::retry_after)
    kClose,  // the connection is accepted, the request read, and closed without an answer
  };
  // The next successful salesOrders POST commits, then the connection is closed unanswered.
  void DropResponseAfterNextOrderCreate();
  // The next successful shipAndInvoice posts, then the connection is closed unanswered.
  void DropResponseAfterNextShipAndInvoice();
  // The next `n` API requests are answered with `status` (503 carries Retry-After).
  void FailNextRequests(int n, int status = 503);
  void SetLatency(absl::Duration latency);
  // Latency plus a uniform random extra in [0, jitter).
  void SetLatency(absl::Duration latency, absl::Duration jitter);
  // While on, every API request fails as `mode` says. Off restores normal service.
  void SetOutage(bool on, OutageMode mode = OutageMode::k503);
  // The next `n` API requests are answered 429 Application_TooManyRequests (no Retry-After).
  void Throttle429Next(int n);
  // Every API request until Options::clock reaches now + `d` is answered so.
  void Throttle429For(absl::Duration d);
  // Each API request's connection is closed before processing with probability `p` (0..1).
  void SetResetProbability(double p);
  // Each successful salesOrders POST commits and then loses its answer with probability `p`.
  void SetDropAfterCommitProbability(double p);
  // Re-seeds the fault RNG.
  void SeedFaults(uint64_t seed);
  // Ends every fault above (outage, storms, resets, drops, fail_next, latency back to
  // Options::latency); tokens stay as they are.
  void ClearFaults();
  // Every issued token stops being accepted (401), as after a secret rotation.
  void RevokeTokens();

  Stats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace keelson::sim
