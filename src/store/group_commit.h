#pragma once
// Group commit for intake: callers Submit deliveries from any thread and get a callback once
// their delivery (and its job) is durable; one committer thread writes everything pending in one
// transaction, so many concurrent webhooks share one fsync. While a commit is in flight new
// submissions queue up and form the next batch: batches grow with load, latency stays one or
// two fsyncs.
//
// Thread-safety: Submit from any thread; callbacks run on the committer thread and must be quick
// (post the HTTP answer, nothing more). Stop() commits what is pending before returning.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace keelson::obs {
class Registry;
class Counter;
class Histogram;
}  // namespace keelson::obs

namespace keelson::store {

class GroupCommitter {
 public:
  using Callback = std::function<void(absl::StatusOr<AcceptResult>)>;

  GroupCommitter(Store* store, const core::Clock* clock, int max_batch,
                 obs::Registry* metrics = nullptr);
  ~GroupCommitter();

  // Called on the committer thread after each commit that enqueued new jobs.
  void set_on_commit(std::function<void()> fn) { on_commit_ = std::move(fn); }

  void Start();
  void Submit(DeliveryToAccept delivery, Callback done);
  // Commits whatever is pending, then stops. Submissions after Stop fail with kUnavailable.
  void Stop();

 private:
  struct Pending {
    DeliveryToAccept delivery;
    Callback done;
  };
  void Loop();

  Store* store_;
  const core::Clock* clock_;
  const size_t max_batch_;
  std::function<void()> on_commit_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;

  obs::Counter* m_commits_ = nullptr;
  obs::Counter* m_commit_errors_ = nullptr;
  obs::Histogram* m_commit_seconds_ = nullptr;
  obs::Histogram* m_batch_size_ = nullptr;
};

// The same for small independent write transactions (stock events): Submit a function that
// writes through a Tx; the committer thread runs everything pending with Store::TransactEach,
// one durable commit for the batch, each function in a savepoint of its own (one that fails is
// rolled back alone). `done` gets the function's own status once the batch is durable, or the
// commit's error. Without it every such write would be a commit (and an fsync) of its own, and
// concurrent writers would queue for the store's single writer one fsync at a time.
//
// Thread-safety: as GroupCommitter; functions and callbacks run on the committer thread.
class TxGroupCommitter {
 public:
  using Fn = std::function<absl::Status(Tx&)>;
  using Callback = std::function<void(absl::Status)>;

  // `name` labels the metrics (keelson_store_tx_commit_batch_size{committer=name}, ...).
  TxGroupCommitter(Store* store, const core::Clock* clock, int max_batch, std::string name,
                   obs::Registry* metrics = nullptr);
  ~TxGroupCommitter();

  void Start();
  void Submit(Fn fn, Callback done);
  // Commits whatever is pending, then stops. Submissions after Stop fail with kUnavailable.
  void Stop();

 private:
  struct Pending {
    Fn fn;
    Callback done;
  };
  void Loop();

  Store* store_;
  const core::Clock* clock_;
  const size_t max_batch_;
  const std::string name_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;

  obs::Counter* m_commit_errors_ = nullptr;
  obs::Histogram* m_commit_seconds_ = nullptr;
  obs::Histogram* m_batch_size_ = nullptr;
};

}  // namespace keelson::store
