// The ERP stock poll on a real SQLite store (:memory:) and the real job runner, with the fake
// ERP (tests/support/fake_erp.h) and a sink that records nothing; time from a FakeClock.

#include "flows/erp_stock.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/fake_erp.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::flows {
namespace {

using nlohmann::json;

class NullSink final : public StockSink {
 public:
  std::vector<SinkOutcome> Publish(std::string_view, std::span<const StockTarget> levels) override {
    std::vector<SinkOutcome> out;
    for (const StockTarget& t : levels) out.push_back({t.sku, absl::OkStatus()});
    return out;
  }
  absl::Status Scan(std::string_view,
                    absl::FunctionRef<void(std::string_view, int64_t, std::string_view)>) override {
    return absl::OkStatus();
  }
};

class ErpStockPollTest : public ::testing::Test {
 protected:
  void SetUp() override { Build({}); }

  void Build(ErpStockPollOptions options) {
    auto store = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    InventoryOptions io;
    model::ChannelRule main;
    main.channel = "main";
    main.locations = {"WH1", "WH2"};
    io.channels = {main};
    inventory_ = std::make_unique<InventoryService>(&sink_, io);
    handlers_ = jobs::HandlerRegistry();
    inventory_->Register(handlers_);
    options.locations = {{"WH/Stock", "WH1"}};
    options.default_location = "WH2";
    handlers_.Register(kErpStockPollJobKind,
                       MakeErpStockPollHandler(&erp_, inventory_.get(), options,
                                               [this](const ErpStockPollStats& s) { last_ = s; }));
    jobs::RunnerOptions ro;
    ro.owner = "test";
    ro.policy.base = absl::Seconds(1);
    ro.policy.cap = absl::Seconds(1);
    runner_ = std::make_unique<jobs::Runner>(store_.get(), &clock_, &handlers_, ro);
  }

  // Enqueues one poll and runs jobs until none is due.
  void Poll() {
    testing::EnqueueJob(*store_, clock_.Now(), ErpStockPollJob(12));
    RunAll();
  }
  void RunAll() {
    for (int i = 0; i < 100; ++i) {
      auto n = runner_->RunOnce();
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) return;
    }
    FAIL() << "jobs keep coming";
  }

  int64_t OnHand(const std::string& sku, const std::string& location) {
    auto ps = store_->GetPositions(sku);
    EXPECT_TRUE(ps.ok()) << ps.status();
    for (const model::InventoryPosition& p : *ps) {
      if (p.location == location) return p.on_hand;
    }
    return -1;  // no position
  }

  json Cursor() {
    auto c = store_->GetCursor(kErpStockPollCursor);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() && c->has_value() ? json::parse(**c) : json();
  }

  std::string Time(absl::Time t) {
    return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
  }

  // An event from another source (a WMS, or a shipment consumed here).
  void OtherSource(const std::string& sku, const std::string& location, int64_t on_hand) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
      return inventory_
          ->ApplyStockEvent(tx, {.event_id = "wms-" + sku + std::to_string(on_hand),
                                 .sku = sku,
                                 .location = location,
                                 .on_hand = on_hand,
                                 .occurred_at = clock_.Now()})
          .status();
    }));
  }

  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  NullSink sink_;
  testing::FakeErp erp_;
  std::unique_ptr<InventoryService> inventory_;
  jobs::HandlerRegistry handlers_;
  std::unique_ptr<jobs::Runner> runner_;
  ErpStockPollStats last_;
};

TEST_F(ErpStockPollTest, FirstPollReadsEverythingAndMapsLocations) {
  const absl::Time t0 = clock_.Now();
  erp_.SetStock("A", "WH/Stock", 10, t0 - absl::Hours(1));
  erp_.SetStock("B", "", 5, t0 - absl::Hours(2));             // one total: the default location
  erp_.SetStock("C", "Other/Stock", 3, t0 - absl::Hours(3));  // no mapping
  erp_.SetStock("D", "WH/Stock", -4, t0 - absl::Hours(4));    // negative in the ERP
  Poll();
  EXPECT_EQ(OnHand("A", "WH1"), 10);
  EXPECT_EQ(OnHand("B", "WH2"), 5);
  EXPECT_EQ(OnHand("C", "WH1"), -1);
  EXPECT_EQ(OnHand("D", "WH1"), 0);
  EXPECT_TRUE(last_.full_scan);
  EXPECT_EQ(last_.rows, 4);
  EXPECT_EQ(last_.applied, 3);
  EXPECT_EQ(last_.unmapped, 1);
  ASSERT_EQ(erp_.stock_polls().size(), 1u);
  EXPECT_EQ(erp_.stock_polls()[0], absl::InfinitePast());
  EXPECT_EQ(Cursor(), (json{{"high_water", Time(t0 - absl::Hours(1))}, {"polls", 1}}));
  // The levels reached the ledger like any stock event: the channel's publish job ran.
  auto published = store_->ListJobs({.kind = kInventoryPublishJobKind});
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->size(), 1u);
}

