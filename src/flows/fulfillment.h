#pragma once
// Fulfillment: an order the ERP has accepted is routed into segments (model/fulfillment.h) over
// the configured network of nodes, each ship segment is released to its provider
// (connectors/fulfillment.h), and the shipments that come back update the segment lines and take
// the shipped units out of the order's reservation.
//
// Jobs (all in the order's partition, so an order's fulfillment steps run one at a time and in
// order, after its ERP creation):
//   fulfillment.route     plan the order's segments (once: an order with segments is not
//                         planned again) and queue a release per ship segment
//   fulfillment.release   hand a planned segment to its provider, idempotently by segment id
//                         (verify_first on every attempt after the first). A provider's business
//                         refusal (kFailedPrecondition / kInvalidArgument) marks the segment
//                         `rejected` with the reason — visible to operators and to the SLA rule on
//                         segments — and routes its lines again without that node: to another node,
//                         or to a backorder hold.
//   fulfillment.refused   a provider refused a segment after accepting its release (an EDI 940
//                         rejected by the partner's 997 or TA1): the segment becomes `rejected`
//                         and its lines are routed again without that node, as for a refusal at
//                         release time. A segment already (partly) shipped or settled is left
//                         alone (noted on the timeline).
//   fulfillment.shipment  apply one shipment notice: once per (provider, shipment id); each line
//                         adds to the segment line of its SKU, never beyond what the segment holds
//                         (the excess is recorded on the timeline as an over-shipment); the segment
//                         becomes partially_shipped or shipped; the order's cumulative shipped
//                         units per SKU and location leave its reservation and the shelf they
//                         left from (`consume`).
//
// Availability for routing: a location's sellable units (on hand − allocated − reserved − safety)
// plus what this order itself holds there and has not given to another of its live segments, so
// the order's own reservation counts for it once.
//
// Thread-safety: the service is immutable after construction; handlers may run concurrently.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/erp.h"
#include "connectors/fulfillment.h"
#include "events/emitter.h"
#include "flows/inventory.h"
#include "flows/order_to_cash.h"
#include "jobs/runner.h"
#include "model/fulfillment.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace keelson::flows {

inline constexpr char kFulfillmentRouteJobKind[] = "fulfillment.route";
inline constexpr char kFulfillmentReleaseJobKind[] = "fulfillment.release";
inline constexpr char kFulfillmentShipmentJobKind[] = "fulfillment.shipment";
inline constexpr char kFulfillmentRefusedJobKind[] = "fulfillment.refused";
inline constexpr char kFulfillmentErpPostJobKind[] = "fulfillment.erp_post";
inline constexpr char kFulfillmentShopUpdateJobKind[] = "fulfillment.shop_update";
inline constexpr char kFulfillmentHoldsJobKind[] = "fulfillment.holds";
inline constexpr char kFulfillmentHoldReleaseJobKind[] = "fulfillment.hold_release";
// Meta keys written on the shop order.
inline constexpr char kFulfillmentStatusMetaKey[] = "_keelson_fulfillment_status";
inline constexpr char kTrackingMetaKey[] = "_keelson_tracking";

struct FulfillmentOptions {
  std::vector<model::FulfillmentNode> nodes;
  int max_attempts = 12;
  // Takes the order's cumulative shipped units per SKU and location out of its reservation and
  // off the shelf (InventoryService::Consume with located lines), inside the commit that applies
  // the shipment; empty = no stock bookkeeping.
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref,
                             const std::vector<InventoryLine>& shipped)>
      consume;
  // Reserves more units for the order at the given locations (InventoryService::ReserveAt), when
  // a released hold leaves its ship segments needing more than it holds; empty = no bookkeeping.
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref,
                             const std::vector<InventoryLine>& located)>
      reserve;
  // Takes units a short-closed segment will not ship off the shelf and out of the order's
  // reservation there (InventoryService::WriteOff); empty = no bookkeeping.
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref,
                             const std::vector<InventoryLine>& located)>
      write_off;
  // Where shipments are posted. Null / empty: the shipment's erp_state / shop_state is `skipped`.
  connectors::ErpAdapter* erp = nullptr;  // borrowed
  std::function<ShopWriteBack*(std::string_view store_id)> shop_for;
  int holds_batch = 500;  // held segments one sweep looks at (oldest first)
  // Business events (order.shipped) written with the shipment they report.
  events::Emitter events;
};

