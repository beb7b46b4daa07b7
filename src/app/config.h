#pragma once
// Typed Keelson configuration loaded from YAML.
//
// Contract:
// - ParseConfig/LoadConfigFile never throw. They return the decoded Config plus *every* problem
//   found (unknown keys, wrong types, failed validation, unset environment variables), each
//   tagged with the full key path ("server.listen", "stores[1].id", ...). A YAML syntax error
//   yields a single error with an empty path and the line/column in the message. When
//   `errors` is non-empty the Config is partially filled and must not be used.
// - Every section and key is optional (defaults below) except `stores`, which needs at least one
//   entry with a valid `id`, an http(s) `url` and a non-empty `webhook_secret`. A key whose
//   value is null (`key:` or `key: ~`) counts as absent.
// - `${VAR}` inside any scalar value is replaced through the EnvLookup before the value is typed;
//   `${VAR:-default}` uses `default` when VAR is unset or empty; `$${` is a literal `${`.
// - Secret values never appear in error messages, DebugString() or operator<<.
// Thread-safety: the functions are reentrant; `env` is called on the calling thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/fulfillment/edi/config.h"

namespace keelson::app {

// A secret value (password, API key, webhook secret): never printed. DebugString() and
// operator<< give "***", or "" when the secret is empty.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string v) : value_(std::move(v)) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::string DebugString() const { return value_.empty() ? "" : "***"; }

 private:
  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const Secret& secret);

// One configuration problem. `path` is the dotted key path, e.g. "erp.limits.concurrency" or
// "stores[0].webhook_secret"; empty for problems with the document as a whole.
struct ConfigError {
  std::string path;
  std::string message;  // e.g. "must be > 0"
};

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// EnvLookup backed by the process environment (getenv).
std::optional<std::string> ProcessEnv(const std::string& name);

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // host:port; "[::1]:8080" for IPv6; port 0 = any free
  std::string host = "127.0.0.1";         // parsed from `listen` (brackets removed)
  uint16_t port = 8080;                   // parsed from `listen`
  int64_t body_limit_bytes = 4 * 1024 * 1024;  // 1024 .. 1 GiB
  int io_threads = 0;                          // 0 = hardware concurrency
  int64_t request_timeout_ms = 30000;          // > 0
};

struct StorageConfig {
  std::string engine = "sqlite";        // sqlite | postgres
  std::string path = "var/keelson.db";  // required for sqlite
  Secret dsn;                           // required for postgres
  int pool_size = 8;                    // postgres: connections per process, > 0
  int group_commit_max_batch = 1024;    // > 0
  int64_t busy_timeout_ms = 5000;       // >= 0
  // sqlite: webhook deliveries go to an fsync'd append-only journal first and into the store
  // right after (store/intake_journal.h); the directory defaults to `<path>.intake`. Not used
  // with postgres (every node writes the shared store directly).
  bool intake_journal = true;
  std::string intake_journal_dir;
};

// The circuit breaker of one endpoint (net/endpoint.h): it opens after `consecutive_failures`
// technical failures in a row, or when `failure_ratio` of the last `window` calls failed; while
// open, the connector's jobs wait (uncounted) and nothing is sent; after `open_ms` one probe goes
// through; each failed probe doubles the open period up to `max_open_ms`.
struct BreakerConfig {
  bool enabled = true;
  int consecutive_failures = 5;  // > 0
  double failure_ratio = 0.5;    // (0, 1]
  int window = 20;               // > 0
  int64_t open_ms = 5000;        // > 0
  int64_t max_open_ms = 60000;   // >= open_ms
};

// Policy of one outbound endpoint (the ERP, each store's REST API). 0 = the connector type's
// default (see app/wiring.cc: Business Central 20 req/s and 5 at once, from its documented
// 6,000 requests per 5 minutes and 5 concurrent per user; Odoo 8 at once; WooCommerce 8 at once,
// no rate). Values given in the file must be > 0.
struct LimitsConfig {
  double requests_per_second = 0;
  double burst = 0;             // token-bucket depth in requests; 0 = one second's worth
  int concurrency = 0;
  int64_t timeout_ms = 30000;
  bool adaptive = true;         // halve the rate on 429, add it back on successes (AIMD)
  int64_t backoff_base_ms = 0;  // this connector's retry schedule; 0 = jobs.backoff_*
  int64_t backoff_cap_ms = 0;
  BreakerConfig breaker;
};

struct StoreConfig {
  std::string id;   // ^[a-z0-9][a-z0-9_-]{0,63}$, unique
  std::string url;  // http:// or https://
  Secret consumer_key;
  Secret consumer_secret;
  Secret webhook_secret;  // required
  LimitsConfig limits;    // its REST API (write-back, backfill)
};

struct ErpAuthConfig {
  std::string token_url;
  std::string client_id;
  Secret client_secret;
  std::string scope;
};

