#include "sim/shipbob.h"

#include <mutex>

#include "absl/strings/match.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/signature.h"
#include "tests/support/status_matchers.h"

namespace keelson::sim {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

// Collects what is POSTed to it: the webhook target.
class Receiver {
 public:
  struct Delivery {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  explicit Receiver(int status = 200) {
    net::Router router;
    router.Add(net::http::verb::post, "/hooks/shipbob",
               [this, status](net::HttpRequest& req, net::Responder respond) {
                 Delivery d;
                 for (const auto& f : req.raw) {
                   d.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
                 }
                 d.body = req.raw.body();
                 {
                   std::lock_guard<std::mutex> l(mu_);
                   deliveries_.push_back(std::move(d));
                 }
                 respond(net::Text(static_cast<net::http::status>(status), "", "text/plain"));
               });
    server_ = std::make_unique<net::HttpServer>(net::HttpServerOptions{.port = 0, .threads = 1},
                                                std::move(router));
    EXPECT_TRUE(server_->Start().ok());
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks/shipbob";
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard<std::mutex> l(mu_);
    return deliveries_;
  }

 private:
  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
};

std::string HeaderOf(const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, std::string(name))) return v;
  }
  return "";
}

class ShipBobSimTest : public ::testing::Test {
 protected:
  void StartSim(ShipBobSim::Options options = {}) {
    if (options.clock == core::Clock::Real()) options.clock = &clock_;
    sim_ = std::make_unique<ShipBobSim>(std::move(options));
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

  // An API call with the token and the channel header.
  net::OutboundResponse Api(std::string method, std::string path, std::string body = "",
                            int64_t channel = 100102) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", "Bearer " + sim_->options().token}};
    if (channel != 0) headers.emplace_back("shipbob_channel_id", std::to_string(channel));
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return Send(std::move(method), sim_->base_url() + path, std::move(body), std::move(headers));
  }

  static json OrderBody(std::string reference, json products) {
    return {{"reference_id", reference},
            {"order_number", "1001"},
            {"type", "DTC"},
            {"shipping_method", "Standard"},
            {"recipient",
             {{"name", "Ada Lovelace"},
              {"address",
               {{"address1", "100 N Racine Ave"},
                {"city", "Chicago"},
                {"state", "IL"},
                {"country", "US"},
                {"zip_code", "60607"}}},
              {"email", "ada@example.com"}}},
            {"products", std::move(products)}};
  }

  core::FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<net::HttpClient> http_ = net::NewCurlHttpClient();
  std::unique_ptr<ShipBobSim> sim_;
};

TEST_F(ShipBobSimTest, CreateOrderAnswers201WithTheOrderAndOneProcessingShipment) {
  StartSim();
  sim_->AddProduct("MUG-1", "Mug");
  ASSERT_TRUE(sim_->SetOnHand("MUG-1", 10, 5));
  net::OutboundResponse r =
      Api("POST", "/order",
          OrderBody(
              "main:1/1",
              json::array({{{"reference_id", "MUG-1"}, {"quantity", 2}, {"external_line_id", 7}}}))
              .dump());
  ASSERT_EQ(r.status, 201) << r.body;
  json o = json::parse(r.body);
  EXPECT_EQ(o["reference_id"], "main:1/1");
  EXPECT_EQ(o["status"], "Processing");
  EXPECT_EQ(o["channel"]["id"], 100102);
  EXPECT_EQ(o["products"][0]["external_line_id"], 7);
  ASSERT_EQ(o["shipments"].size(), 1u);
  EXPECT_EQ(o["shipments"][0]["status"], "Processing");
  EXPECT_EQ(o["shipments"][0]["location"]["id"], 10);  // the only center holding the mug
  EXPECT_EQ(o["shipments"][0]["tracking"], nullptr);
  EXPECT_EQ(r.Header("x-remaining-calls"), "149");
  // Two units committed at Cicero: on hand 5, fulfillable 3.
  std::vector<ShipBobSim::StockLevel> stock = sim_->Stock("MUG-1");
  ASSERT_EQ(stock.size(), 1u);
  EXPECT_EQ(stock[0].on_hand, 5);
  EXPECT_EQ(stock[0].committed, 2);
  EXPECT_EQ(stock[0].fulfillable, 3);
  EXPECT_EQ(sim_->stats().orders_created, 1);
}

