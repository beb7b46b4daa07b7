// Cases of the ERP adapter conformance suite (see erp_conformance.h). Adapters instantiate
// them in their own *_test.cc against their simulator.

#include "connectors/erp_conformance.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::testing {
namespace {

using ::testing::HasSubstr;

model::Money Eur(int64_t minor) { return model::Money{minor, "EUR"}; }

model::Customer SampleCustomer(std::string email) {
  model::Customer c;
  c.external_id = 7;
  c.email = email;
  c.billing.first_name = "Ada";
  c.billing.last_name = "Lovelace";
  c.billing.address_1 = "12 Analytical Row";
  c.billing.city = "London";
  c.billing.postcode = "N1 9GU";
  c.billing.country = "GB";
  c.billing.email = email;
  c.billing.phone = "+44 20 7946 0000";
  c.shipping = c.billing;
  c.shipping.email.clear();
  return c;
}

model::OrderLine Line(int64_t id, std::string sku, int64_t qty, int64_t unit_minor) {
  model::OrderLine l;
  l.line_id = id;
  l.sku = std::move(sku);
  l.name = "Item " + l.sku;
  l.product_id = 100 + id;
  l.quantity_ordered = qty;
  l.unit_price = Eur(unit_minor);
  l.subtotal = Eur(unit_minor * qty);
  l.total = Eur(unit_minor * qty);
  l.total_tax = Eur(0);
  return l;
}

model::Order SampleOrder(int64_t id, std::vector<model::OrderLine> lines) {
  model::Order o;
  o.store_id = "main";
  o.order_id = id;
  o.number = std::to_string(id);
  o.currency = "EUR";
  o.status = model::OrderStatus::kProcessing;
  o.customer = SampleCustomer("ada@example.com");
  int64_t sum = 0;
  for (const auto& l : lines) sum += l.total.minor;
  o.lines = std::move(lines);
  o.discount_total = Eur(0);
  o.shipping_total = Eur(0);
  o.total_tax = Eur(0);
  o.total = Eur(sum);
  o.payment.paid = true;
  o.payment.method = "bacs";
  o.refunds_total = Eur(0);
  return o;
}

TEST_P(ErpConformanceTest, FindOrCreateCustomerCreatesOnceAndFindsCaseInsensitively) {
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef first,
                               erp().FindOrCreateCustomer(SampleCustomer("ada@example.com")));
  EXPECT_FALSE(first.id.empty());
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef again,
                               erp().FindOrCreateCustomer(SampleCustomer("ADA@Example.com")));
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(testbed_->CountCustomers("ada@example.com"), 1);
}

TEST_P(ErpConformanceTest, GuestWithoutEmailIsInvalidArgument) {
  EXPECT_THAT(erp().FindOrCreateCustomer(SampleCustomer("")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(testbed_->CountCustomers(""), 0);
}

TEST_P(ErpConformanceTest, CreateSalesOrderCarriesReferenceAndLines) {
  testbed_->AddItem("WIDGET-1", "Widget", Eur(1250));
  testbed_->AddItem("GADGET-2", "Gadget", Eur(999));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef customer,
                               erp().FindOrCreateCustomer(SampleCustomer("ada@example.com")));
  model::Order order = SampleOrder(14, {Line(1, "WIDGET-1", 2, 1250), Line(2, "GADGET-2", 1, 999)});
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef created, erp().CreateSalesOrder(order, customer, {}));
  EXPECT_FALSE(created.id.empty());
  EXPECT_FALSE(created.number.empty());
  EXPECT_TRUE(absl::EqualsIgnoreCase(created.external_reference, "main:14"))
      << created.external_reference;
  EXPECT_EQ(testbed_->CountSalesOrders("main:14"), 1);
  EXPECT_EQ(testbed_->CountSalesOrderLines("main:14"), 2);

  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<ErpOrderRef> found, erp().FindSalesOrder("MAIN:14"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, created.id);
  EXPECT_EQ(found->number, created.number);

  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef got, erp().GetSalesOrder(created.id));
  EXPECT_EQ(got.number, created.number);
  EXPECT_NE(got.state, ErpOrderState::kCancelled);
}

TEST_P(ErpConformanceTest, FindSalesOrderUnknownIsNullopt) {
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<ErpOrderRef> found, erp().FindSalesOrder("main:999"));
  EXPECT_FALSE(found.has_value());
}

TEST_P(ErpConformanceTest, VerifyFirstReturnsExistingOrderInsteadOfCreatingTwo) {
  testbed_->AddItem("WIDGET-1", "Widget", Eur(1250));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef customer,
                               erp().FindOrCreateCustomer(SampleCustomer("ada@example.com")));
  model::Order order = SampleOrder(15, {Line(1, "WIDGET-1", 1, 1250)});
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef first, erp().CreateSalesOrder(order, customer, {}));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef second,
                               erp().CreateSalesOrder(order, customer, {.verify_first = true}));
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(testbed_->CountSalesOrders("main:15"), 1);
}

