#pragma once
// Order-to-cash: a paid shop order becomes exactly one ERP sales order, whatever the network, the
// shop or the ERP does; a cancellation before shipment cancels it; the ERP number is written back
// to the shop. See docs/architecture.md ("the life of an order").
//
// How it stays exactly-once:
// - Every job about one shop order (ingest, ERP create, ERP cancel, write-back) shares the
//   order's partition key (`woo:{store}:order:{id}`, the one intake gives the ingest job), so
//   they run one at a time, in order, and each decides on state the previous one committed.
// - The order's snapshot is replaced only by a strictly newer `date_modified_gmt`
//   (Tx::PutOrderIfNewer): duplicates and out-of-order deliveries are dropped, visibly.
//   WooCommerce's dates have whole seconds, so two changes in one second share a version: a
//   delivery with the held version but a different status, total or lines is ambiguous, and
//   the flow asks the shop for the order as it is now and keeps that (without REST credentials,
//   the later arrival wins).
// - The ERP create carries the order reference ("main:14"); any attempt after the first (retry,
//   lease expiry after a crash, replay) asks the adapter to look the reference up first, so a
//   create that committed but lost its answer is found instead of repeated.
// - Each job's state change, timeline entries and follow-up jobs are Deferred: they commit
//   atomically with the job's outcome.
//
// Job kinds (all registered by Register):
//   order.erp_create     create the ERP order (customer find-or-create first)
//   order.erp_cancel     cancel it (an order the ERP has shipped is a business exception)
//   order.shop_writeback note with the ERP number + meta `_keelson_erp_ref` on the shop order;
//                        only when the write-back the create job does at once has failed
//
// Thread-safety: one instance serves all workers; the adapters it holds must be thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "connectors/erp.h"
#include "events/emitter.h"
#include "flows/webhook_ingest.h"
#include "jobs/runner.h"
#include "model/order.h"

namespace keelson::obs {
class Registry;
class Counter;
}  // namespace keelson::obs

namespace keelson::flows {

struct OrderKey;  // store id + shop order id (order_to_cash.cc)

inline constexpr char kErpCreateJobKind[] = "order.erp_create";
inline constexpr char kErpCancelJobKind[] = "order.erp_cancel";
inline constexpr char kShopWritebackJobKind[] = "order.shop_writeback";
inline constexpr char kErpRefMetaKey[] = "_keelson_erp_ref";

// Fields of a shop order written in one request (WooCommerce: PUT /orders/{id}).
struct ShopOrderUpdate {
  std::optional<std::string> status;                      // a status slug; unset = unchanged
  std::vector<std::pair<std::string, std::string>> meta;  // meta_data key -> value, upserted
};

// What the flow reads from and writes back to a shop (the WooCommerce REST client behind it in
// production). Same error classification as connectors/erp.h.
class ShopWriteBack {
 public:
  virtual ~ShopWriteBack() = default;
  // The order as the shop holds it now (the webhook payload's shape).
  virtual absl::StatusOr<nlohmann::json> FetchOrder(int64_t order_id) = 0;
  // The value of the order's meta_data entry `key`, or nullopt when absent.
  virtual absl::StatusOr<std::optional<std::string>> GetOrderMeta(int64_t order_id,
                                                                  std::string_view key) = 0;
  virtual absl::Status AddOrderNote(int64_t order_id, std::string_view note) = 0;
  // Whether the order already carries a note with exactly this text.
  virtual absl::StatusOr<bool> HasOrderNote(int64_t order_id, std::string_view note) = 0;
  virtual absl::Status SetOrderMeta(int64_t order_id, std::string_view key,
                                    std::string_view value) = 0;
  // A note the customer sees (the shop e-mails it). kUnimplemented unless overridden.
  virtual absl::Status AddCustomerNote(int64_t order_id, std::string_view note) {
    (void)order_id;
    (void)note;
    return absl::UnimplementedError("this shop takes no customer notes");
  }
  // Writes `update` in one request. kUnimplemented unless overridden.
  virtual absl::Status UpdateOrder(int64_t order_id, const ShopOrderUpdate& update) {
    (void)order_id;
    (void)update;
    return absl::UnimplementedError("this shop takes no order updates");
  }
};

// Shop order JSON -> canonical order (connectors/woocommerce/mapping.h in production).
using OrderMapper =
    std::function<absl::StatusOr<model::Order>(std::string_view store_id, const nlohmann::json&)>;

// What order-to-cash tells the sellable-inventory service (flows/inventory.h), inside the commit
// that accepts the order's new state, so stock moves exactly when the order does. Each call is
// idempotent per order. Empty functions: no inventory.
struct StockHooks {
  using Lines = std::vector<std::pair<std::string, int64_t>>;  // sku, quantity
  // The order is paid (a `create_on` status): hold its units.
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref,
                             const Lines& lines)>
      reserve;
  // Completed: its units left the warehouse (cumulative shipped quantities).
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref,
                             const Lines& shipped)>
      consume;
  // Cancelled, refunded, trashed or deleted: give back whatever it still holds.
  std::function<absl::Status(store::Tx&, std::string_view store_id, std::string_view order_ref)>
      release;
};

