// The inventory flow on a real SQLite store (:memory:) and the real job runner, with a fake
// StockSink; time from a FakeClock (no sleeps).

#include "flows/inventory.h"

#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "api/inventory.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "obs/metrics.h"
#include "store/group_commit.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::flows {
namespace {

using model::InventoryPosition;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// A shop's stock as a map; per-SKU failures to inject; every Publish call recorded.
class FakeSink final : public StockSink {
 public:
  std::vector<SinkOutcome> Publish(std::string_view store,
                                   std::span<const StockTarget> levels) override {
    calls.emplace_back(std::string(store), std::vector<StockTarget>(levels.begin(), levels.end()));
    std::vector<SinkOutcome> out;
    for (const StockTarget& t : levels) {
      auto f = fail.find(t.sku);
      if (f != fail.end()) {
        out.push_back({t.sku, f->second});
        continue;
      }
      shop[std::string(store)][t.sku] = {t.quantity, t.stock_status};
      out.push_back({t.sku, absl::OkStatus()});
    }
    return out;
  }
  absl::Status Scan(
      std::string_view store,
      absl::FunctionRef<void(std::string_view, int64_t, std::string_view)> on_item) override {
    if (!scan_error.ok()) return scan_error;
    for (const auto& [sku, level] : shop[std::string(store)])
      on_item(sku, level.first, level.second);
    return absl::OkStatus();
  }
  // The SKUs (and quantities) of the last call.
  std::vector<std::pair<std::string, int64_t>> Last() const {
    std::vector<std::pair<std::string, int64_t>> out;
    if (calls.empty()) return out;
    for (const StockTarget& t : calls.back().second) out.emplace_back(t.sku, t.quantity);
    return out;
  }

  std::vector<std::pair<std::string, std::vector<StockTarget>>> calls;
  std::map<std::string, std::map<std::string, std::pair<int64_t, std::string>>> shop;
  std::map<std::string, absl::Status> fail;
  absl::Status scan_error;
};

// "applied" | "duplicate" | "stale", or the error.
std::string Res(const absl::StatusOr<StockEventResult>& r) {
  if (!r.ok()) return r.status().ToString();
  return std::string(StockEventResultName(*r));
}

InventoryOptions TwoChannels() {
  InventoryOptions o;
  model::ChannelRule main;
  main.channel = "main";
  main.locations = {"WH1", "WH2"};
  model::ChannelRule outlet;
  outlet.channel = "outlet";
  outlet.locations = {"WH2"};
  outlet.percent = 50;
  outlet.cap = 5;
  o.channels = {main, outlet};
  return o;
}

class InventoryFlowTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(TwoChannels()); }

  void Build(InventoryOptions options) {
    auto store = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    metrics_ = std::make_unique<obs::Registry>();
    service_ = std::make_unique<InventoryService>(&sink_, std::move(options), metrics_.get());
    handlers_ = jobs::HandlerRegistry();
    service_->Register(handlers_);
    jobs::RunnerOptions ro;
    ro.owner = "test";
    runner_ = std::make_unique<jobs::Runner>(store_.get(), &clock_, &handlers_, ro);
  }

  // Public: the racing sink below applies an event from inside a publish call.
 public:
  absl::StatusOr<StockEventResult> Event(std::string id, std::string sku, std::string location,
                                         int64_t on_hand,
                                         absl::Duration age = absl::ZeroDuration()) {
    StockEvent e{.event_id = std::move(id),
                 .sku = std::move(sku),
                 .location = std::move(location),
                 .on_hand = on_hand,
                 .occurred_at = clock_.Now() - age};
    StockEventResult result{};
    absl::Status st = store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
      auto r = service_->ApplyStockEvent(tx, e);
      if (!r.ok()) return r.status();
      result = *r;
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    return result;
  }

 protected:
  // Runs due jobs until none is left (advancing past retries only when asked).
  void RunAll() {
    for (int i = 0; i < 100; ++i) {
      auto n = runner_->RunOnce();
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) return;
    }
    FAIL() << "jobs keep coming";
  }

  std::vector<store::Job> Jobs(std::optional<store::JobState> state, std::string kind = "") {
    auto jobs = store_->ListJobs({.state = state, .kind = std::move(kind)});
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? *jobs : std::vector<store::Job>();
  }

  template <typename Fn>
  void InTx(Fn fn) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) { return fn(tx); }));
  }

  InventoryPosition Position(const std::string& sku, const std::string& location) {
    auto ps = store_->GetPositions(sku);
    EXPECT_TRUE(ps.ok()) << ps.status();
    for (const InventoryPosition& p : *ps) {
      if (p.location == location) return p;
    }
    return {};
  }

  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<obs::Registry> metrics_;
  FakeSink sink_;
  std::unique_ptr<InventoryService> service_;
  jobs::HandlerRegistry handlers_;
  std::unique_ptr<jobs::Runner> runner_;
};

