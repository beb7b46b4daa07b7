// The job runner, its retry policy and the scheduler, over an in-memory SQLite store and a
// FakeClock. Everything runs on the test thread through Runner::RunOnce, except one bounded
// smoke test of the threaded runner.

#include "jobs/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/clock.h"
#include "core/status_payloads.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/retry_policy.h"
#include "jobs/scheduler.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::jobs {
namespace {

using store::Job;
using store::JobState;
using store::NewJob;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::string StateOf(const Job& job) { return std::string(store::JobStateName(job.state)); }

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KEELSON_ASSERT_OK_AND_ASSIGN(store_,
                                 store::OpenSqliteStore(store::SqliteOptions{.path = ":memory:"}));
    options_.workers = 1;
    options_.owner = "runner-under-test";
    options_.policy.base = absl::Seconds(1);
    options_.policy.cap = absl::Seconds(60);
  }

  Runner& runner() {
    if (!runner_) runner_ = std::make_unique<Runner>(store_.get(), &clock_, &handlers_, options_);
    return *runner_;
  }

  int64_t Enqueue(const NewJob& job) {
    return keelson::testing::EnqueueJob(*store_, clock_.Now(), job);
  }

  int64_t Enqueue(std::string kind, std::string partition = "", std::string payload = "{}",
                  int max_attempts = 12) {
    NewJob job;
    job.kind = std::move(kind);
    job.partition_key = std::move(partition);
    job.payload = std::move(payload);
    job.max_attempts = max_attempts;
    return Enqueue(job);
  }

  Job GetJob(int64_t id) {
    absl::StatusOr<Job> job = store_->GetJob(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : Job{};
  }

  int RunOnce() {
    absl::StatusOr<int> n = runner().RunOnce();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  HandlerRegistry handlers_;
  RunnerOptions options_;
  std::unique_ptr<Runner> runner_;
};

TEST_F(RunnerTest, HandlerOkMarksJobDone) {
  int calls = 0;
  handlers_.Register("ok", [&](JobContext& ctx) {
    ++calls;
    EXPECT_EQ(ctx.job.kind, "ok");
    EXPECT_EQ(ctx.job.payload, R"({"n":1})");
    EXPECT_EQ(ctx.job.attempts, 1);
    EXPECT_EQ(ctx.job.lease_owner, "runner-under-test");
    EXPECT_EQ(ctx.clock.Now(), clock_.Now());
    return absl::OkStatus();
  });
  const int64_t id = Enqueue("ok", "", R"({"n":1})");
  EXPECT_EQ(RunOnce(), 1);
  EXPECT_EQ(calls, 1);
  Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "done");
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.last_error, "");
  EXPECT_EQ(job.lease_owner, "");
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_EQ(calls, 1);
}

TEST_F(RunnerTest, RunOnceWithNothingDueRunsNothing) { EXPECT_EQ(RunOnce(), 0); }

TEST_F(RunnerTest, BackoffStaysUnderTheExponentialCeiling) {
  int calls = 0;
  handlers_.Register("flaky", [&](JobContext&) {
    ++calls;
    return absl::UnavailableError("ERP answered 503");
  });
  const int64_t id = Enqueue("flaky", "", "{}", /*max_attempts=*/20);
  for (int n = 1; n <= 8; ++n) {
    SCOPED_TRACE(absl::StrCat("attempt ", n));
    ASSERT_EQ(RunOnce(), 1);
    EXPECT_EQ(calls, n);
    const Job job = GetJob(id);
    EXPECT_EQ(StateOf(job), "queued");
    EXPECT_EQ(job.attempts, n);
    EXPECT_THAT(job.last_error, HasSubstr("ERP answered 503"));
    const absl::Duration ceiling = std::min(absl::Seconds(60), absl::Seconds(1 << (n - 1)));
    const absl::Duration delay = job.run_at - clock_.Now();
    EXPECT_GE(delay, absl::ZeroDuration());
    EXPECT_LE(delay, ceiling);
    if (delay >= absl::Milliseconds(1)) {
      clock_.Set(job.run_at - absl::Milliseconds(1));
      EXPECT_EQ(RunOnce(), 0) << "ran before run_at";
      EXPECT_EQ(calls, n);
    }
    clock_.Set(job.run_at);
  }
}

TEST_F(RunnerTest, RetryAfterIsHonoured) {
  int calls = 0;
  handlers_.Register("throttled", [&](JobContext&) {
    ++calls;
    return WithRetryAfter(absl::UnavailableError("429 Too Many Requests"), absl::Seconds(120));
  });
  const int64_t id = Enqueue("throttled");
  const absl::Time t0 = clock_.Now();
  ASSERT_EQ(RunOnce(), 1);
  Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "queued");
  EXPECT_GE(job.run_at, t0 + absl::Seconds(120));
  // The jitter is capped at 60 s, so the Retry-After floor decides alone.
  EXPECT_EQ(job.run_at, t0 + absl::Seconds(120));
  clock_.Set(t0 + absl::Seconds(120) - absl::Milliseconds(1));
  EXPECT_EQ(RunOnce(), 0);
  clock_.Set(t0 + absl::Seconds(120));
  EXPECT_EQ(RunOnce(), 1);
  EXPECT_EQ(calls, 2);
}

