#pragma once
// The console's overview charts: a ring buffer of samples taken every `interval` (rates from the
// metrics registry's counters, queue depth and lag from the store, breaches from the SLA
// monitor). Kept in memory: a restarted node starts a fresh chart.
//
// Thread-safety: every public method may be called from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/clock.h"
#include "core/periodic.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace keelson::ops {

struct OverviewPoint {
  absl::Time t;
  double webhooks_per_s = 0;    // deliveries accepted (keelson_intake_deliveries_total)
  double erp_orders_per_s = 0;  // sales orders created (keelson_erp_orders_created_total)
  double jobs_per_s = 0;        // jobs completed (keelson_jobs_completed_total)
  int64_t queue_depth = 0;      // queued jobs
  double lag_s = 0;             // age of the oldest due job
  int64_t breaches = 0;         // items in breach, all SLA rules
};

class OverviewSampler {
 public:
  // `breaches` returns the current total (may be empty: 0).
  OverviewSampler(store::Store* store, const core::Clock* clock, const obs::Registry* metrics,
                  std::function<int64_t()> breaches, absl::Duration interval = absl::Seconds(5),
                  size_t capacity = 360);
  ~OverviewSampler();

  // Takes one sample now (rates over the time since the previous one; the first has none).
  void SampleNow();
  std::vector<OverviewPoint> Points() const;  // oldest first
  absl::Duration interval() const { return interval_; }

  void Start();
  void Stop();

 private:
  store::Store* store_;
  const core::Clock* clock_;
  const obs::Registry* metrics_;
  std::function<int64_t()> breaches_;
  absl::Duration interval_;
  size_t capacity_;

  mutable std::mutex mu_;
  std::deque<OverviewPoint> points_;
  bool have_last_ = false;
  absl::Time last_t_;
  double last_webhooks_ = 0, last_erp_ = 0, last_jobs_ = 0;

  core::PeriodicThread thread_;
};

}  // namespace keelson::ops
