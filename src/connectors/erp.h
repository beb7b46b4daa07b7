#pragma once
// What the order-to-cash flow needs from an ERP, whichever one it is (Business Central, Odoo,
// ...). One adapter per ERP under connectors/<erp>/; all pass the shared conformance suite in
// connectors/erp_conformance.h.
//
// Rules every adapter follows:
// - Adapters never retry and never sleep. They make the calls, classify the outcome into an
//   absl::Status and return; the job runner (jobs/retry_policy.h) retries or parks:
//     kUnavailable / kDeadlineExceeded  transport failure, 5xx, timeout      -> retried
//     kResourceExhausted                429 / throttled; WithRetryAfter when the remote says
//     kFailedPrecondition               a business problem the operator fixes (unknown SKU,
//                                       blocked customer, ...): parked, replayable
//     kInvalidArgument                  the remote rejected our data as invalid
//     kUnauthenticated / kPermissionDenied  credentials or permissions
//     kNotFound                         the named ERP record does not exist
//   The message says what the ERP said (its error code and message), never a secret.
// - Unknown SKU: kFailedPrecondition whose message starts with "unknown SKU" and names it; no
//   order is created.
// - Sales orders carry the store's order reference (model::Order::Reference(), e.g. "main:14")
//   as their external reference. References are compared case-insensitively (Business Central
//   upper-cases Code fields).
// - CreateSalesOrder is idempotent by that reference when `verify_first` is set: the adapter
//   looks the reference up and returns the existing order instead of creating a second one.
//   The flow sets it on every attempt after the first, so a create that timed out after the ERP
//   committed never becomes two orders.
//
// - Stock truth (ListStockChanges) is read-only and paged; see there.
// - Shipments (PostShipment) are posted by cumulative quantities, so a repeated post posts
//   nothing twice; see there.
//
// Thread-safety: adapters are shared by all workers; every method is thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/order.h"

namespace keelson::connectors {

struct ErpCustomerRef {
  std::string id;      // the ERP's key (BC: GUID id; Odoo: res.partner id as decimal)
  std::string number;  // human-facing number where the ERP has one (BC customer number)
};

enum class ErpOrderState {
  kOpen,       // created, not yet confirmed/released
  kConfirmed,  // released (BC) / sale (Odoo)
  kCancelled,
  kDone,       // shipped/invoiced/locked: too late to cancel
};
std::string_view ErpOrderStateName(ErpOrderState state);

struct ErpOrderRef {
  std::string id;                  // the ERP's key (BC: GUID; Odoo: sale.order id)
  std::string number;              // human-facing number (BC "S-ORD101001", Odoo "S00042")
  std::string external_reference;  // as stored by the ERP (BC upper-cases it)
  ErpOrderState state = ErpOrderState::kOpen;
};

struct CreateOrderOptions {
  // Look the reference up first and return the existing order if there is one.
  bool verify_first = false;
};

// One stock level as the ERP holds it.
struct ErpStockRow {
  std::string sku;       // BC item number / Odoo product default_code, as the ERP stores it
  std::string location;  // the ERP's location (Odoo: the location's complete name, "WH/Stock");
                         // "" when the ERP reports one total per item (BC `items.inventory`)
  int64_t on_hand = 0;   // whole units, rounded down; negative when the ERP's stock is negative
  int64_t reserved = 0;  // what the ERP itself has reserved (Odoo reserved_quantity; BC 0).
                         // Informational: it includes Keelson's own orders once the ERP has them
  absl::Time modified_at = absl::InfinitePast();  // the ERP's last-modified time of the row
};

struct ErpStockPage {
  std::vector<ErpStockRow> rows;
  std::string next_page_token;  // empty on the last page
};

// One SKU of a shipment posting: every unit of it Keelson has recorded as shipped for the order,
// up to and including the shipment being posted.
struct ErpShippedLine {
  std::string sku;
  int64_t shipped_total = 0;
};

struct ErpShipmentPost {
  std::string order_id;      // the ERP's key of the sales order (ErpOrderRef::id)
  std::string order_number;  // its number, for messages
  std::string reference;     // the shop order's reference ("main:14"), the order's external one
  std::string shipment;      // what is being posted ("erp/SHP-1": provider/shipment id), messages
  std::vector<ErpShippedLine> lines;  // cumulative, per SKU; SKUs not listed are not touched
};

struct ErpShipmentResult {
  // Units this call posted, per SKU; empty when the ERP held every total already (a repeat).
  std::vector<ErpShippedLine> posted;
  std::string document;  // the ERP's document(s) the posting made or found (picking names, ...)
};

class ErpAdapter {
 public:
  virtual ~ErpAdapter() = default;

