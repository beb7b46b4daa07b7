// Conformance cases for the business-event outbox and named leases (see store_conformance.h).

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"

namespace keelson::store::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> EventIds(const std::vector<OutboxEvent>& events) {
  std::vector<std::string> out;
  for (const OutboxEvent& e : events) out.push_back(e.event_id);
  return out;
}

TEST_P(StoreConformanceTest, EventsAppendOnceByEventIdAndListInCommitOrder) {
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(t0, [&](Tx& tx) -> absl::Status {
    auto added = tx.AppendEvent({.event_id = "order.accepted/main:1", .type = "order.accepted",
                                 .key = "main:1", .payload_json = R"({"n":1})",
                                 .correlation_id = "c1"});
    if (!added.ok()) return added.status();
    EXPECT_TRUE(*added);
    return absl::OkStatus();
  }));
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    // The same event again (a job that ran twice): absorbed.
    auto again = tx.AppendEvent({.event_id = "order.accepted/main:1", .type = "order.accepted",
                                 .key = "main:1", .payload_json = R"({"n":2})"});
    if (!again.ok()) return again.status();
    EXPECT_FALSE(*again);
    return tx.AppendEvent({.event_id = "order.shipped/sb:9", .type = "order.shipped",
                           .key = "main:1"})
        .status();
  }));

  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(10));
  ASSERT_THAT(EventIds(pending), ElementsAre("order.accepted/main:1", "order.shipped/sb:9"));
  EXPECT_LT(pending[0].id, pending[1].id);
  EXPECT_EQ(pending[0].payload_json, R"({"n":1})");
  EXPECT_EQ(pending[0].correlation_id, "c1");
  EXPECT_EQ(pending[0].occurred_at, t0);
  EXPECT_EQ(pending[1].payload_json, "{}");
  EXPECT_EQ(pending[1].occurred_at, t0 + absl::Seconds(1));

  KEELSON_ASSERT_OK_AND_ASSIGN(auto stats, store_->PendingEventStats());
  EXPECT_EQ(stats.first, 2);
  EXPECT_EQ(stats.second, t0);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto first_only, store_->ListPendingEvents(1));
  EXPECT_THAT(EventIds(first_only), ElementsAre("order.accepted/main:1"));
}

TEST_P(StoreConformanceTest, EventsMarkedPublishedLeaveThePendingListAndArePurgedLater) {
  for (int i = 0; i < 3; ++i) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
      return tx.AppendEvent({.event_id = "e" + std::to_string(i), .type = "inventory.changed",
                             .key = "SKU"})
          .status();
    }));
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pending, store_->ListPendingEvents(10));
  ASSERT_EQ(pending.size(), 3u);
  const absl::Time t1 = clock_.Now() + absl::Minutes(1);
  const std::vector<int64_t> first_two = {pending[0].id, pending[1].id};
  KEELSON_ASSERT_OK(store_->MarkEventsPublished(first_two, t1));
  // Marking again keeps the first publication time.
  KEELSON_ASSERT_OK(store_->MarkEventsPublished(first_two, t1 + absl::Hours(5)));
  KEELSON_ASSERT_OK_AND_ASSIGN(pending, store_->ListPendingEvents(10));
  EXPECT_THAT(EventIds(pending), ElementsAre("e2"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto stats, store_->PendingEventStats());
  EXPECT_EQ(stats.first, 1);

  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t purged, store_->PurgePublishedEvents(t1));
  EXPECT_EQ(purged, 0);  // published at t1, not before it
  KEELSON_ASSERT_OK_AND_ASSIGN(purged, store_->PurgePublishedEvents(t1 + absl::Seconds(1)));
  EXPECT_EQ(purged, 2);
  KEELSON_ASSERT_OK_AND_ASSIGN(pending, store_->ListPendingEvents(10));
  EXPECT_THAT(EventIds(pending), ElementsAre("e2"));  // the pending one is never purged

  KEELSON_ASSERT_OK(store_->MarkEventsPublished(std::vector<int64_t>{pending[0].id}, t1));
  KEELSON_ASSERT_OK_AND_ASSIGN(stats, store_->PendingEventStats());
  EXPECT_EQ(stats.first, 0);
  EXPECT_EQ(stats.second, std::nullopt);
  KEELSON_ASSERT_OK_AND_ASSIGN(pending, store_->ListPendingEvents(10));
  EXPECT_THAT(pending, IsEmpty());
}

TEST_P(StoreConformanceTest, LeaseIsHeldByOneOwnerUntilItExpiresOrIsReleased) {
  const absl::Time t0 = clock_.Now();
  const absl::Duration ttl = absl::Seconds(10);
  KEELSON_ASSERT_OK_AND_ASSIGN(bool a, store_->TryAcquireLease("publisher", "node-a", t0, ttl));
  EXPECT_TRUE(a);
  KEELSON_ASSERT_OK_AND_ASSIGN(bool b, store_->TryAcquireLease("publisher", "node-b", t0, ttl));
  EXPECT_FALSE(b);
  // Another name is independent.
  KEELSON_ASSERT_OK_AND_ASSIGN(b, store_->TryAcquireLease("other", "node-b", t0, ttl));
  EXPECT_TRUE(b);
  // The holder renews; the renewal moves the expiry.
  KEELSON_ASSERT_OK_AND_ASSIGN(a, store_->TryAcquireLease("publisher", "node-a",
                                                          t0 + absl::Seconds(8), ttl));
  EXPECT_TRUE(a);
  KEELSON_ASSERT_OK_AND_ASSIGN(b, store_->TryAcquireLease("publisher", "node-b",
                                                          t0 + absl::Seconds(12), ttl));
  EXPECT_FALSE(b);  // renewed until t0+18
  KEELSON_ASSERT_OK_AND_ASSIGN(b, store_->TryAcquireLease("publisher", "node-b",
                                                          t0 + absl::Seconds(18), ttl));
  EXPECT_TRUE(b);  // expired: taken over
  KEELSON_ASSERT_OK_AND_ASSIGN(a, store_->TryAcquireLease("publisher", "node-a",
                                                          t0 + absl::Seconds(19), ttl));
  EXPECT_FALSE(a);
  // Releasing by a non-holder does nothing; by the holder frees it at once.
  KEELSON_ASSERT_OK(store_->ReleaseLease("publisher", "node-a"));
  KEELSON_ASSERT_OK_AND_ASSIGN(a, store_->TryAcquireLease("publisher", "node-a",
                                                          t0 + absl::Seconds(19), ttl));
  EXPECT_FALSE(a);
  KEELSON_ASSERT_OK(store_->ReleaseLease("publisher", "node-b"));
  KEELSON_ASSERT_OK_AND_ASSIGN(a, store_->TryAcquireLease("publisher", "node-a",
                                                          t0 + absl::Seconds(19), ttl));
  EXPECT_TRUE(a);
}

}  // namespace
}  // namespace keelson::store::testing