TEST_F(ShipBobSimTest, DuplicateReferenceInTheChannelIs422AndCreatesNothing) {
  ShipBobSim::Options options;
  options.channels = {{100102, "A"}, {100103, "B"}};
  StartSim(options);
  const std::string body =
      OrderBody("main:2/1",
                json::array({{{"reference_id", "TEE"}, {"name", "Tee"}, {"quantity", 1}}}))
          .dump();
  ASSERT_EQ(Api("POST", "/order", body).status, 201);
  net::OutboundResponse dup = Api("POST", "/order", body);
  EXPECT_EQ(dup.status, 422);
  json err = json::parse(dup.body);
  ASSERT_TRUE(err["reference_id"].is_array());
  EXPECT_THAT(err["reference_id"][0].get<std::string>(), HasSubstr("main:2/1"));
  // The same reference in another channel is another order.
  EXPECT_EQ(Api("POST", "/order", body, 100103).status, 201);
  EXPECT_EQ(sim_->CountOrders("main:2/1"), 2);
  EXPECT_EQ(sim_->stats().duplicates_refused, 1);
  EXPECT_EQ(sim_->stats().orders_created, 2);
}

TEST_F(ShipBobSimTest, ValidationAndChannelErrors) {
  StartSim();
  json no_name = OrderBody("r1", json::array({{{"reference_id", "NEW"}, {"quantity", 1}}}));
  net::OutboundResponse r = Api("POST", "/order", no_name.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(json::parse(r.body).contains("products[0].name")) << r.body;
  json no_type =
      OrderBody("r1", json::array({{{"reference_id", "NEW"}, {"name", "N"}, {"quantity", 1}}}));
  no_type.erase("type");
  EXPECT_EQ(Api("POST", "/order", no_type.dump()).status, 400);
  EXPECT_EQ(Api("POST", "/order", OrderBody("r1", json::array()).dump()).status, 400);
  // No channel header on a create; a channel the token does not have.
  const std::string ok_body =
      OrderBody("r1", json::array({{{"reference_id", "NEW"}, {"name", "N"}, {"quantity", 1}}}))
          .dump();
  r = Api("POST", "/order", ok_body, 0);
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(json::parse(r.body).contains("shipbob_channel_id"));
  EXPECT_EQ(Api("POST", "/order", ok_body, 999).status, 403);
  EXPECT_EQ(sim_->OrderCount(), 0);
  EXPECT_EQ(sim_->stats().invalid_creates, 4);
}

TEST_F(ShipBobSimTest, InactiveProductAndInjectedRefusalAre422NamingTheLine) {
  StartSim();
  sim_->AddProduct("OLD", "Old", /*active=*/false);
  net::OutboundResponse r =
      Api("POST", "/order",
          OrderBody("r1", json::array({{{"reference_id", "A"}, {"name", "A"}, {"quantity", 1}},
                                       {{"reference_id", "OLD"}, {"quantity", 1}}}))
              .dump());
  EXPECT_EQ(r.status, 422);
  EXPECT_TRUE(json::parse(r.body).contains("products[1].reference_id")) << r.body;
  sim_->RejectNextCreate("A", "Product A is on a compliance hold.");
  r = Api("POST", "/order",
          OrderBody("r2", json::array({{{"reference_id", "A"}, {"name", "A"}, {"quantity", 1}}}))
              .dump());
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json::parse(r.body)["products[0].reference_id"][0],
            "Product A is on a compliance hold.");
  EXPECT_EQ(sim_->OrderCount(), 0);
  EXPECT_EQ(sim_->stats().rejected_creates, 2);
}

TEST_F(ShipBobSimTest, AuthIsABearerPersonalAccessToken) {
  StartSim();
  net::OutboundResponse r =
      Send("GET", sim_->base_url() + "/order", "", {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
  r = Send("GET", sim_->base_url() + "/inventory-level/locations");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["status"], 401);  // problem details on inventory
  EXPECT_EQ(sim_->stats().answered_401, 2);
  r = Api("GET", "/channel");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["items"][0]["id"], 100102);
}

