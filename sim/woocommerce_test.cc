#include "sim/woocommerce.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/woocommerce_webhooks.h"
#include "connectors/woocommerce/mapping.h"
#include "connectors/woocommerce/oauth1.h"
#include "core/strings.h"
#include "net/signature.h"
#include "obs/metrics.h"
#include "store/group_commit.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"

namespace keelson::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

std::string Testdata(const std::string& name) {
  return keelson::testing::ReadFile(std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/" +
                                    name);
}

// A webhook receiver that records what arrives and answers a settable status. With hang set,
// it holds the answer back (until Release or destruction), so the sender times out.
class Receiver {
 public:
  struct Request {
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  Receiver() {
    net::Router router;
    router.Add(net::http::verb::post, "/hook", [this](net::HttpRequest& req, net::Responder r) {
      Request rec;
      for (const auto& f : req.raw) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        rec.headers[name] = std::string(f.value());
      }
      rec.body = req.raw.body();
      absl::MutexLock l(&mu_);
      requests_.push_back(std::move(rec));
      if (hang_) {
        held_.push_back(std::move(r));
        return;
      }
      r(net::Text(static_cast<net::http::status>(status_), "ok", "text/plain"));
    });
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2}, std::move(router));
    EXPECT_TRUE(server_->Start().ok());
  }
  ~Receiver() {
    Release();
    server_->Stop();
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_->port(), "/hook"); }
  void set_status(int s) {
    absl::MutexLock l(&mu_);
    status_ = s;
  }
  void set_hang(bool h) {
    absl::MutexLock l(&mu_);
    hang_ = h;
  }
  void Release() {
    std::vector<net::Responder> held;
    {
      absl::MutexLock l(&mu_);
      held.swap(held_);
    }
    for (auto& r : held) r(net::Text(net::http::status::ok, "late", "text/plain"));
  }
  std::vector<Request> requests() const {
    absl::MutexLock l(&mu_);
    return requests_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Request> requests_;
  std::vector<net::Responder> held_;
  int status_ = 200;
  bool hang_ = false;
  std::unique_ptr<net::HttpServer> server_;
};

std::string StatusOf(const std::string& body) {
  return nlohmann::json::parse(body)["status"].get<std::string>();
}

// ---------------------------------------------------------------------------------------------
// PHP json_encode

TEST(PhpJsonEncodeTest, ReproducesRealWooCommerceBodiesByteForByte) {
  for (const char* file :
       {"order.created.body.json", "peer-order.json", "order-note.create.response.json",
        "error.400.invalid-param.response.json"}) {
    std::string raw = Testdata(file);
    while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.pop_back();
    EXPECT_EQ(PhpJsonEncode(nlohmann::ordered_json::parse(raw)), raw) << file;
  }
}

TEST(PhpJsonEncodeTest, EscapesLikePhp) {
  nlohmann::ordered_json j = {
      {"url", "http://x/y"}, {"s", "\xE2\x82\xAC \xF0\x9F\x98\x80 \"q\" \\ \n\x01\x7f"},
      {"bad", "a\xFFz"},     {"n", 15.0},
      {"f", 19.99},          {"i", -3},
      {"null", nullptr},     {"b", false}};
  EXPECT_EQ(PhpJsonEncode(j),
            R"({"url":"http:\/\/x\/y","s":"\u20ac \ud83d\ude00 \"q\" \\ \n\u0001)"
            "\x7f"
            R"(","bad":"a\ufffdz","n":15,"f":19.99,"i":-3,"null":null,"b":false})");
}

// ---------------------------------------------------------------------------------------------
// Webhooks

class WooSimWebhookTest : public ::testing::Test {
 protected:
  std::unique_ptr<WooCommerceSim> Start(WooCommerceSim::Options o) {
    o.webhook_target_url = receiver_.url();
    if (o.clock == nullptr) o.clock = &clock_;
    auto sim = std::make_unique<WooCommerceSim>(std::move(o));
    EXPECT_TRUE(sim->Start().ok());
    return sim;
  }
  core::FakeClock clock_{absl::FromUnixSeconds(1795332683)};  // 2026-11-22T07:31:23Z
  Receiver receiver_;
};

TEST_F(WooSimWebhookTest, CreateSendsSignedCreatedThenIdenticalUpdated) {
  auto sim = Start({.webhook_secret = "middleware-secret"});
  KEELSON_ASSERT_OK_AND_ASSIGN(
      int64_t id, sim->CreateOrder({.lines = {{.sku = "WID-BLUE", .quantity = 2, .price = "19.99"},
                                              {.sku = "TSHIRT-S", .quantity = 1, .price = "15.00"}},
                                    .customer_note = "Bitte klingeln / ring twice"}));
  EXPECT_EQ(id, 100);
  auto got = receiver_.requests();
  ASSERT_EQ(got.size(), 2u);
  const std::string body = sim->OrderBody(id);
  for (size_t i = 0; i < 2; ++i) {
    const auto& h = got[i].headers;
    EXPECT_EQ(got[i].body, body);
    EXPECT_EQ(h.at("user-agent"), "WooCommerce/7.8.0 Hookshot (WordPress/6.2.2)");
    EXPECT_EQ(h.at("content-type"), "application/json");
    EXPECT_EQ(h.at("x-wc-webhook-source"), sim->url() + "/");
    EXPECT_EQ(h.at("x-wc-webhook-resource"), "order");
    EXPECT_EQ(h.at("x-wc-webhook-signature"),
              net::HmacSha256Base64("middleware-secret", got[i].body));
    EXPECT_THAT(h.at("x-wc-webhook-delivery-id"), MatchesRegex("[0-9a-f]{32}"));
  }
  EXPECT_EQ(got[0].headers.at("x-wc-webhook-topic"), "order.created");
  EXPECT_EQ(got[0].headers.at("x-wc-webhook-event"), "created");
  EXPECT_EQ(got[0].headers.at("x-wc-webhook-id"), "1");
  EXPECT_EQ(got[1].headers.at("x-wc-webhook-topic"), "order.updated");
  EXPECT_EQ(got[1].headers.at("x-wc-webhook-id"), "2");
  // PHP escapes: the slash in the note and the URLs, the euro sign.
  EXPECT_THAT(body, HasSubstr(R"("customer_note":"Bitte klingeln \/ ring twice")"));
  EXPECT_THAT(body, HasSubstr(R"("currency_symbol":"\u20ac")"));
  EXPECT_THAT(body, HasSubstr(R"("date_modified_gmt":"2026-11-22T07:31:23")"));

  // The body is a valid WooCommerce order for Keelson's own mapping.
  KEELSON_ASSERT_OK_AND_ASSIGN(
      model::Order order, connectors::woocommerce::MapOrder("main", nlohmann::json::parse(body)));
  EXPECT_EQ(order.order_id, id);
  ASSERT_EQ(order.lines.size(), 2u);
  EXPECT_EQ(order.lines[0].sku, "WID-BLUE");
  EXPECT_EQ(order.lines[0].total.minor, 3998);
  EXPECT_EQ(order.total.minor, 3998 + 1500 + 490);
  const nlohmann::json j = nlohmann::json::parse(body);
  EXPECT_EQ(j["line_items"][0]["price"], 19.99);
  EXPECT_TRUE(j["line_items"][1]["price"].is_number_integer());  // 15, as WooCommerce prints it
  EXPECT_EQ(j["total"], "59.88");

  const WooSimStats s = sim->stats();
  EXPECT_EQ(s.webhooks_sent, 2);
  EXPECT_EQ(s.webhooks_failed, 0);
  EXPECT_EQ(s.orders, 1);
}