TEST_P(ErpConformanceTest, CreateThatCommittedButLostItsAnswerIsFoundOnRetry) {
  testbed_->AddItem("WIDGET-1", "Widget", Eur(1250));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef customer,
                               erp().FindOrCreateCustomer(SampleCustomer("ada@example.com")));
  model::Order order = SampleOrder(16, {Line(1, "WIDGET-1", 3, 1250)});
  testbed_->DropResponseAfterNextOrderCreate();
  absl::StatusOr<ErpOrderRef> lost = erp().CreateSalesOrder(order, customer, {});
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(lost.status().code() == absl::StatusCode::kUnavailable ||
              lost.status().code() == absl::StatusCode::kDeadlineExceeded)
      << lost.status();
  EXPECT_EQ(testbed_->CountSalesOrders("main:16"), 1);  // the ERP did commit it

  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef retried,
                               erp().CreateSalesOrder(order, customer, {.verify_first = true}));
  EXPECT_FALSE(retried.id.empty());
  EXPECT_EQ(testbed_->CountSalesOrders("main:16"), 1);
}

TEST_P(ErpConformanceTest, UnknownSkuIsFailedPreconditionAndCreatesNothing) {
  testbed_->AddItem("WIDGET-1", "Widget", Eur(1250));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef customer,
                               erp().FindOrCreateCustomer(SampleCustomer("ada@example.com")));
  model::Order order =
      SampleOrder(17, {Line(1, "WIDGET-1", 1, 1250), Line(2, "NO-SUCH-SKU", 1, 500)});
  absl::StatusOr<ErpOrderRef> result = erp().CreateSalesOrder(order, customer, {});
  EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("unknown SKU"));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("NO-SUCH-SKU"));
  EXPECT_EQ(testbed_->CountSalesOrders("main:17"), 0);

  // Once the item exists, the same order goes through, once.
  testbed_->AddItem("NO-SUCH-SKU", "Late item", Eur(500));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef created,
                               erp().CreateSalesOrder(order, customer, {.verify_first = true}));
  EXPECT_EQ(testbed_->CountSalesOrders("main:17"), 1);
  EXPECT_EQ(testbed_->CountSalesOrderLines("main:17"), 2);
}

TEST_P(ErpConformanceTest, ServiceUnavailableIsRetryable) {
  testbed_->FailNextRequestWith503();
  absl::StatusOr<std::optional<ErpOrderRef>> result = erp().FindSalesOrder("main:18");
  EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kUnavailable));
  // And the next call goes through.
  KEELSON_EXPECT_OK(erp().FindSalesOrder("main:18").status());
}