TEST_F(ShipBobSimTest, GetOrdersFiltersByReferenceIdsAndPages) {
  StartSim();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(Api("POST", "/order",
                  OrderBody("ref-" + std::to_string(i),
                            json::array({{{"reference_id", "X"}, {"name", "X"}, {"quantity", 1}}}))
                      .dump())
                  .status,
              201);
  }
  net::OutboundResponse r = Api("GET", "/order?ReferenceIds=ref-1,ref-3");
  ASSERT_EQ(r.status, 200);
  json list = json::parse(r.body);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["reference_id"], "ref-1");
  EXPECT_EQ(list[1]["reference_id"], "ref-3");
  EXPECT_EQ(json::parse(Api("GET", "/order?ReferenceIds=nope").body).size(), 0u);
  r = Api("GET", "/order?Limit=2");
  EXPECT_EQ(json::parse(r.body).size(), 2u);
  EXPECT_EQ(r.Header("next-page"), "/2026-01/order?Page=2&Limit=2");
  r = Api("GET", "/order?Page=2&Limit=2");
  EXPECT_EQ(json::parse(r.body).size(), 1u);
  EXPECT_EQ(r.Header("next-page"), "");
  const int64_t id = list[0]["id"];
  r = Api("GET", "/order/" + std::to_string(id));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["reference_id"], "ref-1");
  EXPECT_EQ(Api("GET", "/order/1").status, 404);
  EXPECT_EQ(sim_->stats().order_lookups, 6);
}

TEST_F(ShipBobSimTest, SlidingWindowRateLimitAnswers429WithDocumentedHeadersAndBody) {
  ShipBobSim::Options options;
  options.requests_per_minute = 3;
  StartSim(options);
  EXPECT_EQ(Api("GET", "/channel").Header("x-remaining-calls"), "2");
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(Api("GET", "/channel").Header("x-remaining-calls"), "1");
  EXPECT_EQ(Api("GET", "/channel").Header("x-remaining-calls"), "0");
  clock_.Advance(absl::Seconds(15));
  net::OutboundResponse r = Api("GET", "/channel");
  EXPECT_EQ(r.status, 429);
  // The first request leaves the window 60 s after it came: 25 s from now.
  EXPECT_EQ(r.Header("x-retry-after"), "25");
  EXPECT_EQ(r.Header("x-remaining-calls"), "0");
  EXPECT_EQ(
      json::parse(r.body),
      json({{"statusCode", 429}, {"message", "Rate limit is exceeded. Try again in 25 seconds."}}));
  clock_.Advance(absl::Seconds(25));
  EXPECT_EQ(Api("GET", "/channel").status, 200);
  EXPECT_EQ(sim_->stats().answered_429, 1);
}

TEST_F(ShipBobSimTest, FaultsFailNextThrottleAndDropAfterCommit) {
  StartSim();
  sim_->FailNextRequests(2, 503);
  EXPECT_EQ(Api("GET", "/channel").status, 503);
  EXPECT_EQ(Api("GET", "/channel").status, 503);
  EXPECT_EQ(Api("GET", "/channel").status, 200);
  sim_->Throttle429Next(1, absl::Seconds(7));
  net::OutboundResponse r = Api("GET", "/channel");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("x-retry-after"), "7");
  sim_->DropResponseAfterNextOrderCreate();
  net::OutboundRequest req;
  req.method = "POST";
  req.url = sim_->base_url() + "/order";
  req.fresh_connection = true;
  req.headers = {{"Authorization", "Bearer " + sim_->options().token},
                 {"shipbob_channel_id", "100102"},
                 {"Content-Type", "application/json"}};
  req.body =
      OrderBody("dropped", json::array({{{"reference_id", "X"}, {"name", "X"}, {"quantity", 1}}}))
          .dump();
  absl::StatusOr<net::OutboundResponse> res = http_->Send(req);
  EXPECT_THAT(res, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->CountOrders("dropped"), 1);
  ShipBobSim::Stats s = sim_->stats();
  EXPECT_EQ(s.injected_failures, 2);
  EXPECT_EQ(s.dropped, 1);
  EXPECT_EQ(s.orders_created, 1);
}

