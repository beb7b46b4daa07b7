#pragma once
// Periodic jobs. Each entry enqueues its job once per interval; the slot is taken in the store
// (Store::FireScheduleIfDue), so with several nodes each slot fires on exactly one of them.
// Thread-safety: Add before Start; Tick from one thread (the scheduler's own, or a test's).

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "core/clock.h"
#include "store/store.h"

namespace keelson::jobs {

class Scheduler {
 public:
  Scheduler(store::Store* store, const core::Clock* clock) : store_(store), clock_(clock) {}
  ~Scheduler() { Stop(); }

  void Add(std::string name, absl::Duration interval, store::NewJob job) {
    entries_.push_back({std::move(name), interval, std::move(job)});
  }
  // Fires every due entry at the clock's now. Returns how many fired.
  absl::StatusOr<int> Tick();
  // Ticks every `period` on a thread of its own; `on_fire` runs after a tick that enqueued work.
  void Start(absl::Duration period, std::function<void()> on_fire);
  void Stop();

 private:
  struct Entry {
    std::string name;
    absl::Duration interval;
    store::NewJob job;
  };
  store::Store* store_;
  const core::Clock* clock_;
  std::vector<Entry> entries_;
  std::thread thread_;
  absl::Notification stop_;
};

}  // namespace keelson::jobs
