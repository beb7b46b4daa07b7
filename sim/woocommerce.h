#pragma once
// An in-process WooCommerce store (modelled on WooCommerce 7.8.0, the version of the recorded
// traffic in testdata/woocommerce) for tests, the demo and load benches. It is the two faces
// Keelson sees of a real store:
//
// REST API v3 on http://host:port/wp-json/wc/v3 (orders and products), authenticated like
// WooCommerce over plain HTTP: OAuth 1.0a one-legged, HMAC-SHA1 or HMAC-SHA256, parameters in the
// query string or an "Authorization: OAuth" header, 15-minute timestamp window, single-use nonces.
// HTTP Basic is ignored over plain HTTP (as WooCommerce does), so such a request is anonymous and
// gets 401 woocommerce_rest_cannot_view.
//   GET  /orders                 modified_after/modified_before/after/before (+dates_are_gmt),
//                                orderby date|id|modified (+order asc|desc, ties by id), status,
//                                page, per_page (1..100, else 400 rest_invalid_param);
//                                X-WP-Total, X-WP-TotalPages and Link headers. modified_after is
//                                strictly greater than, at one-second resolution.
//   GET  /orders/{id}            404 woocommerce_rest_shop_order_invalid_id when unknown
//   PUT|POST|PATCH /orders/{id}  status and meta_data (upsert by key, or by meta id); a change
//                                fires order.updated after the answer, as WooCommerce's async
//                                delivery does
//   GET|POST /orders/{id}/notes  POST answers 201 with the note (no webhook)
// The catalog (stock publication; products and variations share one id sequence from
// Options::first_product_id, shaped like the recorded 7.8 answers):
//   GET  /products               page, per_page (1..100), orderby, order (default newest first),
//                                type (simple|grouped|external|variable), sku (comma-separated,
//                                exact, finds variations too, as WooCommerce's meta IN query
//                                over product and product_variation does), _fields (top-level
//                                fields only); X-WP-Total, X-WP-TotalPages
//   GET  /products/{id}          a variation id answers the variation in the products shape
//   PUT|POST|PATCH /products/{id}
//   GET  /products/{id}/variations            paged like /products; unknown parent: []
//   POST|PUT|PATCH /products/batch, /products/{id}/variations/batch
//                                {"create","update","delete"}: more than 100 objects in all is
//                                413 woocommerce_rest_request_entity_too_large; a failing item
//                                becomes {"id","error":{"code","message","data":{"status"}}} in
//                                its place and the rest go on (HTTP 200). Answers in edit context.
// Stock follows WC_Product::validate_props(): a managed product's stock_status is recomputed
// from its quantity (> 0 instock, else onbackorder when backorders are allowed, else
// outofstock) whatever status was sent; an unmanaged one ignores stock_quantity and takes
// stock_status; an unmanaged variable product takes its status from its children; a variation
// that does not manage stock while its parent does shows manage_stock "parent" and the parent's
// quantity, status and backorders, and ignores a quantity sent to it. Product writes send no
// product.updated webhook.
// Errors are WooCommerce's {"code","message","data":{"status"}} bodies.
//
// Webhooks like WooCommerce 7.8 delivers them: one webhook per topic (order.created id 1,
// order.updated id 2, order.deleted id 3), POSTed to the target with User-Agent
// "WooCommerce/7.8.0 Hookshot (WordPress/...)", X-WC-Webhook-Source/-Topic/-Resource/-Event/
// -Signature (base64 HMAC-SHA256 of the body with the webhook secret)/-ID/-Delivery-ID, where the
// Delivery-ID is a hash of the webhook id and the current second, so NOT unique. Bodies are
// serialized as PHP's json_encode does ("\/" and "\uXXXX" escapes). Creating an order sends
// order.created and then a byte-identical order.updated (as 7.8 does for REST-created orders).
// A failed delivery (an answer outside 200..302, a transport error or a timeout) is never
// retried; after 7 consecutive failures a webhook is disabled and sends nothing more until
// ReenableWebhooks(). With ping_on_start, each webhook first sends the creation ping (form body
// "webhook_id=N", no X-WC headers). Fault knobs: duplicate_probability (the same delivery sent
// twice), reorder_probability (an order.updated held back and sent after the next delivery for
// that order, i.e. an older state after a newer one).
//
// Deliveries triggered by the C++ API are made synchronously on the calling thread; those
// triggered by REST writes and by the /_sim admin endpoints are made on one background thread
// (WaitForAsyncDeliveries() waits for them). The OAuth timestamp window and every order date use
// Options::clock, so a test that fakes the clock gives the same clock to its REST client.
//
// Standalone: WooCommerceSim sim({.port = 8081, .webhook_target_url =
// "http://127.0.0.1:8080/v1/webhooks/woocommerce/main"}); sim.Start(); then the /_sim admin
// endpoints (no auth): POST /_sim/products (a WooProductSpec as JSON) -> 201
// {"id","variation_ids"}; GET /_sim/products/stock?sku=; PUT /_sim/products/stock
// {"sku","stock_quantity"|"stock_status"}; POST /_sim/products/fail-next {"sku","code",
// "message","status"}; POST /_sim/orders {"status","email","lines":[{"sku","quantity","price"}],
// "silent":false} -> 201 {"id"}; PUT /_sim/orders/{id}/status {"status"}; DELETE
// /_sim/orders/{id}[?force=true]; PUT /_sim/webhook-target {"url"}; GET /_sim/stats;
// POST /_sim/webhooks/reenable.
//
// Thread-safety: every public method is thread-safe. Start once; Stop (or the destructor) stops
// the server and the background delivery thread.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace keelson::sim {

