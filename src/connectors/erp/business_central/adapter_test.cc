// The shared ERP conformance suite against the Business Central simulator, and the cases only
// Business Central has: OAuth token lifetime, throttling answers, Code[35] references, the
// G/L account lines for shipping and fees, and cancel-by-zero-quantity.

#include "connectors/erp/business_central/adapter.h"

#include <thread>

#include "absl/strings/match.h"
#include "connectors/erp_conformance.h"
#include "core/clock.h"
#include "core/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/retry_policy.h"
#include "net/endpoint.h"
#include "sim/business_central.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::business_central {
namespace {

using ::keelson::connectors::testing::ErpBackend;
using ::keelson::connectors::testing::ErpBackendName;
using ::keelson::connectors::testing::ErpConformanceTest;
using ::keelson::connectors::testing::ErpTestbed;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

// The simulator, a curl client (optionally behind a limiter) and the adapter on it.
class BcTestbed final : public ErpTestbed {
 public:
  explicit BcTestbed(sim::BusinessCentralSim::Options sim_options = {},
                     std::function<void(AdapterOptions&)> tweak = {},
                     std::optional<net::EndpointOptions> limits = std::nullopt) {
    // Stock rows carry the simulator's clock: without one of the caller's, a fake of our own
    // lets SetStock say when a change happened.
    if (sim_options.clock == core::Clock::Real()) {
      own_clock_ = std::make_unique<core::FakeClock>();
      sim_options.clock = own_clock_.get();
    }
    sim_ = std::make_unique<sim::BusinessCentralSim>(sim_options);
    absl::Status started = sim_->Start();
    EXPECT_TRUE(started.ok()) << started;
    curl_ = net::NewCurlHttpClient();
    net::HttpClient* http = curl_.get();
    if (limits) {
      limited_ = std::make_unique<net::Endpoint>(*curl_, *limits);
      http = limited_.get();
    }
    const auto& o = sim_->options();
    AdapterOptions options;
    options.client = {.base_url = sim_->base_url(),
                      .company_id = o.company_id,
                      .token_url = sim_->token_url(),
                      .client_id = o.client_id,
                      .client_secret = o.client_secret,
                      .scope = o.scope,
                      .timeout = absl::Seconds(20),
                      .clock = o.clock};
    options.mapping = {.shipping_account = "6610", .fee_account = "6620"};
    if (tweak) tweak(options);
    adapter_ = std::make_unique<BusinessCentralAdapter>(options, *http);
  }

  ErpAdapter& adapter() override { return *adapter_; }
  BusinessCentralAdapter& bc() { return *adapter_; }
  sim::BusinessCentralSim& sim() { return *sim_; }

  void AddItem(std::string_view sku, std::string_view name, model::Money price) override {
    sim_->AddItem(sku, name, price);
  }
  int64_t CountSalesOrders(std::string_view reference) override {
    return sim_->CountSalesOrders(reference);
  }
  int64_t CountSalesOrderLines(std::string_view reference) override {
    return sim_->SalesOrderLineCount(reference);
  }
  int64_t CountCustomers(std::string_view email) override { return sim_->CountCustomers(email); }
  void MarkSalesOrderDone(std::string_view reference) override { sim_->MarkShipped(reference); }
  void DropResponseAfterNextOrderCreate() override { sim_->DropResponseAfterNextOrderCreate(); }
  void FailNextRequestWith503() override { sim_->FailNextRequests(1, 503); }
  int64_t ShippedQuantity(std::string_view reference, std::string_view sku) override {
    double n = 0;
    for (const auto& l : sim_->ShippedLines(reference)) {
      if (l.line_type == "Item" && absl::EqualsIgnoreCase(l.number, core::AbslSv(sku))) {
        n += l.shipped;
      }
    }
    return static_cast<int64_t>(n);
  }
  int64_t ShipmentDocuments(std::string_view reference) override {
    return sim_->PostedShipmentCount(reference);
  }
  void DropResponseAfterNextShipmentPost() override { sim_->DropResponseAfterNextShipAndInvoice(); }
  void SetStock(std::string_view sku, int64_t on_hand, absl::Time modified_at) override {
    ASSERT_NE(own_clock_, nullptr) << "SetStock needs the testbed's own clock";
    own_clock_->Set(modified_at);
    EXPECT_TRUE(sim_->SetItemInventory(sku, static_cast<double>(on_hand)));
  }
  std::string StockLocation() override { return ""; }