TEST_F(RunnerTest, DeadLettersAfterMaxAttempts) {
  int calls = 0;
  handlers_.Register("down", [&](JobContext&) {
    ++calls;
    return absl::UnavailableError("connection refused by erp.example");
  });
  const int64_t id = Enqueue("down", "", "{}", /*max_attempts=*/3);
  for (int n = 1; n <= 3; ++n) {
    ASSERT_EQ(RunOnce(), 1) << "attempt " << n;
    const Job job = GetJob(id);
    EXPECT_EQ(job.attempts, n);
    if (n < 3) {
      EXPECT_EQ(StateOf(job), "queued");
      clock_.Set(job.run_at);
    }
  }
  const Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "dead");
  EXPECT_EQ(job.dead_reason, "max_attempts");
  EXPECT_EQ(job.attempts, 3);
  EXPECT_THAT(job.last_error, HasSubstr("connection refused by erp.example"));
  EXPECT_EQ(calls, 3);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_EQ(calls, 3);
}

TEST_F(RunnerTest, BusinessErrorsDeadLetterAtOnce) {
  const absl::StatusCode codes[] = {
      absl::StatusCode::kInvalidArgument,  absl::StatusCode::kFailedPrecondition,
      absl::StatusCode::kNotFound,         absl::StatusCode::kAlreadyExists,
      absl::StatusCode::kPermissionDenied, absl::StatusCode::kUnauthenticated,
      absl::StatusCode::kOutOfRange,
  };
  absl::Status next = absl::OkStatus();
  int calls = 0;
  handlers_.Register("erp.push", [&](JobContext&) {
    ++calls;
    return next;
  });
  for (absl::StatusCode code : codes) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    next = absl::Status(code, absl::StrCat("rejected: ", absl::StatusCodeToString(code)));
    const int before = calls;
    const int64_t id = Enqueue("erp.push");
    ASSERT_EQ(RunOnce(), 1);
    EXPECT_EQ(calls, before + 1);
    const Job job = GetJob(id);
    EXPECT_EQ(StateOf(job), "dead");
    EXPECT_EQ(job.dead_reason, "business");
    EXPECT_EQ(job.attempts, 1);
    EXPECT_THAT(job.last_error, HasSubstr(std::string(next.message())));
  }
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(RunOnce(), 0);
}

TEST_F(RunnerTest, DataLossIsPoison) {
  int calls = 0;
  handlers_.Register("parse", [&](JobContext&) {
    ++calls;
    return absl::DataLossError("body is not valid JSON");
  });
  const int64_t id = Enqueue("parse");
  ASSERT_EQ(RunOnce(), 1);
  const Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "dead");
  EXPECT_EQ(job.dead_reason, "poison");
  EXPECT_EQ(job.attempts, 1);
  EXPECT_THAT(job.last_error, HasSubstr("body is not valid JSON"));
  EXPECT_EQ(calls, 1);
}

TEST_F(RunnerTest, UnknownKindIsPoison) {
  const int64_t id = Enqueue("no.such.kind");
  ASSERT_EQ(RunOnce(), 1);
  const Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "dead");
  EXPECT_EQ(job.dead_reason, "poison");
  EXPECT_EQ(job.attempts, 1);
  EXPECT_THAT(job.last_error, HasSubstr("no.such.kind"));
}

TEST_F(RunnerTest, ThrowingHandlerIsRetriedNotFatal) {
  int calls = 0;
  handlers_.Register("throws", [&](JobContext&) -> absl::Status {
    ++calls;
    if (calls == 1) throw std::runtime_error("boom from a library");
    if (calls == 2) throw 42;
    return absl::OkStatus();
  });
  const int64_t id = Enqueue("throws");
  ASSERT_EQ(RunOnce(), 1);
  Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "queued");
  EXPECT_EQ(job.attempts, 1);
  EXPECT_THAT(job.last_error, HasSubstr("INTERNAL"));
  EXPECT_THAT(job.last_error, HasSubstr("handler threw: boom from a library"));

  clock_.Set(job.run_at);
  ASSERT_EQ(RunOnce(), 1);
  job = GetJob(id);
  EXPECT_EQ(StateOf(job), "queued");
  EXPECT_EQ(job.attempts, 2);
  EXPECT_THAT(job.last_error, HasSubstr("non-standard exception"));

  clock_.Set(job.run_at);
  ASSERT_EQ(RunOnce(), 1);
  EXPECT_EQ(StateOf(GetJob(id)), "done");
  EXPECT_EQ(calls, 3);
}

