#include "connectors/erp/odoo/mapping.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/strings.h"

namespace keelson::connectors::odoo {
namespace {

using json = nlohmann::json;

std::string Str(const json& record, const char* field) {
  auto it = record.find(field);
  return (it != record.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

void PutIfSet(json& vals, const char* field, const std::string& value) {
  std::string v(absl::StripAsciiWhitespace(value));
  if (!v.empty()) vals[field] = v;
}

json ExtraLine(std::string_view label, std::string_view title, const model::Money& total,
               std::optional<int64_t> product_id) {
  std::string name = title.empty() ? std::string(label)
                                   : absl::StrCat(core::AbslSv(label), ": ", core::AbslSv(title));
  if (product_id) {
    return json::array({0,
                        0,
                        {{"product_id", *product_id},
                         {"product_uom_qty", 1},
                         {"price_unit", ToOdooAmount(total)},
                         {"name", name}}});
  }
  // No product to book it on: keep the amount visible on the order as a note.
  return json::array(
      {0,
       0,
       {{"display_type", "line_note"},
        {"name", absl::StrCat(name, ", ", model::FormatMoney(total), " ", total.currency)}}});
}

}  // namespace

std::vector<std::string> SaleOrderFields(int major_version) {
  std::vector<std::string> fields = {"id", "name", "client_order_ref", "state"};
  if (major_version >= 17) fields.push_back("locked");
  return fields;
}

ErpOrderState MapOrderState(std::string_view state, bool locked) {
  if (state == "cancel") return ErpOrderState::kCancelled;
  if (state == "done") return ErpOrderState::kDone;
  if (state == "sale") return locked ? ErpOrderState::kDone : ErpOrderState::kConfirmed;
  return ErpOrderState::kOpen;  // draft, sent, and module-defined states
}

absl::StatusOr<ErpOrderRef> MapSaleOrder(const json& record) {
  if (!record.is_object() || !record.contains("id") || !record["id"].is_number_integer()) {
    return absl::InternalError(
        absl::StrCat("odoo sale.order: record without an integer id: ", record.dump()));
  }
  ErpOrderRef ref;
  ref.id = std::to_string(record["id"].get<int64_t>());
  ref.number = Str(record, "name");
  ref.external_reference = Str(record, "client_order_ref");
  const bool locked =
      record.contains("locked") && record["locked"].is_boolean() && record["locked"].get<bool>();
  ref.state = MapOrderState(Str(record, "state"), locked);
  return ref;
}

std::string PartnerName(const model::Customer& customer) {
  std::string name(absl::StripAsciiWhitespace(
      absl::StrCat(absl::StripAsciiWhitespace(customer.billing.first_name), " ",
                   absl::StripAsciiWhitespace(customer.billing.last_name))));
  if (!name.empty()) return name;
  name = std::string(absl::StripAsciiWhitespace(customer.billing.company));
  if (!name.empty()) return name;
  return customer.email;
}

json PartnerValues(const model::Customer& customer, std::optional<int64_t> country_id) {
  const model::Address& a = customer.billing;
  json vals = json::object();
  vals["name"] = PartnerName(customer);
  PutIfSet(vals, "email", customer.email);
  PutIfSet(vals, "phone", a.phone);
  PutIfSet(vals, "street", a.address_1);
  PutIfSet(vals, "street2", a.address_2);
  PutIfSet(vals, "city", a.city);
  PutIfSet(vals, "zip", a.postcode);
  if (country_id) vals["country_id"] = *country_id;
  return vals;
}

std::vector<std::string> OrderSkus(const model::Order& order) {
  std::vector<std::string> skus;
  for (const model::OrderLine& l : order.lines) {
    if (std::find(skus.begin(), skus.end(), l.sku) == skus.end()) skus.push_back(l.sku);
  }
  return skus;
}

double ToOdooAmount(const model::Money& money) {
  double scale = 1;
  for (int i = 0; i < model::CurrencyExponent(money.currency); ++i) scale *= 10;
  return static_cast<double>(money.minor) / scale;
}

absl::StatusOr<json> SaleOrderValues(const model::Order& order, int64_t partner_id,
                                     const absl::flat_hash_map<std::string, int64_t>& products,
                                     const ExtraLineProducts& extras) {
  std::vector<std::string> missing;
  json lines = json::array();
  for (const model::OrderLine& l : order.lines) {
    auto it = products.find(l.sku);
    if (l.sku.empty() || it == products.end()) {
      std::string quoted = absl::StrCat("'", l.sku, "'");
      if (std::find(missing.begin(), missing.end(), quoted) == missing.end()) {
        missing.push_back(quoted);
      }
      continue;
    }
    json vals = {{"product_id", it->second},
                 {"product_uom_qty", l.quantity_ordered},
                 {"price_unit", ToOdooAmount(l.unit_price)}};
    if (!l.name.empty()) vals["name"] = l.name;
    lines.push_back(json::array({0, 0, std::move(vals)}));
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "unknown SKU ", absl::StrJoin(missing, ", "),
        ": no product.product with that default_code in Odoo (order ", order.Reference(), ")"));
  }
  for (const model::ShippingLine& s : order.shipping) {
    if (s.total.minor == 0) continue;
    lines.push_back(ExtraLine("Shipping", s.method_title, s.total, extras.shipping_product_id));
  }
  for (const model::FeeLine& f : order.fees) {
    if (f.total.minor == 0) continue;
    lines.push_back(ExtraLine("Fee", f.name, f.total, extras.fee_product_id));
  }
  return json{{"partner_id", partner_id},
              {"client_order_ref", order.Reference()},
              {"origin",
               absl::StrCat("WooCommerce ", order.store_id, " #",
                            order.number.empty() ? std::to_string(order.order_id) : order.number)},
              {"order_line", std::move(lines)}};
}

std::string OdooDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
}

