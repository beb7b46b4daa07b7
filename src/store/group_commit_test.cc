// GroupCommitter over an in-memory SQLite store: many submitting threads, one committer thread.
// Waits are bounded condition-variable waits, never sleeps.

#include "store/group_commit.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "gtest/gtest.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/status_matchers.h"

namespace keelson::store {
namespace {

DeliveryToAccept MakeDelivery(const std::string& key, const std::string& correlation_id) {
  DeliveryToAccept d;
  d.source = "woocommerce";
  d.store_id = "main";
  d.topic = "order.updated";
  d.dedupe_key = key;
  d.headers_json = "{}";
  d.body = absl::StrCat(R"({"key":")", key, R"("})");
  d.correlation_id = correlation_id;
  d.job_kind = "woocommerce.ingest";
  d.job_partition_key = absl::StrCat("order:", key);
  return d;
}

// Collects callback answers; Wait blocks (bounded) until `n` answers arrived.
class Answers {
 public:
  explicit Answers(size_t n) : results_(n), calls_(n, 0) {}

  GroupCommitter::Callback For(size_t index) {
    return [this, index](absl::StatusOr<AcceptResult> r) {
      std::lock_guard<std::mutex> l(mu_);
      ++calls_[index];
      results_[index] = std::move(r);
      ++answered_;
      cv_.notify_all();
    };
  }

  bool Wait(size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return answered_ >= n; });
  }

  size_t answered() {
    std::lock_guard<std::mutex> l(mu_);
    return answered_;
  }
  int calls(size_t i) {
    std::lock_guard<std::mutex> l(mu_);
    return calls_[i];
  }
  absl::StatusOr<AcceptResult> result(size_t i) {
    std::lock_guard<std::mutex> l(mu_);
    if (!results_[i]) return absl::InternalError("no answer");
    return *results_[i];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<absl::StatusOr<AcceptResult>>> results_;
  std::vector<int> calls_;
  size_t answered_ = 0;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KEELSON_ASSERT_OK_AND_ASSIGN(store_, OpenSqliteStore(SqliteOptions{.path = ":memory:"}));
  }
  core::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(GroupCommitTest, ConcurrentSubmittersGetExactlyOneAnswerEach) {
  constexpr int kThreads = 8;
  constexpr int kDistinctPerThread = 500;
  struct Submission {
    std::string key;
    std::string correlation_id;
  };
  // Per thread: 500 distinct keys, every 10th submitted twice in a row, and one key that all
  // threads share (a redelivery racing across connections).
  std::vector<std::vector<size_t>> per_thread(kThreads);
  std::vector<Submission> subs;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kDistinctPerThread; ++i) {
      const std::string key = absl::StrCat("t", t, "-", i);
      per_thread[t].push_back(subs.size());
      subs.push_back({key, absl::StrCat("corr-", key)});
      if (i % 10 == 0) {
        per_thread[t].push_back(subs.size());
        subs.push_back({key, absl::StrCat("corr-", key, "-again")});
      }
      if (i == kDistinctPerThread / 2) {
        per_thread[t].push_back(subs.size());
        subs.push_back({"shared", absl::StrCat("corr-shared-", t)});
      }
    }
  }
  const size_t distinct_keys = kThreads * kDistinctPerThread + 1;
  ASSERT_EQ(subs.size(), distinct_keys - 1 + kThreads * (kDistinctPerThread / 10) + kThreads);

  GroupCommitter committer(store_.get(), &clock_, /*max_batch=*/64);
  std::atomic<int> commits{0};
  committer.set_on_commit([&] { commits.fetch_add(1); });
  committer.Start();

  Answers answers(subs.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t index : per_thread[t]) {
        committer.Submit(MakeDelivery(subs[index].key, subs[index].correlation_id),
                         answers.For(index));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(answers.Wait(subs.size(), std::chrono::seconds(60)))
      << "answered " << answers.answered() << " of " << subs.size();

  // Every callback exactly once, all OK.
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < subs.size(); ++i) {
    ASSERT_EQ(answers.calls(i), 1) << subs[i].key;
    ASSERT_TRUE(answers.result(i).ok()) << subs[i].key << ": " << answers.result(i).status();
    by_key[subs[i].key].push_back(i);
  }
  ASSERT_EQ(by_key.size(), distinct_keys);

  // Per key: one original, the rest duplicates of it (same id, the original's correlation id).
  std::set<int64_t> ids;
  for (const auto& [key, indexes] : by_key) {
    int originals = 0;
    std::string original_correlation;
    const int64_t id = answers.result(indexes[0])->delivery_id;
    for (size_t i : indexes) {
      const AcceptResult r = *answers.result(i);
      EXPECT_EQ(r.delivery_id, id) << key;
      if (!r.duplicate) {
        ++originals;
        original_correlation = subs[i].correlation_id;
        EXPECT_EQ(r.correlation_id, subs[i].correlation_id) << key;
      }
    }
    EXPECT_EQ(originals, 1) << key;
    for (size_t i : indexes) EXPECT_EQ(answers.result(i)->correlation_id, original_correlation);
    EXPECT_TRUE(ids.insert(id).second) << "delivery id " << id << " reused for " << key;
  }
  // Within one thread the original is submitted first, so it is the one stored.
  for (int t = 0; t < kThreads; ++t) {
    const std::string key = absl::StrCat("t", t, "-0");
    const std::vector<size_t>& idx = by_key[key];
    ASSERT_EQ(idx.size(), 2u);
    EXPECT_FALSE(answers.result(idx[0])->duplicate);
    EXPECT_TRUE(answers.result(idx[1])->duplicate);
  }
  EXPECT_EQ(by_key["shared"].size(), static_cast<size_t>(kThreads));

  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountDeliveries());
  EXPECT_EQ(count, static_cast<int64_t>(distinct_keys));
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats stats, store_->GetJobStats(clock_.Now()));
  EXPECT_EQ(stats.queued, static_cast<int64_t>(distinct_keys));  // one job per stored delivery
  EXPECT_GE(commits.load(), 1);

  committer.Stop();
  bool called = false;
  absl::Status after_stop;
  committer.Submit(MakeDelivery("late", "corr-late"), [&](absl::StatusOr<AcceptResult> r) {
    called = true;
    after_stop = r.status();
  });
  EXPECT_TRUE(called);  // answered at once, on the submitting thread
  EXPECT_EQ(after_stop.code(), absl::StatusCode::kUnavailable) << after_stop;
  KEELSON_ASSERT_OK_AND_ASSIGN(count, store_->CountDeliveries());
  EXPECT_EQ(count, static_cast<int64_t>(distinct_keys));
}