TEST_F(ShipBobSimTest, PartialShipmentSplitsTheOrderAndFiresASignedOrderShippedWebhook) {
  Receiver receiver;
  ShipBobSim::Options options;
  options.webhook_url = receiver.url();
  StartSim(options);
  sim_->AddProduct("A", "Alpha");
  sim_->AddProduct("B", "Beta");
  ASSERT_TRUE(sim_->SetOnHand("A", 228, 10));
  ASSERT_TRUE(sim_->SetOnHand("B", 228, 10));
  ASSERT_EQ(Api("POST", "/order",
                OrderBody("main:9/1", json::array({{{"reference_id", "A"}, {"quantity", 3}},
                                                   {{"reference_id", "B"}, {"quantity", 1}}}))
                    .dump())
                .status,
            201);
  ShipBobSim::ShipRequest ship;
  ship.reference_id = "main:9/1";
  ship.lines = {{"A", 2}};
  ship.carrier = "UPS";
  ship.tracking_number = "1Z999";
  ship.tracking_url = "https://ups.example/1Z999";
  KEELSON_ASSERT_OK_AND_ASSIGN(ShipBobSim::ShipResult shipped, sim_->ShipOrder(ship));
  EXPECT_EQ(shipped.webhook_status, 200);

  std::optional<json> order = sim_->OrderJson("main:9/1");
  ASSERT_TRUE(order);
  EXPECT_EQ((*order)["status"], "PartiallyFulfilled");
  ASSERT_EQ((*order)["shipments"].size(), 2u);
  const json& open = (*order)["shipments"][0];
  const json& sent = (*order)["shipments"][1];
  EXPECT_EQ(open["status"], "Processing");
  EXPECT_EQ(sent["id"], shipped.shipment_id);
  EXPECT_EQ(sent["status"], "LabeledCreated");
  EXPECT_EQ(sent["tracking"]["tracking_number"], "1Z999");
  ASSERT_EQ(sent["products"].size(), 1u);
  EXPECT_EQ(sent["products"][0]["reference_id"], "A");
  EXPECT_EQ(sent["products"][0]["inventory_items"][0]["quantity"], 2);
  // A: 10 on hand - 2 shipped = 8, 1 still committed; B untouched.
  EXPECT_EQ(sim_->Stock("A")[0].on_hand, 8);
  EXPECT_EQ(sim_->Stock("A")[0].committed, 1);
  EXPECT_EQ(sim_->Stock("B")[0].committed, 1);

  std::vector<Receiver::Delivery> got = receiver.deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(HeaderOf(got[0].headers, "x-webhook-topic"), "order.shipped");
  const std::string id = HeaderOf(got[0].headers, "webhook-id");
  const std::string ts = HeaderOf(got[0].headers, "webhook-timestamp");
  EXPECT_EQ(id, shipped.webhook_id);
  EXPECT_EQ(ts, "1767225600");
  // Standard Webhooks: v1,base64(HMAC-SHA256(base64decode(secret after whsec_), id.ts.body)).
  std::string_view secret = sim_->options().webhook_secret;
  secret.remove_prefix(6);
  const std::string key = net::Base64Decode(secret).value();
  EXPECT_EQ(HeaderOf(got[0].headers, "webhook-signature"),
            "v1," + net::HmacSha256Base64(key, id + "." + ts + "." + got[0].body));
  EXPECT_EQ(json::parse(got[0].body)["shipments"][1]["tracking"]["tracking_number"], "1Z999");

  // The rest ships in the open shipment itself; the order is then fulfilled.
  ship.lines.clear();
  ship.tracking_number = "1Z1000";
  KEELSON_ASSERT_OK_AND_ASSIGN(ShipBobSim::ShipResult rest, sim_->ShipOrder(ship));
  EXPECT_EQ(rest.shipment_id, open["id"]);
  EXPECT_EQ(sim_->OrderJson("main:9/1").value()["status"], "Fulfilled");
  EXPECT_THAT(sim_->ShipOrder(ship), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(sim_->stats().webhooks_sent, 2);
  EXPECT_EQ(sim_->stats().shipments_shipped, 2);
}

TEST_F(ShipBobSimTest, FailedWebhookIsCountedAndRedeliveredWithTheSameId) {
  Receiver down(500);
  ShipBobSim::Options options;
  options.webhook_url = down.url();
  StartSim(options);
  ASSERT_EQ(
      Api("POST", "/order",
          OrderBody("r", json::array({{{"reference_id", "A"}, {"name", "A"}, {"quantity", 1}}}))
              .dump())
          .status,
      201);
  KEELSON_ASSERT_OK_AND_ASSIGN(ShipBobSim::ShipResult shipped,
                               sim_->ShipOrder({.reference_id = "r"}));
  EXPECT_EQ(shipped.webhook_status, 500);
  EXPECT_EQ(sim_->stats().webhooks_failed, 1);
  Receiver up;
  sim_->SetWebhookUrl(up.url());
  KEELSON_ASSERT_OK_AND_ASSIGN(int status, sim_->RedeliverWebhook(shipped.webhook_id));
  EXPECT_EQ(status, 200);
  ASSERT_EQ(up.deliveries().size(), 1u);
  EXPECT_EQ(HeaderOf(up.deliveries()[0].headers, "webhook-id"), shipped.webhook_id);
  EXPECT_EQ(sim_->WebhookDeliveries()[0].attempts, 2);
  EXPECT_EQ(sim_->stats().webhooks_sent, 1);
}

TEST_F(ShipBobSimTest, InventoryLevelsByLocationArePagedWithNextLinks) {
  ShipBobSim::Options options;
  options.inventory_page_size = 2;
  StartSim(options);
  const int64_t a = sim_->AddProduct("A", "Alpha");
  sim_->AddProduct("B", "Beta");
  sim_->AddProduct("C", "Gamma");
  ASSERT_TRUE(sim_->SetOnHand("A", 228, 7));
  ASSERT_TRUE(sim_->SetOnHand("A", 10, 3));
  net::OutboundResponse r = Api("GET", "/inventory-level/locations", "", 0);
  ASSERT_EQ(r.status, 200) << r.body;
  json page = json::parse(r.body);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["inventory_id"], a);
  EXPECT_EQ(page["items"][0]["sku"], "A");
  ASSERT_EQ(page["items"][0]["locations"].size(), 2u);
  EXPECT_EQ(page["items"][0]["locations"][0]["location_id"], 228);
  EXPECT_EQ(page["items"][0]["locations"][0]["on_hand_quantity"], 7);
  EXPECT_EQ(page["items"][0]["locations"][0]["fulfillable_quantity"], 7);
  EXPECT_EQ(page["items"][1]["locations"].size(), 0u);
  ASSERT_TRUE(page["next"].is_string());
  r = Send("GET", sim_->origin() + page["next"].get<std::string>(), "",
           {{"Authorization", "Bearer " + sim_->options().token}});
  page = json::parse(r.body);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["sku"], "C");
  EXPECT_TRUE(page["next"].is_null());
  r = Api("GET", "/inventory-level", "", 0);
  EXPECT_EQ(json::parse(r.body)["items"][0]["total_on_hand_quantity"], 10);
}

