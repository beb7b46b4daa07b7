// Order-to-cash end to end: the real keelson binary between the WooCommerce simulator (signed
// webhooks, REST write-back, backfill) and an ERP simulator, on SQLite. Every case asserts what
// the ERP simulator holds: exactly one sales order per paid WooCommerce order.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "edi/transport/sftp_transport.h"
#include "sim/business_central.h"
#include "sim/edi_warehouse.h"
#include "sim/odoo.h"
#include "sim/shipbob.h"
#include "sim/woocommerce.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sftp_env.h"

namespace keelson {
namespace {

using testing::HttpClient;
using testing::KeelsonProcess;
using testing::TempDir;

// Polls `pred` every 20 ms until it holds or `timeout` passes (a failure guard, not a timing
// assertion).
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

constexpr auto kLong = std::chrono::seconds(60);

// The hub between the shop simulator and one ERP simulator (Business Central unless a derived
// fixture says otherwise). The Erp* helpers read the ERP simulator, whichever it is.
class E2eBase : public ::testing::Test {
 protected:
  virtual bool UseOdoo() const { return false; }

  void SetUp() override {
    if (UseOdoo()) {
      od_ = std::make_unique<sim::OdooSim>();
      ASSERT_TRUE(od_->Start().ok());
    } else {
      sim::BusinessCentralSim::Options bo;
      bo.requests_per_window = 1'000'000;  // throttling is the bench's subject, not this test's
      bc_ = std::make_unique<sim::BusinessCentralSim>(bo);
      ASSERT_TRUE(bc_->Start().ok());
    }
    AddErpItem("WID-BLUE", 1999);
    AddErpItem("WID-RED", 2499);

    sim::WooCommerceSim::Options wo;
    wo_options_ = wo;
    ConfigureWoo(wo_options_);
    woo_ = std::make_unique<sim::WooCommerceSim>(wo_options_);
    ASSERT_TRUE(woo_->Start().ok());

    config_ = dir_.File("keelson.yaml");
    std::ofstream f(config_);
    f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: sqlite, path: \"" << dir_.File("keelson.db") << "\"}\n"
      << "stores:\n" << woo_->KeelsonStoreYaml()
      << ErpConfig()
      << "order_to_cash: {backfill_interval_s: 1, backfill_overlap_s: 600, "
         "backfill_lookback_hours: 1}\n"
      << JobsConfig() << ExtraConfig()
      << "log: {level: warn, format: json}\n";
    f.close();
    StartKeelson();
  }

  virtual void ConfigureWoo(sim::WooCommerceSim::Options& o) { (void)o; }
  virtual std::string JobsConfig() const {
    return "jobs: {workers: 8, lease_ms: 3000, poll_interval_ms: 50, backoff_base_ms: 50, "
           "backoff_cap_ms: 500}\n";
  }
  // The simulator is not throttled here; Business Central's default pacing (20/s) would be.
  virtual std::string ExtraConfig() const { return ""; }
  virtual std::string ErpLimits() const {
    return "{requests_per_second: 100000, concurrency: 5, timeout_ms: 2000}";
  }

  std::string ErpConfig() const {
    if (od_) {
      return absl::StrCat("erp: {type: odoo, url: \"", od_->url(), "\", database: \"",
                          od_->options().database, "\", username: \"", od_->options().login,
                          "\", password: \"", od_->options().password,
                          "\", limits: {concurrency: 5, timeout_ms: 2000}}\n");
    }
    return absl::StrCat(bc_->KeelsonErpYaml(), "  limits: ", ErpLimits(), "\n");
  }
  void AddErpItem(const std::string& sku, int64_t price_minor) {
    if (od_) {
      od_->AddProduct(sku, "Item " + sku, price_minor / 100.0);
    } else {
      bc_->AddItem(sku, "Item " + sku, model::Money{price_minor, "EUR"});
    }
  }
  int64_t ErpOrders(const std::string& ref) const {
    return od_ ? od_->CountSaleOrders(ref) : bc_->CountSalesOrders(ref);
  }
  int64_t ErpLines(const std::string& ref) const {
    return od_ ? od_->SaleOrderLineCount(ref) : bc_->SalesOrderLineCount(ref);
  }
  void DropResponseAfterNextErpCreate() {
    if (od_) {
      od_->DropResponseAfterNextOrderCreate();
    } else {
      bc_->DropResponseAfterNextOrderCreate();
    }
  }
  int64_t ErpDropped() const {
    return od_ ? od_->stats().dropped_responses : bc_->stats().dropped;
  }

  void StartKeelson() {
    proc_ = std::make_unique<KeelsonProcess>(config_, dir_.path());
    port_ = proc_->WaitReady();
    ASSERT_NE(port_, 0) << proc_->Log();
    woo_->SetWebhookTarget(absl::StrCat("http://127.0.0.1:", port_, "/v1/webhooks/woocommerce/main"));
  }

  std::string Ref(int64_t id) { return absl::StrCat("main:", id); }

  // Every order in `ids` is in the ERP exactly once and carries its ERP number in the shop.
  bool AllCreatedOnceAndWrittenBack(const std::vector<int64_t>& ids) {
    for (int64_t id : ids) {
      if (ErpOrders(Ref(id)) != 1) return false;
      if (!woo_->Meta(id, "_keelson_erp_ref").has_value()) return false;
    }
    return true;
  }

  TempDir dir_;
  std::string config_;
  sim::WooCommerceSim::Options wo_options_;
  std::unique_ptr<sim::BusinessCentralSim> bc_;
  std::unique_ptr<sim::OdooSim> od_;
  std::unique_ptr<sim::WooCommerceSim> woo_;
  std::unique_ptr<KeelsonProcess> proc_;
  uint16_t port_ = 0;
};

// The cases every ERP must pass, run against each simulator.
class OrderToCashE2eTest : public E2eBase, public ::testing::WithParamInterface<std::string> {
 protected:
  bool UseOdoo() const override { return GetParam() == "Odoo"; }
};

class DuplicatingShopTest : public OrderToCashE2eTest {
  void ConfigureWoo(sim::WooCommerceSim::Options& o) override {
    o.duplicate_probability = 0.5;
    o.reorder_probability = 0.5;
    o.seed = 7;
  }
};

// Business Central only (the 2,000-order burst is the slow one).
class BcE2eTest : public E2eBase {};

TEST_P(DuplicatingShopTest, EachOrderDeliveredThreeTimesOutOfOrderIsOneErpOrder) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) {
    auto id = woo_->CreateOrder({});
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
    if (i % 2 == 0) {
      ASSERT_TRUE(woo_->UpdateOrderStatus(*id, "completed").ok());
    }
  }
  woo_->FlushDeferred();
  // Then every delivery the shop made, once more, newest first.
  std::vector<sim::WooDelivery> sent = woo_->Deliveries();
  HttpClient client("127.0.0.1", port_);
  for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
    if (it->topic == "ping") continue;
    auto r = client.Request("POST", "/v1/webhooks/woocommerce/main", it->headers, it->body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack(ids); }, kLong))
      << proc_->Log();
  woo_->WaitForAsyncDeliveries();  // the write-backs' own order.updated webhooks
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int64_t id : ids) {
    EXPECT_EQ(ErpOrders(Ref(id)), 1) << id;
    EXPECT_EQ(woo_->Notes(id).size() >= 1, true) << id;
  }
}

