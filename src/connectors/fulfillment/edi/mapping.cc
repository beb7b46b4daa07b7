#include "connectors/fulfillment/edi/mapping.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace keelson::connectors::edi {
namespace {

namespace x12 = keelson::edi;
using json = nlohmann::json;
using core::Cat;

// Free text without the interchange's delimiters (X12 has no escape), at most `max` bytes.
std::string Clean(std::string_view text, const x12::Delimiters& d, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text) {
    if (out.size() >= max) break;
    const bool delimiter = c == d.element || (d.component != '\0' && c == d.component) ||
                           d.segment.find(c) != std::string::npos;
    out.push_back(delimiter || c == '\r' || c == '\n' ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

absl::Time DayStart(const std::optional<absl::CivilDay>& day) {
  return day ? absl::FromCivil(*day, absl::UTCTimeZone()) : absl::InfinitePast();
}

int64_t LineIdOf(std::string_view s) {
  int64_t v = 0;
  return absl::SimpleAtoi(core::AbslSv(s), &v) ? v : 0;
}

}  // namespace

x12::WarehouseShippingOrder OrderFor(const ReleaseRequest& r, const x12::Delimiters& d) {
  x12::WarehouseShippingOrder o;
  o.purpose = 'N';
  o.order_id = r.segment_id;
  o.purchase_order = Clean(r.order_number, d, 22);
  const model::Address& a = r.ship_to;
  std::string name = Cat(a.first_name, a.first_name.empty() ? "" : " ", a.last_name);
  if (name.empty()) name = a.company;
  if (name.empty()) name = r.email;
  o.ship_to.entity = "ST";
  o.ship_to.name = Clean(name, d, 60);
  if (o.ship_to.name.empty()) o.ship_to.name = "CUSTOMER";
  for (const std::string* line : {&a.address_1, &a.address_2}) {
    std::string l = Clean(*line, d, 55);
    if (!l.empty()) o.ship_to.address.push_back(std::move(l));
  }
  if (!a.company.empty() && name != a.company && o.ship_to.address.size() < 2) {
    o.ship_to.address.insert(o.ship_to.address.begin(), Clean(a.company, d, 55));
  }
  o.ship_to.city = Clean(a.city, d, 30);
  o.ship_to.state = Clean(a.state, d, 2);
  o.ship_to.postal_code = Clean(a.postcode, d, 15);
  o.ship_to.country = Clean(a.country, d, 3);
  o.routing = Clean(r.shipping_method, d, 35);
  for (const ReleaseLine& l : r.lines) {
    x12::WarehouseOrderLine w;
    w.quantity = l.quantity;
    w.sku = l.sku;
    w.description = Clean(l.name, d, 45);
    w.line_id = Cat(l.line_id);
    o.lines.push_back(std::move(w));
  }
  return o;
}

json OrderToJson(const x12::WarehouseShippingOrder& o) {
  json lines = json::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"quantity", l.quantity},
                     {"uom", l.uom},
                     {"sku", l.sku},
                     {"sku_qualifier", l.sku_qualifier},
                     {"upc", l.upc},
                     {"description", l.description},
                     {"line_id", l.line_id}});
  }
  const x12::Party& p = o.ship_to;
  return {{"purpose", std::string(1, o.purpose)},
          {"order_id", o.order_id},
          {"purchase_order", o.purchase_order},
          {"ship_to",
           {{"name", p.name},
            {"address", p.address},
            {"city", p.city},
            {"state", p.state},
            {"postal_code", p.postal_code},
            {"country", p.country}}},
          {"routing", o.routing},
          {"carrier_scac", o.carrier_scac},
          {"lines", lines}};
}

absl::StatusOr<x12::WarehouseShippingOrder> OrderFromJson(const json& j) {
  if (!j.is_object() || !j.value("order_id", json()).is_string() ||
      !j.value("lines", json()).is_array() || !j.value("ship_to", json()).is_object()) {
    return absl::InvalidArgumentError("a 940 needs order_id, ship_to and lines");
  }
  x12::WarehouseShippingOrder o;
  const std::string purpose = j.value("purpose", "N");
  o.purpose = purpose.empty() ? 'N' : purpose[0];
  o.order_id = j["order_id"];
  o.purchase_order = j.value("purchase_order", "");
  const json& st = j["ship_to"];
  o.ship_to.entity = "ST";
  o.ship_to.name = st.value("name", "");
  if (st.contains("address") && st["address"].is_array()) {
    for (const auto& a : st["address"]) {
      if (a.is_string()) o.ship_to.address.push_back(a);
    }
  }
  o.ship_to.city = st.value("city", "");
  o.ship_to.state = st.value("state", "");
  o.ship_to.postal_code = st.value("postal_code", "");
  o.ship_to.country = st.value("country", "");
  o.routing = j.value("routing", "");
  o.carrier_scac = j.value("carrier_scac", "");
  for (const json& l : j["lines"]) {
    if (!l.is_object() || !l.value("quantity", json()).is_number_integer() ||
        !l.value("sku", json()).is_string()) {
      return absl::InvalidArgumentError("each 940 line needs a quantity and a sku");
    }
    x12::WarehouseOrderLine w;
    w.quantity = l["quantity"];
    w.uom = l.value("uom", "EA");
    w.sku = l["sku"];
    w.sku_qualifier = l.value("sku_qualifier", "SK");
    w.upc = l.value("upc", "");
    w.description = l.value("description", "");
    w.line_id = l.value("line_id", "");
    o.lines.push_back(std::move(w));
  }
  return o;
}

