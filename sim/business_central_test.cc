#include "sim/business_central.h"

#include <algorithm>
#include <thread>

#include "absl/time/clock.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_client.h"
#include "tests/support/status_matchers.h"

namespace keelson::sim {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class BusinessCentralSimTest : public ::testing::Test {
 protected:
  void StartSim(BusinessCentralSim::Options options = {}) {
    if (options.clock == core::Clock::Real()) options.clock = &clock_;
    sim_ = std::make_unique<BusinessCentralSim>(std::move(options));
    KEELSON_ASSERT_OK(sim_->Start());
  }

  net::OutboundResponse Send(std::string method, std::string url, std::string body = "",
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::OutboundRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.timeout = absl::Seconds(30);
    absl::StatusOr<net::OutboundResponse> res = http_->Send(req);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : net::OutboundResponse{};
  }

  net::OutboundResponse TokenRequest(std::string secret, std::string grant = "client_credentials") {
    const auto& o = sim_->options();
    return Send("POST", sim_->token_url(),
                "grant_type=" + grant + "&client_id=" + net::UrlEncode(o.client_id) +
                    "&client_secret=" + net::UrlEncode(secret) +
                    "&scope=" + net::UrlEncode(o.scope),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  std::string Token() {
    net::OutboundResponse r = TokenRequest(sim_->options().client_secret);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).value("access_token", "");
  }

  std::string Company() {
    return sim_->base_url() + "/companies(" + sim_->options().company_id + ")";
  }

  // An API call with a fresh-enough token.
  net::OutboundResponse Api(std::string method, std::string path, std::string body = "",
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (token_.empty()) token_ = Token();
    headers.emplace_back("Authorization", "Bearer " + token_);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return Send(std::move(method), Company() + path, std::move(body), std::move(headers));
  }

  static std::string ErrorCode(const net::OutboundResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) return "";
    return j["error"].value("code", "");
  }

  json CreateCustomer(std::string email) {
    net::OutboundResponse r =
        Api("POST", "/customers", json{{"displayName", "Ada Lovelace"}, {"email", email}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body);
  }

  core::FakeClock clock_;
  std::unique_ptr<net::HttpClient> http_ = net::NewCurlHttpClient();
  std::unique_ptr<BusinessCentralSim> sim_;
  std::string token_;
};

TEST_F(BusinessCentralSimTest, TokenEndpointGrantsClientCredentialsAndRejectsBadSecrets) {
  StartSim();
  net::OutboundResponse ok = TokenRequest(sim_->options().client_secret);
  ASSERT_EQ(ok.status, 200) << ok.body;
  json j = json::parse(ok.body);
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["expires_in"], 3599);
  EXPECT_FALSE(j["access_token"].get<std::string>().empty());

  net::OutboundResponse bad = TokenRequest("wrong");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(json::parse(bad.body)["error"], "invalid_client");
  EXPECT_THAT(json::parse(bad.body)["error_description"].get<std::string>(),
              StartsWith("AADSTS7000215"));
  EXPECT_EQ(TokenRequest(sim_->options().client_secret, "password").status, 400);
  EXPECT_EQ(sim_->stats().token_requests, 3);
  EXPECT_EQ(sim_->stats().tokens_issued, 1);
}

TEST_F(BusinessCentralSimTest, ApiNeedsAValidUnexpiredBearerToken) {
  StartSim();
  net::OutboundResponse none = Send("GET", Company() + "/items");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorCode(none), "Authentication_InvalidCredentials");
  EXPECT_FALSE(none.Header("www-authenticate").empty());

  EXPECT_EQ(Api("GET", "/items").status, 200);
  clock_.Advance(absl::Seconds(3599));
  EXPECT_EQ(Api("GET", "/items").status, 401);  // expired
  token_.clear();
  EXPECT_EQ(Api("GET", "/items").status, 200);
  sim_->RevokeTokens();
  EXPECT_EQ(Api("GET", "/items").status, 401);
  EXPECT_EQ(sim_->stats().answered_401, 3);
}

