#include "connectors/woocommerce/mapping.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/strings.h"
#include "model/money.h"

namespace keelson::connectors::woocommerce {
namespace {

using core::AbslSv;
using core::StdSv;
using nlohmann::json;

// "line_items[1]" + "quantity" -> "line_items[1].quantity".
std::string Path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(AbslSv(parent), ".", AbslSv(key));
}

absl::Status FieldError(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AbslSv(path), ": ", AbslSv(what)));
}

// Re-anchors an error from model::ParseMoney at the field it came from, keeping its code.
absl::Status AtField(std::string_view path, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(AbslSv(path), ": ", s.message()));
}

// The member `key` of `obj`, or nullptr when absent or null (both mean "not given" on Woo).
const json* Find(const json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// JSON integer that fits int64. Floats such as 2.0 are rejected: Woo sends ids and
// quantities as integers, and anything else means the payload is not what we think.
bool AsInt64(const json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  return false;
}

class Reader {
 public:
  Reader(const json& obj, std::string path) : obj_(&obj), path_(std::move(path)) {}

  absl::StatusOr<int64_t> Int(std::string_view key, bool required) const {
    const json* v = Find(*obj_, key);
    if (v == nullptr) {
      if (required) return FieldError(Path(path_, key), "is required");
      return 0;
    }
    int64_t out = 0;
    if (!AsInt64(*v, &out)) return FieldError(Path(path_, key), "must be an integer");
    return out;
  }

  absl::StatusOr<int64_t> PositiveInt(std::string_view key) const {
    const json* v = Find(*obj_, key);
    int64_t out = 0;
    if (v == nullptr || !AsInt64(*v, &out) || out <= 0) {
      return FieldError(Path(path_, key), "must be a positive integer");
    }
    return out;
  }

  absl::StatusOr<std::string> String(std::string_view key, bool required) const {
    const json* v = Find(*obj_, key);
    if (v == nullptr) {
      if (required) return FieldError(Path(path_, key), "is required");
      return std::string();
    }
    if (!v->is_string()) return FieldError(Path(path_, key), "must be a string");
    return v->get<std::string>();
  }

  // A decimal string such as "12.50"; absent or null is zero unless required.
  absl::StatusOr<model::Money> Amount(std::string_view key, std::string_view currency,
                                      bool required) const {
    const json* v = Find(*obj_, key);
    if (v == nullptr) {
      if (required) return FieldError(Path(path_, key), "is required");
      return model::Money{.minor = 0, .currency = std::string(currency)};
    }
    if (!v->is_string()) return FieldError(Path(path_, key), "must be a decimal string");
    absl::StatusOr<model::Money> m = model::ParseMoney(v->get_ref<const std::string&>(), currency);
    if (!m.ok()) return AtField(Path(path_, key), m.status());
    return m;
  }

  // A JSON number (line_items[].price); absent or null is zero.
  absl::StatusOr<model::Money> NumberAmount(std::string_view key, std::string_view currency) const {
    const json* v = Find(*obj_, key);
    if (v == nullptr) return model::Money{.minor = 0, .currency = std::string(currency)};
    absl::StatusOr<model::Money> m = model::ParseMoneyNumber(*v, currency);
    if (!m.ok()) return AtField(Path(path_, key), m.status());
    return m;
  }

  // WooCommerce *_gmt timestamps: "2026-11-22T07:31:23", UTC, no zone designator.
  absl::StatusOr<std::optional<absl::Time>> Time(std::string_view key, bool required) const {
    const json* v = Find(*obj_, key);
    if (v == nullptr) {
      if (required) return FieldError(Path(path_, key), "is required");
      return std::optional<absl::Time>();
    }
    if (!v->is_string()) return FieldError(Path(path_, key), "must be a string");
    absl::Time t;
    std::string err;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%S", AbslSv(v->get_ref<const std::string&>()),
                         absl::UTCTimeZone(), &t, &err)) {
      return FieldError(Path(path_, key), absl::StrCat("not a WooCommerce GMT time: ", err));
    }
    return std::optional<absl::Time>(t);
  }

  // Array member; absent or null is an empty array unless required.
  absl::StatusOr<const json*> Array(std::string_view key, bool required) const {
    static const json kEmpty = json::array();
    const json* v = Find(*obj_, key);
    if (v == nullptr) {
      if (required) return FieldError(Path(path_, key), "is required");
      return &kEmpty;
    }
    if (!v->is_array()) return FieldError(Path(path_, key), "must be an array");
    return v;
  }

  // Object member; absent or null is an empty object.
  absl::StatusOr<const json*> Object(std::string_view key) const {
    static const json kEmpty = json::object();
    const json* v = Find(*obj_, key);
    if (v == nullptr) return &kEmpty;
    if (!v->is_object()) return FieldError(Path(path_, key), "must be an object");
    return v;
  }

  const std::string& path() const { return path_; }

 private:
  const json* obj_;  // not owned; outlives the Reader
  std::string path_;
};