TEST_F(RunnerTest, RetryAfterBeyondDeadlineDeadLettersWithDeadline) {
  int calls = 0;
  handlers_.Register("slow.partner", [&](JobContext&) {
    ++calls;
    return WithRetryAfter(absl::UnavailableError("try later"), absl::Seconds(20));
  });
  NewJob job;
  job.kind = "slow.partner";
  job.payload = "{}";
  job.deadline = absl::Seconds(10);
  const int64_t id = Enqueue(job);
  ASSERT_EQ(RunOnce(), 1);
  const Job got = GetJob(id);
  EXPECT_EQ(StateOf(got), "dead");
  EXPECT_EQ(got.dead_reason, "deadline");
  EXPECT_EQ(got.attempts, 1);
  EXPECT_THAT(got.last_error, HasSubstr("try later"));
  EXPECT_EQ(calls, 1);
}

TEST_F(RunnerTest, BackoffPastTheDeadlineDeadLettersWithDeadline) {
  options_.policy.base = absl::Seconds(8);
  int calls = 0;
  handlers_.Register("flaky", [&](JobContext&) {
    ++calls;
    return absl::UnavailableError("503");
  });
  NewJob job;
  job.kind = "flaky";
  job.payload = "{}";
  job.max_attempts = 1000;
  job.deadline = absl::Seconds(10);
  const absl::Time t0 = clock_.Now();
  const int64_t id = Enqueue(job);
  // Each retry runs exactly when due; the attempts stop once a retry would land after t0 + 10 s.
  for (int i = 0; i < 200 && StateOf(GetJob(id)) == "queued"; ++i) {
    clock_.Set(GetJob(id).run_at);
    ASSERT_LE(clock_.Now(), t0 + absl::Seconds(10));
    ASSERT_EQ(RunOnce(), 1);
  }
  const Job got = GetJob(id);
  EXPECT_EQ(StateOf(got), "dead");
  EXPECT_EQ(got.dead_reason, "deadline");
  EXPECT_EQ(got.attempts, calls);
  EXPECT_LT(got.attempts, 1000);
}

TEST_F(RunnerTest, DeadlinePassedBeforeRunDeadLettersWithoutCallingHandler) {
  int calls = 0;
  handlers_.Register("late", [&](JobContext&) {
    ++calls;
    return absl::OkStatus();
  });
  NewJob job;
  job.kind = "late";
  job.payload = "{}";
  job.deadline = absl::Seconds(10);
  const int64_t id = Enqueue(job);
  clock_.Advance(absl::Seconds(11));
  ASSERT_EQ(RunOnce(), 1);
  const Job got = GetJob(id);
  EXPECT_EQ(StateOf(got), "dead");
  EXPECT_EQ(got.dead_reason, "deadline");
  EXPECT_EQ(calls, 0);
}

TEST_F(RunnerTest, ReplayedDeadJobRunsExactlyOnceMore) {
  int calls = 0;
  bool fixed = false;
  handlers_.Register("erp.create_order", [&](JobContext&) {
    ++calls;
    return fixed ? absl::OkStatus() : absl::InvalidArgumentError("unknown SKU 'X-1'");
  });
  const int64_t id = Enqueue("erp.create_order", "order:main:1");
  ASSERT_EQ(RunOnce(), 1);
  ASSERT_EQ(StateOf(GetJob(id)), "dead");
  EXPECT_EQ(calls, 1);

  fixed = true;  // an operator fixed the SKU mapping
  clock_.Advance(absl::Minutes(10));
  KEELSON_ASSERT_OK(store_->ReplayJob(id, clock_.Now()));
  ASSERT_EQ(RunOnce(), 1);
  const Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "done");
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.dead_reason, "");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_EQ(calls, 2);
}

TEST_F(RunnerTest, OnePartitionRunsInEnqueueOrder) {
  std::vector<std::string> ran;
  handlers_.Register("step", [&](JobContext& ctx) {
    ran.push_back(ctx.job.payload);
    return absl::OkStatus();
  });
  for (int i = 1; i <= 5; ++i) Enqueue("step", "order:main:1", absl::StrCat(i));
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(RunOnce(), 1) << "round " << i;
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_THAT(ran, ElementsAre("1", "2", "3", "4", "5"));
}

TEST_F(RunnerTest, InterleavedPartitionsEachKeepTheirOrder) {
  std::map<std::string, std::vector<std::string>> ran;
  handlers_.Register("step", [&](JobContext& ctx) {
    ran[ctx.job.partition_key].push_back(ctx.job.payload);
    return absl::OkStatus();
  });
  for (int i = 1; i <= 4; ++i) {
    Enqueue("step", "p:A", absl::StrCat("A", i));
    Enqueue("step", "p:B", absl::StrCat("B", i));
  }
  Enqueue("step", "p:B", "B5");
  // One job of each partition per round: the heads run side by side, the rest wait.
  for (int round = 1; round <= 4; ++round) EXPECT_EQ(RunOnce(), 2) << "round " << round;
  EXPECT_EQ(RunOnce(), 1);
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_THAT(ran["p:A"], ElementsAre("A1", "A2", "A3", "A4"));
  EXPECT_THAT(ran["p:B"], ElementsAre("B1", "B2", "B3", "B4", "B5"));
}

