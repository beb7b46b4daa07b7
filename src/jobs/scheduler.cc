#include "jobs/scheduler.h"
#include "core/thread_name.h"

#include "obs/log.h"

namespace keelson::jobs {

absl::StatusOr<int> Scheduler::Tick() {
  int fired = 0;
  const absl::Time now = clock_->Now();
  for (const Entry& e : entries_) {
    auto r = store_->FireScheduleIfDue(e.name, e.interval, e.job, now);
    if (!r.ok()) return r.status();
    if (*r) ++fired;
  }
  return fired;
}

void Scheduler::Start(absl::Duration period, std::function<void()> on_fire) {
  thread_ = std::thread([this, period, on_fire = std::move(on_fire)] {
    core::SetThreadName("kl-scheduler");
    while (!stop_.WaitForNotificationWithTimeout(period)) {
      auto r = Tick();
      if (!r.ok()) {
        obs::LogWarn("scheduler tick failed", {{"error", r.status().ToString()}});
      } else if (*r > 0 && on_fire) {
        on_fire();
      }
    }
  });
}

void Scheduler::Stop() {
  if (!thread_.joinable()) return;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  thread_.join();
}

}  // namespace keelson::jobs
