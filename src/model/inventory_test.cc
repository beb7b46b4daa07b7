#include "model/inventory.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace keelson::model {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01

InventoryPosition Pos(std::string location, int64_t on_hand, int64_t allocated = 0,
                      int64_t reserved = 0, int64_t safety = 0) {
  InventoryPosition p;
  p.sku = "SKU-1";
  p.location = std::move(location);
  p.on_hand = on_hand;
  p.allocated = allocated;
  p.reserved = reserved;
  p.safety_stock = safety;
  return p;
}

Movement Move(MovementKind kind, int64_t quantity) {
  return {.sku = "SKU-1", .location = "WH1", .kind = kind, .quantity = quantity, .at = kNow};
}

ChannelRule Rule(std::vector<std::string> locations) {
  ChannelRule r;
  r.channel = "main";
  r.locations = std::move(locations);
  return r;
}

TEST(InventoryModelTest, SellableSubtractsAllocatedReservedAndSafetyNeverNegative) {
  EXPECT_EQ(SellableAt(Pos("WH1", 20, 3, 4, 2)), 11);
  EXPECT_EQ(SellableAt(Pos("WH1", 5, 3, 4, 2)), 0);  // 5-3-4-2 = -4
  EXPECT_EQ(SellableAt(Pos("WH1", 0)), 0);
}

TEST(InventoryModelTest, MovementKindsRoundTripByName) {
  for (MovementKind k :
       {MovementKind::kReceipt, MovementKind::kAdjustment, MovementKind::kSetOnHand,
        MovementKind::kSetAllocated, MovementKind::kAllocate, MovementKind::kReserve,
        MovementKind::kRelease, MovementKind::kConsume, MovementKind::kSetInbound,
        MovementKind::kSetSafety}) {
    EXPECT_EQ(ParseMovementKind(MovementKindName(k)), k) << MovementKindName(k);
  }
  EXPECT_EQ(ParseMovementKind("teleport"), std::nullopt);
}

TEST(InventoryModelTest, ApplyMovementArithmetic) {
  InventoryPosition p = Pos("WH1", 0);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kSetOnHand, 12), &p));
  EXPECT_EQ(p.on_hand, 12);
  EXPECT_EQ(p.as_of, kNow);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kReceipt, 5), &p));
  EXPECT_EQ(p.on_hand, 17);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kAdjustment, -2), &p));
  EXPECT_EQ(p.on_hand, 15);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kReserve, 4), &p));
  EXPECT_EQ(p.reserved, 4);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kConsume, 3), &p));
  EXPECT_EQ(p.reserved, 1);
  EXPECT_EQ(p.on_hand, 12);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kRelease, 1), &p));
  EXPECT_EQ(p.reserved, 0);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kSetAllocated, 2), &p));
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kAllocate, 3), &p));
  EXPECT_EQ(p.allocated, 5);
  KEELSON_ASSERT_OK(ApplyMovement(Move(MovementKind::kSetSafety, 1), &p));
  EXPECT_EQ(p.safety_stock, 1);
  Movement inbound = Move(MovementKind::kSetInbound, 30);
  inbound.expected_at = kNow + absl::Hours(72);
  KEELSON_ASSERT_OK(ApplyMovement(inbound, &p));
  EXPECT_EQ(p.inbound, 30);
  EXPECT_EQ(p.inbound_expected_at, kNow + absl::Hours(72));
  EXPECT_EQ(SellableAt(p), 12 - 5 - 0 - 1);
}