TEST_F(BusinessCentralSimTest, CustomersGetNumbersAndFilterByEmailCaseInsensitively) {
  StartSim();
  json a = CreateCustomer("ada@example.com");
  json b = CreateCustomer("grace@example.com");
  EXPECT_EQ(a["number"], "C00010");
  EXPECT_EQ(b["number"], "C00020");
  EXPECT_THAT(a["@odata.etag"].get<std::string>(), StartsWith("W/\""));
  EXPECT_EQ(a["id"].get<std::string>().size(), 36u);

  net::OutboundResponse r =
      Api("GET", "/customers?$filter=" + net::UrlEncode("email eq 'ADA@Example.com'"));
  ASSERT_EQ(r.status, 200);
  json found = json::parse(r.body)["value"];
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["id"], a["id"]);
  EXPECT_EQ(sim_->CountCustomers("ADA@EXAMPLE.COM"), 1);

  // Unknown properties and too-long text are refused like BC refuses them.
  EXPECT_EQ(Api("POST", "/customers", R"({"displayName":"X","nickname":"y"})").status, 400);
  net::OutboundResponse long_name =
      Api("POST", "/customers", json{{"displayName", std::string(101, 'x')}}.dump());
  EXPECT_EQ(long_name.status, 400);
  EXPECT_EQ(ErrorCode(long_name), "Application_StringExceededLength");
  EXPECT_EQ(Api("GET", "/customers?$filter=" + net::UrlEncode("startswith(email,'a')")).status,
            400);
  EXPECT_EQ(sim_->stats().customers_created, 2);
}

TEST_F(BusinessCentralSimTest, ItemsFilterByNumberWithOr) {
  StartSim();
  sim_->AddItem("widget-1", "Widget", {1250, "EUR"});
  sim_->AddItem("GADGET-2", "Gadget", {999, "EUR"});
  sim_->AddItem("OTHER", "Other", {100, "EUR"});
  net::OutboundResponse r = Api(
      "GET", "/items?$filter=" + net::UrlEncode("number eq 'WIDGET-1' or number eq 'gadget-2' or "
                                                "number eq 'O''NEIL'"));
  ASSERT_EQ(r.status, 200) << r.body;
  json v = json::parse(r.body)["value"];
  ASSERT_EQ(v.size(), 2u);  // in primary key order (No.)
  EXPECT_EQ(v[0]["number"], "GADGET-2");
  EXPECT_EQ(v[1]["number"], "WIDGET-1");  // Code fields are stored upper-cased
  EXPECT_EQ(v[1]["unitPrice"], 12.5);
}

