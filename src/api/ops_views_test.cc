// The operator API over real HTTP: scoped keys, order search and paging, the order page, discard
// with its audit entry, and SLA alerts as the clock moves.

#include "api/ops_views.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "connectors/woocommerce/mapping.h"
#include "core/clock.h"
#include "net/signature.h"
#include "obs/metrics.h"
#include "ops/sla.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::api {
namespace {

using keelson::testing::HttpClient;
using keelson::testing::HttpResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAdminKey[] = "k-admin-0123456789";
constexpr char kViewerKey[] = "k-viewer-0123456789";

class OpsViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    ops::SlaMonitor::Options so;
    so.rules = {{.name = "paid_not_in_erp",
                 .description = "paid but not in the ERP after 5 min",
                 .subject = ops::SlaSubject::kOrders,
                 .statuses = {"processing"},
                 .erp_states = {"none", "pending"},
                 .older_than = absl::Minutes(5)}};
    sla_ = std::make_unique<ops::SlaMonitor>(store_.get(), &clock_, &metrics_, nullptr, so);
    deps_.store = store_.get();
    deps_.clock = &clock_;
    deps_.metrics = &metrics_;
    deps_.api_keys = {{"alice", net::Sha256Hex(kAdminKey), {"ops"}},
                      {"viewer", net::Sha256Hex(kViewerKey), {"ops:read"}}};
    deps_.sla = sla_.get();
    deps_.create_on = {"processing"};
    deps_.mapper = [](std::string_view store, const nlohmann::json& j) {
      return connectors::woocommerce::MapOrder(store, j);
    };
    net::Router router;
    AddOpsRoutes(router, deps_);
    AddOpsViewRoutes(router, deps_);
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 2}, std::move(router));
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    client_.reset();
    server_->Stop();
  }

  HttpResult Call(const std::string& method, const std::string& target,
                  const std::string& key = kAdminKey, const std::string& body = "") {
    std::vector<std::pair<std::string, std::string>> h;
    if (!key.empty()) h.push_back({"Authorization", "Bearer " + key});
    if (!body.empty()) h.push_back({"Content-Type", "application/json"});
    return client_->Request(method, target, h, body);
  }
  nlohmann::json GetJson(const std::string& target) {
    HttpResult r = Call("GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  void PutOrder(std::string store, int64_t id, std::string status, std::string email,
                std::string corr, std::string snapshot = "{}") {
    store::OrderRecord r{.store_id = std::move(store), .order_id = id,
                         .version = clock_.Now(), .status = std::move(status),
                         .snapshot_json = std::move(snapshot), .correlation_id = std::move(corr)};
    r.customer_email = std::move(email);
    r.total = "61.88";
    r.currency = "EUR";
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
      return tx.PutOrderIfNewer(r).status();
    }));
  }
  int64_t DeadJob(const std::string& partition) {
    int64_t id = keelson::testing::EnqueueJob(
        *store_, clock_.Now(), {.kind = "erp.create_order", .partition_key = partition,
                                .payload = "{}"});
    EXPECT_TRUE(store_->ClaimJobs("w", clock_.Now(), absl::Seconds(30), 100).ok());
    EXPECT_TRUE(store_->DeadLetterJob(id, "w", "business", "item NEW-ITEM does not exist",
                                      clock_.Now())
                    .ok());
    return id;
  }

  core::FakeClock clock_;
  obs::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ops::SlaMonitor> sla_;
  OpsDeps deps_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(OpsViewsTest, KeysAreCheckedAndScopesLimitWhatTheyMayDo) {
  HttpResult none = Call("GET", "/ops/orders", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(none.headers["content-type"], "application/problem+json");
  EXPECT_EQ(Call("GET", "/ops/orders", "not-a-key").status, 401);

  HttpResult who = Call("GET", "/ops/whoami", kViewerKey);
  ASSERT_EQ(who.status, 200);
  nlohmann::json j = nlohmann::json::parse(who.body);
  EXPECT_EQ(j["name"], "viewer");
  EXPECT_EQ(j["scopes"], nlohmann::json::array({"ops:read"}));
  EXPECT_EQ(j["auth"], "key");

  const int64_t dead = DeadJob("woo:main:order:7");
  EXPECT_EQ(Call("GET", "/ops/dead-letters", kViewerKey).status, 200);
  HttpResult denied = Call("POST", absl::StrCat("/ops/dead-letters/", dead, "/replay"), kViewerKey);
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(denied.body, HasSubstr("ops:read"));
  KEELSON_ASSERT_OK_AND_ASSIGN(store::Job job, store_->GetJob(dead));
  EXPECT_EQ(job.state, store::JobState::kDead);  // nothing happened

  EXPECT_EQ(Call("POST", absl::StrCat("/ops/dead-letters/", dead, "/replay")).status, 200);
  KEELSON_ASSERT_OK_AND_ASSIGN(job, store_->GetJob(dead));
  EXPECT_EQ(job.state, store::JobState::kQueued);
  nlohmann::json audit = GetJson("/ops/audit");
  ASSERT_EQ(audit["items"].size(), 1u);
  EXPECT_EQ(audit["items"][0]["actor"], "alice");
  EXPECT_EQ(audit["items"][0]["action"], "dead_letter.replay");
  EXPECT_EQ(audit["items"][0]["target"], absl::StrCat("job:", dead));
}

TEST_F(OpsViewsTest, SearchFindsByReferenceEmailErpNumberAndCorrelationAndPages) {
  for (int i = 1; i <= 5; ++i) {
    PutOrder("main", i, "processing", absl::StrCat("c", i, "@example.com"), absl::StrCat("corr-", i));
    clock_.Advance(absl::Seconds(1));
  }
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) {
    return tx.SetOrderErp("main", 4, "created", "guid-4", "S-ORD101004");
  }));
  auto refs = [](const nlohmann::json& j) {
    std::vector<std::string> out;
    for (const auto& i : j["items"]) out.push_back(i["ref"]);
    return out;
  };
  EXPECT_THAT(refs(GetJson("/ops/orders?q=main:2")), ElementsAre("main:2"));
  EXPECT_THAT(refs(GetJson("/ops/orders?q=C3%40Example.com")), ElementsAre("main:3"));
  EXPECT_THAT(refs(GetJson("/ops/orders?q=s-ord101004")), ElementsAre("main:4"));
  EXPECT_THAT(refs(GetJson("/ops/orders?q=corr-5")), ElementsAre("main:5"));
  EXPECT_THAT(refs(GetJson("/ops/orders?q=1")), ElementsAre("main:1"));
  EXPECT_THAT(refs(GetJson("/ops/orders?q=nothing-like-it")), ElementsAre());
  EXPECT_THAT(refs(GetJson("/ops/orders?erp_state=none,pending&limit=10")),
              ElementsAre("main:5", "main:3", "main:2", "main:1"));
  nlohmann::json one = GetJson("/ops/orders?q=main:4");
  EXPECT_EQ(one["items"][0]["erp_number"], "S-ORD101004");
  EXPECT_EQ(one["items"][0]["customer_email"], "c4@example.com");
  EXPECT_EQ(one["items"][0]["total"], "61.88");
  EXPECT_TRUE(one["next_cursor"].is_null());

  // Pages of two, newest change first (order 4 changed last): no gaps, no repeats.
  std::vector<std::string> seen;
  std::string target = "/ops/orders?limit=2";
  for (int page = 0; page < 5; ++page) {
    nlohmann::json j = GetJson(target);
    for (const auto& r : refs(j)) seen.push_back(r);
    if (j["next_cursor"].is_null()) break;
    target = "/ops/orders?limit=2&cursor=" + j["next_cursor"].get<std::string>();
  }
  EXPECT_THAT(seen, ElementsAre("main:4", "main:5", "main:3", "main:2", "main:1"));
  EXPECT_EQ(Call("GET", "/ops/orders?cursor=garbage").status, 400);
}

