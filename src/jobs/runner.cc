#include "jobs/runner.h"
#include "core/thread_name.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "core/ids.h"
#include "core/status_payloads.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::jobs {
namespace {
constexpr int kClaimAhead = 2;

std::string Truncate(std::string_view s, size_t n = 2000) {
  return std::string(s.size() > n ? s.substr(0, n) : s);
}
}  // namespace

Runner::Runner(store::Store* store, const core::Clock* clock, const HandlerRegistry* handlers,
               RunnerOptions options, obs::Registry* metrics)
    : store_(store),
      clock_(clock),
      handlers_(handlers),
      options_(std::move(options)),
      metrics_(metrics) {
  if (options_.owner.empty()) options_.owner = core::NewInstanceId("worker");
  if (options_.lanes.empty()) {
    options_.lanes.push_back({.name = "default", .workers = options_.workers});
  }
  // The catch-all lane (empty kinds) claims every kind the other lanes do not list.
  std::vector<std::string> listed;
  for (const LaneOptions& lo : options_.lanes) {
    listed.insert(listed.end(), lo.kinds.begin(), lo.kinds.end());
  }
  for (const LaneOptions& lo : options_.lanes) {
    auto lane = std::make_unique<Lane>();
    lane->options = lo;
    lane->options.workers = std::max(1, lo.workers);
    if (lo.kinds.empty()) {
      lane->filter = {.kinds = listed, .exclude = true};
    } else {
      lane->filter = {.kinds = lo.kinds, .exclude = false};
    }
    if (metrics_) {
      lane->m_held = metrics_->GetCounter(
          "keelson_jobs_not_attempted_total",
          "Job attempts put back uncounted: the lane's connector was paused or its circuit open.",
          {{"lane", lo.name}});
    }
    lanes_.push_back(std::move(lane));
  }
  if (metrics_) {
    m_done_ = metrics_->GetCounter("keelson_jobs_completed_total", "Jobs completed successfully.");
    m_retries_ = metrics_->GetCounter("keelson_jobs_retries_total",
                                      "Failed job attempts scheduled for another try.");
    m_claim_errors_ = metrics_->GetCounter("keelson_jobs_claim_errors_total",
                                           "Store errors while claiming jobs.");
    m_duration_ = metrics_->GetHistogram("keelson_job_duration_seconds",
                                         "Time spent in job handlers.",
                                         obs::LatencyBucketsSeconds());
  }
}

Runner::~Runner() { Stop(); }

Runner::Lane* Runner::LaneFor(std::string_view kind) {
  Lane* catch_all = nullptr;
  for (auto& lane : lanes_) {
    if (lane->options.kinds.empty()) {
      catch_all = lane.get();
      continue;
    }
    for (const std::string& k : lane->options.kinds) {
      if (k == kind) return lane.get();
    }
  }
  return catch_all;
}