TEST_F(BusinessCentralSimTest, ItemsPageServerDrivenAndFilterByLastModified) {
  StartSim();
  for (const char* n : {"A-1", "A-2", "A-3"}) sim_->AddItem(n, n, {100, "EUR"});
  ASSERT_TRUE(sim_->SetItemInventory("A-2", 7.5));
  net::OutboundResponse r = Api("GET", "/items", "", {{"Prefer", "odata.maxpagesize=2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("preference-applied"), "odata.maxpagesize=2");
  json page = json::parse(r.body);
  ASSERT_EQ(page["value"].size(), 2u);
  EXPECT_EQ(page["value"][1]["inventory"], 7.5);
  const std::string next = page["@odata.nextLink"].get<std::string>();
  EXPECT_EQ(next, sim_->base_url() + "/companies(" + sim_->options().company_id +
                      ")/items?$skiptoken=A-2");
  net::OutboundResponse r2 = Api("GET", "/items?$skiptoken=A-2");
  json page2 = json::parse(r2.body);
  ASSERT_EQ(page2["value"].size(), 1u);
  EXPECT_EQ(page2["value"][0]["number"], "A-3");
  EXPECT_FALSE(page2.contains("@odata.nextLink"));

  // Bare DateTimeOffset literals compare as instants; a quoted one is a syntax error, as in BC.
  const std::string modified = json::parse(r.body)["value"][1]["lastModifiedDateTime"];
  net::OutboundResponse since =
      Api("GET", "/items?$filter=" + net::UrlEncode("lastModifiedDateTime ge " + modified));
  ASSERT_EQ(since.status, 200) << since.body;
  EXPECT_EQ(json::parse(since.body)["value"].size(), 3u);  // same clock instant for all three
  EXPECT_EQ(
      Api("GET", "/items?$filter=" + net::UrlEncode("lastModifiedDateTime gt '" + modified + "'"))
          .status,
      400);
}

TEST_F(BusinessCentralSimTest, SalesOrderDeepInsertUppercasesTheReferenceAndNumbersOrders) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  json order = {{"customerId", customer["id"]},
                {"externalDocumentNumber", "main:14"},
                {"salesOrderLines",
                 {{{"lineType", "Item"}, {"lineObjectNumber", "widget-1"}, {"quantity", 2}},
                  {{"lineType", "Account"},
                   {"lineObjectNumber", "6610"},
                   {"description", "Flat rate"},
                   {"quantity", 1},
                   {"unitPrice", 4.95}}}}};
  net::OutboundResponse r = Api("POST", "/salesOrders?$expand=salesOrderLines", order.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  json created = json::parse(r.body);
  EXPECT_EQ(created["number"], "S-ORD101001");
  EXPECT_EQ(created["externalDocumentNumber"], "MAIN:14");
  EXPECT_EQ(created["status"], "Draft");
  EXPECT_EQ(created["customerNumber"], "C00010");
  EXPECT_EQ(created["totalAmountExcludingTax"], 29.95);
  ASSERT_EQ(created["salesOrderLines"].size(), 2u);
  EXPECT_EQ(created["salesOrderLines"][0]["unitPrice"], 12.5);  // the item's price
  EXPECT_EQ(created["salesOrderLines"][0]["sequence"], 10000);
  EXPECT_EQ(sim_->CountSalesOrders("Main:14"), 1);
  EXPECT_EQ(sim_->SalesOrderLineCount("main:14"), 2);

  net::OutboundResponse found =
      Api("GET", "/salesOrders?$filter=" + net::UrlEncode("externalDocumentNumber eq 'main:14'"));
  ASSERT_EQ(found.status, 200);
  EXPECT_EQ(json::parse(found.body)["value"].size(), 1u);
  order["externalDocumentNumber"] = "main:15";
  EXPECT_EQ(json::parse(Api("POST", "/salesOrders", order.dump()).body)["number"], "S-ORD101002");
}

TEST_F(BusinessCentralSimTest, SalesOrderWithUnknownItemOrLongReferenceCreatesNothing) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  json order = {{"customerId", customer["id"]},
                {"externalDocumentNumber", "main:17"},
                {"salesOrderLines",
                 {{{"lineType", "Item"}, {"lineObjectNumber", "WIDGET-1"}, {"quantity", 1}},
                  {{"lineType", "Item"}, {"lineObjectNumber", "NO-SUCH-SKU"}, {"quantity", 1}}}}};
  net::OutboundResponse r = Api("POST", "/salesOrders", order.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "Internal_RecordNotFound");
  EXPECT_THAT(r.body, HasSubstr("The Item does not exist. Identification fields and values: "
                                "No.='NO-SUCH-SKU'"));
  EXPECT_EQ(sim_->CountSalesOrders("main:17"), 0);

  order["salesOrderLines"].erase(1);
  order["externalDocumentNumber"] = std::string(36, 'R');
  net::OutboundResponse too_long = Api("POST", "/salesOrders", order.dump());
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(ErrorCode(too_long), "Application_StringExceededLength");
  EXPECT_EQ(sim_->stats().orders_created, 0);

  json no_customer = {{"externalDocumentNumber", "main:18"}};
  net::OutboundResponse r2 = Api("POST", "/salesOrders", no_customer.dump());
  EXPECT_EQ(r2.status, 400);
  EXPECT_EQ(ErrorCode(r2), "Application_DialogException");
}

TEST_F(BusinessCentralSimTest, PatchNeedsTheCurrentEtagAndAnOpenOrder) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  json order = {{"customerId", customer["id"]},
                {"externalDocumentNumber", "main:19"},
                {"salesOrderLines", {{{"lineObjectNumber", "WIDGET-1"}, {"quantity", 3}}}}};
  json created =
      json::parse(Api("POST", "/salesOrders?$expand=salesOrderLines", order.dump()).body);
  const std::string id = created["id"];
  const std::string etag = created["@odata.etag"];

  EXPECT_EQ(Api("PATCH", "/salesOrders(" + id + ")", R"({"shipToCity":"Paris"})").status, 400);
  net::OutboundResponse patched =
      Api("PATCH", "/salesOrders(" + id + ")", R"({"shipToCity":"Paris"})", {{"If-Match", etag}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_NE(json::parse(patched.body)["@odata.etag"], etag);
  net::OutboundResponse stale =
      Api("PATCH", "/salesOrders(" + id + ")", R"({"shipToCity":"Rome"})", {{"If-Match", etag}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(ErrorCode(stale), "Request_EntityChanged");

  const json line = created["salesOrderLines"][0];
  const std::string line_path =
      "/salesOrders(" + id + ")/salesOrderLines(" + line["id"].get<std::string>() + ")";
  ASSERT_TRUE(sim_->SetOrderStatus("main:19", "Released"));
  net::OutboundResponse released =
      Api("PATCH", line_path, R"({"quantity":0})", {{"If-Match", line["@odata.etag"]}});
  EXPECT_EQ(released.status, 400);
  EXPECT_EQ(ErrorCode(released), "Application_FieldValidationException");
  EXPECT_EQ(json::parse(Api("GET", "/salesOrders(" + id + ")").body)["status"], "Open");

  ASSERT_TRUE(sim_->SetOrderStatus("main:19", "Open"));
  net::OutboundResponse zeroed =
      Api("PATCH", line_path, R"({"quantity":0})", {{"If-Match", line["@odata.etag"]}});
  ASSERT_EQ(zeroed.status, 200) << zeroed.body;
  EXPECT_EQ(json::parse(zeroed.body)["quantity"], 0);

  json now = json::parse(Api("GET", "/salesOrders(" + id + ")").body);
  EXPECT_EQ(
      Api("DELETE", "/salesOrders(" + id + ")", "", {{"If-Match", now["@odata.etag"]}}).status,
      204);
  net::OutboundResponse gone = Api("GET", "/salesOrders(" + id + ")");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "Internal_RecordNotFound");
  EXPECT_EQ(Api("GET", "/salesOrders(999999)").status, 400);  // not a GUID
}

TEST_F(BusinessCentralSimTest, ShipQuantityIsPostedByShipAndInvoiceAndACompletedOrderIsDeleted) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  sim_->AddItem("GADGET-2", "Gadget", {999, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  json order = {{"customerId", customer["id"]},
                {"externalDocumentNumber", "main:21"},
                {"salesOrderLines",
                 {{{"lineObjectNumber", "WIDGET-1"}, {"quantity", 3}},
                  {{"lineObjectNumber", "GADGET-2"}, {"quantity", 1}}}}};
  json created =
      json::parse(Api("POST", "/salesOrders?$expand=salesOrderLines", order.dump()).body);
  const std::string id = created["id"];
  // "Qty. to Ship" starts at what is outstanding.
  EXPECT_EQ(created["salesOrderLines"][0]["shipQuantity"], 3);
  EXPECT_EQ(created["salesOrderLines"][0]["shippedQuantity"], 0);
  auto line_path = [&](int i) {
    return "/salesOrders(" + id + ")/salesOrderLines(" +
           created["salesOrderLines"][i]["id"].get<std::string>() + ")";
  };
  // Never more than outstanding; settable on a released order too.
  ASSERT_TRUE(sim_->SetOrderStatus("main:21", "Released"));
  net::OutboundResponse too_many =
      Api("PATCH", line_path(0), R"({"shipQuantity":4})",
          {{"If-Match", created["salesOrderLines"][0]["@odata.etag"]}});
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(ErrorCode(too_many), "Application_DialogException");
  EXPECT_THAT(too_many.body, HasSubstr("You cannot ship more than 3 units."));
  net::OutboundResponse two = Api("PATCH", line_path(0), R"({"shipQuantity":2})",
                                  {{"If-Match", created["salesOrderLines"][0]["@odata.etag"]}});
  ASSERT_EQ(two.status, 200) << two.body;
  net::OutboundResponse none = Api("PATCH", line_path(1), R"({"shipQuantity":0})",
                                   {{"If-Match", created["salesOrderLines"][1]["@odata.etag"]}});
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(Api("GET", "/salesOrders(" + id + ")/Microsoft.NAV.shipAndInvoice").status, 405);
  net::OutboundResponse posted =
      Api("POST", "/salesOrders(" + id + ")/Microsoft.NAV.shipAndInvoice");
  EXPECT_EQ(posted.status, 204) << posted.body;
  json after = json::parse(Api("GET", "/salesOrders(" + id + ")?$expand=salesOrderLines").body);
  EXPECT_EQ(after["salesOrderLines"][0]["shippedQuantity"], 2);
  EXPECT_EQ(after["salesOrderLines"][0]["invoicedQuantity"], 2);
  EXPECT_EQ(after["salesOrderLines"][0]["shipQuantity"], 1);  // re-initialised to outstanding
  EXPECT_EQ(after["salesOrderLines"][1]["shippedQuantity"], 0);
  EXPECT_EQ(after["salesOrderLines"][1]["shipQuantity"], 1);
  json shipments = json::parse(Api("GET",
                                   "/salesShipments?$filter=externalDocumentNumber%20eq%20'MAIN:21'"
                                   "&$expand=salesShipmentLines")
                                   .body);
  ASSERT_EQ(shipments["value"].size(), 1u);
  EXPECT_EQ(shipments["value"][0]["number"], "S-SHPT102001");
  ASSERT_EQ(shipments["value"][0]["salesShipmentLines"].size(), 1u);
  EXPECT_EQ(shipments["value"][0]["salesShipmentLines"][0]["lineObjectNumber"], "WIDGET-1");
  EXPECT_EQ(shipments["value"][0]["salesShipmentLines"][0]["quantity"], 2);

  // The rest, as BC initialised it: the order is then completely shipped and invoiced, and
  // posting deletes it; its shipments remain.
  EXPECT_EQ(Api("POST", "/salesOrders(" + id + ")/Microsoft.NAV.shipAndInvoice").status, 204);
  EXPECT_EQ(Api("GET", "/salesOrders(" + id + ")").status, 404);
  EXPECT_TRUE(sim_->SalesOrderDeleted("main:21"));
  EXPECT_EQ(sim_->PostedShipmentCount("main:21"), 2);
  EXPECT_EQ(sim_->stats().shipments_posted, 2);
  auto lines = sim_->ShippedLines("main:21");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].shipped, 3);
  EXPECT_EQ(lines[1].shipped, 1);
}

TEST_F(BusinessCentralSimTest, NothingToPostIsADialogError) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  json order = {{"customerId", customer["id"]},
                {"externalDocumentNumber", "main:22"},
                {"salesOrderLines", {{{"lineObjectNumber", "WIDGET-1"}, {"quantity", 1}}}}};
  json created =
      json::parse(Api("POST", "/salesOrders?$expand=salesOrderLines", order.dump()).body);
  const std::string id = created["id"];
  ASSERT_EQ(
      Api("PATCH",
          "/salesOrders(" + id + ")/salesOrderLines(" +
              created["salesOrderLines"][0]["id"].get<std::string>() + ")",
          R"({"shipQuantity":0})", {{"If-Match", created["salesOrderLines"][0]["@odata.etag"]}})
          .status,
      200);
  net::OutboundResponse r = Api("POST", "/salesOrders(" + id + ")/Microsoft.NAV.shipAndInvoice");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "Application_DialogException");
  EXPECT_THAT(r.body, HasSubstr("There is nothing to post."));
  EXPECT_EQ(sim_->PostedShipmentCount("main:22"), 0);
}

TEST_F(BusinessCentralSimTest, SlidingWindowAnswers429WithoutRetryAfter) {
  StartSim({.requests_per_window = 3, .window = absl::Seconds(10)});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Api("GET", "/items").status, 200);
  net::OutboundResponse throttled = Api("GET", "/items");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_TRUE(throttled.Header("retry-after").empty());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Api("GET", "/items").status, 429);  // rejected calls do not count, old ones still do
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Api("GET", "/items").status, 200);
  BusinessCentralSim::Stats s = sim_->stats();
  EXPECT_EQ(s.requests, 6);
  EXPECT_EQ(s.admitted, 4);
  EXPECT_EQ(s.answered_429, 2);
}

