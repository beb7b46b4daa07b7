// The Odoo adapter against the Odoo simulator: the shared ERP conformance suite for Odoo 16 and
// 17 (JSON-RPC) and 19 (JSON-2), then Odoo-specific cases.

#include "connectors/erp/odoo/adapter.h"

#include <map>
#include <thread>
#include <vector>

#include "connectors/erp/odoo/mapping.h"
#include "connectors/erp_conformance.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/retry_policy.h"
#include "net/http_client.h"
#include "sim/odoo.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::testing {
namespace {

using odoo::OdooAdapter;
using odoo::OdooAdapterOptions;
using ::testing::HasSubstr;
using json = nlohmann::json;

// A simulator and an adapter on it, wired like production (real curl client, real sockets).
class OdooBed {
 public:
  explicit OdooBed(std::string version, OdooAdapterOptions overrides = {},
                   bool use_api_key = true) {
    sim::OdooSim::Options so;
    so.version = std::move(version);
    sim_ = std::make_unique<sim::OdooSim>(so);
    absl::Status started = sim_->Start();
    EXPECT_TRUE(started.ok()) << started;
    OdooAdapterOptions o = std::move(overrides);
    o.url = sim_->url();
    if (o.database.empty()) o.database = so.database;
    if (o.username.empty()) o.username = so.login;
    if (o.password.empty()) o.password = so.password;
    if (o.api_key.empty() && use_api_key) o.api_key = so.api_key;
    o.timeout = absl::Seconds(10);  // a failure guard only
    http_ = net::NewCurlHttpClient();
    adapter_ = std::make_unique<OdooAdapter>(std::move(o), *http_);
  }
  sim::OdooSim& sim() { return *sim_; }
  OdooAdapter& adapter() { return *adapter_; }

 private:
  std::unique_ptr<sim::OdooSim> sim_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<OdooAdapter> adapter_;
};

class OdooTestbed final : public ErpTestbed {
 public:
  explicit OdooTestbed(std::string version)
      : bed_(std::move(version), OdooAdapterOptions{.stock_page_size = 2}) {}
  ErpAdapter& adapter() override { return bed_.adapter(); }
  void AddItem(std::string_view sku, std::string_view name, model::Money unit_price) override {
    bed_.sim().AddProduct(sku, name, odoo::ToOdooAmount(unit_price));
  }
  int64_t CountSalesOrders(std::string_view reference) override {
    return bed_.sim().CountSaleOrders(reference);
  }
  int64_t CountSalesOrderLines(std::string_view reference) override {
    return bed_.sim().SaleOrderLineCount(reference);
  }
  int64_t CountCustomers(std::string_view email) override {
    return bed_.sim().CountPartners(email);
  }
  void MarkSalesOrderDone(std::string_view reference) override {
    EXPECT_TRUE(bed_.sim().SetOrderState(reference, "done"));
  }
  void DropResponseAfterNextOrderCreate() override {
    bed_.sim().DropResponseAfterNextOrderCreate();
  }
  void FailNextRequestWith503() override { bed_.sim().FailNextRequests(1, 503, 2); }
  int64_t ShippedQuantity(std::string_view reference, std::string_view sku) override {
    return static_cast<int64_t>(bed_.sim().QtyDelivered(reference, sku));
  }
  int64_t ShipmentDocuments(std::string_view reference) override {
    int64_t n = 0;
    for (const auto& p : bed_.sim().Pickings(reference)) n += p["state"] == "done" ? 1 : 0;
    return n;
  }
  void DropResponseAfterNextShipmentPost() override { bed_.sim().DropResponseAfterNextValidate(); }
  void SetStock(std::string_view sku, int64_t on_hand, absl::Time modified_at) override {
    EXPECT_GT(bed_.sim().SetQuant(sku, "WH/Stock", static_cast<double>(on_hand), 0, modified_at),
              0);
  }
  std::string StockLocation() override { return "WH/Stock"; }

