#include "connectors/erp/business_central/mapping.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "core/strings.h"

namespace keelson::connectors::business_central {
namespace {

using json = nlohmann::json;

std::string Upper(std::string_view s) { return absl::AsciiStrToUpper(core::AbslSv(s)); }
std::string Trim(std::string_view s) {
  return std::string(absl::StripAsciiWhitespace(core::AbslSv(s)));
}

// BC field lengths (the v2.0 API pages' source fields).
constexpr size_t kName = 100, kAddress = 100, kAddress2 = 50, kCity = 30, kCounty = 30,
                 kCountry = 10, kPostCode = 20, kPhone = 30, kEmail = 80, kDescription = 100;

std::string FullName(const model::Address& a) {
  std::string name = Trim(absl::StrCat(core::AbslSv(a.first_name), " ", core::AbslSv(a.last_name)));
  return name;
}

// An item line's unitPrice and discountAmount in minor units such that
// quantity * unitPrice - discountAmount == line total exactly (BC: Line Amount).
struct LinePrice {
  int64_t unit = 0;
  int64_t discount = 0;
};
LinePrice PriceOf(const model::OrderLine& line) {
  const int64_t q = line.quantity_ordered;
  const int64_t total = line.total.minor;
  LinePrice p;
  if (line.subtotal.minor % q == 0 && line.subtotal.minor >= total) {
    p.unit = line.subtotal.minor / q;  // the catalogue price, discount shown as a discount
  } else {
    p.unit = (total + q - 1) / q;  // rounded up; the remainder becomes a discount below q
  }
  p.discount = p.unit * q - total;
  return p;
}

model::Money Minor(int64_t minor, const std::string& currency) { return {minor, currency}; }

// Typed reads that never throw: a missing or mistyped field reads as empty / zero.
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
double Num(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

}  // namespace

absl::StatusOr<std::string> ExternalDocumentNumber(std::string_view reference) {
  std::string edn = Upper(reference);
  if (edn.empty()) return absl::InvalidArgumentError("empty order reference");
  if (edn.size() > kMaxExternalDocumentNumber) {
    return absl::InvalidArgumentError(
        absl::StrCat("order reference '", core::AbslSv(reference), "' has ", edn.size(),
                     " characters; Business Central's externalDocumentNumber holds at most ",
                     kMaxExternalDocumentNumber));
  }
  return edn;
}

std::string ODataString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string TruncateText(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    // A UTF-8 character starts at every byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(s.substr(0, i));
      ++chars;
    }
  }
  return std::string(s);
}

json Decimal(const model::Money& money) {
  const int exponent = model::CurrencyExponent(money.currency);
  if (exponent == 0) return json(money.minor);
  // minor / 10^e is the double nearest the decimal, and json prints the shortest text that
  // reads back as that double: the decimal itself.
  return json(static_cast<double>(money.minor) / std::pow(10.0, exponent));
}

absl::StatusOr<json> CustomerPayload(const model::Customer& customer) {
  std::string email = absl::AsciiStrToLower(core::AbslSv(Trim(customer.email)));
  if (email.empty()) {
    return absl::InvalidArgumentError(
        "guest order without an email: Business Central customers are found by email");
  }
  if (email.size() > kEmail) {
    return absl::InvalidArgumentError(
        absl::StrCat("email has ", email.size(), " characters; Business Central holds ", kEmail));
  }
  const model::Address& a = customer.billing;
  std::string company = Trim(a.company);
  std::string name = company.empty() ? FullName(a) : company;
  if (name.empty()) name = email;
  json out = {{"displayName", TruncateText(name, kName)},
              {"type", company.empty() ? "Person" : "Company"},
              {"email", email}};
  auto put = [&](const char* key, std::string_view value, size_t max, bool code) {
    std::string v = TruncateText(Trim(value), max);
    if (code) v = Upper(v);
    if (!v.empty()) out[key] = v;
  };
  put("addressLine1", a.address_1, kAddress, false);
  put("addressLine2", a.address_2, kAddress2, false);
  put("city", a.city, kCity, false);
  put("state", a.state, kCounty, false);
  put("country", a.country, kCountry, true);
  put("postalCode", a.postcode, kPostCode, true);
  put("phoneNumber", a.phone, kPhone, false);
  return out;
}