TEST_P(OrderToCashE2eTest, ErpTimeoutAfterCommitStillMakesOneOrder) {
  DropResponseAfterNextErpCreate();
  auto id = woo_->CreateOrder({});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack({*id}); }, kLong))
      << proc_->Log();
  EXPECT_EQ(ErpDropped(), 1);
  EXPECT_EQ(ErpOrders(Ref(*id)), 1);
}

TEST_P(OrderToCashE2eTest, UnknownSkuIsParkedThenReplayedOnce) {
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 1, .price = "19.99"},
                {.sku = "GADGET-NEW", .quantity = 2, .price = "5.00"}};
  auto id = woo_->CreateOrder(spec);
  ASSERT_TRUE(id.ok());
  HttpClient client("127.0.0.1", port_);
  int64_t dead_id = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = client.Get("/ops/dead-letters?kind=order.erp_create");
        if (r.status != 200) return false;
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (!j.is_object() || j["items"].empty()) return false;
        const auto& item = j["items"][0];
        if (item.value("last_error", "").find("unknown SKU 'GADGET-NEW'") == std::string::npos)
          return false;
        dead_id = item["id"].get<int64_t>();
        return true;
      },
      kLong))
      << proc_->Log();
  EXPECT_EQ(ErpOrders(Ref(*id)), 0);

  AddErpItem("GADGET-NEW", 500);
  auto r = client.Request("POST", absl::StrCat("/ops/dead-letters/", dead_id, "/replay"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack({*id}); }, kLong))
      << proc_->Log();
  EXPECT_EQ(ErpLines(Ref(*id)), 3);  // two items + shipping
}

TEST_P(OrderToCashE2eTest, MissedWebhookIsCaughtByBackfill) {
  auto id = woo_->CreateOrderSilently({});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack({*id}); }, kLong))
      << proc_->Log();
  EXPECT_EQ(ErpOrders(Ref(*id)), 1);
}

TEST_P(OrderToCashE2eTest, CancelledBeforeShipmentCancelsTheErpOrder) {
  auto id = woo_->CreateOrder({});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack({*id}); }, kLong));
  ASSERT_TRUE(woo_->UpdateOrderStatus(*id, "cancelled").ok());
  HttpClient client("127.0.0.1", port_);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = client.Get(absl::StrCat("/v1/orders/main/", *id));
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        return r.status == 200 && j["erp"]["state"] == "cancelled";
      },
      std::chrono::seconds(20)))
      << client.Get(absl::StrCat("/v1/orders/main/", *id)).body
      << client.Get("/ops/dead-letters").body << proc_->Log();
  EXPECT_EQ(ErpOrders(Ref(*id)), 1);
}

TEST_F(BcE2eTest, SigkillMidBurstOfTwoThousandOrdersLosesNoneAndDuplicatesNone) {
  constexpr int kOrders = 2000;
  auto burst = woo_->EmitBurstAsync(kOrders, 8);
  ASSERT_TRUE(WaitUntil([&] { return bc_->stats().orders_created >= 300; }, kLong))
      << proc_->Log();
  proc_->Signal(SIGKILL);
  proc_->Wait();
  // While Keelson is down the shop's deliveries fail (and WooCommerce never retries them).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  StartKeelson();
  sim::WooBurstResult result = burst.get();
  ASSERT_EQ(result.order_ids.size(), static_cast<size_t>(kOrders));
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int64_t id : result.order_ids) {
          if (bc_->CountSalesOrders(Ref(id)) != 1) return false;
        }
        return true;
      },
      std::chrono::seconds(180)))
      << proc_->Log();
  int64_t total = 0;
  for (int64_t id : result.order_ids) {
    const int64_t n = bc_->CountSalesOrders(Ref(id));
    EXPECT_EQ(n, 1) << "order " << id;
    total += n;
  }
  EXPECT_EQ(total, kOrders);
  EXPECT_EQ(bc_->stats().orders_created, kOrders);
}

// Resilience with the real binary: few attempts allowed, a breaker that opens fast.
class BcResilienceTest : public E2eBase {
 protected:
  std::string JobsConfig() const override {
    return "jobs: {workers: 4, lease_ms: 3000, poll_interval_ms: 50, max_attempts: 2, "
           "backoff_base_ms: 50, backoff_cap_ms: 200, lanes: {erp: 5, woocommerce: 2, core: 4}}\n";
  }
  std::string ErpLimits() const override {
    return "{requests_per_second: 100000, concurrency: 5, timeout_ms: 2000, "
           "breaker: {consecutive_failures: 3, open_ms: 300, max_open_ms: 600}}";
  }
  int64_t Metric(const std::string& series) {
    HttpClient client("127.0.0.1", port_);
    const std::string text = client.Get("/metrics").body;
    const size_t at = text.find(series + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + series.size() + 1));
  }
  std::vector<int64_t> CreateOrders(int n) {
    std::vector<int64_t> ids;
    for (int i = 0; i < n; ++i) {
      auto id = woo_->CreateOrder({});
      EXPECT_TRUE(id.ok()) << id.status();
      if (id.ok()) ids.push_back(*id);
    }
    return ids;
  }
  int64_t DeadLetters() {
    HttpClient client("127.0.0.1", port_);
    auto r = client.Get("/ops/dead-letters");
    return static_cast<int64_t>(nlohmann::json::parse(r.body)["items"].size());
  }
};

// An ERP outage far longer than max_attempts (2) would survive: the breaker opens, the jobs wait
// uncounted, and when the ERP is back every order is created exactly once, none dead.
TEST_F(BcResilienceTest, OutageOpensTheBreakerAndJobsWaitInsteadOfDying) {
  bc_->FailNextRequests(1'000'000, 503);
  std::vector<int64_t> ids = CreateOrders(20);
  ASSERT_TRUE(WaitUntil([&] { return Metric("keelson_connector_breaker_state{connector=\"erp\"}") == 2; },
                        kLong))
      << proc_->Log();
  // Several open/probe cycles pass: far more than 2 attempts' worth of time.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(bc_->stats().orders_created, 0);
  EXPECT_EQ(DeadLetters(), 0);
  // While open, requests are refused locally, not sent: the ERP saw only the failures that
  // opened the breaker and the probes.
  const int64_t seen_during_outage = bc_->stats().requests;
  EXPECT_LT(seen_during_outage, 60) << "the breaker did not hold the requests back";
  EXPECT_GT(Metric("keelson_jobs_not_attempted_total{lane=\"erp\"}"), 0);

  bc_->FailNextRequests(0, 503);
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack(ids); }, kLong))
      << proc_->Log();
  EXPECT_EQ(bc_->stats().orders_created, 20);
  EXPECT_EQ(DeadLetters(), 0);
  EXPECT_TRUE(WaitUntil(
      [&] { return Metric("keelson_connector_breaker_state{connector=\"erp\"}") == 0; }, kLong));
}

