#pragma once
// connectors::ErpAdapter for Microsoft Dynamics 365 Business Central online, API v2.0
// (README.md: what it syncs, auth, limits, error mapping, and the vendor documentation).
//
// Requests per call, in the common case:
//   FindOrCreateCustomer  1 (found) or 2 (created)
//   FindSalesOrder        1                      GetSalesOrder  1
//   CreateSalesOrder      1 (+1 with verify_first) (+1 when the order names an item number this
//                         process has not yet seen: all unseen numbers in one items query)
//   CancelSalesOrder      1 (+1 PATCH per line the first time)
//   ListStockChanges      1 per page
//   PostShipment          1 (nothing left to post), else 2 + 1 PATCH per item line whose
//                         shipQuantity changes; +1 (posted shipments) when the order is gone
// Pace them with a net::Endpoint around the HttpClient given here (app/wiring.cc does).
//
// Ownership: borrows `http` and the options' clock. Thread-safety: thread-safe (erp.h).

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "connectors/erp.h"
#include "connectors/erp/business_central/client.h"
#include "connectors/erp/business_central/mapping.h"
#include "net/http_client.h"

namespace keelson::connectors::business_central {

struct AdapterOptions {
  ClientOptions client;
  OrderMappingOptions mapping;
  // Item numbers known to exist are remembered so orders do not look them up again; the set is
  // cleared when it reaches this size. An item deleted later is caught by BC's own check.
  size_t max_known_items = 100000;
  // Items per page of ListStockChanges (`Prefer: odata.maxpagesize`; BC online serves at most
  // 20,000).
  int stock_page_size = 1000;
};

class BusinessCentralAdapter final : public ErpAdapter {
 public:
  BusinessCentralAdapter(AdapterOptions options, net::HttpClient& http);

  std::string_view name() const override { return "business_central"; }
  absl::StatusOr<ErpCustomerRef> FindOrCreateCustomer(const model::Customer& customer) override;
  absl::StatusOr<std::optional<ErpOrderRef>> FindSalesOrder(std::string_view reference) override;
  absl::StatusOr<ErpOrderRef> CreateSalesOrder(const model::Order& order,
                                               const ErpCustomerRef& customer,
                                               const CreateOrderOptions& options) override;
  absl::StatusOr<ErpOrderRef> GetSalesOrder(std::string_view id) override;
  // Business Central has no cancelled status for sales orders, and a DELETE leaves nothing to
  // answer a repeated cancel or GetSalesOrder with, so cancelling sets every line's quantity to
  // 0 (OrderState reads that as kCancelled). Only a Draft order (Sales Header "Open") with
  // nothing shipped can be cancelled; a released or shipped one is kFailedPrecondition.
  absl::Status CancelSalesOrder(std::string_view id) override;
  // GET items?$filter=lastModifiedDateTime ge <since> (no filter for a full scan) with
  // `Prefer: odata.maxpagesize`; the page token is BC's @odata.nextLink. One row per item of
  // type Inventory, location "" (the total). lastModifiedDateTime is the Item record's
  // SystemModifiedAt, which posting does not move: see README.md "Stock".
  absl::StatusOr<ErpStockPage> ListStockChanges(absl::Time since,
                                                std::string_view page_token) override;
  // Reads the order with its lines; per SKU, ships target − Σ shippedQuantity (never more than
  // outstanding: kFailedPrecondition) by PATCHing every item line's shipQuantity (with its
  // @odata.etag; 0 on lines not shipped now) and POSTing the bound action
  // Microsoft.NAV.shipAndInvoice. An order BC no longer has (posting the last units deletes it)
  // is answered from its posted salesShipments: OK when they hold every target.
  absl::StatusOr<ErpShipmentResult> PostShipment(const ErpShipmentPost& post) override;

  const Client& client() const { return client_; }

 private:
  absl::StatusOr<std::optional<ErpOrderRef>> FindByExternalDocumentNumber(std::string_view edn);
  // kFailedPrecondition "unknown SKU '<sku>'" for the first SKU of `order` that has no item (or
  // a blocked one); queries only numbers not yet known.
  absl::Status CheckItems(const model::Order& order);
  absl::StatusOr<nlohmann::json> ReadOrder(std::string_view id);
  absl::StatusOr<ErpShipmentResult> PostedBeforeDeletion(
      const ErpShipmentPost& post, const std::map<std::string, int64_t>& targets,
      const absl::Status& not_found);

  const AdapterOptions options_;
  Client client_;

  absl::Mutex items_mu_;
  absl::flat_hash_set<std::string> known_items_ ABSL_GUARDED_BY(items_mu_);  // upper-cased

  // Emails whose find-or-create is under way: a second worker waits instead of creating the
  // customer twice.
  absl::Mutex customers_mu_;
  absl::CondVar customers_cv_;
  absl::flat_hash_set<std::string> customers_in_progress_ ABSL_GUARDED_BY(customers_mu_);
};

}  // namespace keelson::connectors::business_central