// PHP json_encode() with default flags, as WordPress's wp_json_encode() emits webhook and REST
// bodies: '/' as "\/", every non-ASCII character as \uXXXX (lowercase hex, UTF-16 surrogate pairs
// above U+FFFF), control characters as \b \f \n \r \t or \u00XX; invalid UTF-8 becomes \ufffd.
// Integral numbers print without a fraction; other doubles as their shortest round-trip text.
std::string PhpJsonEncode(const nlohmann::ordered_json& value);

struct WooLineSpec {
  std::string sku = "WID-BLUE";
  int quantity = 1;
  std::string price = "19.99";  // unit price, a decimal string in the order's currency
  std::string name;             // default "Product <sku>"
};

struct WooOrderSpec {
  std::string status = "processing";  // a WooCommerce order status slug
  std::vector<WooLineSpec> lines;     // empty: one line of 2 x WID-BLUE at 19.99
  std::string email = "erika@example.com";
  std::string first_name = "Erika";
  std::string last_name = "Mustermann";
  std::string country = "DE";
  std::string currency;  // "" = Options::currency
  std::string shipping_total = "4.90";
  std::string customer_note;
  std::vector<std::pair<std::string, std::string>> meta;  // order meta_data
};

struct WooNote {
  int64_t id = 0;
  std::string author;  // "WooCommerce" for notes added over REST, "system" for status changes
  std::string date_created_gmt;
  std::string note;
  bool customer_note = false;
};

struct WooDelivery {
  int64_t webhook_id = 0;  // 0 for nothing (pings carry their webhook id in the body)
  std::string topic;       // "order.created", ... or "ping"
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, in order
  std::string body;
  int status = 0;          // the target's HTTP status; 0 when the request failed in transport
  bool succeeded = false;  // 200..302
};

// A variation of a variable product (see WooProductSpec).
struct WooVariationSpec {
  std::string sku;
  std::string option;  // its value of the parent's "Size" attribute; "" = the SKU
  // false: the variation does not track its own stock; when the parent does, WooCommerce shows
  // its manage_stock as "parent" and its stock as the parent's.
  bool manage_stock = true;
  int64_t stock_quantity = 0;            // when managing stock
  std::string stock_status = "instock";  // when not: instock | outofstock | onbackorder
  std::string backorders = "no";         // no | notify | yes
  std::string regular_price = "15.00";
};

// A product as an admin creates it: simple, or variable with variations.
struct WooProductSpec {
  std::string sku;
  std::string name;             // "" = "Product <sku>"
  std::string type = "simple";  // simple | variable
  bool manage_stock = true;
  int64_t stock_quantity = 0;            // when managing stock
  std::string stock_status = "instock";  // when not (a variable one derives it from its children)
  std::string backorders = "no";
  std::string regular_price = "19.99";       // simple only
  std::vector<WooVariationSpec> variations;  // variable only
};

