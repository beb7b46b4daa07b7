#pragma once
// Sellable inventory: what is physically at each location (Position), how it changed (Movement,
// an append-only ledger) and how much each sales channel may sell (ChannelRule, ComputeAts).
// Plain structs and pure functions, no I/O. Quantities are whole units (int64_t).
//
// Available-to-sell of one channel at `now`:
//   pooled = Σ over the channel's locations of max(0, on_hand − allocated − reserved − safety)
//            (+ inbound expected within `inbound_horizon` of now, when the channel is
//            backorderable)
//   ats    = min(cap, floor((max(0, pooled − holdback)) × percent / 100)), never below 0.
// The hold-back is taken first (units kept for other channels), then the percentage of what is
// left, then the cap.
//
// Value types; thread-compatible.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace keelson::model {

// One SKU at one location.
struct InventoryPosition {
  std::string sku;
  std::string location;
  int64_t on_hand = 0;       // physically there (the ERP/WMS's truth, minus our consumption)
  int64_t allocated = 0;     // committed by the ERP/WMS (picking, transfers)
  int64_t reserved = 0;      // held by open orders not yet allocated (Keelson's reservations)
  int64_t safety_stock = 0;  // kept out of what channels may sell
  int64_t inbound = 0;       // expected to arrive
  absl::Time inbound_expected_at = absl::InfiniteFuture();
  // occurred_at of the newest absolute stock event applied (set_on_hand): an older event is
  // stale. InfinitePast before any.
  absl::Time as_of = absl::InfinitePast();
  absl::Time updated_at = absl::InfinitePast();
};

// on_hand − allocated − reserved − safety_stock, or 0 when that is negative.
int64_t SellableAt(const InventoryPosition& position);

enum class MovementKind {
  kReceipt,       // on_hand += quantity (> 0)
  kAdjustment,    // on_hand += quantity (signed)
  kSetOnHand,     // on_hand = quantity (>= 0): absolute truth from the ERP/WMS; advances as_of
  kSetAllocated,  // allocated = quantity (>= 0)
  kAllocate,      // allocated += quantity (signed)
  kReserve,       // reserved += quantity (> 0)
  kRelease,       // reserved −= quantity (> 0)
  kConsume,       // reserved −= quantity and on_hand −= quantity (> 0): a reservation shipped
  kSetInbound,    // inbound = quantity (>= 0), expected at `expected_at`
  kSetSafety,     // safety_stock = quantity (>= 0)
};
std::string_view MovementKindName(MovementKind kind);
std::optional<MovementKind> ParseMovementKind(std::string_view name);

// One entry of the append-only ledger.
struct Movement {
  int64_t id = 0;  // assigned by the store
  std::string sku;
  std::string location;
  MovementKind kind = MovementKind::kAdjustment;
  int64_t quantity = 0;                             // see MovementKind
  absl::Time expected_at = absl::InfiniteFuture();  // kSetInbound only
  std::string source;                    // who said so: "erp", "wms", "order", "api", "reconcile"
  std::string correlation_id;            // the event id, the order reference ("main:14"), ...
  absl::Time at = absl::InfinitePast();  // when it happened (the event's occurred_at)
  absl::Time recorded_at = absl::InfinitePast();  // when the store recorded it
};

// Applies `m` to `position` (which must be the position of m.sku at m.location). Returns
// kInvalidArgument for a quantity of the wrong sign for its kind, and kFailedPrecondition when the
// result would take on_hand, allocated or reserved below zero, naming the field, the SKU and the
// location; `position` is untouched on error. Does not touch updated_at.
absl::Status ApplyMovement(const Movement& m, InventoryPosition* position);

// How much one sales channel (a WooCommerce store) may sell. Config-shaped.
struct ChannelRule {
  std::string channel;                 // the store id ("main")
  std::vector<std::string> locations;  // locations that serve it, in reservation order
  // Inbound stock expected within `inbound_horizon` of now counts (preorder/backorder); the
  // channel's stock status is "onbackorder" rather than "outofstock" at 0.
  bool backorderable = false;
  absl::Duration inbound_horizon = absl::ZeroDuration();
  int percent = 100;           // of the pooled ATS, 0..100, rounded down
  std::optional<int64_t> cap;  // at most this many
  int64_t holdback = 0;        // units left for other channels, taken off the pool first

  bool Serves(std::string_view location) const;
};

// The pooled quantity before the channel's allocation rule: Σ SellableAt over the positions at
// the channel's locations (positions elsewhere are ignored), plus inbound expected by
// now + inbound_horizon when backorderable.
int64_t PooledAts(std::span<const InventoryPosition> positions, const ChannelRule& rule,
                  absl::Time now);

// The channel's available-to-sell (see the top of this file). Never negative.
int64_t ComputeAts(std::span<const InventoryPosition> positions, const ChannelRule& rule,
                   absl::Time now);

// WooCommerce's stock_status for a published quantity: "instock" when > 0, else "onbackorder"
// for a backorderable channel, else "outofstock".
std::string_view StockStatusFor(int64_t ats, const ChannelRule& rule);

}  // namespace keelson::model