absl::StatusOr<ErpCustomerRef> CustomerRefFromJson(const json& customer) {
  if (!customer.is_object() || !customer.contains("id") || !customer["id"].is_string()) {
    return absl::InternalError("business_central: customer without an id in the answer");
  }
  ErpCustomerRef ref;
  ref.id = customer["id"].get<std::string>();
  ref.number = Str(customer, "number");
  return ref;
}

absl::StatusOr<json> SalesOrderPayload(const model::Order& order, const ErpCustomerRef& customer,
                                       const OrderMappingOptions& options) {
  absl::StatusOr<std::string> edn = ExternalDocumentNumber(order.Reference());
  if (!edn.ok()) return edn.status();
  if (customer.id.empty()) return absl::InvalidArgumentError("no Business Central customer id");
  if (order.lines.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("order ", order.Reference(), " has no lines"));
  }
  json lines = json::array();
  for (size_t i = 0; i < order.lines.size(); ++i) {
    const model::OrderLine& l = order.lines[i];
    const std::string sku = Upper(Trim(l.sku));
    if (sku.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("unknown SKU '': line ", i + 1, " (", l.name,
                       ") has no SKU, and Business Central items are matched by number"));
    }
    if (sku.size() > kMaxItemNumber) {
      return absl::FailedPreconditionError(
          absl::StrCat("unknown SKU '", l.sku, "': longer than the ", kMaxItemNumber,
                       " characters of a Business Central item number"));
    }
    if (l.quantity_ordered <= 0 || l.total.minor < 0 || l.subtotal.minor < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", i + 1, " (", sku, "): quantity must be positive and amounts not negative"));
    }
    LinePrice p = PriceOf(l);
    json line = {{"lineType", "Item"},
                 {"lineObjectNumber", sku},
                 {"quantity", l.quantity_ordered},
                 {"unitPrice", Decimal(Minor(p.unit, l.total.currency))}};
    if (p.discount != 0) line["discountAmount"] = Decimal(Minor(p.discount, l.total.currency));
    lines.push_back(std::move(line));
  }
  auto account_line = [&](const std::string& account, const char* what, std::string description,
                          const model::Money& amount) -> absl::Status {
    if (amount.minor == 0) return absl::OkStatus();
    if (account.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("order ", order.Reference(), " has a ",
                                                        what,
                                                        " amount but no Business Central G/L "
                                                        "account is configured for ",
                                                        what, " lines"));
    }
    lines.push_back({{"lineType", "Account"},
                     {"lineObjectNumber", Upper(account)},
                     {"description", TruncateText(description, kDescription)},
                     {"quantity", 1},
                     {"unitPrice", Decimal(amount)}});
    return absl::OkStatus();
  };
  if (order.shipping.empty()) {
    if (absl::Status s =
            account_line(options.shipping_account, "shipping", "Shipping", order.shipping_total);
        !s.ok()) {
      return s;
    }
  }
  for (const model::ShippingLine& s : order.shipping) {
    std::string title = Trim(s.method_title).empty() ? "Shipping" : Trim(s.method_title);
    if (absl::Status st = account_line(options.shipping_account, "shipping", title, s.total);
        !st.ok()) {
      return st;
    }
  }
  for (const model::FeeLine& f : order.fees) {
    std::string name = Trim(f.name).empty() ? "Fee" : Trim(f.name);
    if (absl::Status st = account_line(options.fee_account, "fee", name, f.total); !st.ok()) {
      return st;
    }
  }

  json out = {{"externalDocumentNumber", *edn}, {"customerId", customer.id}};
  if (!order.currency.empty() &&
      (options.lcy_code.empty() || Upper(order.currency) != Upper(options.lcy_code))) {
    out["currencyCode"] = Upper(order.currency);
  }
  if (order.date_created_gmt != absl::InfinitePast()) {
    out["orderDate"] = absl::FormatTime("%Y-%m-%d", order.date_created_gmt, absl::UTCTimeZone());
  }
  const model::Address& ship = Trim(order.customer.shipping.address_1).empty()
                                   ? order.customer.billing
                                   : order.customer.shipping;
  auto put = [&](const char* key, std::string_view value, size_t max, bool code) {
    std::string v = TruncateText(Trim(value), max);
    if (code) v = Upper(v);
    if (!v.empty()) out[key] = v;
  };
  put("shipToName", Trim(ship.company).empty() ? FullName(ship) : Trim(ship.company), kName, false);
  put("shipToAddressLine1", ship.address_1, kAddress, false);
  put("shipToAddressLine2", ship.address_2, kAddress2, false);
  put("shipToCity", ship.city, kCity, false);
  put("shipToState", ship.state, kCounty, false);
  put("shipToCountry", ship.country, kCountry, true);
  put("shipToPostCode", ship.postcode, kPostCode, true);
  const std::string email = absl::AsciiStrToLower(core::AbslSv(Trim(order.customer.email)));
  if (!email.empty() && email.size() <= kEmail) out["email"] = email;
  put("phoneNumber", order.customer.billing.phone, kPhone, false);
  out["salesOrderLines"] = std::move(lines);
  return out;
}