TEST_F(WooSimWebhookTest, DeliveryIdIsAHashOfWebhookAndSecondSoItRepeats) {
  auto sim = Start({});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim->CreateOrder({}));
  KEELSON_ASSERT_OK(sim->UpdateOrderStatus(id, "on-hold"));  // same second: same id as above
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(sim->UpdateOrderStatus(id, "processing"));
  auto got = receiver_.requests();
  ASSERT_EQ(got.size(), 4u);
  auto delivery = [&](size_t i) { return got[i].headers.at("x-wc-webhook-delivery-id"); };
  EXPECT_NE(delivery(0), delivery(1));  // webhook 1 vs 2
  EXPECT_EQ(delivery(1), delivery(2));  // webhook 2, same second
  EXPECT_NE(delivery(2), delivery(3));  // webhook 2, next second
  EXPECT_EQ(StatusOf(got[2].body), "on-hold");
  EXPECT_EQ(nlohmann::json::parse(got[3].body)["date_modified_gmt"], "2026-11-22T07:31:24");
}

TEST_F(WooSimWebhookTest, DeleteSendsTheIdStubAndTrashes) {
  auto sim = Start({});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t a, sim->CreateOrder({}));
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t b, sim->CreateOrder({}));
  KEELSON_ASSERT_OK(sim->DeleteOrder(a));
  KEELSON_ASSERT_OK(sim->DeleteOrder(b, /*force=*/true));
  EXPECT_THAT(sim->DeleteOrder(999), StatusIs(absl::StatusCode::kNotFound));
  auto got = receiver_.requests();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[4].headers.at("x-wc-webhook-topic"), "order.deleted");
  EXPECT_EQ(got[4].headers.at("x-wc-webhook-id"), "3");
  EXPECT_EQ(got[4].body, absl::StrCat(R"({"id":)", a, "}"));
  EXPECT_EQ(got[5].body, absl::StrCat(R"({"id":)", b, "}"));
  EXPECT_EQ(sim->GetOrder(a)->at("status"), "trash");
  EXPECT_FALSE(sim->GetOrder(b).has_value());
}

TEST_F(WooSimWebhookTest, PingsOnStartWithAFormBodyAndNoWooHeaders) {
  auto sim = Start({.ping_on_start = true});
  auto got = receiver_.requests();
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].body, absl::StrCat("webhook_id=", i + 1));
    EXPECT_EQ(got[i].headers.at("content-type"), "application/x-www-form-urlencoded");
    EXPECT_FALSE(got[i].headers.contains("x-wc-webhook-topic"));
    EXPECT_FALSE(got[i].headers.contains("x-wc-webhook-signature"));
  }
  EXPECT_EQ(sim->stats().pings_sent, 3);
  EXPECT_EQ(sim->stats().pings_failed, 0);
  EXPECT_EQ(sim->stats().webhooks_sent, 0);
}

TEST_F(WooSimWebhookTest, NeverRetriesAndDisablesAfterSevenConsecutiveFailures) {
  auto sim = Start({.updated_on_create = false});
  receiver_.set_status(500);
  for (int i = 0; i < 6; ++i) KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  receiver_.set_status(200);  // a success resets the count
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  receiver_.set_status(503);
  for (int i = 0; i < 6; ++i) KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  EXPECT_TRUE(sim->WebhookActive("order.created"));
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());  // 7th consecutive failure
  EXPECT_FALSE(sim->WebhookActive("order.created"));
  EXPECT_TRUE(sim->WebhookActive("order.updated"));
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());  // not sent
  WooSimStats s = sim->stats();
  EXPECT_EQ(receiver_.requests().size(), 14u);
  EXPECT_EQ(s.webhooks_sent, 14);
  EXPECT_EQ(s.webhooks_failed, 13);
  EXPECT_EQ(s.skipped_disabled, 1);
  EXPECT_EQ(s.orders, 15);

  sim->ReenableWebhooks();
  receiver_.set_status(302);  // 200..302 counts as delivered
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  receiver_.set_status(303);
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  s = sim->stats();
  EXPECT_EQ(s.webhooks_sent, 16);
  EXPECT_EQ(s.webhooks_failed, 14);
  std::vector<WooDelivery> d = sim->Deliveries();
  ASSERT_EQ(d.size(), 16u);
  EXPECT_TRUE(d[14].succeeded);
  EXPECT_EQ(d[14].status, 302);
  EXPECT_FALSE(d[15].succeeded);
}

TEST_F(WooSimWebhookTest, ATimeoutIsAFailure) {
  auto sim = Start({.updated_on_create = false, .delivery_timeout = absl::Milliseconds(300)});
  receiver_.set_hang(true);
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  receiver_.Release();
  std::vector<WooDelivery> d = sim->Deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, 0);
  EXPECT_FALSE(d[0].succeeded);
  EXPECT_EQ(sim->stats().webhooks_failed, 1);
}