// A maintenance window: the operator pauses the ERP connector from the CLI (another process);
// orders are taken and held, nothing reaches the ERP, nothing fails; resuming from /ops sends
// each exactly once.
TEST_F(BcResilienceTest, PausedConnectorHoldsJobsUntilResumed) {
  auto paused = testing::RunKeelson(
      {"connector", "pause", "erp", "--reason", "BC upgrade", "--config", config_});
  ASSERT_EQ(paused.exit_code, 0) << paused.output;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the serve's 1 s cache
  std::vector<int64_t> ids = CreateOrders(15);
  HttpClient client("127.0.0.1", port_);
  // Every order was taken in and is waiting for the ERP.
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int64_t id : ids) {
          auto r = client.Get(absl::StrCat("/v1/orders/main/", id));
          if (r.status != 200) return false;
          auto j = nlohmann::json::parse(r.body, nullptr, false);
          if (!j.is_object() || !j.contains("erp") || j["erp"].value("state", "") != "pending") {
            return false;
          }
        }
        return true;
      },
      kLong))
      << proc_->Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(bc_->stats().orders_created, 0);
  EXPECT_EQ(DeadLetters(), 0);
  EXPECT_EQ(Metric("keelson_connector_paused{connector=\"erp\"}"), 1);
  auto health = nlohmann::json::parse(client.Get("/ops/connectors").body);
  ASSERT_EQ(health["items"][0]["connector"], "erp");
  EXPECT_EQ(health["items"][0]["paused"], true);
  EXPECT_EQ(health["items"][0]["paused_reason"], "BC upgrade");
  EXPECT_EQ(health["items"][0]["paused_by"], "cli");
  auto listed = testing::RunKeelson({"connector", "list", "--config", config_});
  EXPECT_NE(listed.output.find("erp\tpaused"), std::string::npos) << listed.output;

  auto resumed = client.Request("POST", "/ops/connectors/erp/resume");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  ASSERT_TRUE(WaitUntil([&] { return AllCreatedOnceAndWrittenBack(ids); }, kLong))
      << proc_->Log();
  EXPECT_EQ(bc_->stats().orders_created, 15);
  EXPECT_EQ(client.Request("POST", "/ops/connectors/sap/pause").status, 404);
}

// Sellable inventory end to end: stock truth from a WMS event, reservations by orders, ATS
// published to the shop's catalog, a drift corrected by reconciliation.
class InventoryE2eTest : public E2eBase {
 protected:
  void ConfigureWoo(sim::WooCommerceSim::Options& o) override { (void)o; }
  std::string ExtraConfig() const override {
    return "inventory: {channels: [{store: main, locations: [WH1, WH2]}], "
           "reconcile_interval_s: 3600}\n";
  }
  std::optional<int64_t> ShopStock(const std::string& sku) {
    auto s = woo_->StockBySku(sku);
    return s ? s->stock_quantity : std::nullopt;
  }
  bool ShopStockIs(const std::string& sku, int64_t want) {
    return WaitUntil([&] { return ShopStock(sku) == want; }, kLong);
  }
  int PostEvent(const std::string& id, const std::string& sku, const std::string& loc,
                int64_t on_hand, const std::string& at) {
    HttpClient client("127.0.0.1", port_);
    nlohmann::json body = {{"event_id", id}, {"sku", sku}, {"location", loc},
                           {"on_hand", on_hand}, {"occurred_at", at}};
    return client.Request("POST", "/v1/inventory/events", {{"Content-Type", "application/json"}},
                          body.dump())
        .status;
  }
};

TEST_F(InventoryE2eTest, StockIsReservedByOrdersPublishedAndReconciled) {
  ASSERT_TRUE(woo_->AddProduct({.sku = "WID-BLUE", .stock_quantity = 0}).ok());
  sim::WooProductSpec shirt;
  shirt.sku = "SHIRT";
  shirt.type = "variable";
  shirt.stock_quantity = 0;
  shirt.variations = {{.sku = "SHIRT-S", .manage_stock = false},  // the parent's stock
                      {.sku = "SHIRT-M", .stock_quantity = 0}};
  ASSERT_TRUE(woo_->AddProduct(shirt).ok());

  ASSERT_EQ(PostEvent("e1", "WID-BLUE", "WH1", 6, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("e2", "WID-BLUE", "WH2", 4, "2026-12-05T10:00:00Z"), 200);
  // The same event again with another value: counted once.
  ASSERT_EQ(PostEvent("e2", "WID-BLUE", "WH2", 40, "2026-12-05T10:00:01Z"), 200);
  // An older truth for WH1 arriving late changes nothing.
  ASSERT_EQ(PostEvent("e0", "WID-BLUE", "WH1", 1, "2026-12-05T09:00:00Z"), 200);
  ASSERT_EQ(PostEvent("e3", "SHIRT-S", "WH1", 7, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("e4", "SHIRT-M", "WH2", 3, "2026-12-05T10:00:00Z"), 200);
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 10)) << proc_->Log();
  ASSERT_TRUE(ShopStockIs("SHIRT-S", 7));  // written on the parent
  EXPECT_EQ(woo_->StockBySku("SHIRT")->stock_quantity, 7);
  ASSERT_TRUE(ShopStockIs("SHIRT-M", 3));

  // A paid order for 2 reserves them: the shop shows 8 before any warehouse moved.
  auto order = woo_->CreateOrder({});
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 8)) << proc_->Log();
  // Cancelled: back to 10.
  ASSERT_TRUE(woo_->UpdateOrderStatus(*order, "cancelled").ok());
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 10)) << proc_->Log();

  // Someone edits the stock in WordPress: a reconciliation (an operator asks for one now; the
  // schedule would in an hour) puts it back and reports it.
  ASSERT_TRUE(woo_->SetStockBySku("WID-BLUE", 99).ok());
  HttpClient client("127.0.0.1", port_);
  auto asked = client.Request("POST", "/ops/inventory/reconcile?store=main");
  ASSERT_EQ(asked.status, 202) << asked.body;
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 10)) << proc_->Log();
  nlohmann::json drift;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = client.Get("/ops/inventory/drift?store=main");
        if (r.status != 200) return false;
        drift = nlohmann::json::parse(r.body);
        return drift["run"]["drifted"] == 1;
      },
      kLong))
      << drift.dump();
  EXPECT_EQ(client.Request("POST", "/ops/inventory/reconcile?store=nope").status, 404);
  // The operator's request is on record (no key configured here: "anonymous").
  nlohmann::json audit = nlohmann::json::parse(client.Get("/ops/audit").body);
  ASSERT_EQ(audit["items"].size(), 1u) << audit.dump();
  EXPECT_EQ(audit["items"][0]["action"], "inventory.reconcile");
  EXPECT_EQ(audit["items"][0]["target"], "store:main");
  EXPECT_EQ(audit["items"][0]["actor"], "anonymous");
  ASSERT_EQ(drift["items"].size(), 1u) << drift.dump();
  EXPECT_EQ(drift["items"][0]["sku"], "WID-BLUE");
  EXPECT_EQ(drift["items"][0]["expected"], 10);
  EXPECT_EQ(drift["items"][0]["found"], 99);
  EXPECT_EQ(drift["items"][0]["corrected"], true);
  EXPECT_EQ(drift["run"]["corrected"], 1);
  auto view = client.Get("/v1/inventory/WID-BLUE");
  ASSERT_EQ(view.status, 200) << view.body;
  auto j = nlohmann::json::parse(view.body);
  EXPECT_EQ(j["on_hand"], 10) << view.body;
  EXPECT_EQ(j["reserved"], 0) << view.body;
  EXPECT_EQ(client.Get("/v1/inventory/NOPE").status, 404);
  auto bad = client.Request("POST", "/v1/inventory/events", {}, R"({"event_id":"x","sku":"A"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("location"), std::string::npos) << bad.body;
}