ErpOrderState OrderState(const json& order) {
  if (order.is_object() && order.contains("salesOrderLines") &&
      order["salesOrderLines"].is_array()) {
    int relevant = 0, zero = 0, shipped_any = 0, shipped_full = 0;
    for (const json& l : order["salesOrderLines"]) {
      if (!l.is_object() || Str(l, "lineType") == "Comment") continue;
      ++relevant;
      const double q = Num(l, "quantity");
      const double shipped = Num(l, "shippedQuantity");
      if (q == 0) ++zero;
      if (shipped > 0) ++shipped_any;
      if (q == 0 || shipped >= q) ++shipped_full;
    }
    if (relevant > 0 && zero == relevant) return ErpOrderState::kCancelled;
    if (relevant > 0 && shipped_full == relevant) return ErpOrderState::kDone;
    if (shipped_any > 0) return ErpOrderState::kConfirmed;
  }
  const std::string status = Str(order, "status");
  // The API's "Open" is a released order (codeunit 5496 maps Released and Pending Prepayment to
  // it); "Released" is accepted too in case a later version spells it out.
  if (status == "Open" || status == "Released") return ErpOrderState::kConfirmed;
  return ErpOrderState::kOpen;
}

absl::StatusOr<ErpOrderRef> OrderRefFromJson(const json& order) {
  if (!order.is_object() || !order.contains("id") || !order["id"].is_string()) {
    return absl::InternalError("business_central: sales order without an id in the answer");
  }
  ErpOrderRef ref;
  ref.id = order["id"].get<std::string>();
  ref.number = Str(order, "number");
  ref.external_reference = Str(order, "externalDocumentNumber");
  ref.state = OrderState(order);
  return ref;
}

bool IsGuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::optional<ErpStockRow>> StockRowFromItem(const json& item) {
  const std::string number = Str(item, "number");
  const std::string type = Str(item, "type");
  if (number.empty() || (!type.empty() && type != "Inventory")) {
    return std::optional<ErpStockRow>();
  }
  ErpStockRow row;
  row.sku = number;
  // BC's decimal arrives as a JSON number; whole units are what a shop can sell.
  row.on_hand = static_cast<int64_t>(std::floor(Num(item, "inventory")));
  std::string err;
  const std::string modified = Str(item, "lastModifiedDateTime");
  if (!absl::ParseTime(absl::RFC3339_full, modified, &row.modified_at, &err)) {
    return absl::InternalError(absl::StrCat("business_central: item ", number,
                                            " has an unreadable lastModifiedDateTime '", modified,
                                            "'"));
  }
  return std::optional<ErpStockRow>(std::move(row));
}

std::string ODataDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace keelson::connectors::business_central