TEST(InventoryConfigTest, ValidateNamesEveryProblemWithItsPath) {
  InventoryOptions o = TwoChannels();
  EXPECT_THAT(ValidateInventoryOptions(o), IsEmpty());
  o.channels[1].channel = "main";
  o.channels[1].percent = 120;
  o.channels[1].cap = -1;
  o.channels[0].locations = {"WH1", ""};
  o.channels[0].holdback = -2;
  o.publish_batch = 5000;
  std::vector<std::string> got;
  for (const auto& p : ValidateInventoryOptions(o)) got.push_back(p.path + ": " + p.message);
  EXPECT_THAT(got, ElementsAre("channels[0].locations[1]: must not be empty",
                               "channels[0].holdback: must be >= 0",
                               "channels[1].store: duplicate channel \"main\"",
                               "channels[1].percent: must be between 0 and 100",
                               "channels[1].cap: must be >= 0",
                               "publish_batch: must be between 1 and 1000"));
}

TEST_F(InventoryFlowTest, StockEventsAreIdempotentAndOutOfOrderOnesAreStale) {
  EXPECT_EQ(Res(Event("e2", "A", "WH1", 12)), "applied");
  EXPECT_EQ(Res(Event("e2", "A", "WH1", 99)), "duplicate");
  EXPECT_EQ(Res(Event("e1", "A", "WH1", 30, absl::Minutes(1))), "stale");
  EXPECT_EQ(Position("A", "WH1").on_hand, 12);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto ledger, store_->ListMovements("A", 0, 100));
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].kind, model::MovementKind::kSetOnHand);
  EXPECT_EQ(ledger[0].correlation_id, "e2");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto timeline, store_->ListTimeline("sku:A", 10));
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].kind, "inventory.event_stale");
  // WH1 serves only "main": one publish job, for main.
  std::vector<store::Job> queued = Jobs(store::JobState::kQueued);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].kind, kInventoryPublishJobKind);
  EXPECT_EQ(queued[0].partition_key, "inventory:publish:main");
  EXPECT_EQ(queued[0].payload, R"({"store":"main"})");
  // A later event at the same instant is not stale (only older ones are).
  EXPECT_EQ(Res(Event("e3", "A", "WH1", 11)), "applied");
  EXPECT_THAT(Event("", "A", "WH1", 1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Event("e4", "A", "WH1", -1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(InventoryFlowTest, OptionalWmsFieldsAreRecordedAsAbsoluteMovements) {
  StockEvent e{.event_id = "e1",
               .sku = "A",
               .location = "WH1",
               .on_hand = 20,
               .occurred_at = clock_.Now(),
               .allocated = 3,
               .inbound = 40,
               .inbound_expected_at = clock_.Now() + absl::Hours(24),
               .safety_stock = 2};
  InTx([&](store::Tx& tx) { return service_->ApplyStockEvent(tx, e).status(); });
  InventoryPosition p = Position("A", "WH1");
  EXPECT_EQ(p.on_hand, 20);
  EXPECT_EQ(p.allocated, 3);
  EXPECT_EQ(p.safety_stock, 2);
  EXPECT_EQ(p.inbound, 40);
  EXPECT_EQ(model::SellableAt(p), 15);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto ledger, store_->ListMovements("A", 0, 100));
  EXPECT_EQ(ledger.size(), 4u);
}

TEST_F(InventoryFlowTest, PublishCoalescesManyChangesIntoOneJobAndOneCall) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Event(absl::StrCat("a", i), "A", "WH1", 10 + i).ok());
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Event(absl::StrCat("b", i), "B", "WH2", 4 + i).ok());
  }
  // WH2 serves both channels: one job per store, however many changes.
  std::vector<store::Job> queued = Jobs(store::JobState::kQueued, kInventoryPublishJobKind);
  ASSERT_EQ(queued.size(), 2u);
  RunAll();
  ASSERT_EQ(sink_.calls.size(), 2u);
  EXPECT_EQ(sink_.calls[0].first, "main");
  std::vector<std::pair<std::string, int64_t>> main_levels;
  for (const auto& t : sink_.calls[0].second) main_levels.emplace_back(t.sku, t.quantity);
  EXPECT_THAT(main_levels, ElementsAre(Pair("A", 14), Pair("B", 6)));
  EXPECT_EQ(sink_.calls[1].first, "outlet");
  EXPECT_THAT(sink_.Last(), ElementsAre(Pair("B", 3)));  // 50% of 6
  EXPECT_EQ(sink_.shop["outlet"]["B"].second, "instock");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto published, store_->GetPublished("main", "A"));
  ASSERT_TRUE(published.has_value());
  EXPECT_EQ(published->quantity, 14);
  EXPECT_EQ(published->status, "ok");
  EXPECT_EQ(published->at, clock_.Now());
  KEELSON_ASSERT_OK_AND_ASSIGN(auto dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, IsEmpty());
  EXPECT_THAT(Jobs(store::JobState::kQueued), IsEmpty());
  EXPECT_EQ(
      metrics_->GetCounter("keelson_inventory_published_total", "", {{"store", "main"}})->Value(),
      2);

  // A change that leaves the ATS where it was: a job runs, nothing is sent.
  InTx([&](store::Tx& tx) -> absl::Status {
    if (auto s = tx.ApplyMovement({.sku = "A",
                                   .location = "WH1",
                                   .kind = model::MovementKind::kAdjustment,
                                   .quantity = 0});
        !s.ok()) {
      return s.status();
    }
    return service_->MarkDirty(tx, "A", "WH1");
  });
  RunAll();
  EXPECT_EQ(sink_.calls.size(), 2u);
  EXPECT_EQ(Jobs(store::JobState::kDone, kInventoryPublishJobKind).size(), 3u);
}