TEST(InventoryModelTest, ImpossibleMovementsNameTheFieldAndLeaveThePosition) {
  InventoryPosition p = Pos("WH1", 3, 0, 2);
  absl::Status s = ApplyMovement(Move(MovementKind::kRelease, 5), &p);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), HasSubstr("SKU-1@WH1: release of 5 would take reserved "
                                                  "below zero (reserved is 2)"));
  s = ApplyMovement(Move(MovementKind::kConsume, 2), &p);
  KEELSON_EXPECT_OK(s);
  s = ApplyMovement(Move(MovementKind::kAdjustment, -2), &p);
  EXPECT_THAT(std::string(s.message()), HasSubstr("on_hand below zero (on_hand is 1)"));
  p.reserved = 2;
  s = ApplyMovement(Move(MovementKind::kConsume, 2), &p);
  EXPECT_THAT(std::string(s.message()), HasSubstr("on_hand below zero"));
  EXPECT_EQ(p.on_hand, 1);
  EXPECT_EQ(p.reserved, 2);
  EXPECT_THAT(ApplyMovement(Move(MovementKind::kReserve, 0), &p),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ApplyMovement(Move(MovementKind::kSetOnHand, -1), &p),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ApplyMovement(Move(MovementKind::kAllocate, -1), &p),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(InventoryModelTest, SetOnHandNeverMovesAsOfBackwards) {
  InventoryPosition p = Pos("WH1", 0);
  Movement m = Move(MovementKind::kSetOnHand, 7);
  KEELSON_ASSERT_OK(ApplyMovement(m, &p));
  m.at = kNow - absl::Minutes(1);
  m.quantity = 9;
  KEELSON_ASSERT_OK(ApplyMovement(m, &p));
  EXPECT_EQ(p.as_of, kNow);
  EXPECT_EQ(p.on_hand, 9);
}

TEST(ComputeAtsTest, SumsTheChannelsLocationsOnly) {
  std::vector<InventoryPosition> ps = {Pos("WH1", 10, 2, 1, 1), Pos("WH2", 4, 0, 6, 0),
                                       Pos("STORE", 50)};
  // WH1: 10-2-1-1 = 6; WH2: 4-6 < 0 -> 0; STORE not served.
  EXPECT_EQ(ComputeAts(ps, Rule({"WH1", "WH2"}), kNow), 6);
  EXPECT_EQ(ComputeAts(ps, Rule({"WH1", "STORE"}), kNow), 56);
  EXPECT_EQ(ComputeAts(ps, Rule({"ELSEWHERE"}), kNow), 0);
  EXPECT_EQ(ComputeAts({}, Rule({"WH1"}), kNow), 0);
}

TEST(ComputeAtsTest, InboundCountsWithinTheHorizonWhenBackorderable) {
  std::vector<InventoryPosition> ps = {Pos("WH1", 3), Pos("WH2", 0)};
  ps[0].inbound = 20;
  ps[0].inbound_expected_at = kNow + absl::Hours(24 * 5);
  ps[1].inbound = 7;
  ps[1].inbound_expected_at = kNow + absl::Hours(24 * 15);
  ChannelRule r = Rule({"WH1", "WH2"});
  EXPECT_EQ(ComputeAts(ps, r, kNow), 3);  // not backorderable: inbound never counts
  r.backorderable = true;
  r.inbound_horizon = absl::Hours(24 * 7);
  EXPECT_EQ(ComputeAts(ps, r, kNow), 23);
  r.inbound_horizon = absl::Hours(24 * 15);  // boundary: expected exactly at now + horizon
  EXPECT_EQ(ComputeAts(ps, r, kNow), 30);
  r.inbound_horizon = absl::ZeroDuration();
  EXPECT_EQ(ComputeAts(ps, r, kNow), 3);
  EXPECT_EQ(ComputeAts(ps, r, kNow + absl::Hours(24 * 5)), 23);  // the date has come
}

TEST(ComputeAtsTest, HoldbackThenPercentThenCap) {
  std::vector<InventoryPosition> ps = {Pos("WH1", 107)};
  ChannelRule r = Rule({"WH1"});
  r.percent = 50;
  EXPECT_EQ(ComputeAts(ps, r, kNow), 53);  // floor(107 / 2)
  r.holdback = 7;
  EXPECT_EQ(ComputeAts(ps, r, kNow), 50);  // (107-7) * 50%
  r.cap = 30;
  EXPECT_EQ(ComputeAts(ps, r, kNow), 30);
  r.holdback = 200;
  EXPECT_EQ(ComputeAts(ps, r, kNow), 0);  // never below 0
  r.holdback = 0;
  r.percent = 0;
  EXPECT_EQ(ComputeAts(ps, r, kNow), 0);
  r.percent = 33;
  r.cap.reset();
  EXPECT_EQ(ComputeAts(ps, r, kNow), 35);  // floor(107 * 0.33) = 35
}

TEST(ComputeAtsTest, StockStatus) {
  ChannelRule r = Rule({"WH1"});
  EXPECT_EQ(StockStatusFor(3, r), "instock");
  EXPECT_EQ(StockStatusFor(0, r), "outofstock");
  r.backorderable = true;
  EXPECT_EQ(StockStatusFor(0, r), "onbackorder");
}

}  // namespace
}  // namespace keelson::model