 private:
  std::unique_ptr<core::FakeClock> own_clock_;  // declared before the simulator that reads it
  std::unique_ptr<sim::BusinessCentralSim> sim_;
  std::unique_ptr<net::HttpClient> curl_;
  std::unique_ptr<net::Endpoint> limited_;
  std::unique_ptr<BusinessCentralAdapter> adapter_;
};

std::unique_ptr<ErpTestbed> MakeBcTestbed() {
  return std::make_unique<BcTestbed>(sim::BusinessCentralSim::Options{},
                                     [](AdapterOptions& o) { o.stock_page_size = 2; });
}

INSTANTIATE_TEST_SUITE_P(BusinessCentral, ErpConformanceTest,
                         ::testing::Values(ErpBackend{"BusinessCentral", &MakeBcTestbed}),
                         ErpBackendName);

model::Money Eur(int64_t minor) { return {minor, "EUR"}; }

model::Customer Ada() {
  model::Customer c;
  c.email = "ada@example.com";
  c.billing = {.first_name = "Ada",
               .last_name = "Lovelace",
               .address_1 = "12 Analytical Row",
               .city = "London",
               .postcode = "n1 9gu",
               .country = "gb",
               .email = "ada@example.com",
               .phone = "+44 20 7946 0000"};
  return c;
}

model::OrderLine Line(std::string sku, int64_t qty, int64_t subtotal, int64_t total) {
  model::OrderLine l;
  l.line_id = 1;
  l.sku = std::move(sku);
  l.name = "Item " + l.sku;
  l.quantity_ordered = qty;
  l.subtotal = Eur(subtotal);
  l.total = Eur(total);
  l.unit_price = Eur(total / qty);
  l.total_tax = Eur(0);
  return l;
}

model::Order Order(int64_t id, std::vector<model::OrderLine> lines, std::string store = "main") {
  model::Order o;
  o.store_id = std::move(store);
  o.order_id = id;
  o.number = std::to_string(id);
  o.currency = "EUR";
  o.status = model::OrderStatus::kProcessing;
  o.customer = Ada();
  o.lines = std::move(lines);
  o.shipping_total = Eur(0);
  return o;
}

class BusinessCentralAdapterTest : public ::testing::Test {
 protected:
  void Start(sim::BusinessCentralSim::Options sim_options = {},
             std::function<void(AdapterOptions&)> tweak = {},
             std::optional<net::EndpointOptions> limits = std::nullopt) {
    if (sim_options.clock == core::Clock::Real()) sim_options.clock = &clock_;
    tb_ = std::make_unique<BcTestbed>(std::move(sim_options), std::move(tweak), limits);
  }
  BusinessCentralAdapter& erp() { return tb_->bc(); }
  sim::BusinessCentralSim& sim() { return tb_->sim(); }
  ErpCustomerRef Customer() {
    absl::StatusOr<ErpCustomerRef> c = erp().FindOrCreateCustomer(Ada());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.value_or(ErpCustomerRef{});
  }

  core::FakeClock clock_;
  std::unique_ptr<BcTestbed> tb_;
};

TEST_F(BusinessCentralAdapterTest, StockRowsCarryTheItemTotalRoundedDown) {
  Start({}, [](AdapterOptions& o) { o.stock_page_size = 2; });
  sim().AddItem("w-1", "Widget", Eur(1250));
  sim().AddItem("W-2", "Gadget", Eur(999));
  sim().AddItem("W-3", "Bolt", Eur(10));
  clock_.Set(absl::FromUnixSeconds(1'772'359'200) + absl::Milliseconds(250));
  ASSERT_TRUE(sim().SetItemInventory("W-1", 12.75));
  ASSERT_TRUE(sim().SetItemInventory("W-3", -2));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpStockPage first,
                               erp().ListStockChanges(absl::InfinitePast(), ""));
  ASSERT_EQ(first.rows.size(), 2u);  // in item number order, two to a page
  EXPECT_EQ(first.rows[0].sku, "W-1");
  EXPECT_EQ(first.rows[0].on_hand, 12);
  EXPECT_EQ(first.rows[0].location, "");
  EXPECT_EQ(first.rows[0].modified_at, clock_.Now());
  EXPECT_EQ(first.rows[1].sku, "W-2");
  EXPECT_EQ(first.rows[1].on_hand, 0);
  ASSERT_THAT(first.next_page_token, HasSubstr("/items?$skiptoken=W-2"));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpStockPage second,
                               erp().ListStockChanges(absl::InfinitePast(), first.next_page_token));
  ASSERT_EQ(second.rows.size(), 1u);
  EXPECT_EQ(second.rows[0].sku, "W-3");
  EXPECT_EQ(second.rows[0].on_hand, -2);  // negative stock reported as BC holds it
  EXPECT_EQ(second.next_page_token, "");
}

TEST_F(BusinessCentralAdapterTest, PostedStockDoesNotMoveLastModifiedOnlyAFullScanSeesIt) {
  Start();
  sim().AddItem("W-1", "Widget", Eur(1250));
  const absl::Time t0 = clock_.Now();
  clock_.Advance(absl::Minutes(5));
  // A posted journal or shipment: the Inventory FlowField changes, the Item record does not.
  ASSERT_TRUE(sim().SetItemInventory("W-1", 40, sim::BusinessCentralSim::InventoryChange::kPost));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpStockPage changed,
                               erp().ListStockChanges(t0 + absl::Minutes(1), ""));
  EXPECT_TRUE(changed.rows.empty());
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpStockPage all, erp().ListStockChanges(absl::InfinitePast(), ""));
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_EQ(all.rows[0].on_hand, 40);
  EXPECT_EQ(all.rows[0].modified_at, t0);
}

