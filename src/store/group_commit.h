#pragma once
// Group commit for intake: callers Submit deliveries from any thread and get a callback once
// their delivery (and its job) is durable; one committer thread writes everything pending in one
// transaction, so many concurrent webhooks share one fsync. While a commit is in flight new
// submissions queue up and form the next batch: batches grow with load, latency stays one or
// two fsyncs.
//
// Thread-safety: Submit from any thread; callbacks run on the committer thread and must be quick
// (post the HTTP answer, nothing more). Stop() commits what is pending before returning.

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/thread_name.h"
#include "store/store.h"

namespace keelson::obs {
class Registry;
class Counter;
class Histogram;
class Gauge;
}  // namespace keelson::obs

namespace keelson::store {

// The batching both committers share: Submit from any thread; one thread takes everything pending
// (at most `max_batch` at a time) and hands it to `process`; Stop drains what is pending first.
template <typename T>
class BatchQueue {
 public:
  using Process = std::function<void(std::vector<T>& batch)>;

  explicit BatchQueue(size_t max_batch) : max_batch_(std::max<size_t>(1, max_batch)) {}
  ~BatchQueue() { Stop(); }

  void Start(std::string thread_name, Process process) {
    std::lock_guard<std::mutex> l(mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    thread_ = std::thread([this, name = std::move(thread_name), process = std::move(process)] {
      core::SetThreadName(name.c_str());
      Loop(process);
    });
  }
  // Takes `item` (moved from) and returns true, unless the queue is not running or stopping.
  bool Submit(T& item) {
    std::lock_guard<std::mutex> l(mu_);
    if (!running_ || stopping_) return false;
    pending_.push_back(std::move(item));
    cv_.notify_one();
    return true;
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!running_) return;
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    std::lock_guard<std::mutex> l(mu_);
    running_ = false;
  }

 private:
  void Loop(const Process& process) {
    std::vector<T> batch;
    while (true) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, and everything submitted has been processed
        if (pending_.size() <= max_batch_) {
          batch.swap(pending_);
        } else {
          batch.assign(std::make_move_iterator(pending_.begin()),
                       std::make_move_iterator(pending_.begin() + max_batch_));
          pending_.erase(pending_.begin(), pending_.begin() + max_batch_);
        }
      }
      process(batch);
      batch.clear();
    }
  }

  const size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> pending_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;
};

// The intake commit metrics (keelson_store_commit*, on dashboards and alerts): the step that
// makes deliveries durable — GroupCommitter's commit, or the intake journal's write. All null
// (and the calls no-ops) without a registry.
class IntakeCommitMetrics {
 public:
  explicit IntakeCommitMetrics(obs::Registry* metrics);
  // A commit of `batch` deliveries that succeeded (`ok`) or failed, which took `seconds`.
  void Record(bool ok, double seconds, size_t batch);

 private:
  obs::Counter* commits_ = nullptr;
  obs::Counter* errors_ = nullptr;
  obs::Histogram* seconds_ = nullptr;
  obs::Histogram* batch_size_ = nullptr;
};

// Where webhook intake hands a delivery: `done` runs once it is durable (or refused), with its
// delivery id, or the first copy's if it is a redelivery. Two implementations: GroupCommitter
// (straight into the store, any engine) and IntakeJournal (store/intake_journal.h: an fsync'd
// append-only journal first, the store after; SQLite).
class DeliveryIntake {
 public:
  using Callback = std::function<void(absl::StatusOr<AcceptResult>)>;
  virtual ~DeliveryIntake() = default;
  // Called after new deliveries (and their jobs) reached the store.
  virtual void set_on_commit(std::function<void()> fn) = 0;
  virtual void Start() = 0;
  virtual void Submit(DeliveryToAccept delivery, Callback done) = 0;
  // Makes durable and answers whatever is pending, then stops. Submissions after Stop fail with
  // kUnavailable.
  virtual void Stop() = 0;
};

class GroupCommitter final : public DeliveryIntake {
 public:
  GroupCommitter(Store* store, const core::Clock* clock, int max_batch,
                 obs::Registry* metrics = nullptr);
  ~GroupCommitter() override;

  // Called on the committer thread after each commit that enqueued new jobs.
  void set_on_commit(std::function<void()> fn) override { on_commit_ = std::move(fn); }

  void Start() override;
  void Submit(DeliveryToAccept delivery, Callback done) override;
  // Commits whatever is pending, then stops. Submissions after Stop fail with kUnavailable.
  void Stop() override;

 private:
  struct Pending {
    DeliveryToAccept delivery;
    Callback done;
  };
  void Commit(std::vector<Pending>& batch);

  Store* store_;
  const core::Clock* clock_;
  std::function<void()> on_commit_;
  BatchQueue<Pending> queue_;

  IntakeCommitMetrics metrics_;
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
  void Commit(std::vector<Pending>& batch);

  Store* store_;
  const core::Clock* clock_;
  const std::string name_;
  BatchQueue<Pending> queue_;

  obs::Counter* m_commit_errors_ = nullptr;
  obs::Histogram* m_commit_seconds_ = nullptr;
  obs::Histogram* m_batch_size_ = nullptr;
};

}  // namespace keelson::store