TEST_F(ShipBobSimTest, AdminHooksOverHttp) {
  Receiver receiver;
  StartSim();
  auto admin = [&](std::string path, json body) {
    return Send("POST", sim_->origin() + path, body.dump(), {{"Content-Type", "application/json"}});
  };
  EXPECT_EQ(admin("/_sim/products",
                  {{"reference_id", "A"},
                   {"name", "Alpha"},
                   {"inventory", json::array({{{"fulfillment_center_id", 228}, {"on_hand", 4}}})}})
                .status,
            200);
  EXPECT_EQ(sim_->Stock("A")[0].on_hand, 4);
  EXPECT_EQ(admin("/_sim/webhooks", {{"url", receiver.url()}}).status, 200);
  ASSERT_EQ(Api("POST", "/order",
                OrderBody("r", json::array({{{"reference_id", "A"}, {"quantity", 2}}})).dump())
                .status,
            201);
  net::OutboundResponse r =
      admin("/_sim/ship", {{"reference_id", "r"},
                           {"lines", json::array({{{"sku", "A"}, {"quantity", 1}}})},
                           {"carrier", "FedEx"},
                           {"tracking_number", "F1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["webhook_status"], 200);
  r = Send("GET", sim_->origin() + "/_sim/orders?reference_id=r");
  EXPECT_EQ(json::parse(r.body)["status"], "PartiallyFulfilled");
  EXPECT_EQ(admin("/_sim/faults", {{"fail_next", 1}, {"status", 502}}).status, 200);
  EXPECT_EQ(Api("GET", "/channel").status, 502);
  EXPECT_EQ(admin("/_sim/reject_next_create", {{"sku", "A"}, {"message", "no"}}).status, 200);
  EXPECT_EQ(Api("POST", "/order",
                OrderBody("r2", json::array({{{"reference_id", "A"}, {"quantity", 1}}})).dump())
                .status,
            422);
  r = Send("GET", sim_->origin() + "/_sim/stats");
  json stats = json::parse(r.body);
  EXPECT_EQ(stats["orders_created"], 1);
  EXPECT_EQ(stats["rejected_creates"], 1);
  EXPECT_EQ(stats["webhooks_sent"], 1);
  EXPECT_EQ(stats["injected_failures"], 1);
}

}  // namespace
}  // namespace keelson::sim
