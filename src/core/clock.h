#pragma once
// Time source for everything that schedules: job backoff, leases, deadlines, schedules.
// Production code takes a `Clock*` so tests advance time with FakeClock instead of sleeping.
// Thread-safety: both implementations are safe to call from any thread.

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace keelson::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process-wide wall clock. Never null, never deleted.
  static Clock* Real();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'767'225'600))  // 2026-01-01
      : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock l(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock l(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock l(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

// Milliseconds since the Unix epoch: the representation used in the store.
inline int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }
inline absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

}  // namespace keelson::core
