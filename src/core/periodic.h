#pragma once
// A thread that runs a function now and then every `interval` until stopped; Stop() wakes it at
// once and joins it. For the background loops of the ops layer (SLA evaluation, the overview's
// samples).
//
// Thread-safety: Start and Stop may be called from any thread; `fn` runs on the thread only.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace keelson::core {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // No-op when already running.
  void Start(absl::Duration interval, std::function<void()> fn) {
    std::lock_guard<std::mutex> l(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this, interval, fn = std::move(fn)] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stopping_) {
        lock.unlock();
        fn();
        lock.lock();
        wake_.wait_for(lock, absl::ToChronoMilliseconds(interval), [this] { return stopping_; });
      }
    });
  }

  void Stop() {
    std::thread t;
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
      t = std::move(thread_);
    }
    wake_.notify_all();
    if (t.joinable()) t.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keelson::core