TEST_P(ErpConformanceTest, CancelIsIdempotentAndRefusedOnceDone) {
  testbed_->AddItem("WIDGET-1", "Widget", Eur(1250));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef customer,
                               erp().FindOrCreateCustomer(SampleCustomer("ada@example.com")));
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpOrderRef a, erp().CreateSalesOrder(SampleOrder(19, {Line(1, "WIDGET-1", 1, 1250)}),
                                            customer, {}));
  KEELSON_EXPECT_OK(erp().CancelSalesOrder(a.id));
  KEELSON_EXPECT_OK(erp().CancelSalesOrder(a.id));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef got, erp().GetSalesOrder(a.id));
  EXPECT_EQ(got.state, ErpOrderState::kCancelled);

  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpOrderRef b, erp().CreateSalesOrder(SampleOrder(20, {Line(1, "WIDGET-1", 1, 1250)}),
                                            customer, {}));
  testbed_->MarkSalesOrderDone("main:20");
  EXPECT_THAT(erp().CancelSalesOrder(b.id), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(ErpConformanceTest, UnknownOrderIdIsNotFound) {
  EXPECT_THAT(erp().GetSalesOrder("999999").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(erp().CancelSalesOrder("999999"), StatusIs(absl::StatusCode::kNotFound));
}

// --- shipments ---------------------------------------------------------------------------

// An order of 3 WIDGET-1 and 1 GADGET-2 in the ERP; its ERP reference.
ErpOrderRef ShippableOrder(ErpTestbed& tb, ErpAdapter& erp, int64_t id) {
  tb.AddItem("WIDGET-1", "Widget", Eur(1250));
  tb.AddItem("GADGET-2", "Gadget", Eur(999));
  auto customer = erp.FindOrCreateCustomer(SampleCustomer("ada@example.com"));
  EXPECT_TRUE(customer.ok()) << customer.status();
  auto created = erp.CreateSalesOrder(
      SampleOrder(id, {Line(1, "WIDGET-1", 3, 1250), Line(2, "GADGET-2", 1, 999)}), *customer, {});
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : ErpOrderRef{};
}

ErpShipmentPost Post(const ErpOrderRef& order, std::string reference,
                     std::vector<ErpShippedLine> lines) {
  return {.order_id = order.id,
          .order_number = order.number,
          .reference = std::move(reference),
          .shipment = "erp/test",
          .lines = std::move(lines)};
}

std::string Posted(const ErpShipmentResult& r) {
  std::string out;
  for (const auto& l : r.posted) absl::StrAppend(&out, l.sku, "=", l.shipped_total, ";");
  return out;
}

TEST_P(ErpConformanceTest, ShipmentsPostCumulativeQuantitiesOnce) {
  ErpOrderRef order = ShippableOrder(*testbed_, erp(), 30);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpShipmentResult first,
                               erp().PostShipment(Post(order, "main:30", {{"WIDGET-1", 2}})));
  EXPECT_EQ(Posted(first), "WIDGET-1=2;");
  EXPECT_EQ(testbed_->ShippedQuantity("main:30", "WIDGET-1"), 2);
  EXPECT_EQ(testbed_->ShippedQuantity("main:30", "GADGET-2"), 0);
  EXPECT_EQ(testbed_->ShipmentDocuments("main:30"), 1);

  // The same totals again (a retry): nothing is posted.
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpShipmentResult again,
                               erp().PostShipment(Post(order, "main:30", {{"WIDGET-1", 2}})));
  EXPECT_EQ(Posted(again), "");
  EXPECT_EQ(testbed_->ShipmentDocuments("main:30"), 1);

  // The rest: only the differences are posted.
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpShipmentResult rest,
      erp().PostShipment(Post(order, "main:30", {{"WIDGET-1", 3}, {"GADGET-2", 1}})));
  EXPECT_EQ(Posted(rest), "GADGET-2=1;WIDGET-1=1;");
  EXPECT_EQ(testbed_->ShippedQuantity("main:30", "WIDGET-1"), 3);
  EXPECT_EQ(testbed_->ShippedQuantity("main:30", "GADGET-2"), 1);
  EXPECT_EQ(testbed_->ShipmentDocuments("main:30"), 2);

  // Complete now (BC has deleted the order): a repeat is still a no-op.
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpShipmentResult after,
      erp().PostShipment(Post(order, "main:30", {{"WIDGET-1", 3}, {"GADGET-2", 1}})));
  EXPECT_EQ(Posted(after), "");
  EXPECT_EQ(testbed_->ShipmentDocuments("main:30"), 2);
}

TEST_P(ErpConformanceTest, AShipmentPostWhoseAnswerWasLostIsNotPostedTwice) {
  ErpOrderRef order = ShippableOrder(*testbed_, erp(), 31);
  KEELSON_ASSERT_OK(erp().PostShipment(Post(order, "main:31", {{"WIDGET-1", 1}})).status());
  testbed_->DropResponseAfterNextShipmentPost();
  absl::StatusOr<ErpShipmentResult> lost =
      erp().PostShipment(Post(order, "main:31", {{"WIDGET-1", 3}, {"GADGET-2", 1}}));
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(lost.status().code() == absl::StatusCode::kUnavailable ||
              lost.status().code() == absl::StatusCode::kDeadlineExceeded)
      << lost.status();
  EXPECT_EQ(testbed_->ShipmentDocuments("main:31"), 2);  // the ERP did post it

  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpShipmentResult retried,
      erp().PostShipment(Post(order, "main:31", {{"WIDGET-1", 3}, {"GADGET-2", 1}})));
  EXPECT_EQ(Posted(retried), "");
  EXPECT_EQ(testbed_->ShippedQuantity("main:31", "WIDGET-1"), 3);
  EXPECT_EQ(testbed_->ShippedQuantity("main:31", "GADGET-2"), 1);
  EXPECT_EQ(testbed_->ShipmentDocuments("main:31"), 2);
}