class FulfillmentService {
 public:
  // `providers` maps a node's `provider` to its connector (borrowed; must outlive this).
  FulfillmentService(std::map<std::string, connectors::FulfillmentProvider*, std::less<>> providers,
                     OrderMapper mapper, FulfillmentOptions options,
                     obs::Registry* metrics = nullptr);

  void Register(jobs::HandlerRegistry& registry);

  // Queues the routing of an order (call it in the commit that records the ERP order).
  absl::Status EnqueueRoute(store::Tx& tx, std::string_view store_id, int64_t order_id,
                            std::string_view correlation_id);
  // Queues a shipment notice for application (a provider's webhook, a 945 or an 856).
  absl::Status EnqueueShipment(store::Tx& tx, const connectors::Shipment& shipment,
                               std::string_view correlation_id);
  // Queues the refusal of a released segment by its provider (see fulfillment.refused).
  absl::Status EnqueueRefusal(store::Tx& tx, std::string_view segment_id, std::string_view reason,
                              std::string_view correlation_id);

  // The ledger received stock of `sku` (InventoryOptions::on_stock_arrived): queues a holds sweep
  // unless one is already waiting. Cheap; called inside the stock event's commit.
  absl::Status OnStockArrived(store::Tx& tx, std::string_view sku, std::string_view location);
  // The sweep job, for the scheduler (a safety net beside OnStockArrived).
  store::NewJob HoldsJob() const;

  // The partitions of an order's shipment postings (beside OrderToCash::PartitionKey).
  static std::string ErpPostPartition(std::string_view store_id, int64_t order_id);
  static std::string ShopUpdatePartition(std::string_view store_id, int64_t order_id);

  static nlohmann::json ShipmentToJson(const connectors::Shipment& s);
  static absl::StatusOr<connectors::Shipment> ShipmentFromJson(const nlohmann::json& j);

 private:
  absl::Status Route(jobs::JobContext& ctx);
  absl::Status ReleaseSegment(jobs::JobContext& ctx);
  absl::Status ApplyShipment(jobs::JobContext& ctx);
  absl::Status ApplyRefusal(jobs::JobContext& ctx);
  // Sets segment `s` aside as rejected for `reason` and routes its lines again without the nodes
  // that refused (deferred into the job's commit).
  absl::Status RejectAndReroute(jobs::JobContext& ctx, const store::SegmentRecord& s,
                                const model::Order& order, const std::string& reason);
  absl::Status PostToErp(jobs::JobContext& ctx);
  absl::Status UpdateShop(jobs::JobContext& ctx);
  absl::Status SweepHolds(jobs::JobContext& ctx);
  absl::Status ReleaseHold(jobs::JobContext& ctx);
  // Plans `lines` of `order` (without the nodes in `excluded`), numbering segments from
  // `first_seq`. `others` are the order's segments that stay (their unshipped units keep what
  // the order holds for them).
  absl::StatusOr<std::vector<store::SegmentRecord>> Plan(
      store::Store& store, const model::Order& order, const std::vector<model::RouteLine>& lines,
      const std::vector<std::string>& excluded, int first_seq,
      const std::vector<store::SegmentRecord>& others = {});
  // Reserves what the order's live ship segments need beyond what it holds (options_.reserve).
  absl::Status CoverReservations(store::Tx& tx, std::string_view store_id,
                                 std::string_view order_ref) const;
  // Writes planned segments and queues a release for each ship segment; returns their summary
  // for the timeline.
  absl::StatusOr<nlohmann::json> WritePlan(store::Tx& tx,
                                           const std::vector<store::SegmentRecord>& plan,
                                           const std::string& partition,
                                           const std::string& corr) const;
  store::NewJob ReleaseJob(const std::string& order_partition, const std::string& segment_id,
                           const std::string& corr) const;

  std::map<std::string, connectors::FulfillmentProvider*, std::less<>> providers_;
  OrderMapper mapper_;
  FulfillmentOptions options_;
  obs::Counter* m_released_ = nullptr;
  obs::Counter* m_rejected_ = nullptr;
  obs::Counter* m_shipments_ = nullptr;
  obs::Counter* m_erp_posted_ = nullptr;
  obs::Counter* m_erp_refused_ = nullptr;
  obs::Counter* m_shop_updated_ = nullptr;
  obs::Counter* m_holds_released_ = nullptr;
};

}  // namespace keelson::flows
