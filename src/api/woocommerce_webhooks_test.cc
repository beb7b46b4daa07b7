#include "api/woocommerce_webhooks.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "obs/metrics.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/http_client.h"

namespace keelson::api {
namespace {

using keelson::testing::HttpClient;
using keelson::testing::ReadFile;
using keelson::testing::WooHeaders;

// Recorded from a real WooCommerce 7.8.0 (see testdata/README.md).
constexpr char kRealSecret[] = "middleware-secret";
constexpr char kRealSignature[] = "OO0fhEJtEjiz157O71UxIuNY1ThAuGt0OaFaHMmtkfU=";
constexpr uint64_t kBodyLimit = 64 * 1024;

std::string Testdata(const std::string& name) {
  return ReadFile(std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/" + name);
}

class WebhookIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    committer_ = std::make_unique<store::GroupCommitter>(store_.get(), &clock_, 64, &metrics_);
    webhooks_ = std::make_unique<WooCommerceWebhooks>(
        std::vector<WebhookStore>{{"main", kRealSecret}, {"outlet", "outlet-secret"}},
        committer_.get(), &metrics_);
    net::Router router;
    router.Add(net::http::verb::post, "/v1/webhooks/woocommerce/{store_id}",
               [this](net::HttpRequest& req, net::Responder respond) {
                 webhooks_->Handle(req, std::move(respond));
               });
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2,
                               .body_limit = kBodyLimit},
        std::move(router));
    committer_->Start();
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    client_.reset();
    server_->Stop();
    committer_->Stop();
  }

  keelson::testing::HttpResult Post(const std::string& store, const std::string& body,
                                    const std::vector<std::pair<std::string, std::string>>& h) {
    return client_->Request("POST", "/v1/webhooks/woocommerce/" + store, h, body);
  }

  int64_t Deliveries() { return *store_->CountDeliveries(); }
  std::vector<store::Job> Jobs() { return *store_->ListJobs({.limit = 100000}); }
  double Counter(const std::string& name, const obs::Labels& labels) {
    return metrics_.GetCounter(name, "", labels)->Value();
  }

  core::FakeClock clock_;
  obs::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::GroupCommitter> committer_;
  std::unique_ptr<WooCommerceWebhooks> webhooks_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(WebhookIntakeTest, AcceptsARealSignedDeliveryAndStoresItsExactBytesWithItsJob) {
  const std::string body = Testdata("order.created.body.json");
  auto headers = WooHeaders("order.created", body, kRealSecret);
  for (auto& [k, v] : headers) {
    if (k == "X-WC-Webhook-Signature") v = kRealSignature;  // the header WooCommerce sent
  }
  auto r = Post("main", body, headers);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "accepted");
  EXPECT_EQ(j["delivery_id"], 1);
  EXPECT_EQ(r.headers["x-correlation-id"], j["correlation_id"]);
  EXPECT_EQ(j["correlation_id"].get<std::string>().size(), 32u);

  auto d = store_->GetDelivery(1);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->body, body);
  EXPECT_EQ(d->store_id, "main");
  EXPECT_EQ(d->topic, "order.created");
  EXPECT_EQ(d->status, "received");
  auto stored_headers = nlohmann::json::parse(d->headers_json);
  EXPECT_EQ(stored_headers["X-WC-Webhook-Signature"], kRealSignature);
  EXPECT_EQ(stored_headers["X-WC-Webhook-Delivery-ID"], "e853ed2826d6dd6eab43492d2897cf3a");

  auto jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].kind, kWooIngestJobKind);
  EXPECT_EQ(jobs[0].partition_key, "woo:main:order:14");
  EXPECT_EQ(jobs[0].payload, R"({"delivery_id":1})");
  EXPECT_EQ(jobs[0].correlation_id, j["correlation_id"]);
  EXPECT_EQ(Counter("keelson_intake_deliveries_total", {{"result", "accepted"}}), 1);
}

TEST_F(WebhookIntakeTest, BadSignatureIs401AndStoresNothing) {
  std::string body = Testdata("order.created.body.json");
  auto headers = WooHeaders("order.created", body, kRealSecret);
  body[body.find("processing")] = 'P';  // tampered after signing
  auto r = Post("main", body, headers);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  auto p = nlohmann::json::parse(r.body);
  EXPECT_EQ(p["status"], 401);
  EXPECT_EQ(p["title"], "Invalid signature");

  // Signed with another store's secret.
  r = Post("main", body, WooHeaders("order.created", body, "outlet-secret"));
  EXPECT_EQ(r.status, 401);
  // Garbage in the header.
  auto garbage = WooHeaders("order.created", body, kRealSecret);
  for (auto& [k, v] : garbage) {
    if (k == "X-WC-Webhook-Signature") v = "not base64 at all!";
  }
  EXPECT_EQ(Post("main", body, garbage).status, 401);

  EXPECT_EQ(Deliveries(), 0);
  EXPECT_TRUE(Jobs().empty());
  EXPECT_EQ(Counter("keelson_intake_rejected_total", {{"reason", "bad_signature"}}), 3);
}

