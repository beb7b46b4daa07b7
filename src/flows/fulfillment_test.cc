// The fulfillment flow against a real store, the real inventory service and a scripted provider:
// routing into segments, releases (idempotent, refused → re-routed), shipments applied once with
// exact line quantities and stock consumed.

#include "flows/fulfillment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "connectors/woocommerce/mapping.h"
#include "core/clock.h"
#include "flows/inventory.h"
#include "jobs/runner.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/drain.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"

namespace keelson::flows {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;

// A provider that records what it was given; it can refuse, or commit and then fail (the answer
// lost), and it answers verify_first by looking the segment up.
class ScriptedProvider : public connectors::FulfillmentProvider {
 public:
  explicit ScriptedProvider(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  absl::StatusOr<connectors::ReleaseResult> Release(const connectors::ReleaseRequest& req,
                                                    const connectors::ReleaseOptions& o) override {
    std::lock_guard<std::mutex> l(mu_);
    ++calls;
    if (o.verify_first) {
      for (const auto& r : created) {
        if (r.segment_id == req.segment_id) return connectors::ReleaseResult{"P-" + r.segment_id, true};
      }
    }
    if (!refuse.empty()) return absl::FailedPreconditionError(refuse);
    created.push_back(req);
    if (lose_next_answer) {
      lose_next_answer = false;
      return absl::UnavailableError("connection reset after the order was created");
    }
    return connectors::ReleaseResult{"P-" + req.segment_id, false};
  }
  std::mutex mu_;
  std::string name_;
  std::vector<connectors::ReleaseRequest> created;
  int calls = 0;
  std::string refuse;
  bool lose_next_answer = false;
};

class FulfillmentFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    inventory_ = std::make_unique<InventoryService>(
        nullptr, InventoryOptions{.channels = {{.channel = "main", .locations = {"WH1", "SB"}}}});
    FulfillmentOptions fo;
    fo.nodes = {{.id = "wh1", .provider = "warehouse", .locations = {"WH1"}, .priority = 1},
                {.id = "shipbob", .kind = model::NodeKind::kThirdParty, .provider = "shipbob",
                 .locations = {"SB"}, .priority = 2}};
    fo.consume = [this](store::Tx& tx, std::string_view, std::string_view ref,
                        const std::vector<InventoryLine>& shipped) -> absl::Status {
      return inventory_->Consume(tx, ref, shipped).status();
    };
    flow_ = std::make_unique<FulfillmentService>(
        std::map<std::string, connectors::FulfillmentProvider*, std::less<>>{
            {"warehouse", &warehouse_}, {"shipbob", &shipbob_}},
        [](std::string_view store, const json& j) {
          return connectors::woocommerce::MapOrder(store, j);
        },
        fo);
    flow_->Register(handlers_);
    handlers_.Register("inventory.publish", [](jobs::JobContext&) { return absl::OkStatus(); });
    jobs::RunnerOptions ro;
    ro.owner = "test";
    runner_ = std::make_unique<jobs::Runner>(store_.get(), &clock_, &handlers_, ro);
  }

  void Drain() { keelson::testing::DrainJobs(*runner_, *store_, clock_); }

  void Stock(std::string sku, std::string loc, int64_t on_hand, int64_t inbound = 0,
             absl::Time eta = absl::InfiniteFuture()) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
      auto p = tx.ApplyMovement({.sku = sku, .location = loc,
                                 .kind = model::MovementKind::kSetOnHand, .quantity = on_hand});
      if (!p.ok() || inbound == 0) return p.status();
      return tx.ApplyMovement({.sku = sku, .location = loc,
                               .kind = model::MovementKind::kSetInbound, .quantity = inbound,
                               .expected_at = eta})
          .status();
    }));
  }

  // Order 14 of the real WooCommerce fixture with a third line, paid, held and reserved as
  // order-to-cash leaves it; then its routing job, as the ERP creation queues it.
  void AcceptOrder() {
    json order = json::parse(keelson::testing::ReadFile(
        std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/order.created.body.json"));
    json third = order["line_items"][0];
    third["id"] = 999;
    third["sku"] = "GADGET-1";
    third["name"] = "Gadget";
    third["quantity"] = 3;
    order["line_items"].push_back(third);
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
      auto w = tx.PutOrderIfNewer({.store_id = "main", .order_id = 14,
                                   .version = clock_.Now(), .status = "processing",
                                   .snapshot_json = order.dump(), .correlation_id = "corr-14"});
      if (!w.ok()) return w.status();
      std::vector<InventoryLine> lines;
      for (const auto& l : order["line_items"]) lines.push_back({l["sku"], l["quantity"]});
      if (auto r = inventory_->Reserve(tx, "main:14", lines, "main"); !r.ok()) return r.status();
      return flow_->EnqueueRoute(tx, "main", 14, "corr-14");
    }));
    line_of_["WID-BLUE"] = order["line_items"][0]["id"];
    line_of_["TSHIRT-S"] = order["line_items"][1]["id"];
  }

  std::string Plan() {
    auto segs = store_->GetSegments("main:14");
    EXPECT_TRUE(segs.ok());
    std::string out;
    for (const auto& s : *segs) {
      absl::StrAppend(&out, s.segment_id, " ", s.kind, "@", s.node_id, " ", s.state, " [");
      for (const auto& l : s.lines) {
        absl::StrAppend(&out, l.sku, " ", l.shipped, "/", l.quantity, l.location.empty() ? "" : "@",
                        l.location, ";");
      }
      absl::StrAppend(&out, "]\n");
    }
    return out;
  }

  void Ship(std::string provider, std::string id, std::string segment,
            std::vector<connectors::ShipmentLine> lines) {
    connectors::Shipment s{.provider = provider, .shipment_id = id, .segment_id = segment,
                           .carrier = "UPS", .tracking_number = "1Z" + id, .lines = lines};
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
      return flow_->EnqueueShipment(tx, s, "corr-ship-" + id);
    }));
  }

  int64_t OnHand(const std::string& sku, const std::string& loc) {
    auto p = store_->GetPositions(sku);
    EXPECT_TRUE(p.ok());
    for (const auto& x : *p) {
      if (x.location == loc) return x.on_hand;
    }
    return -1;
  }

  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<InventoryService> inventory_;
  ScriptedProvider warehouse_{"warehouse"}, shipbob_{"shipbob"};
  std::unique_ptr<FulfillmentService> flow_;
  jobs::HandlerRegistry handlers_;
  std::unique_ptr<jobs::Runner> runner_;
  std::map<std::string, int64_t> line_of_;
};

