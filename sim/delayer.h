#pragma once
// Runs closures after a delay on one thread: a simulator's processing time (the answer is held,
// not the I/O thread). Stop (or destruction) drops the pending closures, which destroys their
// responders and so closes those connections.
//
// Thread-safety: After and Stop may be called from any thread.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace keelson::sim {

class Delayer {
 public:
  Delayer() : thread_([this] { Loop(); }) {}
  ~Delayer() { Stop(); }
  Delayer(const Delayer&) = delete;
  Delayer& operator=(const Delayer&) = delete;

  void After(absl::Duration d, std::function<void()> fn) {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    due_.emplace(absl::Now() + d, std::move(fn));
    cv_.notify_one();
  }
  void Stop() {
    std::multimap<absl::Time, std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopped_) return;
      stopped_ = true;
      dropped.swap(due_);
      cv_.notify_one();
    }
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stopped_) {
      if (due_.empty()) {
        cv_.wait(l);
        continue;
      }
      absl::Time next = due_.begin()->first;
      absl::Time now = absl::Now();
      if (next > now) {
        cv_.wait_for(l, absl::ToChronoNanoseconds(next - now));
        continue;
      }
      std::function<void()> fn = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      l.unlock();
      fn();
      l.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<absl::Time, std::function<void()>> due_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace keelson::sim
