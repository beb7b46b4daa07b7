// The SLA monitor against a real store and a real alert receiver over HTTP.

#include "ops/sla.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::ops {
namespace {

using ::testing::HasSubstr;

// Collects what the monitor posts, answering `status`.
class AlertReceiver {
 public:
  AlertReceiver() {
    net::Router router;
    router.Add(net::http::verb::post, "/hook", [this](net::HttpRequest& req, net::Responder r) {
      std::lock_guard<std::mutex> l(mu_);
      if (status_ != 200) {
        ++refused_;
        r(net::Text(static_cast<net::http::status>(status_), "no", "text/plain"));
        return;
      }
      bodies_.push_back(nlohmann::json::parse(req.raw.body(), nullptr, false));
      r(net::Text(net::http::status::ok, "ok", "text/plain"));
    });
    server_ = std::make_unique<net::HttpServer>(
        net::HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 1}, std::move(router));
    EXPECT_TRUE(server_->Start().ok());
  }
  ~AlertReceiver() { server_->Stop(); }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_->port(), "/hook"); }
  void set_status(int s) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = s;
  }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> l(mu_);
    return bodies_;
  }
  int refused() {
    std::lock_guard<std::mutex> l(mu_);
    return refused_;
  }

 private:
  std::mutex mu_;
  int status_ = 200;
  int refused_ = 0;
  std::vector<nlohmann::json> bodies_;
  std::unique_ptr<net::HttpServer> server_;
};

class SlaMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    http_ = net::NewCurlHttpClient();
  }
  std::unique_ptr<SlaMonitor> Monitor(std::vector<SlaRule> rules, std::string format = "slack") {
    SlaMonitor::Options o;
    o.rules = std::move(rules);
    o.webhook_url = receiver_.url();
    o.webhook_format = std::move(format);
    return std::make_unique<SlaMonitor>(store_.get(), &clock_, &metrics_, http_.get(), o);
  }
  int64_t DeadJob(std::string kind) {
    const int64_t id = keelson::testing::EnqueueJob(*store_, clock_.Now(),
                                                    {.kind = std::move(kind), .payload = "{}"});
    EXPECT_TRUE(store_->ClaimJobs("w", clock_.Now(), absl::Seconds(30), 100).ok());
    EXPECT_TRUE(store_->DeadLetterJob(id, "w", "business", "refused", clock_.Now()).ok());
    return id;
  }

  core::FakeClock clock_;
  obs::Registry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<net::HttpClient> http_;
  AlertReceiver receiver_;
};

TEST_F(SlaMonitorTest, StockNotPublishedFiresOnceAndResolvesOnceInSlackFormat) {
  auto m = Monitor({{.name = "stock_not_published",
                     .description = "stock change not published after 2 min",
                     .subject = SlaSubject::kStockPublication,
                     .older_than = absl::Minutes(2)}});
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) -> absl::Status {
    if (auto s = tx.MarkDirty("main", "WID-BLUE"); !s.ok()) return s;
    return tx.MarkDirty("main", "WID-RED");
  }));
  clock_.Advance(absl::Minutes(1));
  m->EvaluateNow();
  EXPECT_TRUE(receiver_.bodies().empty());
  clock_.Advance(absl::Minutes(1) + absl::Seconds(12));
  m->EvaluateNow();
  m->EvaluateNow();  // still breaching: no second alert
  ASSERT_EQ(receiver_.bodies().size(), 1u);
  EXPECT_EQ(receiver_.bodies()[0]["text"],
            ":rotating_light: *Keelson SLA breach* `stock_not_published`: stock change not "
            "published after 2 min — 2 items, oldest 2m12s (main/WID-BLUE, main/WID-RED)");
  std::vector<SlaRuleState> states = m->Snapshot();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].count, 2);
  EXPECT_EQ(states[0].oldest_age, absl::Minutes(2) + absl::Seconds(12));

  // Published: the dirty rows go; the rule resolves.
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) -> absl::Status {
    auto taken = tx.TakeDirty("main", 10, 1);
    if (!taken.ok()) return taken.status();
    return tx.ClearDirty("main", 1).status();
  }));
  clock_.Advance(absl::Seconds(30));
  m->EvaluateNow();
  ASSERT_EQ(receiver_.bodies().size(), 2u);
  EXPECT_EQ(receiver_.bodies()[1]["text"],
            ":white_check_mark: *Keelson SLA resolved* `stock_not_published`: stock change not "
            "published after 2 min (breached for 30s)");
  EXPECT_EQ(m->alerts_sent(), 2);
}