// Where order amounts that are not items go in the ERP. Business Central: G/L account numbers;
// Odoo: default_code of service products. Empty: BC parks an order with such an amount, Odoo
// writes it as a note line.
struct ErpMappingConfig {
  std::string shipping;
  std::string fees;
  std::string local_currency;  // BC: the company's LCY code, left off orders in that currency
};

struct ErpConfig {
  bool present = false;  // true when the `erp` section is given
  std::string type;      // business_central | odoo (required when present)
  std::string url;
  std::string company_id;  // business_central
  ErpAuthConfig auth;      // business_central (OAuth client credentials)
  std::string database;    // odoo
  std::string username;    // odoo
  Secret password;         // odoo
  Secret api_key;          // odoo
  std::string protocol = "auto";  // odoo: auto (by server version) | jsonrpc | json2
  ErpMappingConfig mapping;
  LimitsConfig limits;
};

// All values must be > 0; backoff_cap_ms >= backoff_base_ms.
struct JobsConfig {
  int workers = 8;
  int64_t lease_ms = 30000;
  int64_t poll_interval_ms = 200;
  int max_attempts = 12;
  int64_t backoff_base_ms = 1000;
  int64_t backoff_cap_ms = 600000;
  int64_t deadline_ms = 86400000;
  int64_t retention_hours = 168;
  // Workers per lane (bulkheads: each connector's jobs run on workers of their own, so a slow or
  // dead system holds only its own jobs). 0 = default: erp = the ERP's concurrency, woocommerce
  // = 4, core (ingest and local jobs) = `workers`.
  int lane_erp = 0;
  int lane_woocommerce = 0;
  int lane_core = 0;
};

// The order-to-cash flow (flows/order_to_cash.h) and the WooCommerce backfill poller.
struct OrderToCashConfig {
  // WooCommerce statuses that mean "paid: create the ERP order"; each one of processing,
  // completed, on-hold.
  std::vector<std::string> create_on = {"processing", "completed"};
  bool write_back = true;               // note + meta `_keelson_erp_ref` on the shop order
  int64_t backfill_interval_s = 300;    // 0 = no backfill polling
  int64_t backfill_overlap_s = 600;     // re-read this much before the high-water mark
  int64_t backfill_lookback_hours = 24; // how far back the first poll of a store reaches
};

// Sellable inventory (flows/inventory.h): which stores get stock levels, from which locations,
// by which allocation rule. Absent = no inventory sync.
struct InventoryChannelConfig {
  std::string store;                   // a configured store id (required)
  std::vector<std::string> locations;  // locations serving it, in reservation order (required)
  bool backorderable = false;          // inbound within the horizon counts; 0 shows onbackorder
  int64_t inbound_horizon_days = 0;    // >= 0
  int64_t percent = 100;               // share of the pooled ATS, 0..100
  int64_t cap = -1;                    // at most this many; -1 = no cap
  int64_t holdback = 0;                // units kept back for other channels
};

struct InventoryConfig {
  bool present = false;
  std::vector<InventoryChannelConfig> channels;
  int publish_batch = 1000;            // dirty SKUs per publish run, 1..1000
  int64_t reconcile_interval_s = 3600; // full comparison with the shop; 0 = off
  // Stock truth polled from the ERP (flows/erp_stock.h), when an `erp` is configured too.
  int64_t erp_poll_interval_s = 60;  // 0 = off
  int64_t erp_poll_overlap_s = 120;  // re-read this much before the high-water mark
  int64_t erp_full_scan_every = 10;  // every Nth poll reads every level; 0 = only the first
  // ERP location (Odoo "WH/Stock") -> Keelson location ("WH1"); no two to the same one.
  std::map<std::string, std::string, std::less<>> erp_locations;
  // Where an ERP that reports one total per item (Business Central) puts it; "" = nowhere.
  std::string erp_default_location;
};

// One place that ships (fulfillment.nodes[]); see model/fulfillment.h for routing.
struct FulfillmentNodeConfig {
  std::string id;                      // required, unique
  std::string kind = "warehouse";      // warehouse | 3pl | dropship
  std::string provider;                // required: erp (the own warehouse, through the ERP order)
                                       // | shipbob (fulfillment.shipbob)
                                       // | edi:<partner id> (fulfillment.edi.partners[])
  std::vector<std::string> locations;  // inventory locations it ships from
  std::vector<std::string> skus;       // SKU prefixes it serves; empty = all
  std::vector<std::string> regions;    // "US", "US-CA"; empty = everywhere
  int64_t priority = 100;              // lower is preferred
  int64_t cost = 0;                    // per segment, the tie-break
  bool untracked = false;              // ships without counted stock (drop-ship)
};

// fulfillment.shipbob: one ShipBob account (connectors/fulfillment/shipbob/README.md).
struct ShipBobConfig {
  bool present = false;
  std::string url = "https://api.shipbob.com/2026-01";
  Secret token;
  int64_t channel_id = 0;
  Secret webhook_secret;  // "whsec_…"
  std::string default_shipping_method = "Standard";
  std::string order_type = "DTC";  // DTC | DropShip | B2B
  LimitsConfig limits;
};

