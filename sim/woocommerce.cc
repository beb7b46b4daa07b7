#include "sim/woocommerce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "connectors/woocommerce/oauth1.h"
#include "core/ids.h"
#include "core/strings.h"
#include "model/money.h"
#include "net/signature.h"

namespace keelson::sim {
namespace {

using net::http::status;
using ojson = nlohmann::ordered_json;

constexpr char kRestPrefix[] = "/wp-json/wc/v3";
constexpr int64_t kOAuthWindowSeconds = 15 * 60;  // WC_REST_Authentication's valid window

// ---------------------------------------------------------------------------------------------
// PHP json_encode

void AppendU16(std::string& out, uint32_t unit) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(unit >> shift) & 0xF]);
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when malformed.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t len = 0;
  uint32_t v = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3F);
  }
  if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (len == 4 && v < 0x10000) ||
      v > 0x10FFFF) {
    return 0;
  }
  *cp = v;
  return len;
}

void AppendPhpString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '/':
          out += "\\/";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            AppendU16(out, c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {
      AppendU16(out, 0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      AppendU16(out, 0xD800 + (cp >> 10));
      AppendU16(out, 0xDC00 + (cp & 0x3FF));
    } else {
      AppendU16(out, cp);
    }
    i += len;
  }
  out.push_back('"');
}

void AppendPhpJson(std::string& out, const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, item] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        AppendPhpString(out, k);
        out.push_back(':');
        AppendPhpJson(out, item);
      }
      out.push_back('}');
      return;
    }
    case ojson::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        AppendPhpJson(out, item);
      }
      out.push_back(']');
      return;
    }
    case ojson::value_t::string:
      AppendPhpString(out, v.get_ref<const std::string&>());
      return;
    case ojson::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
        absl::StrAppend(&out, static_cast<int64_t>(d));
      } else {
        out += v.dump();
      }
      return;
    }
    default:
      out += v.dump();  // null, booleans, integers
  }
}

// ---------------------------------------------------------------------------------------------
// WordPress-flavoured helpers

std::string FormatDate(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, absl::UTCTimeZone());
}

// rest_parse_date(): "YYYY-MM-DDTHH:MM:SS" with optional fraction and optional Z or +hh:mm.
// A date without a zone is in the site's zone, which is UTC here.
std::optional<absl::Time> ParseRestDate(std::string_view text) {
  static constexpr const char* kFormats[] = {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*SZ",
                                             "%Y-%m-%dT%H:%M:%E*S", "%Y-%m-%d %H:%M:%E*S"};
  for (const char* f : kFormats) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(f, std::string(text), absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

// PHP's rawurlencode (RFC 3986 unreserved characters kept).
std::string RawUrlEncode(std::string_view s) { return net::UrlEncode(s); }

// PHP's $_GET: decoded, the last of a repeated key wins.
std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  for (absl::string_view part : absl::StrSplit(core::AbslSv(query), '&', absl::SkipEmpty())) {
    std::string_view kv = core::StdSv(part);
    size_t eq = kv.find('=');
    std::string key = net::UrlDecode(kv.substr(0, eq), true);
    if (key.empty()) continue;
    out[key] = eq == std::string_view::npos ? "" : net::UrlDecode(kv.substr(eq + 1), true);
  }
  return out;
}

// WC_REST_Authentication::parse_header(): oauth_* pairs of an "OAuth ..." Authorization header.
std::map<std::string, std::string> ParseOAuthHeader(std::string_view header) {
  std::map<std::string, std::string> out;
  header = core::StdSv(absl::StripAsciiWhitespace(core::AbslSv(header)));
  if (!header.starts_with("OAuth ")) return out;
  header.remove_prefix(6);
  for (absl::string_view apart : absl::StrSplit(core::AbslSv(header), ',')) {
    std::string_view part = core::StdSv(absl::StripAsciiWhitespace(apart));
    size_t eq = part.find('=');
    if (eq == std::string_view::npos || !part.starts_with("oauth_")) continue;
    std::string_view value = part.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out[std::string(part.substr(0, eq))] = net::UrlDecode(value, true);
  }
  return out;
}

net::HttpResponse JsonBody(status code, std::string body) {
  return net::Text(code, std::move(body), "application/json; charset=UTF-8");
}

// WP_Error as the REST server serializes it.
net::HttpResponse WcError(int http_status, std::string_view code, std::string_view message,
                          ojson extra_data = ojson::object()) {
  ojson data = {{"status", http_status}};
  for (auto& [k, v] : extra_data.items()) data[k] = v;
  ojson j = {{"code", code}, {"message", message}, {"data", std::move(data)}};
  return JsonBody(static_cast<status>(http_status), PhpJsonEncode(j));
}

// rest_invalid_param with WordPress's per-parameter details.
net::HttpResponse InvalidParams(
    const std::vector<std::tuple<std::string, std::string, std::string>>&
        errors) {  // param, code, message
  ojson params = ojson::object();
  ojson details = ojson::object();
  std::vector<std::string> names;
  for (const auto& [param, code, message] : errors) {
    names.push_back(param);
    params[param] = message;
    details[param] = {{"code", code}, {"message", message}, {"data", nullptr}};
  }
  return WcError(400, "rest_invalid_param",
                 absl::StrCat("Invalid parameter(s): ", absl::StrJoin(names, ", ")),
                 {{"params", params}, {"details", details}});
}

// The order statuses WooCommerce 7.8's REST schema accepts (wc_get_order_statuses() minus
// "wc-"), with their labels for the status-change note.
const std::vector<std::pair<std::string, std::string>>& OrderStatuses() {
  static const auto* kStatuses = new std::vector<std::pair<std::string, std::string>>{
      {"pending", "Pending payment"}, {"processing", "Processing"}, {"on-hold", "On hold"},
      {"completed", "Completed"},     {"cancelled", "Cancelled"},   {"refunded", "Refunded"},
      {"failed", "Failed"},           {"checkout-draft", "Draft"}};
  return *kStatuses;
}

std::string StatusLabel(std::string_view slug) {
  for (const auto& [s, label] : OrderStatuses()) {
    if (s == slug) return label;
  }
  return std::string(slug);
}

bool KnownStatus(std::string_view slug) {
  for (const auto& [s, label] : OrderStatuses()) {
    if (s == slug) return true;
  }
  return false;
}

std::string StatusEnumMessage(std::string_view param) {
  std::vector<std::string> slugs;
  for (const auto& [s, label] : OrderStatuses()) slugs.push_back(s);
  std::string last = slugs.back();
  slugs.pop_back();
  return absl::StrCat(core::AbslSv(param), " is not one of ", absl::StrJoin(slugs, ", "), ", and ",
                      last, ".");
}

std::string CurrencySymbol(std::string_view code) {
  if (code == "EUR") return "\u20ac";
  if (code == "USD") return "$";
  if (code == "GBP") return "\u00a3";
  if (code == "JPY") return "\u00a5";
  return std::string(code);
}

std::string MetaValueText(const ojson& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string_view EventOf(std::string_view topic) { return topic.substr(topic.find('.') + 1); }

// wp_hash($webhook_id . time()): HMAC-MD5 under the site's salt, so two deliveries of one
// webhook within one second share the Delivery-ID.
std::string DeliveryId(std::string_view salt, int64_t webhook_id, int64_t unix_seconds) {
  const std::string data = absl::StrCat(webhook_id, unix_seconds);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_md5(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return core::HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

bool ParseBool(std::string_view v, bool* out) {
  if (v == "true" || v == "1") {
    *out = true;
    return true;
  }
  if (v == "false" || v == "0" || v.empty()) {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace

std::string PhpJsonEncode(const nlohmann::ordered_json& value) {
  std::string out;
  AppendPhpJson(out, value);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

WooCommerceSim::WooCommerceSim(Options options)
    : options_(std::move(options)),
      next_order_id_(options_.first_order_id),
      next_product_id_(options_.first_product_id) {
  if (options_.clock == nullptr) options_.clock = core::Clock::Real();
  rng_.seed(options_.seed);
  target_ = options_.webhook_target_url;
  catalog_latency_us_.store(absl::ToInt64Microseconds(options_.catalog_latency));
  webhooks_ = {{1, "order.created"}, {2, "order.updated"}, {3, "order.deleted"}};
  delivery_client_ = net::NewCurlHttpClient({.connect_timeout = absl::Seconds(5),
                                             .user_agent = options_.user_agent,
                                             .max_pooled_handles = 16});
}

WooCommerceSim::~WooCommerceSim() { Stop(); }

absl::Status WooCommerceSim::Start() {
  if (server_ != nullptr) {
    return absl::FailedPreconditionError("WooCommerceSim::Start may be called only once");
  }
  net::Router router;
  Route(router);
  server_ = std::make_unique<net::HttpServer>(
      net::HttpServerOptions{.host = options_.host,
                             .port = options_.port,
                             .threads = std::max(1, options_.http_threads),
                             .body_limit = 8 * 1024 * 1024},
      std::move(router));
  if (absl::Status s = server_->Start(); !s.ok()) return s;
  port_ = server_->port();
  started_ = true;
  async_thread_ = std::thread([this] { AsyncLoop(); });
  bool ping = false;
  {
    absl::MutexLock l(&mu_);
    ping = options_.ping_on_start && !target_.empty() && !pinged_;
    if (ping) pinged_ = true;
  }
  if (ping) SendPings();
  return absl::OkStatus();
}

void WooCommerceSim::Stop() {
  if (!started_.exchange(false)) return;
  server_->Stop();
  {
    absl::MutexLock l(&async_mu_);
    async_stop_ = true;
  }
  if (async_thread_.joinable()) async_thread_.join();
}

std::string WooCommerceSim::KeelsonStoreYaml(std::string_view id) const {
  return absl::StrCat("  - id: ", std::string(id), "\n    url: \"", url(), "\"\n    consumer_key: \"",
                      options_.consumer_key, "\"\n    consumer_secret: \"",
                      options_.consumer_secret, "\"\n    webhook_secret: \"",
                      options_.webhook_secret, "\"\n");
}

std::string WooCommerceSim::url() const {
  return absl::StrCat("http://", options_.host, ":", port_);
}

absl::Time WooCommerceSim::Now() const { return options_.clock->Now(); }

bool WooCommerceSim::Chance(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

void WooCommerceSim::SetWebhookTargets(std::vector<std::string> urls) {
  std::string first = urls.empty() ? "" : urls.front();
  {
    absl::MutexLock l(&mu_);
    more_targets_.assign(urls.size() > 1 ? urls.begin() + 1 : urls.end(), urls.end());
  }
  SetWebhookTarget(std::move(first));
}

void WooCommerceSim::SetWebhookTarget(std::string url) {
  bool ping = false;
  {
    absl::MutexLock l(&mu_);
    target_ = std::move(url);
    ping = started_ && options_.ping_on_start && !target_.empty() && !pinged_;
    if (ping) pinged_ = true;
  }
  if (ping) SendPings();
}

// ---------------------------------------------------------------------------------------------
// Orders

absl::StatusOr<int64_t> WooCommerceSim::CreateOrder(const OrderSpec& spec) {
  return Create(spec, /*deliver=*/true);
}

absl::StatusOr<int64_t> WooCommerceSim::CreateOrderSilently(const OrderSpec& spec) {
  return Create(spec, /*deliver=*/false);
}

absl::StatusOr<int64_t> WooCommerceSim::Create(const OrderSpec& spec, bool deliver) {
  const std::string currency = spec.currency.empty() ? options_.currency : spec.currency;
  if (!KnownStatus(spec.status)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown order status \"", spec.status, "\""));
  }
  std::vector<LineSpec> lines = spec.lines;
  if (lines.empty()) lines.push_back({.sku = "WID-BLUE", .quantity = 2, .price = "19.99"});

  struct PricedLine {
    const LineSpec* spec;
    model::Money unit;
    model::Money total;
  };
  std::vector<PricedLine> priced;
  int64_t items_minor = 0;
  for (const LineSpec& line : lines) {
    if (line.quantity <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line.sku, ": quantity must be positive"));
    }
    auto unit = model::ParseMoney(line.price, currency);
    if (!unit.ok()) return unit.status();
    model::Money total{unit->minor * line.quantity, currency};
    items_minor += total.minor;
    priced.push_back({&line, *unit, total});
  }
  auto shipping = model::ParseMoney(spec.shipping_total, currency);
  if (!shipping.ok()) return shipping.status();
  const model::Money zero{0, currency};
  const std::string zero_text = model::FormatMoney(zero);
  const model::Money grand{items_minor + shipping->minor, currency};

  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(Now()));
  const std::string now_text = FormatDate(now);
  const bool paid = spec.status == "processing" || spec.status == "completed";

  int64_t id = 0;
  std::string body;
  {
    absl::MutexLock l(&mu_);
    id = next_order_id_++;
    static constexpr char kAlnum[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::string order_key = "wc_order_";
    for (int i = 0; i < 13; ++i) order_key.push_back(kAlnum[rng_() % (sizeof kAlnum - 1)]);
    const std::string site = url();

    ojson meta = ojson::array();
    for (const auto& [k, v] : spec.meta) {
      meta.push_back({{"id", NextMetaIdLocked()}, {"key", k}, {"value", v}});
    }
    ojson items = ojson::array();
    for (const PricedLine& p : priced) {
      auto [it, inserted] =
          product_ids_.emplace(p.spec->sku, 10 + static_cast<int64_t>(product_ids_.size()));
      const int exp = model::CurrencyExponent(currency);
      int64_t scale = 1;
      for (int i = 0; i < exp; ++i) scale *= 10;
      ojson price = p.unit.minor % scale == 0
                        ? ojson(p.unit.minor / scale)
                        : ojson(std::strtod(model::FormatMoney(p.unit).c_str(), nullptr));
      const std::string total_text = model::FormatMoney(p.total);
      items.push_back({{"id", next_item_id_++},
                       {"name", p.spec->name.empty() ? "Product " + p.spec->sku : p.spec->name},
                       {"product_id", it->second},
                       {"variation_id", 0},
                       {"quantity", p.spec->quantity},
                       {"tax_class", ""},
                       {"subtotal", total_text},
                       {"subtotal_tax", zero_text},
                       {"total", total_text},
                       {"total_tax", zero_text},
                       {"taxes", ojson::array()},
                       {"meta_data", ojson::array()},
                       {"sku", p.spec->sku},
                       {"price", price},
                       {"image", {{"id", ""}, {"src", ""}}},
                       {"parent_name", nullptr}});
    }
    ojson shipping_lines = ojson::array();
    if (shipping->minor != 0) {
      shipping_lines.push_back({{"id", next_item_id_++},
                                {"method_title", "Flat Rate"},
                                {"method_id", "flat_rate"},
                                {"instance_id", ""},
                                {"total", model::FormatMoney(*shipping)},
                                {"total_tax", zero_text},
                                {"taxes", ojson::array()},
                                {"meta_data", ojson::array()}});
    }
    const ojson address = {{"first_name", spec.first_name},
                           {"last_name", spec.last_name},
                           {"company", ""},
                           {"address_1", "Hauptstr. 5"},
                           {"address_2", ""},
                           {"city", "Berlin"},
                           {"state", ""},
                           {"postcode", "10115"},
                           {"country", spec.country}};
    ojson billing = address;
    billing["email"] = spec.email;
    billing["phone"] = "+49301234567";
    ojson shipping_address = address;
    shipping_address["phone"] = "";
    const std::string self = absl::StrCat(site, kRestPrefix, "/orders/", id);

    ojson doc = {
        {"id", id},
        {"parent_id", 0},
        {"status", spec.status},
        {"currency", currency},
        {"version", "7.8.0"},
        {"prices_include_tax", false},
        {"date_created", now_text},
        {"date_modified", now_text},
        {"discount_total", zero_text},
        {"discount_tax", zero_text},
        {"shipping_total", model::FormatMoney(*shipping)},
        {"shipping_tax", zero_text},
        {"cart_tax", zero_text},
        {"total", model::FormatMoney(grand)},
        {"total_tax", zero_text},
        {"customer_id", 0},
        {"order_key", order_key},
        {"billing", billing},
        {"shipping", shipping_address},
        {"payment_method", "bacs"},
        {"payment_method_title", "Direct Bank Transfer"},
        {"transaction_id", ""},
        {"customer_ip_address", ""},
        {"customer_user_agent", ""},
        {"created_via", "rest-api"},
        {"customer_note", spec.customer_note},
        {"date_completed", spec.status == "completed" ? ojson(now_text) : ojson(nullptr)},
        {"date_paid", paid ? ojson(now_text) : ojson(nullptr)},
        {"cart_hash", ""},
        {"number", absl::StrCat(id)},
        {"meta_data", meta},
        {"line_items", items},
        {"tax_lines", ojson::array()},
        {"shipping_lines", shipping_lines},
        {"fee_lines", ojson::array()},
        {"coupon_lines", ojson::array()},
        {"refunds", ojson::array()},
        {"payment_url",
         absl::StrCat(site, "/checkout/order-pay/", id, "/?pay_for_order=true&key=", order_key)},
        {"is_editable", spec.status == "pending" || spec.status == "on-hold"},
        {"needs_payment", (spec.status == "pending" || spec.status == "failed") && grand.minor > 0},
        {"needs_processing", true},
        {"date_created_gmt", now_text},
        {"date_modified_gmt", now_text},
        {"date_completed_gmt", spec.status == "completed" ? ojson(now_text) : ojson(nullptr)},
        {"date_paid_gmt", paid ? ojson(now_text) : ojson(nullptr)},
        {"currency_symbol", CurrencySymbol(currency)},
        {"_links",
         {{"self", ojson::array({{{"href", self}}})},
          {"collection", ojson::array({{{"href", absl::StrCat(site, kRestPrefix, "/orders")}}})}}}};
    Order& order = orders_[id];
    order.doc = std::move(doc);
    order.body = PhpJsonEncode(order.doc);
    body = order.body;
  }
  if (deliver) {
    Emit({"order.created", id, body}, /*reorderable=*/false);
    if (options_.updated_on_create) Emit({"order.updated", id, body}, /*reorderable=*/false);
  }
  return id;
}

void WooCommerceSim::TouchLocked(Order& order) {
  const std::string now = FormatDate(Now());
  order.doc["date_modified"] = now;
  order.doc["date_modified_gmt"] = now;
  order.body = PhpJsonEncode(order.doc);
}

absl::Status WooCommerceSim::SetStatusLocked(Order& order, std::string_view status) {
  if (!KnownStatus(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown order status \"", core::AbslSv(status), "\""));
  }
  const std::string from = order.doc["status"].get<std::string>();
  if (from == status) return absl::OkStatus();
  const std::string now = FormatDate(Now());
  order.doc["status"] = status;
  if ((status == "processing" || status == "completed") && order.doc["date_paid"].is_null()) {
    order.doc["date_paid"] = now;
    order.doc["date_paid_gmt"] = now;
  }
  if (status == "completed") {
    order.doc["date_completed"] = now;
    order.doc["date_completed_gmt"] = now;
  }
  order.doc["is_editable"] = status == "pending" || status == "on-hold";
  order.notes.push_back({.id = next_note_id_++,
                         .author = "system",
                         .date_created_gmt = now,
                         .note = absl::StrCat("Order status changed from ", StatusLabel(from),
                                              " to ", StatusLabel(status), "."),
                         .customer_note = false});
  return absl::OkStatus();
}

absl::Status WooCommerceSim::UpdateOrderStatus(int64_t id, std::string_view status) {
  std::string body;
  {
    absl::MutexLock l(&mu_);
    auto it = orders_.find(id);
    if (it == orders_.end()) return absl::NotFoundError(absl::StrCat("no order ", id));
    if (absl::Status s = SetStatusLocked(it->second, status); !s.ok()) return s;
    TouchLocked(it->second);
    body = it->second.body;
  }
  Emit({"order.updated", id, std::move(body)}, /*reorderable=*/true);
  return absl::OkStatus();
}

absl::Status WooCommerceSim::UpdateOrderStatusSilently(int64_t id, std::string_view status) {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) return absl::NotFoundError(absl::StrCat("no order ", id));
  if (absl::Status s = SetStatusLocked(it->second, status); !s.ok()) return s;
  TouchLocked(it->second);
  return absl::OkStatus();
}

absl::Status WooCommerceSim::DeleteOrder(int64_t id, bool force) {
  {
    absl::MutexLock l(&mu_);
    auto it = orders_.find(id);
    if (it == orders_.end()) return absl::NotFoundError(absl::StrCat("no order ", id));
    if (force) {
      orders_.erase(it);
    } else {
      it->second.doc["status"] = "trash";
      TouchLocked(it->second);
    }
  }
  Emit({"order.deleted", id, PhpJsonEncode(ojson{{"id", id}})}, /*reorderable=*/false);
  return absl::OkStatus();
}

std::optional<nlohmann::json> WooCommerceSim::GetOrder(int64_t id) const {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) return std::nullopt;
  return nlohmann::json::parse(it->second.body);
}

std::string WooCommerceSim::OrderBody(int64_t id) const {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  return it == orders_.end() ? std::string() : it->second.body;
}

std::vector<WooNote> WooCommerceSim::Notes(int64_t id) const {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  return it == orders_.end() ? std::vector<WooNote>() : it->second.notes;
}

std::optional<std::string> WooCommerceSim::Meta(int64_t id, std::string_view key) const {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) return std::nullopt;
  for (const auto& m : it->second.doc["meta_data"]) {
    if (m["key"] == key) return MetaValueText(m["value"]);
  }
  return std::nullopt;
}

