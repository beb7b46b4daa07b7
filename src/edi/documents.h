#pragma once
// Typed X12 4010 warehouse documents: the 940 Keelson sends to a warehouse, and the 945, 856
// and 846 it reads back. Plain structs and pure functions, no I/O.
//
//   940 Warehouse Shipping Order   Build940(order, envelope, control numbers) -> interchange text
//       W05 (order status, Keelson's order/segment id as the depositor order number, customer PO),
//       N1 loops (ship-to, ship-from / warehouse) with N3/N4, G62 ship-by date, NTE notes,
//       W66 carrier (payment, method, routing, SCAC), one LX + W01 (+ G69, N9*LI) per line,
//       W76 totals.
//   945 Warehouse Shipping Advice  Parse945(set): W06 (order id, shipment id, ship date, PO),
//       W27 carrier, W12 lines (status, ordered/shipped quantity, UOM, SKU) with their N9/MAN
//       references (tracking, license plates, lots), W03 totals.
//   856 Ship Notice                Parse856(set): BSN, the HL tree (S -> O -> P -> I, parent
//       links checked), TD5 carrier, REF*BM/CN tracking, DTM ship date, PRF purchase order,
//       MAN package marks, LIN/SN1 items with their order and pack, CTT totals.
//   846 Inventory Advice           Parse846(set): BIA, the location (N1 in the heading or the
//       item loop), LIN items with their QTY quantities and SDQ per-location quantities.
//
// Quantities are whole units (int64), like model/inventory.h: "12", "12.0" and "-3" parse, a
// fraction ("1.5") is an error naming the element and the segment position. Weights and
// prices are kept as the decimal text received. Parsers return kInvalidArgument (never crash)
// on a set of the wrong type or missing what the document needs, naming the segment position
// (ordinal in the set and byte offset). Validate envelopes and syntax with X12Validator first;
// the parsers tolerate what the validator reports (unknown segments, optional elements).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "edi/transaction_set.h"
#include "edi/x12_writer.h"