TEST_F(FulfillmentFlowTest, ThreeLinesTwoNodesABackorderAndThreePartialShipments) {
  const absl::Time eta = clock_.Now() + absl::Hours(24 * 7);
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "SB", 4);
  Stock("GADGET-1", "WH1", 1, 10, eta);
  AcceptOrder();
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;GADGET-1 0/1@WH1;]\n"
            "main:14/2 ship@shipbob released [TSHIRT-S 0/1@SB;]\n"
            "main:14/3 backorder@wh1 held [GADGET-1 0/2;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto hold, store_->GetSegment("main:14/3"));
  EXPECT_EQ(hold->promised_at, eta);
  ASSERT_EQ(warehouse_.created.size(), 1u);
  ASSERT_EQ(warehouse_.created[0].lines.size(), 2u);
  EXPECT_EQ(warehouse_.created[0].segment_id, "main:14/1");
  EXPECT_EQ(warehouse_.created[0].lines[0].sku, "WID-BLUE");
  EXPECT_EQ(warehouse_.created[0].lines[0].quantity, 2);
  EXPECT_EQ(warehouse_.created[0].lines[0].line_id, line_of_["WID-BLUE"]);
  EXPECT_EQ(warehouse_.created[0].ship_to.country, "DE");
  EXPECT_EQ(warehouse_.created[0].email, "erika@example.com");
  ASSERT_EQ(shipbob_.created.size(), 1u);
  EXPECT_EQ(shipbob_.created[0].lines[0].sku, "TSHIRT-S");

  Ship("shipbob", "S1", "main:14/2", {{"TSHIRT-S", 1}});
  Ship("warehouse", "W1", "main:14/1", {{"WID-BLUE", 1}});
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 partially_shipped [WID-BLUE 1/2@WH1;GADGET-1 0/1@WH1;]\n"
            "main:14/2 ship@shipbob shipped [TSHIRT-S 1/1@SB;]\n"
            "main:14/3 backorder@wh1 held [GADGET-1 0/2;]\n");
  Ship("warehouse", "W2", "main:14/1", {{"WID-BLUE", 1}, {"GADGET-1", 1}});
  Ship("warehouse", "W2", "main:14/1", {{"WID-BLUE", 1}, {"GADGET-1", 1}});  // redelivered
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 shipped [WID-BLUE 2/2@WH1;GADGET-1 1/1@WH1;]\n"
            "main:14/2 ship@shipbob shipped [TSHIRT-S 1/1@SB;]\n"
            "main:14/3 backorder@wh1 held [GADGET-1 0/2;]\n");
  // The shipped units left the reservation and the shelf, exactly once.
  EXPECT_EQ(OnHand("WID-BLUE", "WH1"), 3);
  EXPECT_EQ(OnHand("TSHIRT-S", "SB"), 3);
  EXPECT_EQ(OnHand("GADGET-1", "WH1"), 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto shipments, store_->ListShipments("main:14"));
  ASSERT_EQ(shipments.size(), 3u);
  EXPECT_EQ(shipments[2].tracking_number, "1ZW2");
  EXPECT_EQ(shipments[2].erp_state, "pending");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto events, store_->ListTimeline("order:main:14", 100));
  int shipped = 0, duplicates = 0;
  for (const auto& e : events) {
    shipped += e.kind == "fulfillment.shipped";
    duplicates += e.kind == "fulfillment.shipment_duplicate";
  }
  EXPECT_EQ(shipped, 3);
  EXPECT_EQ(duplicates, 1);
}

