#include "connectors/fulfillment/shipbob/mapping.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace keelson::connectors::shipbob {
namespace {

using json = nlohmann::json;
using core::AbslSv;
using core::Cat;

std::string Trim(std::string_view s) { return std::string(absl::StripAsciiWhitespace(AbslSv(s))); }

std::string Str(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>()
                                                                : std::string();
}

std::optional<int64_t> Int(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return std::nullopt;
  if (o[key].is_number_integer()) return o[key].get<int64_t>();
  return std::nullopt;
}

// Puts `value` under `key` unless it is empty: ShipBob's optional fields are nullable, and
// absent is the plainest way to say "none".
void PutIf(json& o, const char* key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

bool Shipped(const std::string& status) {
  return status == "LabeledCreated" || status == "Completed";
}

// One Orders.ShipmentViewModel as a Shipment; nullopt when it has not left with tracking.
std::optional<Shipment> FromShipment(const json& s, const std::string& reference_id,
                                     const std::map<std::string, int64_t>& line_ids,
                                     std::string_view provider) {
  const json tracking =
      s.contains("tracking") && s["tracking"].is_object() ? s["tracking"] : json::object();
  const std::string number = Str(tracking, "tracking_number");
  if (!Shipped(Str(s, "status")) || number.empty()) return std::nullopt;
  std::optional<int64_t> id = Int(s, "id");
  if (!id) return std::nullopt;
  Shipment out;
  out.provider = std::string(provider);
  out.shipment_id = Cat(*id);
  out.segment_id = Str(s, "reference_id").empty() ? reference_id : Str(s, "reference_id");
  out.carrier = Str(tracking, "carrier");
  out.tracking_number = number;
  out.tracking_url = Str(tracking, "tracking_url");
  if (auto t = ParseShipBobTime(Str(s, "actual_fulfillment_date"))) {
    out.shipped_at = *t;
  } else if (auto t2 = ParseShipBobTime(Str(tracking, "shipping_date"))) {
    out.shipped_at = *t2;
  }
  std::map<std::string, int64_t> quantities;  // by SKU, in SKU order
  if (s.contains("products") && s["products"].is_array()) {
    for (const json& p : s["products"]) {
      std::string sku = Str(p, "reference_id");
      if (sku.empty()) sku = Str(p, "sku");
      int64_t q = 0;
      if (p.contains("inventory_items") && p["inventory_items"].is_array()) {
        for (const json& item : p["inventory_items"]) q += Int(item, "quantity").value_or(0);
      }
      if (!sku.empty() && q > 0) quantities[sku] += q;
    }
  }
  for (const auto& [sku, q] : quantities) {
    auto it = line_ids.find(sku);
    out.lines.push_back({sku, q, it == line_ids.end() ? 0 : it->second});
  }
  return out;
}

}  // namespace

std::string RecipientName(const model::Address& a) {
  std::string name = Trim(Cat(a.first_name, " ", a.last_name));
  return name.empty() ? Trim(a.company) : name;
}

absl::StatusOr<json> CreateOrderBody(const ReleaseRequest& r, const ShipBobOptions& options) {
  if (r.segment_id.empty())
    return absl::InvalidArgumentError("shipbob: release without a segment id");
  if (r.segment_id.find(',') != std::string::npos) {
    return absl::InvalidArgumentError(
        Cat("shipbob: segment id '", r.segment_id,
            "' has a ',' and could not be looked up by ReferenceIds"));
  }
  if (r.lines.empty()) {
    return absl::InvalidArgumentError(Cat("shipbob: segment '", r.segment_id, "' has no lines"));
  }
  json products = json::array();
  for (const ReleaseLine& l : r.lines) {
    if (l.sku.empty() || l.quantity < 1) {
      return absl::InvalidArgumentError(Cat("shipbob: segment '", r.segment_id, "' line ",
                                            l.line_id, ": SKU '", l.sku, "' quantity ",
                                            l.quantity));
    }
    json p = {{"reference_id", l.sku}, {"quantity", l.quantity}};
    // ShipBob creates a product it does not know from reference_id and name.
    PutIf(p, "name", l.name);
    if (l.line_id > 0) p["external_line_id"] = l.line_id;
    products.push_back(std::move(p));
  }
  const model::Address& a = r.ship_to;
  json address = {{"address1", a.address_1}, {"city", a.city}, {"country", a.country}};
  PutIf(address, "address2", a.address_2);
  PutIf(address, "company_name", a.company);
  PutIf(address, "state", a.state);
  PutIf(address, "zip_code", a.postcode);
  json recipient = {{"name", RecipientName(a)}, {"address", std::move(address)}};
  PutIf(recipient, "email", r.email.empty() ? a.email : r.email);
  PutIf(recipient, "phone_number", a.phone);
  json body = {{"reference_id", r.segment_id},
               {"type", options.order_type},
               {"shipping_method", Trim(r.shipping_method).empty() ? options.default_shipping_method
                                                                   : Trim(r.shipping_method)},
               {"recipient", std::move(recipient)},
               {"products", std::move(products)}};
  PutIf(body, "order_number", r.order_number);
  json tags = json::array();
  if (!r.order_ref.empty()) tags.push_back({{"name", "keelson_order_ref"}, {"value", r.order_ref}});
  if (!r.node_id.empty()) tags.push_back({{"name", "keelson_node"}, {"value", r.node_id}});
  if (!tags.empty()) body["tags"] = std::move(tags);
  return body;
}

absl::StatusOr<OrderRef> ParseOrderRef(const json& order) {
  std::optional<int64_t> id = Int(order, "id");
  if (!id) return absl::InvalidArgumentError("shipbob: an order without an id");
  return OrderRef{*id, Str(order, "reference_id"), Str(order, "status")};
}

absl::StatusOr<std::vector<Shipment>> ShipmentsFromJson(const json& payload,
                                                        std::string_view provider) {
  std::vector<Shipment> out;
  if (!payload.is_object()) return absl::InvalidArgumentError("shipbob: payload is not an object");
  if (payload.contains("shipments") && payload["shipments"].is_array()) {
    // An order: its SKUs with exactly one external_line_id map shipment lines back to lines.
    std::map<std::string, int64_t> line_ids;
    std::map<std::string, int> lines_per_sku;
    if (payload.contains("products") && payload["products"].is_array()) {
      for (const json& p : payload["products"]) {
        const std::string sku = Str(p, "reference_id");
        ++lines_per_sku[sku];
        if (std::optional<int64_t> l = Int(p, "external_line_id")) line_ids[sku] = *l;
      }
    }
    for (const auto& [sku, n] : lines_per_sku) {
      if (n != 1) line_ids.erase(sku);
    }
    const std::string reference_id = Str(payload, "reference_id");
    for (const json& s : payload["shipments"]) {
      if (std::optional<Shipment> sh = FromShipment(s, reference_id, line_ids, provider)) {
        out.push_back(*std::move(sh));
      }
    }
    return out;
  }
  if (payload.contains("order_id") && payload.contains("tracking")) {
    if (std::optional<Shipment> sh = FromShipment(payload, "", {}, provider)) {
      out.push_back(*std::move(sh));
    }
    return out;
  }
  return absl::InvalidArgumentError("shipbob: payload is neither an order nor a shipment");
}

absl::StatusOr<InventoryPage> ParseInventoryLevels(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() ||
      (j.contains("items") && !j["items"].is_array() && !j["items"].is_null())) {
    return absl::InvalidArgumentError("shipbob: inventory levels: not a paged response");
  }
  InventoryPage page;
  page.next_page = Str(j, "next");
  if (!j.contains("items") || j["items"].is_null()) return page;
  for (const json& item : j["items"]) {
    InventoryLevel base;
    base.sku = Str(item, "sku");
    base.name = Str(item, "name");
    base.inventory_id = Int(item, "inventory_id").value_or(0);
    if (!item.contains("locations") || !item["locations"].is_array() || item["locations"].empty()) {
      page.levels.push_back(base);
      continue;
    }
    for (const json& loc : item["locations"]) {
      InventoryLevel row = base;
      row.fulfillment_center_id = Int(loc, "location_id").value_or(0);
      row.fulfillment_center = Str(loc, "name");
      row.on_hand = Int(loc, "on_hand_quantity").value_or(0);
      row.committed = Int(loc, "committed_quantity").value_or(0);
      row.fulfillable = Int(loc, "fulfillable_quantity").value_or(0);
      row.awaiting = Int(loc, "awaiting_quantity").value_or(0);
      page.levels.push_back(std::move(row));
    }
  }
  return page;
}

std::optional<absl::Time> ParseShipBobTime(std::string_view s) {
  if (s.empty()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, AbslSv(s), &t, &err)) return t;
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", AbslSv(s), absl::UTCTimeZone(), &t, &err)) return t;
  return std::nullopt;
}

}  // namespace keelson::connectors::shipbob
