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

// 4xx and 5xx (and anything else that is not 2xx or 3xx) to an absl code.
absl::Status StatusForHttp(int code, std::string message) {
  switch (code) {
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 408:
      return absl::UnavailableError(message);
    case 429:
      return absl::ResourceExhaustedError(message);
    default:
      break;
  }
  if (code >= 400 && code < 500) return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

// The fields Keelson reads for stock: asked for with _fields, so that a page of 100 products is
// a few kilobytes instead of a few hundred.
constexpr char kStockFields[] =
    "id,parent_id,type,sku,manage_stock,stock_quantity,stock_status,backorders,variations";

int64_t IntOr(const nlohmann::json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number()) return static_cast<int64_t>(it->get<double>());
  int64_t v = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return fallback;
}

std::string StringOr(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

ProductStock ParseProductStock(const nlohmann::json& j, int64_t parent_id_default) {
  ProductStock p;
  p.id = IntOr(j, "id", 0);
  p.parent_id = IntOr(j, "parent_id", parent_id_default);
  p.type = StringOr(j, "type");
  if (p.type.empty() && parent_id_default != 0) p.type = "variation";
  p.sku = StringOr(j, "sku");
  if (auto it = j.find("manage_stock"); it != j.end()) {
    p.manage_stock = it->is_boolean()  ? (it->get<bool>() ? "true" : "false")
                     : it->is_string() ? it->get<std::string>()
                                       : "false";
  } else {
    p.manage_stock = "false";
  }
  if (auto it = j.find("stock_quantity"); it != j.end() && it->is_number()) {
    p.stock_quantity =
        it->is_number_integer() ? it->get<int64_t>() : static_cast<int64_t>(it->get<double>());
  }
  p.stock_status = StringOr(j, "stock_status");
  p.backorders = StringOr(j, "backorders");
  if (auto it = j.find("variations"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_number_integer()) p.variations.push_back(v.get<int64_t>());
    }
  }
  return p;
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

  absl::StatusOr<std::vector<std::string>> ListOrderNotes(int64_t order_id) override {
    const std::string path = absl::StrCat("/orders/", order_id, "/notes");
    auto r = Call("GET", path, {}, "");
    if (!r.ok()) return r.status();
    auto j = ParseBody(*r, "GET " + path);
    if (!j.ok()) return j.status();
    if (!j->is_array()) {
      return absl::InternalError(absl::StrCat("GET ", path, ": answer is not a JSON array"));
    }
    std::vector<std::string> notes;
    for (const auto& n : *j) {
      if (n.is_object() && n.contains("note") && n["note"].is_string()) {
        notes.push_back(n["note"].get<std::string>());
      }
    }
    return notes;
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

  absl::StatusOr<ProductsPage> ListProducts(const ListProductsQuery& query) override {
    QueryParams params;
    if (!query.skus.empty()) {
      std::string joined;
      for (const std::string& sku : query.skus) {
        absl::StrAppend(&joined, joined.empty() ? "" : ",", sku);
      }
      params.emplace_back("sku", std::move(joined));
    }
    if (!query.type.empty()) params.emplace_back("type", query.type);
    params.emplace_back("orderby", "id");
    params.emplace_back("order", "asc");
    return ListStock("/products", std::move(params), query.page, query.per_page, 0);
  }

  absl::StatusOr<ProductsPage> ListVariations(int64_t product_id, int page, int per_page) override {
    QueryParams params;
    params.emplace_back("orderby", "id");
    params.emplace_back("order", "asc");
    return ListStock(absl::StrCat("/products/", product_id, "/variations"), std::move(params), page,
                     per_page, product_id);
  }

  absl::StatusOr<std::vector<BatchItemResult>> BatchUpdateProducts(
      std::span<const StockUpdate> updates) override {
    return Batch("/products/batch", updates, 0);
  }

  absl::StatusOr<std::vector<BatchItemResult>> BatchUpdateVariations(
      int64_t product_id, std::span<const StockUpdate> updates) override {
    return Batch(absl::StrCat("/products/", product_id, "/variations/batch"), updates, product_id);
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
  absl::StatusOr<ProductsPage> ListStock(const std::string& path, QueryParams params, int page,
                                         int per_page, int64_t parent_id) {
    const std::string what = "GET " + path;
    if (page < 1 || per_page < 1 || per_page > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": page must be >= 1 and per_page in [1, 100], got page ", page,
                       " per_page ", per_page));
    }
    params.emplace_back("page", absl::StrCat(page));
    params.emplace_back("per_page", absl::StrCat(per_page));
    params.emplace_back("_fields", kStockFields);
    auto r = Call("GET", path, std::move(params), "");
    if (!r.ok()) return r.status();
    auto j = ParseBody(*r, what);
    if (!j.ok()) return j.status();
    if (!j->is_array()) return absl::InternalError(what + ": answer is not a JSON array");
    ProductsPage out;
    out.items.reserve(j->size());
    for (const auto& item : *j) {
      if (item.is_object()) out.items.push_back(ParseProductStock(item, parent_id));
    }
    const int64_t size = static_cast<int64_t>(j->size());
    const bool full = size == per_page;
    out.total = HeaderInt(*r, "X-WP-Total", int64_t{page - 1} * per_page + size + (full ? 1 : 0));
    out.total_pages =
        static_cast<int>(HeaderInt(*r, "X-WP-TotalPages", size == 0 ? 0 : page + (full ? 1 : 0)));
    return out;
  }

  absl::StatusOr<std::vector<BatchItemResult>> Batch(const std::string& path,
                                                     std::span<const StockUpdate> updates,
                                                     int64_t parent_id) {
    const std::string what = "POST " + path;
    if (updates.size() > static_cast<size_t>(kMaxBatchItems)) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", updates.size(),
                                                     " updates; WooCommerce takes at most ",
                                                     kMaxBatchItems, " per call"));
    }
    std::vector<BatchItemResult> results;
    if (updates.empty()) return results;
    nlohmann::json list = nlohmann::json::array();
    for (const StockUpdate& u : updates) {
      nlohmann::json item = {{"id", u.id}};
      if (u.stock_quantity) item["stock_quantity"] = *u.stock_quantity;
      if (u.stock_status) item["stock_status"] = *u.stock_status;
      list.push_back(std::move(item));
    }
    auto r = Call("POST", path, {}, DumpJson(nlohmann::json{{"update", std::move(list)}}));
    if (!r.ok()) return r.status();
    auto j = ParseBody(*r, what);
    if (!j.ok()) return j.status();
    const nlohmann::json* answers = nullptr;
    if (j->is_object()) {
      if (auto it = j->find("update"); it != j->end() && it->is_array()) answers = &*it;
    }
    // batch_items() answers one entry per object, in the order sent.
    if (answers == nullptr || answers->size() != updates.size()) {
      return absl::InternalError(absl::StrCat(what, ": answer has ", answers ? answers->size() : 0,
                                              " update entries for ", updates.size(), " sent"));
    }
    results.reserve(updates.size());
    for (size_t i = 0; i < updates.size(); ++i) {
      const nlohmann::json& a = (*answers)[i];
      BatchItemResult res;
      res.id = updates[i].id;
      const std::string item_what = absl::StrCat(what, " item ", updates[i].id);
      if (!a.is_object()) {
        res.status = absl::InternalError(item_what + ": answer entry is not an object");
      } else if (auto e = a.find("error"); e != a.end() && e->is_object()) {
        res.error_code = StringOr(*e, "code");
        int http_status = 400;
        if (auto d = e->find("data"); d != e->end() && d->is_object()) {
          http_status = static_cast<int>(IntOr(*d, "status", 400));
        }
        res.status =
            ClassifyItemError(http_status, res.error_code, StringOr(*e, "message"), item_what);
      } else if (IntOr(a, "id", 0) != updates[i].id) {
        res.status = absl::InternalError(
            absl::StrCat(item_what, ": answer entry is for id ", IntOr(a, "id", 0)));
      } else {
        res.stock = ParseProductStock(a, parent_id);
      }
      results.push_back(std::move(res));
    }
    return results;
  }

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
  absl::Status s = StatusForHttp(code, std::move(message));
  if (code == 429) {
    if (auto after = net::ParseRetryAfter(response.Header("Retry-After"), absl::Now())) {
      s = jobs::WithRetryAfter(std::move(s), *after);
    }
  }
  return s;
}

absl::Status ClassifyItemError(int http_status, std::string_view code, std::string_view message,
                               std::string_view what) {
  if (http_status < 400 || http_status > 599) http_status = 400;
  return StatusForHttp(http_status, absl::StrCat(core::AbslSv(what), ": HTTP ", http_status, " ",
                                                 core::AbslSv(code), ": ", core::AbslSv(message)));
}

std::unique_ptr<RestClient> NewRestClient(RestClientOptions options, net::HttpClient& http) {
  return std::make_unique<WooRestClient>(std::move(options), http);
}

}  // namespace keelson::connectors::woocommerce