// Stock truth polled from the ERP: a change of an item's inventory in the Business Central
// simulator reaches the shop's catalog, and so does a posted one (which leaves the item's
// lastModifiedDateTime alone) through the periodic full scan.
class ErpStockE2eTest : public InventoryE2eTest {
 protected:
  std::string ExtraConfig() const override {
    return "inventory: {channels: [{store: main, locations: [WH1, WH2]}], "
           "erp_poll_interval_s: 1, erp_poll_overlap_s: 5, erp_full_scan_every: 2, "
           "erp_default_location: WH1}\n";
  }
};

TEST_F(ErpStockE2eTest, AStockChangeInBusinessCentralReachesTheShop) {
  ASSERT_TRUE(woo_->AddProduct({.sku = "WID-BLUE", .stock_quantity = 0}).ok());
  ASSERT_TRUE(woo_->AddProduct({.sku = "WID-RED", .stock_quantity = 3}).ok());
  ASSERT_TRUE(bc_->SetItemInventory("WID-BLUE", 12));
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 12)) << proc_->Log();
  ASSERT_TRUE(ShopStockIs("WID-RED", 0)) << proc_->Log();  // BC holds none of it

  // A posted shipment: only a full scan sees it.
  ASSERT_TRUE(bc_->SetItemInventory("WID-BLUE", 7.5,
                                    sim::BusinessCentralSim::InventoryChange::kPost));
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 7)) << proc_->Log();

  // WMS events for WH2 add to what the ERP reports for WH1.
  ASSERT_EQ(PostEvent("wh2-1", "WID-BLUE", "WH2", 2, "2026-12-05T10:00:00Z"), 200);
  ASSERT_TRUE(ShopStockIs("WID-BLUE", 9)) << proc_->Log();
  HttpClient client("127.0.0.1", port_);
  auto view = client.Get("/v1/inventory/WID-BLUE");
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(nlohmann::json::parse(view.body)["on_hand"], 9) << view.body;
}

INSTANTIATE_TEST_SUITE_P(Erp, OrderToCashE2eTest, ::testing::Values("BusinessCentral", "Odoo"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Erp, DuplicatingShopTest, ::testing::Values("BusinessCentral", "Odoo"),
                         [](const auto& info) { return info.param; });


// Fulfillment end to end through the real binary: the ERP accepts the order, Keelson routes it
// over two warehouses (WH1 first) and a backorder, and shipments reported by the warehouses'
// systems are applied once each, with the shipped units leaving the ledger.
class FulfillmentE2eTest : public InventoryE2eTest {
 protected:
  std::string ExtraConfig() const override {
    return "inventory: {channels: [{store: main, locations: [WH1, WH2]}], "
           "reconcile_interval_s: 3600}\n"
           "fulfillment:\n  nodes:\n"
           "    - {id: wh1, provider: erp, locations: [WH1], priority: 1}\n"
           "    - {id: wh2, provider: erp, locations: [WH2], priority: 2}\n";
  }
  nlohmann::json OrderPage(int64_t id) {
    HttpClient client("127.0.0.1", port_);
    auto r = client.Get(absl::StrCat("/ops/orders/main/", id));
    return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json();
  }
  std::string Segments(const nlohmann::json& page) {
    std::string out;
    if (!page.is_object()) return out;
    for (const auto& s : page["segments"]) {
      absl::StrAppend(&out, s["segment_id"].get<std::string>(), " ", s["kind"].get<std::string>(),
                      "@", s["node"].get<std::string>(), " ", s["state"].get<std::string>(), " [");
      for (const auto& l : s["lines"]) {
        absl::StrAppend(&out, l["sku"].get<std::string>(), " ", l["shipped"].get<int64_t>(), "/",
                        l["quantity"].get<int64_t>(), ";");
      }
      absl::StrAppend(&out, "] ");
    }
    return out;
  }
  int PostShipment(const nlohmann::json& body) {
    HttpClient client("127.0.0.1", port_);
    return client.Request("POST", "/v1/fulfillment/shipments",
                          {{"Content-Type", "application/json"}}, body.dump())
        .status;
  }
};

TEST_F(FulfillmentE2eTest, AnOrderSplitAcrossTwoWarehousesAndABackorderShipsInParts) {
  ASSERT_EQ(PostEvent("f1", "WID-BLUE", "WH1", 1, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("f2", "WID-BLUE", "WH2", 5, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("f3", "WID-RED", "WH1", 1, "2026-12-05T10:00:00Z"), 200);
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 3, .price = "19.99"},
                {.sku = "WID-RED", .quantity = 2, .price = "24.99"}};
  auto order = woo_->CreateOrder(spec);
  ASSERT_TRUE(order.ok());
  const std::string ref = absl::StrCat("main:", *order);
  // WH2 has all three blue widgets; WH1 the one red; the second red waits (no stock, no date).
  const std::string planned = absl::StrCat(ref, "/1 ship@wh1 released [WID-RED 0/1;] ", ref,
                                           "/2 ship@wh2 released [WID-BLUE 0/3;] ", ref,
                                           "/3 backorder@wh1 held [WID-RED 0/1;] ");
  ASSERT_TRUE(WaitUntil([&] { return Segments(OrderPage(*order)) == planned; }, kLong))
      << Segments(OrderPage(*order)) << proc_->Log();
  EXPECT_EQ(ErpOrders(ref), 1);

  auto ship = [&](std::string id, std::string segment, std::vector<std::pair<std::string, int>> l) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& [sku, q] : l) lines.push_back({{"sku", sku}, {"quantity", q}});
    return PostShipment({{"provider", "erp"}, {"shipment_id", id},
                         {"segment_id", absl::StrCat(ref, "/", segment)}, {"carrier", "DHL"},
                         {"tracking_number", "JD" + id}, {"shipped_at", "2026-12-05T12:00:00Z"},
                         {"lines", lines}});
  };
  ASSERT_EQ(ship("A", "2", {{"WID-BLUE", 2}}), 202);
  ASSERT_EQ(ship("B", "1", {{"WID-RED", 1}}), 202);
  ASSERT_EQ(ship("C", "2", {{"WID-BLUE", 1}}), 202);
  ASSERT_EQ(ship("C", "2", {{"WID-BLUE", 1}}), 202);  // the WMS sends it twice
  const std::string shipped = absl::StrCat(ref, "/1 ship@wh1 shipped [WID-RED 1/1;] ", ref,
                                           "/2 ship@wh2 shipped [WID-BLUE 3/3;] ", ref,
                                           "/3 backorder@wh1 held [WID-RED 0/1;] ");
  ASSERT_TRUE(WaitUntil([&] { return Segments(OrderPage(*order)) == shipped; }, kLong))
      << Segments(OrderPage(*order)) << proc_->Log();
  nlohmann::json page = OrderPage(*order);
  EXPECT_EQ(page["shipments"].size(), 3u);
  // The ledger: WH2 5 - 3 = 2 blue, WH1 1 - 1 = 0 red (the shop sees what is left to sell).
  HttpClient client("127.0.0.1", port_);
  auto blue = nlohmann::json::parse(client.Get("/v1/inventory/WID-BLUE").body);
  auto red = nlohmann::json::parse(client.Get("/v1/inventory/WID-RED").body);
  std::map<std::string, int64_t> on_hand;
  for (const auto& p : blue["locations"]) on_hand["blue@" + p["location"].get<std::string>()] = p["on_hand"];
  for (const auto& p : red["locations"]) on_hand["red@" + p["location"].get<std::string>()] = p["on_hand"];
  EXPECT_EQ(on_hand["blue@WH1"], 1);
  EXPECT_EQ(on_hand["blue@WH2"], 2);
  EXPECT_EQ(on_hand.count("red@WH1"), 1u);
  EXPECT_EQ(on_hand["red@WH1"], 0);
  EXPECT_EQ(PostShipment({{"provider", "erp"}, {"lines", nlohmann::json::array()}}), 400);
}