// fulfillment.edi: trading partners exchanging X12 4010 files over SFTP or a local folder
// (connectors/fulfillment/edi/README.md). Decoded straight into the connector's options.
struct EdiConfig {
  bool present = false;
  std::vector<connectors::edi::EdiPartnerOptions> partners;
};

struct FulfillmentConfig {
  bool present = false;
  std::vector<FulfillmentNodeConfig> nodes;
  ShipBobConfig shipbob;
  EdiConfig edi;
  // Backorder/preorder holds are looked at again when stock arrives, and every this often (a
  // safety net: stock that reaches a node without a stock event); 0 = only on arrival.
  int64_t hold_recheck_s = 600;
};

struct LogConfig {
  std::string level = "info";   // trace | debug | info | warn | error
  std::string format = "json";  // json | text
};

struct OpsKey {
  std::string name;    // required, unique
  std::string sha256;  // 64 lowercase hex chars of the key's SHA-256
  std::vector<std::string> scopes = {"ops"};  // ops (reads and actions) | ops:read (GETs only)
};

struct OpsConfig {
  std::vector<OpsKey> api_keys;
};

// One service-level rule: a condition on the state of a transaction and its age (sla.rules[]).
struct SlaRuleConfig {
  std::string name;         // required, unique: the alert's and the metric label's name
  std::string description;  // what an operator reads ("paid but not in the ERP after 5 min")
  // orders: shop orders in `status` with the ERP in `erp_state`, aged from their status change;
  // stock_publication: stock changes not yet published to a store, aged from the change;
  // jobs: queued jobs (of `kind`) waiting since they were enqueued;
  // dead_letters: dead letters (of `kind`) not replayed or discarded, aged from their death;
  // segments: fulfillment segments in `status` (segment states; default planned), aged from
  // their state change; shipments: shipments not yet posted to the ERP, aged from arrival.
  std::string subject;
  std::vector<std::string> status;     // orders: shop status slugs; segments: states; empty = any
  std::vector<std::string> erp_state;  // orders: none | pending | created | ...; empty = any
  std::string kind;                    // jobs, dead_letters: one job kind; "" = any
  int64_t older_than_s = 0;
};

struct SlaConfig {
  int64_t interval_s = 15;  // how often the rules are evaluated
  // The rules; when the key is absent, DefaultSlaRules(). An empty list disables them.
  std::vector<SlaRuleConfig> rules;
  bool rules_given = false;
  // Optional: POSTed when a rule starts and stops breaching.
  std::string alert_webhook_url;
  std::string alert_webhook_format = "slack";  // slack ({"text": …}) | json (the alert object)
};

// paid_not_in_erp (5 min), stock_not_published (2 min), dead_letters (any).
std::vector<SlaRuleConfig> DefaultSlaRules();

// Business events (src/events/): written to the store's outbox with the change they report and
// published to NATS JetStream by one node at a time. Off unless `events.nats.url` is set.
struct NatsEventsConfig {
  std::string url;                   // "nats://127.0.0.1:4222"; empty = events off
  std::string stream = "KEELSON";    // the JetStream stream (created if missing, create_stream)
  std::string subject_prefix = "keelson";  // subjects are {prefix}.{type}: keelson.order.accepted
  bool create_stream = true;         // create or update the stream (subjects, dedup window)
  int64_t duplicate_window_s = 86400;  // JetStream's Nats-Msg-Id de-duplication window
  Secret token;                      // optional auth token
  int64_t timeout_ms = 5000;         // connect and publish-ack timeout
};
struct EventsConfig {
  NatsEventsConfig nats;
  int batch = 256;                // events one publish round takes
  int64_t keep_published_h = 168;  // published events stay in the outbox this long
  bool enabled() const { return !nats.url.empty(); }
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  std::vector<StoreConfig> stores;
  ErpConfig erp;
  OrderToCashConfig order_to_cash;
  InventoryConfig inventory;
  JobsConfig jobs;
  LogConfig log;
  OpsConfig ops;
  SlaConfig sla;
  FulfillmentConfig fulfillment;
  EventsConfig events;

  // The store with this id, or nullptr. The pointer is valid while `stores` is unchanged.
  const StoreConfig* FindStore(std::string_view id) const;
};

struct ConfigResult {
  Config config;
  std::vector<ConfigError> errors;  // document order; a section's cross-field checks follow it
  bool ok() const { return errors.empty(); }
};

// Parses and validates a YAML document.
ConfigResult ParseConfig(std::string_view yaml_text, const EnvLookup& env = ProcessEnv);

// Reads `path` and parses it. An unreadable file gives one error whose path is the file name;
// document-level errors (e.g. YAML syntax) also get the file name as their path.
ConfigResult LoadConfigFile(const std::string& path, const EnvLookup& env = ProcessEnv);

// One line per error: "path: message\n" (just "message\n" when the path is empty).
std::string FormatErrors(const std::vector<ConfigError>& errors);

}  // namespace keelson::app