struct WooProductIds {
  int64_t id = 0;
  std::vector<int64_t> variation_ids;  // in the spec's order
};

// Stock of one SKU as the REST API shows it (view context).
struct WooStock {
  int64_t product_id = 0;                 // the product, or the variation's parent
  int64_t variation_id = 0;               // 0 for a product
  std::string type;                       // simple | variable | variation
  std::string manage_stock;               // "true" | "false" | "parent"
  std::optional<int64_t> stock_quantity;  // null when not managed; the parent's for "parent"
  std::string stock_status;
  std::string backorders;
};

struct WooSimStats {
  int64_t orders = 0;             // orders in the store (trashed ones included)
  int64_t webhooks_sent = 0;      // delivery requests made (duplicates included, pings not)
  int64_t webhooks_failed = 0;    // of those: answered outside 200..302, or transport error
  int64_t duplicates_sent = 0;    // extra identical deliveries from duplicate_probability
  int64_t reordered_sent = 0;     // held-back updates sent after a newer delivery
  int64_t deferred_pending = 0;   // held-back updates not sent yet (see FlushDeferred)
  int64_t skipped_disabled = 0;   // not sent: the topic's webhook is disabled
  int64_t skipped_no_target = 0;  // not sent: no webhook target set
  int64_t pings_sent = 0;
  int64_t pings_failed = 0;  // answered other than 200 (WooCommerce requires 200)
  int64_t rest_requests = 0;
  int64_t rest_unauthorized = 0;  // REST requests answered 401
  // Catalog.
  int64_t products = 0;  // simple and variable products
  int64_t variations = 0;
  int64_t product_gets = 0;    // GET /products, /products/{id}, /products/{id}/variations
  int64_t sku_lookups = 0;     // of those: GET /products with a sku filter
  int64_t batch_calls = 0;     // POST /products/batch and /products/{id}/variations/batch
  int64_t batch_rejected = 0;  // of those: 413, more than 100 objects
  int64_t items_updated = 0;   // batch update items and PUTs that succeeded
  int64_t items_failed = 0;    // batch items answered with an error entry
};

struct WooBurstResult {
  std::vector<int64_t> order_ids;  // in creation order per thread, threads concatenated
  absl::Duration elapsed;
};

