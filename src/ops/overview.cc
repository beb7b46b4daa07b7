#include "ops/overview.h"

namespace keelson::ops {

OverviewSampler::OverviewSampler(store::Store* store, const core::Clock* clock,
                                 const obs::Registry* metrics, std::function<int64_t()> breaches,
                                 absl::Duration interval, size_t capacity)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      breaches_(std::move(breaches)),
      interval_(interval),
      capacity_(capacity) {}

OverviewSampler::~OverviewSampler() { Stop(); }

void OverviewSampler::SampleNow() {
  const absl::Time now = clock_->Now();
  const double webhooks = metrics_->Total("keelson_intake_deliveries_total");
  const double erp = metrics_->Total("keelson_erp_orders_created_total");
  const double jobs = metrics_->Total("keelson_jobs_completed_total");
  OverviewPoint p{.t = now};
  if (auto stats = store_->GetJobStats(now); stats.ok()) {
    p.queue_depth = stats->queued;
    p.lag_s = absl::ToDoubleSeconds(stats->oldest_due_age);
  }
  p.breaches = breaches_ ? breaches_() : 0;
  std::lock_guard<std::mutex> l(mu_);
  if (have_last_ && now > last_t_) {
    const double dt = absl::ToDoubleSeconds(now - last_t_);
    p.webhooks_per_s = std::max(0.0, webhooks - last_webhooks_) / dt;
    p.erp_orders_per_s = std::max(0.0, erp - last_erp_) / dt;
    p.jobs_per_s = std::max(0.0, jobs - last_jobs_) / dt;
  }
  have_last_ = true;
  last_t_ = now;
  last_webhooks_ = webhooks;
  last_erp_ = erp;
  last_jobs_ = jobs;
  points_.push_back(p);
  while (points_.size() > capacity_) points_.pop_front();
}

std::vector<OverviewPoint> OverviewSampler::Points() const {
  std::lock_guard<std::mutex> l(mu_);
  return {points_.begin(), points_.end()};
}

void OverviewSampler::Start() {
  thread_.Start(interval_, [this] { SampleNow(); });
}

void OverviewSampler::Stop() { thread_.Stop(); }

}  // namespace keelson::ops