#define KEELSON_ASSIGN_OR_RETURN_(lhs, expr)          \
  do {                                                \
    auto keelson_r_ = (expr);                         \
    if (!keelson_r_.ok()) return keelson_r_.status(); \
    lhs = std::move(keelson_r_).value();              \
  } while (0)

// Element `i` of array `items` at `path` must be an object.
absl::StatusOr<Reader> Element(const json& items, size_t i, std::string_view path) {
  std::string p = absl::StrCat(AbslSv(path), "[", i, "]");
  if (!items[i].is_object()) return FieldError(p, "must be an object");
  return Reader(items[i], std::move(p));
}

absl::Status MapAddress(const Reader& parent, std::string_view key, model::Address* out) {
  const json* obj = nullptr;
  KEELSON_ASSIGN_OR_RETURN_(obj, parent.Object(key));
  Reader r(*obj, Path(parent.path(), key));
  KEELSON_ASSIGN_OR_RETURN_(out->first_name, r.String("first_name", false));
  KEELSON_ASSIGN_OR_RETURN_(out->last_name, r.String("last_name", false));
  KEELSON_ASSIGN_OR_RETURN_(out->company, r.String("company", false));
  KEELSON_ASSIGN_OR_RETURN_(out->address_1, r.String("address_1", false));
  KEELSON_ASSIGN_OR_RETURN_(out->address_2, r.String("address_2", false));
  KEELSON_ASSIGN_OR_RETURN_(out->city, r.String("city", false));
  KEELSON_ASSIGN_OR_RETURN_(out->state, r.String("state", false));
  KEELSON_ASSIGN_OR_RETURN_(out->postcode, r.String("postcode", false));
  KEELSON_ASSIGN_OR_RETURN_(out->country, r.String("country", false));
  KEELSON_ASSIGN_OR_RETURN_(out->email, r.String("email", false));
  KEELSON_ASSIGN_OR_RETURN_(out->phone, r.String("phone", false));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<model::Order> MapOrder(std::string_view store_id, const json& payload) {
  if (!payload.is_object()) return FieldError("payload", "must be a JSON object");
  const Reader r(payload, "");
  model::Order o;
  o.store_id = std::string(store_id);
  KEELSON_ASSIGN_OR_RETURN_(o.order_id, r.PositiveInt("id"));

  std::string status;
  KEELSON_ASSIGN_OR_RETURN_(status, r.String("status", true));
  std::optional<model::OrderStatus> parsed_status = model::ParseWooStatus(status);
  if (!parsed_status) {
    return FieldError("status", absl::StrCat("unknown order status \"", AbslSv(status), "\""));
  }
  o.status = *parsed_status;

  KEELSON_ASSIGN_OR_RETURN_(o.currency, r.String("currency", true));
  // Validate the code once here so later amount errors are about amounts.
  if (absl::StatusOr<model::Money> zero = model::ParseMoney("0", o.currency); !zero.ok()) {
    return FieldError("currency", StdSv(zero.status().message()));
  }
  const std::string& cur = o.currency;

  KEELSON_ASSIGN_OR_RETURN_(o.number, r.String("number", false));
  if (o.number.empty()) o.number = std::to_string(o.order_id);

  std::optional<absl::Time> t;
  KEELSON_ASSIGN_OR_RETURN_(t, r.Time("date_modified_gmt", true));
  o.date_modified_gmt = *t;
  KEELSON_ASSIGN_OR_RETURN_(t, r.Time("date_created_gmt", false));
  if (t) o.date_created_gmt = *t;
  KEELSON_ASSIGN_OR_RETURN_(t, r.Time("date_paid_gmt", false));
  o.payment.paid = t.has_value();
  KEELSON_ASSIGN_OR_RETURN_(o.payment.method, r.String("payment_method", false));
  KEELSON_ASSIGN_OR_RETURN_(o.payment.transaction_id, r.String("transaction_id", false));

  KEELSON_ASSIGN_OR_RETURN_(o.customer.external_id, r.Int("customer_id", false));
  if (absl::Status s = MapAddress(r, "billing", &o.customer.billing); !s.ok()) return s;
  if (absl::Status s = MapAddress(r, "shipping", &o.customer.shipping); !s.ok()) return s;
  o.customer.email = o.customer.billing.email;
  KEELSON_ASSIGN_OR_RETURN_(o.customer_note, r.String("customer_note", false));

  KEELSON_ASSIGN_OR_RETURN_(o.total, r.Amount("total", cur, true));
  KEELSON_ASSIGN_OR_RETURN_(o.total_tax, r.Amount("total_tax", cur, false));
  KEELSON_ASSIGN_OR_RETURN_(o.discount_total, r.Amount("discount_total", cur, false));
  KEELSON_ASSIGN_OR_RETURN_(o.shipping_total, r.Amount("shipping_total", cur, false));

  const json* items = nullptr;
  KEELSON_ASSIGN_OR_RETURN_(items, r.Array("line_items", true));
  for (size_t i = 0; i < items->size(); ++i) {
    Reader li(payload, "");
    KEELSON_ASSIGN_OR_RETURN_(li, Element(*items, i, "line_items"));
    model::OrderLine line;
    KEELSON_ASSIGN_OR_RETURN_(line.line_id, li.PositiveInt("id"));
    KEELSON_ASSIGN_OR_RETURN_(line.sku, li.String("sku", false));
    KEELSON_ASSIGN_OR_RETURN_(line.name, li.String("name", false));
    KEELSON_ASSIGN_OR_RETURN_(line.product_id, li.Int("product_id", false));
    KEELSON_ASSIGN_OR_RETURN_(line.variation_id, li.Int("variation_id", false));
    KEELSON_ASSIGN_OR_RETURN_(line.quantity_ordered, li.PositiveInt("quantity"));
    KEELSON_ASSIGN_OR_RETURN_(line.unit_price, li.NumberAmount("price", cur));
    KEELSON_ASSIGN_OR_RETURN_(line.subtotal, li.Amount("subtotal", cur, false));
    KEELSON_ASSIGN_OR_RETURN_(line.total, li.Amount("total", cur, false));
    KEELSON_ASSIGN_OR_RETURN_(line.total_tax, li.Amount("total_tax", cur, false));
    o.lines.push_back(std::move(line));
  }

  KEELSON_ASSIGN_OR_RETURN_(items, r.Array("shipping_lines", false));
  for (size_t i = 0; i < items->size(); ++i) {
    Reader sl(payload, "");
    KEELSON_ASSIGN_OR_RETURN_(sl, Element(*items, i, "shipping_lines"));
    model::ShippingLine line;
    KEELSON_ASSIGN_OR_RETURN_(line.method_id, sl.String("method_id", false));
    KEELSON_ASSIGN_OR_RETURN_(line.method_title, sl.String("method_title", false));
    KEELSON_ASSIGN_OR_RETURN_(line.total, sl.Amount("total", cur, false));
    KEELSON_ASSIGN_OR_RETURN_(line.total_tax, sl.Amount("total_tax", cur, false));
    o.shipping.push_back(std::move(line));
  }

  KEELSON_ASSIGN_OR_RETURN_(items, r.Array("fee_lines", false));
  for (size_t i = 0; i < items->size(); ++i) {
    Reader fl(payload, "");
    KEELSON_ASSIGN_OR_RETURN_(fl, Element(*items, i, "fee_lines"));
    model::FeeLine line;
    KEELSON_ASSIGN_OR_RETURN_(line.name, fl.String("name", false));
    KEELSON_ASSIGN_OR_RETURN_(line.total, fl.Amount("total", cur, false));
    KEELSON_ASSIGN_OR_RETURN_(line.total_tax, fl.Amount("total_tax", cur, false));
    o.fees.push_back(std::move(line));
  }

  KEELSON_ASSIGN_OR_RETURN_(items, r.Array("coupon_lines", false));
  for (size_t i = 0; i < items->size(); ++i) {
    Reader cl(payload, "");
    KEELSON_ASSIGN_OR_RETURN_(cl, Element(*items, i, "coupon_lines"));
    model::CouponLine line;
    KEELSON_ASSIGN_OR_RETURN_(line.code, cl.String("code", false));
    KEELSON_ASSIGN_OR_RETURN_(line.discount, cl.Amount("discount", cur, false));
    o.coupons.push_back(std::move(line));
  }

  // Each refunds[] entry is {id, reason, total}, with total already negative ("-5.00").
  o.refunds_total = model::Money{.minor = 0, .currency = cur};
  KEELSON_ASSIGN_OR_RETURN_(items, r.Array("refunds", false));
  for (size_t i = 0; i < items->size(); ++i) {
    Reader rf(payload, "");
    KEELSON_ASSIGN_OR_RETURN_(rf, Element(*items, i, "refunds"));
    model::Money amount;
    KEELSON_ASSIGN_OR_RETURN_(amount, rf.Amount("total", cur, true));
    if (__builtin_add_overflow(o.refunds_total.minor, amount.minor, &o.refunds_total.minor)) {
      return absl::OutOfRangeError("refunds: sum of refunds[].total overflows");
    }
  }
  return o;
}

#undef KEELSON_ASSIGN_OR_RETURN_

bool IsDeletedStub(const json& payload) {
  if (!payload.is_object() || payload.size() != 1) return false;
  auto it = payload.find("id");
  int64_t id = 0;
  return it != payload.end() && AsInt64(*it, &id) && id > 0;
}

}  // namespace keelson::connectors::woocommerce