TEST_F(RunnerTest, PartitionWaitsForItsFailedHeadToSucceed) {
  std::vector<std::string> ran;
  int failures_left = 2;
  handlers_.Register("step", [&](JobContext& ctx) -> absl::Status {
    ran.push_back(ctx.job.payload);
    if (ctx.job.payload == "1" && failures_left-- > 0) return absl::UnavailableError("503");
    return absl::OkStatus();
  });
  const int64_t first = Enqueue("step", "p:A", "1");
  Enqueue("step", "p:A", "2");
  for (int i = 0; i < 10 && StateOf(GetJob(first)) != "done"; ++i) {
    clock_.Set(std::max(clock_.Now(), GetJob(first).run_at));
    ASSERT_EQ(RunOnce(), 1);
  }
  EXPECT_EQ(RunOnce(), 1);
  EXPECT_THAT(ran, ElementsAre("1", "1", "1", "2"));
}

TEST_F(RunnerTest, LostLeaseDoesNotOverwriteTheNewOwnersOutcome) {
  RunnerOptions other_options = options_;
  other_options.owner = "other-runner";
  Runner other(store_.get(), &clock_, &handlers_, other_options);
  int calls = 0;
  handlers_.Register("slow", [&](JobContext& ctx) -> absl::Status {
    ++calls;
    if (ctx.job.lease_owner == "runner-under-test") {
      // This worker stalls past its lease; the other runner takes the job over and finishes it.
      clock_.Advance(options_.lease + absl::Seconds(1));
      absl::StatusOr<int> n = other.RunOnce();
      EXPECT_TRUE(n.ok() && *n == 1);
      return absl::InvalidArgumentError("stale worker's late verdict");
    }
    return absl::OkStatus();
  });
  const int64_t id = Enqueue("slow");
  ASSERT_EQ(RunOnce(), 1);
  EXPECT_EQ(calls, 2);
  const Job job = GetJob(id);
  EXPECT_EQ(StateOf(job), "done");  // not dead: the stale worker's dead letter was fenced off
  EXPECT_EQ(job.attempts, 2);
  EXPECT_EQ(job.dead_reason, "");
}

TEST_F(RunnerTest, NotAttemptedFailuresDoNotBurnAttempts) {
  int calls = 0;
  handlers_.Register("erp", [&](JobContext&) -> absl::Status {
    if (++calls <= 10) return core::MarkNotAttempted(absl::UnavailableError("circuit open"));
    return absl::OkStatus();
  });
  const int64_t id = Enqueue("erp", "", "{}", /*max_attempts=*/2);
  for (int i = 0; i < 10; ++i) {
    clock_.Set(std::max(clock_.Now(), GetJob(id).run_at));
    ASSERT_EQ(RunOnce(), 1);
    const Job job = GetJob(id);
    ASSERT_EQ(StateOf(job), "queued") << "round " << i;
    EXPECT_EQ(job.attempts, 0);
    EXPECT_EQ(job.run_at, clock_.Now() + options_.held_retry);
  }
  clock_.Set(GetJob(id).run_at);
  ASSERT_EQ(RunOnce(), 1);
  EXPECT_EQ(StateOf(GetJob(id)), "done");
  EXPECT_EQ(GetJob(id).attempts, 1);
  EXPECT_EQ(calls, 11);
}

TEST_F(RunnerTest, TechnicalFailureWhileTheLaneIsShutIsHeldNotCounted) {
  bool open = true;
  options_.lanes = {{.name = "erp",
                     .kinds = {"erp"},
                     .workers = 1,
                     .gate = [&]() -> LaneGate {
                       return open ? LaneGate{} : LaneGate{0, "circuit_open"};
                     }},
                    {.name = "core", .workers = 1}};
  handlers_.Register("erp", [&](JobContext&) -> absl::Status {
    open = false;  // this very failure opened the circuit
    return absl::UnavailableError("503 Service Unavailable");
  });
  handlers_.Register("local", [&](JobContext&) -> absl::Status {
    return absl::UnavailableError("disk busy");
  });
  const int64_t erp = Enqueue("erp", "", "{}", /*max_attempts=*/1);
  const int64_t local = Enqueue("local", "", "{}", /*max_attempts=*/1);
  ASSERT_EQ(RunOnce(), 2);
  EXPECT_EQ(StateOf(GetJob(erp)), "queued");
  EXPECT_EQ(GetJob(erp).attempts, 0);
  // The core lane has no gate: its failure counts, and it was the last attempt.
  EXPECT_EQ(StateOf(GetJob(local)), "dead");
  EXPECT_EQ(GetJob(local).dead_reason, "max_attempts");
}

TEST_F(RunnerTest, BusinessErrorsAreNotHeldByAShutLane) {
  options_.lanes = {{.name = "erp",
                     .kinds = {"erp"},
                     .workers = 1,
                     .gate = [] { return LaneGate{0, "paused"}; }}};
  handlers_.Register("erp", [](JobContext&) -> absl::Status {
    return absl::FailedPreconditionError("unknown SKU");
  });
  const int64_t id = Enqueue("erp");
  ASSERT_EQ(RunOnce(), 1);
  EXPECT_EQ(StateOf(GetJob(id)), "dead");
  EXPECT_EQ(GetJob(id).dead_reason, "business");
}

