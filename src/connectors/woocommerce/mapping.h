#pragma once
// WooCommerce REST API v3 order JSON -> canonical model::Order. Pure functions, no I/O;
// thread-safe. The payload is the body WooCommerce posts for order.created / order.updated
// webhooks, which is the same shape as GET /wp-json/wc/v3/orders/<id>.

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/order.h"

namespace keelson::connectors::woocommerce {

// Maps one order. Required: id (positive integer), status (a known slug), currency (ISO 4217
// code), line_items (array), total (decimal string), date_modified_gmt ("YYYY-MM-DDTHH:MM:SS",
// UTC). Optional fields may be absent or null and default to empty/zero, but a present field of
// the wrong type is an error too. Amount strings parse exactly (model::ParseMoney);
// line_items[].price is a JSON number and is rounded half-even (model::ParseMoneyNumber).
// Errors: kInvalidArgument whose message starts with the field path, e.g.
// "line_items[1].quantity: must be a positive integer"; kOutOfRange for amounts beyond int64.
absl::StatusOr<model::Order> MapOrder(std::string_view store_id, const nlohmann::json& payload);

// True for the `{"id":N}` body WooCommerce sends with order.deleted when an order is deleted
// permanently (trashing an order sends a full order with status "trash" instead).
bool IsDeletedStub(const nlohmann::json& payload);

}  // namespace keelson::connectors::woocommerce