TEST_F(InventoryFlowTest, PublishTakesAtMostABatchAndQueuesTheRest) {
  InventoryOptions o = TwoChannels();
  o.publish_batch = 2;
  Build(o);
  for (const char* sku : {"A", "B", "C", "D", "E"}) {
    ASSERT_TRUE(Event(absl::StrCat("e-", sku), sku, "WH1", 1).ok());
  }
  RunAll();
  ASSERT_EQ(sink_.calls.size(), 3u);
  EXPECT_EQ(sink_.calls[0].second.size(), 2u);
  EXPECT_EQ(sink_.calls[1].second.size(), 2u);
  EXPECT_EQ(sink_.calls[2].second.size(), 1u);
  EXPECT_EQ(sink_.shop["main"].size(), 5u);
  EXPECT_EQ(Jobs(store::JobState::kDone, kInventoryPublishJobKind).size(), 3u);
}

TEST_F(InventoryFlowTest, PublishHandlesEachItemsOutcome) {
  for (const char* sku : {"A", "B", "C"}) {
    ASSERT_TRUE(Event(absl::StrCat("e-", sku), sku, "WH1", 7).ok());
  }
  sink_.fail["A"] = absl::UnavailableError("503 from the shop");
  sink_.fail["B"] = absl::NotFoundError("no product with SKU B");
  KEELSON_ASSERT_OK_AND_ASSIGN(int ran, runner_->RunOnce());
  EXPECT_EQ(ran, 1);

  // C published; B rejected (recorded, on its timeline, not retried); A dirty again, job retries.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto c, store_->GetPublished("main", "C"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->quantity, 7);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto b, store_->GetPublished("main", "B"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->status, "rejected");
  EXPECT_EQ(b->error, "no product with SKU B");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto timeline, store_->ListTimeline("sku:B", 10));
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].kind, "inventory.publish_rejected");
  EXPECT_THAT(timeline[0].detail_json, HasSubstr("no product with SKU B"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto a, store_->GetPublished("main", "A"));
  EXPECT_FALSE(a.has_value());
  KEELSON_ASSERT_OK_AND_ASSIGN(auto dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, ElementsAre("A"));
  std::vector<store::Job> queued = Jobs(store::JobState::kQueued);
  ASSERT_EQ(queued.size(), 1u);  // the retry; no second job
  EXPECT_EQ(queued[0].attempts, 1);
  EXPECT_THAT(queued[0].last_error, HasSubstr("1 stock level(s) not published"));

  sink_.fail.erase("A");
  clock_.Advance(absl::Hours(1));
  RunAll();
  EXPECT_THAT(sink_.Last(), ElementsAre(Pair("A", 7)));  // B is not tried again
  KEELSON_ASSERT_OK_AND_ASSIGN(dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, IsEmpty());
  EXPECT_THAT(Jobs(store::JobState::kDead), IsEmpty());

  // B's level changes: it is tried again (and now the shop has it).
  sink_.fail.clear();
  ASSERT_TRUE(Event("e-B2", "B", "WH1", 8).ok());
  RunAll();
  EXPECT_THAT(sink_.Last(), ElementsAre(Pair("B", 8)));
  KEELSON_ASSERT_OK_AND_ASSIGN(b, store_->GetPublished("main", "B"));
  EXPECT_EQ(b->status, "ok");
}