WooSimStats WooCommerceSim::stats() const {
  WooSimStats s;
  {
    absl::MutexLock l(&mu_);
    s = stats_;
    s.orders = static_cast<int64_t>(orders_.size());
    s.deferred_pending = static_cast<int64_t>(deferred_.size());
  }
  absl::MutexLock l(&cat_mu_);
  s.products = static_cast<int64_t>(listed_.size());
  s.variations = static_cast<int64_t>(products_.size() - listed_.size());
  s.product_gets = cat_stats_.product_gets;
  s.sku_lookups = cat_stats_.sku_lookups;
  s.batch_calls = cat_stats_.batch_calls;
  s.batch_rejected = cat_stats_.batch_rejected;
  s.items_updated = cat_stats_.items_updated;
  s.items_failed = cat_stats_.items_failed;
  return s;
}

std::vector<WooDelivery> WooCommerceSim::Deliveries() const {
  absl::MutexLock l(&mu_);
  return {deliveries_.begin(), deliveries_.end()};
}

bool WooCommerceSim::WebhookActive(std::string_view topic) const {
  absl::MutexLock l(&mu_);
  for (const Webhook& w : webhooks_) {
    if (w.topic == topic) return w.active;
  }
  return false;
}

void WooCommerceSim::ReenableWebhooks() {
  absl::MutexLock l(&mu_);
  for (Webhook& w : webhooks_) {
    w.active = true;
    w.failures = 0;
  }
}

void WooCommerceSim::FailNextRestRequests(int count, int http_status, int retry_after_seconds) {
  absl::MutexLock l(&mu_);
  fail_next_ = count;
  fail_status_ = http_status;
  fail_retry_after_ = retry_after_seconds;
}

// ---------------------------------------------------------------------------------------------
// Webhook delivery

void WooCommerceSim::Emit(Event event, bool reorderable) {
  std::optional<Event> held;
  bool duplicate = false;
  {
    absl::MutexLock l(&mu_);
    auto it = deferred_.find(event.order_id);
    if (it != deferred_.end()) {
      held = std::move(it->second);
      deferred_.erase(it);
    } else if (reorderable && Chance(options_.reorder_probability)) {
      // Held back as a slow in-flight delivery would be: it lands after the next one.
      deferred_.emplace(event.order_id, std::move(event));
      return;
    }
    duplicate = Chance(options_.duplicate_probability);
  }
  SendOne(event);
  if (duplicate) {
    SendOne(event);
    absl::MutexLock l(&mu_);
    ++stats_.duplicates_sent;
  }
  if (held) {
    SendOne(*held);
    absl::MutexLock l(&mu_);
    ++stats_.reordered_sent;
  }
}

void WooCommerceSim::FlushDeferred() {
  std::map<int64_t, Event> held;
  {
    absl::MutexLock l(&mu_);
    held.swap(deferred_);
  }
  for (auto& [id, event] : held) {
    SendOne(event);
    absl::MutexLock l(&mu_);
    ++stats_.reordered_sent;
  }
}

