#pragma once
// The conformance suite every ErpAdapter must pass, against its simulator. The cases are
// TEST_P of ErpConformanceTest in erp_conformance_test.cc; each adapter instantiates them
// with a factory that starts its simulator (port 0, in-process) and builds the adapter on it:
//
//   INSTANTIATE_TEST_SUITE_P(BusinessCentral, ErpConformanceTest,
//                            ::testing::Values(ErpBackend{"BusinessCentral", &MakeBcTestbed}),
//                            ErpBackendName);
//
// The testbed is the suite's view of the simulator: it seeds items and counts what the ERP
// holds, so the cases assert real outcomes (exact counts of orders in the simulator).

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "connectors/erp.h"
#include "gtest/gtest.h"
#include "model/money.h"

namespace keelson::connectors::testing {

class ErpTestbed {
 public:
  virtual ~ErpTestbed() = default;
  virtual ErpAdapter& adapter() = 0;

  // Makes an item sellable in the ERP (BC item `number` / Odoo product `default_code`).
  virtual void AddItem(std::string_view sku, std::string_view name, model::Money unit_price) = 0;
  // Sales orders whose external reference equals `reference` (case-insensitive).
  virtual int64_t CountSalesOrders(std::string_view reference) = 0;
  // Lines on the (single) order with that reference; -1 when there is no such order.
  virtual int64_t CountSalesOrderLines(std::string_view reference) = 0;
  // Customers with that email (case-insensitive).
  virtual int64_t CountCustomers(std::string_view email) = 0;
  // Marks the order shipped/done in the ERP, so it can no longer be cancelled.
  virtual void MarkSalesOrderDone(std::string_view reference) = 0;

  // Stock: sets the on-hand of an item added with AddItem at the ERP's usual place (BC: the
  // item's inventory, changed so that lastModifiedDateTime moves; Odoo: its quant at WH/Stock),
  // as modified at `modified_at`. The factory builds the adapter with 2 stock rows per page, so
  // the cases page.
  virtual void SetStock(std::string_view sku, int64_t on_hand, absl::Time modified_at) = 0;
  // The location ListStockChanges reports for SetStock's rows ("" for an ERP that reports one
  // total per item).
  virtual std::string StockLocation() = 0;

  // Shipping: the units of `sku` the ERP holds as shipped (delivered) on the order with that
  // reference, whatever became of the order document since (BC deletes it once it is completely
  // shipped and invoiced); and how many shipment documents were posted for it (BC posted sales
  // shipments, Odoo validated pickings).
  virtual int64_t ShippedQuantity(std::string_view reference, std::string_view sku) = 0;
  virtual int64_t ShipmentDocuments(std::string_view reference) = 0;

  // Faults, each for the next matching request only:
  // the next sales-order create commits and then the connection is dropped without an answer.
  virtual void DropResponseAfterNextOrderCreate() = 0;
  // the next shipment posting (BC shipAndInvoice, Odoo button_validate) commits and then the
  // connection is dropped without an answer.
  virtual void DropResponseAfterNextShipmentPost() = 0;
  // the next request of any kind is answered with a 503 (with Retry-After where the ERP sends it).
  virtual void FailNextRequestWith503() = 0;
};

using ErpTestbedFactory = std::function<std::unique_ptr<ErpTestbed>()>;

struct ErpBackend {
  std::string name;  // a valid test-name suffix
  ErpTestbedFactory make;
};

inline void PrintTo(const ErpBackend& backend, std::ostream* os) { *os << backend.name; }
inline std::string ErpBackendName(const ::testing::TestParamInfo<ErpBackend>& info) {
  return info.param.name;
}

class ErpConformanceTest : public ::testing::TestWithParam<ErpBackend> {
 protected:
  void SetUp() override {
    testbed_ = GetParam().make();
    ASSERT_NE(testbed_, nullptr);
  }
  ErpAdapter& erp() { return testbed_->adapter(); }

  std::unique_ptr<ErpTestbed> testbed_;
};

}  // namespace keelson::connectors::testing
