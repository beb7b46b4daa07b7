// Scale-out: two `keelson serve` processes on one PostgreSQL database behind one WooCommerce
// webhook target (a round-robin balancer: sim::WooCommerceSim::SetWebhookTargets), publishing
// business events to one NATS JetStream stream. 5,000 orders arrive as a burst; node B is
// SIGKILLed halfway through; then every 10th order is cancelled.
//
// At the end: every order is in the Business Central simulator exactly once (and the cancelled
// ones cancelled there), node A took over B's leased jobs, the stream holds each business event
// exactly once by id — 5,000 order.accepted and 500 order.cancelled, nothing else — and for each
// cancelled order its order.accepted comes before its order.cancelled.
//
// Needs KEELSON_TEST_PG_DSN and KEELSON_TEST_NATS_URL (scripts/test-services.sh, run by
// `make test`); skipped without them.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/ids.h"
#include "sim/business_central.h"
#include "sim/woocommerce.h"
#include "tests/support/nats_stream.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"

namespace keelson {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::KeelsonProcess;
using testing::TempDir;

constexpr int kOrders = 5000;
constexpr int kKillAt = kOrders / 2;  // node B dies when this many orders have been created
constexpr int kCancelEvery = 10;
constexpr int kFeedThreads = 4;
constexpr auto kBound = seconds(300);

// Runs one SQL command on `conninfo`; "" on success, else the error.
std::string Exec(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  return error;
}

class MultiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dsn = std::getenv("KEELSON_TEST_PG_DSN");
    nats_url_ = keelson::testing::TestNatsUrl();
    if (dsn == nullptr || *dsn == '\0' || nats_url_.empty()) {
      GTEST_SKIP() << "needs KEELSON_TEST_PG_DSN and KEELSON_TEST_NATS_URL (make test starts "
                      "PostgreSQL and NATS)";
    }
    admin_dsn_ = dsn;
    const std::string tag = core::NewCorrelationId().substr(22);  // its random tail
    db_name_ = "keelson_mn_" + tag;
    ASSERT_EQ(Exec(admin_dsn_, "CREATE DATABASE " + db_name_), "");
    db_dsn_ = absl::StrCat(admin_dsn_, " dbname=", db_name_);  // the last dbname wins
    stream_ = "KMN_" + tag;
    KEELSON_ASSERT_OK(nats_.Connect(nats_url_));

    sim::BusinessCentralSim::Options bo;
    bo.requests_per_window = 1'000'000'000;  // the ERP is not this test's limit
    bo.max_concurrent = 32;
    bc_ = std::make_unique<sim::BusinessCentralSim>(bo);
    ASSERT_TRUE(bc_->Start().ok());
    bc_->AddItem("WID-BLUE", "Widget, blue", model::Money{1999, "EUR"});
    bc_->AddItem("WID-RED", "Widget, red", model::Money{2499, "EUR"});

    wo_.delivery_timeout = absl::Seconds(10);
    woo_ = std::make_unique<sim::WooCommerceSim>(wo_);
    ASSERT_TRUE(woo_->Start().ok());