// The 3PL path: a segment released to ShipBob (its simulator) by reference id, shipped there in
// two parts, each announced by ShipBob's signed webhook and applied once.
class ShipBobE2eTest : public FulfillmentE2eTest {
 protected:
  void SetUp() override {
    sb_ = std::make_unique<sim::ShipBobSim>(sim::ShipBobSim::Options{});
    ASSERT_TRUE(sb_->Start().ok());
    FulfillmentE2eTest::SetUp();
    sb_->SetWebhookUrl(absl::StrCat("http://127.0.0.1:", port_, "/v1/webhooks/shipbob"));
  }
  std::string ExtraConfig() const override {
    return absl::StrCat(
        "inventory: {channels: [{store: main, locations: [WH1, SB]}], reconcile_interval_s: 3600}\n"
        "fulfillment:\n  nodes:\n"
        "    - {id: wh1, provider: erp, locations: [WH1], priority: 1}\n"
        "    - {id: shipbob, kind: 3pl, provider: shipbob, locations: [SB], priority: 2}\n"
        "  shipbob: {url: \"", sb_->base_url(), "\", token: \"", sb_->options().token,
        "\", channel_id: 100102, webhook_secret: \"", sb_->options().webhook_secret, "\"}\n");
  }
  std::unique_ptr<sim::ShipBobSim> sb_;
};

TEST_F(ShipBobE2eTest, ASegmentReleasedToShipBobShipsInTwoWebhooks) {
  ASSERT_EQ(PostEvent("s1", "WID-BLUE", "WH1", 1, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("s2", "WID-BLUE", "SB", 5, "2026-12-05T10:00:00Z"), 200);
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 3, .price = "19.99"}};
  auto order = woo_->CreateOrder(spec);
  ASSERT_TRUE(order.ok());
  const std::string ref = absl::StrCat("main:", *order);
  const std::string segment = ref + "/1";
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(*order)) ==
               absl::StrCat(segment, " ship@shipbob released [WID-BLUE 0/3;] ");
      },
      kLong))
      << Segments(OrderPage(*order)) << proc_->Log();
  EXPECT_EQ(sb_->CountOrders(segment), 1);

  auto first = sb_->ShipOrder({.reference_id = segment, .lines = {{"WID-BLUE", 2}}});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->webhook_status, 200);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(*order)) ==
               absl::StrCat(segment, " ship@shipbob partially_shipped [WID-BLUE 2/3;] ");
      },
      kLong))
      << Segments(OrderPage(*order)) << proc_->Log();
  auto second = sb_->ShipOrder({.reference_id = segment});  // the rest
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(sb_->RedeliverWebhook(second->webhook_id).ok());  // ShipBob retries now and then
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(*order)) ==
               absl::StrCat(segment, " ship@shipbob shipped [WID-BLUE 3/3;] ");
      },
      kLong))
      << Segments(OrderPage(*order)) << proc_->Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  nlohmann::json page = OrderPage(*order);
  ASSERT_EQ(page["shipments"].size(), 2u) << page.dump();
  EXPECT_EQ(page["shipments"][0]["provider"], "shipbob");
  EXPECT_EQ(page["shipments"][0]["carrier"], "USPS");
  EXPECT_EQ(sb_->stats().orders_created, 1);
  HttpClient client("127.0.0.1", port_);
  auto blue = nlohmann::json::parse(client.Get("/v1/inventory/WID-BLUE").body);
  for (const auto& p : blue["locations"]) {
    if (p["location"] == "SB") {
      EXPECT_EQ(p["on_hand"], 2);
    }
    if (p["location"] == "WH1") {
      EXPECT_EQ(p["on_hand"], 1);
    }
  }
  // A forged webhook is refused.
  auto forged = client.Request("POST", "/v1/webhooks/shipbob",
                               {{"Content-Type", "application/json"},
                                {"webhook-id", "msg_x"},
                                {"webhook-timestamp", "1767225600"},
                                {"webhook-signature", "v1,AAAA"}},
                               "{}");
  EXPECT_EQ(forged.status, 401);
}