 private:
  OdooBed bed_;
};

INSTANTIATE_TEST_SUITE_P(
    Odoo, ErpConformanceTest,
    ::testing::Values(ErpBackend{"Odoo16", [] { return std::make_unique<OdooTestbed>("16.0"); }},
                      ErpBackend{"Odoo17", [] { return std::make_unique<OdooTestbed>("17.0"); }},
                      ErpBackend{"Odoo19", [] { return std::make_unique<OdooTestbed>("19.0"); }}),
    ErpBackendName);

// ---------------------------------------------------------------------------------------

model::Money Eur(int64_t minor) { return model::Money{minor, "EUR"}; }

model::Customer Ada() {
  model::Customer c;
  c.email = "ada@example.com";
  c.billing.first_name = "Ada";
  c.billing.last_name = "Lovelace";
  c.billing.address_1 = "12 Analytical Row";
  c.billing.city = "London";
  c.billing.postcode = "N1 9GU";
  c.billing.country = "GB";
  c.billing.email = c.email;
  c.billing.phone = "+44 20 7946 0000";
  return c;
}

model::Order OneLineOrder(int64_t id, std::string sku = "WIDGET-1") {
  model::Order o;
  o.store_id = "main";
  o.order_id = id;
  o.number = std::to_string(id);
  o.currency = "EUR";
  o.customer = Ada();
  model::OrderLine l;
  l.line_id = 1;
  l.sku = std::move(sku);
  l.name = "Widget";
  l.quantity_ordered = 2;
  l.unit_price = Eur(1250);
  l.total = Eur(2500);
  o.lines.push_back(l);
  o.total = Eur(2500);
  return o;
}

class OdooAdapterTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Versions, OdooAdapterTest, ::testing::Values("17.0", "19.0"),
                         [](const auto& info) {
                           return info.param.substr(0, 2) == "17" ? std::string("Odoo17")
                                                                  : std::string("Odoo19");
                         });

TEST_P(OdooAdapterTest, StockSumsLotsPerLocationOfInternalLocationsOnly) {
  OdooBed bed(GetParam(), OdooAdapterOptions{.stock_page_size = 2});
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  bed.sim().AddProduct("GADGET-2", "Gadget", 9.99);
  const absl::Time t0 = absl::FromUnixSeconds(1'772'359'200);
  bed.sim().SetQuant("WIDGET-1", "WH/Stock", 3, 1, t0, "LOT-A");
  bed.sim().SetQuant("WIDGET-1", "WH/Stock", 4.5, 0, t0 + absl::Seconds(1), "LOT-B");
  bed.sim().SetQuant("WIDGET-1", "WH/Stock/Shelf 1", 2, 0, t0 + absl::Seconds(2));
  bed.sim().SetQuant("GADGET-2", "WH/Stock", 7, 2, t0 + absl::Seconds(3));
  ASSERT_GT(bed.sim().AddLocation("Partners/Customers", "customer"), 0);
  bed.sim().SetQuant("GADGET-2", "Partners/Customers", 5, 0, t0 + absl::Seconds(4));

  std::vector<ErpStockRow> rows;
  std::string token;
  int pages = 0;
  do {
    KEELSON_ASSERT_OK_AND_ASSIGN(ErpStockPage page,
                                 bed.adapter().ListStockChanges(absl::InfinitePast(), token));
    rows.insert(rows.end(), page.rows.begin(), page.rows.end());
    token = page.next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);  // four internal quants, two to a page, then an empty page
  // The two lots of WIDGET-1 at WH/Stock are one row on each page they appear on, always the total.
  std::map<std::pair<std::string, std::string>, ErpStockRow> by_key;
  for (const ErpStockRow& r : rows) by_key[{r.sku, r.location}] = r;
  ASSERT_EQ(by_key.size(), 3u);
  const ErpStockRow& widget = by_key[{"WIDGET-1", "WH/Stock"}];
  EXPECT_EQ(widget.on_hand, 7);  // 3 + 4.5, rounded down
  EXPECT_EQ(widget.reserved, 1);
  EXPECT_EQ(widget.modified_at, t0 + absl::Seconds(1));
  EXPECT_EQ((by_key[{"WIDGET-1", "WH/Stock/Shelf 1"}].on_hand), 2);
  const ErpStockRow& gadget = by_key[{"GADGET-2", "WH/Stock"}];
  EXPECT_EQ(gadget.on_hand, 7);
  EXPECT_EQ(gadget.reserved, 2);

  // One lot changes: the row is still the location's total.
  bed.sim().SetQuant("WIDGET-1", "WH/Stock", 1, 0, t0 + absl::Minutes(1), "LOT-A");
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpStockPage changed,
                               bed.adapter().ListStockChanges(t0 + absl::Seconds(30), ""));
  ASSERT_EQ(changed.rows.size(), 1u);
  EXPECT_EQ(changed.rows[0].sku, "WIDGET-1");
  EXPECT_EQ(changed.rows[0].location, "WH/Stock");
  EXPECT_EQ(changed.rows[0].on_hand, 5);  // 1 + 4.5
  EXPECT_EQ(changed.rows[0].modified_at, t0 + absl::Minutes(1));
  EXPECT_EQ(changed.next_page_token, "");
}

