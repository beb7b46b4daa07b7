#include "edi/documents.h"

#include <map>

#include "absl/strings/str_format.h"
#include "core/strings.h"

namespace keelson::edi {
namespace {

using core::Cat;

std::string Where(const OwnedSegment& s) {
  return Cat("segment ", s.position().in_set, " (", s.id(), ", byte ", s.position().offset, ")");
}

std::string ElementName(const OwnedSegment& s, size_t i) {
  return Cat(s.id(), i < 10 ? "0" : "", i);
}

absl::Status Invalid(const OwnedSegment& s, std::string message) {
  return absl::InvalidArgumentError(Cat(message, " at ", Where(s)));
}

// Whole units: "12", "-3", "12.0", "12.000"; not "1.5".
absl::StatusOr<int64_t> WholeQuantity(const OwnedSegment& s, size_t i) {
  std::string_view v = s.element(i);
  const std::string_view original = v;
  bool negative = false;
  if (!v.empty() && v[0] == '-') {
    negative = true;
    v.remove_prefix(1);
  }
  const size_t point = v.find('.');
  std::string_view whole = v.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? "" : v.substr(point + 1);
  bool ok = !whole.empty() || !fraction.empty();
  for (char c : whole) ok = ok && c >= '0' && c <= '9';
  for (char c : fraction) ok = ok && c == '0';
  if (!ok || whole.size() > 15) {
    return Invalid(s, Cat(ElementName(s, i), " \"", original, "\" is not a whole quantity"));
  }
  int64_t q = 0;
  for (char c : whole) q = q * 10 + (c - '0');
  return negative ? -q : q;
}

absl::StatusOr<std::optional<int64_t>> OptionalQuantity(const OwnedSegment& s, size_t i) {
  if (s.element(i).empty()) return std::optional<int64_t>();
  absl::StatusOr<int64_t> q = WholeQuantity(s, i);
  if (!q.ok()) return q.status();
  return std::optional<int64_t>(*q);
}

// CCYYMMDD.
absl::StatusOr<std::optional<absl::CivilDay>> OptionalDate(const OwnedSegment& s, size_t i) {
  const std::string_view v = s.element(i);
  if (v.empty()) return std::optional<absl::CivilDay>();
  bool digits = v.size() == 8;
  for (char c : v) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    const int y = std::stoi(std::string(v.substr(0, 4)));
    const int m = std::stoi(std::string(v.substr(4, 2)));
    const int d = std::stoi(std::string(v.substr(6, 2)));
    const absl::CivilDay day(y, m, d);
    if (day.year() == y && day.month() == m && day.day() == d) {
      return std::optional<absl::CivilDay>(day);
    }
  }
  return Invalid(s, Cat(ElementName(s, i), " \"", v, "\" is not a date (CCYYMMDD)"));
}

std::string FormatDay(absl::CivilDay d) {
  return absl::StrFormat("%04d%02d%02d", d.year(), d.month(), d.day());
}

// The first identifier of `ids` whose qualifier comes first in `preference`.
std::string PickSku(const std::vector<Reference>& ids,
                    std::initializer_list<std::string_view> preference) {
  for (std::string_view q : preference) {
    for (const Reference& r : ids) {
      if (r.qualifier == q && !r.value.empty()) return r.value;
    }
  }
  return ids.empty() ? "" : ids.front().value;
}

// LIN: pairs of qualifier and ID from LIN02/LIN03 on.
std::vector<Reference> LinIds(const OwnedSegment& s) {
  std::vector<Reference> ids;
  for (size_t i = 2; i + 1 <= s.size(); i += 2) {
    if (s.element(i + 1).empty()) continue;
    ids.push_back(Reference{std::string(s.element(i)), std::string(s.element(i + 1))});
  }
  return ids;
}

// N1/N2/N3/N4 into parties.
bool PartySegment(const OwnedSegment& s, std::vector<Party>* parties) {
  const std::string_view id = s.id();
  if (id == "N1") {
    Party p;
    p.entity = std::string(s.element(1));
    p.name = std::string(s.element(2));
    p.id_qualifier = std::string(s.element(3));
    p.id = std::string(s.element(4));
    parties->push_back(std::move(p));
    return true;
  }
  if (parties->empty()) return false;
  Party& p = parties->back();
  if (id == "N2") {
    if (p.name.empty()) p.name = std::string(s.element(1));
    return true;
  }
  if (id == "N3") {
    for (size_t i = 1; i <= 2; ++i) {
      if (!s.element(i).empty()) p.address.emplace_back(s.element(i));
    }
    return true;
  }
  if (id == "N4") {
    p.city = std::string(s.element(1));
    p.state = std::string(s.element(2));
    p.postal_code = std::string(s.element(3));
    p.country = std::string(s.element(4));
    return true;
  }
  return false;
}

bool IsTrackingRef(std::string_view qualifier) { return qualifier == "2I" || qualifier == "CN"; }

absl::Status CheckType(const TransactionSet& set, std::string_view want) {
  if (set.id != want) {
    return absl::InvalidArgumentError(
        Cat("transaction set ", set.id, " ", set.control_number, " is not a ", want));
  }
  return absl::OkStatus();
}

absl::Status WriteParty(InterchangeWriter& w, std::string_view entity, const Party& p,
                        std::string_view field) {
  if (p.name.empty() && p.id.empty()) {
    return absl::InvalidArgumentError(Cat(field, ": a name or an id is required"));
  }
  if (absl::Status s = w.Add("N1", {entity, p.name, p.id.empty() ? "" : p.id_qualifier, p.id});
      !s.ok()) {
    return s;
  }
  if (!p.address.empty()) {
    if (p.address.size() > 2) {
      return absl::InvalidArgumentError(Cat(field, ".address: at most 2 lines"));
    }
    if (absl::Status s = w.Add("N3", p.address); !s.ok()) return s;
  }
  if (!p.city.empty() || !p.state.empty() || !p.postal_code.empty() || !p.country.empty()) {
    if (absl::Status s = w.Add("N4", {p.city, p.state, p.postal_code, p.country}); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 940

absl::Status Write940(const WarehouseShippingOrder& order, std::string_view st_control,
                      InterchangeWriter& w) {
  if (order.purpose != 'N' && order.purpose != 'F' && order.purpose != 'R') {
    return absl::InvalidArgumentError("purpose: N (original), F (cancel) or R (replace)");
  }
  if (order.order_id.empty() || order.order_id.size() > 22) {
    return absl::InvalidArgumentError("order_id: 1 to 22 characters (W0502)");
  }
  if (order.purchase_order.size() > 22) {
    return absl::InvalidArgumentError("purchase_order: at most 22 characters (W0503)");
  }
  if (order.lines.empty() && order.purpose != 'F') {
    return absl::InvalidArgumentError("lines: an order needs at least one line");
  }
  if (absl::Status s = w.BeginSet("940", st_control); !s.ok()) return s;
  if (absl::Status s =
          w.Add("W05", {std::string(1, order.purpose), order.order_id, order.purchase_order});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteParty(w, "ST", order.ship_to, "ship_to"); !s.ok()) return s;
  if (order.ship_from) {
    if (absl::Status s = WriteParty(w, "SF", *order.ship_from, "ship_from"); !s.ok()) return s;
  }
  if (order.warehouse) {
    if (absl::Status s = WriteParty(w, "WH", *order.warehouse, "warehouse"); !s.ok()) return s;
  }
  if (order.ship_by) {
    if (absl::Status s = w.Add("G62", {"10", FormatDay(*order.ship_by)}); !s.ok()) return s;
  }
  for (const std::string& note : order.notes) {
    if (note.size() > 80) return absl::InvalidArgumentError("notes: at most 80 characters each");
    if (absl::Status s = w.Add("NTE", {"WHI", note}); !s.ok()) return s;
  }
  if (!order.transport_method.empty() || !order.carrier_scac.empty() || !order.routing.empty()) {
    const std::string method = order.transport_method.empty() ? "M" : order.transport_method;
    if (absl::Status s = w.Add("W66", {order.payment_method, method, "", "", order.routing, "", "",
                                       "", "", order.carrier_scac});
        !s.ok()) {
      return s;
    }
  }
  int64_t total = 0;
  int64_t n = 0;
  for (const WarehouseOrderLine& line : order.lines) {
    ++n;
    const std::string field = Cat("lines[", n - 1, "]");
    if (line.quantity <= 0) return absl::InvalidArgumentError(Cat(field, ".quantity: must be > 0"));
    if (line.sku.empty()) return absl::InvalidArgumentError(Cat(field, ".sku: required"));
    if (line.uom.size() != 2) {
      return absl::InvalidArgumentError(Cat(field, ".uom: a 2-letter unit (EA, CA, ...)"));
    }
    total += line.quantity;
    if (absl::Status s = w.Add("LX", {Cat(n)}); !s.ok()) return s;
    const std::string quantity = Cat(line.quantity);
    absl::Status s =
        line.upc.empty()
            ? w.Add("W01", {quantity, line.uom, "", line.sku_qualifier, line.sku})
            : w.Add("W01", {quantity, line.uom, "", line.sku_qualifier, line.sku, "UP", line.upc});
    if (!s.ok()) return absl::InvalidArgumentError(Cat(field, ": ", s.message()));
    if (!line.description.empty()) {
      if (absl::Status s = w.Add("G69", {line.description.substr(0, 45)}); !s.ok()) return s;
    }
    if (!line.line_id.empty()) {
      if (absl::Status s = w.Add("N9", {"LI", line.line_id}); !s.ok()) return s;
    }
  }
  if (absl::Status s = w.Add("W76", {Cat(total)}); !s.ok()) return s;
  return w.EndSet();
}

absl::StatusOr<std::string> Build940(const WarehouseShippingOrder& order,
                                     const EnvelopeParams& envelope,
                                     ControlNumberSource& control_numbers,
                                     const Delimiters& delimiters, std::string line_end) {
  const std::string partner = envelope.PartnerKey();
  absl::StatusOr<int64_t> isa13 = control_numbers.NextInterchange(partner);
  if (!isa13.ok()) return isa13.status();
  absl::StatusOr<int64_t> gs06 = control_numbers.NextGroup(partner);
  if (!gs06.ok()) return gs06.status();
  InterchangeWriter w(delimiters, std::move(line_end));
  if (absl::Status s = w.BeginInterchange(envelope, *isa13); !s.ok()) return s;
  if (absl::Status s = w.BeginGroup("OW", envelope.sender_id, envelope.receiver_id, *gs06);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Write940(order, "0001", w); !s.ok()) return s;
  if (absl::Status s = w.EndGroup(); !s.ok()) return s;
  return w.EndInterchange();
}

// ---------------------------------------------------------------------------------------------
// 945

absl::StatusOr<ShippingAdvice> Parse945(const TransactionSet& set) {
  if (absl::Status s = CheckType(set, "945"); !s.ok()) return s;
  ShippingAdvice a;
  bool w06 = false;
  ShippedLine* line = nullptr;
  std::vector<Reference> lx_refs;  // N9/MAN of an LX loop before its W12
  bool in_detail = false;
  auto reference = [&](const OwnedSegment& s) {
    Reference r{std::string(s.element(1)), std::string(s.element(2))};
    const std::string_view id = s.id();
    const bool tracking =
        (id != "MAN" && IsTrackingRef(r.qualifier)) || (id == "MAN" && r.qualifier == "CP");
    const bool plate = (id == "N9" && r.qualifier == "LV") || (id == "MAN" && r.qualifier == "GM");
    if (line != nullptr) {
      if (tracking) line->tracking.push_back(r.value);
      if (plate) line->license_plates.push_back(r.value);
      line->references.push_back(std::move(r));
    } else if (in_detail) {
      lx_refs.push_back(std::move(r));
    } else {
      if (tracking) a.tracking.push_back(r.value);
      a.references.push_back(std::move(r));
    }
  };
  for (const OwnedSegment& s : set.segments) {
    const std::string_view id = s.id();
    if (id == "W06") {
      w06 = true;
      a.reporting_code = std::string(s.element(1));
      a.order_id = std::string(s.element(2));
      absl::StatusOr<std::optional<absl::CivilDay>> d = OptionalDate(s, 3);
      if (!d.ok()) return d.status();
      a.ship_date = *d;
      a.shipment_id = std::string(s.element(4));
      a.agent_shipment_id = std::string(s.element(5));
      a.purchase_order = std::string(s.element(6));
    } else if (!in_detail && PartySegment(s, &a.parties)) {
    } else if (id == "W27") {
      a.transport_method = std::string(s.element(1));
      a.carrier_scac = std::string(s.element(2));
      a.routing = std::string(s.element(3));
      a.payment_method = std::string(s.element(4));
    } else if (id == "LX") {
      in_detail = true;
      line = nullptr;
      lx_refs.clear();
    } else if (id == "W12") {
      in_detail = true;
      ShippedLine l;
      l.status = std::string(s.element(1));
      for (auto [i, out] : {std::pair{size_t{2}, &l.ordered}, std::pair{size_t{3}, &l.shipped},
                            std::pair{size_t{4}, &l.difference}}) {
        absl::StatusOr<std::optional<int64_t>> q = OptionalQuantity(s, i);
        if (!q.ok()) return q.status();
        *out = *q;
      }
      l.uom = std::string(s.element(5));
      l.upc = std::string(s.element(6));
      l.sku_qualifier = std::string(s.element(7));
      l.sku = std::string(s.element(8));
      l.lot = std::string(s.element(9));
      if (l.sku.empty() && l.upc.empty()) {
        return Invalid(s, "W12 names no product (W1206 U.P.C. or W1208 product ID)");
      }
      a.lines.push_back(std::move(l));
      line = &a.lines.back();
      for (Reference& r : lx_refs) {
        if (r.qualifier == "GM" || r.qualifier == "LV") line->license_plates.push_back(r.value);
        if (r.qualifier == "CP" || IsTrackingRef(r.qualifier)) line->tracking.push_back(r.value);
        line->references.push_back(std::move(r));
      }
      lx_refs.clear();
    } else if (id == "N9" || id == "REF" || id == "MAN") {
      reference(s);
      if (line != nullptr && id == "N9" && s.element(1) == "LI") {
        line->line_id = std::string(s.element(2));
      }
    } else if (id == "W03") {
      absl::StatusOr<std::optional<int64_t>> q = OptionalQuantity(s, 1);
      if (!q.ok()) return q.status();
      a.total_units = *q;
      a.total_weight = std::string(s.element(2));
      a.weight_uom = std::string(s.element(3));
      line = nullptr;
    }
  }
  if (!w06) {
    return absl::InvalidArgumentError(Cat("945 ", set.control_number, " has no W06"));
  }
  if (a.lines.empty()) {
    return absl::InvalidArgumentError(Cat("945 ", set.control_number, " has no W12 line"));
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// 856

absl::StatusOr<ShipNotice> Parse856(const TransactionSet& set) {
  if (absl::Status s = CheckType(set, "856"); !s.ok()) return s;
  ShipNotice n;
  bool bsn = false;
  std::map<std::string, int, std::less<>> by_id;
  int current = -1;      // level index
  int item = -1;         // index of the item of the current level, -1 if none yet
  bool carrier = false;  // first TD5 naming a carrier wins
  for (const OwnedSegment& s : set.segments) {
    const std::string_view id = s.id();
    ShipNoticeLevel* level = current >= 0 ? &n.levels[current] : nullptr;
    const bool shipment_level = level == nullptr || level->code == "S";
    if (id == "BSN") {
      bsn = true;
      n.purpose = std::string(s.element(1));
      n.shipment_id = std::string(s.element(2));
      absl::StatusOr<std::optional<absl::CivilDay>> d = OptionalDate(s, 3);
      if (!d.ok()) return d.status();
      n.date = *d;
      n.time = std::string(s.element(4));
      n.structure = std::string(s.element(5));
    } else if (id == "HL") {
      ShipNoticeLevel l;
      l.id = std::string(s.element(1));
      l.parent_id = std::string(s.element(2));
      l.code = std::string(s.element(3));
      l.position = s.position().in_set;
      if (l.id.empty()) return Invalid(s, "HL01 is empty");
      if (by_id.count(l.id) > 0) return Invalid(s, Cat("HL01 \"", l.id, "\" is used twice"));
      if (!l.parent_id.empty()) {
        auto it = by_id.find(l.parent_id);
        if (it == by_id.end()) {
          return Invalid(s, Cat("HL02 \"", l.parent_id, "\" names no earlier HL"));
        }
        l.parent = it->second;
      }
      current = static_cast<int>(n.levels.size());
      by_id.emplace(l.id, current);
      n.levels.push_back(std::move(l));
      item = -1;
    } else if (id == "TD5") {
      if (!carrier && s.element(2) == "2" && !s.element(3).empty()) {
        carrier = true;
        n.carrier_scac = std::string(s.element(3));
        n.transport_method = std::string(s.element(4));
        n.routing = std::string(s.element(5));
      } else if (!carrier && n.routing.empty()) {
        n.transport_method = std::string(s.element(4));
        n.routing = std::string(s.element(5));
      }
    } else if (id == "REF") {
      Reference r{std::string(s.element(1)), std::string(s.element(2))};
      if (shipment_level) {
        if (r.qualifier == "BM" && n.bill_of_lading.empty()) n.bill_of_lading = r.value;
        if (IsTrackingRef(r.qualifier)) n.tracking.push_back(r.value);
      }
      if (level != nullptr) level->references.push_back(std::move(r));
    } else if (id == "DTM") {
      if (s.element(1) == "011" && !n.ship_date) {
        absl::StatusOr<std::optional<absl::CivilDay>> d = OptionalDate(s, 2);
        if (!d.ok()) return d.status();
        n.ship_date = *d;
      }
    } else if (shipment_level && PartySegment(s, &n.parties)) {
    } else if (id == "PRF") {
      if (level == nullptr) return Invalid(s, "PRF outside an HL");
      level->purchase_order = std::string(s.element(1));
    } else if (id == "MAN") {
      if (level == nullptr) return Invalid(s, "MAN outside an HL");
      level->marks.push_back(Reference{std::string(s.element(1)), std::string(s.element(2))});
    } else if (id == "LIN" || id == "SN1" || id == "PID") {
      if (level == nullptr) return Invalid(s, Cat(id, " outside an HL"));
      if (item < 0 || id == "LIN") {
        if (id == "PID" && item < 0) continue;  // a description of a pack or an order
        if (id == "LIN" && item >= 0 && n.items[item].product_ids.empty()) {
          // An SN1 came first; this LIN names its product.
        } else {
          ShipNoticeItem it;
          it.level = current;
          n.items.push_back(std::move(it));
          item = static_cast<int>(n.items.size()) - 1;
        }
      }
      ShipNoticeItem& it = n.items[item];
      if (id == "LIN") {
        it.product_ids = LinIds(s);
        it.sku = PickSku(it.product_ids, {"SK", "VN", "VP", "BP", "IN", "UP", "EN"});
      } else if (id == "SN1") {
        absl::StatusOr<int64_t> q = WholeQuantity(s, 2);
        if (!q.ok()) return q.status();
        it.shipped = *q;
        it.uom = std::string(s.element(3));
      } else if (it.description.empty()) {
        it.description = std::string(s.element(5));
      }
    } else if (id == "CTT") {
      absl::StatusOr<std::optional<int64_t>> q = OptionalQuantity(s, 1);
      if (!q.ok()) return q.status();
      n.ctt_lines = *q;
      n.ctt_hash = std::string(s.element(2));
    }
  }
  if (!bsn) return absl::InvalidArgumentError(Cat("856 ", set.control_number, " has no BSN"));
  // Each item inherits from its ancestors: the order's PO, the pack's marks.
  for (ShipNoticeItem& it : n.items) {
    for (int at = it.level; at >= 0; at = n.levels[at].parent) {
      const ShipNoticeLevel& l = n.levels[at];
      if (l.code == "O" && it.purchase_order.empty()) it.purchase_order = l.purchase_order;
      if ((l.code == "P" || l.code == "T") && it.pack_id.empty() && !l.marks.empty()) {
        it.pack_id = l.marks.front().value;
        for (const Reference& m : l.marks) {
          if (m.qualifier == "GM") {
            it.pack_id = m.value;
            break;
          }
        }
        for (const Reference& m : l.marks) {
          if (m.qualifier == "CP") it.tracking.push_back(m.value);
        }
      }
    }
    if (it.tracking.empty()) it.tracking = n.tracking;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// 846

absl::StatusOr<InventoryAdvice> Parse846(const TransactionSet& set) {
  if (absl::Status s = CheckType(set, "846"); !s.ok()) return s;
  InventoryAdvice a;
  bool bia = false;
  InventoryItem* item = nullptr;
  std::vector<Party> item_parties;
  auto location_of = [](const Party& p) { return !p.id.empty() ? p.id : p.name; };
  for (const OwnedSegment& s : set.segments) {
    const std::string_view id = s.id();
    if (id == "BIA") {
      bia = true;
      a.purpose = std::string(s.element(1));
      a.report_type = std::string(s.element(2));
      a.reference = std::string(s.element(3));
      absl::StatusOr<std::optional<absl::CivilDay>> d = OptionalDate(s, 4);
      if (!d.ok()) return d.status();
      a.date = *d;
    } else if (id == "LIN") {
      InventoryItem it;
      it.product_ids = LinIds(s);
      it.sku = PickSku(it.product_ids, {"SK", "VN", "VP", "BP", "IN", "MG", "UP", "EN"});
      it.location = a.location;
      it.position = s.position().in_set;
      if (it.product_ids.empty()) return Invalid(s, "LIN names no product");
      a.items.push_back(std::move(it));
      item = &a.items.back();
      item_parties.clear();
    } else if (item == nullptr && PartySegment(s, &a.parties)) {
      if (id == "N1" && a.location.empty()) a.location = location_of(a.parties.back());
    } else if (item != nullptr && PartySegment(s, &item_parties)) {
      if (id == "N1") item->location = location_of(item_parties.back());
    } else if (id == "PID" && item != nullptr) {
      if (item->description.empty()) item->description = std::string(s.element(5));
    } else if (id == "QTY") {
      if (item == nullptr) return Invalid(s, "QTY before any LIN");
      absl::StatusOr<int64_t> q = WholeQuantity(s, 2);
      if (!q.ok()) return q.status();
      item->quantities.push_back(
          InventoryQuantity{std::string(s.element(1)), *q, std::string(s.component(3, 1))});
    } else if (id == "SDQ") {
      if (item == nullptr) return Invalid(s, "SDQ before any LIN");
      for (size_t i = 3; i + 1 <= s.size(); i += 2) {
        if (s.element(i).empty()) continue;
        absl::StatusOr<int64_t> q = WholeQuantity(s, i + 1);
        if (!q.ok()) return q.status();
        item->by_location.push_back(InventoryAtLocation{std::string(s.element(i)), *q});
      }
    }
  }
  if (!bia) return absl::InvalidArgumentError(Cat("846 ", set.control_number, " has no BIA"));
  return a;
}

}  // namespace keelson::edi
