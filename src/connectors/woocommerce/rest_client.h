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

class RestClient {
 public:
  virtual ~RestClient() = default;
  virtual absl::StatusOr<nlohmann::json> GetOrder(int64_t order_id) = 0;
  virtual absl::StatusOr<OrdersPage> ListOrders(const ListOrdersQuery& query) = 0;
  // POST /orders/{id}/notes; returns the note id.
  virtual absl::StatusOr<int64_t> AddOrderNote(int64_t order_id, std::string_view note,
                                               bool customer_note) = 0;
  // PUT /orders/{id} with only the fields set in `update`.
  virtual absl::Status UpdateOrder(int64_t order_id, const OrderUpdate& update) = 0;
};

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

}  // namespace keelson::connectors::woocommerce
