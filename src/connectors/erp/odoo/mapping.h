#pragma once
// Odoo records <-> Keelson's canonical model, for the Odoo ERP adapter. Pure functions, no I/O;
// thread-compatible. Field names are those of Odoo's sale, product and base modules (see
// README.md for the sources).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/erp.h"
#include "model/money.h"
#include "model/order.h"

namespace keelson::connectors::odoo {

// sale.order fields the adapter reads. `locked` exists from Odoo 17 on (it replaced the 'done'
// state), so it is only asked for there: reading an unknown field is an error in Odoo.
std::vector<std::string> SaleOrderFields(int major_version);

// draft, sent -> kOpen; sale -> kConfirmed, or kDone when locked; done (<= 16) -> kDone;
// cancel -> kCancelled. A state added by a module counts as kOpen.
ErpOrderState MapOrderState(std::string_view state, bool locked);

// A sale.order record read with SaleOrderFields -> ErpOrderRef (id as decimal, number = name,
// external_reference = client_order_ref or "" when Odoo has false). kInternal when the record
// has no integer id.
absl::StatusOr<ErpOrderRef> MapSaleOrder(const nlohmann::json& record);

// "First Last" from the billing address, else the billing company, else the email.
std::string PartnerName(const model::Customer& customer);

// res.partner values for a new contact from the billing address: name, email, phone, street,
// street2, city, zip and country_id (only when `country_id` is known). Empty values are left out.
nlohmann::json PartnerValues(const model::Customer& customer, std::optional<int64_t> country_id);

// Distinct SKUs of the order's lines, in line order (empty SKUs included once).
std::vector<std::string> OrderSkus(const model::Order& order);

// product.product ids of the service products shipping and fees are booked on; nullopt books
// them as note lines instead (see README.md "Shipping and fees").
struct ExtraLineProducts {
  std::optional<int64_t> shipping_product_id;
  std::optional<int64_t> fee_product_id;
};

// An amount as Odoo's float fields take it (12.50 EUR -> 12.5).
double ToOdooAmount(const model::Money& money);

// sale.order create values for `order`: partner_id, client_order_ref (= order.Reference()),
// origin, and order_line as [0, 0, {...}] create commands: one per order line (product_id from
// `products` by SKU, product_uom_qty, price_unit = the line's unit price after discounts before
// tax, name), then shipping and fee lines. A line whose SKU is not in `products` is
// kFailedPrecondition "unknown SKU '<sku>' ..." naming every missing SKU.
absl::StatusOr<nlohmann::json> SaleOrderValues(
    const model::Order& order, int64_t partner_id,
    const absl::flat_hash_map<std::string, int64_t>& products, const ExtraLineProducts& extras);

// Odoo's datetime text ("2026-03-01 10:00:00", UTC, whole seconds; a fraction is dropped).
std::string OdooDateTime(absl::Time t);
// The reverse; nullopt for anything else (Odoo sends false for an empty datetime).
std::optional<absl::Time> ParseOdooDateTime(const nlohmann::json& value);

// The id and display name of a many2one as read() gives it ([id, "name"]); nullopt for false.
std::optional<std::pair<int64_t, std::string>> Many2one(const nlohmann::json& value);

// One stock row per product × location from stock.quant records (read with product_id,
// location_id, quantity, reserved_quantity, write_date): quantities summed (lots, packages,
// owners), rounded down to whole units, modified_at the newest write_date, location the
// location's display name (its complete name). `codes` maps product ids to default_code;
// quants of products without one are left out. Rows in order of first appearance.
std::vector<ErpStockRow> StockRowsFromQuants(
    const nlohmann::json& quants, const absl::flat_hash_map<int64_t, std::string>& codes);

}  // namespace keelson::connectors::odoo