absl::StatusOr<Shipment> ShipmentFrom945(const x12::ShippingAdvice& a, const NoticeOrigin& origin) {
  if (a.order_id.empty()) {
    return absl::InvalidArgumentError("945 without a depositor order number (W0602)");
  }
  Shipment s;
  s.provider = origin.provider;
  s.shipment_id = !a.shipment_id.empty()
                      ? a.shipment_id
                      : Cat(origin.sender, ":", origin.interchange, ":", origin.set_control);
  s.segment_id = a.order_id;
  s.carrier = !a.carrier_scac.empty() ? a.carrier_scac : a.routing;
  if (!a.tracking.empty()) s.tracking_number = a.tracking.front();
  s.shipped_at = DayStart(a.ship_date);
  bool short_line = false;
  for (const x12::ShippedLine& l : a.lines) {
    if (s.tracking_number.empty() && !l.tracking.empty()) s.tracking_number = l.tracking.front();
    const int64_t shipped = l.shipped.value_or(0);
    if (l.ordered && shipped < *l.ordered) short_line = true;
    if (shipped <= 0) continue;  // a line reported short or cancelled ships nothing
    const std::string sku = !l.sku.empty() ? l.sku : l.upc;
    if (sku.empty()) {
      return absl::InvalidArgumentError(
          Cat("945 ", a.order_id, ": a shipped line (W12) has neither SKU (W1208) nor UPC"));
    }
    s.lines.push_back({.sku = sku, .quantity = shipped, .line_id = LineIdOf(l.line_id)});
  }
  // The final advice (W0601 F) of a line shipped short: nothing more will come for the segment,
  // so what is missing is routed again.
  s.closes_segment = a.reporting_code == "F" && short_line;
  if (s.lines.empty() && !s.closes_segment) {
    return absl::InvalidArgumentError(Cat("945 ", a.order_id, " ships no units"));
  }
  return s;
}

absl::StatusOr<std::vector<Shipment>> ShipmentsFrom856(const x12::ShipNotice& n,
                                                       const NoticeOrigin& origin) {
  // Items by their order (PRF01), in file order.
  std::vector<std::string> orders;
  std::map<std::string, Shipment> by_order;
  for (const x12::ShipNoticeItem& item : n.items) {
    if (item.purchase_order.empty()) {
      return absl::InvalidArgumentError(
          Cat("856 ", n.shipment_id, ": an item is under no order level with a PRF01"));
    }
    auto [it, fresh] = by_order.try_emplace(item.purchase_order);
    Shipment& s = it->second;
    if (fresh) {
      orders.push_back(item.purchase_order);
      s.provider = origin.provider;
      s.segment_id = item.purchase_order;
      s.carrier = n.carrier_scac;
      s.shipped_at = DayStart(n.ship_date ? n.ship_date : n.date);
    }
    if (s.tracking_number.empty()) {
      if (!item.tracking.empty()) {
        s.tracking_number = item.tracking.front();
      } else if (!n.tracking.empty()) {
        s.tracking_number = n.tracking.front();
      } else {
        s.tracking_number = n.bill_of_lading;
      }
    }
    if (item.shipped <= 0) continue;
    if (item.sku.empty()) {
      return absl::InvalidArgumentError(Cat("856 ", n.shipment_id, ": an item has no product id"));
    }
    // One line per SKU: an item packed in two cartons is two LIN loops.
    auto same = std::find_if(s.lines.begin(), s.lines.end(),
                             [&](const ShipmentLine& l) { return l.sku == item.sku; });
    if (same != s.lines.end()) {
      same->quantity += item.shipped;
    } else {
      s.lines.push_back({.sku = item.sku, .quantity = item.shipped});
    }
  }
  const std::string base =
      !n.shipment_id.empty() ? n.shipment_id
                             : Cat(origin.sender, ":", origin.interchange, ":", origin.set_control);
  std::vector<Shipment> out;
  for (const std::string& order : orders) {
    Shipment s = std::move(by_order[order]);
    s.shipment_id = orders.size() == 1 ? base : Cat(base, "/", order);
    if (s.lines.empty()) {
      return absl::InvalidArgumentError(
          Cat("856 ", n.shipment_id, ": order ", order, " ships no units"));
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) return absl::InvalidArgumentError(Cat("856 ", n.shipment_id, " ships no items"));
  return out;
}

}  // namespace keelson::connectors::edi
