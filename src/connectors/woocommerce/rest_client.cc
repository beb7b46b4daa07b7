#include "connectors/woocommerce/rest_client.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "core/strings.h"
#include "jobs/retry_policy.h"
#include "net/endpoint.h"
#include "net/signature.h"

namespace keelson::connectors::woocommerce {
namespace {

constexpr char kApiPrefix[] = "/wp-json/wc/v3";

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// WooCommerce / WordPress error bodies: {"code":"...","message":"...","data":{"status":N}}.
std::string DescribeErrorBody(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto code = j.find("code");
    auto message = j.find("message");
    if (code != j.end() && code->is_string()) {
      std::string out = code->get<std::string>();
      if (message != j.end() && message->is_string()) {
        absl::StrAppend(&out, ": ", message->get<std::string>());
      }
      return out;
    }
  }
  // Not WooCommerce's shape (a proxy's HTML page, say): a short, printable excerpt.
  std::string excerpt;
  for (char c : body.substr(0, 120)) {
    excerpt.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  return excerpt.empty() ? std::string("(empty body)") : excerpt;
}

int64_t HeaderInt(const net::OutboundResponse& r, std::string_view name, int64_t fallback) {
  int64_t v = 0;
  std::string_view h = r.Header(name);
  if (!h.empty() && absl::SimpleAtoi(core::AbslSv(h), &v) && v >= 0) return v;
  return fallback;
}

class WooRestClient final : public RestClient {
 public:
  WooRestClient(RestClientOptions options, net::HttpClient& http)
      : options_(std::move(options)), http_(http) {
    std::string url = options_.store_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (absl::StartsWithIgnoreCase(url, "https://")) {
      https_ = true;
    } else if (!absl::StartsWithIgnoreCase(url, "http://")) {
      config_error_ =
          absl::InvalidArgumentError("woocommerce: store url must start with http:// or https://");
    }
    api_base_ = absl::StrCat(url, kApiPrefix);
    if (options_.clock == nullptr) options_.clock = core::Clock::Real();
  }

  absl::StatusOr<nlohmann::json> GetOrder(int64_t order_id) override {
    const std::string path = absl::StrCat("/orders/", order_id);
    auto r = Call("GET", path, {}, "");
    if (!r.ok()) return r.status();
    auto j = ParseBody(*r, "GET " + path);
    if (!j.ok()) return j.status();
    if (!j->is_object()) {
      return absl::InternalError(absl::StrCat("GET ", path, ": answer is not a JSON object"));
    }
    return j;
  }

  absl::StatusOr<OrdersPage> ListOrders(const ListOrdersQuery& query) override {
    if (query.page < 1 || query.per_page < 1 || query.per_page > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("GET /orders: page must be >= 1 and per_page in [1, 100], got page ",
                       query.page, " per_page ", query.per_page));
    }
    QueryParams params;
    if (query.modified_after != absl::InfinitePast()) {
      // WooCommerce compares whole seconds; flooring never skips an order.
      params.emplace_back(
          "modified_after",
          absl::FormatTime("%Y-%m-%dT%H:%M:%S",
                           absl::FromUnixSeconds(absl::ToUnixSeconds(query.modified_after)),
                           absl::UTCTimeZone()));
      params.emplace_back("dates_are_gmt", "true");
    }
    params.emplace_back("orderby", "modified");
    params.emplace_back("order", "asc");
    params.emplace_back("page", absl::StrCat(query.page));
    params.emplace_back("per_page", absl::StrCat(query.per_page));
    auto r = Call("GET", "/orders", std::move(params), "");
    if (!r.ok()) return r.status();
    auto j = ParseBody(*r, "GET /orders");
    if (!j.ok()) return j.status();
    if (!j->is_array()) {
      return absl::InternalError("GET /orders: answer is not a JSON array");
    }
    OrdersPage page;
    page.orders.reserve(j->size());
    for (auto& o : *j) page.orders.push_back(std::move(o));
    // Without the headers (a proxy that strips them), a full page means there may be more.
    const int64_t size = static_cast<int64_t>(page.orders.size());
    const bool full = size == query.per_page;
    page.total = HeaderInt(*r, "X-WP-Total",
                           int64_t{query.page - 1} * query.per_page + size + (full ? 1 : 0));
    page.total_pages = static_cast<int>(
        HeaderInt(*r, "X-WP-TotalPages", size == 0 ? 0 : query.page + (full ? 1 : 0)));
    return page;
  }

