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
// plus what this order itself holds there, so the order's own reservation counts for it.
//
// Thread-safety: the service is immutable after construction; handlers may run concurrently.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

struct FulfillmentOptions {
  std::vector<model::FulfillmentNode> nodes;
  int max_attempts = 12;
  // Takes the order's cumulative shipped units per SKU and location out of its reservation and
  // off the shelf (InventoryService::Consume with located lines), inside the commit that applies
  // the shipment; empty = no stock bookkeeping.
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref,
                             const std::vector<InventoryLine>& shipped)>
      consume;
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
  // Plans `lines` of `order` (without the nodes in `excluded`), numbering segments from `first_seq`.
  absl::StatusOr<std::vector<store::SegmentRecord>> Plan(
      store::Store& store, const model::Order& order, const std::vector<model::RouteLine>& lines,
      const std::vector<std::string>& excluded, int first_seq);
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
};

}  // namespace keelson::flows
