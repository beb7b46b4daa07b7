#pragma once
// What the fulfillment flow needs from a place that ships: a 3PL over REST (ShipBob-like), a
// trading partner over EDI X12 (940 out; 945/856 back), or the own warehouse through the ERP.
// One provider per connector under connectors/fulfillment/<name>/.
//
// Rules every provider follows (as the ERP adapters do, connectors/erp.h):
// - Never retry, never sleep: classify the outcome into an absl::Status (kUnavailable /
//   kDeadlineExceeded / kResourceExhausted are retried by the job runner; kFailedPrecondition is
//   a business refusal the operator sees — e.g. the 3PL does not know a SKU; kInvalidArgument is
//   our data rejected).
// - Release is idempotent by the segment id: the provider stores it where the remote keeps a
//   unique client reference (ShipBob `reference_id`, X12 940 W05-02 depositor order number), and
//   with `verify_first` looks it up before creating, so a release that timed out after the
//   remote committed never becomes two shipments.
// - Shipments come back as normalized Shipment values (from a webhook, a 945 or an 856), each
//   with an id unique within its provider so that a redelivered notice is applied once.
//
// Thread-safety: providers are shared by all workers; every method is thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/order.h"
#include "store/store.h"

namespace keelson::connectors {

struct ReleaseLine {
  int64_t line_id = 0;  // the shop's line id
  std::string sku;
  std::string name;
  int64_t quantity = 0;
};

struct ReleaseRequest {
  std::string segment_id;  // "main:1234/2": the idempotency key at the provider
  std::string order_ref;   // "main:1234"
  std::string node_id;     // the routing node ("shipbob-east")
  std::string order_number;  // what the customer sees
  model::Address ship_to;
  std::string email;
  std::string shipping_method;  // the shop's method title ("Standard")
  std::vector<ReleaseLine> lines;
};

struct ReleaseOptions {
  bool verify_first = false;  // look the segment id up first; return the existing one
};

struct ReleaseResult {
  std::string provider_id;    // the provider's id of the order/shipment request
  bool already_existed = false;
  // Writes the provider needs committed in the same transaction as the segment's release — a
  // provider that sends later, in batches (EDI: the 940 queued for the next interchange), keeps
  // its outbox here, so "released" and "queued to send" are one atomic step. Empty = none.
  std::function<absl::Status(store::Tx&)> commit;
};

struct ShipmentLine {
  std::string sku;
  int64_t quantity = 0;
  int64_t line_id = 0;  // 0 when the provider does not echo line ids
};

struct Shipment {
  std::string provider;      // "shipbob", "edi:acme"
  std::string shipment_id;   // unique within the provider (dedupe key)
  std::string segment_id;    // the release's segment id the provider echoed back
  std::string carrier;       // "UPS", SCAC or the provider's name
  std::string tracking_number;
  std::string tracking_url;
  absl::Time shipped_at = absl::InfinitePast();
  std::vector<ShipmentLine> lines;
  // The provider will ship nothing more of this segment (a short pick: units it could not find):
  // what neither this nor an earlier shipment covered is routed again, without this node.
  bool closes_segment = false;
};

class FulfillmentProvider {
 public:
  virtual ~FulfillmentProvider() = default;
  virtual std::string_view name() const = 0;
  // Hands one segment to the provider to ship.
  virtual absl::StatusOr<ReleaseResult> Release(const ReleaseRequest& request,
                                                const ReleaseOptions& options) = 0;
};

}  // namespace keelson::connectors