TEST_F(RunnerTest, LaneRetryPolicyOverridesTheDefault) {
  RetryPolicy lane_policy;
  lane_policy.base = absl::Milliseconds(10);
  lane_policy.cap = absl::Milliseconds(10);
  options_.policy.base = absl::Hours(1);
  options_.policy.cap = absl::Hours(1);
  options_.lanes = {{.name = "erp", .kinds = {"erp"}, .workers = 1, .policy = lane_policy},
                    {.name = "core", .workers = 1}};
  handlers_.Register("erp", [](JobContext&) { return absl::UnavailableError("503"); });
  const int64_t id = Enqueue("erp");
  ASSERT_EQ(RunOnce(), 1);
  EXPECT_LE(GetJob(id).run_at - clock_.Now(), absl::Milliseconds(10));
}

// Real threads, bounded waits: a shut lane holds its jobs while another lane runs; opening it
// runs them; a half-open lane (admit 1) never has two jobs running at once.
TEST(RunnerLanesThreadedTest, ShutLaneHoldsItsJobsWhileOthersRunThenDrainsOneAtATime) {
  keelson::testing::TempDir dir;  // removed with its files when the test ends
  KEELSON_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<store::Store> st,
      store::OpenSqliteStore(store::SqliteOptions{.path = dir.File("jobs.db")}));
  constexpr int kEach = 12;
  KEELSON_ASSERT_OK(st->Transact(absl::Now(), [&](store::Tx& tx) -> absl::Status {
    for (int i = 0; i < kEach; ++i) {
      for (const char* kind : {"erp", "local"}) {
        NewJob job;
        job.kind = kind;
        job.max_attempts = 1;
        job.payload = "{}";
        if (auto r = tx.EnqueueJob(job); !r.ok()) return r.status();
      }
    }
    return absl::OkStatus();
  }));

  std::atomic<int> admit{0};
  std::atomic<int> erp_running{0}, erp_max_running{0}, erp_done{0}, local_done{0};
  HandlerRegistry handlers;
  handlers.Register("erp", [&](JobContext&) -> absl::Status {
    const int now_running = ++erp_running;
    int seen = erp_max_running.load();
    while (now_running > seen && !erp_max_running.compare_exchange_weak(seen, now_running)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --erp_running;
    ++erp_done;
    return absl::OkStatus();
  });
  handlers.Register("local", [&](JobContext&) -> absl::Status {
    ++local_done;
    return absl::OkStatus();
  });
  RunnerOptions o;
  o.poll_interval = absl::Milliseconds(10);
  o.lanes = {{.name = "erp",
              .kinds = {"erp"},
              .workers = 4,
              .gate = [&]() -> LaneGate {
                const int a = admit.load();
                return a < 0 ? LaneGate{} : LaneGate{a, a == 0 ? "paused" : ""};
              }},
             {.name = "core", .workers = 2}};
  Runner runner(st.get(), core::Clock::Real(), &handlers, o);
  runner.Start();
  auto wait_for = [](const std::function<bool()>& pred) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  };
  ASSERT_TRUE(wait_for([&] { return local_done.load() == kEach; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several dispatch rounds
  EXPECT_EQ(erp_done.load(), 0);
  store::JobFilter queued;
  queued.state = JobState::kQueued;
  queued.kind = "erp";
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> held, st->ListJobs(queued));
  EXPECT_EQ(held.size(), static_cast<size_t>(kEach));

  admit = 1;  // half-open: one at a time
  runner.Notify();
  ASSERT_TRUE(wait_for([&] { return erp_done.load() == kEach; }));
  runner.Stop();
  EXPECT_EQ(erp_max_running.load(), 1);
  store::JobFilter done;
  done.state = JobState::kDone;
  done.limit = 1000;
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> finished, st->ListJobs(done));
  EXPECT_EQ(finished.size(), static_cast<size_t>(2 * kEach));
}