TEST_P(ErpConformanceTest, ShippingMoreThanOrderedOrAnotherSkuIsRefused) {
  ErpOrderRef order = ShippableOrder(*testbed_, erp(), 32);
  EXPECT_THAT(erp().PostShipment(Post(order, "main:32", {{"WIDGET-1", 4}})).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(erp().PostShipment(Post(order, "main:32", {{"NOT-ON-ORDER", 1}})).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(testbed_->ShippedQuantity("main:32", "WIDGET-1"), 0);
  EXPECT_EQ(testbed_->ShipmentDocuments("main:32"), 0);
}

// Every row of every page since `since`; *pages counts the pages.
absl::StatusOr<std::vector<ErpStockRow>> ListAll(ErpAdapter& erp, absl::Time since,
                                                 int* pages = nullptr) {
  std::vector<ErpStockRow> rows;
  std::string token;
  for (int page = 1; page <= 100; ++page) {
    absl::StatusOr<ErpStockPage> p = erp.ListStockChanges(since, token);
    if (!p.ok()) return p.status();
    rows.insert(rows.end(), p->rows.begin(), p->rows.end());
    if (pages != nullptr) *pages = page;
    if (p->next_page_token.empty()) return rows;
    token = p->next_page_token;
  }
  return absl::InternalError("more than 100 pages");
}

std::map<std::string, int64_t> OnHandBySku(const std::vector<ErpStockRow>& rows) {
  std::map<std::string, int64_t> out;
  for (const ErpStockRow& r : rows) out[r.sku] = r.on_hand;
  return out;
}

const absl::Time kT0 = absl::FromUnixSeconds(1'772'359'200);  // 2026-03-01 10:00:00 UTC

TEST_P(ErpConformanceTest, StockChangesListEveryLevelOnAFullScanAcrossPages) {
  for (const char* sku : {"SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E"}) {
    testbed_->AddItem(sku, sku, Eur(100));
  }
  int64_t n = 0;
  for (const char* sku : {"SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E"}) {
    ++n;
    testbed_->SetStock(sku, 10 * n, kT0 + absl::Seconds(n));
  }
  int pages = 0;
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<ErpStockRow> rows,
                               ListAll(erp(), absl::InfinitePast(), &pages));
  ASSERT_EQ(rows.size(), 5u);  // each level once, whatever the paging
  EXPECT_GE(pages, 3);
  EXPECT_EQ(OnHandBySku(rows),
            (std::map<std::string, int64_t>{
                {"SKU-A", 10}, {"SKU-B", 20}, {"SKU-C", 30}, {"SKU-D", 40}, {"SKU-E", 50}}));
  for (const ErpStockRow& r : rows) {
    EXPECT_EQ(r.location, testbed_->StockLocation()) << r.sku;
    EXPECT_GE(r.modified_at, kT0) << r.sku;
  }
}

TEST_P(ErpConformanceTest, StockChangesHonourSinceInclusively) {
  for (const char* sku : {"SKU-A", "SKU-B", "SKU-C"}) testbed_->AddItem(sku, sku, Eur(100));
  testbed_->SetStock("SKU-A", 5, kT0);
  testbed_->SetStock("SKU-B", 7, kT0 + absl::Seconds(10));
  testbed_->SetStock("SKU-C", 1, kT0 + absl::Seconds(20));

  // From the instant of B's change: B again (a re-read from a high-water mark sees it), C, not A.
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<ErpStockRow> rows,
                               ListAll(erp(), kT0 + absl::Seconds(10)));
  EXPECT_EQ(OnHandBySku(rows), (std::map<std::string, int64_t>{{"SKU-B", 7}, {"SKU-C", 1}}));
  // Between two changes: never the older one.
  KEELSON_ASSERT_OK_AND_ASSIGN(rows, ListAll(erp(), kT0 + absl::Seconds(15)));
  EXPECT_EQ(OnHandBySku(rows), (std::map<std::string, int64_t>{{"SKU-C", 1}}));
  // Past every change: nothing.
  KEELSON_ASSERT_OK_AND_ASSIGN(rows, ListAll(erp(), kT0 + absl::Minutes(5)));
  EXPECT_TRUE(rows.empty());
}

TEST_P(ErpConformanceTest, AnItemAppearsOnceItsStockChanges) {
  for (const char* sku : {"SKU-A", "SKU-B"}) testbed_->AddItem(sku, sku, Eur(100));
  testbed_->SetStock("SKU-A", 5, kT0);
  testbed_->SetStock("SKU-B", 6, kT0);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<ErpStockRow> rows,
                               ListAll(erp(), kT0 + absl::Seconds(30)));
  EXPECT_TRUE(rows.empty());

  testbed_->SetStock("SKU-A", 3, kT0 + absl::Minutes(1));
  KEELSON_ASSERT_OK_AND_ASSIGN(rows, ListAll(erp(), kT0 + absl::Seconds(30)));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sku, "SKU-A");
  EXPECT_EQ(rows[0].on_hand, 3);
  EXPECT_EQ(rows[0].location, testbed_->StockLocation());
  EXPECT_EQ(rows[0].modified_at, kT0 + absl::Minutes(1));
}

TEST_P(ErpConformanceTest, StockReadFailuresAreClassified) {
  testbed_->FailNextRequestWith503();
  EXPECT_THAT(erp().ListStockChanges(absl::InfinitePast(), "").status(),
              StatusIs(absl::StatusCode::kUnavailable));
  KEELSON_EXPECT_OK(erp().ListStockChanges(absl::InfinitePast(), "").status());
}

}  // namespace
}  // namespace keelson::connectors::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ErpConformanceTest);
