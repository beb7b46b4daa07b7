#pragma once
// The EDI connector's mappings between Keelson's fulfillment values and the X12 documents
// (edi/documents.h). Pure functions, no I/O.
//
//   ReleaseRequest  -> 940  W05 N / <segment id> / <order number>; N1*ST with N3/N4 from the
//                           shipping address; W66 routing = the shop's shipping method; per line
//                           LX, W01 quantity EA SK <sku>, G69 name, N9*LI <shop line id>.
//   945             -> Shipment  shipment id W0604 (else "<ISA06>:<ISA13>:<ST02>"), segment
//                           W0602, carrier W2702 (SCAC, else W2703), tracking (heading, else first
//                           line's), ship date W0603, lines W12 with W1203 > 0: SKU W1208 (else
//                           the UPC W1206), line id from N9*LI. A final advice (W0601 F) with a
//                           line shipped short (W1203 < W1202) closes the segment
//                           (Shipment::closes_segment): the missing units are routed again.
//   856             -> Shipments  one per order level (HL O), its segment from PRF01; shipment
//                           id BSN02 (+ "/" + PRF01 when the notice covers several orders);
//                           carrier TD503; tracking from the pack, else the shipment (REF CN/2I,
//                           else BM); items SN102 by SKU.
// Free text (names, addresses, descriptions) is cleaned of the interchange's delimiters and cut
// to the element's maximum length; identifiers (SKU, segment id) are not changed: one that
// cannot be written is an error naming it.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/fulfillment.h"
#include "edi/documents.h"
#include "edi/x12_reader.h"

namespace keelson::connectors::edi {

keelson::edi::WarehouseShippingOrder OrderFor(const ReleaseRequest& request,
                                              const keelson::edi::Delimiters& delimiters);

// The 940 as kept in the outbox (store::EdiDocument::body_json), and back.
nlohmann::json OrderToJson(const keelson::edi::WarehouseShippingOrder& order);
absl::StatusOr<keelson::edi::WarehouseShippingOrder> OrderFromJson(const nlohmann::json& j);

// Where a shipment notice came from, for ids that must be unique within the provider.
struct NoticeOrigin {
  std::string provider;     // "edi:acme"
  std::string sender;       // ISA06 (trimmed)
  std::string interchange;  // ISA13
  std::string set_control;  // ST02
};

// kInvalidArgument when the 945 names no order (W0602) or ships nothing (unless it closes the
// segment: a final advice that nothing could be shipped).
absl::StatusOr<Shipment> ShipmentFrom945(const keelson::edi::ShippingAdvice& advice,
                                         const NoticeOrigin& origin);
// kInvalidArgument when an order level has no PRF01 or no items.
absl::StatusOr<std::vector<Shipment>> ShipmentsFrom856(const keelson::edi::ShipNotice& notice,
                                                       const NoticeOrigin& origin);

}  // namespace keelson::connectors::edi