// Real threads: a handler that runs 2.5 times its lease keeps the job (the dispatcher's
// heartbeat renews the lease), so another node polling meanwhile never takes it over.
TEST(RunnerHeartbeatTest, ASlowHandlerKeepsItsLease) {
  keelson::testing::TempDir dir;  // removed with its files when the test ends
  KEELSON_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<store::Store> st,
      store::OpenSqliteStore(store::SqliteOptions{.path = dir.File("jobs.db")}));
  const int64_t id = keelson::testing::EnqueueJob(*st, absl::Now(),
                                                  NewJob{.kind = "slow", .payload = "{}"});
  std::atomic<int> calls{0};
  HandlerRegistry handlers;
  handlers.Register("slow", [&](JobContext&) -> absl::Status {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(5000));
    return absl::OkStatus();
  });
  RunnerOptions o;
  o.workers = 1;
  // Renewed with half a lease (1 s) to spare: room for a slow disk under a loaded machine (500 ms
  // was seen to fall short with two compilers and a fuzzer on the two cores).
  o.lease = absl::Milliseconds(2000);
  o.poll_interval = absl::Milliseconds(20);
  Runner runner(st.get(), core::Clock::Real(), &handlers, o);
  runner.Start();
  // The other node starts polling once the runner holds the job (before that it would simply
  // win the first claim, which is not what this test is about).
  for (int i = 0; i < 400 && calls.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(calls.load(), 1);
  int stolen = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    KEELSON_ASSERT_OK_AND_ASSIGN(Job job, st->GetJob(id));
    if (job.state == JobState::kDone) break;
    auto other = st->ClaimJobs("other-node", absl::Now(), absl::Seconds(30), 10);
    ASSERT_TRUE(other.ok()) << other.status();
    stolen += static_cast<int>(other->size());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  runner.Stop();
  EXPECT_EQ(stolen, 0);
  EXPECT_EQ(calls.load(), 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(Job job, st->GetJob(id));
  EXPECT_EQ(StateOf(job), "done");
  EXPECT_EQ(job.attempts, 1);
}

// Real threads and real time, bounded by a 20 s wait.
TEST(RunnerThreadedTest, FourWorkersKeepPartitionsSerialAndOrdered) {
  keelson::testing::TempDir dir;  // removed with its files when the test ends
  KEELSON_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<store::Store> st,
      store::OpenSqliteStore(store::SqliteOptions{.path = dir.File("jobs.db")}));

  constexpr int kJobs = 200;
  constexpr int kPartitions = 10;
  KEELSON_ASSERT_OK(st->Transact(absl::Now(), [&](store::Tx& tx) -> absl::Status {
    for (int i = 0; i < kJobs; ++i) {
      NewJob job;
      job.kind = "seq";
      job.partition_key = absl::StrCat("p", i % kPartitions);
      job.payload = absl::StrCat(i / kPartitions);
      if (auto r = tx.EnqueueJob(job); !r.ok()) return r.status();
    }
    return absl::OkStatus();
  }));

  std::mutex mu;
  std::set<std::string> in_flight;
  std::map<std::string, std::vector<int>> runs;
  int overlaps = 0;
  int bad_payloads = 0;
  HandlerRegistry handlers;
  handlers.Register("seq", [&](JobContext& ctx) {
    const std::string& p = ctx.job.partition_key;
    int seq = -1;
    const std::string& payload = ctx.job.payload;
    auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), seq);
    {
      std::lock_guard<std::mutex> l(mu);
      if (ec != std::errc() || end != payload.data() + payload.size()) ++bad_payloads;
      if (!in_flight.insert(p).second) ++overlaps;
    }
    std::this_thread::yield();  // widen the window in which an overlap would be seen
    {
      std::lock_guard<std::mutex> l(mu);
      runs[p].push_back(seq);
      in_flight.erase(p);
    }
    return absl::OkStatus();
  });

  RunnerOptions options;
  options.workers = 4;
  options.poll_interval = absl::Milliseconds(20);
  options.owner = "smoke";
  Runner runner(st.get(), core::Clock::Real(), &handlers, options);
  runner.Start();
  runner.Notify();
  store::JobStats stats;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (absl::Now() < give_up) {
    absl::StatusOr<store::JobStats> s = st->GetJobStats(absl::Now());
    ASSERT_TRUE(s.ok()) << s.status();
    stats = *s;
    if (stats.done == kJobs) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  runner.Stop();

  EXPECT_EQ(stats.done, kJobs);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.dead, 0);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(bad_payloads, 0);
  EXPECT_TRUE(in_flight.empty());
  ASSERT_EQ(runs.size(), static_cast<size_t>(kPartitions));
  std::vector<int> expected(kJobs / kPartitions);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
  for (const auto& [partition, seqs] : runs) {
    EXPECT_THAT(seqs, ElementsAreArray(expected)) << partition;
  }
}

// ---- retry policy --------------------------------------------------------------------------

TEST(RetryPolicyTest, CeilingDoublesFromBaseUpToCap) {
  RetryPolicy p;
  p.base = absl::Seconds(1);
  p.cap = absl::Seconds(60);
  std::vector<int64_t> seconds;
  for (int n = 1; n <= 8; ++n) seconds.push_back(absl::ToInt64Seconds(p.Ceiling(n)));
  EXPECT_THAT(seconds, ElementsAre(1, 2, 4, 8, 16, 32, 60, 60));
  EXPECT_EQ(p.Ceiling(1000), absl::Seconds(60));  // no overflow for absurd attempt counts
  EXPECT_EQ(p.Ceiling(7), absl::Seconds(60));
}

TEST(RetryPolicyTest, NextDelayIsJitteredWithinCeiling) {
  RetryPolicy p;
  p.base = absl::Seconds(1);
  p.cap = absl::Seconds(60);
  std::mt19937_64 gen(20260101);
  for (int n = 1; n <= 8; ++n) {
    const absl::Duration ceiling = p.Ceiling(n);
    std::set<int64_t> distinct;
    for (int i = 0; i < 1000; ++i) {
      const absl::Duration d = p.NextDelay(n, gen);
      ASSERT_GE(d, absl::ZeroDuration()) << "attempt " << n;
      ASSERT_LE(d, ceiling) << "attempt " << n;
      distinct.insert(absl::ToInt64Milliseconds(d));
    }
    // Full jitter: the draws spread over the range rather than sitting on the ceiling.
    EXPECT_GT(distinct.size(), 100u) << "attempt " << n;
  }
}

