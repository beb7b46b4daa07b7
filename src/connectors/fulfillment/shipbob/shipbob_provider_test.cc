// ShipBobProvider against the ShipBob simulator over real HTTP (through a net::Endpoint on a fake
// clock), and the classification and mapping tables.

#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "connectors/fulfillment/shipbob/provider.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/retry_policy.h"
#include "net/endpoint.h"
#include "net/http_server.h"
#include "sim/shipbob.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors {
// For ElementsAre over Shipment::lines (found by ADL in ShipmentLine's namespace).
bool operator==(const ShipmentLine& a, const ShipmentLine& b) {
  return a.sku == b.sku && a.quantity == b.quantity && a.line_id == b.line_id;
}
void PrintTo(const ShipmentLine& l, std::ostream* os) {
  *os << "{" << l.sku << " x" << l.quantity << " line " << l.line_id << "}";
}
}  // namespace keelson::connectors

namespace keelson::connectors::shipbob {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The webhook target: collects what the simulator POSTs.
class Receiver {
 public:
  struct Delivery {
    ShipBobProvider::Headers headers;
    std::string body;
  };
  Receiver() {
    net::Router router;
    router.Add(net::http::verb::post, "/v1/webhooks/shipbob",
               [this](net::HttpRequest& req, net::Responder respond) {
                 Delivery d;
                 for (const auto& f : req.raw) {
                   d.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
                 }
                 d.body = req.raw.body();
                 {
                   std::lock_guard<std::mutex> l(mu_);
                   deliveries_.push_back(std::move(d));
                 }
                 respond(net::Text(net::http::status::no_content, "", "text/plain"));
               });
    server_ = std::make_unique<net::HttpServer>(net::HttpServerOptions{.port = 0, .threads = 1},
                                                std::move(router));
    EXPECT_TRUE(server_->Start().ok());
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/webhooks/shipbob";
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

class ShipBobProviderTest : public ::testing::Test {
 protected:
  ShipBobProviderTest() {
    sim::ShipBobSim::Options so;
    so.clock = &clock_;
    so.webhook_url = receiver_.url();
    sim_ = std::make_unique<sim::ShipBobSim>(so);
    EXPECT_TRUE(sim_->Start().ok());
    options_.base_url = sim_->base_url();
    options_.token = so.token;
    options_.channel_id = 100102;
    options_.webhook_secret = so.webhook_secret;
    options_.clock = &clock_;
    net::EndpointOptions eo = EndpointOptionsFor(options_);
    eo.sleep = [this](absl::Duration d) { clock_.Advance(d); };
    endpoint_ = std::make_unique<net::Endpoint>(*curl_, eo);
    provider_ = std::make_unique<ShipBobProvider>(options_, *endpoint_);
  }

  static ReleaseRequest Segment(std::string segment_id) {
    ReleaseRequest r;
    r.segment_id = std::move(segment_id);
    r.order_ref = "main:1234";
    r.node_id = "shipbob-east";
    r.order_number = "1234";
    r.ship_to = {.first_name = "Ada",
                 .last_name = "Lovelace",
                 .address_1 = "100 N Racine Ave",
                 .address_2 = "Suite 100",
                 .city = "Chicago",
                 .state = "IL",
                 .postcode = "60607",
                 .country = "US",
                 .phone = "555-555-5555"};
    r.email = "ada@example.com";
    r.shipping_method = "Standard";
    r.lines = {{.line_id = 11, .sku = "MUG-1", .name = "Mug", .quantity = 3},
               {.line_id = 12, .sku = "TEE-M", .name = "Tee M", .quantity = 1}};
    return r;
  }

  void Stock(std::string sku, int64_t fc, int64_t on_hand) {
    sim_->AddProduct(sku, sku + " name");
    ASSERT_TRUE(sim_->SetOnHand(sku, fc, on_hand));
  }

  core::FakeClock clock_{absl::FromUnixSeconds(1767225600)};
  Receiver receiver_;
  std::unique_ptr<sim::ShipBobSim> sim_;
  std::unique_ptr<net::HttpClient> curl_ = net::NewCurlHttpClient();
  ShipBobOptions options_;
  std::unique_ptr<net::Endpoint> endpoint_;
  std::unique_ptr<ShipBobProvider> provider_;
};

TEST_F(ShipBobProviderTest, ReleaseCreatesExactlyOneOrderWithTheSegmentAsReference) {
  Stock("MUG-1", 228, 10);
  KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult r, provider_->Release(Segment("main:1234/1"), {}));
  EXPECT_FALSE(r.already_existed);
  std::optional<json> o = sim_->OrderJson("main:1234/1", 100102);
  ASSERT_TRUE(o);
  EXPECT_EQ(r.provider_id, std::to_string((*o)["id"].get<int64_t>()));
  EXPECT_EQ((*o)["order_number"], "1234");
  EXPECT_EQ((*o)["type"], "DTC");
  EXPECT_EQ((*o)["shipping_method"], "Standard");
  EXPECT_EQ((*o)["recipient"]["name"], "Ada Lovelace");
  EXPECT_EQ((*o)["recipient"]["email"], "ada@example.com");
  EXPECT_EQ((*o)["recipient"]["address"]["zip_code"], "60607");
  ASSERT_EQ((*o)["products"].size(), 2u);
  EXPECT_EQ((*o)["products"][0]["reference_id"], "MUG-1");
  EXPECT_EQ((*o)["products"][0]["quantity"], 3);
  EXPECT_EQ((*o)["products"][0]["external_line_id"], 11);
  EXPECT_EQ((*o)["tags"][0], json({{"name", "keelson_order_ref"}, {"value", "main:1234"}}));
  sim::ShipBobSim::Stats s = sim_->stats();
  EXPECT_EQ(s.create_attempts, 1);
  EXPECT_EQ(s.orders_created, 1);
  EXPECT_EQ(s.order_lookups, 0);
  EXPECT_EQ(sim_->CountOrders("main:1234/1"), 1);
}

TEST_F(ShipBobProviderTest, RetryWithVerifyFirstAfterADroppedAnswerCreatesNothingTwice) {
  sim_->DropResponseAfterNextOrderCreate();
  absl::StatusOr<ReleaseResult> first = provider_->Release(Segment("main:1234/1"), {});
  EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(first.status().message()), HasSubstr("verify_first"));
  KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult again,
                               provider_->Release(Segment("main:1234/1"), {.verify_first = true}));
  EXPECT_TRUE(again.already_existed);
  EXPECT_EQ(again.provider_id,
            std::to_string(sim_->OrderJson("main:1234/1").value()["id"].get<int64_t>()));
  sim::ShipBobSim::Stats s = sim_->stats();
  EXPECT_EQ(s.create_attempts, 1);  // the retry never POSTed
  EXPECT_EQ(s.orders_created, 1);
  EXPECT_EQ(s.dropped, 1);
  EXPECT_EQ(s.order_lookups, 1);
  EXPECT_EQ(sim_->CountOrders("main:1234/1"), 1);
}