void WooCommerceSim::SendOne(const Event& event) {
  std::string target;
  int64_t webhook_id = 0;
  {
    absl::MutexLock l(&mu_);
    if (target_.empty()) {
      ++stats_.skipped_no_target;
      return;
    }
    target = target_;
    if (!more_targets_.empty()) {
      const uint64_t n = more_targets_.size() + 1;
      const uint64_t k = next_target_++ % n;
      if (k > 0) target = more_targets_[k - 1];
    }
    for (const Webhook& w : webhooks_) {
      if (w.topic != event.topic) continue;
      if (!w.active) {
        ++stats_.skipped_disabled;
        return;
      }
      webhook_id = w.id;
    }
  }
  const std::string_view topic = event.topic;
  net::OutboundRequest req;
  req.method = "POST";
  req.url = target;
  req.timeout = options_.delivery_timeout;
  req.body = event.body;
  req.headers = {
      {"Referer", target},
      {"Content-Type", "application/json"},
      {"X-WC-Webhook-Source", url() + "/"},
      {"X-WC-Webhook-Topic", std::string(topic)},
      {"X-WC-Webhook-Resource", std::string(topic.substr(0, topic.find('.')))},
      {"X-WC-Webhook-Event", std::string(EventOf(topic))},
      {"X-WC-Webhook-Signature", net::HmacSha256Base64(options_.webhook_secret, event.body)},
      {"X-WC-Webhook-ID", absl::StrCat(webhook_id)},
      {"X-WC-Webhook-Delivery-ID", DeliveryId(absl::StrCat("keelson-sim-salt-", options_.seed),
                                              webhook_id, absl::ToUnixSeconds(Now()))},
      {"Connection", "close"}};
  auto res = delivery_client_->Send(req);
  {
    // Several targets: a connection that fails outright goes to the next one (the balancer's
    // retry); an HTTP answer, even an error, is final.
    std::string next;
    {
      absl::MutexLock l(&mu_);
      if (!res.ok() && !more_targets_.empty()) {
        std::vector<std::string> all = {target_};
        all.insert(all.end(), more_targets_.begin(), more_targets_.end());
        auto it = std::find(all.begin(), all.end(), target);
        next = all[(static_cast<size_t>(it - all.begin()) + 1) % all.size()];
      }
    }
    if (!next.empty() && next != target) {
      req.url = next;
      for (auto& [name, value] : req.headers) {
        if (name == "Referer") value = next;
      }
      res = delivery_client_->Send(req);
    }
  }
  const int code = res.ok() ? res->status : 0;
  const bool ok = code >= 200 && code <= 302;

  absl::MutexLock l(&mu_);
  ++stats_.webhooks_sent;
  if (!ok) ++stats_.webhooks_failed;
  for (Webhook& w : webhooks_) {
    if (w.id != webhook_id) continue;
    if (ok) {
      w.failures = 0;
    } else if (w.failures >= options_.max_consecutive_failures - 1) {
      w.active = false;  // WC_Webhook::failed_delivery(): disabled, no more deliveries
    } else {
      ++w.failures;
    }
  }
  if (options_.max_recorded_deliveries > 0) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"User-Agent", options_.user_agent}};
    headers.insert(headers.end(), req.headers.begin(), req.headers.end());
    deliveries_.push_back({webhook_id, event.topic, std::move(headers), event.body, code, ok});
    while (deliveries_.size() > options_.max_recorded_deliveries) deliveries_.pop_front();
  }
}

void WooCommerceSim::SendPings() {
  std::string target;
  std::vector<int64_t> ids;
  {
    absl::MutexLock l(&mu_);
    target = target_;
    for (const Webhook& w : webhooks_) ids.push_back(w.id);
  }
  for (int64_t id : ids) {
    net::OutboundRequest req;
    req.method = "POST";
    req.url = target;
    req.timeout = options_.delivery_timeout;
    req.body = absl::StrCat("webhook_id=", id);
    req.headers = {{"Referer", target},
                   {"Connection", "close"},
                   {"Content-Type", "application/x-www-form-urlencoded"}};
    auto res = delivery_client_->Send(req);
    const int code = res.ok() ? res->status : 0;
    absl::MutexLock l(&mu_);
    ++stats_.pings_sent;
    if (code != 200) ++stats_.pings_failed;
    if (options_.max_recorded_deliveries > 0) {
      std::vector<std::pair<std::string, std::string>> headers = {
          {"User-Agent", options_.user_agent}};
      headers.insert(headers.end(), req.headers.begin(), req.headers.end());
      deliveries_.push_back({0, "ping", std::move(headers), req.body, code, code == 200});
      while (deliveries_.size() > options_.max_recorded_deliveries) deliveries_.pop_front();
    }
  }
}

void WooCommerceSim::EnqueueAsync(Event event) {
  absl::MutexLock l(&async_mu_);
  async_queue_.push_back(std::move(event));
  ++async_enqueued_;
}

void WooCommerceSim::AsyncLoop() {
  while (true) {
    Event event;
    {
      absl::MutexLock l(&async_mu_);
      async_mu_.Await(absl::Condition(
          +[](WooCommerceSim* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->async_mu_) {
            return self->async_stop_ || !self->async_queue_.empty();
          },
          this));
      if (async_queue_.empty()) return;  // stopping with nothing left
      event = std::move(async_queue_.front());
      async_queue_.pop_front();
    }
    const bool reorderable = event.topic == "order.updated";
    Emit(std::move(event), reorderable);
    absl::MutexLock l(&async_mu_);
    ++async_done_;
  }
}

void WooCommerceSim::WaitForAsyncDeliveries() {
  absl::MutexLock l(&async_mu_);
  const int64_t target = async_enqueued_;
  struct Arg {
    WooCommerceSim* self;
    int64_t target;
  } arg{this, target};
  async_mu_.Await(absl::Condition(
      +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return a->self->async_done_ >= a->target || a->self->async_stop_;
      },
      &arg));
}

WooBurstResult WooCommerceSim::EmitBurst(int orders, int threads, const OrderSpec& spec) {
  threads = std::max(1, std::min(threads, std::max(1, orders)));
  std::vector<std::vector<int64_t>> ids(threads);
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    const int count = orders / threads + (t < orders % threads ? 1 : 0);
    workers.emplace_back([this, t, count, &ids, &spec] {
      for (int i = 0; i < count; ++i) {
        auto id = CreateOrder(spec);
        if (id.ok()) ids[t].push_back(*id);
      }
    });
  }
  for (auto& w : workers) w.join();
  WooBurstResult result;
  result.elapsed = absl::Now() - start;
  for (auto& v : ids) result.order_ids.insert(result.order_ids.end(), v.begin(), v.end());
  return result;
}

std::future<WooBurstResult> WooCommerceSim::EmitBurstAsync(int orders, int threads,
                                                           const OrderSpec& spec) {
  return std::async(std::launch::async,
                    [this, orders, threads, spec] { return EmitBurst(orders, threads, spec); });
}

// ---------------------------------------------------------------------------------------------
// REST API

void WooCommerceSim::Route(net::Router& router) {
  using net::http::verb;
  auto rest = [this](net::HttpRequest& req, net::Responder respond) {
    HandleRest(req, std::move(respond));
  };
  const std::string orders = absl::StrCat(kRestPrefix, "/orders");
  router.Add(verb::get, orders, rest);
  router.Add(verb::get, orders + "/{id}", rest);
  router.Add(verb::put, orders + "/{id}", rest);
  router.Add(verb::post, orders + "/{id}", rest);
  router.Add(verb::patch, orders + "/{id}", rest);
  router.Add(verb::get, orders + "/{id}/notes", rest);
  router.Add(verb::post, orders + "/{id}/notes", rest);

  auto products = [this](net::HttpRequest& req, net::Responder respond) {
    HandleProducts(req, std::move(respond));
  };
  // Batch routes first: the router takes the first pattern that matches.
  const std::string prods = absl::StrCat(kRestPrefix, "/products");
  router.Add(verb::get, prods, products);
  router.Add(verb::post, prods + "/batch", products);
  router.Add(verb::put, prods + "/batch", products);
  router.Add(verb::patch, prods + "/batch", products);
  router.Add(verb::get, prods + "/{id}", products);
  router.Add(verb::put, prods + "/{id}", products);
  router.Add(verb::post, prods + "/{id}", products);
  router.Add(verb::patch, prods + "/{id}", products);
  router.Add(verb::get, prods + "/{id}/variations", products);
  router.Add(verb::post, prods + "/{id}/variations/batch", products);
  router.Add(verb::put, prods + "/{id}/variations/batch", products);
  router.Add(verb::patch, prods + "/{id}/variations/batch", products);

  auto admin = [this](net::HttpRequest& req, net::Responder respond) {
    HandleAdmin(req, std::move(respond));
  };
  router.Add(verb::post, "/_sim/orders", admin);
  router.Add(verb::put, "/_sim/orders/{id}/status", admin);
  router.Add(verb::delete_, "/_sim/orders/{id}", admin);
  router.Add(verb::put, "/_sim/webhook-target", admin);
  router.Add(verb::get, "/_sim/stats", admin);
  router.Add(verb::post, "/_sim/webhooks/reenable", admin);
  auto catalog = [this](net::HttpRequest& req, net::Responder respond) {
    HandleCatalogAdmin(req, std::move(respond));
  };
  router.Add(verb::post, "/_sim/products", catalog);
  router.Add(verb::get, "/_sim/products/stock", catalog);
  router.Add(verb::put, "/_sim/products/stock", catalog);
  router.Add(verb::post, "/_sim/products/fail-next", catalog);
}

std::optional<net::HttpResponse> WooCommerceSim::Authenticate(const net::HttpRequest& req,
                                                              std::string_view anonymous_code,
                                                              std::string_view anonymous_message) {
  // Follows WC_REST_Authentication over plain HTTP: Basic auth is only looked at over SSL, so
  // only OAuth 1.0a can authenticate here; without it the request is anonymous and the
  // endpoint's own permission check answers 401.
  std::map<std::string, std::string> params = ParseQuery(req.query);
  for (auto& [k, v] : ParseOAuthHeader(req.Header("Authorization"))) params[k] = v;

  auto fail = [](std::string_view code, std::string_view message) {
    return WcError(401, code, message);
  };
  static constexpr const char* kRequired[] = {"oauth_consumer_key", "oauth_timestamp",
                                              "oauth_nonce", "oauth_signature",
                                              "oauth_signature_method"};
  std::vector<std::string> missing;
  for (const char* name : kRequired) {
    auto it = params.find(name);
    if (it == params.end() || it->second.empty()) missing.emplace_back(name);
  }
  if (missing.size() == std::size(kRequired)) return fail(anonymous_code, anonymous_message);
  if (!missing.empty()) {
    return fail(
        "woocommerce_rest_authentication_missing_parameter",
        absl::StrCat(missing.size() == 1 ? "Missing OAuth parameter " : "Missing OAuth parameters ",
                     absl::StrJoin(missing, ", ")));
  }
  if (params["oauth_consumer_key"] != options_.consumer_key) {
    return fail("woocommerce_rest_authentication_error", "Consumer key is invalid.");
  }

  // check_oauth_signature(): the base URI is the home URL plus the request path; parameters
  // are sorted by key (strcmp), each key and value rawurlencoded, each "k=v" rawurlencoded
  // again and the pairs joined with "%26".
  std::string consumer_signature = params["oauth_signature"];
  std::replace(consumer_signature.begin(), consumer_signature.end(), ' ', '+');
  consumer_signature = net::UrlDecode(consumer_signature, false);
  params.erase("oauth_signature");
  std::vector<std::string> pairs;
  for (const auto& [k, v] : params) {
    pairs.push_back(RawUrlEncode(absl::StrCat(RawUrlEncode(k), "=", RawUrlEncode(v))));
  }
  std::string method(req.raw.method_string());
  const std::string string_to_sign = absl::StrCat(
      method, "&", RawUrlEncode(absl::StrCat(url(), req.path)), "&", absl::StrJoin(pairs, "%26"));
  auto signature_method =
      connectors::woocommerce::ParseOAuthSignatureMethod(params["oauth_signature_method"]);
  if (!signature_method.ok()) {
    return fail("woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.");
  }
  const std::string expected = connectors::woocommerce::OAuthSign(
      *signature_method, options_.consumer_secret, string_to_sign);
  if (expected.size() != consumer_signature.size() ||
      CRYPTO_memcmp(expected.data(), consumer_signature.data(), expected.size()) != 0) {
    return fail("woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.");
  }

  // check_oauth_timestamp_and_nonce().
  int64_t timestamp = 0;
  const int64_t now = absl::ToUnixSeconds(Now());
  if (!absl::SimpleAtoi(params["oauth_timestamp"], &timestamp) ||
      timestamp < now - kOAuthWindowSeconds || timestamp > now + kOAuthWindowSeconds) {
    return fail("woocommerce_rest_authentication_error", "Invalid timestamp.");
  }
  {
    absl::MutexLock l(&mu_);
    const std::string& nonce = params["oauth_nonce"];
    for (const auto& [ts, used] : nonces_) {
      if (used.contains(nonce)) {
        return fail("woocommerce_rest_authentication_error",
                    "Invalid nonce - nonce has already been used.");
      }
    }
    nonces_[timestamp].insert(nonce);
    nonces_.erase(nonces_.begin(), nonces_.lower_bound(now - kOAuthWindowSeconds));
  }

  // check_permissions().
  const std::string& perms = options_.key_permissions;
  const bool reading = method == "GET" || method == "HEAD";
  if (reading && perms != "read" && perms != "read_write") {
    return fail("woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.");
  }
  if (!reading && perms != "write" && perms != "read_write") {
    return fail("woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.");
  }
  return std::nullopt;
}

