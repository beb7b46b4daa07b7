#pragma once
// Business events as Keelson reports them to other systems (docs/events.md): each one is a
// CloudEvents 1.0 JSON document written to the store's outbox in the same transaction as the
// change it reports, so an event exists exactly when its change committed. The outbox relay
// (relay.h) then publishes the outbox in order; consumers dedupe on the event's `id`.
//
// Event ids are stable: derived from what the event is about ("order.accepted:main:1234",
// "order.shipped:shipbob:77"), so a job that runs twice reports its event once; inventory
// movements, which have no natural key, get a random id minted with the movement.
//
// Thread-safety: an Emitter is immutable after construction; Emit may be called from any thread.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace keelson::events {

// The event types Keelson emits, and the JSON Schema each `data` follows (docs/events.md).
inline constexpr char kOrderAccepted[] = "order.accepted";    // ERP sales order created
inline constexpr char kOrderCancelled[] = "order.cancelled";  // ERP sales order cancelled
inline constexpr char kOrderShipped[] = "order.shipped";      // a shipment applied
inline constexpr char kInventoryChanged[] = "inventory.changed";  // a ledger movement

class Emitter {
 public:
  // A disabled emitter writes nothing (a hub without an event sink keeps no outbox rows).
  Emitter() = default;
  explicit Emitter(bool enabled, std::string source = "keelson")
      : enabled_(enabled), source_(std::move(source)) {}

  bool enabled() const { return enabled_; }

  // Appends {specversion, id, source, type, subject, time, datacontenttype, correlationid, data}
  // to the outbox in `tx`. `id` must be unique per distinct event; `subject` names the entity
  // ("main:1234", "SKU-1@WH1"). A duplicate id is absorbed. The time is the transaction's now.
  absl::Status Emit(store::Tx& tx, std::string_view type, std::string id, std::string subject,
                    nlohmann::json data, std::string_view correlation_id) const;

 private:
  bool enabled_ = false;
  std::string source_ = "keelson";
};

}  // namespace keelson::events