TEST_F(WebhookIntakeTest, MissingSignatureIs401) {
  const std::string body = R"({"id":5})";
  auto r = Post("main", body, {{"X-WC-Webhook-Topic", "order.created"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Deliveries(), 0);
  EXPECT_EQ(Counter("keelson_intake_rejected_total", {{"reason", "missing_signature"}}), 1);
}

TEST_F(WebhookIntakeTest, CreationPingIsAnsweredAndNotStored) {
  // Exactly what WooCommerce 7.8 sends when a webhook is created: form body, no X-WC headers.
  auto r = Post("main", "webhook_id=1",
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"User-Agent", "WooCommerce/7.8.0 Hookshot (WordPress/6.1.9)"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ping");
  EXPECT_EQ(Deliveries(), 0);
  EXPECT_TRUE(Jobs().empty());
  // A form body that is not a ping is not waved through.
  EXPECT_EQ(Post("main", "webhook_id=1&x=2", {}).status, 401);
}

TEST_F(WebhookIntakeTest, BodyOverTheLimitIs413) {
  std::string body(kBodyLimit + 1, 'x');
  auto r = Post("main", body, WooHeaders("order.created", body, kRealSecret));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], 413);
  EXPECT_EQ(Deliveries(), 0);
  // Just under the limit is read and judged on its signature.
  std::string ok_body(kBodyLimit, 'x');
  HttpClient fresh("127.0.0.1", server_->port());
  auto r2 = fresh.Request("POST", "/v1/webhooks/woocommerce/main",
                          WooHeaders("order.created", ok_body, "wrong"), ok_body);
  EXPECT_EQ(r2.status, 401);
}

TEST_F(WebhookIntakeTest, UnknownStoreIs404) {
  const std::string body = R"({"id":5})";
  auto r = Post("nope", body, WooHeaders("order.created", body, kRealSecret));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body)["detail"], "no store \"nope\" is configured");
  EXPECT_EQ(Deliveries(), 0);
}

TEST_F(WebhookIntakeTest, SignedDeliveryWithoutTopicIs400) {
  const std::string body = R"({"id":5})";
  auto headers = WooHeaders("order.created", body, kRealSecret);
  std::erase_if(headers, [](const auto& h) { return h.first == "X-WC-Webhook-Topic"; });
  EXPECT_EQ(Post("main", body, headers).status, 400);
  EXPECT_EQ(Deliveries(), 0);
}

TEST_F(WebhookIntakeTest, IdenticalRedeliveriesAreAbsorbed) {
  // WooCommerce sends order.created and order.updated for a new order with identical bodies,
  // and its Delivery-ID is not unique: the body is the identity.
  const std::string body = Testdata("order.created.body.json");
  auto first = Post("main", body, WooHeaders("order.created", body, kRealSecret));
  auto second = Post("main", body, WooHeaders("order.updated", body, kRealSecret));
  auto third = Post("main", body, WooHeaders("order.updated", body, kRealSecret));
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  ASSERT_EQ(third.status, 200);
  auto j1 = nlohmann::json::parse(first.body), j2 = nlohmann::json::parse(second.body);
  EXPECT_EQ(j1["status"], "accepted");
  EXPECT_EQ(j2["status"], "duplicate");
  EXPECT_EQ(nlohmann::json::parse(third.body)["status"], "duplicate");
  EXPECT_EQ(j2["delivery_id"], j1["delivery_id"]);
  EXPECT_EQ(j2["correlation_id"], j1["correlation_id"]);
  EXPECT_EQ(Deliveries(), 1);
  EXPECT_EQ(Jobs().size(), 1u);
  EXPECT_EQ(Counter("keelson_intake_deliveries_total", {{"result", "duplicate"}}), 2);

  // The trash notice is a different state ({"id":14}) and is kept, on the same partition.
  const std::string deleted = Testdata("order.deleted.body.json");
  auto r = Post("main", deleted, WooHeaders("order.deleted", deleted, kRealSecret));
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "accepted");
  // The same bytes for another store, or another resource, are another delivery.
  EXPECT_EQ(nlohmann::json::parse(
                Post("outlet", deleted, WooHeaders("order.deleted", deleted, "outlet-secret")).body)
                ["status"],
            "accepted");
  EXPECT_EQ(nlohmann::json::parse(
                Post("main", deleted, WooHeaders("product.deleted", deleted, kRealSecret)).body)
                ["status"],
            "accepted");
  EXPECT_EQ(Deliveries(), 4);
  auto jobs = Jobs();
  ASSERT_EQ(jobs.size(), 4u);
  EXPECT_EQ(jobs[1].partition_key, "woo:main:order:14");
  EXPECT_EQ(jobs[2].partition_key, "woo:outlet:order:14");
  EXPECT_EQ(jobs[3].partition_key, "woo:main:product:14");
}

TEST_F(WebhookIntakeTest, ConcurrentDeliveriesAreAllStoredOnce) {
  constexpr int kThreads = 8, kPerThread = 50;
  const std::string tmpl = Testdata("peer-order.json");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c("127.0.0.1", server_->port());
      for (int i = 0; i < kPerThread; ++i) {
        std::string body = tmpl;
        body.replace(body.find("\"id\":"), 5, "\"id\":" + std::to_string(t * 1000 + i) + "0");
        auto r = c.Request("POST", "/v1/webhooks/woocommerce/main",
                           WooHeaders("order.created", body, kRealSecret), body);
        if (r.status == 200 && nlohmann::json::parse(r.body)["status"] == "accepted") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(Deliveries(), kThreads * kPerThread);
  EXPECT_EQ(Jobs().size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(PeekTopLevelIdTest, ReadsOnlyTheTopLevelId) {
  EXPECT_EQ(PeekTopLevelId(R"({"id":14,"line_items":[{"id":3}]})"), 14);
  EXPECT_EQ(PeekTopLevelId(R"({"parent":{"id":3},"id":7})"), 7);
  EXPECT_EQ(PeekTopLevelId(R"({"line_items":[{"id":3}]})"), -1);
  EXPECT_EQ(PeekTopLevelId(R"({"id":"14"})"), -1);
  EXPECT_EQ(PeekTopLevelId("not json"), -1);
  EXPECT_EQ(PeekTopLevelId(R"([{"id":1}])"), -1);
}

}  // namespace
}  // namespace keelson::api
