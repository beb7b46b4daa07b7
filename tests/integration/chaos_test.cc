// Chaos: 5,000 orders through the real keelson binary between a WooCommerce simulator that
// duplicates and reorders its webhooks and a Business Central simulator that, in turn, answers
// 5xx bursts, commits creates and loses the answer, throttles with 429 storms, goes down for 60
// seconds (503 with Retry-After, then connections closed unanswered), resets connections and
// answers slowly; the shop's REST API fails in bursts too. Keelson is SIGKILLed and restarted
// three times at seeded random moments. 25 orders carry an SKU the ERP does not know (the
// injected business errors) and 50 are unpaid.
//
// At the end, once the ERP has gone quiet (bounded: at most 5 minutes after the last order):
// every paid order is in the ERP exactly once and the unknown-SKU and unpaid ones not at all;
// every created order has exactly one write-back note in the shop and `_keelson_erp_ref` equal
// to its ERP number; no job is left queued or running (the store, read after a clean stop); the
// dead letters are exactly the 25 business errors (reason `business`, kind order.erp_create);
// and the store-backed gauges agree (`keelson_dead_letters{reason="business"}` 25, nothing for
// another reason), as does the ERP's orders_created with the number of paid orders.
//
// KEELSON_CHAOS_SEED=N changes the seed (default 20261124).

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sim/business_central.h"
#include "sim/woocommerce.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace keelson {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::HttpClient;
using testing::KeelsonProcess;
using testing::TempDir;

// The resilience policy under test: a breaker that opens after 5 technical failures in a row,
// and lanes so the ERP's outage holds only the ERP's jobs.
constexpr char kBreakerKeys[] =
    ", breaker: {consecutive_failures: 5, open_ms: 1000, max_open_ms: 5000}";
constexpr char kLaneKeys[] = ", lanes: {erp: 4, woocommerce: 2, core: 4}";

constexpr int kOrders = 5000;
constexpr int kUnknownSkuOrders = 25;  // every 200th order, from the 100th
constexpr int kUnpaidOrders = 50;      // every 100th order, from the 50th
constexpr double kFeedSeconds = 100;   // orders arrive evenly over this time (50/s)
constexpr int kFeedThreads = 4;
constexpr int kKills = 3;
constexpr auto kQuietFor = seconds(25);  // > lease (15 s) + backoff cap (5 s)
constexpr auto kMaxAfterLastOrder = seconds(300);
constexpr char kNotePrefix[] = "Keelson: ERP sales order ";

enum class Kind { kPaid, kUnknownSku, kUnpaid };

Kind KindOf(int i) {
  if (i % 200 == 100) return Kind::kUnknownSku;
  if (i % 100 == 50) return Kind::kUnpaid;
  return Kind::kPaid;
}

uint64_t Seed() {
  const char* s = std::getenv("KEELSON_CHAOS_SEED");
  uint64_t v = 0;
  return s != nullptr && absl::SimpleAtoi(s, &v) ? v : 20261124;
}