  absl::StatusOr<int64_t> AddOrderNote(int64_t order_id, std::string_view note,
                                       bool customer_note) override {
    const std::string path = absl::StrCat("/orders/", order_id, "/notes");
    nlohmann::json body = {{"note", std::string(note)}, {"customer_note", customer_note}};
    auto r = Call("POST", path, {}, DumpJson(body));
    if (!r.ok()) return r.status();
    auto j = ParseBody(*r, "POST " + path);
    if (!j.ok()) return j.status();
    auto id = j->is_object() ? j->find("id") : j->end();
    if (!j->is_object() || id == j->end() || !id->is_number_integer()) {
      return absl::InternalError(
          absl::StrCat("POST ", path, ": answer has no integer \"id\" for the new note"));
    }
    return id->get<int64_t>();
  }

  absl::Status UpdateOrder(int64_t order_id, const OrderUpdate& update) override {
    const std::string path = absl::StrCat("/orders/", order_id);
    nlohmann::json body = nlohmann::json::object();
    if (update.status) body["status"] = *update.status;
    if (!update.meta_data.empty()) {
      nlohmann::json meta = nlohmann::json::array();
      // Without a meta "id", WooCommerce updates the entry with that key or adds one.
      for (const auto& [k, v] : update.meta_data) meta.push_back({{"key", k}, {"value", v}});
      body["meta_data"] = std::move(meta);
    }
    if (body.empty()) return absl::OkStatus();
    auto r = Call("PUT", path, {}, DumpJson(body));
    return r.status();
  }

 private:
  // Sends one request; any non-2xx answer is returned as its classified status.
  absl::StatusOr<net::OutboundResponse> Call(std::string_view method, std::string_view path,
                                             QueryParams params, std::string body) {
    const std::string what = absl::StrCat(core::AbslSv(method), " ", core::AbslSv(path));
    if (!config_error_.ok()) return config_error_;
    net::OutboundRequest req;
    req.method = std::string(method);
    req.timeout = options_.timeout;
    const std::string base = absl::StrCat(api_base_, core::AbslSv(path));
    if (https_) {
      req.headers.emplace_back(
          "Authorization",
          absl::StrCat("Basic ", net::Base64Encode(absl::StrCat(options_.consumer_key, ":",
                                                                options_.consumer_secret))));
    } else {
      AddOAuthParams(method, base, options_.consumer_key, options_.consumer_secret,
                     options_.oauth_signature_method, absl::ToUnixSeconds(options_.clock->Now()),
                     NewOAuthNonce(), params);
    }
    req.url = base;
    for (size_t i = 0; i < params.size(); ++i) {
      absl::StrAppend(&req.url, i == 0 ? "?" : "&", net::UrlEncode(params[i].first), "=",
                      net::UrlEncode(params[i].second));
    }
    req.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);

    auto r = http_.Send(req);
    if (!r.ok()) {
      // The transport error names the URL, whose query carries the consumer key and signature.
      std::string message(r.status().message());
      absl::StrReplaceAll({{req.url, base}}, &message);
      return absl::Status(r.status().code(), absl::StrCat(what, ": ", message));
    }
    absl::Status s = ClassifyResponse(*r, what);
    if (!s.ok()) return s;
    return r;
  }

  static absl::StatusOr<nlohmann::json> ParseBody(const net::OutboundResponse& r,
                                                  std::string_view what) {
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return absl::InternalError(
          absl::StrCat(core::AbslSv(what), ": HTTP ", r.status,
                       " with a body that is not JSON: ", DescribeErrorBody(r.body)));
    }
    return j;
  }

  RestClientOptions options_;
  net::HttpClient& http_;
  std::string api_base_;
  bool https_ = false;
  absl::Status config_error_;
};

}  // namespace

absl::Status ClassifyResponse(const net::OutboundResponse& response, std::string_view what) {
  const int code = response.status;
  if (code >= 200 && code < 300) return absl::OkStatus();
  const absl::string_view w = core::AbslSv(what);
  std::string message = absl::StrCat(w, ": HTTP ", code, " ", DescribeErrorBody(response.body));
  if (code >= 300 && code < 400) {
    std::string_view location = response.Header("Location");
    // Only the path of the target: a redirect URL may echo the signed query string.
    std::string_view shown = location.substr(0, location.find('?'));
    return absl::FailedPreconditionError(absl::StrCat(
        w, ": HTTP ", code, " redirect", shown.empty() ? "" : " to ", core::AbslSv(shown),
        "; the configured store url is not the one WooCommerce serves the API under"));
  }
  switch (code) {
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 408:
      return absl::UnavailableError(message);
    case 429: {
      absl::Status s = absl::ResourceExhaustedError(message);
      if (auto after = net::ParseRetryAfter(response.Header("Retry-After"), absl::Now())) {
        s = jobs::WithRetryAfter(std::move(s), *after);
      }
      return s;
    }
    default:
      break;
  }
  if (code >= 400 && code < 500) return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

std::unique_ptr<RestClient> NewRestClient(RestClientOptions options, net::HttpClient& http) {
  return std::make_unique<WooRestClient>(std::move(options), http);
}

}  // namespace keelson::connectors::woocommerce
