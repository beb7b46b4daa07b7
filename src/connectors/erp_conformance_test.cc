// Cases of the ERP adapter conformance suite (see erp_conformance.h). Adapters instantiate
// them in their own *_test.cc against their simulator.

#include "connectors/erp_conformance.h"

#include "absl/strings/match.h"
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

}  // namespace
}  // namespace keelson::connectors::testing

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ErpConformanceTest);