store::JobOutcome Runner::Execute(const store::Job& job, Lane* lane) {
  const absl::Time started = clock_->Now();
  absl::Status result;
  store::JobOutcome out;
  out.job_id = job.id;
  out.owner = options_.owner;
  const JobHandler* handler = handlers_->Find(job.kind);
  if (handler == nullptr) {
    result = absl::DataLossError(absl::StrCat("no handler registered for job kind \"", job.kind,
                                              "\""));
  } else if (started > job.deadline_at) {
    result = absl::DeadlineExceededError("job deadline passed before it could run");
  } else {
    JobContext ctx{job, *store_, *clock_, {}};
    try {
      result = (*handler)(ctx);
    } catch (const std::exception& e) {
      // Handlers should not throw; a third-party exception that escapes is a bug, not a reason
      // to lose the job: keep it retryable and visible.
      result = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
    } catch (...) {
      result = absl::InternalError("handler threw a non-standard exception");
    }
    if (!ctx.effects.empty()) {
      out.effects = [effects = std::move(ctx.effects)](store::Tx& tx) -> absl::Status {
        for (const auto& fn : effects) {
          if (absl::Status s = fn(tx); !s.ok()) return s;
        }
        return absl::OkStatus();
      };
    }
  }
  const absl::Time now = clock_->Now();
  if (m_duration_) m_duration_->Observe(absl::ToDoubleSeconds(now - started));
  if (result.ok()) {
    out.kind = store::JobOutcome::Kind::kDone;
    return out;
  }
  out.error = Truncate(result.ToString(absl::StatusToStringMode::kWithNoExtraData));
  const FailureClass cls = Classify(result);
  if (cls == FailureClass::kRetryable && lane != nullptr) {
    // Not the job's fault: the remote was never reached, or the lane was shut while it ran (an
    // outage opened the circuit, an operator paused the connector). Wait without counting.
    bool held = core::WasNotAttempted(result);
    if (!held && lane->options.gate) held = lane->options.gate().admit == 0;
    if (held) {
      out.run_at = now + std::max(options_.held_retry,
                                  RetryAfterOf(result).value_or(absl::ZeroDuration()));
      if (out.run_at <= job.deadline_at) {
        out.kind = store::JobOutcome::Kind::kRetry;
        out.not_attempted = true;
        if (lane->m_held) lane->m_held->Inc();
        return out;
      }
    }
  }
  std::string reason;
  if (cls == FailureClass::kPoison) {
    reason = "poison";
  } else if (cls == FailureClass::kBusiness) {
    reason = "business";
  } else if (job.attempts >= job.max_attempts) {
    reason = "max_attempts";
  } else if (result.code() == absl::StatusCode::kDeadlineExceeded && now > job.deadline_at) {
    reason = "deadline";
  }
  if (reason.empty()) {
    absl::Duration floor = RetryAfterOf(result).value_or(absl::ZeroDuration());
    {
      std::lock_guard<std::mutex> l(gen_mu_);
      const RetryPolicy& policy =
          lane != nullptr && lane->options.policy ? *lane->options.policy : options_.policy;
      out.run_at = now + policy.NextDelay(job.attempts, gen_, floor);
    }
    if (out.run_at > job.deadline_at) reason = "deadline";
  }
  if (reason.empty()) {
    out.kind = store::JobOutcome::Kind::kRetry;
  } else {
    out.kind = store::JobOutcome::Kind::kDead;
    out.dead_reason = reason;
  }
  return out;
}

std::vector<Outcome> Runner::Record(std::vector<store::JobOutcome>& outcomes,
                                    const std::vector<store::Job>& jobs) {
  const absl::Time now = clock_->Now();
  auto recorded = store_->RecordOutcomes(outcomes, now);
  std::vector<Outcome> result;
  result.reserve(outcomes.size());
  for (size_t i = 0; i < outcomes.size(); ++i) {
    store::JobOutcome& o = outcomes[i];
    const store::Job& job = jobs[i];
    absl::Status st = recorded.ok() ? (*recorded)[i] : recorded.status();
    if (st.ok()) {
      switch (o.kind) {
        case store::JobOutcome::Kind::kDone:
          if (m_done_) m_done_->Inc();
          result.push_back(Outcome::kDone);
          break;
        case store::JobOutcome::Kind::kRetry:
          if (m_retries_) m_retries_->Inc();
          obs::LogWarn("job failed, will retry",
                       {{"job_id", job.id},
                        {"kind", job.kind},
                        {"attempt", job.attempts},
                        {"retry_in_ms", absl::ToInt64Milliseconds(o.run_at - now)},
                        {"error", o.error}},
                       job.correlation_id);
          result.push_back(Outcome::kRetry);
          break;
        case store::JobOutcome::Kind::kDead:
          if (metrics_) {
            metrics_
                ->GetCounter("keelson_jobs_dead_lettered_total",
                             "Jobs moved to the dead-letter state.", {{"reason", o.dead_reason}})
                ->Inc();
          }
          obs::LogError("job dead-lettered",
                        {{"job_id", job.id},
                         {"kind", job.kind},
                         {"attempt", job.attempts},
                         {"reason", o.dead_reason},
                         {"error", o.error}},
                        job.correlation_id);
          result.push_back(Outcome::kDead);
          break;
      }
      continue;
    }
    if (st.code() == absl::StatusCode::kFailedPrecondition || !recorded.ok()) {
      // The lease ran out while the handler worked (another worker owns the job now), or the
      // commit failed: the job runs again after its lease; every handler tolerates that
      // (at-least-once).
      obs::LogWarn("job outcome not recorded",
                   {{"job_id", job.id}, {"kind", job.kind}, {"error", st.ToString()}},
                   job.correlation_id);
      result.push_back(Outcome::kLeaseLost);
      continue;
    }
    // The deferred writes failed (the outcome was rolled back with them): a technical failure
    // of this attempt, recorded as such without the writes.
    store::JobOutcome retry;
    retry.job_id = o.job_id;
    retry.owner = o.owner;
    retry.error = Truncate(absl::StrCat("recording the job's effects failed: ", st.ToString()));
    if (job.attempts >= job.max_attempts) {
      retry.kind = store::JobOutcome::Kind::kDead;
      retry.dead_reason = "max_attempts";
    } else {
      retry.kind = store::JobOutcome::Kind::kRetry;
      std::lock_guard<std::mutex> l(gen_mu_);
      retry.run_at = now + options_.policy.NextDelay(job.attempts, gen_);
    }
    std::vector<store::JobOutcome> one;
    one.push_back(std::move(retry));
    std::vector<store::Job> one_job = {job};
    result.push_back(Record(one, one_job)[0]);
  }
  return result;
}

