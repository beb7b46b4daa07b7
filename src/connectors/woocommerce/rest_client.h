#pragma once
// WooCommerce REST API v3 client (`{store url}/wp-json/wc/v3`): what Keelson writes back to the
// shop and how it backfills missed webhooks. Authenticates with the store's consumer key and
// secret (see README.md for the scheme chosen per URL scheme): HTTP Basic over https, OAuth 1.0a
// one-legged (signed query string) over plain http. Never retries: errors are classified for
// the job runner as in connectors/erp.h (5xx/transport -> kUnavailable, 429 ->
// kResourceExhausted with Retry-After, 401 -> kUnauthenticated, 403 -> kPermissionDenied,
// 404 -> kNotFound, other 4xx -> kInvalidArgument with WooCommerce's {"code","message"}); see
// ClassifyResponse. Error messages name the method and path, never a key, secret or signature.
//
// Thread-safety: thread-safe (stateless apart from the shared HttpClient).

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/woocommerce/oauth1.h"
#include "core/clock.h"
#include "net/http_client.h"

namespace keelson::connectors::woocommerce {

struct RestClientOptions {
  std::string store_url;  // e.g. "https://shop.example.com" (REST under /wp-json/wc/v3)
  std::string consumer_key;
  std::string consumer_secret;
  absl::Duration timeout = absl::Seconds(30);
  // OAuth 1.0a over http only. WooCommerce accepts both; its official PHP client signs with
  // HMAC-SHA256.
  OAuthSignatureMethod oauth_signature_method = OAuthSignatureMethod::kHmacSha256;
  // Source of oauth_timestamp (WooCommerce rejects timestamps more than 15 minutes off).
  // nullptr = the real clock. Not owned.
  core::Clock* clock = nullptr;
};

struct ListOrdersQuery {
  // Orders modified strictly after this instant (sent with dates_are_gmt=true).
  absl::Time modified_after = absl::InfinitePast();
  int page = 1;        // 1-based
  int per_page = 100;  // WooCommerce caps it at 100
};

struct OrdersPage {
  std::vector<nlohmann::json> orders;  // each the same shape as an order webhook body
  // X-WP-Total and X-WP-TotalPages. When a proxy strips them: what this page shows, counting a
  // full page as "at least one more" (so a caller walking pages does not stop early).
  int64_t total = 0;
  int total_pages = 0;
};

struct OrderUpdate {
  std::optional<std::string> status;                           // a WooCommerce status slug
  std::vector<std::pair<std::string, std::string>> meta_data;  // key -> value, upserted
};

// A product or variation as far as stock goes (the fields Keelson asks for with _fields).
struct ProductStock {
  int64_t id = 0;
  int64_t parent_id = 0;  // a variation's product; 0 for products
  std::string type;       // simple | variable | grouped | external | variation
  std::string sku;        // "" when the product has none
  // "true", "false" or "parent" (a variation that does not track stock while its parent does:
  // the quantity and status shown are the parent's).
  std::string manage_stock;
  std::optional<int64_t> stock_quantity;  // null when stock is not managed
  std::string stock_status;               // instock | outofstock | onbackorder
  std::string backorders;                 // no | notify | yes
  std::vector<int64_t> variations;        // a variable product's variation ids
};

struct ListProductsQuery {
  int page = 1;        // 1-based
  int per_page = 100;  // WooCommerce caps it at 100
  // Exact SKUs; WooCommerce matches any of them and finds variations too. Joined with ',' on
  // the wire, so a SKU containing a comma must be looked up alone.
  std::vector<std::string> skus;
  std::string type;  // "" = any; simple | variable | grouped | external
};

template <typename T>
struct Page {
  std::vector<T> items;
  // X-WP-Total and X-WP-TotalPages, with the same fallback as OrdersPage when stripped.
  int64_t total = 0;
  int total_pages = 0;
};
using ProductsPage = Page<ProductStock>;

// One object of a products/batch or variations/batch "update" list. Only what is set is sent.
struct StockUpdate {
  int64_t id = 0;  // product id (products/batch) or variation id (variations/batch)
  std::optional<int64_t> stock_quantity;
  std::optional<std::string> stock_status;
};

// The answer for one object of a batch, in the order sent: OK with the values WooCommerce
// shows after the write, or the object's own error classified as ClassifyResponse would an
// answer with that status (e.g. 400 woocommerce_rest_product_invalid_id -> kInvalidArgument).
struct BatchItemResult {
  int64_t id = 0;
  absl::Status status;
  std::string error_code;  // WooCommerce's code when failed, e.g. "product_invalid_sku"
  ProductStock stock;      // when OK
};

class RestClient {
 public:
  virtual ~RestClient() = default;
  virtual absl::StatusOr<nlohmann::json> GetOrder(int64_t order_id) = 0;
  virtual absl::StatusOr<OrdersPage> ListOrders(const ListOrdersQuery& query) = 0;
  // POST /orders/{id}/notes; returns the note id.
  virtual absl::StatusOr<int64_t> AddOrderNote(int64_t order_id, std::string_view note,
                                               bool customer_note) = 0;
  // GET /orders/{id}/notes: the text of every note on the order.
  virtual absl::StatusOr<std::vector<std::string>> ListOrderNotes(int64_t order_id) = 0;
  // PUT /orders/{id} with only the fields set in `update`.
  virtual absl::Status UpdateOrder(int64_t order_id, const OrderUpdate& update) = 0;