TEST_P(OdooAdapterTest, AMalformedStockPageTokenIsInvalidArgument) {
  OdooBed bed(GetParam());
  EXPECT_THAT(bed.adapter().ListStockChanges(absl::InfinitePast(), "not-a-token").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(OdooAdapterVersionTest, JsonRpcBelow19) {
  OdooBed bed("17.0");
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  KEELSON_ASSERT_OK_AND_ASSIGN(odoo::Protocol p, bed.adapter().client().ActiveProtocol());
  EXPECT_EQ(p, odoo::Protocol::kJsonRpc);
  sim::OdooSim::Stats s = bed.sim().stats();
  EXPECT_EQ(s.json2_requests, 0);
  EXPECT_EQ(s.version_calls, 1);
  EXPECT_EQ(s.authenticate_calls, 1);
  EXPECT_EQ(bed.sim().CallCount("sale.order", "search_read"), 1);
}

TEST(OdooAdapterVersionTest, Json2From19WithoutAuthenticating) {
  OdooBed bed("19.0");
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  KEELSON_ASSERT_OK_AND_ASSIGN(odoo::Protocol p, bed.adapter().client().ActiveProtocol());
  EXPECT_EQ(p, odoo::Protocol::kJson2);
  sim::OdooSim::Stats s = bed.sim().stats();
  EXPECT_EQ(s.jsonrpc_requests, 1);  // common.version only
  EXPECT_EQ(s.json2_requests, 1);
  EXPECT_EQ(s.authenticate_calls, 0);
}

TEST(OdooAdapterVersionTest, Odoo19WithoutApiKeyStaysOnJsonRpc) {
  OdooBed bed("19.0", {}, /*use_api_key=*/false);
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  KEELSON_ASSERT_OK_AND_ASSIGN(odoo::Protocol p, bed.adapter().client().ActiveProtocol());
  EXPECT_EQ(p, odoo::Protocol::kJsonRpc);
  EXPECT_EQ(bed.sim().stats().json2_requests, 0);
}

TEST(OdooAdapterVersionTest, OdooOnlineSaasVersionCountsAsItsMajor) {
  OdooBed bed("saas~17.4");
  KEELSON_ASSERT_OK_AND_ASSIGN(odoo::ServerVersion v, bed.adapter().client().Version());
  EXPECT_EQ(v.major, 17);
  EXPECT_EQ(v.minor, 4);
  EXPECT_EQ(v.version, "saas~17.4");
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());  // reads `locked`
}

TEST(OdooAdapterVersionTest, ForcedJson2OnAnOlderServerIsFailedPrecondition) {
  OdooBed bed("17.0", {.protocol = odoo::Protocol::kJson2});
  EXPECT_THAT(bed.adapter().FindSalesOrder("main:1").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(OdooAdapterAuthTest, StaleUidIsReauthenticatedOnce) {
  OdooBed bed("17.0");
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  bed.sim().SetUid(42);  // e.g. the database was restored and the API user re-created
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  EXPECT_EQ(bed.adapter().client().authentications(), 2);
  EXPECT_EQ(bed.sim().stats().authenticate_calls, 2);
  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  EXPECT_EQ(bed.sim().stats().authenticate_calls, 2);  // the new uid is cached
}

TEST(OdooAdapterAuthTest, RefusedLoginIsUnauthenticatedWithoutASecret) {
  OdooBed bed("17.0", {.password = "not-the-password"}, /*use_api_key=*/false);
  absl::Status s = bed.adapter().FindSalesOrder("main:1").status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(s.message()), HasSubstr("admin"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("not-the-password")));
  EXPECT_EQ(bed.sim().stats().authenticate_calls, 1);
}

TEST(OdooAdapterAuthTest, WrongApiKeyOnJson2IsUnauthenticated) {
  OdooBed bed("19.0", {.api_key = "revoked-key"});
  absl::Status s = bed.adapter().FindSalesOrder("main:1").status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(s.message()), HasSubstr("HTTP 401"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("revoked-key")));
}

TEST_P(OdooAdapterTest, OdooErrorsAreMappedFromEitherDialect) {
  OdooBed bed(GetParam());
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  // A partner that does not exist: Odoo refuses the create (JSON-RPC: inside an HTTP 200).
  absl::StatusOr<ErpOrderRef> r =
      bed.adapter().CreateSalesOrder(OneLineOrder(30), ErpCustomerRef{"999", ""}, {});
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("odoo.exceptions.ValidationError"));
  EXPECT_EQ(bed.sim().CountSaleOrders("main:30"), 0);
  EXPECT_THAT(bed.adapter().GetSalesOrder("abc").status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(OdooAdapterTest, ConfirmLostAfterCreateIsFinishedOnRetryWithoutASecondOrder) {
  OdooBed bed(GetParam());
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef c, bed.adapter().FindOrCreateCustomer(Ada()));
  bed.sim().FailNextCall("sale.order", "action_confirm", 502);
  EXPECT_THAT(bed.adapter().CreateSalesOrder(OneLineOrder(31), c, {}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ((*bed.sim().SaleOrder("main:31"))["state"], "draft");

  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef retried,
                               bed.adapter().CreateSalesOrder(OneLineOrder(31), c, {}));
  EXPECT_EQ(retried.state, ErpOrderState::kConfirmed);
  EXPECT_EQ(bed.sim().CountSaleOrders("main:31"), 1);
  EXPECT_EQ(bed.sim().CallCount("sale.order", "create"), 1);
  EXPECT_EQ(bed.sim().CallCount("sale.order", "action_confirm"), 1);
  EXPECT_EQ((*bed.sim().SaleOrder("main:31"))["state"], "sale");
}

TEST_P(OdooAdapterTest, LostCreateAnswerIsFoundAndConfirmedOnRetry) {
  OdooBed bed(GetParam());
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef c, bed.adapter().FindOrCreateCustomer(Ada()));
  bed.sim().DropResponseAfterNextOrderCreate();
  EXPECT_THAT(bed.adapter().CreateSalesOrder(OneLineOrder(32), c, {}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef retried,
                               bed.adapter().CreateSalesOrder(OneLineOrder(32), c, {}));
  EXPECT_EQ(retried.state, ErpOrderState::kConfirmed);
  EXPECT_EQ(retried.external_reference, "main:32");
  EXPECT_EQ(bed.sim().CountSaleOrders("main:32"), 1);
  EXPECT_EQ(bed.sim().CallCount("sale.order", "create"), 1);
  EXPECT_EQ(bed.sim().CallCount("sale.order", "action_confirm"), 1);
}

TEST_P(OdooAdapterTest, RetryAfterIsCarriedOn503And429) {
  OdooBed bed(GetParam());
  bed.sim().FailNextRequests(1, 503, 7);
  absl::Status s = bed.adapter().FindSalesOrder("main:1").status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(jobs::RetryAfterOf(s), absl::Seconds(7));

  KEELSON_ASSERT_OK(bed.adapter().FindSalesOrder("main:1").status());
  bed.sim().FailNextRequests(1, 429, 3);
  s = bed.adapter().FindSalesOrder("main:1").status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(jobs::RetryAfterOf(s), absl::Seconds(3));
}

TEST_P(OdooAdapterTest, ConcurrentCreatesOfOneReferenceMakeOneOrder) {
  OdooBed bed(GetParam());
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef c, bed.adapter().FindOrCreateCustomer(Ada()));
  bed.sim().SetLatency(absl::Milliseconds(5));  // widens the search-then-create window
  constexpr int kThreads = 4;
  std::vector<absl::StatusOr<ErpOrderRef>> results(kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = bed.adapter().CreateSalesOrder(OneLineOrder(33), c, {}); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->id, results[0]->id);
  }
  EXPECT_EQ(bed.sim().CountSaleOrders("main:33"), 1);
  EXPECT_EQ(bed.sim().CallCount("sale.order", "create"), 1);
}