TEST_F(BusinessCentralSimTest, ConcurrencyCapQueuesThenAnswers429) {
  // Held answers keep requests in flight; the test ends by stopping the simulator.
  StartSim({.max_concurrent = 2, .max_queue = 1, .latency = absl::Minutes(5)});
  token_ = Token();
  std::vector<std::thread> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back([this] {
      net::OutboundRequest req;
      req.url = Company() + "/items";
      req.headers = {{"Authorization", "Bearer " + token_}};
      req.timeout = absl::Minutes(10);
      EXPECT_FALSE(http_->Send(req).ok());  // the connection is closed by Stop()
    });
  }
  const absl::Time guard = absl::Now() + absl::Seconds(30);  // failure guard only
  while (sim_->stats().requests < 3 && absl::Now() < guard) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(sim_->stats().requests, 3);
  net::OutboundResponse busy = Api("GET", "/items");
  EXPECT_EQ(busy.status, 429);
  EXPECT_TRUE(busy.Header("retry-after").empty());
  BusinessCentralSim::Stats s = sim_->stats();
  EXPECT_EQ(s.admitted, 2);  // the third waits in the queue
  EXPECT_EQ(s.max_in_flight, 2);
  EXPECT_EQ(s.answered_429, 1);
  sim_->Stop();
  for (auto& t : held) t.join();
}

