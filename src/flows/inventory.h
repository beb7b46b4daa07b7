#pragma once
// Sellable inventory: stock truth from the ERP/WMS, reservations for open orders, and the
// available-to-sell (ATS) of every channel (a WooCommerce store) published by absolute value.
// The arithmetic is model/inventory.h; this flow keeps the ledger, decides what to publish and
// when, and reconciles what the shop shows with what it should show.
//
// How it stays right:
// - Every change is a movement in the store's append-only ledger, applied to its position in the
//   same transaction (Tx::ApplyMovement); positions never go negative, and a reservation never
//   takes more than is physically there (on_hand − allocated − reserved): when an order asks for
//   more, what there is gets reserved and the shortfall is reported (oversell is visible, ATS is
//   never negative).
// - Stock events are idempotent by event_id (Tx::PutIdempotencyKey) and ordered by occurred_at
//   per SKU × location: an event older than the newest applied one is stale and ignored.
// - A change marks the SKU dirty for every channel whose locations it touches (many changes
//   coalesce into one row) and makes sure one `inventory.publish` job is queued per store: a
//   flag (idempotency key `inventory.publish.pending:<store>`) is set with the enqueue and
//   cleared when the job claims the dirty set, so at most one job waits per store.
// - The publish job publishes absolute levels (safe to repeat), skips SKUs whose level equals the
//   last published one, and commits what it published with its own outcome (Deferred). Claimed
//   dirty rows stay until that commit: a crash loses nothing. Technical failures are marked dirty
//   again and the job retries; business failures (a SKU the shop does not have) are recorded on
//   the timeline of `sku:<sku>` and in the published row (status "rejected"), and are not tried
//   again until the level changes.
// - The reconcile job scans the shop, compares every SKU with its computed ATS, publishes the
//   drifted ones and writes a report (a run with counts, one drift row per drifted SKU).
//
// Job kinds (Register): `inventory.publish` and `inventory.reconcile`, both with payload
// {"store":"<id>"} and partition `inventory:publish:<store>` (so a reconciliation and a
// publication of one store never interleave).
//
// Thread-safety: one instance serves every worker and HTTP thread; it holds no mutable state but
// metrics. The StockSink must be thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/emitter.h"
#include "jobs/runner.h"
#include "model/inventory.h"
#include "store/store.h"

namespace keelson::obs {
class Registry;
class Counter;
class Gauge;
}  // namespace keelson::obs

