#include "model/inventory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::model {
namespace {

struct KindName {
  MovementKind kind;
  std::string_view name;
};

constexpr KindName kKindNames[] = {
    {MovementKind::kReceipt, "receipt"},        {MovementKind::kAdjustment, "adjustment"},
    {MovementKind::kSetOnHand, "set_on_hand"},  {MovementKind::kSetAllocated, "set_allocated"},
    {MovementKind::kAllocate, "allocate"},      {MovementKind::kReserve, "reserve"},
    {MovementKind::kRelease, "release"},        {MovementKind::kConsume, "consume"},
    {MovementKind::kSetInbound, "set_inbound"}, {MovementKind::kSetSafety, "set_safety"},
};

std::string Where(const Movement& m) { return core::Cat(m.sku, "@", m.location); }

absl::Status WrongSign(const Movement& m, std::string_view expected) {
  return absl::InvalidArgumentError(core::Cat(Where(m), ": ", MovementKindName(m.kind),
                                              " quantity must be ", expected, ", got ",
                                              m.quantity));
}

absl::Status BelowZero(const Movement& m, std::string_view field, int64_t held) {
  return absl::FailedPreconditionError(core::Cat(Where(m), ": ", MovementKindName(m.kind), " of ",
                                                 m.quantity, " would take ", field, " below zero (",
                                                 field, " is ", held, ")"));
}

}  // namespace

int64_t SellableAt(const InventoryPosition& p) {
  return std::max<int64_t>(0, p.on_hand - p.allocated - p.reserved - p.safety_stock);
}

std::string_view MovementKindName(MovementKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

std::optional<MovementKind> ParseMovementKind(std::string_view name) {
  for (const KindName& k : kKindNames) {
    if (k.name == name) return k.kind;
  }
  return std::nullopt;
}

absl::Status ApplyMovement(const Movement& m, InventoryPosition* p) {
  InventoryPosition next = *p;
  const int64_t q = m.quantity;
  switch (m.kind) {
    case MovementKind::kReceipt:
      if (q <= 0) return WrongSign(m, "> 0");
      next.on_hand += q;
      break;
    case MovementKind::kAdjustment:
      if (p->on_hand + q < 0) return BelowZero(m, "on_hand", p->on_hand);
      next.on_hand += q;
      break;
    case MovementKind::kSetOnHand:
      if (q < 0) return WrongSign(m, ">= 0");
      next.on_hand = q;
      next.as_of = std::max(p->as_of, m.at);
      break;
    case MovementKind::kSetAllocated:
      if (q < 0) return WrongSign(m, ">= 0");
      next.allocated = q;
      break;
    case MovementKind::kAllocate:
      if (p->allocated + q < 0) return BelowZero(m, "allocated", p->allocated);
      next.allocated += q;
      break;
    case MovementKind::kReserve:
      if (q <= 0) return WrongSign(m, "> 0");
      next.reserved += q;
      break;
    case MovementKind::kRelease:
      if (q <= 0) return WrongSign(m, "> 0");
      if (p->reserved < q) return BelowZero(m, "reserved", p->reserved);
      next.reserved -= q;
      break;
    case MovementKind::kConsume:
      if (q <= 0) return WrongSign(m, "> 0");
      if (p->reserved < q) return BelowZero(m, "reserved", p->reserved);
      if (p->on_hand < q) return BelowZero(m, "on_hand", p->on_hand);
      next.reserved -= q;
      next.on_hand -= q;
      break;
    case MovementKind::kSetInbound:
      if (q < 0) return WrongSign(m, ">= 0");
      next.inbound = q;
      next.inbound_expected_at = q == 0 ? absl::InfiniteFuture() : m.expected_at;
      break;
    case MovementKind::kSetSafety:
      if (q < 0) return WrongSign(m, ">= 0");
      next.safety_stock = q;
      break;
  }
  *p = std::move(next);
  return absl::OkStatus();
}

bool ChannelRule::Serves(std::string_view location) const {
  return std::find(locations.begin(), locations.end(), location) != locations.end();
}

int64_t PooledAts(std::span<const InventoryPosition> positions, const ChannelRule& rule,
                  absl::Time now) {
  int64_t pooled = 0;
  for (const InventoryPosition& p : positions) {
    if (!rule.Serves(p.location)) continue;
    pooled += SellableAt(p);
    if (rule.backorderable && p.inbound > 0 &&
        p.inbound_expected_at <= now + rule.inbound_horizon) {
      pooled += p.inbound;
    }
  }
  return pooled;
}

int64_t ComputeAts(std::span<const InventoryPosition> positions, const ChannelRule& rule,
                   absl::Time now) {
  int64_t ats = std::max<int64_t>(0, PooledAts(positions, rule, now) - rule.holdback);
  ats = ats * std::clamp(rule.percent, 0, 100) / 100;
  if (rule.cap.has_value()) ats = std::min(ats, *rule.cap);
  return std::max<int64_t>(0, ats);
}

std::string_view StockStatusFor(int64_t ats, const ChannelRule& rule) {
  if (ats > 0) return "instock";
  return rule.backorderable ? "onbackorder" : "outofstock";
}

}  // namespace keelson::model