TEST_F(BusinessCentralSimTest, InjectedFaults) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  sim_->FailNextRequests(2, 503);
  net::OutboundResponse first = Api("GET", "/items");
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.Header("retry-after"), "1");
  EXPECT_EQ(Api("GET", "/items").status, 503);
  EXPECT_EQ(Api("GET", "/items").status, 200);
  EXPECT_EQ(sim_->stats().answered_503, 2);

  sim_->DropResponseAfterNextOrderCreate();
  net::OutboundRequest req;
  req.method = "POST";
  req.url = Company() + "/salesOrders";
  req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  req.body = json{{"customerId", customer["id"]},
                  {"externalDocumentNumber", "main:16"},
                  {"salesOrderLines", {{{"lineObjectNumber", "WIDGET-1"}, {"quantity", 1}}}}}
                 .dump();
  EXPECT_THAT(http_->Send(req), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->CountSalesOrders("main:16"), 1);
  EXPECT_EQ(sim_->stats().dropped, 1);
  req.body = json{{"customerId", customer["id"]}, {"externalDocumentNumber", "main:17"}}.dump();
  EXPECT_EQ(http_->Send(req)->status, 201);  // only the next create was dropped
}

TEST_F(BusinessCentralSimTest, OutageAnswers503WithRetryAfterUntilItEnds) {
  StartSim();
  token_ = Token();
  sim_->SetOutage(true);
  net::OutboundResponse r = Api("GET", "/items");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ErrorCode(r), "ServiceUnavailable");
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(Api("POST", "/customers", json{{"displayName", "Ada"}}.dump()).status, 503);
  EXPECT_EQ(TokenRequest(sim_->options().client_secret).status, 200);  // identity stays up
  sim_->SetOutage(false);
  EXPECT_EQ(Api("GET", "/items").status, 200);
  BusinessCentralSim::Stats s = sim_->stats();
  EXPECT_EQ(s.outage_503, 2);
  EXPECT_EQ(s.answered_503, 2);
  EXPECT_EQ(s.customers_created, 0);
  EXPECT_EQ(s.admitted, 1);
}