namespace keelson::flows {

inline constexpr char kInventoryPublishJobKind[] = "inventory.publish";
inline constexpr char kInventoryReconcileJobKind[] = "inventory.reconcile";

// One absolute stock level for the shop.
struct StockTarget {
  std::string sku;
  int64_t quantity = 0;
  std::string stock_status;  // instock | outofstock | onbackorder
};

// What became of one StockTarget. OK: the shop holds it now. Otherwise classified like every
// connector error (jobs/retry_policy.h): kUnavailable, kDeadlineExceeded, kResourceExhausted,
// kAborted are technical (tried again); kNotFound (no such SKU in the shop), kInvalidArgument,
// kFailedPrecondition are business failures (recorded, not retried until the level changes).
struct SinkOutcome {
  std::string sku;
  absl::Status status;
};

// Where stock levels go (the WooCommerce StockPublisher behind it in production). The port the
// flow calls instead of a connector header.
class StockSink {
 public:
  virtual ~StockSink() = default;
  // Sets each SKU's stock in `store` to the absolute level (in batches as the shop allows).
  // Returns one outcome per target, any order; a target without an outcome counts as a technical
  // failure. Must be safe to repeat.
  virtual std::vector<SinkOutcome> Publish(std::string_view store,
                                           std::span<const StockTarget> levels) = 0;
  // Walks every stock-managed product (and variation) of `store`, calling `on_item` with its SKU,
  // stock quantity and stock status. A non-OK status means the scan is incomplete.
  virtual absl::Status Scan(
      std::string_view store,
      absl::FunctionRef<void(std::string_view sku, int64_t quantity, std::string_view status)>
          on_item) = 0;
};

// Config-shaped options (the YAML section `inventory` maps onto this).
struct InventoryOptions {
  std::vector<model::ChannelRule> channels;  // one per store that gets stock levels
  int publish_batch = 1000;  // dirty SKUs one publish run takes (1..1000); more → another run
  int max_attempts = 12;     // of the publish and reconcile jobs
  // Called in the commit of a stock event that raised a location's on_hand (a receipt, an
  // upward count): fulfillment releases the holds waiting for it. Empty = nobody waits.
  std::function<absl::Status(store::Tx&, std::string_view sku, std::string_view location)>
      on_stock_arrived;
  // Business events: one inventory.changed per ledger movement, in the movement's commit.
  events::Emitter events;
};

// A configuration problem, with its path relative to the section ("channels[1].percent").
struct InventoryConfigProblem {
  std::string path;
  std::string message;
};
// Every problem of `options`: empty or duplicate channel ids, a channel without locations or
// with an empty one, percent outside 0..100, negative cap / holdback / horizon, publish_batch
// outside 1..1000, max_attempts < 1.
std::vector<InventoryConfigProblem> ValidateInventoryOptions(const InventoryOptions& options);

// Stock truth for one SKU at one location (POST /v1/inventory/events).
struct StockEvent {
  std::string event_id;
  std::string sku;
  std::string location;
  int64_t on_hand = 0;
  absl::Time occurred_at = absl::InfinitePast();
  // Optional absolute values a WMS may send along.
  std::optional<int64_t> allocated;
  std::optional<int64_t> inbound;
  absl::Time inbound_expected_at = absl::InfiniteFuture();  // with `inbound`
  std::optional<int64_t> safety_stock;
  std::string source = "wms";
};

enum class StockEventResult { kApplied, kDuplicate, kStale };
std::string_view StockEventResultName(StockEventResult r);  // applied | duplicate | stale

struct InventoryLine {
  std::string sku;
  int64_t quantity = 0;
  // Consume only: where the units physically left ("" = wherever the order holds them, in the
  // channel's order). See Consume.
  std::string location;
};

struct ReservedLine {
  std::string sku;
  int64_t requested = 0;
  int64_t reserved = 0;   // held for the order (now, or by the earlier identical call)
  int64_t shortfall = 0;  // requested − reserved: sold without stock (visible, never negative ATS)
  bool duplicate = false;  // already reserved by an earlier call: nothing changed
};

struct ConsumedLine {
  std::string sku;
  int64_t consumed = 0;    // taken out of the order's reservation (and on_hand) by this call
  int64_t unreserved = 0;  // shipped beyond the reservation: left to the next stock event
};

class InventoryService {
 public:
  // `sink` must outlive this (it may be null if neither job kind is registered).
  InventoryService(StockSink* sink, InventoryOptions options, obs::Registry* metrics = nullptr);

  // Applies one stock event in `tx`: a duplicate event_id and a stale event change nothing (a
  // stale one is noted on the timeline of `sku:<sku>`); otherwise records set_on_hand (and
  // set_allocated / set_inbound / set_safety for the optional fields), marks the SKU dirty for
  // every channel served by the location and makes sure their publish jobs are queued.
  // kInvalidArgument for an event without id, SKU or location, or with negative quantities.
  absl::StatusOr<StockEventResult> ApplyStockEvent(store::Tx& tx, const StockEvent& event);