TEST_F(InventoryFlowTest, AChangeWhilePublishingIsPublishedByTheNextRun) {
  ASSERT_TRUE(Event("e1", "A", "WH1", 5).ok());
  // The sink sees the first value, and meanwhile a new event arrives (in the same thread: the
  // job has claimed the dirty set and dropped its pending flag by then).
  struct Racing final : public StockSink {
    InventoryFlowTest* t;
    FakeSink* inner;
    bool raced = false;
    std::vector<SinkOutcome> Publish(std::string_view store,
                                     std::span<const StockTarget> levels) override {
      if (!raced) {
        raced = true;
        EXPECT_TRUE(t->Event("e2", "A", "WH1", 9).ok());
      }
      return inner->Publish(store, levels);
    }
    absl::Status Scan(
        std::string_view,
        absl::FunctionRef<void(std::string_view, int64_t, std::string_view)>) override {
      return absl::OkStatus();
    }
  } racing;
  racing.t = this;
  racing.inner = &sink_;
  service_ = std::make_unique<InventoryService>(&racing, TwoChannels());
  handlers_ = jobs::HandlerRegistry();
  service_->Register(handlers_);
  RunAll();
  ASSERT_EQ(sink_.calls.size(), 2u);
  EXPECT_THAT(sink_.Last(), ElementsAre(Pair("A", 9)));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto dirty, store_->ListDirty("main", 10));
  EXPECT_THAT(dirty, IsEmpty());
}