TEST_F(BusinessCentralSimTest, OutageInCloseModeClosesConnectionsUnanswered) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  sim_->SetOutage(true, BusinessCentralSim::OutageMode::kClose);
  net::OutboundRequest req;
  req.method = "POST";
  req.url = Company() + "/salesOrders";
  req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  req.body = json{{"customerId", customer["id"]}, {"externalDocumentNumber", "main:1"}}.dump();
  EXPECT_THAT(http_->Send(req), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->CountSalesOrders("main:1"), 0);
  EXPECT_EQ(sim_->stats().outage_closed, 1);
  sim_->SetOutage(false);
  EXPECT_EQ(http_->Send(req)->status, 201);
  EXPECT_EQ(sim_->CountSalesOrders("main:1"), 1);
}

TEST_F(BusinessCentralSimTest, Throttle429StormsByCountAndByDuration) {
  StartSim();
  token_ = Token();
  sim_->Throttle429Next(2);
  net::OutboundResponse r = Api("GET", "/items");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(ErrorCode(r), "Application_TooManyRequests");
  EXPECT_EQ(r.Header("retry-after"), "");  // BC's 429 carries none
  EXPECT_EQ(Api("GET", "/items").status, 429);
  EXPECT_EQ(Api("GET", "/items").status, 200);

  sim_->Throttle429For(absl::Seconds(10));
  EXPECT_EQ(Api("GET", "/items").status, 429);
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Api("GET", "/items").status, 429);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Api("GET", "/items").status, 200);
  BusinessCentralSim::Stats s = sim_->stats();
  EXPECT_EQ(s.storm_429, 4);
  EXPECT_EQ(s.answered_429, 4);
  EXPECT_EQ(s.admitted, 2);
}