  // "business_central", "odoo": used in metrics, timelines and xrefs.
  virtual std::string_view name() const = 0;

  // Finds the customer by email (case-insensitive) or creates one from the billing address.
  // A guest order with no email is kInvalidArgument.
  virtual absl::StatusOr<ErpCustomerRef> FindOrCreateCustomer(const model::Customer& customer) = 0;

  // The order whose external reference equals `reference` (case-insensitive), or nullopt.
  virtual absl::StatusOr<std::optional<ErpOrderRef>> FindSalesOrder(std::string_view reference) = 0;

  // Creates the sales order for `order` (lines by SKU, shipping and fees as the adapter's README
  // describes) for `customer`, confirming it where the ERP separates draft from confirmed.
  virtual absl::StatusOr<ErpOrderRef> CreateSalesOrder(const model::Order& order,
                                                       const ErpCustomerRef& customer,
                                                       const CreateOrderOptions& options) = 0;

  // Current state of the order with ERP key `id`; kNotFound when there is none.
  virtual absl::StatusOr<ErpOrderRef> GetSalesOrder(std::string_view id) = 0;

  // Cancels the order with ERP key `id`. Cancelling a cancelled order succeeds (idempotent);
  // an order already shipped/done is kFailedPrecondition; an unknown id kNotFound.
  virtual absl::Status CancelSalesOrder(std::string_view id) = 0;

  // Stock levels whose ERP modification time is at or after `since` (inclusive, so re-reading
  // from a high-water mark sees the rows at that instant again; an ERP that keeps whole seconds
  // compares from `since` rounded down to the second). `since` = absl::InfinitePast() lists every
  // level (a full scan). One page per call: the first with `page_token` "", the next ones with
  // the previous page's next_page_token and the same `since`. A SKU × location appears at most
  // once per page; its on_hand is the ERP's total there (Odoo sums the quants of lots and
  // packages). Whether a stock movement moves the modification time is the ERP's affair: the
  // adapter's README says (Business Central's does not: poll with full scans too).
  // Errors as above; kUnimplemented from an adapter that cannot read stock.
  virtual absl::StatusOr<ErpStockPage> ListStockChanges(absl::Time since,
                                                        std::string_view page_token) {
    (void)since;
    (void)page_token;
    return absl::UnimplementedError("this ERP adapter does not read stock");
  }

  // Posts shipped units against the sales order: the ERP's own shipment/delivery document, so its
  // stock, invoicing and order state follow what left the warehouse. Idempotent by cumulative
  // quantities: the adapter reads what the ERP holds as shipped of each SKU on the order and
  // posts only the difference up to `shipped_total` (never less: a SKU the ERP holds as shipped
  // beyond it is left alone), so a post repeated after an uncertain outcome posts nothing twice.
  // Errors: kFailedPrecondition when the order cannot take the units (more than outstanding, a
  // SKU not on the order, a cancelled order, a document the ERP wants a person to complete);
  // kNotFound when there is no such order; the rest as above. kUnimplemented by default.
  virtual absl::StatusOr<ErpShipmentResult> PostShipment(const ErpShipmentPost& post) {
    (void)post;
    return absl::UnimplementedError("this ERP adapter does not post shipments");
  }
};

}  // namespace keelson::connectors
