#pragma once
// Publishes business events to NATS JetStream with the NATS C client (cnats, Debian libnats-dev).
//
//   subject   {subject_prefix}.{type}            keelson.order.accepted, keelson.inventory.changed
//   body      the event's CloudEvents JSON (docs/events.md)
//   headers   Nats-Msg-Id: the event id (JetStream drops a repeat within the stream's duplicate
//             window, so a relay that publishes again after a crash adds nothing),
//             Keelson-Subject: the entity, Keelson-Correlation-Id
//
// Each event is published synchronously (js_PublishMsg waits for the stream's PubAck) so a
// failure stops the batch before anything later is sent: the stream holds events in outbox order.
// The connection is made on first use and remade after it closes; the stream is created when it
// does not exist (create_stream), capturing {prefix}.> with the configured duplicate window.
//
// Docs: https://docs.nats.io/nats-concepts/jetstream/streams (Duplicates window),
//       https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive
//       (Nats-Msg-Id message de-duplication), https://nats-io.github.io/nats.c/ (js_PublishMsg,
//       js_AddStream, jsStreamConfig).
//
// Thread-safety: Publish calls are serialised internally.

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "events/relay.h"

namespace keelson::events {

struct NatsSinkOptions {
  std::string url;                 // nats://host:port
  std::string stream = "KEELSON";
  std::string subject_prefix = "keelson";
  bool create_stream = true;
  absl::Duration duplicate_window = absl::Hours(24);
  std::string token;               // optional
  absl::Duration timeout = absl::Seconds(5);
};

class NatsJetStreamSink final : public EventSink {
 public:
  explicit NatsJetStreamSink(NatsSinkOptions options);
  ~NatsJetStreamSink() override;

  // Connects and makes sure the stream exists; Publish does this too when needed.
  absl::Status Connect();
  Result Publish(std::span<const store::OutboxEvent> events) override;
  std::string_view name() const override { return "nats"; }

  // The subject an event of `type` is published on.
  std::string SubjectFor(std::string_view type) const;

 private:
  struct Conn;
  absl::Status ConnectLocked();
  void DropLocked();

  NatsSinkOptions options_;
  std::mutex mu_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace keelson::events