TEST_F(ErpStockPollTest, NextPollsReadChangesSinceTheMarkMinusOverlapAndAbsorbDuplicates) {
  const absl::Time t0 = clock_.Now();
  erp_.SetStock("A", "WH/Stock", 10, t0 - absl::Minutes(1));
  erp_.SetStock("B", "", 5, t0 - absl::Hours(2));
  Poll();
  ASSERT_EQ(OnHand("A", "WH1"), 10);

  // Meanwhile another source moves A (say, a shipment consumed here); then B changes in the ERP.
  OtherSource("A", "WH1", 8);
  clock_.Advance(absl::Minutes(1));
  erp_.SetStock("B", "", 6, t0 + absl::Seconds(30));
  Poll();
  ASSERT_EQ(erp_.stock_polls().size(), 2u);
  EXPECT_EQ(erp_.stock_polls()[1], t0 - absl::Minutes(1) - absl::Minutes(2));  // mark − overlap
  EXPECT_FALSE(last_.full_scan);
  EXPECT_EQ(last_.rows, 2);
  EXPECT_EQ(last_.duplicate, 1);  // A re-read in the overlap: the ERP row applied before
  EXPECT_EQ(last_.applied, 1);
  EXPECT_EQ(OnHand("A", "WH1"), 8);  // not reverted to the ERP row read before
  EXPECT_EQ(OnHand("B", "WH2"), 6);
  EXPECT_EQ(Cursor(), (json{{"high_water", Time(t0 + absl::Seconds(30))}, {"polls", 2}}));

  // Nothing new: A and B read again in the overlap.
  clock_.Advance(absl::Minutes(1));
  Poll();
  EXPECT_EQ(last_.rows, 2);
  EXPECT_EQ(last_.duplicate, 2);
  EXPECT_EQ(last_.applied, 0);
  EXPECT_EQ(OnHand("A", "WH1"), 8);
  EXPECT_EQ(Cursor(), (json{{"high_water", Time(t0 + absl::Seconds(30))}, {"polls", 3}}));
}

TEST_F(ErpStockPollTest, TheCursorAdvancesOnlyWithASuccessfulPoll) {
  const absl::Time t0 = clock_.Now();
  erp_.SetStockPageSize(1);
  erp_.SetStock("A", "WH/Stock", 10, t0 - absl::Minutes(3));
  erp_.SetStock("B", "WH/Stock", 20, t0 - absl::Minutes(2));
  erp_.FailStockReads(1, /*after=*/1);  // the first page reads, the second fails
  testing::EnqueueJob(*store_, clock_.Now(), ErpStockPollJob(12));
  RunAll();
  EXPECT_EQ(OnHand("A", "WH1"), -1);  // nothing of a partial poll is applied
  EXPECT_EQ(OnHand("B", "WH1"), -1);
  EXPECT_TRUE(Cursor().is_null());
  clock_.Advance(absl::Seconds(2));  // past the backoff: the retry reads every page
  RunAll();
  EXPECT_EQ(OnHand("A", "WH1"), 10);
  EXPECT_EQ(OnHand("B", "WH1"), 20);
  EXPECT_EQ(last_.pages, 2);
  EXPECT_EQ(Cursor(), (json{{"high_water", Time(t0 - absl::Minutes(2))}, {"polls", 1}}));
}

TEST_F(ErpStockPollTest, FullScansSeeLevelsWhoseModificationTimeDidNotMove) {
  ErpStockPollOptions o;
  o.full_scan_every = 2;
  Build(o);
  const absl::Time t0 = clock_.Now();
  erp_.SetStock("A", "", 10, t0 - absl::Hours(1));
  erp_.SetStock("B", "", 1, t0 - absl::Minutes(1));
  Poll();  // poll 0: full
  ASSERT_EQ(OnHand("A", "WH2"), 10);

  // Business Central: a posted shipment changes the inventory, not lastModifiedDateTime.
  erp_.SetStock("A", "", 4, t0 - absl::Hours(1));
  clock_.Advance(absl::Minutes(1));
  Poll();  // poll 1: changes only, from B's mark: A is not among them
  EXPECT_FALSE(last_.full_scan);
  EXPECT_EQ(OnHand("A", "WH2"), 10);
  clock_.Advance(absl::Minutes(1));
  Poll();  // poll 2: full
  EXPECT_TRUE(last_.full_scan);
  EXPECT_EQ(last_.applied, 1);
  EXPECT_EQ(last_.unchanged, 1);
  EXPECT_EQ(OnHand("A", "WH2"), 4);

  // Back to the first value, still with the same modification time: applied again, not taken
  // for the row of the first scan.
  erp_.SetStock("A", "", 10, t0 - absl::Hours(1));
  clock_.Advance(absl::Minutes(1));
  Poll();  // poll 3: changes only
  clock_.Advance(absl::Minutes(1));
  Poll();  // poll 4: full
  EXPECT_TRUE(last_.full_scan);
  EXPECT_EQ(last_.applied, 1);
  EXPECT_EQ(OnHand("A", "WH2"), 10);
}

TEST(ErpStockEventIdTest, DerivedFromTheRowAndTheScan) {
  connectors::ErpStockRow r{.sku = "A",
                            .location = "WH/Stock",
                            .on_hand = 3,
                            .modified_at = absl::FromUnixSeconds(1'772'359'200)};
  const std::string id = ErpStockEventId("odoo", r, "WH1", absl::InfinitePast());
  EXPECT_EQ(id, ErpStockEventId("odoo", r, "WH1", absl::InfinitePast()));
  EXPECT_TRUE(absl::StartsWith(id, "erp:odoo:")) << id;
  connectors::ErpStockRow more = r;
  more.on_hand = 4;
  EXPECT_NE(ErpStockEventId("odoo", more, "WH1", absl::InfinitePast()), id);
  EXPECT_NE(ErpStockEventId("odoo", r, "WH2", absl::InfinitePast()), id);
  EXPECT_NE(ErpStockEventId("odoo", r, "WH1", absl::FromUnixSeconds(1)), id);
}

}  // namespace
}  // namespace keelson::flows