TEST_F(FulfillmentFlowTest, ANodeHoldingEverythingShipsAloneAndNoOtherIsAsked) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "SB", 4);
  Stock("TSHIRT-S", "WH1", 1);
  Stock("GADGET-1", "WH1", 3);
  shipbob_.refuse = "unknown product TSHIRT-S";
  AcceptOrder();
  Drain();
  // wh1 holds everything: one segment, shipbob never asked.
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;TSHIRT-S 0/1@WH1;GADGET-1 0/3@WH1;]\n");
  EXPECT_EQ(shipbob_.calls, 0);
}

TEST_F(FulfillmentFlowTest, RefusalReroutesToABackorderWhenNoOtherNodeHasTheUnits) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "SB", 4);
  Stock("GADGET-1", "WH1", 3);
  shipbob_.refuse = "unknown product TSHIRT-S";
  AcceptOrder();
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;GADGET-1 0/3@WH1;]\n"
            "main:14/2 ship@shipbob rejected [TSHIRT-S 0/1@SB;]\n"
            "main:14/3 backorder@wh1 held [TSHIRT-S 0/1;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto rejected, store_->GetSegment("main:14/2"));
  EXPECT_EQ(rejected->error, "unknown product TSHIRT-S");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto dead, store_->ListJobs({.state = store::JobState::kDead}));
  EXPECT_TRUE(dead.empty());  // handled: an exception on the segment, not a dead job
}

TEST_F(FulfillmentFlowTest, ARefusalAfterShippingBeganIsOnlyNoted) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "SB", 4);
  Stock("TSHIRT-S", "WH1", 4);
  Stock("GADGET-1", "WH1", 3);
  AcceptOrder();
  Drain();
  ASSERT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;TSHIRT-S 0/1@WH1;GADGET-1 0/3@WH1;]\n");
  // The provider took the segment, then refused it (an EDI 940 rejected by the partner's 997).
  Ship("warehouse", "W1", "main:14/1", {{"WID-BLUE", 2}});
  Drain();
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
    return flow_->EnqueueRefusal(tx, "main:14/1", "too late: partly shipped", "corr-r1");
  }));
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 partially_shipped [WID-BLUE 2/2@WH1;TSHIRT-S 0/1@WH1;GADGET-1 "
            "0/3@WH1;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto events, store_->ListTimeline("order:main:14", 100));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, "fulfillment.refusal_ignored");
  EXPECT_EQ(json::parse(events.back().detail_json)["segment_state"], "partially_shipped");
}

TEST_F(FulfillmentFlowTest, ARefusalOfAReleasedSegmentRejectsItAndRoutesItAgain) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "SB", 4);
  Stock("GADGET-1", "WH1", 3);
  AcceptOrder();
  Drain();
  ASSERT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;GADGET-1 0/3@WH1;]\n"
            "main:14/2 ship@shipbob released [TSHIRT-S 0/1@SB;]\n");
  Stock("WID-BLUE", "SB", 5);
  Stock("GADGET-1", "SB", 3);
  KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
    return flow_->EnqueueRefusal(tx, "main:14/1", "the partner's 997 rejected the 940",
                                 "corr-r2");
  }));
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 rejected [WID-BLUE 0/2@WH1;GADGET-1 0/3@WH1;]\n"
            "main:14/2 ship@shipbob released [TSHIRT-S 0/1@SB;]\n"
            "main:14/3 ship@shipbob released [WID-BLUE 0/2@SB;GADGET-1 0/3@SB;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto seg, store_->GetSegment("main:14/1"));
  EXPECT_EQ(seg->error, "the partner's 997 rejected the 940");
  ASSERT_EQ(shipbob_.created.size(), 2u);
  EXPECT_EQ(shipbob_.created[1].segment_id, "main:14/3");
}

TEST_F(FulfillmentFlowTest, AReleaseWhoseAnswerWasLostIsNotCreatedTwice) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "WH1", 5);
  Stock("GADGET-1", "WH1", 5);
  warehouse_.lose_next_answer = true;
  AcceptOrder();
  Drain();
  EXPECT_EQ(warehouse_.created.size(), 1u);
  EXPECT_EQ(warehouse_.calls, 2);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto seg, store_->GetSegment("main:14/1"));
  EXPECT_EQ(seg->state, "released");
  EXPECT_EQ(seg->provider_id, "P-main:14/1");
}

TEST_F(FulfillmentFlowTest, AShipmentForAnUnknownSegmentParksVisibly) {
  Ship("shipbob", "S9", "main:77/1", {{"A", 1}});
  Drain();
  KEELSON_ASSERT_OK_AND_ASSIGN(auto dead, store_->ListJobs({.state = store::JobState::kDead}));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].dead_reason, "business");
  EXPECT_THAT(dead[0].last_error, ::testing::HasSubstr("main:77/1"));
}

}  // namespace
}  // namespace keelson::flows