TEST(RetryPolicyTest, NextDelayRespectsTheFloor) {
  RetryPolicy p;
  p.base = absl::Seconds(1);
  p.cap = absl::Seconds(60);
  std::mt19937_64 gen(7);
  bool above_floor = false;
  for (int i = 0; i < 1000; ++i) {
    // A floor above the ceiling wins outright.
    ASSERT_EQ(p.NextDelay(1, gen, absl::Seconds(5)), absl::Seconds(5));
    ASSERT_EQ(p.NextDelay(20, gen, absl::Seconds(120)), absl::Seconds(120));
    // A floor inside the range clips the low draws only.
    const absl::Duration d = p.NextDelay(6, gen, absl::Seconds(10));
    ASSERT_GE(d, absl::Seconds(10));
    ASSERT_LE(d, absl::Seconds(32));
    above_floor |= d > absl::Seconds(10);
  }
  EXPECT_TRUE(above_floor);
}

TEST(RetryPolicyTest, ClassifyFollowsTheConventions) {
  using absl::StatusCode;
  for (StatusCode c : {StatusCode::kUnavailable, StatusCode::kDeadlineExceeded,
                       StatusCode::kResourceExhausted, StatusCode::kAborted, StatusCode::kInternal,
                       StatusCode::kUnknown, StatusCode::kCancelled, StatusCode::kUnimplemented}) {
    EXPECT_EQ(Classify(absl::Status(c, "x")), FailureClass::kRetryable)
        << absl::StatusCodeToString(c);
  }
  for (StatusCode c :
       {StatusCode::kInvalidArgument, StatusCode::kFailedPrecondition, StatusCode::kNotFound,
        StatusCode::kAlreadyExists, StatusCode::kPermissionDenied, StatusCode::kUnauthenticated,
        StatusCode::kOutOfRange}) {
    EXPECT_EQ(Classify(absl::Status(c, "x")), FailureClass::kBusiness)
        << absl::StatusCodeToString(c);
  }
  EXPECT_EQ(Classify(absl::DataLossError("x")), FailureClass::kPoison);
  EXPECT_EQ(FailureClassName(FailureClass::kRetryable), "retryable");
  EXPECT_EQ(FailureClassName(FailureClass::kBusiness), "business");
  EXPECT_EQ(FailureClassName(FailureClass::kPoison), "poison");
}

TEST(RetryPolicyTest, RetryAfterRoundTrips) {
  absl::Status s = WithRetryAfter(absl::UnavailableError("429"), absl::Seconds(120));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "429");
  ASSERT_TRUE(RetryAfterOf(s).has_value());
  EXPECT_EQ(*RetryAfterOf(s), absl::Seconds(120));
  EXPECT_FALSE(RetryAfterOf(absl::UnavailableError("503")).has_value());
}

// ---- scheduler -----------------------------------------------------------------------------

class SchedulerTest : public RunnerTest {
 protected:
  size_t JobsOfKind(const std::string& kind) {
    absl::StatusOr<std::vector<Job>> jobs = store_->ListJobs({.kind = kind, .limit = 1000});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? jobs->size() : 0;
  }
  static NewJob JobOfKind(std::string kind) {
    NewJob job;
    job.kind = std::move(kind);
    job.payload = "{}";
    return job;
  }
};

TEST_F(SchedulerTest, TickFiresOncePerInterval) {
  Scheduler scheduler(store_.get(), &clock_);
  scheduler.Add("stock", absl::Minutes(5), JobOfKind("sync.stock"));
  scheduler.Add("prices", absl::Minutes(7), JobOfKind("sync.prices"));
  const absl::Time t0 = clock_.Now();
  KEELSON_ASSERT_OK_AND_ASSIGN(int fired, scheduler.Tick());
  EXPECT_EQ(fired, 2);  // new schedules fire at once
  KEELSON_ASSERT_OK_AND_ASSIGN(fired, scheduler.Tick());
  EXPECT_EQ(fired, 0);  // same instant: slot already taken

  // Tick every 30 s for 3.5 stock intervals after the first tick.
  int total = 2;
  while (clock_.Now() < t0 + absl::Seconds(1050)) {
    clock_.Advance(absl::Seconds(30));
    KEELSON_ASSERT_OK_AND_ASSIGN(int n, scheduler.Tick());
    total += n;
  }
  EXPECT_EQ(clock_.Now(), t0 + absl::Minutes(17) + absl::Seconds(30));
  EXPECT_EQ(JobsOfKind("sync.stock"), 4u);   // at 0, 5, 10, 15 min
  EXPECT_EQ(JobsOfKind("sync.prices"), 3u);  // at 0, 7, 14 min
  EXPECT_EQ(total, 7);
}

