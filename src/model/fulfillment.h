#pragma once
// Fulfillment routing: which node ships which units of an order. Plain structs and one pure
// function, no I/O; the fulfillment flow feeds it stock (from the ATS ledger) and persists the
// plan as segments.
//
// A node is a place that ships: an own warehouse (through the ERP/WMS), a 3PL, or a drop-ship
// supplier. It serves some SKUs (prefixes; none = all) in some regions ("US", "US-CA"; none =
// everywhere), ships from its inventory locations (or, `untracked`, without stock Keelson
// counts — drop-ship), and has a priority (lower first) and a cost per segment (the tie-break).
//
// Route() splits an order as a demanding merchant expects:
//   1. one segment when a single eligible node can ship every line in full: the best such node
//      by (priority, cost, id);
//   2. otherwise, repeatedly, the node that can ship the most remaining lines in full (ties by
//      priority, cost, id) takes them — fewer parcels before cheaper nodes;
//   3. lines no node can ship in full are split across nodes in (priority, cost, id) order, by
//      what each has;
//   4. what is left is a preorder segment (the SKU is not released yet: promised on its release
//      date) or a backorder segment (promised when inbound stock is expected; no date when none
//      is). Both stay on hold until stock arrives, then are routed again.
// Within a node, units come from its locations in the order listed. Every unit of every line
// lands in exactly one segment line (the invariant the tests check).
//
// Value types; thread-compatible.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace keelson::model {

enum class NodeKind { kWarehouse, kThirdParty, kDropShip };
std::string_view NodeKindName(NodeKind kind);
std::optional<NodeKind> ParseNodeKind(std::string_view name);

struct FulfillmentNode {
  std::string id;                     // "wh1", "shipbob-east", "acme-dropship"
  NodeKind kind = NodeKind::kWarehouse;
  std::string provider;               // the connector that releases to it: "erp", "shipbob", "edi:acme"
  std::vector<std::string> locations;  // inventory locations it ships from
  std::vector<std::string> skus;       // SKU prefixes it serves; empty = every SKU
  std::vector<std::string> regions;    // "US", "US-CA", "DE"; empty = everywhere
  int priority = 100;                  // lower is preferred
  int64_t cost = 0;                    // per segment (minor units), the tie-break
  bool untracked = false;              // ships whatever it serves without counted stock
};

struct RouteLine {
  int64_t line_id = 0;
  std::string sku;
  int64_t quantity = 0;  // > 0
};

// The order's destination: ISO 3166-1 alpha-2 country and, where known, the subdivision code.
struct Destination {
  std::string country;  // "US"
  std::string state;    // "CA" (without the country prefix)
};

enum class SegmentKind { kShip, kBackorder, kPreorder };
std::string_view SegmentKindName(SegmentKind kind);

struct SegmentLine {
  int64_t line_id = 0;
  std::string sku;
  int64_t quantity = 0;
  std::string location;  // where the units come from; "" for untracked nodes and holds
};

struct Segment {
  std::string node_id;  // "" for a backorder/preorder no node serves yet
  SegmentKind kind = SegmentKind::kShip;
  std::vector<SegmentLine> lines;
  std::optional<absl::Time> promised;  // holds: when the units are expected
};

struct RoutingInputs {
  // Units of `sku` at `location` this order may take (ATS plus what the order itself holds).
  std::function<int64_t(std::string_view sku, std::string_view location)> available;
  // When more of `sku` is expected in (inbound); nullopt when nothing is.
  std::function<std::optional<absl::Time>(std::string_view sku)> inbound_at;
  // The release date of a SKU that is not released yet (preorder); nullopt for released SKUs.
  std::function<std::optional<absl::Time>(std::string_view sku)> release_at;
};

// True when `node` serves `sku` (prefix match) and ships to `to`.
bool Serves(const FulfillmentNode& node, std::string_view sku, const Destination& to);

// The plan for `lines`; kInvalidArgument for a line with quantity <= 0 or an empty SKU.
// Segments come out in a stable order: ship segments by (priority, cost, id), then holds.
absl::StatusOr<std::vector<Segment>> Route(const std::vector<RouteLine>& lines,
                                           const Destination& to,
                                           const std::vector<FulfillmentNode>& nodes,
                                           const RoutingInputs& inputs);

}  // namespace keelson::model
