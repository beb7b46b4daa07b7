// Conformance cases for what the operator API reads and writes: order search and counts, job
// discard and counts, the audit log and stale stock changes (see store_conformance.h).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"

namespace keelson::store::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Refs(const std::vector<OrderRecord>& orders) {
  std::vector<std::string> out;
  for (const OrderRecord& o : orders) out.push_back(absl::StrCat(o.store_id, ":", o.order_id));
  return out;
}

TEST_P(StoreConformanceTest, OpsSearchOrdersFindsByEachKeyAndKeepsTheSummary) {
  const absl::Time v = clock_.Now();
  PutOrder("main", 1, "processing", v, "Ann@Example.com", "corr-1");
  PutOrder("main", 2, "processing", v, "bob@example.com", "corr-2");
  PutOrder("outlet", 1, "on-hold", v, "ann@example.com", "corr-3");
  SetErp("main", 2, "created", "S-ORD101002");

  KEELSON_ASSERT_OK_AND_ASSIGN(auto found, store_->SearchOrders({.customer_email = "ANN@example.COM"}));
  EXPECT_THAT(Refs(found), ::testing::UnorderedElementsAre("main:1", "outlet:1"));
  KEELSON_ASSERT_OK_AND_ASSIGN(found, store_->SearchOrders({.erp_number = "s-ord101002"}));
  ASSERT_THAT(Refs(found), ElementsAre("main:2"));
  EXPECT_EQ(found[0].erp_state, "created");
  EXPECT_EQ(found[0].customer_email, "bob@example.com");
  EXPECT_EQ(found[0].total, "10.00");
  EXPECT_EQ(found[0].currency, "EUR");
  EXPECT_EQ(found[0].created_at, v);
  EXPECT_TRUE(found[0].snapshot_json.empty());  // the list leaves the snapshot out
  KEELSON_ASSERT_OK_AND_ASSIGN(found, store_->SearchOrders({.correlation_id = "corr-3"}));
  EXPECT_THAT(Refs(found), ElementsAre("outlet:1"));
  KEELSON_ASSERT_OK_AND_ASSIGN(found, store_->SearchOrders({.order_id = 1}));
  EXPECT_THAT(Refs(found), ::testing::UnorderedElementsAre("main:1", "outlet:1"));
  KEELSON_ASSERT_OK_AND_ASSIGN(found, store_->SearchOrders({.store_id = "main", .order_id = 1}));
  EXPECT_THAT(Refs(found), ElementsAre("main:1"));
  KEELSON_ASSERT_OK_AND_ASSIGN(found, store_->SearchOrders({.erp_number = "S-ORD-NONE"}));
  EXPECT_THAT(found, IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(
      found, store_->SearchOrders({.statuses = {"processing"}, .erp_states = {"none", "pending"}}));
  EXPECT_THAT(Refs(found), ElementsAre("main:1"));
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store_->CountOrders({.statuses = {"processing", "on-hold"}}));
  EXPECT_EQ(n, 3);
}

TEST_P(StoreConformanceTest, OpsSearchOrdersPagesNewestChangeFirstWithoutGapsOrRepeats) {
  for (int i = 1; i <= 7; ++i) {
    PutOrder("main", i, "processing", clock_.Now());
    clock_.Advance(absl::Seconds(1));
  }
  // Order 3 changes last: it comes first.
  PutOrder("main", 3, "completed", clock_.Now());
  std::vector<std::string> seen;
  OrderQuery q{.limit = 3};
  for (int page = 0; page < 5; ++page) {
    KEELSON_ASSERT_OK_AND_ASSIGN(auto rows, store_->SearchOrders(q));
    if (rows.empty()) break;
    for (const auto& r : Refs(rows)) seen.push_back(r);
    q.after = OrderCursor{absl::ToUnixMillis(rows.back().updated_at), rows.back().store_id,
                          rows.back().order_id};
  }
  EXPECT_THAT(seen, ElementsAre("main:3", "main:7", "main:6", "main:5", "main:4", "main:2",
                                "main:1"));
}

TEST_P(StoreConformanceTest, OpsStatusSinceMovesOnlyWhenTheStatusChanges) {
  const absl::Time t0 = clock_.Now();
  PutOrder("main", 1, "processing", t0);
  clock_.Advance(absl::Minutes(3));
  PutOrder("main", 1, "processing", clock_.Now());  // a newer snapshot, same status
  KEELSON_ASSERT_OK_AND_ASSIGN(auto held, store_->GetOrder("main", 1));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->status_since, t0);
  EXPECT_EQ(held->erp_since, t0);
  EXPECT_EQ(held->updated_at, clock_.Now());

  // The SLA query: in "processing" since before t0 + 1 min, oldest first.
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto stuck, store_->SearchOrders({.statuses = {"processing"},
                                        .status_since_before = t0 + absl::Minutes(1),
                                        .sort = OrderQuery::Sort::kLongestInStatus}));
  EXPECT_THAT(Refs(stuck), ElementsAre("main:1"));

  const absl::Time t1 = clock_.Now();
  SetErp("main", 1, "pending", "");
  clock_.Advance(absl::Minutes(1));
  SetErp("main", 1, "pending", "");  // same state: erp_since stays
  PutOrder("main", 1, "completed", clock_.Now());
  KEELSON_ASSERT_OK_AND_ASSIGN(held, store_->GetOrder("main", 1));
  EXPECT_EQ(held->erp_since, t1);
  EXPECT_EQ(held->status_since, clock_.Now());
  EXPECT_EQ(held->created_at, t0);
  KEELSON_ASSERT_OK_AND_ASSIGN(
      stuck, store_->SearchOrders({.statuses = {"processing"},
                                   .status_since_before = t0 + absl::Minutes(1)}));
  EXPECT_THAT(stuck, IsEmpty());
}