TEST_F(BusinessCentralAdapterTest, AStockPageTokenForAnotherCompanyIsRefused) {
  Start();
  EXPECT_THAT(
      erp()
          .ListStockChanges(absl::InfinitePast(), "https://elsewhere.example/items?$skiptoken=A")
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(sim().stats().requests, 0);
}

TEST_F(BusinessCentralAdapterTest, TokenIsCachedAndRefreshedFiveMinutesBeforeExpiry) {
  Start();
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:1"));
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:2"));
  EXPECT_EQ(sim().stats().token_requests, 1);
  clock_.Advance(absl::Seconds(3599 - 300) - absl::Seconds(1));
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:3"));
  EXPECT_EQ(sim().stats().token_requests, 1);
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:4"));
  EXPECT_EQ(sim().stats().token_requests, 2);
  EXPECT_EQ(erp().client().token_fetches(), 2);
  EXPECT_EQ(sim().stats().answered_401, 0);
}

TEST_F(BusinessCentralAdapterTest, A401FetchesANewTokenAndResendsOnce) {
  Start();
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:1"));
  sim().RevokeTokens();
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:1"));
  EXPECT_EQ(sim().stats().answered_401, 1);
  EXPECT_EQ(sim().stats().token_requests, 2);
  EXPECT_EQ(sim().stats().requests, 3);
}

TEST_F(BusinessCentralAdapterTest, RefusedCredentialsAreUnauthenticatedAndTheSecretStaysOut) {
  Start({}, [](AdapterOptions& o) { o.client.client_secret = "s3cr3t-wrong-value"; });
  absl::StatusOr<std::optional<ErpOrderRef>> r = erp().FindSalesOrder("main:1");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("invalid_client"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("s3cr3t-wrong-value")));
  EXPECT_EQ(sim().stats().requests, 0);  // no API call without a token
}

TEST_F(BusinessCentralAdapterTest, ThrottlingIsResourceExhaustedWithoutRetryAfter) {
  Start({.requests_per_window = 2, .window = absl::Minutes(5)});
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:1"));
  KEELSON_ASSERT_OK(erp().FindSalesOrder("main:2"));
  absl::StatusOr<std::optional<ErpOrderRef>> r = erp().FindSalesOrder("main:3");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(jobs::RetryAfterOf(r.status()).has_value());  // BC's 429 has no Retry-After
  EXPECT_EQ(jobs::Classify(r.status()), jobs::FailureClass::kRetryable);
  clock_.Advance(absl::Minutes(5));
  KEELSON_EXPECT_OK(erp().FindSalesOrder("main:3"));
}

TEST_F(BusinessCentralAdapterTest, ServiceUnavailableCarriesRetryAfter) {
  Start({.retry_after = absl::Seconds(7)});
  sim().FailNextRequests(1, 503);
  absl::StatusOr<ErpOrderRef> r = erp().GetSalesOrder("5d115c9c-44e3-ea11-bb43-000d3a2feca1");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(jobs::RetryAfterOf(r.status()), absl::Seconds(7));
}