TEST_F(WooSimWebhookTest, DuplicatesSendTheSameDeliveryTwice) {
  auto sim = Start({.duplicate_probability = 1.0});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim->CreateOrder({}));
  auto got = receiver_.requests();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].headers.at("x-wc-webhook-topic"), "order.created");
  EXPECT_EQ(got[1].headers.at("x-wc-webhook-topic"), "order.created");
  EXPECT_EQ(got[0].body, got[1].body);
  EXPECT_EQ(got[0].headers.at("x-wc-webhook-delivery-id"),
            got[1].headers.at("x-wc-webhook-delivery-id"));
  EXPECT_EQ(sim->stats().duplicates_sent, 2);
  EXPECT_EQ(got[3].body, sim->OrderBody(id));
}

TEST_F(WooSimWebhookTest, ReorderSendsAnOlderUpdateAfterANewerOne) {
  auto sim = Start({.reorder_probability = 1.0});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim->CreateOrder({.status = "pending"}));
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(sim->UpdateOrderStatus(id, "processing"));  // held back
  EXPECT_EQ(sim->stats().deferred_pending, 1);
  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(sim->UpdateOrderStatus(id, "completed"));  // sent, then the held one
  auto got = receiver_.requests();
  std::vector<std::string> statuses;
  for (const auto& r : got) statuses.push_back(StatusOf(r.body));
  EXPECT_THAT(statuses, ElementsAre("pending", "pending", "completed", "processing"));
  EXPECT_EQ(sim->stats().reordered_sent, 1);
  EXPECT_EQ(sim->stats().deferred_pending, 0);

  clock_.Advance(absl::Seconds(1));
  KEELSON_ASSERT_OK(sim->UpdateOrderStatus(id, "refunded"));  // held again
  EXPECT_EQ(receiver_.requests().size(), 4u);
  sim->FlushDeferred();
  ASSERT_EQ(receiver_.requests().size(), 5u);
  EXPECT_EQ(StatusOf(receiver_.requests()[4].body), "refunded");
}

TEST_F(WooSimWebhookTest, SilentOrdersAndNoTargetSendNothing) {
  auto sim = Start({});
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim->CreateOrderSilently({}));
  KEELSON_ASSERT_OK(sim->UpdateOrderStatusSilently(id, "completed"));
  EXPECT_TRUE(receiver_.requests().empty());
  sim->SetWebhookTarget("");
  KEELSON_ASSERT_OK(sim->CreateOrder({}).status());
  EXPECT_EQ(sim->stats().skipped_no_target, 2);
  EXPECT_THAT(sim->CreateOrder({.status = "shipped"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sim->CreateOrder({.lines = {{.quantity = 0}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sim->CreateOrder({.lines = {{.price = "1.234"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sim->UpdateOrderStatus(4242, "completed"), StatusIs(absl::StatusCode::kNotFound));
}

// The simulator against Keelson's real webhook intake: every delivery verifies, the
// byte-identical created/updated pair is stored once, pings are answered.
class WooSimIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    committer_ = std::make_unique<store::GroupCommitter>(store_.get(), &clock_, 64, &metrics_);
    webhooks_ = std::make_unique<api::WooCommerceWebhooks>(
        std::vector<api::WebhookStore>{{"main", "sim-secret"}}, committer_.get(), &metrics_);
    net::Router router;
    router.Add(net::http::verb::post, "/v1/webhooks/woocommerce/{store_id}",
               [this](net::HttpRequest& req, net::Responder respond) {
                 webhooks_->Handle(req, std::move(respond));
               });
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2}, std::move(router));
    committer_->Start();
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_->Stop();
    committer_->Stop();
  }
  std::string Target() const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), "/v1/webhooks/woocommerce/main");
  }

  core::FakeClock clock_;
  obs::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::GroupCommitter> committer_;
  std::unique_ptr<api::WooCommerceWebhooks> webhooks_;
  std::unique_ptr<net::HttpServer> server_;
};

TEST_F(WooSimIntakeTest, RealIntakeAcceptsEveryDeliveryAndAbsorbsTheIdenticalPair) {
  WooCommerceSim sim({.webhook_secret = "sim-secret",
                      .webhook_target_url = Target(),
                      .duplicate_probability = 0.5,
                      .ping_on_start = true,
                      .seed = 7});
  KEELSON_ASSERT_OK(sim.Start());
  for (int i = 0; i < 20; ++i) KEELSON_ASSERT_OK(sim.CreateOrder({}).status());
  const WooSimStats s = sim.stats();
  EXPECT_EQ(s.pings_sent, 3);
  EXPECT_EQ(s.pings_failed, 0);
  EXPECT_EQ(s.webhooks_failed, 0);
  EXPECT_EQ(s.webhooks_sent, 40 + s.duplicates_sent);
  EXPECT_GT(s.duplicates_sent, 0);
  EXPECT_EQ(*store_->CountDeliveries(), 20);  // one per order: the rest are duplicates
}

TEST_F(WooSimIntakeTest, BurstFromSeveralThreads) {
  WooCommerceSim sim({.webhook_secret = "sim-secret", .webhook_target_url = Target()});
  KEELSON_ASSERT_OK(sim.Start());
  WooBurstResult r = sim.EmitBurstAsync(120, 4).get();
  ASSERT_EQ(r.order_ids.size(), 120u);
  std::set<int64_t> unique(r.order_ids.begin(), r.order_ids.end());
  EXPECT_EQ(unique.size(), 120u);
  EXPECT_EQ(sim.stats().webhooks_sent, 240);
  EXPECT_EQ(sim.stats().webhooks_failed, 0);
  EXPECT_EQ(*store_->CountDeliveries(), 120);
}

TEST_F(WooSimIntakeTest, WrongSecretIsRejectedByIntakeAndCountsAsFailure) {
  WooCommerceSim sim({.webhook_secret = "not-the-secret",
                      .webhook_target_url = Target(),
                      .updated_on_create = false});
  KEELSON_ASSERT_OK(sim.Start());
  KEELSON_ASSERT_OK(sim.CreateOrder({}).status());
  EXPECT_EQ(sim.stats().webhooks_failed, 1);
  EXPECT_EQ(sim.Deliveries().at(0).status, 401);
  EXPECT_EQ(*store_->CountDeliveries(), 0);
}

// ---------------------------------------------------------------------------------------------
// REST API: authentication, listing, writes

class WooSimRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<WooCommerceSim>(
        WooCommerceSim::Options{.consumer_key = "ck_test",
                                .consumer_secret = "cs_test",
                                .webhook_target_url = receiver_.url(),
                                .clock = &clock_});
    KEELSON_ASSERT_OK(sim_->Start());
    client_ = std::make_unique<keelson::testing::HttpClient>("127.0.0.1", sim_->port());
  }

  // A signed request as WooCommerce's docs describe it, built here independently of the
  // Keelson client: query parameters plus oauth_*, HMAC over the base string.
  keelson::testing::HttpResult Signed(
      const std::string& method, const std::string& path,
      std::vector<std::pair<std::string, std::string>> query = {}, const std::string& body = "",
      std::string secret = "cs_test", std::string nonce = "",
      std::optional<int64_t> timestamp = std::nullopt,
      connectors::woocommerce::OAuthSignatureMethod sm =
          connectors::woocommerce::OAuthSignatureMethod::kHmacSha1) {
    using namespace connectors::woocommerce;
    if (nonce.empty()) nonce = NewOAuthNonce();
    QueryParams params(query.begin(), query.end());
    const std::string base = sim_->url() + path;
    AddOAuthParams(method, base, "ck_test", secret, sm,
                   timestamp.value_or(absl::ToUnixSeconds(clock_.Now())), nonce, params);
    std::string target = path;
    for (size_t i = 0; i < params.size(); ++i) {
      absl::StrAppend(&target, i == 0 ? "?" : "&", net::UrlEncode(params[i].first), "=",
                      net::UrlEncode(params[i].second));
    }
    return client_->Request(method, target, {{"Content-Type", "application/json"}}, body);
  }

  std::vector<int64_t> Ids(const std::string& body) {
    std::vector<int64_t> out;
    for (const auto& o : nlohmann::json::parse(body)) out.push_back(o["id"]);
    return out;
  }

  core::FakeClock clock_{absl::FromUnixSeconds(1795332683)};
  Receiver receiver_;
  std::unique_ptr<WooCommerceSim> sim_;
  std::unique_ptr<keelson::testing::HttpClient> client_;
};