// The EDI path through the real binary: the order is routed to a 3PL that trades X12 over SFTP
// (the real sshd; skipped without it), released as a 940, answered by the EDI warehouse
// simulator's 997 and 945, and the shipment applied; the other line ships from the own warehouse.
class EdiE2eTest : public FulfillmentE2eTest {
 protected:
  void SetUp() override {
    auto env = testing::GetSftpEnv();
    if (!env) GTEST_SKIP() << testing::SftpSkipReason();
    env_ = *env;
    root_ = absl::StrCat(env_.root, "/binary-e2e-", getpid());
    auto t = edi::NewSftpTransport(env_.options);
    ASSERT_TRUE(t.ok()) << t.status();
    sim_transport_ = std::move(*t);
    sim::EdiWarehouseSim::Options o;
    o.inbound_folder = root_ + "/to_acme";
    o.done_folder = root_ + "/to_acme/done";
    o.outbound_folder = root_ + "/from_acme";
    o.poll_interval = absl::Milliseconds(100);
    warehouse_ = std::make_unique<sim::EdiWarehouseSim>(sim_transport_.get(), o);
    warehouse_->Start();
    FulfillmentE2eTest::SetUp();
  }
  void TearDown() override {
    if (warehouse_) warehouse_->Stop();
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }
  std::string ExtraConfig() const override {
    const edi::SftpOptions& s = env_.options;
    return absl::StrCat(
        "inventory: {channels: [{store: main, locations: [ACME, WH1]}], "
        "reconcile_interval_s: 3600}\n"
        "fulfillment:\n  nodes:\n"
        "    - {id: acme, kind: 3pl, provider: \"edi:acme\", locations: [ACME], priority: 1}\n"
        "    - {id: wh1, provider: erp, locations: [WH1], priority: 2}\n"
        "  edi:\n    partners:\n"
        "      - id: acme\n"
        "        isa: {sender_id: KEELSON, receiver_id: ACME3PL}\n"
        "        sftp: {host: \"", s.host, "\", port: ", s.port, ", user: \"", s.user,
        "\", key_file: \"", s.key_file, "\", host_key_sha256: \"", s.host_key_sha256,
        "\"}\n"
        "        folders: {outbound: \"", root_, "/to_acme\", inbound: \"", root_,
        "/from_acme\", archive: \"", root_, "/from_acme/archive\", error: \"", root_,
        "/from_acme/error\"}\n"
        "        poll_interval_ms: 1000\n"
        "        settle_ms: 0\n"
        "        batch_window_ms: 100\n");
  }
  testing::SftpEnv env_;
  std::string root_;
  std::unique_ptr<edi::FileTransport> sim_transport_;
  std::unique_ptr<sim::EdiWarehouseSim> warehouse_;
};

TEST_F(EdiE2eTest, ASegmentReleasedAsA940OverSftpShipsFromThe945) {
  ASSERT_EQ(PostEvent("e1", "WID-BLUE", "ACME", 5, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("e2", "WID-RED", "WH1", 2, "2026-12-05T10:00:00Z"), 200);
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 3, .price = "19.99"},
                {.sku = "WID-RED", .quantity = 1, .price = "24.99"}};
  auto order = woo_->CreateOrder(spec);
  ASSERT_TRUE(order.ok());
  const std::string ref = absl::StrCat("main:", *order);
  const std::string shipped = absl::StrCat(ref, "/1 ship@acme shipped [WID-BLUE 3/3;] ", ref,
                                           "/2 ship@wh1 released [WID-RED 0/1;] ");
  ASSERT_TRUE(WaitUntil([&] { return Segments(OrderPage(*order)) == shipped; }, kLong))
      << Segments(OrderPage(*order)) << proc_->Log();
  EXPECT_EQ(ErpOrders(ref), 1);
  const auto orders = warehouse_->orders();
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].order_id, ref + "/1");
  ASSERT_EQ(orders[0].lines.size(), 1u);
  EXPECT_EQ(orders[0].lines[0].sku, "WID-BLUE");
  EXPECT_EQ(orders[0].lines[0].quantity, 3);
  // Keelson answers the 945 with its 997.
  ASSERT_TRUE(WaitUntil([&] { return warehouse_->stats().acks_received == 1; }, kLong))
      << proc_->Log();
  nlohmann::json page = OrderPage(*order);
  ASSERT_EQ(page["shipments"].size(), 1u) << page.dump();
  EXPECT_EQ(page["shipments"][0]["provider"], "edi:acme");
  EXPECT_EQ(page["shipments"][0]["carrier"], "UPSN");
  std::set<std::string> kinds;
  for (const auto& e : page["timeline"]) kinds.insert(e.value("kind", ""));
  EXPECT_TRUE(kinds.count("edi.940_sent") && kinds.count("edi.940_accepted")) << page.dump();
  HttpClient client("127.0.0.1", port_);
  auto blue = nlohmann::json::parse(client.Get("/v1/inventory/WID-BLUE").body);
  for (const auto& p : blue["locations"]) {
    if (p["location"] == "ACME") {
      EXPECT_EQ(p["on_hand"], 2);
    }
  }
  // The files, as operators see them: the warehouse's 997 and 945, both applied.
  auto files = client.Get("/ops/edi/files?partner=acme&direction=in");
  ASSERT_EQ(files.status, 200) << files.body;
  auto items = nlohmann::json::parse(files.body)["items"];
  ASSERT_EQ(items.size(), 2u) << files.body;
  std::set<std::string> types;
  for (const auto& f : items) {
    EXPECT_EQ(f["state"], "processed") << f.dump();
    for (const auto& [type, n] : f["detail"]["by_type"].items()) types.insert(type);
  }
  EXPECT_EQ(types, (std::set<std::string>{"945", "997"}));
  EXPECT_EQ(client.Get("/ops/edi/files?partner=nope").status, 404);
}