TEST_F(BusinessCentralAdapterTest, ReferenceIsStoredUpperCasedAndFoundInAnyCase) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpOrderRef created,
      erp().CreateSalesOrder(Order(14, {Line("widget-1", 2, 2500, 2500)}), Customer(), {}));
  EXPECT_EQ(created.external_reference, "MAIN:14");
  EXPECT_EQ(created.number, "S-ORD101001");
  EXPECT_EQ(created.state, ErpOrderState::kOpen);
  EXPECT_EQ(sim().SalesOrderJson("main:14").value()["externalDocumentNumber"], "MAIN:14");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::optional<ErpOrderRef> found, erp().FindSalesOrder("Main:14"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, created.id);
}

TEST_F(BusinessCentralAdapterTest, ReferenceLongerThan35IsInvalidArgumentWithoutARequest) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  ErpCustomerRef customer = Customer();
  const int64_t before = sim().stats().requests;
  // "a-store-with-a-long-name-here:123456" is 36 characters.
  model::Order order =
      Order(123456, {Line("WIDGET-1", 1, 1250, 1250)}, "a-store-with-a-long-name-here");
  ASSERT_EQ(order.Reference().size(), 36u);
  EXPECT_THAT(erp().CreateSalesOrder(order, customer, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(erp().FindSalesOrder(order.Reference()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(sim().stats().requests, before);
  EXPECT_EQ(sim().stats().orders_created, 0);
}

TEST_F(BusinessCentralAdapterTest, KnownItemsAreNotLookedUpAgain) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  sim().AddItem("GADGET-2", "Gadget", Eur(999));
  ErpCustomerRef customer = Customer();
  int64_t before = sim().stats().requests;
  KEELSON_ASSERT_OK(erp().CreateSalesOrder(
      Order(1, {Line("WIDGET-1", 1, 1250, 1250), Line("GADGET-2", 1, 999, 999)}), customer, {}));
  EXPECT_EQ(sim().stats().requests - before, 2);  // one items query for both, one POST
  before = sim().stats().requests;
  KEELSON_ASSERT_OK(erp().CreateSalesOrder(
      Order(2, {Line("gadget-2", 3, 2997, 2997), Line("WIDGET-1", 1, 1250, 1250)}), customer, {}));
  EXPECT_EQ(sim().stats().requests - before, 1);
  before = sim().stats().requests;
  KEELSON_ASSERT_OK(erp().CreateSalesOrder(Order(2, {Line("WIDGET-1", 1, 1250, 1250)}), customer,
                                           {.verify_first = true}));
  EXPECT_EQ(sim().stats().requests - before, 1);  // found by reference, nothing created
  EXPECT_EQ(sim().CountSalesOrders("main:2"), 1);
}

TEST_F(BusinessCentralAdapterTest, AnItemBlockedAfterItWasSeenIsRefusedThenNamed) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  ErpCustomerRef customer = Customer();
  KEELSON_ASSERT_OK(
      erp().CreateSalesOrder(Order(1, {Line("WIDGET-1", 1, 1250, 1250)}), customer, {}));
  sim().SetItemBlocked("WIDGET-1", true);  // BC refuses it on the line; the cache cannot know
  absl::StatusOr<ErpOrderRef> r =
      erp().CreateSalesOrder(Order(2, {Line("WIDGET-1", 1, 1250, 1250)}), customer, {});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("Blocked"));
  // The refusal dropped the cache: the next attempt looks the item up and names the block.
  r = erp().CreateSalesOrder(Order(2, {Line("WIDGET-1", 1, 1250, 1250)}), customer, {});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("is blocked in Business Central"));
  EXPECT_EQ(sim().CountSalesOrders("main:2"), 0);
}

TEST_F(BusinessCentralAdapterTest, BlockedItemIsFailedPrecondition) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  sim().SetItemBlocked("WIDGET-1", true);
  absl::StatusOr<ErpOrderRef> r =
      erp().CreateSalesOrder(Order(1, {Line("WIDGET-1", 1, 1250, 1250)}), Customer(), {});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("blocked"));
  EXPECT_EQ(sim().stats().orders_created, 0);
}