std::optional<net::HttpResponse> WooCommerceSim::Gate(const net::HttpRequest& req,
                                                      std::string_view anonymous_code,
                                                      std::string_view anonymous_message) {
  {
    absl::MutexLock l(&mu_);
    ++stats_.rest_requests;
  }
  if (auto denied = Authenticate(req, anonymous_code, anonymous_message)) {
    absl::MutexLock l(&mu_);
    ++stats_.rest_unauthorized;
    return denied;
  }
  absl::MutexLock l(&mu_);
  if (fail_next_ > 0) {
    --fail_next_;
    net::HttpResponse res =
        fail_status_ == 429
            ? WcError(429, "woocommerce_rest_too_many_requests", "Too many requests.")
            : WcError(fail_status_, "internal_server_error",
                      "There has been a critical error on this website.");
    if (fail_retry_after_ > 0) res.set("Retry-After", absl::StrCat(fail_retry_after_));
    return res;
  }
  return std::nullopt;
}

void WooCommerceSim::HandleRest(net::HttpRequest& req, net::Responder respond) {
  using net::http::verb;
  const verb method = req.raw.method();
  const bool notes = absl::EndsWith(req.path, "/notes");
  const bool collection = !req.params.contains("id");
  std::string_view code = "woocommerce_rest_cannot_view";
  std::string_view message = "Sorry, you cannot view this resource.";
  if (collection) {
    message = "Sorry, you cannot list resources.";
  } else if (notes && method == verb::post) {
    code = "woocommerce_rest_cannot_create";
    message = "Sorry, you are not allowed to create resources.";
  } else if (notes) {
    message = "Sorry, you cannot list resources.";
  } else if (method != verb::get) {
    code = "woocommerce_rest_cannot_edit";
    message = "Sorry, you are not allowed to edit this resource.";
  }
  if (auto denied = Gate(req, code, message)) {
    respond(std::move(*denied));
    return;
  }

  if (collection) {
    respond(ListOrders(req));
    return;
  }
  int64_t id = 0;
  if (!absl::SimpleAtoi(req.params["id"], &id) || id <= 0) {
    respond(
        WcError(404, "rest_no_route", "No route was found matching the URL and request method"));
    return;
  }
  if (notes) {
    respond(method == verb::post ? CreateNoteRest(id, req) : ListNotesRest(id));
    return;
  }
  if (method == verb::get) {
    respond(GetOrderRest(id));
    return;
  }
  std::optional<Event> event;
  respond(UpdateOrderRest(id, req, &event));
  if (event) EnqueueAsync(std::move(*event));
}

net::HttpResponse WooCommerceSim::GetOrderRest(int64_t id) {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) {
    return WcError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
  }
  return JsonBody(status::ok, it->second.body);
}

net::HttpResponse WooCommerceSim::ListOrders(const net::HttpRequest& req) {
  const std::map<std::string, std::string> q = ParseQuery(req.query);
  auto get = [&q](const std::string& k) -> std::optional<std::string> {
    auto it = q.find(k);
    if (it == q.end()) return std::nullopt;
    return it->second;
  };
  std::vector<std::tuple<std::string, std::string, std::string>> errors;
  auto int_param = [&](const std::string& name, int64_t def, int64_t min, int64_t max) {
    auto v = get(name);
    if (!v) return def;
    int64_t n = 0;
    if (!absl::SimpleAtoi(*v, &n)) {
      errors.emplace_back(name, "rest_invalid_type",
                          absl::StrCat(name, " is not of type integer."));
      return def;
    }
    if (n < min || n > max) {
      errors.emplace_back(name, "rest_out_of_bounds",
                          max == INT64_MAX
                              ? absl::StrCat(name, " must be greater than or equal to ", min)
                              : absl::StrCat(name, " must be between ", min, " (inclusive) and ",
                                             max, " (inclusive)"));
      return def;
    }
    return n;
  };
  const int64_t page = int_param("page", 1, 1, INT64_MAX);
  const int64_t per_page = int_param("per_page", 10, 1, 100);
  const int64_t offset = int_param("offset", -1, 0, INT64_MAX);
  auto date_param = [&](const std::string& name) -> std::optional<absl::Time> {
    auto v = get(name);
    if (!v) return std::nullopt;
    auto t = ParseRestDate(*v);
    if (!t) errors.emplace_back(name, "rest_invalid_date", "Invalid date.");
    return t;
  };
  const auto after = date_param("after");
  const auto before = date_param("before");
  const auto modified_after = date_param("modified_after");
  const auto modified_before = date_param("modified_before");
  bool dates_are_gmt = false;
  if (auto v = get("dates_are_gmt"); v && !ParseBool(*v, &dates_are_gmt)) {
    errors.emplace_back("dates_are_gmt", "rest_invalid_type",
                        "dates_are_gmt is not of type boolean.");
  }
  const std::string orderby = get("orderby").value_or("date");
  if (orderby != "date" && orderby != "id" && orderby != "include" && orderby != "title" &&
      orderby != "slug" && orderby != "modified") {
    errors.emplace_back("orderby", "rest_not_in_enum",
                        "orderby is not one of date, id, include, title, slug, and modified.");
  }
  const std::string order = get("order").value_or("desc");
  if (order != "asc" && order != "desc") {
    errors.emplace_back("order", "rest_not_in_enum", "order is not one of asc and desc.");
  }
  std::set<std::string> statuses;
  for (absl::string_view s :
       absl::StrSplit(get("status").value_or("any"), ',', absl::SkipEmpty())) {
    std::string slug(s);
    if (slug != "any" && slug != "trash" && !KnownStatus(slug)) {
      errors.emplace_back("status", "rest_not_in_enum", StatusEnumMessage("status[0]"));
    }
    statuses.insert(slug);
  }
  if (!errors.empty()) return InvalidParams(errors);
  // With dates_are_gmt=false the bounds are in the site's zone, which is UTC here, so both
  // compare against the same instants.
  (void)dates_are_gmt;

  struct Row {
    absl::Time created, modified;
    int64_t id;
    const std::string* body;
  };
  absl::MutexLock l(&mu_);
  std::vector<Row> rows;
  for (const auto& [id, o] : orders_) {
    const std::string st = o.doc["status"].get<std::string>();
    const bool wanted = statuses.contains(st) || (statuses.contains("any") && st != "trash");
    if (!wanted) continue;
    auto created = ParseRestDate(o.doc["date_created_gmt"].get<std::string>());
    auto modified = ParseRestDate(o.doc["date_modified_gmt"].get<std::string>());
    if (!created || !modified) continue;
    // WP_Date_Query's after/before are exclusive.
    if (after && !(*created > *after)) continue;
    if (before && !(*created < *before)) continue;
    if (modified_after && !(*modified > *modified_after)) continue;
    if (modified_before && !(*modified < *modified_before)) continue;
    rows.push_back({*created, *modified, id, &o.body});
  }
  const bool asc = order == "asc";
  std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    // "date ID" / "modified ID": ties broken by id in the same direction.
    auto key = [&](const Row& r) {
      absl::Time t = orderby == "date"       ? r.created
                     : orderby == "modified" ? r.modified
                                             : absl::UnixEpoch();
      return std::make_pair(t, r.id);
    };
    return asc ? key(a) < key(b) : key(b) < key(a);
  });
  const int64_t total = static_cast<int64_t>(rows.size());
  const int64_t pages = (total + per_page - 1) / per_page;
  const int64_t first = offset >= 0 ? offset : (page - 1) * per_page;
  std::string body = "[";
  for (int64_t i = first; i < total && i < first + per_page; ++i) {
    if (i > first) body.push_back(',');
    body += *rows[i].body;
  }
  body.push_back(']');

  net::HttpResponse res = JsonBody(status::ok, std::move(body));
  res.set("X-WP-Total", absl::StrCat(total));
  res.set("X-WP-TotalPages", absl::StrCat(pages));
  std::vector<std::string> kept;
  for (const auto& [k, v] : q) {
    if (k == "page" || k.starts_with("oauth_")) continue;
    kept.push_back(absl::StrCat(RawUrlEncode(k), "=", RawUrlEncode(v)));
  }
  auto link = [&](int64_t p) {
    std::vector<std::string> parts = kept;
    parts.push_back(absl::StrCat("page=", p));
    return absl::StrCat("<", url(), kRestPrefix, "/orders?", absl::StrJoin(parts, "&"), ">");
  };
  std::vector<std::string> links;
  if (page > 1) links.push_back(absl::StrCat(link(std::min(page - 1, pages)), "; rel=\"prev\""));
  if (pages > page) links.push_back(absl::StrCat(link(page + 1), "; rel=\"next\""));
  if (!links.empty()) res.set("Link", absl::StrJoin(links, ", "));
  return res;
}

net::HttpResponse WooCommerceSim::UpdateOrderRest(int64_t id, const net::HttpRequest& req,
                                                  std::optional<Event>* event) {
  nlohmann::json body = nlohmann::json::object();
  if (!req.raw.body().empty()) {
    body = nlohmann::json::parse(req.raw.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return WcError(400, "rest_invalid_json", "Invalid JSON body passed.");
    }
  }
  std::vector<std::tuple<std::string, std::string, std::string>> errors;
  std::optional<std::string> new_status;
  if (auto it = body.find("status"); it != body.end()) {
    if (!it->is_string() || !KnownStatus(it->get<std::string>())) {
      errors.emplace_back("status", "rest_not_in_enum", StatusEnumMessage("status"));
    } else {
      new_status = it->get<std::string>();
    }
  }
  const nlohmann::json* meta = nullptr;
  if (auto it = body.find("meta_data"); it != body.end()) {
    bool ok = it->is_array();
    for (size_t i = 0; ok && i < it->size(); ++i) {
      const auto& m = (*it)[i];
      ok = m.is_object() && m.contains("key") && m["key"].is_string();
      if (!ok) {
        errors.emplace_back("meta_data", "rest_invalid_type",
                            absl::StrCat("meta_data[", i, "][key] is not of type string."));
      }
    }
    if (!it->is_array()) {
      errors.emplace_back("meta_data", "rest_invalid_type", "meta_data is not of type array.");
    }
    if (ok) meta = &*it;
  }
  if (!errors.empty()) return InvalidParams(errors);

  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) {
    return WcError(400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
  }
  Order& order = it->second;
  const std::string before = order.body;
  if (new_status) (void)SetStatusLocked(order, *new_status);
  if (meta != nullptr) {
    ojson& entries = order.doc["meta_data"];
    for (const auto& m : *meta) {
      const std::string key = m["key"].get<std::string>();
      const ojson value = m.contains("value") ? ojson::parse(m["value"].dump()) : ojson("");
      bool done = false;
      if (auto mid = m.find("id"); mid != m.end() && mid->is_number_integer()) {
        for (auto& e : entries) {
          if (e["id"] == *mid) {
            e["key"] = key;
            e["value"] = value;
            done = true;
          }
        }
      }
      if (!done) {
        // update_meta_data(): the first entry with the key takes the value, others go.
        ojson kept = ojson::array();
        for (auto& e : entries) {
          if (e["key"] != key) {
            kept.push_back(e);
          } else if (!done) {
            e["value"] = value;
            kept.push_back(e);
            done = true;
          }
        }
        if (!done) kept.push_back({{"id", NextMetaIdLocked()}, {"key", key}, {"value", value}});
        entries = std::move(kept);
      }
    }
  }
  order.body = PhpJsonEncode(order.doc);
  if (order.body != before) {
    TouchLocked(order);
    *event = Event{"order.updated", id, order.body};
  }
  return JsonBody(status::ok, order.body);
}