TEST_P(StoreConformanceTest, OpsCountOrdersByStateGroupsStatusAndErpState) {
  PutOrder("main", 1, "processing", clock_.Now());
  PutOrder("main", 2, "processing", clock_.Now());
  PutOrder("main", 3, "completed", clock_.Now());
  SetErp("main", 2, "created", "SO-2");
  SetErp("main", 3, "created", "SO-3");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<OrderStateCount> counts, store_->CountOrdersByState());
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0].status, "completed");
  EXPECT_EQ(counts[0].erp_state, "created");
  EXPECT_EQ(counts[0].count, 1);
  EXPECT_EQ(counts[1].status, "processing");
  EXPECT_EQ(counts[1].erp_state, "created");
  EXPECT_EQ(counts[1].count, 1);
  EXPECT_EQ(counts[2].erp_state, "none");
  EXPECT_EQ(counts[2].count, 1);
}

TEST_P(StoreConformanceTest, OpsDiscardSetsADeadLetterAsideAndOnlyOnce) {
  const int64_t dead = Dead("erp.create_order", "order:main:1");
  const int64_t queued = Enqueue("k", "");
  EXPECT_EQ(store_->DiscardJob(queued, clock_.Now()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->DiscardJob(999999, clock_.Now()).code(), absl::StatusCode::kNotFound);
  clock_.Advance(absl::Seconds(5));
  KEELSON_ASSERT_OK(store_->DiscardJob(dead, clock_.Now()));
  EXPECT_EQ(store_->DiscardJob(dead, clock_.Now()).code(), absl::StatusCode::kFailedPrecondition);
  KEELSON_ASSERT_OK_AND_ASSIGN(Job job, store_->GetJob(dead));
  EXPECT_EQ(job.state, JobState::kDead);
  EXPECT_EQ(job.dead_reason, "discarded");
  EXPECT_EQ(job.last_error, "refused");
  EXPECT_EQ(job.updated_at, clock_.Now());

  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto listed, store_->ListJobs({.state = JobState::kDead, .exclude_dead_reason = "discarded"}));
  EXPECT_THAT(listed, IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(listed, store_->ListJobs({.state = JobState::kDead,
                                                         .dead_reason = "discarded"}));
  ASSERT_EQ(listed.size(), 1u);
  // A discarded job can still be replayed: an operator may change their mind.
  KEELSON_ASSERT_OK(store_->ReplayJob(dead, clock_.Now()));
  KEELSON_ASSERT_OK_AND_ASSIGN(job, store_->GetJob(dead));
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.dead_reason, "");
}

TEST_P(StoreConformanceTest, OpsCountJobsAndListJobsFilterByPartitionAndAge) {
  const absl::Time t0 = clock_.Now();
  Enqueue("erp.create_order", "order:main:1");
  clock_.Advance(absl::Minutes(2));
  const int64_t b = Enqueue("erp.create_order", "order:main:2");
  Enqueue("inventory.publish", "inventory:main");
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store_->CountJobs({.state = JobState::kQueued}));
  EXPECT_EQ(n, 3);
  KEELSON_ASSERT_OK_AND_ASSIGN(n, store_->CountJobs({.state = JobState::kQueued,
                                                     .kind = "erp.create_order",
                                                     .enqueued_before = t0 + absl::Minutes(1)}));
  EXPECT_EQ(n, 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto jobs, store_->ListJobs({.partition_key = "order:main:2"}));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, b);
  KEELSON_ASSERT_OK_AND_ASSIGN(n, store_->CountJobs({.updated_before = t0 + absl::Seconds(1)}));
  EXPECT_EQ(n, 1);
}

TEST_P(StoreConformanceTest, OpsAuditLogKeepsEntriesInOrderWithTheirActor) {
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    if (auto s = tx.AppendAudit({.actor = "alice", .action = "dead_letter.replay",
                                 .target = "job:7"});
        !s.ok()) {
      return s;
    }
    return tx.AppendAudit({.actor = "bob", .action = "dead_letter.discard", .target = "job:8",
                           .detail_json = R"({"reason":"test order"})"});
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> all, store_->ListAudit(0, 10));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].actor, "alice");
  EXPECT_EQ(all[0].detail_json, "{}");
  EXPECT_EQ(all[0].at, clock_.Now());
  EXPECT_EQ(all[1].action, "dead_letter.discard");
  EXPECT_EQ(all[1].detail_json, R"({"reason":"test order"})");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> rest, store_->ListAudit(all[0].id, 10));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].target, "job:8");
}

TEST_P(StoreConformanceTest, OpsStaleDirtyListsUnpublishedChangesOldestFirst) {
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) { return tx.MarkDirty("main", "B"); }));
  clock_.Advance(absl::Seconds(30));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
    if (auto s = tx.MarkDirty("outlet", "A"); !s.ok()) return s;
    return tx.MarkDirty("main", "C");
  }));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto stale, store_->ListStaleDirty(t0 + absl::Seconds(1), 10));
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].store_id, "main");
  EXPECT_EQ(stale[0].sku, "B");
  EXPECT_EQ(stale[0].marked_at, t0);
  KEELSON_ASSERT_OK_AND_ASSIGN(stale, store_->ListStaleDirty(absl::InfiniteFuture(), 2));
  ASSERT_EQ(stale.size(), 2u);
  EXPECT_EQ(stale[1].store_id, "main");
  EXPECT_EQ(stale[1].sku, "C");
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store_->CountStaleDirty(clock_.Now() + absl::Seconds(1)));
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace keelson::store::testing