TEST_F(WooSimRestTest, AnonymousAndBasicOverHttpGetWooCommerces401) {
  auto r = client_->Get("/wp-json/wc/v3/orders");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, Testdata("error.401.no-auth.response.json"));
  EXPECT_EQ(r.headers["content-type"], "application/json; charset=UTF-8");
  r = client_->Request("GET", "/wp-json/wc/v3/orders",
                       {{"Authorization", "Basic " + net::Base64Encode("ck_test:cs_test")}});
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("woocommerce_rest_cannot_view"));
  r = client_->Request("PUT", "/wp-json/wc/v3/orders/100", {}, "{}");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("woocommerce_rest_cannot_edit"));
  r = client_->Request("POST", "/wp-json/wc/v3/orders/100/notes", {}, R"({"note":"x"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("woocommerce_rest_cannot_create"));
  EXPECT_EQ(sim_->stats().rest_unauthorized, 4);
}

TEST_F(WooSimRestTest, VerifiesSignatureTimestampAndNonce) {
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
  const std::string path = absl::StrCat("/wp-json/wc/v3/orders/", id);
  auto r = Signed("GET", path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, sim_->OrderBody(id));
  r = Signed("GET", path, {}, "", "cs_test", "", std::nullopt,
             connectors::woocommerce::OAuthSignatureMethod::kHmacSha256);
  EXPECT_EQ(r.status, 200);

  r = Signed("GET", path, {}, "", "cs_wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body,
            R"({"code":"woocommerce_rest_authentication_error","message":"Invalid signature - )"
            R"(provided signature does not match.","data":{"status":401}})");

  r = Signed("GET", path, {}, "", "cs_test", "nonce-1");
  EXPECT_EQ(r.status, 200);
  r = Signed("GET", path, {}, "", "cs_test", "nonce-1");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("Invalid nonce - nonce has already been used."));

  r = Signed("GET", path, {}, "", "cs_test", "", absl::ToUnixSeconds(clock_.Now()) - 16 * 60);
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("Invalid timestamp."));

  // Parameters outside the signature are refused: the signature covers the query.
  r = client_->Get(path + "?oauth_consumer_key=ck_test&oauth_nonce=n&oauth_timestamp=1");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("woocommerce_rest_authentication_missing_parameter"));
  EXPECT_THAT(r.body,
              HasSubstr("Missing OAuth parameters oauth_signature, oauth_signature_method"));
}