TEST_F(BusinessCentralSimTest, ResetsCloseTheConnectionBeforeProcessingReproduciblyBySeed) {
  StartSim({.seed = 42});
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  sim_->SetResetProbability(1.0);
  net::OutboundRequest req;
  req.method = "POST";
  req.url = Company() + "/salesOrders";
  req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  req.body = json{{"customerId", customer["id"]}, {"externalDocumentNumber", "main:2"}}.dump();
  EXPECT_THAT(http_->Send(req), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->CountSalesOrders("main:2"), 0);  // nothing committed
  EXPECT_EQ(sim_->stats().resets, 1);

  // One fresh connection per request, so no client retries a reused connection behind our back.
  sim_->SetResetProbability(0.5);
  auto pattern = [&] {
    std::string out;
    for (int i = 0; i < 40; ++i) {
      net::OutboundRequest get;
      get.method = "GET";
      get.url = Company() + "/items";
      get.headers = {{"Authorization", "Bearer " + token_}, {"Connection", "close"}};
      get.fresh_connection = true;
      absl::StatusOr<net::OutboundResponse> r = http_->Send(get);
      out.push_back(r.ok() && r->status == 200 ? '.' : 'x');
    }
    return out;
  };
  sim_->SeedFaults(7);
  const std::string first = pattern();
  sim_->SeedFaults(7);
  EXPECT_EQ(pattern(), first);
  const int64_t failed = std::count(first.begin(), first.end(), 'x');
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, 40);
  EXPECT_EQ(sim_->stats().resets, 1 + 2 * failed);
}

TEST_F(BusinessCentralSimTest, DropAfterCommitProbabilityCommitsAndLosesTheAnswer) {
  StartSim();
  sim_->AddItem("WIDGET-1", "Widget", {1250, "EUR"});
  json customer = CreateCustomer("ada@example.com");
  sim_->SetDropAfterCommitProbability(1.0);
  EXPECT_EQ(Api("GET", "/items").status, 200);  // only creates lose their answer
  net::OutboundRequest req;
  req.method = "POST";
  req.url = Company() + "/salesOrders";
  req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  req.body = json{{"customerId", customer["id"]}, {"externalDocumentNumber", "main:3"}}.dump();
  EXPECT_THAT(http_->Send(req), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->CountSalesOrders("main:3"), 1);
  EXPECT_EQ(sim_->stats().dropped, 1);
  sim_->SetDropAfterCommitProbability(0.0);
  req.body = json{{"customerId", customer["id"]}, {"externalDocumentNumber", "main:4"}}.dump();
  EXPECT_EQ(http_->Send(req)->status, 201);
  EXPECT_EQ(sim_->stats().dropped, 1);
  auto refs = sim_->SalesOrderReferences();
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].first, "MAIN:3");
  EXPECT_EQ(refs[1].first, "MAIN:4");
  EXPECT_EQ(refs[0].second, sim_->SalesOrderJson("main:3").value()["number"]);
}

TEST_F(BusinessCentralSimTest, LatencyWithJitterHoldsTheAnswer) {
  StartSim();
  token_ = Token();
  sim_->SetLatency(absl::Milliseconds(50), absl::Milliseconds(50));
  const absl::Time start = absl::Now();
  EXPECT_EQ(Api("GET", "/items").status, 200);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_EQ(sim_->stats().delayed, 1);
  sim_->ClearFaults();
  EXPECT_EQ(Api("GET", "/items").status, 200);
  EXPECT_EQ(sim_->stats().delayed, 1);
}