  // Reservations for an order ("main:14"), to be called inside the caller's transaction (the
  // order-to-cash flow's Deferred effects). Lines with one SKU are merged.
  //
  // Reserve: for each SKU not yet reserved for this order, takes stock from the channel's
  // locations in order — first what they may sell (above safety stock), then, if that is not
  // enough, their safety stock — never more than on_hand − allocated − reserved. What is missing
  // is the line's shortfall (timeline `order:<ref>`, metric). Idempotent per order and SKU.
  // kFailedPrecondition when `channel` has no rule.
  absl::StatusOr<std::vector<ReservedLine>> Reserve(store::Tx& tx, std::string_view order_ref,
                                                    std::span<const InventoryLine> lines,
                                                    std::string_view channel);
  // Reserves more for an order that already reserved (a released backorder): each line's units at
  // its `location`, never more than is physically there (on_hand − allocated − reserved; the
  // order is sold already, so safety stock may go). Adds to the order's reservation there;
  // returns what was reserved per line (`shortfall` what was not). kFailedPrecondition when
  // `channel` has no rule; a line without location is kInvalidArgument.
  absl::StatusOr<std::vector<ReservedLine>> ReserveAt(store::Tx& tx, std::string_view order_ref,
                                                      std::span<const InventoryLine> lines,
                                                      std::string_view channel);
  // Units an order held at a location that will not ship from there (a short pick: the warehouse
  // did not find them). Each line's units, as far as the order holds them there, leave its
  // reservation and the shelf (on_hand; only the reservation where the WMS already counted them
  // gone), so they are neither sold nor counted again; the next stock count is the truth. Returns
  // the units written off.
  absl::StatusOr<int64_t> WriteOff(store::Tx& tx, std::string_view order_ref,
                                   std::span<const InventoryLine> lines);
  // Releases everything the order still holds (cancelled, or completed with leftovers). Returns
  // the units released; idempotent.
  absl::StatusOr<int64_t> Release(store::Tx& tx, std::string_view order_ref);
  // Ships: `quantity` is the line's cumulative shipped quantity (model::OrderLine::
  // quantity_shipped), so repeating a call changes nothing. The difference from what was already
  // consumed leaves the reservation and on_hand (where on_hand is already lower — the WMS
  // reported it — the reservation is just released).
  // A line with a `location` (fulfillment knows where a shipment left from) counts cumulatively
  // per SKU and location: the units come off that location's on_hand, out of the order's
  // reservation there first; units the order held at another location are released there
  // instead (the order no longer needs them), so the ledger matches the shelf.
  absl::StatusOr<std::vector<ConsumedLine>> Consume(store::Tx& tx, std::string_view order_ref,
                                                    std::span<const InventoryLine> lines);

  // Marks `sku` dirty for every channel served by `location` and queues their publish jobs.
  absl::Status MarkDirty(store::Tx& tx, std::string_view sku, std::string_view location);
  // Queues the store's publish job unless one is already waiting; returns whether it enqueued.
  absl::StatusOr<bool> EnsurePublishJob(store::Tx& tx, std::string_view store_id);

  // Registers inventory.publish and inventory.reconcile.
  void Register(jobs::HandlerRegistry& registry);

  const model::ChannelRule* Channel(std::string_view channel) const;

 private:
  // Consume of one line with a location; `held` is the order's reservations (updated).
  absl::StatusOr<ConsumedLine> ConsumeAt(store::Tx& tx, std::string_view order_ref,
                                         const InventoryLine& line,
                                         std::vector<store::Reservation>& held);
  // Every ledger movement goes through here: applied in `tx`, reported as inventory.changed.
  absl::Status Apply(store::Tx& tx, model::Movement m) const;
  // Ends `take` reserved units of `base`'s SKU at its location: what is still on hand there
  // (`on_hand`) is consumed, the rest (already reported gone) only released.
  absl::Status ConsumeReserved(store::Tx& tx, const model::Movement& base, int64_t take,
                               int64_t on_hand) const;

 public:
  const std::vector<model::ChannelRule>& channels() const { return options_.channels; }

  // The jobs, for the scheduler (reconcile) and tests.
  store::NewJob PublishJob(std::string_view store_id) const;
  store::NewJob ReconcileJob(std::string_view store_id) const;
  static std::string Partition(std::string_view store_id);
  static std::string PendingFlag(std::string_view store_id);

 private:
  struct ChannelMetrics {
    obs::Counter* published = nullptr;
    obs::Counter* retryable = nullptr;
    obs::Counter* rejected = nullptr;
    obs::Counter* shortfall = nullptr;
    obs::Gauge* drift = nullptr;
  };

  absl::Status RunPublish(jobs::JobContext& ctx);
  absl::Status RunReconcile(jobs::JobContext& ctx);
  const ChannelMetrics* MetricsFor(std::string_view channel) const;

  StockSink* sink_;
  InventoryOptions options_;
  std::vector<ChannelMetrics> metrics_;  // parallel to options_.channels; empty without metrics
  obs::Counter* m_events_applied_ = nullptr;
  obs::Counter* m_events_duplicate_ = nullptr;
  obs::Counter* m_events_stale_ = nullptr;
};

}  // namespace keelson::flows
