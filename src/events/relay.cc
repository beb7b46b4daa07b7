#include "events/relay.h"

#include <utility>
#include <vector>

#include "obs/log.h"

namespace keelson::events {

OutboxRelay::OutboxRelay(store::Store* store, EventSink* sink, const core::Clock* clock,
                         RelayOptions options, obs::Registry* metrics)
    : store_(store), sink_(sink), clock_(clock), options_(std::move(options)), metrics_(metrics) {
  if (metrics_ == nullptr) return;
  const obs::Labels sink_label = {{"sink", std::string(sink_->name())}};
  m_published_ = metrics_->GetCounter("keelson_events_published_total",
                                      "Business events published from the outbox", sink_label);
  m_errors_ = metrics_->GetCounter("keelson_events_publish_errors_total",
                                   "Outbox publish rounds stopped by a sink error", sink_label);
  m_leader_ = metrics_->GetGauge("keelson_events_publisher_leader",
                                 "1 while this node holds the outbox publisher lease");
  metrics_->AddCallbackGauge(
      "keelson_events_pending", "Business events in the outbox not yet published",
      [store = store_]() -> std::vector<std::pair<obs::Labels, double>> {
        auto stats = store->PendingEventStats();
        if (!stats.ok()) return {};
        return {{{}, static_cast<double>(stats->first)}};
      });
  metrics_->AddCallbackGauge(
      "keelson_events_oldest_pending_age_seconds",
      "Age of the oldest business event not yet published (0 when none)",
      [store = store_, clock = clock_]() -> std::vector<std::pair<obs::Labels, double>> {
        auto stats = store->PendingEventStats();
        if (!stats.ok()) return {};
        if (!stats->second.has_value()) return {{{}, 0.0}};
        return {{{}, absl::ToDoubleSeconds(clock->Now() - *stats->second)}};
      });
}

OutboxRelay::~OutboxRelay() {
  Stop();
  if (metrics_ != nullptr) {
    metrics_->RemoveCallbackGauge("keelson_events_pending");
    metrics_->RemoveCallbackGauge("keelson_events_oldest_pending_age_seconds");
  }
}

absl::StatusOr<int64_t> OutboxRelay::RunOnce() {
  int64_t total = 0;
  while (true) {
    const absl::Time now = clock_->Now();
    absl::StatusOr<bool> leader =
        store_->TryAcquireLease(kPublisherLease, options_.node_id, now, options_.lease_ttl);
    if (!leader.ok()) return leader.status();
    if (m_leader_ != nullptr) m_leader_->Set(*leader ? 1 : 0);
    if (!*leader) return total;
    if (now - last_purge_ >= options_.purge_every) {
      last_purge_ = now;
      if (auto purged = store_->PurgePublishedEvents(now - options_.keep_published); !purged.ok()) {
        obs::LogWarn("outbox purge failed", {{"error", purged.status().ToString()}});
      }
    }
    absl::StatusOr<std::vector<store::OutboxEvent>> pending =
        store_->ListPendingEvents(options_.batch);
    if (!pending.ok()) return pending.status();
    if (pending->empty()) return total;
    EventSink::Result r = sink_->Publish(*pending);
    if (r.published > 0) {
      std::vector<int64_t> ids;
      ids.reserve(r.published);
      for (size_t i = 0; i < r.published; ++i) ids.push_back((*pending)[i].id);
      if (auto s = store_->MarkEventsPublished(ids, clock_->Now()); !s.ok()) return s;
      total += static_cast<int64_t>(r.published);
      if (m_published_ != nullptr) m_published_->Inc(static_cast<double>(r.published));
    }
    if (!r.error.ok()) {
      if (m_errors_ != nullptr) m_errors_->Inc();
      return r.error;
    }
    if (pending->size() < static_cast<size_t>(options_.batch)) return total;
  }
}

void OutboxRelay::Start() {
  thread_.Start(options_.interval, [this] {
    absl::StatusOr<int64_t> n = RunOnce();
    if (!n.ok()) {
      obs::LogWarn("publishing business events failed; retrying",
                   {{"sink", std::string(sink_->name())}, {"error", n.status().ToString()}});
    }
  });
}

void OutboxRelay::Stop() {
  thread_.Stop();
  if (m_leader_ != nullptr) m_leader_->Set(0);
  (void)store_->ReleaseLease(kPublisherLease, options_.node_id);
}

}  // namespace keelson::events