net::HttpResponse WooCommerceSim::CreateNoteRest(int64_t id, const net::HttpRequest& req) {
  nlohmann::json body = nlohmann::json::parse(req.raw.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return WcError(400, "rest_invalid_json", "Invalid JSON body passed.");
  }
  auto note = body.find("note");
  if (note == body.end()) {
    return WcError(400, "rest_missing_callback_param", "Missing parameter(s): note",
                   {{"params", ojson::array({"note"})}});
  }
  if (!note->is_string()) {
    return InvalidParams({{"note", "rest_invalid_type", "note is not of type string."}});
  }
  bool customer_note = false;
  if (auto c = body.find("customer_note"); c != body.end()) {
    if (!c->is_boolean()) {
      return InvalidParams(
          {{"customer_note", "rest_invalid_type", "customer_note is not of type boolean."}});
    }
    customer_note = c->get<bool>();
  }
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) {
    return WcError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.");
  }
  if (note->get<std::string>().empty()) {
    return WcError(500, "woocommerce_api_cannot_create_order_note",
                   "Cannot create order note, please try again.");
  }
  WooNote n{.id = next_note_id_++,
            .author = "WooCommerce",
            .date_created_gmt = FormatDate(Now()),
            .note = note->get<std::string>(),
            .customer_note = customer_note};
  it->second.notes.push_back(n);
  const std::string base = absl::StrCat(url(), kRestPrefix, "/orders/", id);
  ojson j = {{"id", n.id},
             {"author", n.author},
             {"date_created", n.date_created_gmt},
             {"date_created_gmt", n.date_created_gmt},
             {"note", n.note},
             {"customer_note", n.customer_note},
             {"_links",
              {{"self", ojson::array({{{"href", absl::StrCat(base, "/notes/", n.id)}}})},
               {"collection", ojson::array({{{"href", base + "/notes"}}})},
               {"up", ojson::array({{{"href", base}}})}}}};
  net::HttpResponse res = JsonBody(status::created, PhpJsonEncode(j));
  res.set("Location", absl::StrCat(base, "/notes/", n.id));
  return res;
}

net::HttpResponse WooCommerceSim::ListNotesRest(int64_t id) {
  absl::MutexLock l(&mu_);
  auto it = orders_.find(id);
  if (it == orders_.end()) {
    return WcError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.");
  }
  ojson arr = ojson::array();
  for (auto n = it->second.notes.rbegin(); n != it->second.notes.rend(); ++n) {
    arr.push_back({{"id", n->id},
                   {"author", n->author},
                   {"date_created", n->date_created_gmt},
                   {"date_created_gmt", n->date_created_gmt},
                   {"note", n->note},
                   {"customer_note", n->customer_note}});
  }
  return JsonBody(status::ok, PhpJsonEncode(arr));
}

// ---------------------------------------------------------------------------------------------
// /_sim admin endpoints (no auth; for standalone use)

void WooCommerceSim::HandleAdmin(net::HttpRequest& req, net::Responder respond) {
  using net::http::verb;
  const verb method = req.raw.method();
  nlohmann::json body = nlohmann::json::object();
  if (!req.raw.body().empty()) {
    body = nlohmann::json::parse(req.raw.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      respond(net::Problem(status::bad_request, "Bad Request", "body must be a JSON object"));
      return;
    }
  }
  auto str = [&body](const char* k, std::string def) {
    auto it = body.find(k);
    return it != body.end() && it->is_string() ? it->get<std::string>() : def;
  };
  auto fail = [&respond](const absl::Status& s) {
    respond(net::Problem(
        s.code() == absl::StatusCode::kNotFound ? status::not_found : status::bad_request,
        "Rejected", core::StdSv(s.message())));
  };

  if (req.path == "/_sim/stats") {
    WooSimStats s = stats();
    nlohmann::json j = {{"orders", s.orders},
                        {"webhooks_sent", s.webhooks_sent},
                        {"webhooks_failed", s.webhooks_failed},
                        {"duplicates_sent", s.duplicates_sent},
                        {"reordered_sent", s.reordered_sent},
                        {"deferred_pending", s.deferred_pending},
                        {"skipped_disabled", s.skipped_disabled},
                        {"skipped_no_target", s.skipped_no_target},
                        {"pings_sent", s.pings_sent},
                        {"pings_failed", s.pings_failed},
                        {"rest_requests", s.rest_requests},
                        {"rest_unauthorized", s.rest_unauthorized},
                        {"webhooks",
                         {{"order.created", WebhookActive("order.created")},
                          {"order.updated", WebhookActive("order.updated")},
                          {"order.deleted", WebhookActive("order.deleted")}}}};
    respond(net::Json(status::ok, j.dump()));
    return;
  }
  if (req.path == "/_sim/webhook-target") {
    SetWebhookTarget(str("url", ""));
    respond(net::Json(status::ok, R"({"ok":true})"));
    return;
  }
  if (req.path == "/_sim/webhooks/reenable") {
    ReenableWebhooks();
    respond(net::Json(status::ok, R"({"ok":true})"));
    return;
  }
  if (req.path == "/_sim/orders" && method == verb::post) {
    OrderSpec spec;
    spec.status = str("status", spec.status);
    spec.email = str("email", spec.email);
    spec.first_name = str("first_name", spec.first_name);
    spec.last_name = str("last_name", spec.last_name);
    spec.currency = str("currency", "");
    spec.shipping_total = str("shipping_total", spec.shipping_total);
    spec.customer_note = str("customer_note", "");
    if (auto lines = body.find("lines"); lines != body.end() && lines->is_array()) {
      for (const auto& l : *lines) {
        if (!l.is_object()) continue;
        LineSpec line;
        if (l.contains("sku") && l["sku"].is_string()) line.sku = l["sku"];
        if (l.contains("quantity") && l["quantity"].is_number_integer()) {
          line.quantity = l["quantity"];
        }
        if (l.contains("price") && l["price"].is_string()) line.price = l["price"];
        if (l.contains("name") && l["name"].is_string()) line.name = l["name"];
        spec.lines.push_back(std::move(line));
      }
    }
    const bool silent = body.value("silent", false);
    auto id = Create(spec, /*deliver=*/false);
    if (!id.ok()) {
      fail(id.status());
      return;
    }
    respond(net::Json(status::created, nlohmann::json{{"id", *id}}.dump()));
    if (!silent) {
      // Delivered off the I/O thread, as WooCommerce's async webhooks are.
      const std::string order_body = OrderBody(*id);
      EnqueueAsync({"order.created", *id, order_body});
      if (options_.updated_on_create) EnqueueAsync({"order.updated", *id, order_body});
    }
    return;
  }
  int64_t id = 0;
  if (!absl::SimpleAtoi(req.params["id"], &id)) {
    respond(net::Problem(status::not_found, "Not Found", "no such order"));
    return;
  }
  if (method == verb::put) {  // /_sim/orders/{id}/status
    absl::Status s = UpdateOrderStatusSilently(id, str("status", ""));
    if (!s.ok()) {
      fail(s);
      return;
    }
    respond(net::Json(status::ok, R"({"ok":true})"));
    EnqueueAsync({"order.updated", id, OrderBody(id)});
    return;
  }
  // DELETE /_sim/orders/{id}
  const bool force = req.QueryParam("force") == "true";
  bool known = false;
  {
    absl::MutexLock l(&mu_);
    auto it = orders_.find(id);
    known = it != orders_.end();
    if (known && force) {
      orders_.erase(it);
    } else if (known) {
      it->second.doc["status"] = "trash";
      TouchLocked(it->second);
    }
  }
  if (!known) {
    fail(absl::NotFoundError(absl::StrCat("no order ", id)));
    return;
  }
  respond(net::Json(status::ok, R"({"ok":true})"));
  EnqueueAsync({"order.deleted", id, PhpJsonEncode(ojson{{"id", id}})});
}

// ---------------------------------------------------------------------------------------------
// Catalog: products, variations and their stock (WooCommerce 7.8's products and variations
// controllers, WC_Product::validate_props(), the variable product's stock sync)

namespace {

constexpr int kBatchLimit = 100;  // woocommerce_rest_batch_items_limit's default

bool KnownStockStatus(std::string_view s) {
  return s == "instock" || s == "outofstock" || s == "onbackorder";
}

bool KnownBackorders(std::string_view s) { return s == "no" || s == "notify" || s == "yes"; }

// WC_Product::validate_props() for a product that manages stock, with
// woocommerce_notify_no_stock_amount at its default of 0.
std::string StatusForQuantity(int64_t quantity, std::string_view backorders) {
  if (quantity > 0) return "instock";
  return backorders != "no" ? "onbackorder" : "outofstock";
}

// wc_stock_amount(): PHP's intval of a number or a numeric string; anything else is 0.
int64_t StockAmount(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return static_cast<int64_t>(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_string()) {
    const std::string& text = v.get_ref<const std::string&>();
    double d = 0;
    if (absl::SimpleAtod(text, &d) && std::isfinite(d)) return static_cast<int64_t>(d);
  }
  return 0;
}

// wc_string_to_bool().
bool StringToBool(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) {
    const std::string t = absl::AsciiStrToLower(v.get<std::string>());
    return t == "1" || t == "yes" || t == "true";
  }
  return false;
}

