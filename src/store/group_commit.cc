#include "store/group_commit.h"

#include "absl/time/clock.h"
#include "core/thread_name.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::store {

IntakeCommitMetrics::IntakeCommitMetrics(obs::Registry* metrics) {
  if (metrics == nullptr) return;
  commits_ = metrics->GetCounter("keelson_store_commits_total",
                                 "Intake group commits written to the store.");
  errors_ = metrics->GetCounter("keelson_store_commit_errors_total",
                                "Intake group commits that failed.");
  seconds_ = metrics->GetHistogram("keelson_store_commit_seconds",
                                   "Duration of one intake group commit (incl. fsync).",
                                   obs::LatencyBucketsSeconds());
  batch_size_ = metrics->GetHistogram("keelson_store_commit_batch_size",
                                      "Deliveries written per intake group commit.",
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048});
}

void IntakeCommitMetrics::Record(bool ok, double seconds, size_t batch) {
  if (seconds_) seconds_->Observe(seconds);
  if (batch_size_) batch_size_->Observe(static_cast<double>(batch));
  if (obs::Counter* c = ok ? commits_ : errors_) c->Inc();
}

GroupCommitter::GroupCommitter(Store* store, const core::Clock* clock, int max_batch,
                               obs::Registry* metrics)
    : store_(store),
      clock_(clock),
      queue_(static_cast<size_t>(std::max(1, max_batch))),
      metrics_(metrics) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Start() {
  queue_.Start("kl-commit", [this](std::vector<Pending>& batch) { Commit(batch); });
}

void GroupCommitter::Submit(DeliveryToAccept delivery, Callback done) {
  Pending p{std::move(delivery), std::move(done)};
  if (!queue_.Submit(p)) p.done(absl::UnavailableError("intake is shutting down"));
}

void GroupCommitter::Stop() { queue_.Stop(); }

void GroupCommitter::Commit(std::vector<Pending>& batch) {
  std::vector<DeliveryToAccept> deliveries;
  deliveries.reserve(batch.size());
  for (Pending& p : batch) deliveries.push_back(std::move(p.delivery));
  const absl::Time t0 = absl::Now();
  auto results = store_->AcceptDeliveries(deliveries, clock_->Now());
  metrics_.Record(results.ok(), absl::ToDoubleSeconds(absl::Now() - t0), batch.size());
  if (results.ok()) {
    bool any_new = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      any_new |= !(*results)[i].duplicate;
      batch[i].done((*results)[i]);
    }
    if (any_new && on_commit_) on_commit_();
  } else {
    obs::LogError("intake commit failed",
                  {{"error", results.status().ToString()}, {"deliveries", batch.size()}});
    for (Pending& p : batch) p.done(results.status());
  }
}

TxGroupCommitter::TxGroupCommitter(Store* store, const core::Clock* clock, int max_batch,
                                   std::string name, obs::Registry* metrics)
    : store_(store),
      clock_(clock),
      name_(std::move(name)),
      queue_(static_cast<size_t>(std::max(1, max_batch))) {
  if (metrics) {
    const obs::Labels labels = {{"committer", name_}};
    m_commit_errors_ = metrics->GetCounter("keelson_store_tx_commit_errors_total",
                                           "Grouped write transactions that failed.", labels);
    m_commit_seconds_ =
        metrics->GetHistogram("keelson_store_tx_commit_seconds",
                              "Duration of one grouped write transaction (incl. fsync).",
                              obs::LatencyBucketsSeconds(), labels);
    m_batch_size_ = metrics->GetHistogram(
        "keelson_store_tx_commit_batch_size", "Writes per grouped write transaction.",
        {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}, labels);
  }
}

TxGroupCommitter::~TxGroupCommitter() { Stop(); }

void TxGroupCommitter::Start() {
  queue_.Start("kl-txcommit", [this](std::vector<Pending>& batch) { Commit(batch); });
}

void TxGroupCommitter::Submit(Fn fn, Callback done) {
  Pending p{std::move(fn), std::move(done)};
  if (!queue_.Submit(p)) p.done(absl::UnavailableError("the store is shutting down"));
}

void TxGroupCommitter::Stop() { queue_.Stop(); }

void TxGroupCommitter::Commit(std::vector<Pending>& batch) {
  std::vector<Fn> fns;
  fns.reserve(batch.size());
  for (Pending& p : batch) fns.push_back(std::move(p.fn));
  const absl::Time t0 = absl::Now();
  auto results = store_->TransactEach(clock_->Now(), fns);
  if (m_commit_seconds_) m_commit_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - t0));
  if (m_batch_size_) m_batch_size_->Observe(static_cast<double>(batch.size()));
  if (results.ok()) {
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done((*results)[i]);
  } else {
    if (m_commit_errors_) m_commit_errors_->Inc();
    obs::LogError(
        "grouped commit failed",
        {{"committer", name_}, {"error", results.status().ToString()}, {"writes", batch.size()}});
    for (Pending& p : batch) p.done(results.status());
  }
}

}  // namespace keelson::store