std::optional<absl::Time> ParseOdooDateTime(const nlohmann::json& value) {
  if (!value.is_string()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", value.get<std::string>(), absl::UTCTimeZone(), &t,
                       &err)) {
    return std::nullopt;
  }
  return t;
}

std::optional<std::pair<int64_t, std::string>> Many2one(const nlohmann::json& value) {
  if (!value.is_array() || value.empty() || !value[0].is_number_integer()) return std::nullopt;
  std::string name = value.size() > 1 && value[1].is_string() ? value[1].get<std::string>() : "";
  return std::make_pair(value[0].get<int64_t>(), std::move(name));
}

std::vector<ErpStockRow> StockRowsFromQuants(
    const nlohmann::json& quants, const absl::flat_hash_map<int64_t, std::string>& codes) {
  struct Sum {
    ErpStockRow row;
    double quantity = 0;
    double reserved = 0;
  };
  std::vector<Sum> sums;
  absl::flat_hash_map<std::pair<int64_t, int64_t>, size_t> index;
  if (!quants.is_array()) return {};
  for (const nlohmann::json& q : quants) {
    if (!q.is_object()) continue;
    auto product = Many2one(q.value("product_id", nlohmann::json()));
    auto location = Many2one(q.value("location_id", nlohmann::json()));
    if (!product || !location) continue;
    auto code = codes.find(product->first);
    if (code == codes.end() || code->second.empty()) continue;
    auto [it, fresh] = index.try_emplace({product->first, location->first}, sums.size());
    if (fresh) {
      Sum s;
      s.row.sku = code->second;
      s.row.location = location->second;
      sums.push_back(std::move(s));
    }
    Sum& s = sums[it->second];
    const nlohmann::json& qty = q.value("quantity", nlohmann::json());
    const nlohmann::json& res = q.value("reserved_quantity", nlohmann::json());
    if (qty.is_number()) s.quantity += qty.get<double>();
    if (res.is_number()) s.reserved += res.get<double>();
    if (auto at = ParseOdooDateTime(q.value("write_date", nlohmann::json()));
        at && *at > s.row.modified_at) {
      s.row.modified_at = *at;
    }
  }
  std::vector<ErpStockRow> out;
  out.reserve(sums.size());
  for (Sum& s : sums) {
    // Float fields: 2.9999999 is three units, so round to Odoo's default precision (0.01) first.
    s.row.on_hand = static_cast<int64_t>(std::floor(std::round(s.quantity * 100) / 100));
    s.row.reserved = static_cast<int64_t>(std::floor(std::round(s.reserved * 100) / 100));
    out.push_back(std::move(s.row));
  }
  return out;
}

}  // namespace keelson::connectors::odoo