TEST_F(BusinessCentralSimTest, ChaosFaultsOverTheAdminEndpoint) {
  StartSim();
  token_ = Token();
  const std::string faults = "http://127.0.0.1:" + std::to_string(sim_->port()) + "/_sim/faults";
  EXPECT_EQ(Send("POST", faults, R"({"outage":true,"outage_mode":"sideways"})").status, 400);
  EXPECT_EQ(Send("POST", faults, R"({"outage":true})").status, 200);
  EXPECT_EQ(Api("GET", "/items").status, 503);
  EXPECT_EQ(Send("POST", faults, R"({"clear":true,"throttle_429_next":1})").status, 200);
  EXPECT_EQ(Api("GET", "/items").status, 429);
  EXPECT_EQ(Api("GET", "/items").status, 200);
  EXPECT_EQ(Send("POST", faults, R"({"throttle_429_ms":60000})").status, 200);
  EXPECT_EQ(Api("GET", "/items").status, 429);
  EXPECT_EQ(Send("POST", faults, R"({"clear":true,"latency_ms":1,"latency_jitter_ms":2})").status,
            200);
  EXPECT_EQ(Api("GET", "/items").status, 200);
  EXPECT_EQ(Send("POST", faults, R"({"clear":true,"reset_probability":1.0,"seed":3})").status, 200);
  net::OutboundRequest get;
  get.method = "GET";
  get.url = Company() + "/items";
  get.headers = {{"Authorization", "Bearer " + token_}, {"Connection", "close"}};
  get.fresh_connection = true;
  EXPECT_THAT(http_->Send(get), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Send("POST", faults, R"({"clear":true,"drop_after_commit_probability":0.5})").status,
            200);
  json stats = json::parse(
      Send("GET", "http://127.0.0.1:" + std::to_string(sim_->port()) + "/_sim/stats").body);
  EXPECT_EQ(stats["outage_503"], 1);
  EXPECT_EQ(stats["storm_429"], 2);
  EXPECT_EQ(stats["delayed"], 1);
  EXPECT_EQ(stats["resets"], 1);
  EXPECT_EQ(stats["outage_closed"], 0);
}

TEST_F(BusinessCentralSimTest, AdminEndpointsMirrorTheAccessors) {
  StartSim();
  const std::string admin = "http://127.0.0.1:" + std::to_string(sim_->port()) + "/_sim";
  EXPECT_EQ(Send("POST", admin + "/items",
                 R"({"number":"widget-9","displayName":"Widget 9","unitPrice":3.5})")
                .status,
            201);
  json items = json::parse(
      Api("GET", "/items?$filter=" + net::UrlEncode("number eq 'WIDGET-9'")).body)["value"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["unitPrice"], 3.5);

  json customer = CreateCustomer("ada@example.com");
  Api("POST", "/salesOrders",
      json{{"customerId", customer["id"]},
           {"externalDocumentNumber", "main:30"},
           {"salesOrderLines", {{{"lineObjectNumber", "WIDGET-9"}, {"quantity", 1}}}}}
          .dump());
  json orders =
      json::parse(Send("GET", admin + "/salesOrders?externalDocumentNumber=MAIN%3A30").body);
  EXPECT_EQ(orders["count"], 1);
  EXPECT_EQ(orders["lines"], 1);
  EXPECT_EQ(orders["status"], "Draft");
  EXPECT_EQ(
      Send("POST", admin + "/salesOrders/ship", R"({"externalDocumentNumber":"main:30"})").status,
      200);
  EXPECT_EQ(sim_->SalesOrderJson("main:30").value()["fullyShipped"], true);
  EXPECT_EQ(json::parse(Send("GET", admin + "/customers?email=ADA%40example.com").body)["count"],
            1);
  EXPECT_EQ(Send("POST", admin + "/faults", R"({"fail_next":1,"status":503})").status, 200);
  EXPECT_EQ(Api("GET", "/items").status, 503);

  json stats = json::parse(Send("GET", admin + "/stats").body);
  EXPECT_EQ(stats["answered_503"], 1);
  EXPECT_EQ(stats["orders_created"], 1);
  EXPECT_EQ(stats["requests"], 4);  // /_sim calls are not counted
}

}  // namespace
}  // namespace keelson::sim