TEST_F(SchedulerTest, TwoNodesShareEachSlot) {
  Scheduler node1(store_.get(), &clock_);
  Scheduler node2(store_.get(), &clock_);
  node1.Add("stock", absl::Minutes(5), JobOfKind("sync.stock"));
  node2.Add("stock", absl::Minutes(5), JobOfKind("sync.stock"));
  for (int slot = 0; slot < 4; ++slot) {
    KEELSON_ASSERT_OK_AND_ASSIGN(int a, node1.Tick());
    KEELSON_ASSERT_OK_AND_ASSIGN(int b, node2.Tick());
    EXPECT_EQ(a + b, 1) << "slot " << slot;
    clock_.Advance(absl::Minutes(5));
  }
  EXPECT_EQ(JobsOfKind("sync.stock"), 4u);
}

}  // namespace
}  // namespace keelson::jobs

namespace keelson::jobs {
namespace {

// Effects deferred by a handler commit with the job's outcome: visible after a success, applied
// with a dead letter too, and a failing effect turns the attempt into a retry without any write.
class DeferredEffectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore(store::SqliteOptions{.path = ":memory:"});
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    options_.owner = "w";
  }
  int64_t Enqueue(const std::string& kind) {
    return keelson::testing::EnqueueJob(*store_, clock_.Now(), {.kind = kind, .payload = "{}"});
  }
  size_t Timeline(const std::string& entity) {
    return store_->ListTimeline(entity, 100)->size();
  }
  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  HandlerRegistry handlers_;
  RunnerOptions options_;
};

TEST_F(DeferredEffectsTest, EffectsCommitWithTheOutcome) {
  handlers_.Register("ok", [](JobContext& ctx) {
    ctx.Defer([](store::Tx& tx) {
      return tx.AppendTimeline({.entity = "e:ok", .correlation_id = "c", .kind = "done"});
    });
    return absl::OkStatus();
  });
  handlers_.Register("poison", [](JobContext& ctx) {
    ctx.Defer([](store::Tx& tx) {
      return tx.AppendTimeline({.entity = "e:poison", .correlation_id = "c", .kind = "rejected"});
    });
    return absl::DataLossError("unreadable");
  });
  handlers_.Register("bad-effect", [](JobContext& ctx) {
    ctx.Defer([](store::Tx& tx) {
      if (auto s = tx.AppendTimeline({.entity = "e:bad", .correlation_id = "c", .kind = "x"});
          !s.ok()) {
        return s;
      }
      return tx.SetDeliveryStatus(424242, "processed", "");  // no such delivery: kNotFound
    });
    return absl::OkStatus();
  });
  const int64_t ok = Enqueue("ok"), poison = Enqueue("poison"), bad = Enqueue("bad-effect");
  Runner runner(store_.get(), &clock_, &handlers_, options_);
  ASSERT_EQ(*runner.RunOnce(), 3);

  EXPECT_EQ(store_->GetJob(ok)->state, store::JobState::kDone);
  EXPECT_EQ(Timeline("e:ok"), 1u);
  EXPECT_EQ(store_->GetJob(poison)->state, store::JobState::kDead);
  EXPECT_EQ(store_->GetJob(poison)->dead_reason, "poison");
  EXPECT_EQ(Timeline("e:poison"), 1u);
  auto b = *store_->GetJob(bad);
  EXPECT_EQ(b.state, store::JobState::kQueued);  // retried, not done
  EXPECT_NE(b.last_error.find("recording the job's effects failed"), std::string::npos)
      << b.last_error;
  EXPECT_EQ(Timeline("e:bad"), 0u);  // the partial effect was rolled back
}

TEST_F(DeferredEffectsTest, EffectsOfAWorkerThatLostItsLeaseAreNotApplied) {
  const int64_t id = Enqueue("k");
  auto claimed = store_->ClaimJobs("w1", clock_.Now(), absl::Seconds(30), 10);
  ASSERT_EQ(claimed->size(), 1u);
  clock_.Advance(absl::Seconds(31));
  ASSERT_EQ(store_->ClaimJobs("w2", clock_.Now(), absl::Seconds(30), 10)->size(), 1u);

  std::vector<store::JobOutcome> late(1);
  late[0] = {.job_id = id, .owner = "w1", .kind = store::JobOutcome::Kind::kDone,
             .effects = [](store::Tx& tx) {
               return tx.AppendTimeline({.entity = "e:late", .correlation_id = "c", .kind = "x"});
             }};
  std::vector<store::JobOutcome> current(1);
  current[0] = {.job_id = id, .owner = "w2", .kind = store::JobOutcome::Kind::kDone,
                .effects = [](store::Tx& tx) {
                  return tx.AppendTimeline(
                      {.entity = "e:current", .correlation_id = "c", .kind = "x"});
                }};
  auto r1 = store_->RecordOutcomes(late, clock_.Now());
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ((*r1)[0].code(), absl::StatusCode::kFailedPrecondition);
  auto r2 = store_->RecordOutcomes(current, clock_.Now());
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE((*r2)[0].ok());
  EXPECT_EQ(Timeline("e:late"), 0u);
  EXPECT_EQ(Timeline("e:current"), 1u);
  EXPECT_EQ(store_->GetJob(id)->state, store::JobState::kDone);
}

}  // namespace
}  // namespace keelson::jobs