std::string Slugify(std::string_view text) {
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string PriceHtml(std::string_view currency, std::string_view amount) {
  std::string symbol = currency == "EUR"   ? "&euro;"
                       : currency == "USD" ? "&#36;"
                       : currency == "GBP" ? "&pound;"
                                           : std::string(currency);
  return absl::StrCat(
      "<span class=\"woocommerce-Price-amount amount\"><bdi><span "
      "class=\"woocommerce-Price-currencySymbol\">",
      symbol, "</span>", core::AbslSv(amount), "</bdi></span>");
}

// The _fields global parameter: the top-level fields to keep (empty = all).
std::set<std::string> FieldsParam(const std::map<std::string, std::string>& q) {
  std::set<std::string> out;
  auto it = q.find("_fields");
  if (it == q.end()) return out;
  for (absl::string_view f : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
    std::string name(absl::StripAsciiWhitespace(f));
    if (!name.empty()) out.insert(std::move(name));
  }
  return out;
}

// Builds an ordered_json object field by field, leaving out what _fields does not ask for.
class DocBuilder {
 public:
  explicit DocBuilder(const std::set<std::string>& fields) : fields_(fields) {}
  template <typename T>
  DocBuilder& operator()(const char* key, T&& value) {
    if (fields_.empty() || fields_.contains(key)) {
      doc_.push_back({key, ojson(std::forward<T>(value))});  // ordered_map append, no lookup
    }
    return *this;
  }
  bool wants(const char* key) const { return fields_.empty() || fields_.contains(key); }
  ojson take() { return std::move(doc_); }

 private:
  const std::set<std::string>& fields_;
  ojson doc_ = ojson::object();
};

// Query parameter parsing shared by the list endpoints, as WordPress validates them.
struct ListParams {
  int64_t page = 1;
  int64_t per_page = 10;
  bool asc = false;
  std::vector<std::tuple<std::string, std::string, std::string>> errors;
};

ListParams ParseListParams(const std::map<std::string, std::string>& q,
                           const std::vector<std::string>& orderby_enum) {
  ListParams out;
  auto int_param = [&](const std::string& name, int64_t def, int64_t min, int64_t max) {
    auto it = q.find(name);
    if (it == q.end()) return def;
    int64_t n = 0;
    if (!absl::SimpleAtoi(it->second, &n)) {
      out.errors.emplace_back(name, "rest_invalid_type",
                              absl::StrCat(name, " is not of type integer."));
      return def;
    }
    if (n < min || n > max) {
      out.errors.emplace_back(name, "rest_out_of_bounds",
                              max == INT64_MAX
                                  ? absl::StrCat(name, " must be greater than or equal to ", min)
                                  : absl::StrCat(name, " must be between ", min,
                                                 " (inclusive) and ", max, " (inclusive)"));
      return def;
    }
    return n;
  };
  out.page = int_param("page", 1, 1, INT64_MAX);
  out.per_page = int_param("per_page", 10, 1, 100);
  if (auto it = q.find("order"); it != q.end()) {
    if (it->second != "asc" && it->second != "desc") {
      out.errors.emplace_back("order", "rest_not_in_enum", "order is not one of asc and desc.");
    }
    out.asc = it->second == "asc";
  }
  if (auto it = q.find("orderby"); it != q.end()) {
    if (std::find(orderby_enum.begin(), orderby_enum.end(), it->second) == orderby_enum.end()) {
      std::vector<std::string> head(orderby_enum.begin(), orderby_enum.end() - 1);
      out.errors.emplace_back("orderby", "rest_not_in_enum",
                              absl::StrCat("orderby is not one of ", absl::StrJoin(head, ", "),
                                           ", and ", orderby_enum.back(), "."));
    }
  }
  return out;
}

// One page of `ids` (ascending) in the requested direction.
std::vector<int64_t> PageOf(const std::vector<int64_t>& ids, const ListParams& p) {
  std::vector<int64_t> out;
  const int64_t total = static_cast<int64_t>(ids.size());
  const int64_t first = (p.page - 1) * p.per_page;
  for (int64_t i = first; i < total && i < first + p.per_page; ++i) {
    out.push_back(p.asc ? ids[i] : ids[total - 1 - i]);
  }
  return out;
}

net::HttpResponse Paged(ojson items, int64_t total, int64_t per_page) {
  net::HttpResponse res = JsonBody(status::ok, PhpJsonEncode(items));
  res.set("X-WP-Total", absl::StrCat(total));
  res.set("X-WP-TotalPages", absl::StrCat((total + per_page - 1) / per_page));
  return res;
}

}  // namespace

