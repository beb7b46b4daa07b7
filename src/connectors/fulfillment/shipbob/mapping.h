#pragma once
// ShipBob JSON (API 2026-01, field names as in ShipBob's OpenAPI spec) <-> Keelson values:
// ReleaseRequest -> Orders.CreateOrderModel; Orders.OrderViewModel / Orders.ShipmentViewModel
// -> Shipment; Inventory.InventoryQuantityFcResponsePagedResponse -> inventory levels.
// Pure functions; thread-safe.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/fulfillment.h"
#include "connectors/fulfillment/shipbob/config.h"

namespace keelson::connectors::shipbob {

// The Create Order body for one release segment:
//   reference_id = segment id (unique per channel: the idempotency key), order_number, type,
//   shipping_method (default_shipping_method when empty), recipient {name, address{address1,
//   address2, company_name, city, state, country, zip_code}, email, phone_number},
//   products [{reference_id = SKU, name, quantity, external_line_id = the shop's line id}],
//   tags [{"name":"keelson_order_ref","value":order_ref}, {"keelson_node", node_id}].
// kInvalidArgument for a request ShipBob could not take or we could not look up again: empty
// segment id, a ',' in it (Get Orders takes ReferenceIds comma separated), no lines, an empty
// SKU or a quantity < 1.
absl::StatusOr<nlohmann::json> CreateOrderBody(const ReleaseRequest& request,
                                               const ShipBobOptions& options);

// The recipient name: "first last", else the company.
std::string RecipientName(const model::Address& address);

struct OrderRef {
  int64_t id = 0;
  std::string reference_id;
  std::string status;  // Orders.OrderStatus
};
absl::StatusOr<OrderRef> ParseOrderRef(const nlohmann::json& order);

// Shipments that left with tracking ("LabeledCreated" or "Completed" and a tracking number),
// from an order (Orders.OrderViewModel, its `shipments`) or one shipment
// (Orders.ShipmentViewModel). Each product's quantity is the sum of its inventory_items;
// line_id comes from the order's external_line_id when the order has exactly one line with
// that SKU. shipped_at: actual_fulfillment_date, else tracking.shipping_date.
// kInvalidArgument when the JSON is neither shape.
absl::StatusOr<std::vector<Shipment>> ShipmentsFromJson(const nlohmann::json& payload,
                                                        std::string_view provider);

// One SKU at one fulfillment center (Inventory.FulfillmentCenterResponse).
struct InventoryLevel {
  std::string sku;
  std::string name;
  int64_t inventory_id = 0;
  int64_t fulfillment_center_id = 0;  // 0 when ShipBob holds the item nowhere
  std::string fulfillment_center;     // its name
  int64_t on_hand = 0;                // physically present
  int64_t committed = 0;              // reserved for existing orders
  int64_t fulfillable = 0;            // available to new orders (on hand minus committed)
  int64_t awaiting = 0;               // expected from receiving
};

struct InventoryPage {
  std::vector<InventoryLevel> levels;
  std::string next_page;  // ShipBob's `next` link; "" on the last page
};

// GET /inventory-level/locations. An item without locations gives one row with
// fulfillment_center_id 0 and zero quantities, so that "nothing anywhere" is said, not implied.
absl::StatusOr<InventoryPage> ParseInventoryLevels(std::string_view body);

// ShipBob's date-times: RFC 3339 with any fraction ("2025-10-23T15:55:09.3614767Z"); one without
// an offset is read as UTC. nullopt when empty or unreadable.
std::optional<absl::Time> ParseShipBobTime(std::string_view s);

}  // namespace keelson::connectors::shipbob