    config_ = dir_.File("keelson.yaml");
    std::ofstream f(config_);
    f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: postgres, dsn: \"" << db_dsn_ << "\"}\n"
      << "stores:\n" << woo_->KeelsonStoreYaml() << bc_->KeelsonErpYaml()
      << "  limits: {requests_per_second: 5000, concurrency: 16, timeout_ms: 5000}\n"
      << "jobs: {workers: 8, lease_ms: 5000, poll_interval_ms: 50, backoff_base_ms: 100, "
         "backoff_cap_ms: 2000}\n"
      << "events:\n  nats: {url: \"" << nats_url_ << "\", stream: " << stream_
      << ", subject_prefix: kmn" << tag << "}\n"
      << "log: {level: warn, format: json}\n";
  }

  void TearDown() override {
    for (auto* p : {&a_, &b_}) {
      if (*p != nullptr) {
        (*p)->Signal(SIGKILL);
        (*p)->Wait();
      }
    }
    if (!stream_.empty()) nats_.DeleteStream(stream_);
    if (!db_name_.empty()) (void)Exec(admin_dsn_, "DROP DATABASE IF EXISTS " + db_name_);
  }

  std::unique_ptr<KeelsonProcess> Start(const std::string& name, uint16_t* port) {
    const std::string dir = dir_.File(name);
    std::filesystem::create_directories(dir);
    auto p = std::make_unique<KeelsonProcess>(config_, dir);
    *port = p->WaitReady(60000);
    return p;
  }

  static std::string Hook(uint16_t port) {
    return absl::StrCat("http://127.0.0.1:", port, "/v1/webhooks/woocommerce/main");
  }

  static sim::WooOrderSpec Spec(int i) {
    sim::WooOrderSpec spec;
    spec.email = absl::StrCat("buyer", i % 97, "@example.com");
    spec.lines = {{.sku = i % 2 == 0 ? "WID-BLUE" : "WID-RED",
                   .quantity = 1 + i % 3,
                   .price = i % 2 == 0 ? "19.99" : "24.99"}};
    return spec;
  }

  // ERP reference (upper case, as BC stores it) -> how many sales orders carry it.
  std::map<std::string, int> ErpCounts() const {
    std::map<std::string, int> out;
    for (auto& [ref, number] : bc_->SalesOrderReferences()) ++out[ref];
    return out;
  }

  // True when every line of the ERP order for `id` has quantity 0 (the adapter's cancel).
  bool CancelledInErp(int64_t id) const {
    auto order = bc_->SalesOrderJson(absl::StrCat("MAIN:", id));
    if (!order.has_value() || !order->contains("salesOrderLines")) return false;
    for (const auto& line : (*order)["salesOrderLines"]) {
      if (line.value("quantity", 0.0) != 0.0) return false;
    }
    return true;
  }

  TempDir dir_;
  std::string admin_dsn_, db_name_, db_dsn_, nats_url_, stream_, config_;
  keelson::testing::NatsTestClient nats_;
  sim::WooCommerceSim::Options wo_;
  std::unique_ptr<sim::BusinessCentralSim> bc_;
  std::unique_ptr<sim::WooCommerceSim> woo_;
  std::unique_ptr<KeelsonProcess> a_, b_;
};