// What reaches the ERP and the shop, end to end (issue 6's "done means"): a three-line order
// split over two warehouses and a backorder, shipped in three parts, the backorder released when
// stock arrives. Afterwards Keelson, Business Central and the shop agree on every unit.
class ShipmentPostingE2eTest : public FulfillmentE2eTest {
 protected:
  std::vector<sim::WooNote> CustomerNotes(int64_t id) {
    std::vector<sim::WooNote> out;
    for (const auto& n : woo_->Notes(id)) {
      if (n.customer_note) out.push_back(n);
    }
    return out;
  }
  std::string ShopStatus(int64_t id) {
    auto o = woo_->GetOrder(id);
    return o ? (*o)["status"].get<std::string>() : "";
  }
  // "line_type number shipped/quantity;" for every line of the BC order.
  std::string BcLines(const std::string& ref) {
    std::string out;
    for (const auto& l : bc_->ShippedLines(ref)) {
      absl::StrAppend(&out, l.line_type, " ", l.number, " ", l.shipped, "/", l.quantity, ";");
    }
    return out;
  }
  // erp_state/shop_state of each shipment, in arrival order.
  std::string ShipmentStates(int64_t id) {
    std::string out;
    nlohmann::json page = OrderPage(id);
    if (!page.is_object()) return out;
    for (const auto& sh : page["shipments"]) {
      absl::StrAppend(&out, sh["shipment_id"].get<std::string>(), ":",
                      sh["erp_state"].get<std::string>(), "/", sh["shop_state"].get<std::string>(),
                      " ");
    }
    return out;
  }
  int Ship(const std::string& ref, const std::string& id, int segment,
           std::vector<std::pair<std::string, int>> lines) {
    nlohmann::json l = nlohmann::json::array();
    for (const auto& [sku, q] : lines) l.push_back({{"sku", sku}, {"quantity", q}});
    return PostShipment({{"provider", "erp"},
                         {"shipment_id", id},
                         {"segment_id", absl::StrCat(ref, "/", segment)},
                         {"carrier", "DHL"},
                         {"tracking_number", "JD" + id},
                         {"tracking_url", "https://track.example/JD" + id},
                         {"shipped_at", "2026-12-05T12:00:00Z"},
                         {"lines", l}});
  }
  std::map<std::string, int64_t> Ledger(const std::vector<std::string>& skus) {
    HttpClient client("127.0.0.1", port_);
    std::map<std::string, int64_t> out;
    for (const auto& sku : skus) {
      auto j = nlohmann::json::parse(client.Get("/v1/inventory/" + sku).body);
      for (const auto& p : j["locations"]) {
        out[sku + "@" + p["location"].get<std::string>()] = p["on_hand"];
        out[sku + "@" + p["location"].get<std::string>() + " reserved"] = p["reserved"];
      }
    }
    return out;
  }
};

TEST_F(ShipmentPostingE2eTest, ThreePartialShipmentsEndExactInKeelsonBusinessCentralAndTheShop) {
  AddErpItem("WID-GREEN", 999);
  ASSERT_EQ(PostEvent("p1", "WID-BLUE", "WH1", 1, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("p2", "WID-BLUE", "WH2", 5, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("p3", "WID-RED", "WH1", 1, "2026-12-05T10:00:00Z"), 200);
  ASSERT_EQ(PostEvent("p4", "WID-GREEN", "WH2", 2, "2026-12-05T10:00:00Z"), 200);
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 3, .price = "19.99"},
                {.sku = "WID-RED", .quantity = 2, .price = "24.99"},
                {.sku = "WID-GREEN", .quantity = 2, .price = "9.99"}};
  auto order = woo_->CreateOrder(spec);
  ASSERT_TRUE(order.ok());
  const int64_t id = *order;
  const std::string ref = absl::StrCat("main:", id);
  // WH2 has every blue and green widget; WH1 one red; the second red waits.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(id)) ==
               absl::StrCat(ref, "/1 ship@wh1 released [WID-RED 0/1;] ", ref,
                            "/2 ship@wh2 released [WID-BLUE 0/3;WID-GREEN 0/2;] ", ref,
                            "/3 backorder@wh1 held [WID-RED 0/1;] ");
      },
      kLong))
      << Segments(OrderPage(id)) << proc_->Log();

  // 1. WH2 ships its segment.
  ASSERT_EQ(Ship(ref, "A", 2, {{"WID-BLUE", 3}, {"WID-GREEN", 2}}), 202);
  ASSERT_TRUE(WaitUntil([&] { return ShipmentStates(id) == "A:posted/written "; }, kLong))
      << ShipmentStates(id) << proc_->Log();
  EXPECT_EQ(BcLines(ref),
            "Item WID-BLUE 3/3;Item WID-RED 0/2;Item WID-GREEN 2/2;Account 6610 1/1;");
  EXPECT_EQ(ShopStatus(id), "processing");
  EXPECT_EQ(woo_->Meta(id, "_keelson_fulfillment_status"), "partially_shipped");
  ASSERT_EQ(CustomerNotes(id).size(), 1u);
  EXPECT_EQ(
      CustomerNotes(id)[0].note,
      "Part of your order has shipped: 3 x Product WID-BLUE (WID-BLUE), 2 x Product WID-GREEN "
      "(WID-GREEN). Carrier: DHL. Tracking number: JDA. Track it: https://track.example/JDA");

  // 2. WH1 ships its red widget.
  ASSERT_EQ(Ship(ref, "B", 1, {{"WID-RED", 1}}), 202);
  ASSERT_TRUE(
      WaitUntil([&] { return ShipmentStates(id) == "A:posted/written B:posted/written "; }, kLong))
      << ShipmentStates(id) << proc_->Log();
  EXPECT_EQ(BcLines(ref),
            "Item WID-BLUE 3/3;Item WID-RED 1/2;Item WID-GREEN 2/2;Account 6610 1/1;");
  EXPECT_EQ(ShopStatus(id), "processing");

  // 3. Red widgets arrive at WH1: the backorder is released there, and ships.
  ASSERT_EQ(PostEvent("p5", "WID-RED", "WH1", 4, "2026-12-06T09:00:00Z"), 200);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(id)) ==
               absl::StrCat(ref, "/1 ship@wh1 shipped [WID-RED 1/1;] ", ref,
                            "/2 ship@wh2 shipped [WID-BLUE 3/3;WID-GREEN 2/2;] ", ref,
                            "/3 ship@wh1 released [WID-RED 0/1;] ");
      },
      kLong))
      << Segments(OrderPage(id)) << proc_->Log();
  EXPECT_EQ(Ledger({"WID-RED"})["WID-RED@WH1 reserved"], 1);  // held for this order now
  ASSERT_EQ(Ship(ref, "C", 3, {{"WID-RED", 1}}), 202);
  ASSERT_TRUE(WaitUntil(
      [&] { return ShipmentStates(id) == "A:posted/written B:posted/written C:posted/written "; },
      kLong))
      << ShipmentStates(id) << proc_->Log();

  // Keelson: every unit shipped once.
  EXPECT_EQ(Segments(OrderPage(id)),
            absl::StrCat(ref, "/1 ship@wh1 shipped [WID-RED 1/1;] ", ref,
                         "/2 ship@wh2 shipped [WID-BLUE 3/3;WID-GREEN 2/2;] ", ref,
                         "/3 ship@wh1 shipped [WID-RED 1/1;] "));
  // Business Central: each line shipped in full, three posted shipments; the order, completely
  // shipped and invoiced, deleted by posting as BC does.
  EXPECT_EQ(BcLines(ref),
            "Item WID-BLUE 3/3;Item WID-RED 2/2;Item WID-GREEN 2/2;Account 6610 1/1;");
  EXPECT_EQ(bc_->PostedShipmentCount(ref), 3);
  EXPECT_TRUE(bc_->SalesOrderDeleted(ref));
  // The shop: completed after the last, three customer notes with tracking.
  ASSERT_TRUE(WaitUntil([&] { return ShopStatus(id) == "completed"; }, kLong)) << proc_->Log();
  EXPECT_EQ(woo_->Meta(id, "_keelson_fulfillment_status"), "shipped");
  auto notes = CustomerNotes(id);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[0].note.find("Tracking number: JDA."), std::string::npos) << notes[0].note;
  EXPECT_EQ(notes[1].note,
            "Part of your order has shipped: 1 x Product WID-RED (WID-RED). Carrier: DHL. Tracking "
            "number: JDB. Track it: https://track.example/JDB");
  EXPECT_EQ(notes[2].note,
            "The rest of your order has shipped: 1 x Product WID-RED (WID-RED). Carrier: DHL. "
            "Tracking number: JDC. Track it: https://track.example/JDC");
  auto tracking = nlohmann::json::parse(*woo_->Meta(id, "_keelson_tracking"));
  ASSERT_EQ(tracking.size(), 3u);
  EXPECT_EQ(tracking[2]["tracking_number"], "JDC");
  // The ledger: what left each shelf, nothing held any more — also after the shop's own
  // order.updated (completed) came back through the webhook.
  woo_->WaitForAsyncDeliveries();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto ledger = Ledger({"WID-BLUE", "WID-RED", "WID-GREEN"});
  EXPECT_EQ(ledger["WID-BLUE@WH1"], 1);
  EXPECT_EQ(ledger["WID-BLUE@WH2"], 2);
  EXPECT_EQ(ledger["WID-RED@WH1"], 3);
  EXPECT_EQ(ledger["WID-GREEN@WH2"], 0);
  for (const auto& [k, v] : ledger) {
    if (absl::EndsWith(k, " reserved")) {
      EXPECT_EQ(v, 0) << k;
    }
  }
}

