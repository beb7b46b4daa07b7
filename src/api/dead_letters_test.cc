#include "api/dead_letters.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/store_helpers.h"

namespace keelson::api {
namespace {

class DeadLettersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  // Enqueues, claims and dead-letters one job with `reason`; returns its id.
  int64_t Dead(const std::string& kind, const std::string& reason, const std::string& payload) {
    int64_t id = keelson::testing::EnqueueJob(*store_, clock_.Now(),
                                              {.kind = kind, .payload = payload});
    auto claimed = store_->ClaimJobs("w", clock_.Now(), absl::Seconds(30), 10);
    EXPECT_TRUE(claimed.ok() && claimed->size() == 1u);
    EXPECT_TRUE(store_->DeadLetterJob(id, "w", reason, "boom", clock_.Now()).ok());
    return id;
  }
  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(DeadLettersTest, ReplaysExactlyTheMatchingDeadLetters) {
  const int64_t a = Dead("k1", "business", "{}");
  const int64_t b = Dead("k2", "business", "{}");
  const int64_t c = Dead("k1", "poison", "{}");
  keelson::testing::EnqueueJob(*store_, clock_.Now(), {.kind = "k1", .payload = "{}"});  // queued

  auto none = ReplayDeadLetters(*store_, {.kind = "k3"}, clock_.Now());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto replayed = ReplayDeadLetters(*store_, {.dead_reason = "business"}, clock_.Now());
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(*replayed, (std::vector<int64_t>{a, b}));
  EXPECT_EQ(store_->GetJob(a)->state, store::JobState::kQueued);
  EXPECT_EQ(store_->GetJob(b)->state, store::JobState::kQueued);
  EXPECT_EQ(store_->GetJob(c)->state, store::JobState::kDead);
}

TEST_F(DeadLettersTest, DetailCarriesTheRawDelivery) {
  store::DeliveryToAccept d{.source = "woocommerce", .store_id = "main", .topic = "order.created",
                            .dedupe_key = "k", .headers_json = "{}", .body = "{\"id\": 1, \"x",
                            .correlation_id = "c", .job_kind = "woocommerce.ingest"};
  auto accepted = store_->AcceptDeliveries({&d, 1}, clock_.Now());
  ASSERT_TRUE(accepted.ok());
  auto claimed = store_->ClaimJobs("w", clock_.Now(), absl::Seconds(30), 10);
  ASSERT_EQ(claimed->size(), 1u);
  const int64_t id = (*claimed)[0].id;
  ASSERT_TRUE(store_->DeadLetterJob(id, "w", "poison", "unreadable", clock_.Now()).ok());

  auto detail = DeadLetterDetail(*store_, id);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ((*detail)["dead_reason"], "poison");
  EXPECT_EQ((*detail)["payload"]["delivery_id"], (*accepted)[0].delivery_id);
  EXPECT_EQ((*detail)["delivery"]["body"], "{\"id\": 1, \"x");
  EXPECT_EQ(DeadLetterDetail(*store_, 999).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace keelson::api