TEST_F(MultiNodeTest, TwoNodesOnePostgresOneKilledEveryOrderOnceEveryEventOnceInOrder) {
  const Clock::time_point t0 = Clock::now();
  auto since = [t0] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  uint16_t port_a = 0, port_b = 0;
  a_ = Start("a", &port_a);
  ASSERT_NE(port_a, 0) << a_->Log();
  b_ = Start("b", &port_b);
  ASSERT_NE(port_b, 0) << b_->Log();
  woo_->SetWebhookTargets({Hook(port_a), Hook(port_b)});

  std::vector<int64_t> ids(kOrders, 0);
  std::atomic<int> next{0}, created{0}, create_errors{0};
  std::vector<std::thread> feeders;
  for (int t = 0; t < kFeedThreads; ++t) {
    feeders.emplace_back([&] {
      for (int i = next.fetch_add(1); i < kOrders; i = next.fetch_add(1)) {
        absl::StatusOr<int64_t> id = woo_->CreateOrder(Spec(i));
        if (id.ok()) {
          ids[i] = *id;
          ++created;
        } else {
          ++create_errors;
        }
      }
    });
  }
  while (created.load() + create_errors.load() < kKillAt) std::this_thread::sleep_for(milliseconds(5));
  b_->Signal(SIGKILL);
  b_->Wait();
  std::printf("multi-node: t=%.1f node B SIGKILLed after %d orders\n", since(), created.load());
  for (auto& t : feeders) t.join();
  ASSERT_EQ(create_errors.load(), 0);
  woo_->WaitForAsyncDeliveries();
  const double fed_at = since();

  auto wait_until = [&](const char* what, auto done) {
    const Clock::time_point end = Clock::now() + kBound;
    while (Clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(250));
    }
    ADD_FAILURE() << what << " not reached within " << kBound.count() << " s";
    return false;
  };
  // Every order in the ERP (B's leased jobs move to A once their lease runs out).
  ASSERT_TRUE(wait_until("every order in the ERP", [&] {
    return static_cast<int>(ErpCounts().size()) >= kOrders;
  }));
  const double in_erp_at = since();

  // Then every 10th order is cancelled in the shop.
  std::set<int64_t> cancelled;
  for (int i = 0; i < kOrders; i += kCancelEvery) {
    ASSERT_TRUE(woo_->UpdateOrderStatus(ids[i], "cancelled").ok());
    cancelled.insert(ids[i]);
  }
  woo_->WaitForAsyncDeliveries();
  ASSERT_TRUE(wait_until("every cancellation in the ERP", [&] {
    for (int64_t id : cancelled) {
      if (!CancelledInErp(id)) return false;
    }
    return true;
  }));

  // The stream: each event once by id, accepted before cancelled per order.
  const size_t expected_events = kOrders + cancelled.size();
  std::vector<keelson::testing::StreamMessage> msgs;
  ASSERT_TRUE(wait_until("every business event in the stream", [&] {
    auto read = nats_.ReadAll(stream_);
    if (!read.ok()) return false;
    msgs = std::move(read).value();
    return msgs.size() >= expected_events;
  }));
  const double done_at = since();
  std::this_thread::sleep_for(seconds(1));  // anything extra would show up now
  auto read = nats_.ReadAll(stream_);
  ASSERT_TRUE(read.ok()) << read.status();
  msgs = std::move(read).value();

  // The ERP: each order exactly once.
  const auto erp = ErpCounts();
  int missing = 0, duplicated = 0;
  for (int i = 0; i < kOrders; ++i) {
    auto it = erp.find(absl::StrCat("MAIN:", ids[i]));
    if (it == erp.end()) {
      ++missing;
    } else if (it->second != 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(static_cast<int>(erp.size()), kOrders);

  std::map<std::string, uint64_t> seq_of;  // event id -> stream sequence
  int repeats = 0, accepted = 0, cancels = 0, other = 0;
  for (const auto& m : msgs) {
    if (!seq_of.emplace(m.msg_id, m.seq).second) ++repeats;
    const auto doc = nlohmann::json::parse(m.data, nullptr, false);
    const std::string type = doc.is_object() ? doc.value("type", "") : "";
    if (type == "order.accepted") {
      ++accepted;
    } else if (type == "order.cancelled") {
      ++cancels;
    } else {
      ++other;
    }
  }
  EXPECT_EQ(repeats, 0);
  EXPECT_EQ(msgs.size(), expected_events);
  EXPECT_EQ(accepted, kOrders);
  EXPECT_EQ(cancels, static_cast<int>(cancelled.size()));
  EXPECT_EQ(other, 0);
  int out_of_order = 0, absent = 0;
  for (int i = 0; i < kOrders; ++i) {
    const std::string ref = absl::StrCat("main:", ids[i]);
    auto acc = seq_of.find("order.accepted:" + ref);
    if (acc == seq_of.end()) {
      ++absent;
      continue;
    }
    if (cancelled.count(ids[i]) == 0) continue;
    auto can = seq_of.find("order.cancelled:" + ref);
    if (can == seq_of.end()) {
      ++absent;
    } else if (can->second < acc->second) {
      ++out_of_order;
    }
  }
  EXPECT_EQ(absent, 0);
  EXPECT_EQ(out_of_order, 0);

  a_->Signal(SIGTERM);
  EXPECT_EQ(a_->Wait(), 0) << a_->Log();
  a_.reset();
  b_.reset();
  std::printf(
      "multi-node: %d orders fed in %.1f s (%.0f/s) over 2 nodes, B killed at %d; all in the ERP "
      "at %.1f s; %zu events in the stream at %.1f s\n",
      kOrders, fed_at, kOrders / fed_at, kKillAt, in_erp_at, msgs.size(), done_at);
}

}  // namespace
}  // namespace keelson
