#pragma once
// The outbox relay: publishes the store's business events (emitter.h) to a sink, in outbox order,
// from one node at a time.
//
//   every `interval`:  TryAcquireLease("events.publisher", node) — not the holder: do nothing
//                      ListPendingEvents(batch) → sink.Publish (in order, each acknowledged)
//                      → MarkEventsPublished(the acknowledged prefix); repeat while full batches
//                      come back; now and then PurgePublishedEvents(now − keep_published)
//
// Delivery is at least once from the relay (a crash between the sink's acknowledgement and the
// mark publishes again) and exactly once in the stream: the sink dedupes by event id (NATS
// JetStream's Nats-Msg-Id within its duplicate window). Order: events are published one after
// another in outbox id order and a failure stops the round, so an event never overtakes an
// earlier one; the events of one entity are committed in order by its partitioned jobs, so they
// reach the stream in order. The lease keeps two nodes from interleaving.
//
// Thread-safety: RunOnce must not run concurrently with itself (Start runs it on one thread).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/periodic.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace keelson::events {

// Where events go (NatsJetStreamSink in nats_sink.h; tests may record).
class EventSink {
 public:
  virtual ~EventSink() = default;
  struct Result {
    size_t published = 0;  // how many from the front were durably accepted
    absl::Status error;    // why the next one was not (OK when all were)
  };
  // Publishes `events` one after another, stopping at the first failure.
  virtual Result Publish(std::span<const store::OutboxEvent> events) = 0;
  virtual std::string_view name() const = 0;
};

struct RelayOptions {
  std::string node_id;  // lease owner: unique per process
  absl::Duration interval = absl::Milliseconds(200);
  absl::Duration lease_ttl = absl::Seconds(15);
  int batch = 256;
  absl::Duration keep_published = absl::Hours(168);
  absl::Duration purge_every = absl::Minutes(10);
};

inline constexpr std::string_view kPublisherLease = "events.publisher";

class OutboxRelay {
 public:
  // `store`, `sink`, `clock` and `metrics` (may be null) must outlive this.
  OutboxRelay(store::Store* store, EventSink* sink, const core::Clock* clock,
              RelayOptions options, obs::Registry* metrics = nullptr);
  ~OutboxRelay();

  // One round (see above); how many events it published. Not the lease holder: 0.
  absl::StatusOr<int64_t> RunOnce();

  void Start();
  // Stops the loop and gives the lease up so another node takes over at once.
  void Stop();

 private:
  store::Store* store_;
  EventSink* sink_;
  const core::Clock* clock_;
  RelayOptions options_;
  obs::Registry* metrics_;
  obs::Counter* m_published_ = nullptr;
  obs::Counter* m_errors_ = nullptr;
  obs::Gauge* m_leader_ = nullptr;
  absl::Time last_purge_ = absl::InfinitePast();
  core::PeriodicThread thread_;
};

}  // namespace keelson::events