// `name{labels}` -> value, from a Prometheus text exposition.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    double v = 0;
    if (sp == std::string::npos || !absl::SimpleAtod(line.substr(sp + 1), &v)) continue;
    out[line.substr(0, sp)] = v;
  }
  return out;
}

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rng_.seed(Seed());
    sim::BusinessCentralSim::Options bo;
    bo.requests_per_window = 1'000'000'000;  // throttling is the bench's subject; storms are here
    bo.max_concurrent = 16;
    bo.seed = Seed();
    bc_ = std::make_unique<sim::BusinessCentralSim>(bo);
    ASSERT_TRUE(bc_->Start().ok());
    bc_->AddItem("WID-BLUE", "Widget, blue", model::Money{1999, "EUR"});
    bc_->AddItem("WID-RED", "Widget, red", model::Money{2499, "EUR"});

    wo_.duplicate_probability = 0.2;
    wo_.reorder_probability = 0.2;
    wo_.seed = Seed();
    wo_.delivery_timeout = absl::Seconds(10);
    woo_ = std::make_unique<sim::WooCommerceSim>(wo_);
    ASSERT_TRUE(woo_->Start().ok());

    db_ = dir_.File("keelson.db");
    config_ = dir_.File("keelson.yaml");
    std::ofstream f(config_);
    f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: sqlite, path: \"" << db_ << "\"}\n"
      << "stores:\n" << woo_->KeelsonStoreYaml() << bc_->KeelsonErpYaml()
      // Paced far above the 50 orders/s fed in: faults are this test's subject, not BC's quota.
      << "  limits: {requests_per_second: 1000, concurrency: 5, timeout_ms: 3000" << kBreakerKeys
      << "}\n"
      << "order_to_cash: {backfill_interval_s: 2, backfill_overlap_s: 5, "
         "backfill_lookback_hours: 1}\n"
      << "jobs: {workers: 8, lease_ms: 15000, poll_interval_ms: 50, backoff_base_ms: 100, "
         "backoff_cap_ms: 5000"
      << kLaneKeys << "}\n"
      << "log: {level: warn, format: json}\n";
    f.close();
    std::printf("chaos: seed %llu\n", static_cast<unsigned long long>(Seed()));
    StartKeelson();
  }

  void StartKeelson() {
    proc_ = std::make_unique<KeelsonProcess>(config_, dir_.path());
    port_ = proc_->WaitReady();
    ASSERT_NE(port_, 0) << proc_->Log();
    woo_->SetWebhookTarget(
        absl::StrCat("http://127.0.0.1:", port_, "/v1/webhooks/woocommerce/main"));
    // WooCommerce disabled the webhooks after 7 failed deliveries while the hub was down; the
    // operator turns them back on (backfill has caught what was missed meanwhile).
    woo_->ReenableWebhooks();
  }

  void KillAndRestart() {
    proc_->Signal(SIGKILL);
    proc_->Wait();
    logs_ += proc_->Log();
    // Down for a while: deliveries in this window fail and WooCommerce never retries them.
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng_)));
    StartKeelson();
  }

  std::map<std::string, double> Metrics() {
    HttpClient client("127.0.0.1", port_);
    testing::HttpResult r = client.Get("/metrics");
    return r.status == 200 ? ParseMetrics(r.body) : std::map<std::string, double>{};
  }

  static sim::WooOrderSpec Spec(int i) {
    sim::WooOrderSpec spec;
    spec.email = absl::StrCat("buyer", i % 97, "@example.com");
    spec.lines = {{.sku = i % 2 == 0 ? "WID-BLUE" : "WID-RED",
                   .quantity = 1 + i % 3,
                   .price = i % 2 == 0 ? "19.99" : "24.99"}};
    switch (KindOf(i)) {
      case Kind::kUnknownSku:
        spec.lines.push_back(
            {.sku = absl::StrCat("GADGET-UNKNOWN-", i), .quantity = 1, .price = "5.00"});
        break;
      case Kind::kUnpaid:
        spec.status = "pending";
        break;
      case Kind::kPaid:
        break;
    }
    return spec;
  }

  static std::string Ref(int64_t id) { return absl::StrCat("main:", id); }

  // Upper-cased reference (as BC stores it) -> the ERP numbers of the orders carrying it.
  std::map<std::string, std::vector<std::string>> ErpOrders() const {
    std::map<std::string, std::vector<std::string>> out;
    for (auto& [ref, number] : bc_->SalesOrderReferences()) out[ref].push_back(number);
    return out;
  }
  static std::string ErpRef(int64_t id) { return absl::StrCat("MAIN:", id); }

  int KeelsonNotes(int64_t id) const {
    int n = 0;
    for (const sim::WooNote& note : woo_->Notes(id)) {
      if (absl::StartsWith(note.note, kNotePrefix)) ++n;
    }
    return n;
  }

  TempDir dir_;
  std::string config_, db_, logs_;
  sim::WooCommerceSim::Options wo_;
  std::unique_ptr<sim::BusinessCentralSim> bc_;
  std::unique_ptr<sim::WooCommerceSim> woo_;
  std::unique_ptr<KeelsonProcess> proc_;
  uint16_t port_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(ChaosTest, FiveThousandOrdersThroughFaultsAndKillsAreEachCreatedOnce) {
  const Clock::time_point t0 = Clock::now();
  auto since = [t0] { return std::chrono::duration<double>(Clock::now() - t0).count(); };

  // Three kill moments, at least 10 s apart, while orders arrive and faults are on.
  std::vector<double> kills;
  while (static_cast<int>(kills.size()) < kKills) {
    double t = std::uniform_real_distribution<double>(4, kFeedSeconds + 4)(rng_);
    if (std::all_of(kills.begin(), kills.end(), [t](double k) { return std::abs(k - t) >= 10; })) {
      kills.push_back(t);
    }
  }
  std::sort(kills.begin(), kills.end());

  // The feed: order i is created at t0 + i * kFeedSeconds / kOrders.
  std::vector<int64_t> ids(kOrders, 0);
  std::atomic<int> next{0};
  std::atomic<int> create_errors{0};
  std::vector<std::thread> feeders;
  struct Joiner {
    std::vector<std::thread>& threads;
    ~Joiner() {
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } joiner{feeders};
  for (int t = 0; t < kFeedThreads; ++t) {
    feeders.emplace_back([&] {
      for (int i = next.fetch_add(1); i < kOrders; i = next.fetch_add(1)) {
        std::this_thread::sleep_until(
            t0 + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(i * kFeedSeconds / kOrders)));
        absl::StatusOr<int64_t> id = woo_->CreateOrder(Spec(i));
        if (id.ok()) {
          ids[i] = *id;
        } else {
          ++create_errors;
        }
      }
    });
  }

  // The fault schedule (seconds since t0), run by this thread in 100 ms steps with the kills.
  struct Step {
    double at;
    std::string what;
    std::function<void()> apply;
  };
  using Mode = sim::BusinessCentralSim::OutageMode;
  int bursts_5xx = 0, woo_bursts = 0;
  std::vector<Step> steps;
  for (int k = 0; k < 10; ++k) {
    const int status = std::vector<int>{500, 502, 503, 504}[k % 4];
    steps.push_back({5.0 + k, absl::StrCat("5xx burst ", status), [this, status, &bursts_5xx] {
                       bc_->FailNextRequests(15, status);
                       ++bursts_5xx;
                     }});
    if (k % 2 == 0) {
      steps.push_back({5.5 + k, "shop REST 503 burst", [this, &woo_bursts] {
                         woo_->FailNextRestRequests(5, 503);
                         ++woo_bursts;
                       }});
    }
  }
  steps.push_back({15, "bursts over; drop after commit p=0.25", [this] {
                     // A burst is a stretch of time, not a number of requests: a breaker that
                     // holds requests back must not leave the rest of a count for later.
                     bc_->FailNextRequests(0, 503);
                     woo_->FailNextRestRequests(0, 503);
                     bc_->SetDropAfterCommitProbability(0.25);
                   }});
  steps.push_back({25, "429 storm 7 s", [this] {
                     bc_->SetDropAfterCommitProbability(0);
                     bc_->Throttle429For(absl::Seconds(7));
                   }});
  steps.push_back({32, "outage 503 (60 s outage begins)", [this] { bc_->SetOutage(true); }});
  steps.push_back(
      {62, "outage: connections closed", [this] { bc_->SetOutage(true, Mode::kClose); }});
  steps.push_back({92, "outage ends; resets p=0.15", [this] {
                     bc_->SetOutage(false);
                     bc_->SetResetProbability(0.15);
                   }});
  steps.push_back({100, "slow: 400 ms + up to 300 ms", [this] {
                     bc_->SetResetProbability(0);
                     bc_->SetLatency(absl::Milliseconds(400), absl::Milliseconds(300));
                   }});
  steps.push_back({108, "faults cleared", [this] { bc_->ClearFaults(); }});
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.at < b.at; });

  size_t step = 0, kill = 0;
  int kills_done = 0;
  while (step < steps.size() || kill < kills.size()) {
    const double now = since();
    while (step < steps.size() && steps[step].at <= now) {
      steps[step].apply();
      std::printf("chaos: t=%.1f %s\n", now, steps[step].what.c_str());
      ++step;
    }
    if (kill < kills.size() && kills[kill] <= now) {
      KillAndRestart();
      ASSERT_NE(port_, 0);
      ++kills_done;
      std::printf("chaos: t=%.1f SIGKILL %d, restarted on port %d\n", now, kills_done, port_);
      ++kill;
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(milliseconds(100));
  }
  for (auto& t : feeders) t.join();
  const double last_order_at = since();
  ASSERT_EQ(create_errors.load(), 0);
  woo_->FlushDeferred();

  // Wait until every paid order is in the ERP and written back, or the ERP has been quiet for
  // kQuietFor (nothing more will happen), bounded by kMaxAfterLastOrder.
  std::vector<int> pending;
  for (int i = 0; i < kOrders; ++i) {
    if (KindOf(i) == Kind::kPaid) pending.push_back(i);
  }
  const int paid = static_cast<int>(pending.size());
  int64_t last_requests = bc_->stats().requests;
  Clock::time_point quiet_since = Clock::now();
  const Clock::time_point wait_end = Clock::now() + kMaxAfterLastOrder;
  bool quiet = false;
  while (!pending.empty() && Clock::now() < wait_end) {
    const auto erp = ErpOrders();
    pending.erase(std::remove_if(pending.begin(), pending.end(),
                                 [&](int i) {
                                   return erp.count(ErpRef(ids[i])) > 0 &&
                                          woo_->Meta(ids[i], "_keelson_erp_ref").has_value();
                                 }),
                  pending.end());
    const int64_t requests = bc_->stats().requests;
    if (requests != last_requests) {
      last_requests = requests;
      quiet_since = Clock::now();
    } else if (Clock::now() - quiet_since > kQuietFor) {
      quiet = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
  woo_->WaitForAsyncDeliveries();
  // The hub settles: no delivery waiting in the intake journal for the store and no job queued
  // or running but the backfill's own polls, and so for longer than the backfill's interval
  // plus its overlap (2 + 5 s). Until then a poll still finds the orders the write-backs changed
  // and queues their ingest (each a no-op); one queued just before the stop below would be left
  // in the store.
  const bool settled = [&] {
    auto live = store::OpenSqliteStore({.path = db_});  // a reader beside the server, as the CLI
    if (!live.ok()) return false;
    auto busy = [&](store::JobState state) {
      auto all = (*live)->CountJobs({.state = state});
      auto polls = (*live)->CountJobs({.state = state, .kind = "woocommerce.backfill"});
      return !all.ok() || !polls.ok() || *all != *polls;
    };
    const Clock::time_point end = Clock::now() + seconds(45);
    Clock::time_point quiet_from = Clock::now();
    while (Clock::now() < end) {
      auto m = Metrics();
      if (m.empty() || m["keelson_intake_journal_unmoved"] != 0 ||
          busy(store::JobState::kQueued) || busy(store::JobState::kRunning)) {
        quiet_from = Clock::now();
      } else if (Clock::now() - quiet_from >= seconds(8)) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
    return false;
  }();
  const double drained_at = since();
  EXPECT_TRUE(pending.empty()) << pending.size() << " paid orders not created and written back "
                               << (quiet ? "when the ERP had gone quiet" : "within the bound");
  EXPECT_TRUE(settled) << "no 8 s without queued or running jobs (but backfill polls) in the "
                           "45 s after the orders went through";

  // Metrics from the live process: the store-backed gauges survive restarts.
  std::map<std::string, double> metrics = Metrics();
  std::string dead_gauges;
  for (const auto& [series, v] : metrics) {
    if (absl::StartsWith(series, "keelson_dead_letters{") ||
        absl::StartsWith(series, "keelson_jobs{")) {
      absl::StrAppend(&dead_gauges, series, "=", v, " ");
    }
  }
  EXPECT_EQ(metrics["keelson_dead_letters{reason=\"business\"}"], kUnknownSkuOrders) << dead_gauges;
  for (const char* reason : {"max_attempts", "deadline", "poison", "discarded"}) {
    EXPECT_EQ(metrics[absl::StrCat("keelson_dead_letters{reason=\"", reason, "\"}")], 0)
        << reason << ": " << dead_gauges;
  }
  EXPECT_EQ(metrics["keelson_jobs{state=\"dead\"}"], kUnknownSkuOrders) << dead_gauges;

  // A clean stop, then the store itself.
  proc_->Signal(SIGTERM);
  const int exit_code = proc_->Wait();
  logs_ += proc_->Log();
  EXPECT_EQ(exit_code, 0);

  // The ERP and the shop.
  int erp_orders = 0, missing = 0, duplicated = 0, notes = 0, bad_notes = 0, bad_meta = 0;
  int unknown_in_erp = 0, unpaid_in_erp = 0, stray_writebacks = 0;
  std::vector<std::string> examples;
  auto example = [&](std::string s) {
    if (examples.size() < 15) examples.push_back(std::move(s));
  };
  std::set<int64_t> unknown_ids;
  const auto erp = ErpOrders();
  for (int i = 0; i < kOrders; ++i) {
    const int64_t id = ids[i];
    auto it = erp.find(ErpRef(id));
    const int64_t n = it == erp.end() ? 0 : static_cast<int64_t>(it->second.size());
    const int kn = KeelsonNotes(id);
    const std::optional<std::string> meta = woo_->Meta(id, "_keelson_erp_ref");
    switch (KindOf(i)) {
      case Kind::kPaid: {
        erp_orders += static_cast<int>(n);
        notes += kn;
        if (n == 0) {
          ++missing;
          example(absl::StrCat(Ref(id), ": not in the ERP"));
          break;
        }
        if (n > 1) {
          ++duplicated;
          example(absl::StrCat(Ref(id), ": ", n, " ERP orders"));
        }
        const std::string& number = it->second.front();
        if (kn != 1) {
          ++bad_notes;
          example(absl::StrCat(Ref(id), ": ", kn, " write-back notes"));
        }
        if (meta != number) {
          ++bad_meta;
          example(absl::StrCat(Ref(id), ": _keelson_erp_ref '", meta.value_or("(none)"), "' for ",
                               number));
        }
        break;
      }
      case Kind::kUnknownSku:
        unknown_ids.insert(id);
        unknown_in_erp += static_cast<int>(n);
        stray_writebacks += kn + (meta.has_value() ? 1 : 0);
        break;
      case Kind::kUnpaid:
        unpaid_in_erp += static_cast<int>(n);
        stray_writebacks += kn + (meta.has_value() ? 1 : 0);
        break;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(erp_orders, paid);
  EXPECT_EQ(bc_->stats().orders_created, paid);
  EXPECT_EQ(unknown_in_erp, 0);
  EXPECT_EQ(unpaid_in_erp, 0);
  EXPECT_EQ(bad_notes, 0);
  EXPECT_EQ(notes, paid);
  EXPECT_EQ(bad_meta, 0);
  EXPECT_EQ(stray_writebacks, 0);
  EXPECT_TRUE(examples.empty()) << absl::StrJoin(examples, "\n");

  // The store: nothing queued or running; the dead letters are exactly the business errors.
  auto store = store::OpenSqliteStore({.path = db_});
  ASSERT_TRUE(store.ok()) << store.status();
  auto list = [&](store::JobState state) {
    std::vector<store::Job> out;
    int64_t after = 0;
    for (int page = 0; page < 1000; ++page) {
      auto jobs = (*store)->ListJobs({.state = state, .after_id = after, .limit = 500});
      EXPECT_TRUE(jobs.ok()) << jobs.status();
      if (!jobs.ok() || jobs->empty()) break;
      after = jobs->back().id;
      out.insert(out.end(), jobs->begin(), jobs->end());
    }
    return out;
  };
  std::map<std::string, int> left;  // "state kind" -> jobs
  for (store::JobState state : {store::JobState::kQueued, store::JobState::kRunning}) {
    for (const store::Job& j : list(state)) {
      if (j.kind == "woocommerce.backfill") continue;  // the scheduler's, re-enqueued forever
      ++left[absl::StrCat(std::string(store::JobStateName(state)), " ", j.kind)];
    }
  }
  std::string left_text;
  for (const auto& [k, n] : left) absl::StrAppend(&left_text, k, ": ", n, "; ");
  EXPECT_TRUE(left.empty()) << left_text;

  std::map<std::string, int> dead_by;  // "reason kind" -> jobs
  std::set<int64_t> dead_business_orders;
  std::vector<std::string> dead_examples;
  const std::vector<store::Job> dead = list(store::JobState::kDead);
  for (const store::Job& j : dead) {
    ++dead_by[absl::StrCat(j.dead_reason, " ", j.kind)];
    if (j.dead_reason == "business" && j.kind == "order.erp_create") {
      int64_t order = 0;
      if (absl::SimpleAtoi(j.partition_key.substr(j.partition_key.rfind(':') + 1), &order)) {
        dead_business_orders.insert(order);
      }
    } else if (dead_examples.size() < 5) {
      dead_examples.push_back(
          absl::StrCat(j.kind, " ", j.partition_key, " ", j.dead_reason, ": ", j.last_error));
    }
  }
  std::string dead_text;
  for (const auto& [k, n] : dead_by) absl::StrAppend(&dead_text, k, ": ", n, "; ");
  EXPECT_EQ(dead.size(), static_cast<size_t>(kUnknownSkuOrders)) << dead_text;
  EXPECT_EQ(dead_by[absl::StrCat("business ", "order.erp_create")], kUnknownSkuOrders)
      << dead_text << "\n"
      << absl::StrJoin(dead_examples, "\n");
  EXPECT_EQ(dead_business_orders, unknown_ids);

  // The summary.
  const sim::BusinessCentralSim::Stats bs = bc_->stats();
  const sim::WooSimStats ws = woo_->stats();
  std::printf(
      "CHAOS SUMMARY orders=%d paid=%d unknown_sku=%d unpaid=%d erp_orders=%d erp_created=%lld "
      "missing=%d duplicated=%d notes=%d bad_notes=%d bad_meta=%d dead_letters=%zu {%s} "
      "left={%s} kills=%d faults{5xx_bursts=%d answered_503=%lld outage_503=%lld "
      "outage_closed=%lld storm_429=%lld answered_429=%lld dropped_after_commit=%lld "
      "resets=%lld delayed=%lld shop_rest_503_bursts=%d} erp_requests=%lld "
      "webhooks{sent=%lld failed=%lld duplicates=%lld reordered=%lld} last_order_s=%.1f "
      "drained_s=%.1f quiet_stop=%s wall_s=%.1f\n",
      kOrders, paid, kUnknownSkuOrders, kUnpaidOrders, erp_orders,
      static_cast<long long>(bs.orders_created), missing, duplicated, notes, bad_notes, bad_meta,
      dead.size(), dead_text.c_str(), left_text.c_str(), kills_done, bursts_5xx,
      static_cast<long long>(bs.answered_503), static_cast<long long>(bs.outage_503),
      static_cast<long long>(bs.outage_closed), static_cast<long long>(bs.storm_429),
      static_cast<long long>(bs.answered_429), static_cast<long long>(bs.dropped),
      static_cast<long long>(bs.resets), static_cast<long long>(bs.delayed), woo_bursts,
      static_cast<long long>(bs.requests), static_cast<long long>(ws.webhooks_sent),
      static_cast<long long>(ws.webhooks_failed), static_cast<long long>(ws.duplicates_sent),
      static_cast<long long>(ws.reordered_sent), last_order_at, drained_at, quiet ? "yes" : "no",
      since());
  EXPECT_EQ(kills_done, kKills);
  // Each fault was met by real traffic, not skipped by a breaker that stayed open.
  EXPECT_GT(bs.dropped, 0) << "no create lost its answer";
  EXPECT_GT(bs.storm_429, 0) << "the 429 storm met no request";
  EXPECT_GT(bs.outage_503 + bs.outage_closed, 0) << "the outage met no request";
  EXPECT_GT(bs.resets, 0) << "no connection was reset";
  EXPECT_GT(bs.delayed, 0) << "no answer was slowed";
  if (HasFailure()) {
    // The hub's last warnings, for the report (the full logs are in the temp dir with
    // KEELSON_KEEP_TEST_DIRS=1).
    std::printf("chaos: keelson logs (last 4000 bytes):\n%s\n",
                logs_.substr(logs_.size() > 4000 ? logs_.size() - 4000 : 0).c_str());
  }
}

}  // namespace
}  // namespace keelson