TEST_F(WooSimRestTest, OAuthAuthorizationHeaderIsAcceptedToo) {
  using namespace connectors::woocommerce;
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
  const std::string path = absl::StrCat("/wp-json/wc/v3/orders/", id);
  QueryParams params;
  AddOAuthParams("GET", sim_->url() + path, "ck_test", "cs_test", OAuthSignatureMethod::kHmacSha1,
                 absl::ToUnixSeconds(clock_.Now()), NewOAuthNonce(), params);
  std::string header = "OAuth ";
  for (size_t i = 0; i < params.size(); ++i) {
    absl::StrAppend(&header, i ? ", " : "", params[i].first, "=\"",
                    net::UrlEncode(params[i].second), "\"");
  }
  auto r = client_->Request("GET", path, {{"Authorization", header}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(WooSimRestTest, ReadOnlyKeyCannotWrite) {
  sim_ = std::make_unique<WooCommerceSim>(WooCommerceSim::Options{.consumer_key = "ck_test",
                                                                  .consumer_secret = "cs_test",
                                                                  .key_permissions = "read",
                                                                  .clock = &clock_});
  KEELSON_ASSERT_OK(sim_->Start());
  client_ = std::make_unique<keelson::testing::HttpClient>("127.0.0.1", sim_->port());
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
  auto r =
      Signed("PUT", absl::StrCat("/wp-json/wc/v3/orders/", id), {}, R"({"status":"completed"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("The API key provided does not have write permissions."));
  EXPECT_EQ(sim_->GetOrder(id)->at("status"), "processing");
}

TEST_F(WooSimRestTest, ListsModifiedAfterStrictlyWithPagination) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id, sim_->CreateOrderSilently({}));
    ids.push_back(id);
    clock_.Advance(absl::Seconds(10));
  }
  // Order 0 is modified last; orders 2 and 3 were modified at 07:31:43 and 07:31:53.
  KEELSON_ASSERT_OK(sim_->UpdateOrderStatusSilently(ids[0], "completed"));

  auto r = Signed("GET", "/wp-json/wc/v3/orders",
                  {{"modified_after", "2026-11-22T07:31:43"},
                   {"dates_are_gmt", "true"},
                   {"orderby", "modified"},
                   {"order", "asc"},
                   {"per_page", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(Ids(r.body), ElementsAre(ids[3], ids[4]));  // 07:31:43 itself is excluded
  EXPECT_EQ(r.headers["x-wp-total"], "3");
  EXPECT_EQ(r.headers["x-wp-totalpages"], "2");
  EXPECT_THAT(r.headers["link"], HasSubstr("page=2>; rel=\"next\""));
  EXPECT_THAT(r.headers["link"], Not(HasSubstr("oauth_")));
  r = Signed("GET", "/wp-json/wc/v3/orders",
             {{"modified_after", "2026-11-22T07:31:43"},
              {"dates_are_gmt", "true"},
              {"orderby", "modified"},
              {"order", "asc"},
              {"per_page", "2"},
              {"page", "2"}});
  EXPECT_THAT(Ids(r.body), ElementsAre(ids[0]));
  EXPECT_THAT(r.headers["link"], HasSubstr("rel=\"prev\""));

  // Defaults: newest created first, 10 per page; trash is not "any".
  KEELSON_ASSERT_OK(sim_->DeleteOrder(ids[1]));
  r = Signed("GET", "/wp-json/wc/v3/orders");
  EXPECT_THAT(Ids(r.body), ElementsAre(ids[4], ids[3], ids[2], ids[0]));
  r = Signed("GET", "/wp-json/wc/v3/orders", {{"status", "trash"}});
  EXPECT_THAT(Ids(r.body), ElementsAre(ids[1]));
}

TEST_F(WooSimRestTest, RejectsInvalidListParametersLikeWordPress) {
  auto r = Signed("GET", "/wp-json/wc/v3/orders", {{"per_page", "101"}, {"orderby", "total"}});
  EXPECT_EQ(r.status, 400);
  const nlohmann::json j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["code"], "rest_invalid_param");
  EXPECT_EQ(j["message"], "Invalid parameter(s): per_page, orderby");
  EXPECT_EQ(j["data"]["params"]["per_page"],
            "per_page must be between 1 (inclusive) and 100 (inclusive)");
  r = Signed("GET", "/wp-json/wc/v3/orders", {{"modified_after", "yesterday"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("Invalid date."));
}

TEST_F(WooSimRestTest, WritesUpsertMetaAddNotesAndFireOrderUpdated) {
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t id,
                               sim_->CreateOrderSilently({.meta = {{"_erp_ref", "old"}}}));
  const std::string path = absl::StrCat("/wp-json/wc/v3/orders/", id);
  clock_.Advance(absl::Seconds(5));
  auto r = Signed("PUT", path, {},
                  R"({"status":"completed","meta_data":[{"key":"_erp_ref","value":"S-1"},)"
                  R"({"key":"_keelson","value":"yes"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sim_->Meta(id, "_erp_ref"), "S-1");
  EXPECT_EQ(sim_->Meta(id, "_keelson"), "yes");
  const nlohmann::json order = *sim_->GetOrder(id);
  EXPECT_EQ(order["status"], "completed");
  EXPECT_EQ(order["date_completed_gmt"], "2026-11-22T07:31:28");
  EXPECT_EQ(order["date_modified_gmt"], "2026-11-22T07:31:28");
  EXPECT_EQ(order["meta_data"].size(), 2u);
  sim_->WaitForAsyncDeliveries();
  auto got = receiver_.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers.at("x-wc-webhook-topic"), "order.updated");
  EXPECT_EQ(got[0].body, r.body);

  // Nothing changes: no webhook.
  r = Signed("PUT", path, {}, R"({"status":"completed"})");
  EXPECT_EQ(r.status, 200);
  sim_->WaitForAsyncDeliveries();
  EXPECT_EQ(receiver_.requests().size(), 1u);

  r = Signed("POST", path + "/notes", {}, R"({"note":"ERP order S-1","customer_note":false})");
  ASSERT_EQ(r.status, 201) << r.body;
  const nlohmann::json note = nlohmann::json::parse(r.body);
  EXPECT_EQ(note["note"], "ERP order S-1");
  EXPECT_EQ(note["author"], "WooCommerce");
  EXPECT_EQ(r.headers["location"],
            absl::StrCat(sim_->url(), path, "/notes/", note["id"].get<int64_t>()));
  std::vector<WooNote> notes = sim_->Notes(id);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].note, "Order status changed from Processing to Completed.");
  EXPECT_EQ(notes[1].note, "ERP order S-1");

  r = Signed("PUT", path, {}, R"({"status":"shipped"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("rest_invalid_param"));
  r = Signed("PUT", path, {}, "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("rest_invalid_json"));
  r = Signed("GET", "/wp-json/wc/v3/orders/9999");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, Testdata("error.404.order.response.json"));
  r = Signed("POST", "/wp-json/wc/v3/orders/9999/notes", {}, R"({"note":"x"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("woocommerce_rest_order_invalid_id"));
}

TEST_F(WooSimRestTest, AdminEndpointsForStandaloneUse) {
  auto r = client_->Request("POST", "/_sim/orders", {},
                            R"({"status":"on-hold","email":"a@b.example",)"
                            R"("lines":[{"sku":"SKU-1","quantity":3,"price":"2.50"}]})");
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t id = nlohmann::json::parse(r.body)["id"];
  const nlohmann::json order = *sim_->GetOrder(id);
  EXPECT_EQ(order["billing"]["email"], "a@b.example");
  EXPECT_EQ(order["line_items"][0]["total"], "7.50");
  EXPECT_EQ(order["is_editable"], true);
  sim_->WaitForAsyncDeliveries();
  EXPECT_EQ(receiver_.requests().size(), 2u);

  r = client_->Request("PUT", absl::StrCat("/_sim/orders/", id, "/status"), {},
                       R"({"status":"processing"})");
  EXPECT_EQ(r.status, 200);
  r = client_->Request("DELETE", absl::StrCat("/_sim/orders/", id, "?force=true"));
  EXPECT_EQ(r.status, 200);
  sim_->WaitForAsyncDeliveries();
  EXPECT_EQ(receiver_.requests().size(), 4u);
  EXPECT_EQ(receiver_.requests()[3].body, absl::StrCat(R"({"id":)", id, "}"));

  r = client_->Get("/_sim/stats");
  ASSERT_EQ(r.status, 200);
  const nlohmann::json stats = nlohmann::json::parse(r.body);
  EXPECT_EQ(stats["webhooks_sent"], 4);
  EXPECT_EQ(stats["orders"], 0);
  EXPECT_EQ(stats["webhooks"]["order.created"], true);
}

// ---------------------------------------------------------------------------------------------
// Catalog: products, variations, stock, batches

std::vector<std::string> Keys(const nlohmann::json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

class WooSimCatalogTest : public WooSimRestTest {
 protected:
  // The recorded store's catalog: simple WID-BLUE (10), variable TSHIRT (11) with S (12) and
  // M (13, backorders notify).
  void AddRecordedCatalog() {
    KEELSON_ASSERT_OK_AND_ASSIGN(
        WooProductIds blue,
        sim_->AddProduct({.sku = "WID-BLUE", .name = "Widget Blue", .stock_quantity = 10}));
    EXPECT_EQ(blue.id, 10);
    KEELSON_ASSERT_OK_AND_ASSIGN(
        WooProductIds shirt,
        sim_->AddProduct({.sku = "TSHIRT",
                          .name = "T-Shirt",
                          .type = "variable",
                          .manage_stock = false,
                          .variations = {{.sku = "TSHIRT-S", .option = "S", .stock_quantity = 5},
                                         {.sku = "TSHIRT-M",
                                          .option = "M",
                                          .stock_quantity = 0,
                                          .backorders = "notify",
                                          .regular_price = "15.00"}}}));
    EXPECT_EQ(shirt.id, 11);
    EXPECT_EQ(shirt.variation_ids, (std::vector<int64_t>{12, 13}));
  }
  nlohmann::json Json(const keelson::testing::HttpResult& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }
};

TEST_F(WooSimCatalogTest, ShapesAreWooCommerce78s) {
  AddRecordedCatalog();
  auto simple = Signed("GET", "/wp-json/wc/v3/products/10");
  ASSERT_EQ(simple.status, 200) << simple.body;
  // View context: the create answer's keys without the edit-only two.
  std::vector<std::string> view_keys =
      Keys(nlohmann::json::parse(Testdata("product.create.simple.response.json")));
  std::erase(view_keys, "permalink_template");
  std::erase(view_keys, "generated_slug");
  EXPECT_EQ(Keys(Json(simple)), view_keys);
  EXPECT_EQ(Keys(Json(Signed("GET", "/wp-json/wc/v3/products/11"))),
            Keys(nlohmann::json::parse(Testdata("product.variable.get.response.json"))));
  auto variations = Signed("GET", "/wp-json/wc/v3/products/11/variations");
  ASSERT_EQ(variations.status, 200);
  const auto recorded = nlohmann::json::parse(Testdata("product-variations.list.response.json"));
  ASSERT_EQ(Json(variations).size(), 2u);
  EXPECT_EQ(Keys(Json(variations)[0]), Keys(recorded[0]));
  // Newest first, as the recorded list (13 before 12).
  EXPECT_EQ(Json(variations)[0]["id"], 13);
  EXPECT_EQ(Json(variations)[0]["stock_quantity"], 0);
  EXPECT_EQ(Json(variations)[0]["stock_status"], "onbackorder");  // backorders notify
  EXPECT_EQ(Json(variations)[0]["backordered"], true);
  EXPECT_EQ(Json(variations)[1]["stock_status"], "instock");
  EXPECT_EQ(variations.headers["x-wp-total"], "2");
  const nlohmann::json shirt = Json(Signed("GET", "/wp-json/wc/v3/products/11"));
  EXPECT_EQ(shirt["variations"], nlohmann::json::array({12, 13}));
  EXPECT_EQ(shirt["manage_stock"], false);
  EXPECT_EQ(shirt["stock_quantity"], nullptr);
  EXPECT_EQ(shirt["stock_status"], "instock");  // a child is in stock
  EXPECT_EQ(shirt["attributes"][0]["options"], nlohmann::json::array({"M", "S"}));

  // Batch answers are in edit context, as recorded.
  auto batch = Signed("POST", "/wp-json/wc/v3/products/batch", {},
                      R"({"update":[{"id":10,"stock_quantity":42}]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  const auto recorded_batch =
      nlohmann::json::parse(Testdata("products.batch.stock-update.response.json"));
  EXPECT_EQ(Keys(Json(batch)), Keys(recorded_batch));
  EXPECT_EQ(Keys(Json(batch)["update"][0]), Keys(recorded_batch["update"][0]));
  EXPECT_EQ(Json(batch)["update"][0]["stock_quantity"], 42);
  auto vbatch = Signed("POST", "/wp-json/wc/v3/products/11/variations/batch", {},
                       R"({"update":[{"id":13,"stock_quantity":3}]})");
  ASSERT_EQ(vbatch.status, 200) << vbatch.body;
  const auto recorded_vbatch =
      nlohmann::json::parse(Testdata("product-variations.batch.stock-update.response.json"));
  EXPECT_EQ(Keys(Json(vbatch)["update"][0]), Keys(recorded_vbatch["update"][0]));
  EXPECT_EQ(Json(vbatch)["update"][0]["stock_status"], "instock");
  EXPECT_EQ(Json(vbatch)["update"][0]["backorders"], "notify");
}

TEST_F(WooSimCatalogTest, ListsPagesFiltersBySkuIncludingVariationsAndByType) {
  AddRecordedCatalog();
  for (int i = 0; i < 23; ++i) {
    KEELSON_ASSERT_OK(sim_->AddProduct({.sku = absl::StrCat("BULK-", i)}).status());
  }
  auto page = Signed("GET", "/wp-json/wc/v3/products",
                     {{"per_page", "10"}, {"page", "3"}, {"orderby", "id"}, {"order", "asc"}});
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["x-wp-total"], "25");  // variations are not listed
  EXPECT_EQ(page.headers["x-wp-totalpages"], "3");
  EXPECT_EQ(Ids(page.body), (std::vector<int64_t>{32, 33, 34, 35, 36}));
  // Default order: newest first.
  EXPECT_EQ(Ids(Signed("GET", "/wp-json/wc/v3/products", {{"per_page", "2"}}).body),
            (std::vector<int64_t>{36, 35}));

  auto by_sku = Signed("GET", "/wp-json/wc/v3/products", {{"sku", "TSHIRT-M"}});
  ASSERT_EQ(by_sku.status, 200);
  ASSERT_EQ(Json(by_sku).size(), 1u);
  EXPECT_EQ(Json(by_sku)[0]["id"], 13);
  EXPECT_EQ(Json(by_sku)[0]["type"], "variation");
  EXPECT_EQ(Json(by_sku)[0]["parent_id"], 11);
  EXPECT_EQ(Keys(Json(by_sku)[0]),
            Keys(nlohmann::json::parse(Testdata("product.variable.get.response.json"))));
  auto several = Signed("GET", "/wp-json/wc/v3/products",
                        {{"sku", "WID-BLUE,TSHIRT-S,NOPE"}, {"_fields", "id,sku,stock_quantity"}});
  EXPECT_EQ(several.body, R"([{"id":12,"sku":"TSHIRT-S","stock_quantity":5},)"
                          R"({"id":10,"sku":"WID-BLUE","stock_quantity":10}])");
  EXPECT_EQ(Ids(Signed("GET", "/wp-json/wc/v3/products", {{"type", "variable"}}).body),
            (std::vector<int64_t>{11}));
  EXPECT_EQ(Signed("GET", "/wp-json/wc/v3/products", {{"sku", "NOPE"}}).body, "[]");

  auto too_many = Signed("GET", "/wp-json/wc/v3/products", {{"per_page", "101"}});
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(Json(too_many)["code"], "rest_invalid_param");
  EXPECT_EQ(Json(too_many)["data"]["params"]["per_page"],
            "per_page must be between 1 (inclusive) and 100 (inclusive)");
  EXPECT_EQ(Signed("GET", "/wp-json/wc/v3/products/11/variations", {{"per_page", "0"}}).status,
            400);
  auto missing = Signed("GET", "/wp-json/wc/v3/products/999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Json(missing)["code"], "woocommerce_rest_product_invalid_id");
  WooSimStats stats = sim_->stats();
  EXPECT_EQ(stats.products, 25);
  EXPECT_EQ(stats.variations, 2);
  EXPECT_EQ(stats.product_gets, 7);
  EXPECT_EQ(stats.sku_lookups, 3);
}

TEST_F(WooSimCatalogTest, BatchFailsItemsInPlaceAndRejectsMoreThanAHundred) {
  AddRecordedCatalog();
  sim_->FailNextBatchItem("TSHIRT");
  auto r = Signed("POST", "/wp-json/wc/v3/products/batch", {},
                  R"({"update":[{"id":10,"stock_quantity":0},{"id":999,"stock_quantity":1},)"
                  R"({"id":12,"stock_quantity":1},{"id":11,"stock_status":"outofstock"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const nlohmann::json j = Json(r);
  ASSERT_EQ(j["update"].size(), 4u);
  EXPECT_EQ(j["update"][0]["stock_quantity"], 0);
  EXPECT_EQ(j["update"][0]["stock_status"], "outofstock");  // quantity 0, no backorders
  EXPECT_EQ(nlohmann::ordered_json::parse(r.body)["update"][1].dump(),
            R"({"id":999,"error":{"code":"woocommerce_rest_product_invalid_id",)"
            R"("message":"Invalid ID.","data":{"status":400}}})");
  EXPECT_EQ(j["update"][2]["error"]["code"], "woocommerce_rest_invalid_product_id");
  EXPECT_EQ(j["update"][2]["error"]["data"]["status"], 404);
  EXPECT_EQ(j["update"][3]["error"]["code"], "product_invalid_sku");  // injected, once
  EXPECT_EQ(sim_->StockBySku("WID-BLUE")->stock_status, "outofstock");
  EXPECT_EQ(sim_->StockBySku("TSHIRT-S")->stock_quantity, 5);

  std::string big = R"({"update":[)";
  for (int i = 0; i < 101; ++i) absl::StrAppend(&big, i ? "," : "", R"({"id":10})");
  big += "]}";
  auto rejected = Signed("POST", "/wp-json/wc/v3/products/batch", {}, big);
  EXPECT_EQ(rejected.status, 413);
  EXPECT_EQ(rejected.body, Testdata("error.413.batch-too-large.response.json"));
  // 100 objects over create, update and delete together are accepted.
  std::string hundred = R"({"update":[)";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&hundred, i ? "," : "", R"({"id":10})");
  hundred += "]}";
  EXPECT_EQ(Signed("POST", "/wp-json/wc/v3/products/batch", {}, hundred).status, 200);

  WooSimStats stats = sim_->stats();
  EXPECT_EQ(stats.batch_calls, 3);
  EXPECT_EQ(stats.batch_rejected, 1);
  EXPECT_EQ(stats.items_updated, 101);
  EXPECT_EQ(stats.items_failed, 3);
}

TEST_F(WooSimCatalogTest, StockWriteObserverSeesEachRestWriteAsItLands) {
  KEELSON_ASSERT_OK(sim_->AddProduct({.sku = "A", .stock_quantity = 1}).status());
  KEELSON_ASSERT_OK(sim_->AddProduct({.sku = "B", .stock_quantity = 1}).status());
  std::vector<std::pair<std::string, int64_t>> seen;
  sim_->SetStockWriteObserver([&seen](std::string_view sku, const WooStock& stock) {
    seen.emplace_back(std::string(sku), stock.stock_quantity.value_or(-1));
  });
  ASSERT_EQ(Signed("POST", "/wp-json/wc/v3/products/batch", {},
                   R"({"update":[{"id":10,"stock_quantity":5},{"id":999,"stock_quantity":1},)"
                   R"({"id":11,"stock_quantity":0}]})")
                .status,
            200);
  ASSERT_EQ(Signed("PUT", "/wp-json/wc/v3/products/10", {}, R"({"stock_quantity":6})").status,
            200);
  KEELSON_ASSERT_OK(sim_->SetStockBySku("A", 9));  // not a REST write: not seen
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int64_t>>{{"A", 5}, {"B", 0}, {"A", 6}}));
  sim_->SetStockWriteObserver(nullptr);
  ASSERT_EQ(Signed("PUT", "/wp-json/wc/v3/products/11", {}, R"({"stock_quantity":2})").status,
            200);
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(WooSimCatalogTest, StockStatusFollowsWooCommercesRule) {
  KEELSON_ASSERT_OK(sim_->AddProduct({.sku = "NO-BO", .stock_quantity = 3}).status());
  KEELSON_ASSERT_OK(
      sim_->AddProduct({.sku = "BO", .stock_quantity = 3, .backorders = "notify"}).status());
  KEELSON_ASSERT_OK(
      sim_->AddProduct({.sku = "UNMANAGED", .manage_stock = false, .stock_status = "instock"})
          .status());
  auto r = Signed("POST", "/wp-json/wc/v3/products/batch", {},
                  R"({"update":[{"id":10,"stock_quantity":-2,"stock_status":"instock"},)"
                  R"({"id":11,"stock_quantity":"0"},)"
                  R"({"id":12,"stock_quantity":9,"stock_status":"onbackorder"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sim_->StockBySku("NO-BO")->stock_status, "outofstock");  // the sent status loses
  EXPECT_EQ(sim_->StockBySku("NO-BO")->stock_quantity, -2);
  EXPECT_EQ(sim_->StockBySku("BO")->stock_status, "onbackorder");
  EXPECT_EQ(sim_->StockBySku("BO")->stock_quantity, 0);
  EXPECT_EQ(sim_->StockBySku("UNMANAGED")->stock_status, "onbackorder");
  EXPECT_EQ(sim_->StockBySku("UNMANAGED")->stock_quantity, std::nullopt);  // ignored
  // A single PUT does the same.
  auto put = Signed("PUT", "/wp-json/wc/v3/products/11", {}, R"({"stock_quantity":41})");
  ASSERT_EQ(put.status, 200);
  EXPECT_EQ(Json(put)["stock_status"], "instock");
  EXPECT_EQ(Json(put)["generated_slug"], "product-bo");
  EXPECT_EQ(Signed("PUT", "/wp-json/wc/v3/products/77", {}, R"({"stock_quantity":1})").status, 400);
}

TEST_F(WooSimCatalogTest, ParentManagedVariationsShowAndTakeTheParentsStock) {
  KEELSON_ASSERT_OK_AND_ASSIGN(
      WooProductIds ids,
      sim_->AddProduct({.sku = "HOODIE",
                        .type = "variable",
                        .stock_quantity = 7,
                        .variations = {{.sku = "HOODIE-S", .manage_stock = false},
                                       {.sku = "HOODIE-L", .stock_quantity = 2}}}));
  std::optional<WooStock> s = sim_->StockBySku("HOODIE-S");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->manage_stock, "parent");
  EXPECT_EQ(s->stock_quantity, 7);
  EXPECT_EQ(s->product_id, ids.id);
  EXPECT_EQ(s->variation_id, ids.variation_ids[0]);
  auto list = Json(Signed("GET", absl::StrCat("/wp-json/wc/v3/products/", ids.id, "/variations"),
                          {{"order", "asc"}}));
  EXPECT_EQ(list[0]["manage_stock"], "parent");
  EXPECT_EQ(list[0]["stock_quantity"], 7);
  EXPECT_EQ(list[1]["manage_stock"], true);
  // Sending a quantity to the variation changes nothing visible: the parent's stock it is.
  auto vb = Signed(
      "POST", absl::StrCat("/wp-json/wc/v3/products/", ids.id, "/variations/batch"), {},
      absl::StrCat(R"({"update":[{"id":)", ids.variation_ids[0], R"(,"stock_quantity":99}]})"));
  ASSERT_EQ(vb.status, 200) << vb.body;
  EXPECT_EQ(Json(vb)["update"][0]["stock_quantity"], 7);
  // Through the parent it takes.
  ASSERT_EQ(Signed("POST", "/wp-json/wc/v3/products/batch", {},
                   absl::StrCat(R"({"update":[{"id":)", ids.id, R"(,"stock_quantity":0}]})"))
                .status,
            200);
  EXPECT_EQ(sim_->StockBySku("HOODIE-S")->stock_quantity, 0);
  EXPECT_EQ(sim_->StockBySku("HOODIE-S")->stock_status, "outofstock");
  EXPECT_EQ(sim_->StockBySku("HOODIE-L")->stock_quantity, 2);
  // A variation id from another product is refused in place.
  auto wrong = Signed("POST", "/wp-json/wc/v3/products/999/variations/batch", {},
                      absl::StrCat(R"({"update":[{"id":)", ids.variation_ids[1], "}]}"));
  EXPECT_EQ(Json(wrong)["update"][0]["error"]["code"],
            "woocommerce_rest_product_variation_invalid_id");
  // Behind Keelson's back (an order, an admin): the parent again.
  KEELSON_ASSERT_OK(sim_->SetStockBySku("HOODIE-S", 4));
  EXPECT_EQ(sim_->StockBySku("HOODIE")->stock_quantity, 4);
  EXPECT_THAT(sim_->SetStockBySku("NOPE", 1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(sim_->AddProduct({.sku = "HOODIE-L"}).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(WooSimCatalogTest, AdminEndpointsForProducts) {
  auto created = client_->Request("POST", "/_sim/products", {{"Content-Type", "application/json"}},
                                  R"({"sku":"CAP","type":"variable","manage_stock":false,)"
                                  R"("variations":[{"sku":"CAP-RED","stock_quantity":3}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body, R"({"id":10,"variation_ids":[11]})");
  EXPECT_EQ(
      client_->Request("PUT", "/_sim/products/stock", {}, R"({"sku":"CAP-RED","stock_quantity":0})")
          .status,
      200);
  auto stock = client_->Request("GET", "/_sim/products/stock?sku=CAP-RED", {}, "");
  EXPECT_EQ(stock.body,
            R"({"backorders":"no","manage_stock":"true","product_id":10,"stock_quantity":0,)"
            R"("stock_status":"outofstock","type":"variation","variation_id":11})");
  EXPECT_EQ(sim_->StockBySku("CAP")->stock_status, "outofstock");  // synced from its child
  EXPECT_EQ(client_->Request("POST", "/_sim/products/fail-next", {}, R"({"sku":"CAP-RED"})").status,
            200);
  auto r = Signed("POST", "/wp-json/wc/v3/products/10/variations/batch", {},
                  R"({"update":[{"id":11,"stock_quantity":5}]})");
  EXPECT_EQ(Json(r)["update"][0]["error"]["code"], "product_invalid_sku");
  EXPECT_EQ(client_->Request("GET", "/_sim/products/stock?sku=NOPE", {}, "").status, 404);
}
}  // namespace
}  // namespace keelson::sim