// A shipAndInvoice whose answer is lost is retried by reading what BC holds: nothing is posted
// twice — neither while the order is open (shippedQuantity) nor after the last posting deleted
// it (its posted sales shipments).
TEST_F(ShipmentPostingE2eTest, ARetriedBusinessCentralPostAfterALostAnswerDoesNotShipTwice) {
  ASSERT_EQ(PostEvent("l1", "WID-BLUE", "WH1", 5, "2026-12-05T10:00:00Z"), 200);
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 3, .price = "19.99"}};
  auto order = woo_->CreateOrder(spec);
  ASSERT_TRUE(order.ok());
  const int64_t id = *order;
  const std::string ref = absl::StrCat("main:", id);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(id)) ==
               absl::StrCat(ref, "/1 ship@wh1 released [WID-BLUE 0/3;] ");
      },
      kLong))
      << Segments(OrderPage(id)) << proc_->Log();

  bc_->DropResponseAfterNextShipAndInvoice();
  ASSERT_EQ(Ship(ref, "A", 1, {{"WID-BLUE", 1}}), 202);
  ASSERT_TRUE(WaitUntil([&] { return ShipmentStates(id) == "A:posted/written "; }, kLong))
      << ShipmentStates(id) << proc_->Log();
  EXPECT_EQ(BcLines(ref), "Item WID-BLUE 1/3;Account 6610 1/1;");
  EXPECT_EQ(bc_->PostedShipmentCount(ref), 1);

  bc_->DropResponseAfterNextShipAndInvoice();
  ASSERT_EQ(Ship(ref, "B", 1, {{"WID-BLUE", 2}}), 202);
  ASSERT_TRUE(
      WaitUntil([&] { return ShipmentStates(id) == "A:posted/written B:posted/written "; }, kLong))
      << ShipmentStates(id) << proc_->Log();
  EXPECT_EQ(BcLines(ref), "Item WID-BLUE 3/3;Account 6610 1/1;");
  EXPECT_EQ(bc_->PostedShipmentCount(ref), 2);
  EXPECT_TRUE(bc_->SalesOrderDeleted(ref));
  EXPECT_EQ(bc_->stats().shipments_posted, 2);
  EXPECT_EQ(bc_->stats().dropped, 2);
  // Both retries found their shipment posted already.
  int already = 0;
  const nlohmann::json page = OrderPage(id);
  for (const auto& e : page["timeline"]) {
    if (e["kind"] == "erp.shipment_posted" && e["detail"]["already_posted"] == true) ++already;
  }
  EXPECT_EQ(already, 2);
}

// The same path with Odoo: deliveries are validated pickings; a partial shipment leaves a
// backorder picking, the final one validates it.
class OdooShipmentPostingE2eTest : public ShipmentPostingE2eTest {
 protected:
  bool UseOdoo() const override { return true; }
};

TEST_F(OdooShipmentPostingE2eTest, APartialAndAFinalShipmentAreTwoValidatedPickings) {
  ASSERT_EQ(PostEvent("o1", "WID-BLUE", "WH1", 5, "2026-12-05T10:00:00Z"), 200);
  sim::WooOrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 3, .price = "19.99"}};
  auto order = woo_->CreateOrder(spec);
  ASSERT_TRUE(order.ok());
  const int64_t id = *order;
  const std::string ref = absl::StrCat("main:", id);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Segments(OrderPage(id)) ==
               absl::StrCat(ref, "/1 ship@wh1 released [WID-BLUE 0/3;] ");
      },
      kLong))
      << Segments(OrderPage(id)) << proc_->Log();

  ASSERT_EQ(Ship(ref, "A", 1, {{"WID-BLUE", 2}}), 202);
  ASSERT_TRUE(WaitUntil([&] { return ShipmentStates(id) == "A:posted/written "; }, kLong))
      << ShipmentStates(id) << proc_->Log();
  EXPECT_EQ(od_->QtyDelivered(ref, "WID-BLUE"), 2);
  auto pickings = od_->Pickings(ref);
  ASSERT_EQ(pickings.size(), 2u) << pickings.dump();
  EXPECT_EQ(pickings[0]["state"], "done");
  EXPECT_EQ(pickings[1]["state"], "assigned");
  EXPECT_EQ(pickings[1]["backorder_id"], pickings[0]["id"]);
  EXPECT_EQ(ShopStatus(id), "processing");

  ASSERT_EQ(Ship(ref, "B", 1, {{"WID-BLUE", 1}}), 202);
  ASSERT_TRUE(
      WaitUntil([&] { return ShipmentStates(id) == "A:posted/written B:posted/written "; }, kLong))
      << ShipmentStates(id) << proc_->Log();
  EXPECT_EQ(od_->QtyDelivered(ref, "WID-BLUE"), 3);
  pickings = od_->Pickings(ref);
  ASSERT_EQ(pickings.size(), 2u) << pickings.dump();
  EXPECT_EQ(pickings[0]["state"], "done");
  EXPECT_EQ(pickings[1]["state"], "done");
  EXPECT_EQ(od_->CallCount("stock.picking", "button_validate"), 2);
  ASSERT_TRUE(WaitUntil([&] { return ShopStatus(id) == "completed"; }, kLong)) << proc_->Log();
  EXPECT_EQ(CustomerNotes(id).size(), 2u);
  EXPECT_EQ(woo_->Meta(id, "_keelson_fulfillment_status"), "shipped");
}

}  // namespace
}  // namespace keelson
