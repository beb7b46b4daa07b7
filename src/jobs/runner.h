#pragma once
// The durable job runner: claims due jobs from the Store under a lease, runs the registered
// handler for each job's kind, and records the outcome — done, retry later (exponential backoff
// with full jitter, Retry-After honoured, bounded by max attempts and a deadline), or dead letter
// (business error, poison payload, attempts or deadline exhausted). Handlers never retry or sleep
// themselves; they return a Status and the runner decides (see retry_policy.h).
//
// Ordering: the Store only hands out the first unfinished job of a partition, so two jobs with
// one partition key never run at once and run in enqueue order.
//
// Thread-safety: Start/Stop/Notify from any thread. RunOnce is for tests and must not be mixed
// with Start on the same Runner.

#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "jobs/retry_policy.h"
#include "store/store.h"

namespace keelson::obs {
class Registry;
class Counter;
class Histogram;
}  // namespace keelson::obs

namespace keelson::jobs {

struct JobContext {
  const store::Job& job;
  store::Store& store;
  const core::Clock& clock;
  // Local writes recorded in the same commit as this attempt's outcome (whatever it is), and
  // only if the worker still holds the job's lease: so a state change and "job done" are one
  // atomic step, and the runner writes many jobs' outcomes in one group commit.
  std::vector<std::function<absl::Status(store::Tx&)>> effects;
  void Defer(std::function<absl::Status(store::Tx&)> fn) { effects.push_back(std::move(fn)); }
};

using JobHandler = std::function<absl::Status(JobContext&)>;

// An attempt that may follow an earlier one whose outcome nobody saw (a retry, a lease that
// expired under a crashed worker, a replay of a dead letter): handlers look an effect up before
// making it again ("verify first").
inline bool MayHaveRunBefore(const store::Job& job) {
  return job.attempts > 1 || !job.last_error.empty();
}

// Kind -> handler. Filled once at start-up (explicit registration in app/), then read-only.
class HandlerRegistry {
 public:
  void Register(std::string kind, JobHandler handler) {
    handlers_[std::move(kind)] = std::move(handler);
  }
  const JobHandler* Find(std::string_view kind) const {
    auto it = handlers_.find(absl::string_view(kind.data(), kind.size()));
    return it == handlers_.end() ? nullptr : &it->second;
  }

 private:
  absl::flat_hash_map<std::string, JobHandler> handlers_;
};

// What a lane may start now, asked before every claim (see LaneOptions::gate).
struct LaneGate {
  // How many jobs of the lane may be running at once from now on: 0 holds the lane (its
  // connector is paused, or its circuit is open), 1 lets one probe through a half-open circuit.
  int admit = std::numeric_limits<int>::max();
  std::string held_by;  // why it admits nothing: "paused", "circuit_open" (for logs and metrics)
};

// A lane is a bulkhead: its own workers, claiming only its job kinds, so one slow or dead
// remote system holds its own jobs and never the others' workers.
struct LaneOptions {
  std::string name;                // "erp", "woocommerce", "core"
  std::vector<std::string> kinds;  // job kinds it runs; empty = every kind no other lane lists
  int workers = 4;
  // Asked before each claim and after each technical failure; empty = always open. A failed
  // attempt that ends while the gate admits nothing, or whose status core::WasNotAttempted,
  // is put back without counting the attempt: jobs wait out an outage instead of burning
  // through max_attempts.
  std::function<LaneGate()> gate;
  // This lane's backoff shape (a remote's own retry schedule); empty = RunnerOptions::policy.
  std::optional<RetryPolicy> policy;
};

struct RunnerOptions {
  int workers = 8;  // with no lanes: one lane "default" of this many workers
  absl::Duration lease = absl::Seconds(30);
  absl::Duration poll_interval = absl::Milliseconds(200);
  int claim_batch = 64;
  RetryPolicy policy;     // backoff shape; max attempts and deadline come from each job's row
  std::string owner;      // lease owner id; generated when empty
  // At most one lane may leave `kinds` empty (it takes every other kind); if none does, kinds no
  // lane lists are never claimed. Empty = one lane of `workers` for every kind.
  std::vector<LaneOptions> lanes;
  // How long a job whose attempt did not count waits before it may be claimed again (the gate
  // decides when it actually runs).
  absl::Duration held_retry = absl::Seconds(1);
};

// What happened to one attempt (returned by RunOnce for tests and logged by the runner).
enum class Outcome { kDone, kRetry, kDead, kLeaseLost };

class Runner {
 public:
  Runner(store::Store* store, const core::Clock* clock, const HandlerRegistry* handlers,
         RunnerOptions options, obs::Registry* metrics = nullptr);
  ~Runner();

  // Claims due jobs and runs them on the calling thread, one after another, recording each
  // outcome before the next. Returns how many ran.
  absl::StatusOr<int> RunOnce(int max = 1000);

  void Start();
  // Stops claiming, lets running jobs finish, joins the threads. Idempotent.
  void Stop();
  // New work may be due now (called after an enqueue): wakes the dispatcher.
  void Notify();

  const std::string& owner() const { return options_.owner; }

 private:
  struct Lane {
    LaneOptions options;
    store::ClaimFilter filter;
    std::deque<store::Job> ready;
    int busy = 0;
    bool full = false;  // the last claim filled every free slot: claim again as soon as one frees
    std::vector<std::thread> threads;
    obs::Counter* m_held = nullptr;
  };

  // Runs the handler and decides the outcome; records nothing.
  store::JobOutcome Execute(const store::Job& job, Lane* lane);
  // Writes outcomes in one commit; metrics and logs. Returns what happened to each.
  std::vector<Outcome> Record(std::vector<store::JobOutcome>& outcomes,
                              const std::vector<store::Job>& jobs);
  Lane* LaneFor(std::string_view kind);
  void DispatchLoop();
  // Extends the leases of jobs in hand that run out within half a lease.
  void RenewLeases();
  void WorkerLoop(Lane* lane);
  void CompleterLoop();

  store::Store* store_;
  const core::Clock* clock_;
  const HandlerRegistry* handlers_;
  RunnerOptions options_;
  std::vector<std::unique_ptr<Lane>> lanes_;

  std::mutex mu_;
  std::condition_variable dispatch_cv_;
  std::condition_variable work_cv_;
  bool notified_ = false;
  bool stopping_ = false;
  bool started_ = false;
  std::thread dispatcher_;
  std::thread completer_;
  // Jobs in hand (claimed, running, or waiting for their outcome's commit) -> when their lease
  // runs out. The dispatcher renews those within half a lease of it (the heartbeat), so a slow
  // handler is never run a second time next to itself.
  absl::flat_hash_map<int64_t, absl::Time> leases_;
  // Outcomes waiting for the completer's next commit, with the jobs they belong to.
  std::vector<store::JobOutcome> finished_;
  std::vector<store::Job> finished_jobs_;
  std::condition_variable completer_cv_;
  bool completer_stop_ = false;

  std::mutex gen_mu_;
  absl::BitGen gen_;

  obs::Counter* m_done_ = nullptr;
  obs::Counter* m_retries_ = nullptr;
  obs::Counter* m_claim_errors_ = nullptr;
  obs::Histogram* m_duration_ = nullptr;
  obs::Registry* metrics_ = nullptr;
};

}  // namespace keelson::jobs