TEST_F(GroupCommitTest, StopCommitsWhatIsPending) {
  GroupCommitter committer(store_.get(), &clock_, /*max_batch=*/8);
  committer.Start();
  constexpr size_t kN = 100;
  Answers answers(kN);
  for (size_t i = 0; i < kN; ++i) {
    committer.Submit(MakeDelivery(absl::StrCat("k", i), "c"), answers.For(i));
  }
  committer.Stop();
  // Stop joined the committer thread, so every answer is in without waiting.
  EXPECT_EQ(answers.answered(), kN);
  for (size_t i = 0; i < kN; ++i) {
    EXPECT_EQ(answers.calls(i), 1);
    KEELSON_EXPECT_OK(answers.result(i));
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountDeliveries());
  EXPECT_EQ(count, static_cast<int64_t>(kN));
  committer.Stop();  // idempotent
}

TEST_F(GroupCommitTest, SubmitBeforeStartIsUnavailable) {
  GroupCommitter committer(store_.get(), &clock_, /*max_batch=*/8);
  Answers answers(1);
  committer.Submit(MakeDelivery("early", "c"), answers.For(0));
  EXPECT_EQ(answers.answered(), 1u);
  EXPECT_EQ(answers.result(0).status().code(), absl::StatusCode::kUnavailable);
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountDeliveries());
  EXPECT_EQ(count, 0);
}

TEST_F(GroupCommitTest, OnCommitIsNotCalledForDuplicatesOnly) {
  KEELSON_ASSERT_OK_AND_ASSIGN(
      std::vector<AcceptResult> seeded,
      store_->AcceptDeliveries(std::vector<DeliveryToAccept>{MakeDelivery("dup", "c0")},
                               clock_.Now()));
  ASSERT_EQ(seeded.size(), 1u);
  GroupCommitter committer(store_.get(), &clock_, /*max_batch=*/8);
  std::atomic<int> commits{0};
  committer.set_on_commit([&] { commits.fetch_add(1); });
  committer.Start();
  Answers answers(1);
  committer.Submit(MakeDelivery("dup", "c1"), answers.For(0));
  committer.Stop();
  ASSERT_EQ(answers.answered(), 1u);
  KEELSON_ASSERT_OK_AND_ASSIGN(AcceptResult r, answers.result(0));
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.delivery_id, seeded[0].delivery_id);
  EXPECT_EQ(r.correlation_id, "c0");
  EXPECT_EQ(commits.load(), 0);  // nothing new to run: no wake-up
}

}  // namespace
}  // namespace keelson::store