namespace keelson::edi {

// A qualified identifier: N9/REF (qualifier 128), LIN/W01 product IDs (235), MAN marks (88).
struct Reference {
  std::string qualifier;
  std::string value;
  friend bool operator==(const Reference&, const Reference&) = default;
};

struct Party {
  std::string entity;                // N101: ST ship-to, SF ship-from, WH warehouse, ...
  std::string name;                  // N102
  std::string id_qualifier;          // N103
  std::string id;                    // N104
  std::vector<std::string> address;  // N301, N302
  std::string city, state, postal_code, country;  // N401..N404
};

// --- 940 ---

struct WarehouseOrderLine {
  int64_t quantity = 0;              // W0101
  std::string uom = "EA";            // W0102
  std::string sku;                   // W0105
  std::string sku_qualifier = "SK";  // W0104: SK stock keeping unit, VN vendor item number, ...
  std::string upc;                   // W0107 with W0106 UP, when known
  std::string description;           // G69
  std::string line_id;               // N9*LI: the order line's id, echoed in the 945
};

struct WarehouseShippingOrder {
  char purpose = 'N';              // W0501: N original, F cancel, R replace
  std::string order_id;            // W0502 depositor order number: Keelson's fulfillment segment id
  std::string purchase_order;      // W0503: the customer's order number
  Party ship_to;                   // N1*ST (mandatory: name)
  std::optional<Party> ship_from;  // N1*SF
  std::optional<Party> warehouse;  // N1*WH
  std::optional<absl::CivilDay> ship_by;  // G62*10 requested ship date
  std::vector<std::string> notes;         // NTE*WHI warehouse instructions
  std::string payment_method = "PP";      // W6601: PP prepaid, CC collect, TP third party
  std::string transport_method;           // W6602: M motor, U parcel, ...
  std::string routing;                    // W6605
  std::string carrier_scac;               // W6610
  std::vector<WarehouseOrderLine> lines;
};

// The ST..SE segments of a 940 (no envelope), for one InterchangeWriter set.
absl::Status Write940(const WarehouseShippingOrder& order, std::string_view st_control,
                      InterchangeWriter& writer);

// A whole interchange holding one 940: ISA/GS (GS01 OW) with control numbers for the receiving
// warehouse from `control_numbers`. kInvalidArgument naming the field when the order cannot be
// written (no lines on an original order, a value containing a delimiter, a quantity <= 0, ...).
absl::StatusOr<std::string> Build940(const WarehouseShippingOrder& order,
                                     const EnvelopeParams& envelope,
                                     ControlNumberSource& control_numbers,
                                     const Delimiters& delimiters = {}, std::string line_end = "");

// --- 945 ---

struct ShippedLine {
  std::string status;                       // W1201: CC complete, CP partial, ...
  std::optional<int64_t> ordered;           // W1202
  std::optional<int64_t> shipped;           // W1203
  std::optional<int64_t> difference;        // W1204
  std::string uom;                          // W1205
  std::string upc;                          // W1206
  std::string sku_qualifier;                // W1207
  std::string sku;                          // W1208
  std::string lot;                          // W1209 warehouse lot number
  std::string line_id;                      // N9*LI
  std::vector<std::string> tracking;        // N9/REF 2I or CN, MAN CP
  std::vector<std::string> license_plates;  // N9*LV, MAN GM (SSCC-18)
  std::vector<Reference> references;        // every N9/REF/MAN of the line, as received
};

struct ShippingAdvice {
  std::string reporting_code;               // W0601: F final, P partial, ...
  std::string order_id;                     // W0602 depositor order number (our W0502)
  std::optional<absl::CivilDay> ship_date;  // W0603
  std::string shipment_id;                  // W0604
  std::string agent_shipment_id;            // W0605
  std::string purchase_order;               // W0606
  std::string transport_method;             // W2701
  std::string carrier_scac;                 // W2702
  std::string routing;                      // W2703
  std::string payment_method;               // W2704
  std::vector<Party> parties;
  std::vector<std::string> tracking;  // heading N9/REF 2I/CN/BM? (2I, CN) and MAN CP
  std::vector<Reference> references;  // every heading N9/REF/MAN
  std::vector<ShippedLine> lines;
  std::optional<int64_t> total_units;    // W0301
  std::string total_weight, weight_uom;  // W0302, W0303
};

absl::StatusOr<ShippingAdvice> Parse945(const TransactionSet& set);

// --- 856 ---

struct ShipNoticeLevel {
  std::string id;         // HL01
  std::string parent_id;  // HL02 ("" for the root)
  std::string code;       // HL03: S shipment, O order, P pack, T tare, I item, ...
  int parent = -1;        // index of the parent in ShipNotice::levels, -1 for a root
  int64_t position = 0;   // segment ordinal of the HL in the set
  // O levels.
  std::string purchase_order;  // PRF01
  // P / T levels.
  std::vector<Reference> marks;       // MAN (GM = SSCC-18 license plate, CP = carrier package id)
  std::vector<Reference> references;  // REF at this level
};

struct ShipNoticeItem {
  int level = -1;                      // index of its I level in ShipNotice::levels
  std::vector<Reference> product_ids;  // LIN pairs (UP, VN, VP, BP, SK, ...)
  std::string sku;                     // the first of SK, VN, VP, BP, IN, UP, EN
  int64_t shipped = 0;                 // SN102
  std::string uom;                     // SN103
  std::string description;             // PID05
  // From the nearest ancestors:
  std::string purchase_order;         // the O level's PRF01
  std::string pack_id;                // the P level's MAN*GM (or its first mark)
  std::vector<std::string> tracking;  // the P level's MAN*CP, else the shipment's
};

struct ShipNotice {
  std::string purpose;                                  // BSN01
  std::string shipment_id;                              // BSN02
  std::optional<absl::CivilDay> date;                   // BSN03
  std::string time;                                     // BSN04
  std::string structure;                                // BSN05 (0001 = S O P I)
  std::string transport_method, carrier_scac, routing;  // TD504, TD503 (TD502 = 2), TD505
  std::optional<absl::CivilDay> ship_date;              // DTM*011
  std::string bill_of_lading;                           // REF*BM
  std::vector<std::string> tracking;                    // REF*CN / REF*2I at the shipment level
  std::vector<Party> parties;
  std::vector<ShipNoticeLevel> levels;  // in file order
  std::vector<ShipNoticeItem> items;
  std::optional<int64_t> ctt_lines;  // CTT01
  std::string ctt_hash;              // CTT02
};

// kInvalidArgument for a duplicate HL01, an HL02 that names no earlier HL, an item (LIN/SN1)
// outside an HL, and a missing BSN.
absl::StatusOr<ShipNotice> Parse856(const TransactionSet& set);

// --- 846 ---

struct InventoryQuantity {
  std::string qualifier;  // QTY01: 33 available for sale, 17 on hand, 02 cumulative, ...
  int64_t quantity = 0;   // QTY02
  std::string uom;        // QTY03-01
};

struct InventoryAtLocation {
  std::string location;  // SDQ location id (qualified by SDQ02)
  int64_t quantity = 0;
};

struct InventoryItem {
  std::vector<Reference> product_ids;  // LIN pairs
  std::string sku;                     // the first of SK, VN, VP, BP, IN, MG, UP, EN
  std::string description;             // PID05
  std::string location;                // the item loop's N1 id, else the heading's
  std::vector<InventoryQuantity> quantities;
  std::vector<InventoryAtLocation> by_location;  // SDQ
  int64_t position = 0;                          // segment ordinal of the LIN
};

struct InventoryAdvice {
  std::string purpose;                 // BIA01
  std::string report_type;             // BIA02
  std::string reference;               // BIA03
  std::optional<absl::CivilDay> date;  // BIA04
  std::string location;                // heading N1 (WH, SF, ...) id N104, else its name
  std::vector<Party> parties;
  std::vector<InventoryItem> items;
};

absl::StatusOr<InventoryAdvice> Parse846(const TransactionSet& set);

}  // namespace keelson::edi
