// Conformance cases for fulfillment: segments with their lines, state ages, shipped counts,
// shipments applied once, and what the SLA rules read (see store_conformance.h).

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"

namespace keelson::store::testing {
namespace {

using ::testing::IsEmpty;

SegmentRecord Seg(std::string id, int seq, std::string node, std::string state) {
  SegmentRecord s{.segment_id = std::move(id), .order_ref = "main:7", .seq = seq,
                  .node_id = std::move(node), .provider = "shipbob", .kind = "ship",
                  .state = std::move(state)};
  s.lines = {{1, 101, "A", "WH1", 2, 0}, {2, 102, "B", "WH1", 1, 0}};
  return s;
}

TEST_P(StoreConformanceTest, FulfillmentSegmentsKeepLinesStatesAndAges) {
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(t0, [](Tx& tx) -> absl::Status {
    if (auto s = tx.PutSegment(Seg("main:7/2", 2, "wh1", "planned")); !s.ok()) return s;
    SegmentRecord hold = Seg("main:7/1", 1, "shipbob", "held");
    hold.kind = "backorder";
    hold.promised_at = absl::FromUnixSeconds(1'800'000'000);
    hold.lines = {{1, 103, "C", "", 3, 0}};
    return tx.PutSegment(hold);
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto segs, store_->GetSegments("main:7"));
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].segment_id, "main:7/1");
  EXPECT_EQ(segs[0].promised_at, absl::FromUnixSeconds(1'800'000'000));
  ASSERT_EQ(segs[0].lines.size(), 1u);
  EXPECT_EQ(segs[0].lines[0].sku, "C");
  EXPECT_EQ(segs[1].lines.size(), 2u);
  EXPECT_EQ(segs[1].promised_at, absl::InfiniteFuture());
  EXPECT_EQ(segs[1].state_since, t0);

  clock_.Advance(absl::Minutes(40));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto stuck,
                               store_->ListSegmentsInState("planned", clock_.Now() - absl::Minutes(30), 10));
  ASSERT_EQ(stuck.size(), 1u);
  EXPECT_EQ(stuck[0].segment_id, "main:7/2");
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n,
                               store_->CountSegmentsInState("planned", clock_.Now() - absl::Minutes(30)));
  EXPECT_EQ(n, 1);

  const absl::Time t1 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(t1, [](Tx& tx) -> absl::Status {
    if (auto s = tx.SetSegmentState("main:7/2", "released", "SB-991", ""); !s.ok()) return s;
    if (auto s = tx.AddShipped("main:7/2", 1, 2); !s.ok()) return s;
    return tx.SetSegmentState("main:7/2", "released", "", "");  // same state: age kept
  }));
  EXPECT_EQ(store_->Transact(t1, [](Tx& tx) {
                      return tx.SetSegmentState("main:7/9", "released", "", "");
                    }).code(),
            absl::StatusCode::kNotFound);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto one, store_->GetSegment("main:7/2"));
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->state, "released");
  EXPECT_EQ(one->provider_id, "SB-991");
  EXPECT_EQ(one->state_since, t1);
  EXPECT_EQ(one->created_at, t0);
  EXPECT_EQ(one->lines[0].shipped, 2);
  EXPECT_EQ(one->lines[1].shipped, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto none, store_->GetSegment("main:7/9"));
  EXPECT_FALSE(none.has_value());
  KEELSON_ASSERT_OK_AND_ASSIGN(stuck, store_->ListSegmentsInState("planned", clock_.Now(), 10));
  EXPECT_THAT(stuck, IsEmpty());
}

TEST_P(StoreConformanceTest, FulfillmentShipmentsApplyOnceAndAwaitTheErp) {
  const ShipmentRecord sh{.provider = "shipbob", .shipment_id = "SHP-1",
                          .segment_id = "main:7/2", .order_ref = "main:7", .carrier = "UPS",
                          .tracking_number = "1Z999", .tracking_url = "https://t/1Z999",
                          .lines_json = R"([{"line_no":1,"sku":"A","quantity":2}])"};
  bool first = false, second = true;
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    auto a = tx.PutShipment(sh);
    if (!a.ok()) return a.status();
    first = *a;
    auto b = tx.PutShipment(sh);
    if (!b.ok()) return b.status();
    second = *b;
    return absl::OkStatus();
  }));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  clock_.Advance(absl::Minutes(20));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto waiting,
                               store_->ListShipmentsAwaitingErp(clock_.Now() - absl::Minutes(15), 10));
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].tracking_number, "1Z999");
  EXPECT_EQ(waiting[0].shipped_at, absl::InfinitePast());
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](Tx& tx) {
    return tx.SetShipmentStates("shipbob", "SHP-1", "posted", "");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store_->CountShipmentsAwaitingErp(clock_.Now()));
  EXPECT_EQ(n, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto all, store_->ListShipments("main:7"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].erp_state, "posted");
  EXPECT_EQ(all[0].shop_state, "pending");
  EXPECT_EQ(all[0].lines_json, R"([{"line_no":1,"sku":"A","quantity":2}])");
}

}  // namespace
}  // namespace keelson::store::testing