absl::StatusOr<WooProductIds> WooCommerceSim::AddProduct(const WooProductSpec& spec) {
  if (spec.type != "simple" && spec.type != "variable") {
    return absl::InvalidArgumentError(
        absl::StrCat("product type must be simple or variable, got \"", spec.type, "\""));
  }
  auto check = [](const std::string& sku, const std::string& status, const std::string& bo) {
    if (sku.empty()) return absl::InvalidArgumentError("a SKU is required");
    if (!KnownStockStatus(status)) {
      return absl::InvalidArgumentError(absl::StrCat(sku, ": unknown stock_status ", status));
    }
    if (!KnownBackorders(bo)) {
      return absl::InvalidArgumentError(absl::StrCat(sku, ": unknown backorders ", bo));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = check(spec.sku, spec.stock_status, spec.backorders); !s.ok()) return s;
  std::set<std::string> skus = {spec.sku};
  for (const WooVariationSpec& v : spec.variations) {
    if (absl::Status s = check(v.sku, v.stock_status, v.backorders); !s.ok()) return s;
    if (!skus.insert(v.sku).second) {
      return absl::AlreadyExistsError(absl::StrCat("SKU ", v.sku, " given twice"));
    }
  }
  if (spec.type == "simple" && !spec.variations.empty()) {
    return absl::InvalidArgumentError("a simple product has no variations");
  }
  const std::string now = FormatDate(Now());
  absl::MutexLock l(&cat_mu_);
  for (const std::string& sku : skus) {
    if (skus_.contains(sku)) {
      return absl::AlreadyExistsError(
          absl::StrCat("product_invalid_sku: Invalid or duplicated SKU. (", sku, ")"));
    }
  }
  WooProductIds ids;
  Product p;
  p.id = ids.id = next_product_id_++;
  p.type = spec.type;
  p.sku = spec.sku;
  p.name = spec.name.empty() ? "Product " + spec.sku : spec.name;
  p.slug = Slugify(p.name);
  p.regular_price = spec.type == "simple" ? spec.regular_price : "";
  p.manage_stock = spec.manage_stock;
  p.stock_quantity = spec.stock_quantity;
  p.stock_status = spec.stock_status;
  p.backorders = spec.backorders;
  p.date_created = p.date_modified = now;
  for (const WooVariationSpec& vs : spec.variations) {
    Product v;
    v.id = next_product_id_++;
    v.parent_id = p.id;
    v.type = "variation";
    v.sku = vs.sku;
    v.option = vs.option.empty() ? vs.sku : vs.option;
    v.name = absl::StrCat(p.name, " - ", v.option);
    v.slug = Slugify(v.name);
    v.regular_price = vs.regular_price;
    v.manage_stock = vs.manage_stock;
    v.stock_quantity = vs.stock_quantity;
    v.stock_status = vs.stock_status;
    v.backorders = vs.backorders;
    v.date_created = v.date_modified = now;
    ValidateStockLocked(v);
    p.children.push_back(v.id);
    ids.variation_ids.push_back(v.id);
    skus_[v.sku] = v.id;
    products_.emplace(v.id, std::move(v));
  }
  ValidateStockLocked(p);
  skus_[p.sku] = p.id;
  listed_.push_back(p.id);
  products_.emplace(p.id, std::move(p));
  SyncParentLocked(ids.id);
  return ids;
}

void WooCommerceSim::ValidateStockLocked(Product& p) {
  if (!p.manage_stock) {
    p.stock_quantity.reset();
    p.backorders = "no";
    return;
  }
  if (!p.stock_quantity) p.stock_quantity = 0;
  p.stock_status = StatusForQuantity(*p.stock_quantity, p.backorders);
}

void WooCommerceSim::SyncParentLocked(int64_t parent_id) {
  auto it = products_.find(parent_id);
  if (it == products_.end() || it->second.type != "variable") return;
  Product& parent = it->second;
  if (parent.manage_stock) return;  // its own quantity decides (ValidateStockLocked)
  // WC_Product_Variable_Data_Store_CPT: in stock if any child is, else on backorder if any
  // child is, else out of stock (also with no children at all).
  bool instock = false, backorder = false;
  for (int64_t c : parent.children) {
    const WooStock s = StockLocked(products_.at(c));
    instock |= s.stock_status == "instock";
    backorder |= s.stock_status == "onbackorder";
  }
  parent.stock_status = instock ? "instock" : backorder ? "onbackorder" : "outofstock";
}

WooStock WooCommerceSim::StockLocked(const Product& p) const {
  WooStock s;
  s.type = p.type;
  if (p.type != "variation") {
    s.product_id = p.id;
    s.manage_stock = p.manage_stock ? "true" : "false";
    s.stock_quantity = p.stock_quantity;
    s.stock_status = p.stock_status;
    s.backorders = p.backorders;
    return s;
  }
  s.product_id = p.parent_id;
  s.variation_id = p.id;
  const Product* parent = nullptr;
  if (auto it = products_.find(p.parent_id); it != products_.end()) parent = &it->second;
  if (!p.manage_stock && parent != nullptr && parent->manage_stock) {
    // WC_Product_Variation's view-context getters inherit from the parent.
    s.manage_stock = "parent";
    s.stock_quantity = parent->stock_quantity;
    s.stock_status = parent->stock_status;
    s.backorders = parent->backorders;
    return s;
  }
  s.manage_stock = p.manage_stock ? "true" : "false";
  s.stock_quantity = p.stock_quantity;
  s.stock_status = p.stock_status;
  s.backorders = p.backorders;
  return s;
}

std::optional<WooStock> WooCommerceSim::StockBySku(std::string_view sku) const {
  absl::MutexLock l(&cat_mu_);
  auto it = skus_.find(std::string(sku));
  if (it == skus_.end()) return std::nullopt;
  return StockLocked(products_.at(it->second));
}

absl::Status WooCommerceSim::SetStockBySku(std::string_view sku, std::optional<int64_t> quantity,
                                           std::string_view stock_status) {
  if (!stock_status.empty() && !KnownStockStatus(stock_status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown stock_status ", core::AbslSv(stock_status)));
  }
  const std::string now = FormatDate(Now());
  absl::MutexLock l(&cat_mu_);
  auto it = skus_.find(std::string(sku));
  if (it == skus_.end()) {
    return absl::NotFoundError(absl::StrCat("no product with SKU ", core::AbslSv(sku)));
  }
  Product* p = &products_.at(it->second);
  // get_stock_managed_by_id(): a "parent" variation's stock is its parent's.
  if (StockLocked(*p).manage_stock == "parent") p = &products_.at(p->parent_id);
  if (p->manage_stock) {
    if (quantity) p->stock_quantity = *quantity;
  } else if (!stock_status.empty()) {
    p->stock_status = std::string(stock_status);
  }
  ValidateStockLocked(*p);
  p->date_modified = now;
  if (p->type == "variation") {
    SyncParentLocked(p->parent_id);
  } else {
    SyncParentLocked(p->id);
  }
  return absl::OkStatus();
}

void WooCommerceSim::SetCatalogLatency(absl::Duration latency) {
  catalog_latency_us_.store(absl::ToInt64Microseconds(latency));
}

void WooCommerceSim::SetStockWriteObserver(StockWriteObserver observer) {
  absl::MutexLock l(&cat_mu_);
  stock_observer_ = std::move(observer);
}

void WooCommerceSim::FailNextBatchItem(std::string sku, std::string code, std::string message,
                                       int status) {
  absl::MutexLock l(&cat_mu_);
  item_failures_[std::move(sku)] = {std::move(code), std::move(message), status};
}

nlohmann::ordered_json WooCommerceSim::ProductDocLocked(const Product& p,
                                                        const std::set<std::string>& fields,
                                                        bool edit) const {
  const bool variation = p.type == "variation";
  const Product* parent = nullptr;
  if (variation) {
    if (auto it = products_.find(p.parent_id); it != products_.end()) parent = &it->second;
  }
  const WooStock stock = StockLocked(p);
  const std::string site = url();
  const std::string self = absl::StrCat(site, kRestPrefix, "/products/", p.id);
  // Price: a variable product shows the range of its children's prices.
  std::string price = p.regular_price, price_html;
  if (p.type == "variable") {
    std::vector<std::pair<double, std::string>> prices;
    for (int64_t c : p.children) {
      const std::string& cp = products_.at(c).regular_price;
      double d = 0;
      if (absl::SimpleAtod(cp, &d)) prices.emplace_back(d, cp);
    }
    std::sort(prices.begin(), prices.end());
    if (!prices.empty()) {
      price = prices.front().second;
      price_html = prices.front().second == prices.back().second
                       ? PriceHtml(options_.currency, price)
                       : absl::StrCat(PriceHtml(options_.currency, price), " &ndash; ",
                                      PriceHtml(options_.currency, prices.back().second));
    }
  } else if (!price.empty()) {
    price_html = PriceHtml(options_.currency, price);
  }
  ojson attributes = ojson::array();
  if (p.type == "variable" && !p.children.empty()) {
    std::vector<std::string> options;
    for (int64_t c : p.children) options.push_back(products_.at(c).option);
    std::sort(options.begin(), options.end());
    attributes.push_back({{"id", 1},
                          {"name", "Size"},
                          {"position", 0},
                          {"visible", true},
                          {"variation", true},
                          {"options", options}});
  } else if (variation) {
    attributes.push_back({{"id", 1}, {"name", "Size"}, {"option", p.option}});
  }
  const std::string permalink =
      variation ? absl::StrCat(site, "/product/", parent ? parent->slug : "",
                               "/?attribute_pa_size=", absl::AsciiStrToLower(p.option))
                : absl::StrCat(site, "/product/", p.slug, "/");
  const bool managed = stock.manage_stock != "false";
  const bool backorders_allowed = stock.backorders != "no";
  const bool purchasable = !price.empty();
  const ojson quantity = stock.stock_quantity ? ojson(*stock.stock_quantity) : ojson(nullptr);
  const ojson stock_flag = stock.manage_stock == "parent" ? ojson("parent") : ojson(managed);

  DocBuilder b(fields);
  b("id", p.id)("name", p.name)("slug", p.slug)("permalink", permalink)(
      "date_created", p.date_created)("date_created_gmt", p.date_created)(
      "date_modified", p.date_modified)("date_modified_gmt", p.date_modified)("type", p.type)(
      "status", "publish")("featured", false)("catalog_visibility", "visible")("description", "")(
      "short_description", "")("sku", p.sku)("price", price)("regular_price", p.regular_price)(
      "sale_price", "")("date_on_sale_from", nullptr)("date_on_sale_from_gmt", nullptr)(
      "date_on_sale_to", nullptr)("date_on_sale_to_gmt", nullptr)("on_sale", false)(
      "purchasable", purchasable)("total_sales", variation ? ojson("0") : ojson(0))(
      "virtual", false)("downloadable", false)("downloads", ojson::array())("download_limit", -1)(
      "download_expiry", -1)("external_url", "")("button_text", "")("tax_status", "taxable")(
      "tax_class", "")("manage_stock", stock_flag)("stock_quantity", quantity)(
      "backorders", stock.backorders)("backorders_allowed", backorders_allowed)(
      "backordered", stock.stock_status == "onbackorder" ||
                         (managed && backorders_allowed && stock.stock_quantity.value_or(0) < 0))(
      "low_stock_amount", nullptr)("sold_individually", false)("weight", "")(
      "dimensions", ojson{{"length", ""}, {"width", ""}, {"height", ""}})(
      "shipping_required", true)("shipping_taxable", true)("shipping_class", "")(
      "shipping_class_id", 0)("reviews_allowed", !variation)("average_rating", edit ? "0" : "0.00")(
      "rating_count", 0)("upsell_ids", ojson::array())("cross_sell_ids", ojson::array())(
      "parent_id", p.parent_id)("purchase_note", "")(
      "categories",
      variation
          ? ojson::array()
          : ojson::array({{{"id", 15}, {"name", "Uncategorized"}, {"slug", "uncategorized"}}}))(
      "tags", ojson::array())("images", ojson::array())("attributes", attributes)(
      "default_attributes", ojson::array())("variations", p.children)(
      "grouped_products", ojson::array())("menu_order", 0)("price_html", price_html)(
      "related_ids", ojson::array())("meta_data", ojson::array())(
      "stock_status", stock.stock_status)("has_options", p.type == "variable");
  if (edit && !variation) {
    b("permalink_template", absl::StrCat(site, "/product/%pagename%/"))("generated_slug", p.slug);
  }
  if (fields.empty() || fields.contains("_links")) {
    ojson links = {
        {"self", ojson::array({{{"href", self}}})},
        {"collection", ojson::array({{{"href", absl::StrCat(site, kRestPrefix, "/products")}}})}};
    if (variation) {
      links["up"] =
          ojson::array({{{"href", absl::StrCat(site, kRestPrefix, "/products/", p.parent_id)}}});
    }
    b("_links", std::move(links));
  }
  return b.take();
}

nlohmann::ordered_json WooCommerceSim::VariationDocLocked(
    const Product& v, const std::set<std::string>& fields) const {
  const Product* parent = nullptr;
  if (auto it = products_.find(v.parent_id); it != products_.end()) parent = &it->second;
  const WooStock stock = StockLocked(v);
  const std::string site = url();
  const std::string base = absl::StrCat(site, kRestPrefix, "/products/", v.parent_id);
  const bool managed = stock.manage_stock != "false";
  const bool backorders_allowed = stock.backorders != "no";
  DocBuilder b(fields);
  b("id", v.id)("date_created", v.date_created)("date_created_gmt", v.date_created)(
      "date_modified", v.date_modified)("date_modified_gmt", v.date_modified)("description", "")(
      "permalink", absl::StrCat(site, "/product/", parent ? parent->slug : "",
                                "/?attribute_pa_size=", absl::AsciiStrToLower(v.option)))(
      "sku", v.sku)("price", v.regular_price)("regular_price", v.regular_price)("sale_price", "")(
      "date_on_sale_from", nullptr)("date_on_sale_from_gmt", nullptr)("date_on_sale_to", nullptr)(
      "date_on_sale_to_gmt", nullptr)("on_sale", false)("status", "publish")(
      "purchasable", !v.regular_price.empty())("virtual", false)("downloadable", false)(
      "downloads", ojson::array())("download_limit", -1)("download_expiry", -1)(
      "tax_status", "taxable")("tax_class", "")(
      "manage_stock", stock.manage_stock == "parent" ? ojson("parent") : ojson(managed))(
      "stock_quantity", stock.stock_quantity ? ojson(*stock.stock_quantity) : ojson(nullptr))(
      "stock_status", stock.stock_status)("backorders", stock.backorders)("backorders_allowed",
                                                                          backorders_allowed)(
      "backordered", stock.stock_status == "onbackorder" ||
                         (managed && backorders_allowed && stock.stock_quantity.value_or(0) < 0))(
      "low_stock_amount", nullptr)("weight", "")(
      "dimensions", ojson{{"length", ""}, {"width", ""}, {"height", ""}})("shipping_class", "")(
      "shipping_class_id", 0)("image", nullptr)(
      "attributes", ojson::array({{{"id", 1}, {"name", "Size"}, {"option", v.option}}}))(
      "menu_order", 0)("meta_data", ojson::array());
  if (fields.empty() || fields.contains("_links")) {
    b("_links",
      ojson{{"self", ojson::array({{{"href", absl::StrCat(base, "/variations/", v.id)}}})},
            {"collection", ojson::array({{{"href", base + "/variations"}}})},
            {"up", ojson::array({{{"href", base}}})}});
  }
  return b.take();
}

void WooCommerceSim::HandleProducts(net::HttpRequest& req, net::Responder respond) {
  using net::http::verb;
  const verb method = req.raw.method();
  const bool batch = absl::EndsWith(req.path, "/batch");
  const bool variations = absl::StrContains(req.path, "/variations");
  const bool collection = !req.params.contains("id") || (variations && !batch);
  std::string_view code = "woocommerce_rest_cannot_view";
  std::string_view message = "Sorry, you cannot view this resource.";
  if (batch) {
    code = "woocommerce_rest_cannot_batch";
    message = "Sorry, you are not allowed to batch manipulate this resource.";
  } else if (collection) {
    message = "Sorry, you cannot list resources.";
  } else if (method != verb::get) {
    code = "woocommerce_rest_cannot_edit";
    message = "Sorry, you are not allowed to edit this resource.";
  }
  if (auto denied = Gate(req, code, message)) {
    respond(std::move(*denied));
    return;
  }
  if (const int64_t us = catalog_latency_us_.load(); us > 0) {
    absl::SleepFor(absl::Microseconds(us));
  }
  int64_t id = 0;
  if (req.params.contains("id") && (!absl::SimpleAtoi(req.params["id"], &id) || id <= 0)) {
    respond(
        WcError(404, "rest_no_route", "No route was found matching the URL and request method"));
    return;
  }
  if (batch) {
    respond(BatchRest(id, req));
  } else if (variations) {
    respond(ListVariationsRest(id, req));
  } else if (id == 0) {
    respond(ListProductsRest(req));
  } else if (method == verb::get) {
    respond(GetProductRest(id, req));
  } else {
    respond(UpdateProductRest(id, req));
  }
}

net::HttpResponse WooCommerceSim::ListProductsRest(const net::HttpRequest& req) {
  const std::map<std::string, std::string> q = ParseQuery(req.query);
  ListParams lp = ParseListParams(q, {"date", "id", "include", "title", "slug", "price",
                                      "popularity", "rating", "menu_order", "modified"});
  std::string type;
  if (auto it = q.find("type"); it != q.end()) {
    type = it->second;
    if (type != "simple" && type != "grouped" && type != "external" && type != "variable") {
      lp.errors.emplace_back("type", "rest_not_in_enum",
                             "type is not one of simple, grouped, external, and variable.");
    }
  }
  if (!lp.errors.empty()) return InvalidParams(lp.errors);
  const std::set<std::string> fields = FieldsParam(q);
  std::string sku;
  if (auto it = q.find("sku"); it != q.end()) sku = it->second;

  absl::MutexLock l(&cat_mu_);
  ++cat_stats_.product_gets;
  // Creation order is id order here, so date and id sort alike (ties by id, as "date ID").
  std::vector<int64_t> filtered;
  const std::vector<int64_t>* ids = &listed_;
  if (!sku.empty()) {
    ++cat_stats_.sku_lookups;
    // The sku filter is a meta IN query over products and variations: every comma-separated
    // part, plus the whole string when there is more than one part.
    std::vector<std::string> parts = absl::StrSplit(sku, ',');
    if (parts.size() > 1) parts.push_back(sku);
    std::set<int64_t> found;
    for (const std::string& s : parts) {
      if (auto it = skus_.find(s); it != skus_.end()) found.insert(it->second);
    }
    filtered.assign(found.begin(), found.end());
    ids = &filtered;
  }
  if (!type.empty()) {
    std::vector<int64_t> typed;
    for (int64_t id : *ids) {
      if (products_.at(id).type == type) typed.push_back(id);
    }
    filtered = std::move(typed);
    ids = &filtered;
  }
  ojson items = ojson::array();
  for (int64_t id : PageOf(*ids, lp)) {
    items.push_back(ProductDocLocked(products_.at(id), fields, /*edit=*/false));
  }
  return Paged(std::move(items), static_cast<int64_t>(ids->size()), lp.per_page);
}

net::HttpResponse WooCommerceSim::GetProductRest(int64_t id, const net::HttpRequest& req) {
  const std::set<std::string> fields = FieldsParam(ParseQuery(req.query));
  absl::MutexLock l(&cat_mu_);
  ++cat_stats_.product_gets;
  auto it = products_.find(id);
  if (it == products_.end()) {
    return WcError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
  }
  return JsonBody(status::ok, PhpJsonEncode(ProductDocLocked(it->second, fields, false)));
}

net::HttpResponse WooCommerceSim::ListVariationsRest(int64_t product_id,
                                                     const net::HttpRequest& req) {
  const std::map<std::string, std::string> q = ParseQuery(req.query);
  ListParams lp =
      ParseListParams(q, {"date", "id", "include", "title", "slug", "modified", "menu_order"});
  if (!lp.errors.empty()) return InvalidParams(lp.errors);
  const std::set<std::string> fields = FieldsParam(q);
  absl::MutexLock l(&cat_mu_);
  ++cat_stats_.product_gets;
  // A query on post_parent: an unknown parent simply has no variations.
  std::vector<int64_t> children;
  if (auto it = products_.find(product_id);
      it != products_.end() && it->second.type == "variable") {
    children = it->second.children;
  }
  ojson items = ojson::array();
  for (int64_t id : PageOf(children, lp)) {
    items.push_back(VariationDocLocked(products_.at(id), fields));
  }
  return Paged(std::move(items), static_cast<int64_t>(children.size()), lp.per_page);
}

std::optional<WooCommerceSim::ItemFailure> WooCommerceSim::UpdateOneLocked(
    int64_t parent_id, const nlohmann::json& item) {
  const bool variations = parent_id != 0;
  const ItemFailure invalid_id =
      variations ? ItemFailure{"woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400}
                 : ItemFailure{"woocommerce_rest_product_invalid_id", "Invalid ID.", 400};
  if (!item.is_object()) return invalid_id;
  int64_t id = 0;
  if (auto it = item.find("id"); it != item.end()) id = StockAmount(*it);
  auto found = products_.find(id);
  if (found == products_.end()) return invalid_id;
  Product& p = found->second;
  if (!variations && p.type == "variation") {
    return ItemFailure{"woocommerce_rest_invalid_product_id",
                       "To manipulate product variations you should use the "
                       "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
                       404};
  }
  // The real controller would move a variation of another product under this one; the
  // simulator treats that as the mistake it almost always is.
  if (variations && (p.type != "variation" || p.parent_id != parent_id)) return invalid_id;
  if (auto f = item_failures_.find(p.sku); f != item_failures_.end()) {
    ItemFailure failure = std::move(f->second);
    item_failures_.erase(f);
    return failure;
  }
  if (auto it = item.find("sku"); it != item.end() && it->is_string() && *it != p.sku) {
    const std::string new_sku = it->get<std::string>();
    if (!new_sku.empty() && skus_.contains(new_sku)) {
      // WC_Product_Data_Store_CPT::is_existing_sku() through set_sku().
      return ItemFailure{"product_invalid_sku", "Invalid or duplicated SKU.", 400};
    }
    skus_.erase(p.sku);
    p.sku = new_sku;
    if (!new_sku.empty()) skus_[new_sku] = p.id;
  }
  const auto before =
      std::make_tuple(p.manage_stock, p.stock_quantity, p.stock_status, p.backorders, p.sku);
  auto get = [&item](const char* key) -> const nlohmann::json* {
    auto it = item.find(key);
    return it == item.end() || it->is_null() ? nullptr : &*it;
  };
  if (const auto* v = get("manage_stock")) p.manage_stock = StringToBool(*v);
  if (const auto* v = get("backorders");
      v && v->is_string() && KnownBackorders(v->get<std::string>())) {
    p.backorders = v->get<std::string>();
  }
  std::optional<std::string> status;
  if (const auto* v = get("stock_status");
      v && v->is_string() && KnownStockStatus(v->get<std::string>())) {
    status = v->get<std::string>();
  }
  // A variation's view-context manage_stock is "parent" (truthy) when its parent manages stock;
  // the quantity it takes then is never shown (its parent's is), so it is not kept here.
  if (p.manage_stock) {
    if (const auto* v = get("stock_quantity")) {
      p.stock_quantity = StockAmount(*v);
    } else if (const auto* d = get("inventory_delta")) {
      p.stock_quantity = p.stock_quantity.value_or(0) + StockAmount(*d);
    }
  } else if (status && p.type != "variable") {
    p.stock_status = *status;
  }
  ValidateStockLocked(p);
  if (p.type == "variation") {
    SyncParentLocked(p.parent_id);
  } else {
    SyncParentLocked(p.id);
  }
  if (before !=
      std::make_tuple(p.manage_stock, p.stock_quantity, p.stock_status, p.backorders, p.sku)) {
    p.date_modified = FormatDate(Now());
  }
  if (stock_observer_) stock_observer_(p.sku, StockLocked(p));
  return std::nullopt;
}

net::HttpResponse WooCommerceSim::UpdateProductRest(int64_t id, const net::HttpRequest& req) {
  nlohmann::json body = nlohmann::json::object();
  if (!req.raw.body().empty()) {
    body = nlohmann::json::parse(req.raw.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return WcError(400, "rest_invalid_json", "Invalid JSON body passed.");
    }
  }
  body["id"] = id;
  absl::MutexLock l(&cat_mu_);
  if (auto failure = UpdateOneLocked(0, body)) {
    return WcError(failure->status, failure->code, failure->message);
  }
  ++cat_stats_.items_updated;
  return JsonBody(status::ok, PhpJsonEncode(ProductDocLocked(products_.at(id), {}, true)));
}

net::HttpResponse WooCommerceSim::BatchRest(int64_t parent_id, const net::HttpRequest& req) {
  nlohmann::json body = nlohmann::json::object();
  if (!req.raw.body().empty()) {
    body = nlohmann::json::parse(req.raw.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return WcError(400, "rest_invalid_json", "Invalid JSON body passed.");
    }
  }
  auto list = [&body](const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_array() ? *it : nlohmann::json::array();
  };
  const nlohmann::json creates = list("create"), updates = list("update"), deletes = list("delete");
  absl::MutexLock l(&cat_mu_);
  ++cat_stats_.batch_calls;
  // check_batch_limit(): the three lists together.
  if (creates.size() + updates.size() + deletes.size() > static_cast<size_t>(kBatchLimit)) {
    ++cat_stats_.batch_rejected;
    return WcError(
        413, "woocommerce_rest_request_entity_too_large",
        absl::StrCat("Unable to accept more than ", kBatchLimit, " items for this request."));
  }
  const bool variations = parent_id != 0;
  auto render = [&](const Product& p) {
    return variations ? VariationDocLocked(p, {}) : ProductDocLocked(p, {}, true);
  };
  auto error_entry = [&](ojson id, const ItemFailure& f) {
    ++cat_stats_.items_failed;
    return ojson{
        {"id", std::move(id)},
        {"error", {{"code", f.code}, {"message", f.message}, {"data", {{"status", f.status}}}}}};
  };
  ojson out = ojson::object();
  if (!creates.empty()) {
    ojson created = ojson::array();
    auto parent = products_.find(parent_id);
    for (const auto& item : creates) {
      const std::string sku = item.is_object() ? item.value("sku", "") : "";
      if (variations && (parent == products_.end() || parent->second.type != "variable")) {
        created.push_back(error_entry(0, {"woocommerce_rest_product_variation_invalid_parent",
                                          "Invalid parent product.", 404}));
        continue;
      }
      if (!sku.empty() && skus_.contains(sku)) {
        created.push_back(
            error_entry(0, {"product_invalid_sku", "Invalid or duplicated SKU.", 400}));
        continue;
      }
      Product p;
      p.id = next_product_id_++;
      p.sku = sku;
      p.date_created = p.date_modified = FormatDate(Now());
      p.manage_stock = item.contains("manage_stock") && StringToBool(item["manage_stock"]);
      if (item.contains("stock_quantity")) p.stock_quantity = StockAmount(item["stock_quantity"]);
      if (item.contains("backorders") && item["backorders"].is_string() &&
          KnownBackorders(item["backorders"].get<std::string>())) {
        p.backorders = item["backorders"];
      }
      if (item.contains("stock_status") && item["stock_status"].is_string() &&
          KnownStockStatus(item["stock_status"].get<std::string>())) {
        p.stock_status = item["stock_status"];
      }
      p.regular_price = item.value("regular_price", "");
      if (variations) {
        p.type = "variation";
        p.parent_id = parent_id;
        p.option = p.sku;
        if (auto a = item.find("attributes");
            a != item.end() && a->is_array() && !a->empty() && (*a)[0].is_object()) {
          p.option = (*a)[0].value("option", p.sku);
        }
        p.name = absl::StrCat(parent->second.name, " - ", p.option);
        parent->second.children.push_back(p.id);
      } else {
        p.type = item.value("type", "simple") == "variable" ? "variable" : "simple";
        p.name = item.value("name", "Product");
        if (p.type == "variable") p.regular_price.clear();
        listed_.push_back(p.id);
      }
      p.slug = Slugify(p.name);
      ValidateStockLocked(p);
      if (!p.sku.empty()) skus_[p.sku] = p.id;
      const int64_t new_id = p.id;
      products_.emplace(new_id, std::move(p));
      SyncParentLocked(variations ? parent_id : new_id);
      created.push_back(render(products_.at(new_id)));
    }
    out["create"] = std::move(created);
  }
  if (!updates.empty()) {
    ojson updated = ojson::array();
    for (const auto& item : updates) {
      if (auto failure = UpdateOneLocked(parent_id, item)) {
        const ojson id = item.is_object() && item.contains("id") ? ojson::parse(item["id"].dump())
                                                                 : ojson(nullptr);
        updated.push_back(error_entry(id, *failure));
        continue;
      }
      ++cat_stats_.items_updated;
      updated.push_back(render(products_.at(StockAmount(item["id"]))));
    }
    out["update"] = std::move(updated);
  }
  if (!deletes.empty()) {
    ojson deleted = ojson::array();
    for (const auto& item : deletes) {
      const int64_t id = StockAmount(item);
      if (id == 0) continue;
      auto it = products_.find(id);
      const bool ok = it != products_.end() && (variations ? it->second.parent_id == parent_id
                                                           : it->second.type != "variation");
      if (!ok) {
        deleted.push_back(
            error_entry(id, {variations ? "woocommerce_rest_product_variation_invalid_id"
                                        : "woocommerce_rest_product_invalid_id",
                             "Invalid ID.", 404}));
        continue;
      }
      deleted.push_back(render(it->second));
      std::vector<int64_t> gone = it->second.children;
      gone.push_back(id);
      for (int64_t g : gone) {
        auto git = products_.find(g);
        if (git == products_.end()) continue;
        skus_.erase(git->second.sku);
        products_.erase(git);
      }
      if (variations) {
        auto& kids = products_.at(parent_id).children;
        kids.erase(std::remove(kids.begin(), kids.end(), id), kids.end());
        SyncParentLocked(parent_id);
      } else {
        listed_.erase(std::remove(listed_.begin(), listed_.end(), id), listed_.end());
      }
    }
    out["delete"] = std::move(deleted);
  }
  // An empty PHP array encodes as [].
  return JsonBody(status::ok, out.empty() ? "[]" : PhpJsonEncode(out));
}

void WooCommerceSim::HandleCatalogAdmin(net::HttpRequest& req, net::Responder respond) {
  using net::http::verb;
  nlohmann::json body = nlohmann::json::object();
  if (!req.raw.body().empty()) {
    body = nlohmann::json::parse(req.raw.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      respond(net::Problem(status::bad_request, "Bad Request", "body must be a JSON object"));
      return;
    }
  }
  auto fail = [&respond](const absl::Status& s) {
    respond(net::Problem(
        s.code() == absl::StatusCode::kNotFound ? status::not_found : status::bad_request,
        "Rejected", core::StdSv(s.message())));
  };
  if (req.path == "/_sim/products/stock" && req.raw.method() == verb::get) {
    auto stock = StockBySku(req.QueryParam("sku"));
    if (!stock) {
      fail(absl::NotFoundError("no product with that SKU"));
      return;
    }
    nlohmann::json j = {
        {"product_id", stock->product_id},
        {"variation_id", stock->variation_id},
        {"type", stock->type},
        {"manage_stock", stock->manage_stock},
        {"stock_quantity",
         stock->stock_quantity ? nlohmann::json(*stock->stock_quantity) : nlohmann::json(nullptr)},
        {"stock_status", stock->stock_status},
        {"backorders", stock->backorders}};
    respond(net::Json(status::ok, j.dump()));
    return;
  }
  if (req.path == "/_sim/products/stock") {  // PUT {"sku","stock_quantity","stock_status"}
    std::optional<int64_t> quantity;
    if (body.contains("stock_quantity") && body["stock_quantity"].is_number_integer()) {
      quantity = body["stock_quantity"].get<int64_t>();
    }
    absl::Status s = SetStockBySku(body.value("sku", ""), quantity, body.value("stock_status", ""));
    if (!s.ok()) {
      fail(s);
      return;
    }
    respond(net::Json(status::ok, R"({"ok":true})"));
    return;
  }
  if (req.path == "/_sim/products/fail-next") {
    FailNextBatchItem(body.value("sku", ""), body.value("code", "product_invalid_sku"),
                      body.value("message", "Invalid or duplicated SKU."),
                      body.value("status", 400));
    respond(net::Json(status::ok, R"({"ok":true})"));
    return;
  }
  // POST /_sim/products: a WooProductSpec as JSON.
  WooProductSpec spec;
  spec.sku = body.value("sku", "");
  spec.name = body.value("name", "");
  spec.type = body.value("type", "simple");
  spec.manage_stock = body.value("manage_stock", true);
  spec.stock_quantity = body.value("stock_quantity", int64_t{0});
  spec.stock_status = body.value("stock_status", "instock");
  spec.backorders = body.value("backorders", "no");
  spec.regular_price = body.value("regular_price", "19.99");
  if (auto vs = body.find("variations"); vs != body.end() && vs->is_array()) {
    for (const auto& v : *vs) {
      if (!v.is_object()) continue;
      spec.variations.push_back({.sku = v.value("sku", ""),
                                 .option = v.value("option", ""),
                                 .manage_stock = v.value("manage_stock", true),
                                 .stock_quantity = v.value("stock_quantity", int64_t{0}),
                                 .stock_status = v.value("stock_status", "instock"),
                                 .backorders = v.value("backorders", "no"),
                                 .regular_price = v.value("regular_price", "15.00")});
    }
  }
  auto ids = AddProduct(spec);
  if (!ids.ok()) {
    fail(ids.status());
    return;
  }
  respond(net::Json(status::created,
                    nlohmann::json{{"id", ids->id}, {"variation_ids", ids->variation_ids}}.dump()));
}

}  // namespace keelson::sim
