#pragma once
// An in-process simulator of Odoo's external API, for tests, the demo and benchmarks.
//
// What it serves (vendor docs cited in src/connectors/erp/odoo/README.md):
//   POST /jsonrpc            JSON-RPC 2.0 {"method":"call","params":{"service","method","args"}}
//                            services `common` (version, login, authenticate) and `object`
//                            (execute_kw, execute). Every version.
//   POST /json/2/<model>/<method>   the External JSON-2 API, only when Options::version >= 19:
//                            `Authorization: bearer <api key>`, named arguments plus `ids` and
//                            `context` in a JSON object body, errors as HTTP 4xx/5xx.
//   GET  /web/version        {"version_info": [...], "version": "19.0"}, only for >= 19.
//   /_sim/...                admin endpoints for standalone use (see below); never counted as
//                            requests and never subject to injected faults.
//
// Models: res.partner, res.country (seeded with a few ISO codes), product.product, sale.order,
// sale.order.line, stock.location (seeded: WH/Stock internal, Partners/Customers customer),
// stock.lot, stock.quant, stock.picking and stock.move, with the ORM methods search,
// search_read, search_count, read, create, write, sale.order's action_confirm / action_cancel
// and stock.picking's button_validate. Confirming an order creates its delivery (one outgoing
// picking, a move per goods line, reserved in full: 17+ `quantity` = demand); validating it does
// the picked quantities and puts the rest in a backorder picking (`backorder_id`), or returns the
// stock.backorder.confirmation wizard unless the context has `skip_backorder` (see
// ButtonValidate in odoo.cc); sale.order.line.qty_delivered sums the done moves. Domains support
// '&', '|', '!', the term operators =, !=, <, <=, >, >=, in, not in, like, ilike, =like, =ilike,
// not like, not ilike (SQL LIKE semantics: '%' and '_' wildcards, backslash escapes) and paths
// through a many2one ("location_id.usage"). A many2one reads as [id, display name]; a location's
// display name is its complete_name. Datetimes (stock.quant.write_date) are strings "YYYY-MM-DD
// HH:MM:SS" in UTC, as Odoo's JSON answers carry them.
//
// Version differences it mimics: moves have `quantity_done` up to 16 and `quantity` + `picked`
// from 17 (16 also answers the immediate-transfer wizard when nothing is done and the context
// lacks `skip_immediate`); up to 16 a sale order can be in state 'done' ("Locked"); from
// 17 on 'done' is gone and locking is the boolean field `locked` (reading `locked` on 16 is a
// ValueError). action_cancel on a non-draft order returns the `sale.order.cancel` wizard action
// instead of cancelling, unless the context carries `disable_cancel_warning: true`. JSON-RPC
// errors carry error.code 200 up to 18 and 0 from 19 on, as Odoo's http.py does.
//
// Standalone use:
//   keelson::sim::OdooSim sim({.port = 8069, .version = "19.0"});
//   sim.Start();  // then point the hub's erp.url at sim.url()
// Admin endpoints (JSON bodies and answers):
//   POST /_sim/products            {"default_code","name","list_price"} -> {"id"}
//   POST /_sim/quants              {"default_code","location","quantity","reserved_quantity",
//                                   "lot"} -> {"id"}   (see SetQuant; write_date = now)
//   GET  /_sim/sale_orders?client_order_ref=R  -> {"count","lines","state","locked"}
//   POST /_sim/sale_orders/state   {"client_order_ref","state"}   ("done" locks on 17+)
//   GET  /_sim/partners?email=E    -> {"count"}
//   POST /_sim/faults              {"drop_response_after_next_order_create":true,
//                                   "drop_response_after_next_validate":true,
//                                   "fail_next_requests":N,"status":503,"retry_after":S,
//                                   "latency_ms":MS}
//   POST /_sim/uid                 {"uid":N}  (the API user's id changes; cached uids go stale)
//   GET  /_sim/stats               request counters
//
// Thread-safety: every public method is thread-safe. Internally the simulated ORM raises a
// C++ exception the way Odoo raises Python ones; it is always caught at the request edge.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/http_server.h"

namespace keelson::sim {

class OdooSim {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = any free port; see port()
    std::string database = "keelson";
    std::string login = "admin";
    std::string password = "admin";
    std::string api_key = "sim-odoo-api-key";  // also accepted in place of the password (RPC)
    std::string version = "17.0";              // server_version; "19.0" enables /json/2
    int threads = 4;
  };