struct OrderToCashOptions {
  // Shop statuses that mean "paid: create the ERP order".
  std::vector<model::OrderStatus> create_on = {model::OrderStatus::kProcessing,
                                               model::OrderStatus::kCompleted};
  bool write_back = true;
  int max_attempts = 12;
  StockHooks stock;
  // Called in the commit that records the ERP sales order (fulfillment routing starts there).
  std::function<absl::Status(store::Tx&, std::string_view store_id, int64_t order_id,
                             std::string_view correlation_id)>
      on_erp_created;
  // Business events (order.accepted, order.cancelled) written with the ERP state they report.
  events::Emitter events;
};

class OrderToCash {
 public:
  // `erp` must outlive this. `shop_for(store_id)` returns the write-back client of a store or
  // null when that store has none configured (write-back is then skipped, visibly).
  OrderToCash(connectors::ErpAdapter* erp, OrderMapper mapper,
              std::function<ShopWriteBack*(std::string_view store_id)> shop_for,
              OrderToCashOptions options, obs::Registry* metrics = nullptr);

  // The ingest job's ResourceHandler: handles resource "order", ignores the others.
  absl::Status OnDelivery(jobs::JobContext& ctx, const IngestedDelivery& delivery);

  // Registers the three job kinds above.
  void Register(jobs::HandlerRegistry& registry);

  // The partition key every job of one shop order uses.
  static std::string PartitionKey(std::string_view store_id, int64_t order_id);

 private:
  absl::Status CreateInErp(jobs::JobContext& ctx);
  absl::Status CancelInErp(jobs::JobContext& ctx);
  absl::Status WriteBack(jobs::JobContext& ctx);
  // Note + meta on the shop order; with `may_have_run_before`, reads the meta first and stops if
  // it already holds `number`.
  absl::Status WriteBackNow(jobs::JobContext& ctx, const OrderKey& key,
                            const std::string& number, bool may_have_run_before);
  bool WantsErpOrder(model::OrderStatus status) const;

  connectors::ErpAdapter* erp_;
  OrderMapper mapper_;
  std::function<ShopWriteBack*(std::string_view)> shop_for_;
  OrderToCashOptions options_;
  obs::Counter* m_created_ = nullptr;
  obs::Counter* m_cancelled_ = nullptr;
  obs::Counter* m_stale_ = nullptr;
  obs::Counter* m_writebacks_ = nullptr;
};

// True for statuses after which the ERP order must not stay open: cancelled, refunded, trash
// (and a permanently deleted order, which arrives as a `{"id":N}` stub).
bool IsCancellation(model::OrderStatus status);

}  // namespace keelson::flows