absl::StatusOr<int> Runner::RunOnce(int max) {
  auto jobs = store_->ClaimJobs(options_.owner, clock_->Now(), options_.lease, max);
  if (!jobs.ok()) return jobs.status();
  for (const store::Job& j : *jobs) {
    std::vector<store::JobOutcome> one;
    one.push_back(Execute(j, LaneFor(j.kind)));
    Record(one, {j});
  }
  return static_cast<int>(jobs->size());
}

void Runner::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  for (auto& lane : lanes_) {
    Lane* raw = lane.get();
    for (int i = 0; i < lane->options.workers; ++i) {
      lane->threads.emplace_back([this, raw] {
        core::SetThreadName("kl-worker");
        WorkerLoop(raw);
      });
    }
  }
  completer_stop_ = false;
  completer_ = std::thread([this] {
    core::SetThreadName("kl-complete");
    CompleterLoop();
  });
  dispatcher_ = std::thread([this] {
    core::SetThreadName("kl-dispatch");
    DispatchLoop();
  });
}

void Runner::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  dispatch_cv_.notify_all();
  work_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  for (auto& lane : lanes_) {
    for (auto& t : lane->threads) t.join();
    lane->threads.clear();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    completer_stop_ = true;  // after the workers: their last outcomes are still recorded
  }
  completer_cv_.notify_all();
  if (completer_.joinable()) completer_.join();
  std::lock_guard<std::mutex> l(mu_);
  // Jobs claimed but never started keep their lease and return to the queue when it expires.
  for (auto& lane : lanes_) {
    lane->ready.clear();
    lane->busy = 0;
  }
  leases_.clear();
  started_ = false;
}

void Runner::Notify() {
  {
    std::lock_guard<std::mutex> l(mu_);
    notified_ = true;
  }
  dispatch_cv_.notify_one();
}