TEST_F(ShipBobProviderTest, RetryWithoutVerifyFirstResolvesTheDuplicateReferenceByLookup) {
  sim_->DropResponseAfterNextOrderCreate();
  EXPECT_THAT(provider_->Release(Segment("main:1234/1"), {}),
              StatusIs(absl::StatusCode::kUnavailable));
  KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult again, provider_->Release(Segment("main:1234/1"), {}));
  EXPECT_TRUE(again.already_existed);
  sim::ShipBobSim::Stats s = sim_->stats();
  EXPECT_EQ(s.create_attempts, 2);
  EXPECT_EQ(s.duplicates_refused, 1);
  EXPECT_EQ(s.orders_created, 1);
  EXPECT_EQ(sim_->CountOrders("main:1234/1"), 1);
  // verify_first on a segment never released looks, finds nothing, and creates it.
  KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult fresh,
                               provider_->Release(Segment("main:1234/2"), {.verify_first = true}));
  EXPECT_FALSE(fresh.already_existed);
  EXPECT_EQ(sim_->stats().orders_created, 2);
}

TEST_F(ShipBobProviderTest, ConcurrentReleasesOfOneSegmentMakeOneOrder) {
  // Workers racing on the same segment (a lease that expired mid-call): ShipBob's unique
  // reference refuses all but one create, and each refused one finds the winner's order.
  ShipBobProvider direct(options_, *curl_);
  constexpr int kThreads = 6;
  std::vector<absl::StatusOr<ReleaseResult>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = direct.Release(Segment("main:1234/1"), {}); });
  }
  for (std::thread& t : threads) t.join();
  int created = 0;
  for (const auto& r : results) {
    KEELSON_ASSERT_OK(r);
    if (!r->already_existed) ++created;
    EXPECT_EQ(r->provider_id, results[0]->provider_id);
  }
  EXPECT_EQ(created, 1);
  sim::ShipBobSim::Stats s = sim_->stats();
  EXPECT_EQ(s.orders_created, 1);
  EXPECT_EQ(s.duplicates_refused, kThreads - 1);
  EXPECT_EQ(sim_->CountOrders("main:1234/1"), 1);
}