TEST_F(InventoryFlowTest, ReserveTakesLocationsInOrderThenSafetyAndReportsTheShortfall) {
  InTx([&](store::Tx& tx) -> absl::Status {
    for (auto [loc, on_hand] : {std::pair{"WH1", 3}, {"WH2", 4}}) {
      if (auto s = tx.ApplyMovement({.sku = "A",
                                     .location = loc,
                                     .kind = model::MovementKind::kSetOnHand,
                                     .quantity = on_hand});
          !s.ok()) {
        return s.status();
      }
    }
    return tx
        .ApplyMovement(
            {.sku = "A", .location = "WH1", .kind = model::MovementKind::kSetSafety, .quantity = 1})
        .status();
  });
  std::vector<ReservedLine> lines;
  const InventoryLine order1[] = {{"A", 4}, {"A", 2}};  // merged: 6
  InTx([&](store::Tx& tx) -> absl::Status {
    auto r = service_->Reserve(tx, "main:1", order1, "main");
    if (!r.ok()) return r.status();
    lines = *r;
    return absl::OkStatus();
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].reserved, 6);  // WH1 2 (above safety) + WH2 4
  EXPECT_EQ(lines[0].shortfall, 0);
  EXPECT_EQ(Position("A", "WH1").reserved, 2);
  EXPECT_EQ(Position("A", "WH2").reserved, 4);

  const InventoryLine order2[] = {{"A", 3}};
  InTx([&](store::Tx& tx) -> absl::Status {
    auto r = service_->Reserve(tx, "main:2", order2, "main");
    if (!r.ok()) return r.status();
    lines = *r;
    return absl::OkStatus();
  });
  EXPECT_EQ(lines[0].reserved, 1);  // WH1's safety unit: all that is physically left
  EXPECT_EQ(lines[0].shortfall, 2);
  EXPECT_EQ(metrics_->GetCounter("keelson_inventory_shortfall_units_total", "", {{"store", "main"}})
                ->Value(),
            2);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto timeline, store_->ListTimeline("order:main:2", 10));
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].kind, "inventory.reserved_short");

  // The same call again changes nothing.
  InTx([&](store::Tx& tx) -> absl::Status {
    auto r = service_->Reserve(tx, "main:1", order1, "main");
    if (!r.ok()) return r.status();
    lines = *r;
    return absl::OkStatus();
  });
  EXPECT_TRUE(lines[0].duplicate);
  EXPECT_EQ(lines[0].reserved, 6);
  EXPECT_EQ(Position("A", "WH1").reserved, 3);
  EXPECT_EQ(Position("A", "WH2").reserved, 4);

  // Cancel order 2; ship 4 of order 1 (twice: idempotent), then 7 (1 more than reserved).
  int64_t released = 0;
  InTx([&](store::Tx& tx) -> absl::Status {
    auto r = service_->Release(tx, "main:2");
    if (!r.ok()) return r.status();
    released = *r;
    return absl::OkStatus();
  });
  EXPECT_EQ(released, 1);
  std::vector<ConsumedLine> consumed;
  const InventoryLine shipped4[] = {{"A", 4}};
  for (int i = 0; i < 2; ++i) {
    InTx([&](store::Tx& tx) -> absl::Status {
      auto r = service_->Consume(tx, "main:1", shipped4);
      if (!r.ok()) return r.status();
      consumed = *r;
      return absl::OkStatus();
    });
  }
  EXPECT_THAT(consumed, IsEmpty());  // the second call had nothing left to do
  EXPECT_EQ(Position("A", "WH1").on_hand, 1);
  EXPECT_EQ(Position("A", "WH1").reserved, 0);
  EXPECT_EQ(Position("A", "WH2").on_hand, 2);
  EXPECT_EQ(Position("A", "WH2").reserved, 2);
  const InventoryLine shipped7[] = {{"A", 7}};
  InTx([&](store::Tx& tx) -> absl::Status {
    auto r = service_->Consume(tx, "main:1", shipped7);
    if (!r.ok()) return r.status();
    consumed = *r;
    return absl::OkStatus();
  });
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].consumed, 2);
  EXPECT_EQ(consumed[0].unreserved, 1);
  EXPECT_EQ(Position("A", "WH2").on_hand, 0);
  EXPECT_EQ(Position("A", "WH2").reserved, 0);
  InTx([&](store::Tx& tx) -> absl::Status {
    auto r = service_->Release(tx, "main:1");
    if (!r.ok()) return r.status();
    released = *r;
    return absl::OkStatus();
  });
  EXPECT_EQ(released, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto rows, store_->GetReservations("main:1"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].consumed + rows[1].consumed, 6);

  EXPECT_THAT(store_->Transact(clock_.Now(),
                               [&](store::Tx& tx) {
                                 return service_->Reserve(tx, "x:1", order2, "nowhere").status();
                               }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(InventoryFlowTest, ConsumeReleasesWhatTheWmsAlreadyTookOut) {
  ASSERT_TRUE(Event("e1", "A", "WH1", 5).ok());
  const InventoryLine order[] = {{"A", 4}};
  InTx([&](store::Tx& tx) { return service_->Reserve(tx, "main:1", order, "main").status(); });
  ASSERT_TRUE(Event("e2", "A", "WH1", 2).ok());  // the WMS shipped and says so first
  InTx([&](store::Tx& tx) { return service_->Consume(tx, "main:1", order).status(); });
  InventoryPosition p = Position("A", "WH1");
  EXPECT_EQ(p.on_hand, 0);
  EXPECT_EQ(p.reserved, 0);
}

TEST_F(InventoryFlowTest, ConcurrentOrdersForTheLastUnitsNeverOversell) {
  ASSERT_TRUE(Event("e1", "A", "WH1", 5).ok());
  std::atomic<int64_t> reserved{0}, short_units{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const InventoryLine line[] = {{"A", 1}};
      absl::Status st = store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
        auto r = service_->Reserve(tx, absl::StrCat("main:", i), line, "main");
        if (!r.ok()) return r.status();
        reserved += (*r)[0].reserved;
        short_units += (*r)[0].shortfall;
        return absl::OkStatus();
      });
      EXPECT_TRUE(st.ok()) << st;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(reserved.load(), 5);
  EXPECT_EQ(short_units.load(), 3);
  EXPECT_EQ(Position("A", "WH1").reserved, 5);
  RunAll();
  EXPECT_EQ(sink_.shop["main"]["A"], std::make_pair(int64_t{0}, std::string("outofstock")));
}

TEST_F(InventoryFlowTest, ReconcileCorrectsTheDriftedSkuAndWritesOneDriftRow) {
  ASSERT_TRUE(Event("e1", "A", "WH2", 6).ok());
  ASSERT_TRUE(Event("e2", "B", "WH2", 20).ok());
  RunAll();  // the shop holds outlet A=3, B=5 (50%, cap 5)
  EXPECT_EQ(sink_.shop["outlet"]["B"].first, 5);
  sink_.shop["outlet"]["B"] = {9, "instock"};  // someone edited the shop
  sink_.shop["outlet"]["Z"] = {4, "instock"};  // a product Keelson knows nothing of
  sink_.calls.clear();

  ASSERT_GT(keelson::testing::EnqueueJob(*store_, clock_.Now(), service_->ReconcileJob("outlet")),
            0);
  RunAll();
  ASSERT_EQ(sink_.calls.size(), 1u);
  EXPECT_THAT(sink_.Last(), ElementsAre(Pair("B", 5)));
  EXPECT_EQ(sink_.shop["outlet"]["B"].first, 5);

  KEELSON_ASSERT_OK_AND_ASSIGN(auto run, store_->GetReconcileRun("outlet", ""));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->scanned, 3);
  EXPECT_EQ(run->drifted, 1);
  EXPECT_EQ(run->corrected, 1);
  EXPECT_EQ(run->unknown, 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto rows, store_->ListDrift({.store_id = "outlet"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sku, "B");
  EXPECT_EQ(rows[0].expected, 5);
  EXPECT_EQ(rows[0].found, 9);
  EXPECT_TRUE(rows[0].corrected);
  EXPECT_EQ(rows[0].run_id, run->run_id);
  EXPECT_EQ(metrics_->GetGauge("keelson_inventory_drift_skus", "", {{"store", "outlet"}})->Value(),
            1);

  // A scan that fails writes nothing and retries.
  sink_.scan_error = absl::UnavailableError("shop down");
  keelson::testing::EnqueueJob(*store_, clock_.Now(), service_->ReconcileJob("outlet"));
  RunAll();
  KEELSON_ASSERT_OK_AND_ASSIGN(auto again, store_->GetReconcileRun("outlet", ""));
  EXPECT_EQ(again->run_id, run->run_id);
  EXPECT_EQ(Jobs(store::JobState::kQueued, kInventoryReconcileJobKind).size(), 1u);
}

// ---- the HTTP API ------------------------------------------------------------------------------

net::HttpResponse Call(const net::Router& router, net::http::verb verb, const std::string& path,
                       const std::string& body = "") {
  absl::flat_hash_map<std::string, std::string> params;
  bool known = false;
  const net::Handler* h = router.Match(verb, path, &params, &known);
  EXPECT_NE(h, nullptr) << path;
  net::HttpRequest req;
  req.path = path;
  req.params = params;
  req.raw.body() = body;
  net::HttpResponse out;
  (*h)(req, [&](net::HttpResponse r) { out = std::move(r); });
  return out;
}

TEST_F(InventoryFlowTest, ApiAppliesEventsAndShowsTheSku) {
  net::Router router;
  int woken = 0;
  api::OpsDeps deps{.store = store_.get(), .clock = &clock_, .metrics = metrics_.get()};
  api::AddInventoryRoutes(router, deps, service_.get(), [&] { ++woken; });
  const std::string event = R"({"event_id":"e1","sku":"A","location":"WH2","on_hand":12,)"
                            R"("occurred_at":"2026-01-01T00:00:00Z","safety_stock":2})";
  net::HttpResponse r = Call(router, net::http::verb::post, "/v1/inventory/events", event);
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(json::parse(r.body()), json::parse(R"({"status":"applied","event_id":"e1"})"));
  r = Call(router, net::http::verb::post, "/v1/inventory/events", event);
  EXPECT_EQ(json::parse(r.body())["status"], "duplicate");
  r = Call(router, net::http::verb::post, "/v1/inventory/events",
           R"({"event_id":"e0","sku":"A","location":"WH2","on_hand":1,)"
           R"("occurred_at":"2025-12-31T23:00:00+00:00"})");
  EXPECT_EQ(json::parse(r.body())["status"], "stale");
  EXPECT_EQ(woken, 1);

  r = Call(
      router, net::http::verb::post, "/v1/inventory/events",
      R"({"event_id":"e2","location":"WH2","on_hand":1,"occurred_at":"2026-01-01T00:00:00Z"})");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(r[net::http::field::content_type], "application/problem+json");
  EXPECT_THAT(json::parse(r.body())["detail"].get<std::string>(), HasSubstr("sku: is required"));
  for (const auto& [body, detail] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "the body must be a JSON object"},
           {R"({"event_id":"e","sku":"A","location":"L","on_hand":-1,"occurred_at":"x"})",
            "on_hand: must be an integer >= 0"},
           {R"({"event_id":"e","sku":"A","location":"L","on_hand":1.5,"occurred_at":"x"})",
            "on_hand: must be an integer"},
           {R"({"event_id":"e","sku":"A","location":"L","on_hand":1,"occurred_at":"yesterday"})",
            "occurred_at: must be an RFC 3339"},
           {R"({"event_id":"e","sku":"A","location":"L","on_hand":1,)"
            R"("occurred_at":"2026-01-01T00:00:00Z","inbound":5})",
            "inbound_expected_at: is required"}}) {
    r = Call(router, net::http::verb::post, "/v1/inventory/events", body);
    EXPECT_EQ(r.result_int(), 400) << body;
    EXPECT_THAT(json::parse(r.body())["detail"].get<std::string>(), HasSubstr(detail)) << body;
  }

  RunAll();
  r = Call(router, net::http::verb::get, "/v1/inventory/A");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  json view = json::parse(r.body());
  EXPECT_EQ(view["on_hand"], 12);
  EXPECT_EQ(view["safety_stock"], 2);
  ASSERT_EQ(view["locations"].size(), 1u);
  EXPECT_EQ(view["locations"][0]["ats"], 10);
  ASSERT_EQ(view["channels"].size(), 2u);
  EXPECT_EQ(view["channels"][0]["store"], "main");
  EXPECT_EQ(view["channels"][0]["ats"], 10);
  EXPECT_EQ(view["channels"][0]["published"]["quantity"], 10);
  EXPECT_EQ(view["channels"][0]["published"]["at"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(view["channels"][1]["ats"], 5);  // 50%, cap 5
  EXPECT_EQ(view["channels"][1]["locations"][0]["ats"], 10);

  r = Call(router, net::http::verb::get, "/v1/inventory/NOPE");
  EXPECT_EQ(r.result_int(), 404);
}

TEST_F(InventoryFlowTest, ApiGroupCommitsEventsEachInItsOwnSavepoint) {
  net::Router router;
  std::atomic<int> woken{0};
  api::OpsDeps deps{.store = store_.get(), .clock = &clock_, .metrics = metrics_.get()};
  store::TxGroupCommitter committer(store_.get(), &clock_, 64, "inventory", metrics_.get());
  api::AddInventoryRoutes(router, deps, service_.get(), [&] { ++woken; }, &committer);
  committer.Start();
  // In one batch or several, as they come: an applied event, a duplicate of it, an older one
  // (stale), and one for another SKU.
  const std::vector<std::string> bodies = {
      R"({"event_id":"g1","sku":"A","location":"WH2","on_hand":12,)"
      R"("occurred_at":"2026-01-01T00:00:00Z"})",
      R"({"event_id":"g1","sku":"A","location":"WH2","on_hand":12,)"
      R"("occurred_at":"2026-01-01T00:00:00Z"})",
      R"({"event_id":"g0","sku":"A","location":"WH2","on_hand":1,)"
      R"("occurred_at":"2025-12-31T00:00:00Z"})",
      R"({"event_id":"g2","sku":"B","location":"WH2","on_hand":4,)"
      R"("occurred_at":"2026-01-01T00:00:00Z"})"};
  std::vector<std::promise<net::HttpResponse>> answers(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    absl::flat_hash_map<std::string, std::string> params;
    bool known = false;
    const net::Handler* h =
        router.Match(net::http::verb::post, "/v1/inventory/events", &params, &known);
    ASSERT_NE(h, nullptr);
    net::HttpRequest req;
    req.raw.body() = bodies[i];
    (*h)(req, [&answers, i](net::HttpResponse r) { answers[i].set_value(std::move(r)); });
  }
  std::vector<std::string> statuses;
  for (auto& a : answers) {
    net::HttpResponse r = a.get_future().get();
    EXPECT_EQ(r.result_int(), 200) << r.body();
    statuses.push_back(json::parse(r.body())["status"]);
  }
  committer.Stop();
  EXPECT_EQ(statuses, (std::vector<std::string>{"applied", "duplicate", "stale", "applied"}));
  EXPECT_EQ(woken.load(), 2);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto a, store_->GetPositions("A"));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].on_hand, 12);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto b, store_->GetPositions("B"));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].on_hand, 4);
  // After Stop the committer refuses: 503, nothing written.
  absl::flat_hash_map<std::string, std::string> params;
  bool known = false;
  const net::Handler* h =
      router.Match(net::http::verb::post, "/v1/inventory/events", &params, &known);
  net::HttpRequest req;
  req.raw.body() = R"({"event_id":"g3","sku":"C","location":"WH2","on_hand":1,)"
                   R"("occurred_at":"2026-01-01T00:00:00Z"})";
  net::HttpResponse late;
  (*h)(req, [&late](net::HttpResponse r) { late = std::move(r); });
  EXPECT_EQ(late.result_int(), 503);
}

}  // namespace
}  // namespace keelson::flows