void Runner::DispatchLoop() {
  // Claim ahead of the workers: a claim is a durable commit, so handing out a few jobs per
  // worker per claim keeps the workers busy while the next claim waits for the store.
  while (true) {
    bool claimed_any_full = false;
    for (auto& lane_ptr : lanes_) {
      Lane& lane = *lane_ptr;
      const int capacity = lane.options.workers * kClaimAhead;
      int want;
      int in_hand;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stopping_) return;
        in_hand = lane.busy + static_cast<int>(lane.ready.size());
        want = capacity - in_hand;
        lane.full = false;
      }
      if (want <= 0) continue;
      if (lane.options.gate) {
        // Asked outside the lock: a gate may read a cached store flag or an endpoint's state.
        const LaneGate gate = lane.options.gate();
        if (gate.admit != std::numeric_limits<int>::max()) {
          want = std::min(want, gate.admit - in_hand);
        }
        if (want <= 0) continue;
      }
      want = std::min(want, options_.claim_batch);
      auto jobs = store_->ClaimJobs(options_.owner, clock_->Now(), options_.lease, want,
                                    lane.filter);
      if (!jobs.ok()) {
        if (m_claim_errors_) m_claim_errors_->Inc();
        obs::LogWarn("claiming jobs failed",
                     {{"lane", lane.options.name}, {"error", jobs.status().ToString()}});
        continue;
      }
      if (jobs->empty()) continue;
      std::lock_guard<std::mutex> l(mu_);
      for (auto& j : *jobs) {
        leases_[j.id] = j.lease_expires_at;
        lane.ready.push_back(std::move(j));
      }
      if (static_cast<int>(jobs->size()) == want) {
        lane.full = true;
        claimed_any_full = true;
      }
    }
    work_cv_.notify_all();
    RenewLeases();
    std::unique_lock<std::mutex> l(mu_);
    if (stopping_) return;
    // A lane that got all it asked for may have more due: claim again as soon as one of its
    // workers frees a slot. Otherwise nothing more is due: sleep until new work is announced or
    // the poll interval passes (retries, schedules and closed gates change with time, not with
    // a notification).
    auto lane_has_room = [&] {
      for (auto& lane : lanes_) {
        if (lane->full &&
            lane->busy + static_cast<int>(lane->ready.size()) <
                lane->options.workers * kClaimAhead) {
          return true;
        }
      }
      return false;
    };
    dispatch_cv_.wait_for(l, absl::ToChronoMilliseconds(options_.poll_interval), [&] {
      return stopping_ || notified_ || (claimed_any_full && lane_has_room());
    });
    if (stopping_) return;
    notified_ = false;
  }
}

void Runner::RenewLeases() {
  const absl::Time now = clock_->Now();
  std::vector<int64_t> due;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, expires] : leases_) {
      if (expires - now < options_.lease / 2) due.push_back(id);
    }
  }
  if (due.empty()) return;
  const absl::Time until = now + options_.lease;
  auto lost = store_->ExtendLeases(due, options_.owner, until);
  if (!lost.ok()) {
    obs::LogWarn("renewing job leases failed", {{"jobs", due.size()},
                                                {"error", lost.status().ToString()}});
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  for (int64_t id : due) {
    auto it = leases_.find(id);
    if (it != leases_.end()) it->second = until;
  }
  for (int64_t id : *lost) {
    // Another worker owns it now; this worker's outcome will be fenced off when recorded.
    obs::LogWarn("job lease lost before renewal", {{"job_id", id}});
  }
}

void Runner::WorkerLoop(Lane* lane) {
  while (true) {
    store::Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      work_cv_.wait(l, [&] { return stopping_ || !lane->ready.empty(); });
      if (stopping_) return;  // jobs in hand keep their lease and return when it expires
      job = std::move(lane->ready.front());
      lane->ready.pop_front();
      ++lane->busy;
    }
    store::JobOutcome outcome = Execute(job, lane);
    {
      std::lock_guard<std::mutex> l(mu_);
      --lane->busy;
      finished_.push_back(std::move(outcome));
      finished_jobs_.push_back(std::move(job));
    }
    completer_cv_.notify_one();
  }
}

void Runner::CompleterLoop() {
  std::vector<store::JobOutcome> outcomes;
  std::vector<store::Job> jobs;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      completer_cv_.wait(l, [&] { return completer_stop_ || !finished_.empty(); });
      if (finished_.empty()) return;
      outcomes.swap(finished_);
      jobs.swap(finished_jobs_);
    }
    Record(outcomes, jobs);
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const store::Job& j : jobs) leases_.erase(j.id);
      notified_ = true;  // the partitions' next jobs may be claimable now
    }
    outcomes.clear();
    jobs.clear();
    dispatch_cv_.notify_one();
  }
}

}  // namespace keelson::jobs