TEST_F(SlaMonitorTest, UndeliveredAlertsAreKeptAndSentInOrderLater) {
  auto m = Monitor({{.name = "dead_letters", .subject = SlaSubject::kDeadLetters}}, "json");
  receiver_.set_status(503);
  const int64_t dead = DeadJob("erp.create_order");
  m->EvaluateNow();
  EXPECT_EQ(receiver_.refused(), 1);
  EXPECT_EQ(m->alerts_pending(), 1u);
  KEELSON_ASSERT_OK(store_->DiscardJob(dead, clock_.Now()));  // discarded: no longer waiting
  m->EvaluateNow();  // resolved, but the firing alert is still undelivered: both wait, in order
  EXPECT_EQ(m->alerts_pending(), 2u);
  receiver_.set_status(200);
  m->EvaluateNow();
  ASSERT_EQ(receiver_.bodies().size(), 2u);
  EXPECT_EQ(receiver_.bodies()[0]["event"], "firing");
  EXPECT_EQ(receiver_.bodies()[0]["rule"], "dead_letters");
  EXPECT_EQ(receiver_.bodies()[0]["count"], 1);
  EXPECT_EQ(receiver_.bodies()[0]["samples"][0]["ref"], absl::StrCat("job:", dead));
  EXPECT_EQ(receiver_.bodies()[1]["event"], "resolved");
  EXPECT_EQ(m->alerts_pending(), 0u);
  EXPECT_THAT(metrics_.Render(), HasSubstr("keelson_sla_alerts_total{result=\"failed\"} 2"));
}

TEST_F(SlaMonitorTest, JobsRuleAgesQueuedJobsOfOneKindFromEnqueue) {
  auto m = Monitor({{.name = "erp_backlog", .subject = SlaSubject::kJobs,
                     .kind = "erp.create_order", .older_than = absl::Minutes(10)}});
  keelson::testing::EnqueueJob(*store_, clock_.Now(), {.kind = "erp.create_order", .payload = "{}"});
  keelson::testing::EnqueueJob(*store_, clock_.Now(), {.kind = "inventory.publish", .payload = "{}"});
  clock_.Advance(absl::Minutes(11));
  const int64_t late = keelson::testing::EnqueueJob(*store_, clock_.Now(),
                                                    {.kind = "erp.create_order", .payload = "{}"});
  (void)late;
  m->EvaluateNow();
  std::vector<SlaRuleState> s = m->Snapshot();
  EXPECT_EQ(s[0].count, 1);
  ASSERT_EQ(s[0].samples.size(), 1u);
  EXPECT_EQ(s[0].samples[0].ref, "job:1");
  EXPECT_EQ(s[0].samples[0].age, absl::Minutes(11));
  EXPECT_THAT(metrics_.Render(), HasSubstr("keelson_sla_oldest_age_seconds{rule=\"erp_backlog\"} 660"));
}

}  // namespace
}  // namespace keelson::ops

namespace keelson::ops {
namespace {

TEST_F(SlaMonitorTest, SegmentsNotReleasedAndShipmentsNotPostedBreachByTheirAge) {
  auto m = Monitor({{.name = "not_released", .subject = SlaSubject::kSegments,
                     .statuses = {"planned", "rejected"}, .older_than = absl::Minutes(30)},
                    {.name = "not_posted", .subject = SlaSubject::kShipments,
                     .older_than = absl::Minutes(15)}});
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) -> absl::Status {
    for (const char* id : {"main:1/1", "main:2/1"}) {
      store::SegmentRecord s{.segment_id = id, .order_ref = "main:1", .seq = 1,
                             .node_id = "shipbob", .provider = "shipbob", .kind = "ship"};
      s.lines = {{1, 11, "A", "SB", 1, 0}};
      if (auto st = tx.PutSegment(s); !st.ok()) return st;
    }
    return tx.PutShipment({.provider = "shipbob", .shipment_id = "SHP-9", .segment_id = "main:3/1",
                           .order_ref = "main:3", .carrier = "UPS", .tracking_number = "1Z9"})
        .status();
  }));
  clock_.Advance(absl::Minutes(20));
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [](store::Tx& tx) {
    return tx.SetSegmentState("main:2/1", "rejected", "", "unknown product B");
  }));
  clock_.Advance(absl::Minutes(11));
  m->EvaluateNow();
  std::vector<SlaRuleState> s = m->Snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].count, 1);  // main:2/1 is rejected since only 11 min
  ASSERT_EQ(s[0].samples.size(), 1u);
  EXPECT_EQ(s[0].samples[0].ref, "main:1/1");
  EXPECT_EQ(s[0].samples[0].kind, "segment");
  EXPECT_EQ(s[0].samples[0].age, absl::Minutes(31));
  EXPECT_EQ(s[1].count, 1);
  EXPECT_EQ(s[1].samples[0].ref, "shipbob/SHP-9");
  EXPECT_EQ(s[1].samples[0].detail, "order main:3, UPS 1Z9: not posted to the ERP");
  clock_.Advance(absl::Minutes(20));
  m->EvaluateNow();
  s = m->Snapshot();
  EXPECT_EQ(s[0].count, 2);
  EXPECT_EQ(s[0].samples[0].ref, "main:1/1");  // oldest first
  EXPECT_EQ(s[0].samples[1].detail, "rejected at shipbob: unknown product B");
}

}  // namespace
}  // namespace keelson::ops
