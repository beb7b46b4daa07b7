#include "connectors/erp/odoo/mapping.h"

#include <algorithm>

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

}  // namespace keelson::connectors::odoo