  struct Stats {
    int64_t requests = 0;            // every non-admin request, including failed ones
    int64_t jsonrpc_requests = 0;    // POST /jsonrpc
    int64_t json2_requests = 0;      // POST /json/2/...
    int64_t version_calls = 0;       // common.version and GET /web/version
    int64_t authenticate_calls = 0;  // common.authenticate and common.login
    int64_t injected_failures = 0;   // answered by FailNextRequests / FailNextCall
    int64_t dropped_responses = 0;   // DropResponseAfterNextOrderCreate / ...NextValidate
  };

  OdooSim();
  explicit OdooSim(Options options);
  ~OdooSim();
  OdooSim(const OdooSim&) = delete;
  OdooSim& operator=(const OdooSim&) = delete;

  absl::Status Start();
  void Stop();
  uint16_t port() const;
  std::string url() const;  // "http://host:port"
  const Options& options() const { return options_; }
  int major_version() const { return major_; }

  // --- Seeding and inspection -----------------------------------------------------------
  // Adds a sellable product.product; returns its id.
  int64_t AddProduct(std::string_view default_code, std::string_view name, double list_price);
  // A stock.location with that complete_name (created when missing) and usage ("internal",
  // "customer", "supplier", "transit", "view", ...); returns its id.
  int64_t AddLocation(std::string_view complete_name, std::string_view usage = "internal");
  // Sets the quant of the product with `default_code` at the location with that complete_name
  // (created as internal when missing) and lot (none when empty): quantity, reserved_quantity
  // and write_date = `at` (now when unset), as a stock move's ORM write does. Returns the quant's
  // id; -1 when no product has that default_code.
  int64_t SetQuant(std::string_view default_code, std::string_view location, double quantity,
                   double reserved_quantity = 0, std::optional<absl::Time> at = std::nullopt,
                   std::string_view lot = "");
  // Sale orders whose client_order_ref equals `ref` case-insensitively.
  int64_t CountSaleOrders(std::string_view client_order_ref);
  // Lines of the first (lowest id) such order; -1 when there is none.
  int64_t SaleOrderLineCount(std::string_view client_order_ref);
  // Partners whose email equals `email` case-insensitively (partners without email never match).
  int64_t CountPartners(std::string_view email);
  // The first order / partner as a raw record (many2one as ids), for assertions.
  std::optional<nlohmann::json> SaleOrder(std::string_view client_order_ref);
  std::optional<nlohmann::json> Partner(std::string_view email);
  // Lines of the first order with that reference, raw records in id order.
  nlohmann::json SaleOrderLines(std::string_view client_order_ref);
  // Delivered units (sale.order.line.qty_delivered) of the product with `default_code` on the
  // first order with that reference.
  double QtyDelivered(std::string_view client_order_ref, std::string_view default_code);
  // The order's pickings (raw records, with a "moves" array of raw stock.move records), by id.
  nlohmann::json Pickings(std::string_view client_order_ref);
  // Sets the state of every order with that reference: draft, sent, sale, cancel, or done.
  // "done" is state 'done' up to 16 and state 'sale' + locked on 17+. False when none matched.
  bool SetOrderState(std::string_view client_order_ref, std::string_view state);
  // Changes the API user's id, as a database restore could: uids cached by clients go stale
  // and their object calls fail with AccessDenied until they authenticate again.
  void SetUid(int64_t uid);

  // --- Faults (each applies to the next matching request only) -------------------------
  // The next sale.order create commits, then the connection is closed without an answer.
  void DropResponseAfterNextOrderCreate();
  // The next successful stock.picking button_validate commits, then the connection is closed.
  void DropResponseAfterNextValidate();
  // The next `n` requests are answered with `http_status` (an HTML error page, as a proxy in
  // front of Odoo would send) and, when retry_after_seconds > 0, a Retry-After header.
  void FailNextRequests(int n, int http_status, int retry_after_seconds = 0);
  // The next call of model.method (either protocol) fails with `http_status` before running.
  void FailNextCall(std::string_view model, std::string_view method, int http_status);
  // Every request waits this long before it is handled (zero to turn off).
  void SetLatency(absl::Duration latency);

  // --- Counters -------------------------------------------------------------------------
  Stats stats();
  // Calls of model.method that reached the ORM (after auth and fault injection).
  int64_t CallCount(std::string_view model, std::string_view method);

 private:
  struct Impl;
  net::Router BuildRouter();

  Options options_;
  int major_ = 0;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace keelson::sim