TEST_P(OdooAdapterTest, CustomerIsCreatedWithAddressAndCountry) {
  OdooBed bed(GetParam());
  model::Customer c = Ada();
  c.email = "ada_l@example.com";  // '_' must not match any character in the lookup
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef first, bed.adapter().FindOrCreateCustomer(c));
  model::Customer other = Ada();
  other.email = "adaXl@example.com";
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef second, bed.adapter().FindOrCreateCustomer(other));
  EXPECT_NE(first.id, second.id);
  std::optional<json> p = bed.sim().Partner("ada_l@example.com");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ((*p)["name"], "Ada Lovelace");
  EXPECT_EQ((*p)["street"], "12 Analytical Row");
  EXPECT_EQ((*p)["city"], "London");
  EXPECT_EQ((*p)["zip"], "N1 9GU");
  EXPECT_EQ((*p)["phone"], "+44 20 7946 0000");
  EXPECT_EQ((*p)["country_id"], 1);  // GB, the first country the simulator seeds
  EXPECT_EQ(bed.sim().CallCount("res.country", "search_read"), 1);  // cached afterwards
}

TEST_P(OdooAdapterTest, ShippingGoesOnTheConfiguredServiceProduct) {
  OdooBed bed(GetParam(), {.shipping_product_code = "SHIP"});
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef c, bed.adapter().FindOrCreateCustomer(Ada()));
  model::Order o = OneLineOrder(34);
  o.shipping.push_back({"flat_rate", "Flat rate", Eur(499), Eur(0)});
  // Not there yet: parked, nothing created.
  EXPECT_THAT(bed.adapter().CreateSalesOrder(o, c, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(bed.sim().CountSaleOrders("main:34"), 0);

  int64_t ship = bed.sim().AddProduct("SHIP", "Shipping", 0);
  KEELSON_ASSERT_OK(bed.adapter().CreateSalesOrder(o, c, {}).status());
  json lines = bed.sim().SaleOrderLines("main:34");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["product_id"], ship);
  EXPECT_EQ(lines[1]["price_unit"], 4.99);
  EXPECT_EQ(lines[1]["name"], "Shipping: Flat rate");
  EXPECT_EQ(lines[0]["product_uom_qty"], 2);
  EXPECT_EQ(lines[0]["price_unit"], 12.5);
}