TEST_F(OpsViewsTest, OrderPageJoinsTheOrderItsTimelineAcrossSystemsJobsAndReservations) {
  const std::string body = keelson::testing::ReadFile(std::string(KEELSON_SOURCE_DIR) +
                                                      "/testdata/woocommerce/order.created.body.json");
  PutOrder("main", 14, "processing", "erika@example.com", "corr-14", body);
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) -> absl::Status {
    if (auto s = tx.AppendTimeline({.entity = "delivery:1", .correlation_id = "corr-14",
                                    .kind = "webhook.received", .detail_json = "{}"});
        !s.ok()) {
      return s;
    }
    if (auto s = tx.AppendTimeline({.entity = "order:main:14", .correlation_id = "corr-14",
                                    .kind = "erp.order_created",
                                    .detail_json = R"({"number":"S-ORD101001"})"});
        !s.ok()) {
      return s;
    }
    if (auto s = tx.SetOrderErp("main", 14, "created", "guid", "S-ORD101001"); !s.ok()) return s;
    return tx.PutReservation({.order_ref = "main:14", .sku = "WID-BLUE", .location = "WH1",
                              .channel = "main", .reserved = 2});
  }));
  const int64_t dead = DeadJob("woo:main:order:14");
  nlohmann::json j = GetJson("/ops/orders/main/14");
  EXPECT_EQ(j["ref"], "main:14");
  EXPECT_EQ(j["summary"]["erp_number"], "S-ORD101001");
  ASSERT_TRUE(j["order"].is_object()) << j.dump();
  EXPECT_EQ(j["order"]["lines"].size(), 2u);
  EXPECT_EQ(j["order"]["lines"][0]["sku"], "WID-BLUE");
  ASSERT_EQ(j["timeline"].size(), 2u);
  EXPECT_EQ(j["timeline"][0]["kind"], "webhook.received");
  EXPECT_EQ(j["timeline"][0]["system"], "woocommerce");
  EXPECT_EQ(j["timeline"][1]["system"], "erp");
  EXPECT_EQ(j["timeline"][1]["detail"]["number"], "S-ORD101001");
  ASSERT_EQ(j["jobs"].size(), 1u);
  EXPECT_EQ(j["jobs"][0]["id"], dead);
  EXPECT_EQ(j["jobs"][0]["ref"], "main:14");
  ASSERT_EQ(j["reservations"].size(), 1u);
  EXPECT_EQ(j["reservations"][0]["reserved"], 2);
  EXPECT_EQ(j["xrefs"][0]["external_id"], "S-ORD101001");
  EXPECT_EQ(Call("GET", "/ops/orders/main/999").status, 404);
}