TEST_F(ShipBobProviderTest, BusinessRefusalIsFailedPreconditionNamingTheSku) {
  sim_->AddProduct("TEE-M", "Tee M", /*active=*/false);
  absl::StatusOr<ReleaseResult> r = provider_->Release(Segment("main:1234/1"), {});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("SKU 'TEE-M'"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("inactive"));
  EXPECT_FALSE(jobs::RetryAfterOf(r.status()).has_value());
  // An injected refusal of another line names that line's SKU.
  sim_->SetProductActive("TEE-M", true);
  sim_->RejectNextCreate("MUG-1", "Product is on a compliance hold.");
  r = provider_->Release(Segment("main:1234/1"), {});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(
      std::string(r.status().message()),
      HasSubstr("SKU 'MUG-1' (products[0].reference_id): Product is on a compliance hold."));
  EXPECT_EQ(sim_->OrderCount(), 0);
  EXPECT_EQ(sim_->stats().rejected_creates, 2);
}

TEST_F(ShipBobProviderTest, ValidationErrorIsInvalidArgument) {
  ReleaseRequest r = Segment("main:1234/1");
  r.lines[1].name = "";  // unknown to ShipBob and no name to create it from
  absl::StatusOr<ReleaseResult> res = provider_->Release(r, {});
  EXPECT_THAT(res, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(res.status().message()), HasSubstr("SKU 'TEE-M' (products[1].name)"));
  // Refused before any request: no line, a ',' in the segment id.
  r.lines.clear();
  EXPECT_THAT(provider_->Release(r, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(provider_->Release(Segment("main:1,2/1"), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(sim_->stats().create_attempts, 1);
  EXPECT_EQ(sim_->OrderCount(), 0);
}

TEST_F(ShipBobProviderTest, TooManyRequestsIsResourceExhaustedWithTheDocumentedRetryDelay) {
  sim_->Throttle429Next(1, absl::Seconds(25));
  const absl::Time t0 = clock_.Now();
  absl::StatusOr<ReleaseResult> r = provider_->Release(Segment("main:1234/1"), {});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(jobs::RetryAfterOf(r.status()), absl::Seconds(25));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("Rate limit is exceeded"));
  // The endpoint read x-retry-after too and holds every caller for the account until then.
  EXPECT_EQ(endpoint_->snapshot().paused_until, t0 + absl::Seconds(25));
  EXPECT_EQ(sim_->OrderCount(), 0);
  // The next attempt waits out the pause (on the fake clock) and goes through.
  KEELSON_ASSERT_OK(provider_->Release(Segment("main:1234/1"), {.verify_first = true}));
  EXPECT_GE(clock_.Now(), t0 + absl::Seconds(25));
  EXPECT_EQ(sim_->OrderCount(), 1);
}

TEST_F(ShipBobProviderTest, ServerErrorsAndTransportFailuresAreUnavailable) {
  sim_->FailNextRequests(1, 503);
  EXPECT_THAT(provider_->Release(Segment("main:1234/1"), {}),
              StatusIs(absl::StatusCode::kUnavailable));
  sim_->FailNextRequests(1, 500);
  EXPECT_THAT(provider_->Release(Segment("main:1234/1"), {.verify_first = true}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(sim_->OrderCount(), 0);
  sim_->Stop();
  EXPECT_THAT(provider_->Release(Segment("main:1234/1"), {}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ShipBobProviderTest, WrongTokenIsUnauthenticated) {
  ShipBobOptions bad = options_;
  bad.token = "revoked";
  ShipBobProvider p(bad, *curl_);
  EXPECT_THAT(p.Release(Segment("main:1234/1"), {}), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(p.ListInventoryLevels(""), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(ShipBobProviderTest, PartialShipmentArrivesAsAWebhookAndParsesIntoExactLines) {
  Stock("MUG-1", 228, 10);
  Stock("TEE-M", 228, 10);
  KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult released,
                               provider_->Release(Segment("main:1234/1"), {}));
  sim::ShipBobSim::ShipRequest ship;
  ship.reference_id = "main:1234/1";
  ship.lines = {{"MUG-1", 2}};
  ship.carrier = "UPS";
  ship.tracking_number = "1Z999AA10123456784";
  ship.tracking_url = "https://www.ups.com/track?tracknum=1Z999AA10123456784";
  KEELSON_ASSERT_OK_AND_ASSIGN(sim::ShipBobSim::ShipResult shipped, sim_->ShipOrder(ship));

  std::vector<Receiver::Delivery> got = receiver_.deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(WebhookId(got[0].headers), shipped.webhook_id);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Shipment> shipments,
                               provider_->ParseShipmentWebhook(got[0].headers, got[0].body));
  ASSERT_EQ(shipments.size(), 1u);
  const Shipment& s = shipments[0];
  EXPECT_EQ(s.provider, "shipbob");
  EXPECT_EQ(s.shipment_id, std::to_string(shipped.shipment_id));
  EXPECT_EQ(s.segment_id, "main:1234/1");
  EXPECT_EQ(s.carrier, "UPS");
  EXPECT_EQ(s.tracking_number, "1Z999AA10123456784");
  EXPECT_EQ(s.tracking_url, "https://www.ups.com/track?tracknum=1Z999AA10123456784");
  EXPECT_EQ(s.shipped_at, clock_.Now());
  EXPECT_THAT(s.lines, ElementsAre(ShipmentLine{"MUG-1", 2, 11}));

  // The rest ships; the next order.shipped carries both shipments, the first with the same id.
  ship.lines.clear();
  ship.tracking_number = "1Z999AA10123456785";
  KEELSON_ASSERT_OK_AND_ASSIGN(sim::ShipBobSim::ShipResult rest, sim_->ShipOrder(ship));
  got = receiver_.deliveries();
  ASSERT_EQ(got.size(), 2u);
  KEELSON_ASSERT_OK_AND_ASSIGN(shipments,
                               provider_->ParseShipmentWebhook(got[1].headers, got[1].body));
  ASSERT_EQ(shipments.size(), 2u);
  // In the order's shipment order: the one created with the order (which took the rest), then
  // the split that left first.
  EXPECT_EQ(shipments[0].shipment_id, std::to_string(rest.shipment_id));
  EXPECT_THAT(shipments[0].lines,
              ElementsAre(ShipmentLine{"MUG-1", 1, 11}, ShipmentLine{"TEE-M", 1, 12}));
  EXPECT_EQ(shipments[0].tracking_number, "1Z999AA10123456785");
  EXPECT_EQ(shipments[1].shipment_id, std::to_string(shipped.shipment_id));
  EXPECT_THAT(shipments[1].lines, ElementsAre(ShipmentLine{"MUG-1", 2, 11}));
  EXPECT_EQ(sim_->OrderJson("main:1234/1").value()["status"], "Fulfilled");
  EXPECT_EQ(released.provider_id, std::to_string(rest.order_id));
}

TEST_F(ShipBobProviderTest, WebhookSignatureTimestampAndTopicAreChecked) {
  KEELSON_ASSERT_OK(provider_->Release(Segment("main:1234/1"), {}));
  KEELSON_ASSERT_OK(sim_->ShipOrder({.reference_id = "main:1234/1"}).status());
  Receiver::Delivery d = receiver_.deliveries().at(0);
  KEELSON_ASSERT_OK(provider_->ParseShipmentWebhook(d.headers, d.body));

  // One byte changed in the body.
  std::string tampered = d.body;
  tampered[tampered.find("MUG-1")] = 'X';
  EXPECT_THAT(provider_->ParseShipmentWebhook(d.headers, tampered),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Another subscription's secret.
  ShipBobOptions other = options_;
  other.webhook_secret = "whsec_b3RoZXItc3Vic2NyaXB0aW9uLWtleSEh";
  EXPECT_THAT(ShipBobProvider(other, *curl_).ParseShipmentWebhook(d.headers, d.body),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // No signature header at all.
  ShipBobProvider::Headers unsigned_headers;
  for (const auto& h : d.headers) {
    if (!absl::EqualsIgnoreCase(h.first, "webhook-signature")) unsigned_headers.push_back(h);
  }
  EXPECT_THAT(provider_->ParseShipmentWebhook(unsigned_headers, d.body),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // A signature list with a rotated-out key first still verifies by the matching entry.
  ShipBobProvider::Headers rotated;
  for (auto h : d.headers) {
    if (absl::EqualsIgnoreCase(h.first, "webhook-signature")) {
      h.second = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + h.second;
    }
    rotated.push_back(h);
  }
  KEELSON_EXPECT_OK(provider_->ParseShipmentWebhook(rotated, d.body));
  // Replayed ten minutes later.
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(provider_->ParseShipmentWebhook(d.headers, d.body),
              StatusIs(absl::StatusCode::kUnauthenticated));
  clock_.Advance(-absl::Minutes(10));
  // Another topic is acknowledged and ignored.
  ShipBobProvider::Headers delivered = d.headers;
  for (auto& h : delivered) {
    if (absl::EqualsIgnoreCase(h.first, "x-webhook-topic")) h.second = "order.shipment.delivered";
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Shipment> none,
                               provider_->ParseShipmentWebhook(delivered, d.body));
  EXPECT_THAT(none, IsEmpty());
}

TEST_F(ShipBobProviderTest, InventoryLevelsReadBackExactlyWhatTheSimHolds) {
  options_.inventory_page_size = 2;
  ShipBobProvider provider(options_, *endpoint_);
  Stock("MUG-1", 228, 10);
  Stock("MUG-1", 10, 4);
  Stock("TEE-M", 10, 6);
  sim_->AddProduct("NEW-1", "Not yet received");
  KEELSON_ASSERT_OK(provider.Release(Segment("main:1234/1"), {}));  // commits 3 mugs, 1 tee

  std::vector<InventoryLevel> all;
  std::string page;
  int pages = 0;
  do {
    KEELSON_ASSERT_OK_AND_ASSIGN(InventoryPage p, provider.ListInventoryLevels(page));
    all.insert(all.end(), p.levels.begin(), p.levels.end());
    page = p.next_page;
    ++pages;
  } while (!page.empty() && pages < 10);
  EXPECT_EQ(pages, 2);

  int rows_with_stock = 0;
  for (const std::string sku : {"MUG-1", "TEE-M"}) {
    for (const sim::ShipBobSim::StockLevel& want : sim_->Stock(sku)) {
      auto it = std::find_if(all.begin(), all.end(), [&](const InventoryLevel& l) {
        return l.sku == sku && l.fulfillment_center_id == want.fulfillment_center_id;
      });
      ASSERT_NE(it, all.end()) << sku << " @" << want.fulfillment_center_id;
      EXPECT_EQ(it->on_hand, want.on_hand) << sku;
      EXPECT_EQ(it->committed, want.committed) << sku;
      EXPECT_EQ(it->fulfillable, want.fulfillable) << sku;
      ++rows_with_stock;
    }
  }
  EXPECT_EQ(rows_with_stock, 3);
  ASSERT_EQ(all.size(), 4u);  // 3 stocked rows + NEW-1 held nowhere
  // The order went to Cicero, the one center that could fill all of it: 3 of its 4 mugs are
  // committed; Moreno Valley's 10 are untouched.
  EXPECT_EQ(all[0].sku, "MUG-1");
  EXPECT_EQ(all[0].fulfillment_center_id, 228);
  EXPECT_EQ(all[0].fulfillable, 10);
  EXPECT_EQ(all[1].sku, "MUG-1");
  EXPECT_EQ(all[1].fulfillment_center_id, 10);
  EXPECT_EQ(all[1].fulfillment_center, "Cicero (IL)");
  EXPECT_EQ(all[1].on_hand, 4);
  EXPECT_EQ(all[1].committed, 3);
  EXPECT_EQ(all[1].fulfillable, 1);
  EXPECT_EQ(all[3].sku, "NEW-1");
  EXPECT_EQ(all[3].fulfillment_center_id, 0);
  EXPECT_EQ(all[3].on_hand, 0);
}

// ---- tables ----

net::OutboundResponse Answer(int status, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  net::OutboundResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ShipBobStatusFromResponse, ClassifiesEveryDocumentedAnswer) {
  const absl::Time now = absl::FromUnixSeconds(1767225600);
  const std::vector<std::string> skus = {"A", "B"};
  KEELSON_EXPECT_OK(StatusFromResponse(Answer(201, "{}"), "POST order", now));
  absl::Status s = StatusFromResponse(
      Answer(429,
             R"({"statusCode":429,"message":"Rate limit is exceeded. Try again in 25 seconds."})",
             {{"x-retry-after", "25"}, {"x-remaining-calls", "0"}}),
      "POST order", now);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(jobs::RetryAfterOf(s), absl::Seconds(25));
  EXPECT_THAT(std::string(s.message()), HasSubstr("Try again in 25 seconds"));
  s = StatusFromResponse(Answer(503, "", {{"retry-after", "3"}}), "GET order", now);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(jobs::RetryAfterOf(s), absl::Seconds(3));
  EXPECT_THAT(StatusFromResponse(Answer(500, R"({"message":"An error has occurred."})"), "x", now),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(StatusFromResponse(Answer(502, ""), "x", now),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(StatusFromResponse(Answer(408, ""), "x", now),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(StatusFromResponse(Answer(401, ""), "x", now),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(StatusFromResponse(Answer(403, ""), "x", now),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(StatusFromResponse(Answer(404, ""), "x", now), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(StatusFromResponse(Answer(409, ""), "x", now), StatusIs(absl::StatusCode::kAborted));
  s = StatusFromResponse(
      Answer(422, R"({"products[1].reference_id":["The product is inactive."]})"), "POST order",
      now, &skus);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(s.message(),
            "shipbob: POST order: HTTP 422: SKU 'B' (products[1].reference_id): The product is "
            "inactive.");
  s = StatusFromResponse(
      Answer(400, R"({"recipient.address.city":["The city field is required."]})"), "POST order",
      now, &skus);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(s.message(),
            "shipbob: POST order: HTTP 400: recipient.address.city: The city field is required.");
  s = StatusFromResponse(
      Answer(400, R"({"title":"Bad Request","detail":"Invalid cursor.","status":400})"),
      "GET inventory-level/locations", now);
  EXPECT_THAT(std::string(s.message()), HasSubstr("Bad Request: Invalid cursor."));
  // The token never appears, whatever the body says.
  s = StatusFromResponse(Answer(401, "Unauthorized"), "GET order", now);
  EXPECT_EQ(s.message(), "shipbob: GET order: HTTP 401: Unauthorized");
}

TEST(ShipBobMapping, CreateOrderBodyCarriesTheSegmentAsReferenceAndSkusAsProducts) {
  ReleaseRequest r;
  r.segment_id = "main:77/2";
  r.order_ref = "main:77";
  r.order_number = "77";
  r.ship_to = {.company = "Wayne Enterprises",
               .address_1 = "1007 Mountain Dr",
               .city = "Gotham",
               .country = "US"};
  r.lines = {{.line_id = 5, .sku = "BAT", .name = "Batarang", .quantity = 2}};
  ShipBobOptions o;
  KEELSON_ASSERT_OK_AND_ASSIGN(json body, CreateOrderBody(r, o));
  EXPECT_EQ(body, json::parse(R"({
    "reference_id": "main:77/2",
    "order_number": "77",
    "type": "DTC",
    "shipping_method": "Standard",
    "recipient": {"name": "Wayne Enterprises",
                  "address": {"address1": "1007 Mountain Dr", "city": "Gotham", "country": "US",
                              "company_name": "Wayne Enterprises"}},
    "products": [{"reference_id": "BAT", "name": "Batarang", "quantity": 2,
                  "external_line_id": 5}],
    "tags": [{"name": "keelson_order_ref", "value": "main:77"}]
  })"));
}

TEST(ShipBobMapping, ShipmentFromAShipmentShapedPayloadAndUnshippedOnesSkipped) {
  json shipment = json::parse(R"({
    "id": 55, "order_id": 9, "reference_id": "main:1/1", "status": "Completed",
    "actual_fulfillment_date": "2025-10-23T15:55:09.3614767Z",
    "tracking": {"carrier": "USPS", "tracking_number": "9261", "tracking_url": "https://t/9261"},
    "products": [{"reference_id": "A", "inventory_items": [{"id": 1, "quantity": 2},
                                                           {"id": 2, "quantity": 1}]}]
  })");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Shipment> out, ShipmentsFromJson(shipment, "shipbob"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shipment_id, "55");
  EXPECT_EQ(out[0].segment_id, "main:1/1");
  EXPECT_THAT(out[0].lines, ElementsAre(ShipmentLine{"A", 3, 0}));
  EXPECT_EQ(absl::FormatTime("%Y-%m-%dT%H:%M:%E6S", out[0].shipped_at, absl::UTCTimeZone()),
            "2025-10-23T15:55:09.361476");
  shipment["status"] = "Processing";
  KEELSON_ASSERT_OK_AND_ASSIGN(out, ShipmentsFromJson(shipment, "shipbob"));
  EXPECT_THAT(out, IsEmpty());
  EXPECT_THAT(ShipmentsFromJson(json::parse(R"({"id": 1})"), "shipbob"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ShipBobConfig, ValidationListsEveryProblemWithItsPath) {
  ShipBobOptions o;
  o.base_url = "api.shipbob.com/";
  o.webhook_secret = "whsec_!!";
  o.limits.concurrency = 0;
  std::vector<std::string> errors = ValidateShipBobOptions(o, "fulfillment.providers.shipbob");
  EXPECT_THAT(errors,
              ElementsAre(HasSubstr("fulfillment.providers.shipbob.base_url: "),
                          "fulfillment.providers.shipbob.token: is required (a ShipBob Personal "
                          "Access Token)",
                          HasSubstr(".channel_id: must be > 0"),
                          HasSubstr(".webhook_secret: must be whsec_ followed by base64"),
                          HasSubstr(".limits.concurrency: must be > 0")));
  o = ShipBobOptions{};
  o.token = "pat";
  o.channel_id = 1;
  o.webhook_secret = "whsec_a2VlbHNvbi1zaW0td2ViaG9vay1rZXkh";
  EXPECT_THAT(ValidateShipBobOptions(o, "x"), IsEmpty());
  net::EndpointOptions e = EndpointOptionsFor(o);
  EXPECT_EQ(e.name, "shipbob");
  EXPECT_EQ(e.requests_per_second, 2.5);  // 150 per minute
}

TEST(ShipBobClient, FollowsLinksOnlyOnShipBobsOrigin) {
  ShipBobOptions o;
  o.base_url = "http://127.0.0.1:1/2026-01";
  auto curl = net::NewCurlHttpClient();
  Client c(o, *curl);
  EXPECT_EQ(c.origin(), "http://127.0.0.1:1");
  EXPECT_THAT(c.Send("GET", "https://evil.example/2026-01/inventory-level"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(c.Send("GET", "inventory-level"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(CallName("GET", "http://h/2026-01/order?ReferenceIds=x"), "GET 2026-01/order");
  EXPECT_EQ(CallName("POST", "/order"), "POST order");
}

}  // namespace
}  // namespace keelson::connectors::shipbob
