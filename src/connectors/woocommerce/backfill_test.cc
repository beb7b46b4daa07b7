#include "connectors/woocommerce/backfill.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "core/clock.h"
#include "net/http_client.h"
#include "sim/woocommerce.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::woocommerce {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time At(const char* text) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%S", text, absl::UTCTimeZone(), &t, &err)) << err;
  return t;
}

// Missed webhooks are simulated with silent orders; the simulator's clock dates them.
class BackfillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<sim::WooCommerceSim>(sim::WooCommerceSim::Options{
        .consumer_key = "ck_bf", .consumer_secret = "cs_bf", .clock = &clock_});
    KEELSON_ASSERT_OK(sim_->Start());
    http_ = net::NewCurlHttpClient();
    client_ = NewRestClient({.store_url = sim_->url(),
                             .consumer_key = "ck_bf",
                             .consumer_secret = "cs_bf",
                             .clock = &clock_},
                            *http_);
  }

  int64_t Silent() {
    auto id = sim_->CreateOrderSilently({});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(-1);
  }

  // Calls PollModifiedOrders and records (id, status) per call.
  absl::StatusOr<BackfillResult> Poll(absl::Time since, absl::Duration overlap, int per_page,
                                      std::function<absl::Status(int64_t)> also = nullptr) {
    seen_.clear();
    return PollModifiedOrders(*client_, since, overlap,
                              [&](const nlohmann::json& order) {
                                seen_.push_back(order["id"].get<int64_t>());
                                return also ? also(order["id"].get<int64_t>()) : absl::OkStatus();
                              },
                              {.per_page = per_page});
  }

  core::FakeClock clock_{At("2026-11-22T07:00:00")};
  std::unique_ptr<sim::WooCommerceSim> sim_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<RestClient> client_;
  std::vector<int64_t> seen_;
};

TEST_F(BackfillTest, FindsExactlyTheOrdersModifiedAfterSinceMinusOverlap) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 7; ++i) {  // 07:00:00, 07:01:00, ..., 07:06:00
    ids.push_back(Silent());
    clock_.Advance(absl::Minutes(1));
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(BackfillResult r,
                               Poll(At("2026-11-22T07:04:00"), absl::Minutes(2), 2));
  // Strictly after 07:02:00: 07:03, 07:04, 07:05, 07:06, oldest change first.
  EXPECT_THAT(seen_, ElementsAre(ids[3], ids[4], ids[5], ids[6]));
  EXPECT_EQ(r.orders_seen, 4);
  // Each page after the first is asked from the last second of the one before, so it starts
  // with the order already handed over: [03 04] [04 05] [05 06], the last by X-WP-TotalPages.
  EXPECT_EQ(r.pages, 3);
  EXPECT_EQ(r.high_water_mark, At("2026-11-22T07:06:00"));

  // The next poll from the high-water mark sees what changed since, plus what the overlap
  // re-covers (order 6, modified 07:06:00, after 07:05:30).
  clock_.Advance(absl::Minutes(10));  // 07:17:00
  KEELSON_ASSERT_OK(sim_->UpdateOrderStatusSilently(ids[1], "completed"));
  KEELSON_ASSERT_OK_AND_ASSIGN(r, Poll(r.high_water_mark, absl::Seconds(30), 100));
  EXPECT_THAT(seen_, ElementsAre(ids[6], ids[1]));
  EXPECT_EQ(r.pages, 1);
  EXPECT_EQ(r.high_water_mark, At("2026-11-22T07:17:00"));
}

TEST_F(BackfillTest, NothingNewKeepsTheHighWaterMark) {
  Silent();
  const absl::Time since = At("2026-11-22T08:00:00");
  KEELSON_ASSERT_OK_AND_ASSIGN(BackfillResult r, Poll(since, absl::Minutes(5), 100));
  EXPECT_TRUE(seen_.empty());
  EXPECT_EQ(r.orders_seen, 0);
  EXPECT_EQ(r.pages, 1);
  EXPECT_EQ(r.high_water_mark, since);
}

TEST_F(BackfillTest, InfinitePastWalksEverything) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Silent());
    clock_.Advance(absl::Seconds(3));
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(BackfillResult r,
                               Poll(absl::InfinitePast(), absl::ZeroDuration(), 2));
  EXPECT_THAT(seen_, ElementsAre(ids[0], ids[1], ids[2], ids[3], ids[4]));
  EXPECT_EQ(r.high_water_mark, At("2026-11-22T07:00:12"));
}

TEST_F(BackfillTest, AnOrderModifiedMidWalkDoesNotMakeAnotherOneSkipped) {
  // Five orders a minute apart, two per page. While page 1 (orders 0 and 1) is being handled,
  // order 0 changes and moves to the end of "modified asc". A page-number walk would then read
  // page 2 as orders 3 and 4 and never see order 2; the keyed walk does not lose it.
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Silent());
    clock_.Advance(absl::Minutes(1));
  }
  bool changed = false;
  KEELSON_ASSERT_OK_AND_ASSIGN(
      BackfillResult r, Poll(At("2026-11-22T06:00:00"), absl::ZeroDuration(), 2, [&](int64_t id) {
        if (id == ids[1] && !changed) {
          changed = true;
          return sim_->UpdateOrderStatusSilently(ids[0], "completed");
        }
        return absl::OkStatus();
      }));
  EXPECT_THAT(seen_, ElementsAre(ids[0], ids[1], ids[2], ids[3], ids[4], ids[0]));
  EXPECT_EQ(r.orders_seen, 6);  // order 0 twice: two different modification times
  EXPECT_EQ(r.high_water_mark, At("2026-11-22T07:05:00"));
}

TEST_F(BackfillTest, MoreThanAPageInOneSecondFallsBackToPageNumbers) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Silent());  // all at 07:00:00
  clock_.Advance(absl::Seconds(1));
  ids.push_back(Silent());  // 07:00:01
  KEELSON_ASSERT_OK_AND_ASSIGN(BackfillResult r,
                               Poll(At("2026-11-22T06:59:59"), absl::ZeroDuration(), 2));
  EXPECT_THAT(seen_, ElementsAre(ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]));
  EXPECT_EQ(r.orders_seen, 6);
  EXPECT_EQ(r.high_water_mark, At("2026-11-22T07:00:01"));
}

TEST_F(BackfillTest, ErrorsStopTheWalk) {
  for (int i = 0; i < 3; ++i) Silent();
  sim_->FailNextRestRequests(1, 503);
  EXPECT_THAT(Poll(absl::InfinitePast(), absl::ZeroDuration(), 100),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(seen_.empty());

  absl::StatusOr<BackfillResult> r =
      Poll(absl::InfinitePast(), absl::ZeroDuration(), 100, [&](int64_t id) {
        return id == 101 ? absl::FailedPreconditionError("intake refused") : absl::OkStatus();
      });
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("backfill: order 101: intake refused"));
  EXPECT_THAT(seen_, ElementsAre(100, 101));

  EXPECT_THAT(Poll(absl::InfinitePast(), absl::Seconds(-1), 100),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Poll(absl::InfinitePast(), absl::ZeroDuration(), 101),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace keelson::connectors::woocommerce