TEST_F(BusinessCentralAdapterTest, ShippingAndFeesBecomeGlAccountLinesAndTotalsAddUp) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  model::Order order = Order(5, {Line("WIDGET-1", 3, 1000, 1000),    // 3.34 x 3 - 0.02
                                 Line("WIDGET-1", 2, 2500, 2000)});  // coupon: 5.00 off
  order.shipping = {{.method_id = "flat_rate", .method_title = "Flat rate", .total = Eur(495)}};
  order.shipping_total = Eur(495);
  order.fees = {{.name = "Gift wrap", .total = Eur(150)}, {.name = "Loyalty", .total = Eur(-100)}};
  KEELSON_ASSERT_OK(erp().CreateSalesOrder(order, Customer(), {}));
  json so = sim().SalesOrderJson("main:5").value();
  ASSERT_EQ(so["salesOrderLines"].size(), 5u);
  const json& l = so["salesOrderLines"];
  EXPECT_EQ(l[0]["unitPrice"], 3.34);
  EXPECT_EQ(l[0]["discountAmount"], 0.02);
  EXPECT_EQ(l[0]["amountExcludingTax"], 10.0);
  EXPECT_EQ(l[1]["unitPrice"], 12.5);
  EXPECT_EQ(l[1]["amountExcludingTax"], 20.0);
  EXPECT_EQ(l[2]["lineType"], "Account");
  EXPECT_EQ(l[2]["lineObjectNumber"], "6610");
  EXPECT_EQ(l[2]["description"], "Flat rate");
  EXPECT_EQ(l[2]["unitPrice"], 4.95);
  EXPECT_EQ(l[3]["lineObjectNumber"], "6620");
  EXPECT_EQ(l[3]["description"], "Gift wrap");
  EXPECT_EQ(l[4]["unitPrice"], -1.0);
  EXPECT_EQ(so["totalAmountExcludingTax"], 10.0 + 20.0 + 4.95 + 1.5 - 1.0);
  EXPECT_EQ(so["currencyCode"], "EUR");
  EXPECT_EQ(so["shipToCity"], "London");
  EXPECT_EQ(so["shipToPostCode"], "N1 9GU");
}

TEST_F(BusinessCentralAdapterTest, ShippingWithoutAnAccountIsFailedPreconditionWithoutARequest) {
  Start({}, [](AdapterOptions& o) { o.mapping.shipping_account.clear(); });
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  ErpCustomerRef customer = Customer();
  const int64_t before = sim().stats().requests;
  model::Order order = Order(6, {Line("WIDGET-1", 1, 1250, 1250)});
  order.shipping_total = Eur(495);
  EXPECT_THAT(erp().CreateSalesOrder(order, customer, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(sim().stats().requests, before);
}

TEST_F(BusinessCentralAdapterTest, ReleasedOrderIsConfirmedAndCannotBeCancelled) {
  Start();
  sim().AddItem("WIDGET-1", "Widget", Eur(1250));
  KEELSON_ASSERT_OK_AND_ASSIGN(
      ErpOrderRef created,
      erp().CreateSalesOrder(Order(7, {Line("WIDGET-1", 1, 1250, 1250)}), Customer(), {}));
  ASSERT_TRUE(sim().SetOrderStatus("main:7", "Released"));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef got, erp().GetSalesOrder(created.id));
  EXPECT_EQ(got.state, ErpOrderState::kConfirmed);
  EXPECT_THAT(erp().CancelSalesOrder(created.id), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(sim().SalesOrderJson("main:7").value()["salesOrderLines"][0]["quantity"], 1);

  ASSERT_TRUE(sim().SetOrderStatus("main:7", "Open"));  // reopened in BC: now it can go
  KEELSON_EXPECT_OK(erp().CancelSalesOrder(created.id));
  EXPECT_EQ(sim().SalesOrderJson("main:7").value()["salesOrderLines"][0]["quantity"], 0);
}

TEST_F(BusinessCentralAdapterTest, ConcurrentFindOrCreateCreatesOneCustomer) {
  Start();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([this] {
      model::Customer c = Ada();
      c.email = "Ada@Example.com";
      EXPECT_TRUE(erp().FindOrCreateCustomer(c).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sim().CountCustomers("ada@example.com"), 1);
}

TEST_F(BusinessCentralAdapterTest, ThroughTheLimiterFiveConcurrentRequestsAreNeverThrottled) {
  // More workers than BC's 5 concurrent requests; the limiter's cap keeps the simulator from
  // ever seeing a sixth.
  Start({.max_concurrent = 5, .latency = absl::Milliseconds(2)}, {},
        net::EndpointOptions{.name = "erp", .concurrency = 5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(erp().FindSalesOrder("main:" + std::to_string(t * 100 + i)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  sim::BusinessCentralSim::Stats s = sim().stats();
  EXPECT_EQ(s.requests, 80);
  EXPECT_EQ(s.answered_429, 0);
  EXPECT_LE(s.max_in_flight, 5);
}

}  // namespace
}  // namespace keelson::connectors::business_central