  // GET /products with _fields limited to the stock fields. kInvalidArgument without a request
  // for page < 1 or per_page outside 1..100.
  virtual absl::StatusOr<ProductsPage> ListProducts(const ListProductsQuery& query) = 0;
  // GET /products/{id}/variations, same limits.
  virtual absl::StatusOr<ProductsPage> ListVariations(int64_t product_id, int page,
                                                      int per_page) = 0;
  // POST /products/batch {"update":[…]} and POST /products/{id}/variations/batch. At most 100
  // updates (kInvalidArgument without a request otherwise: WooCommerce answers 413). A failed
  // call (transport, 5xx, 429, 4xx) is the returned status; per-object failures are in the
  // results, one per update in the same order.
  virtual absl::StatusOr<std::vector<BatchItemResult>> BatchUpdateProducts(
      std::span<const StockUpdate> updates) = 0;
  virtual absl::StatusOr<std::vector<BatchItemResult>> BatchUpdateVariations(
      int64_t product_id, std::span<const StockUpdate> updates) = 0;
};

// The most objects one products/batch or variations/batch call takes
// (woocommerce_rest_batch_items_limit's default).
inline constexpr int kMaxBatchItems = 100;

// `http` must outlive the client. A store_url that is neither http:// nor https:// makes every
// call fail with kInvalidArgument.
std::unique_ptr<RestClient> NewRestClient(RestClientOptions options, net::HttpClient& http);

// The one place WooCommerce answers become absl codes (`what` is "GET /orders/14", used as the
// message prefix):
//   2xx                 OK
//   3xx                 kFailedPrecondition (the store URL redirects: fix the configured URL)
//   401                 kUnauthenticated   (bad key/secret/signature, or a key without the
//                                           read/write permission the call needs)
//   403                 kPermissionDenied
//   404                 kNotFound
//   408                 kUnavailable       (the server gave up waiting for us; transport-like)
//   429                 kResourceExhausted, with the Retry-After seconds attached
//                       (jobs::WithRetryAfter) when present
//   other 4xx           kInvalidArgument
//   5xx and the rest    kUnavailable
// The message carries WooCommerce's error `code` and `message` when the body is the
// {"code","message","data":{"status"}} shape, e.g.
// "PUT /orders/7: HTTP 400 rest_invalid_param: Invalid parameter(s): status".
absl::Status ClassifyResponse(const net::OutboundResponse& response, std::string_view what);

// The same mapping for one failed object of a batch answer ({"id","error":{"code","message",
// "data":{"status"}}}): `http_status` is data.status (400 when absent).
absl::Status ClassifyItemError(int http_status, std::string_view code, std::string_view message,
                               std::string_view what);

}  // namespace keelson::connectors::woocommerce