TEST_F(OpsViewsTest, DiscardNeedsAReasonHidesTheDeadLetterAndIsAudited) {
  const int64_t a = DeadJob("woo:main:order:1");
  const int64_t b = DeadJob("woo:main:order:2");
  EXPECT_EQ(Call("POST", absl::StrCat("/ops/dead-letters/", a, "/discard")).status, 400);
  EXPECT_EQ(Call("POST", absl::StrCat("/ops/dead-letters/", a, "/discard"), kAdminKey,
                 R"({"reason":"  "})").status, 400);
  HttpResult ok = Call("POST", absl::StrCat("/ops/dead-letters/", a, "/discard"), kAdminKey,
                       R"({"reason":"test order, cancelled by phone"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Call("POST", absl::StrCat("/ops/dead-letters/", a, "/discard"), kAdminKey,
                 R"({"reason":"again"})").status, 409);

  nlohmann::json list = GetJson("/ops/dead-letters");
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["id"], b);
  EXPECT_EQ(list["items"][0]["ref"], "main:2");
  nlohmann::json discarded = GetJson("/ops/dead-letters?reason=discarded");
  ASSERT_EQ(discarded["items"].size(), 1u);
  EXPECT_EQ(discarded["items"][0]["id"], a);

  HttpResult bulk = Call("POST", "/ops/dead-letters/discard?reason=business", kAdminKey,
                         R"({"reason":"duplicates"})");
  ASSERT_EQ(bulk.status, 200);
  EXPECT_EQ(nlohmann::json::parse(bulk.body)["discarded"], nlohmann::json::array({b}));
  nlohmann::json audit = GetJson("/ops/audit");
  ASSERT_EQ(audit["items"].size(), 2u);
  EXPECT_EQ(audit["items"][0]["action"], "dead_letter.discard");
  EXPECT_EQ(audit["items"][0]["detail"]["reason"], "test order, cancelled by phone");
  EXPECT_EQ(audit["items"][1]["action"], "dead_letter.discard_bulk");
  EXPECT_EQ(audit["items"][1]["detail"]["ids"], nlohmann::json::array({b}));
}

TEST_F(OpsViewsTest, AlertsShowABreachOnceItsAgeIsPassedAndClearWhenResolved) {
  const absl::Time t0 = clock_.Now();
  PutOrder("main", 1, "processing", "a@example.com", "c1");
  PutOrder("main", 2, "completed", "b@example.com", "c2");
  clock_.Advance(absl::Minutes(4));
  sla_->EvaluateNow();
  nlohmann::json alerts = GetJson("/ops/alerts");
  ASSERT_EQ(alerts["items"].size(), 1u);
  EXPECT_EQ(alerts["items"][0]["count"], 0);
  EXPECT_TRUE(alerts["items"][0]["firing_since"].is_null());

  clock_.Advance(absl::Minutes(1) + absl::Seconds(1));
  sla_->EvaluateNow();
  alerts = GetJson("/ops/alerts");
  EXPECT_EQ(alerts["items"][0]["count"], 1);
  EXPECT_EQ(alerts["items"][0]["samples"][0]["ref"], "main:1");
  EXPECT_EQ(alerts["items"][0]["samples"][0]["kind"], "order");
  EXPECT_DOUBLE_EQ(alerts["items"][0]["oldest_age_s"].get<double>(),
                   absl::ToDoubleSeconds(clock_.Now() - t0));
  EXPECT_FALSE(alerts["items"][0]["firing_since"].is_null());
  EXPECT_THAT(metrics_.Render(), HasSubstr("keelson_sla_breaches{rule=\"paid_not_in_erp\"} 1"));
  nlohmann::json items = GetJson("/ops/alerts/paid_not_in_erp");
  ASSERT_EQ(items["items"].size(), 1u);
  EXPECT_EQ(items["items"][0]["detail"], "processing / erp none");
  EXPECT_EQ(Call("GET", "/ops/alerts/no_such_rule").status, 404);

  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) {
    return tx.SetOrderErp("main", 1, "created", "guid", "S-1");
  }));
  sla_->EvaluateNow();
  alerts = GetJson("/ops/alerts");
  EXPECT_EQ(alerts["items"][0]["count"], 0);
  EXPECT_TRUE(alerts["items"][0]["firing_since"].is_null());
  EXPECT_THAT(metrics_.Render(), HasSubstr("keelson_sla_breaches{rule=\"paid_not_in_erp\"} 0"));
}

}  // namespace
}  // namespace keelson::api