class WooCommerceSim {
 public:
  using OrderSpec = WooOrderSpec;
  using LineSpec = WooLineSpec;

  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = any free port
    std::string consumer_key = "ck_keelson_sim_0000000000000000000000000000000";
    std::string consumer_secret = "cs_keelson_sim_0000000000000000000000000000000";
    std::string key_permissions = "read_write";  // read | write | read_write
    std::string webhook_secret = "keelson-sim-webhook-secret";
    std::string webhook_target_url;  // Keelson's POST URL; may be set later
    double duplicate_probability = 0.0;
    double reorder_probability = 0.0;
    bool ping_on_start = false;
    uint64_t seed = 1;
    std::string currency = "EUR";
    int64_t first_order_id = 100;
    int64_t first_product_id = 10;  // products and variations share one id sequence
    bool updated_on_create = true;  // 7.8 sends order.updated right after order.created
    std::string user_agent = "WooCommerce/7.8.0 Hookshot (WordPress/6.2.2)";
    absl::Duration delivery_timeout = absl::Seconds(60);  // WooCommerce's MINUTE_IN_SECONDS
    int max_consecutive_failures = 7;        // the 7th consecutive failure disables the webhook
    size_t max_recorded_deliveries = 10000;  // Deliveries() keeps the most recent ones
    core::Clock* clock = nullptr;  // order dates, OAuth timestamp window; nullptr = real. Not owned
    int http_threads = 2;
    // Each catalog request (/products…) is answered this much later, as a PHP host's page time;
    // it holds one of the http_threads meanwhile. Zero = at once. See SetCatalogLatency.
    absl::Duration catalog_latency = absl::ZeroDuration();
  };

  explicit WooCommerceSim(Options options);
  ~WooCommerceSim();
  WooCommerceSim(const WooCommerceSim&) = delete;
  WooCommerceSim& operator=(const WooCommerceSim&) = delete;

  // Binds and serves; sends the pings when ping_on_start and a target is set.
  absl::Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  std::string url() const;  // "http://host:port", WordPress's home URL (no trailing slash)
  // This shop as one entry of Keelson's `stores:` list (YAML, indented for it): id, url, the
  // REST API keys and the webhook secret. For tests, benchmarks and the demo.
  std::string KeelsonStoreYaml(std::string_view id = "main") const;
  const Options& options() const { return options_; }

  // Later deliveries go to `url`. With ping_on_start, the first target set gets the pings.
  void SetWebhookTarget(std::string url);
  // Later deliveries go to these in turn, as through a load balancer in front of several Keelson
  // nodes: round robin, and a delivery whose connection fails (no HTTP answer) is sent once more
  // to the next target. SetWebhookTarget(url) is SetWebhookTargets({url}).
  void SetWebhookTargets(std::vector<std::string> urls);

  // Creates the order and delivers order.created (then order.updated). kInvalidArgument for an
  // unknown status, a malformed amount or a non-positive quantity.
  absl::StatusOr<int64_t> CreateOrder(const OrderSpec& spec);
  // Same order, no webhook at all: a webhook WooCommerce never sent (for backfill tests).
  absl::StatusOr<int64_t> CreateOrderSilently(const OrderSpec& spec);
  // Sets the status (and date_modified, date_paid/date_completed as WooCommerce does, plus a
  // system note) and delivers order.updated. kNotFound / kInvalidArgument.
  absl::Status UpdateOrderStatus(int64_t id, std::string_view status);
  absl::Status UpdateOrderStatusSilently(int64_t id, std::string_view status);
  // Trashes the order (status "trash"), or with `force` removes it for good (GET then answers
  // 404); either way delivers order.deleted with the body {"id":N}. kNotFound.
  absl::Status DeleteOrder(int64_t id, bool force = false);

  // The order as GET /orders/{id} returns it; nullopt when unknown or force-deleted.
  std::optional<nlohmann::json> GetOrder(int64_t id) const;
  // The exact bytes REST and webhooks serve for the order now; "" when unknown.
  std::string OrderBody(int64_t id) const;
  std::vector<WooNote> Notes(int64_t id) const;
  // meta_data value of `key` (a string value as is, any other JSON value dumped); nullopt if
  // the order or key is absent.
  std::optional<std::string> Meta(int64_t id, std::string_view key) const;

  WooSimStats stats() const;
  std::vector<WooDelivery> Deliveries() const;
  // Whether the webhook of `topic` ("order.created", ...) is active (not auto-disabled).
  bool WebhookActive(std::string_view topic) const;
  void ReenableWebhooks();
  // Sends every held-back (reordered) update now.
  void FlushDeferred();
  // Blocks until the deliveries queued by REST writes so far have been made.
  void WaitForAsyncDeliveries();
  // The next `count` REST requests (after auth) answer `http_status` with a WooCommerce-shaped
  // error body, plus "Retry-After: retry_after_seconds" when it is > 0.
  void FailNextRestRequests(int count, int http_status, int retry_after_seconds = 0);

  // Catalog (stock publication). Adds a product and its variations as an admin would (no
  // webhook). kAlreadyExists for a SKU already used (WooCommerce: product_invalid_sku),
  // kInvalidArgument for an unknown type, status, backorders value or an empty SKU.
  absl::StatusOr<WooProductIds> AddProduct(const WooProductSpec& spec);
  // The stock REST shows for `sku` (a product or a variation); nullopt when unknown.
  std::optional<WooStock> StockBySku(std::string_view sku) const;
  // Changes stock behind Keelson's back, as wc_update_product_stock() does for an order or an
  // admin: a "parent" variation changes its parent; a managed product takes `quantity` and its
  // status follows WooCommerce's rule; an unmanaged one takes `stock_status`. kNotFound.
  absl::Status SetStockBySku(std::string_view sku, std::optional<int64_t> quantity,
                             std::string_view stock_status = "");
  // The next batch update item for the product or variation with `sku` fails with this error
  // entry (once). The default is the WC_Data_Exception set_sku() throws.
  void FailNextBatchItem(std::string sku, std::string code = "product_invalid_sku",
                         std::string message = "Invalid or duplicated SKU.", int status = 400);

  // Called, under the catalog's lock, each time a REST write (a batch update item or a PUT of a
  // product or variation) has been applied, with the SKU of the product or variation written and
  // the stock REST shows for it from now on: the moment a stock level becomes visible, for load
  // benches, without polling. It must be cheap and must not call into the simulator. An empty
  // function (the default) removes it; without one the writes cost nothing more.
  // Changes Options::catalog_latency for the requests that arrive from now on.
  void SetCatalogLatency(absl::Duration latency);

  using StockWriteObserver = std::function<void(std::string_view sku, const WooStock& stock)>;
  void SetStockWriteObserver(StockWriteObserver observer);

  // Load: creates `orders` orders from `threads` threads at once, each delivering its webhooks
  // synchronously; returns when all are done.
  WooBurstResult EmitBurst(int orders, int threads, const OrderSpec& spec = {});
  // The same, run on a thread of its own; wait for the future before destroying the simulator.
  std::future<WooBurstResult> EmitBurstAsync(int orders, int threads, const OrderSpec& spec = {});

 private:
  struct Order {
    nlohmann::ordered_json doc;
    std::string body;  // PhpJsonEncode(doc), refreshed on every change
    std::vector<WooNote> notes;
  };
  struct Product {
    int64_t id = 0;
    int64_t parent_id = 0;  // variations only
    std::string type;       // simple | variable | variation
    std::string sku, name, slug, option, regular_price, backorders = "no";
    bool manage_stock = false;  // the variation's own flag, not "parent"
    std::optional<int64_t> stock_quantity;
    std::string stock_status = "instock";
    std::vector<int64_t> children;  // variable: variation ids, ascending
    std::string date_created, date_modified;
  };
  struct ItemFailure {
    std::string code, message;
    int status = 400;
  };
  struct Webhook {
    int64_t id = 0;
    std::string topic;
    bool active = true;
    int failures = 0;
  };
  struct Event {
    std::string topic;
    int64_t order_id = 0;
    std::string body;
  };

  absl::Time Now() const;
  absl::StatusOr<int64_t> Create(const OrderSpec& spec, bool deliver);
  absl::Status SetStatusLocked(Order& order, std::string_view status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TouchLocked(Order& order) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t NextMetaIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return next_meta_id_++; }
  bool Chance(double p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Delivers with the fault knobs applied. `reorderable`: may be held back.
  void Emit(Event event, bool reorderable);
  // One HTTP delivery; records it and keeps the webhook's failure count.
  void SendOne(const Event& event);
  void SendPings();
  void EnqueueAsync(Event event);
  void AsyncLoop();

  void Route(net::Router& router);
  void HandleRest(net::HttpRequest& req, net::Responder respond);
  void HandleAdmin(net::HttpRequest& req, net::Responder respond);
  net::HttpResponse ListOrders(const net::HttpRequest& req);
  net::HttpResponse GetOrderRest(int64_t id);
  net::HttpResponse UpdateOrderRest(int64_t id, const net::HttpRequest& req,
                                    std::optional<Event>* event);
  net::HttpResponse CreateNoteRest(int64_t id, const net::HttpRequest& req);
  net::HttpResponse ListNotesRest(int64_t id);
  // Counts the request, authenticates it and applies FailNextRestRequests: nullopt when it may
  // proceed, else the answer to send.
  std::optional<net::HttpResponse> Gate(const net::HttpRequest& req,
                                        std::string_view anonymous_code,
                                        std::string_view anonymous_message);
  // Catalog REST.
  void HandleProducts(net::HttpRequest& req, net::Responder respond);
  net::HttpResponse ListProductsRest(const net::HttpRequest& req);
  net::HttpResponse GetProductRest(int64_t id, const net::HttpRequest& req);
  net::HttpResponse ListVariationsRest(int64_t product_id, const net::HttpRequest& req);
  net::HttpResponse UpdateProductRest(int64_t id, const net::HttpRequest& req);
  net::HttpResponse BatchRest(int64_t parent_id, const net::HttpRequest& req);
  void HandleCatalogAdmin(net::HttpRequest& req, net::Responder respond);
  // One update applied as update_item() does; the error entry's (code, message, status) or
  // nullopt. `parent_id` 0 = the products endpoint.
  std::optional<ItemFailure> UpdateOneLocked(int64_t parent_id, const nlohmann::json& item)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cat_mu_);
  // WC_Product::validate_props() and the variable product's sync from its children.
  void ValidateStockLocked(Product& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(cat_mu_);
  void SyncParentLocked(int64_t parent_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(cat_mu_);
  // Renders a product (or a variation in the products endpoint's shape), or a variation in
  // the variations endpoint's shape. `fields`: the _fields filter (empty = all); `edit`:
  // edit context (answers to writes).
  nlohmann::ordered_json ProductDocLocked(const Product& p, const std::set<std::string>& fields,
                                          bool edit) const ABSL_SHARED_LOCKS_REQUIRED(cat_mu_);
  nlohmann::ordered_json VariationDocLocked(const Product& v,
                                            const std::set<std::string>& fields) const
      ABSL_SHARED_LOCKS_REQUIRED(cat_mu_);
  WooStock StockLocked(const Product& p) const ABSL_SHARED_LOCKS_REQUIRED(cat_mu_);
  // nullopt when the request may proceed; otherwise the 401 to send.
  std::optional<net::HttpResponse> Authenticate(const net::HttpRequest& req,
                                                std::string_view anonymous_code,
                                                std::string_view anonymous_message);

  Options options_;
  std::unique_ptr<net::HttpClient> delivery_client_;
  std::unique_ptr<net::HttpServer> server_;
  uint16_t port_ = 0;

  mutable absl::Mutex mu_;
  std::map<int64_t, Order> orders_ ABSL_GUARDED_BY(mu_);
  int64_t next_order_id_ ABSL_GUARDED_BY(mu_);
  int64_t next_item_id_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_meta_id_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_note_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, int64_t> product_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<Webhook> webhooks_ ABSL_GUARDED_BY(mu_);
  std::string target_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> more_targets_ ABSL_GUARDED_BY(mu_);  // after target_, round robin
  uint64_t next_target_ ABSL_GUARDED_BY(mu_) = 0;
  bool pinged_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int64_t, Event> deferred_ ABSL_GUARDED_BY(mu_);  // by order id
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  WooSimStats stats_ ABSL_GUARDED_BY(mu_);
  std::deque<WooDelivery> deliveries_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::set<std::string>> nonces_ ABSL_GUARDED_BY(mu_);  // by timestamp
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_status_ ABSL_GUARDED_BY(mu_) = 500;
  int fail_retry_after_ ABSL_GUARDED_BY(mu_) = 0;

  // The catalog has a lock of its own so that stock traffic and order traffic do not contend.
  // Never taken while holding mu_ or the other way round.
  mutable absl::Mutex cat_mu_;
  std::map<int64_t, Product> products_ ABSL_GUARDED_BY(cat_mu_);  // products and variations
  absl::flat_hash_map<std::string, int64_t> skus_ ABSL_GUARDED_BY(cat_mu_);
  std::vector<int64_t> listed_ ABSL_GUARDED_BY(cat_mu_);  // non-variation ids, ascending
  int64_t next_product_id_ ABSL_GUARDED_BY(cat_mu_);
  absl::flat_hash_map<std::string, ItemFailure> item_failures_ ABSL_GUARDED_BY(cat_mu_);
  WooSimStats cat_stats_ ABSL_GUARDED_BY(cat_mu_);  // only the catalog counters
  StockWriteObserver stock_observer_ ABSL_GUARDED_BY(cat_mu_);

  // Deliveries caused by REST writes, made after the answer on async_thread_.
  absl::Mutex async_mu_;
  std::deque<Event> async_queue_ ABSL_GUARDED_BY(async_mu_);
  int64_t async_enqueued_ ABSL_GUARDED_BY(async_mu_) = 0;
  int64_t async_done_ ABSL_GUARDED_BY(async_mu_) = 0;
  bool async_stop_ ABSL_GUARDED_BY(async_mu_) = false;
  std::thread async_thread_;
  std::atomic<bool> started_{false};
  std::atomic<int64_t> catalog_latency_us_{0};
};

}  // namespace keelson::sim