TEST_P(OdooAdapterTest, WithoutAShippingProductShippingIsANoteLine) {
  OdooBed bed(GetParam());
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef c, bed.adapter().FindOrCreateCustomer(Ada()));
  model::Order o = OneLineOrder(35);
  o.shipping.push_back({"flat_rate", "Flat rate", Eur(499), Eur(0)});
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef r, bed.adapter().CreateSalesOrder(o, c, {}));
  EXPECT_EQ(r.state, ErpOrderState::kConfirmed);
  json lines = bed.sim().SaleOrderLines("main:35");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["display_type"], "line_note");
  EXPECT_EQ(lines[1]["name"], "Shipping: Flat rate, 4.99 EUR");
}

TEST_P(OdooAdapterTest, CancelOfAConfirmedOrderSkipsTheWizard) {
  OdooBed bed(GetParam());
  bed.sim().AddProduct("WIDGET-1", "Widget", 12.5);
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpCustomerRef c, bed.adapter().FindOrCreateCustomer(Ada()));
  KEELSON_ASSERT_OK_AND_ASSIGN(ErpOrderRef r,
                               bed.adapter().CreateSalesOrder(OneLineOrder(36), c, {}));
  ASSERT_EQ(r.state, ErpOrderState::kConfirmed);
  KEELSON_ASSERT_OK(bed.adapter().CancelSalesOrder(r.id));
  EXPECT_EQ((*bed.sim().SaleOrder("main:36"))["state"], "cancel");
  KEELSON_ASSERT_OK(bed.adapter().CancelSalesOrder(r.id));
  EXPECT_EQ(bed.sim().CallCount("sale.order", "action_cancel"), 1);  // the second was a no-op
}

TEST(OdooAdapterCreateTest, MissingOptionsAreNamed) {
  std::unique_ptr<net::HttpClient> http = net::NewCurlHttpClient();
  absl::StatusOr<std::unique_ptr<OdooAdapter>> a = OdooAdapter::Create({}, *http);
  EXPECT_THAT(a.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("url"));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("database"));
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("password or api_key"));
  KEELSON_EXPECT_OK(
      OdooAdapter::Create(
          {.url = "http://odoo", .api_key = "k", .protocol = odoo::Protocol::kJson2}, *http)
          .status());
}

}  // namespace
}  // namespace keelson::connectors::testing
