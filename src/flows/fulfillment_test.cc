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
#include "tests/support/fake_erp.h"
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

// A shop that records the customer notes and order updates it is given; it can lose the answer
// to the next note (written, then the connection dropped).
class RecordingShop : public ShopWriteBack {
 public:
  absl::StatusOr<json> FetchOrder(int64_t) override { return absl::UnimplementedError("no"); }
  absl::StatusOr<std::optional<std::string>> GetOrderMeta(int64_t, std::string_view key) override {
    std::lock_guard<std::mutex> l(mu);
    auto it = meta.find(std::string(key));
    return it == meta.end() ? std::optional<std::string>() : std::optional(it->second);
  }
  absl::Status AddOrderNote(int64_t, std::string_view note) override {
    std::lock_guard<std::mutex> l(mu);
    private_notes.emplace_back(note);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> HasOrderNote(int64_t, std::string_view note) override {
    std::lock_guard<std::mutex> l(mu);
    ++lookups;
    return std::find(notes.begin(), notes.end(), note) != notes.end();
  }
  absl::Status SetOrderMeta(int64_t, std::string_view key, std::string_view value) override {
    std::lock_guard<std::mutex> l(mu);
    meta[std::string(key)] = std::string(value);
    return absl::OkStatus();
  }
  absl::Status AddCustomerNote(int64_t, std::string_view note) override {
    std::lock_guard<std::mutex> l(mu);
    notes.emplace_back(note);
    if (lose_next_note) {
      lose_next_note = false;
      return absl::UnavailableError("connection reset after the note was written");
    }
    return absl::OkStatus();
  }
  absl::Status UpdateOrder(int64_t, const ShopOrderUpdate& u) override {
    std::lock_guard<std::mutex> l(mu);
    ++updates;
    if (u.status) status = *u.status;
    for (const auto& [k, v] : u.meta) meta[k] = v;
    return absl::OkStatus();
  }
  std::mutex mu;
  std::vector<std::string> notes, private_notes;
  std::map<std::string, std::string> meta;
  std::string status = "processing";
  int updates = 0, lookups = 0;
  bool lose_next_note = false;
};

class FulfillmentFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    InventoryOptions io{.channels = {{.channel = "main", .locations = {"WH1", "SB"}}}};
    io.on_stock_arrived = [this](store::Tx& tx, std::string_view sku, std::string_view loc) {
      return flow_->OnStockArrived(tx, sku, loc);
    };
    inventory_ = std::make_unique<InventoryService>(nullptr, io);
    FulfillmentOptions fo;
    fo.nodes = {{.id = "wh1", .provider = "warehouse", .locations = {"WH1"}, .priority = 1},
                {.id = "shipbob", .kind = model::NodeKind::kThirdParty, .provider = "shipbob",
                 .locations = {"SB"}, .priority = 2}};
    fo.consume = [this](store::Tx& tx, std::string_view, std::string_view ref,
                        const std::vector<InventoryLine>& shipped) -> absl::Status {
      return inventory_->Consume(tx, ref, shipped).status();
    };
    fo.reserve = [this](store::Tx& tx, std::string_view store, std::string_view ref,
                        const std::vector<InventoryLine>& lines) -> absl::Status {
      return inventory_->ReserveAt(tx, ref, lines, store).status();
    };
    fo.write_off = [this](store::Tx& tx, std::string_view, std::string_view ref,
                          const std::vector<InventoryLine>& lines) -> absl::Status {
      return inventory_->WriteOff(tx, ref, lines).status();
    };
    fo.erp = &erp_;
    fo.shop_for = [this](std::string_view) -> ShopWriteBack* { return &shop_; };
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
      if (auto st = tx.SetOrderErp("main", 14, "created", "id-14", "SO1014"); !st.ok()) return st;
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
            std::vector<connectors::ShipmentLine> lines, bool closes_segment = false) {
    connectors::Shipment s{.provider = provider,
                           .shipment_id = id,
                           .segment_id = segment,
                           .carrier = "UPS",
                           .tracking_number = "1Z" + id,
                           .lines = lines,
                           .closes_segment = closes_segment};
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
      return flow_->EnqueueShipment(tx, s, "corr-ship-" + id);
    }));
  }

  // A WMS stock count of `sku` at `loc` (through the inventory service, as the API applies it).
  void Count(const std::string& id, const std::string& sku, const std::string& loc,
             int64_t on_hand) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
      return inventory_
          ->ApplyStockEvent(tx, {.event_id = id,
                                 .sku = sku,
                                 .location = loc,
                                 .on_hand = on_hand,
                                 .occurred_at = clock_.Now()})
          .status();
    }));
  }

  int64_t Reserved(const std::string& sku, const std::string& loc) {
    auto r = store_->GetReservations("main:14");
    EXPECT_TRUE(r.ok());
    int64_t n = 0;
    for (const auto& x : *r) {
      if (x.sku == sku && x.location == loc) n += x.reserved;
    }
    return n;
  }

  int Events(const std::string& kind) {
    auto events = store_->ListTimeline("order:main:14", 500);
    EXPECT_TRUE(events.ok());
    int n = 0;
    for (const auto& e : *events) n += e.kind == kind;
    return n;
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
  keelson::testing::FakeErp erp_;
  RecordingShop shop_;
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
  // Each posted to the ERP (cumulative totals, so the ERP holds exactly what shipped) and noted
  // for the customer in the shop, once.
  for (const auto& sh : shipments) {
    EXPECT_EQ(sh.erp_state, "posted") << sh.shipment_id;
    EXPECT_EQ(sh.shop_state, "written") << sh.shipment_id;
  }
  EXPECT_EQ(erp_.Shipped("id-14", "WID-BLUE"), 2);
  EXPECT_EQ(erp_.Shipped("id-14", "TSHIRT-S"), 1);
  EXPECT_EQ(erp_.Shipped("id-14", "GADGET-1"), 1);
  EXPECT_EQ(erp_.shipment_posts(), 3);
  ASSERT_EQ(shop_.notes.size(), 3u);
  EXPECT_EQ(shop_.notes[0],
            "Part of your order has shipped: 1 x T-Shirt - S (TSHIRT-S). "
            "Carrier: UPS. Tracking number: 1ZS1.");
  EXPECT_EQ(shop_.status, "processing");  // the backorder has not shipped
  EXPECT_EQ(shop_.meta[kFulfillmentStatusMetaKey], "partially_shipped");
  EXPECT_EQ(Events("erp.shipment_posted"), 3);
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

TEST_F(FulfillmentFlowTest, ABackorderIsReleasedWhenStockArrivesAndTheLastShipmentCompletes) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "SB", 4);
  Stock("GADGET-1", "WH1", 1);
  AcceptOrder();
  Drain();
  ASSERT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;GADGET-1 0/1@WH1;]\n"
            "main:14/2 ship@shipbob released [TSHIRT-S 0/1@SB;]\n"
            "main:14/3 backorder@wh1 held [GADGET-1 0/2;]\n");
  Ship("warehouse", "W1", "main:14/1", {{"WID-BLUE", 2}, {"GADGET-1", 1}});
  Ship("shipbob", "S1", "main:14/2", {{"TSHIRT-S", 1}});
  Drain();
  EXPECT_EQ(OnHand("GADGET-1", "WH1"), 0);

  // A count of 1 at WH1: one of the two held units can go; the hold keeps its id for it and the
  // other unit waits in a new hold.
  Count("c1", "GADGET-1", "WH1", 1);
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 shipped [WID-BLUE 2/2@WH1;GADGET-1 1/1@WH1;]\n"
            "main:14/2 ship@shipbob shipped [TSHIRT-S 1/1@SB;]\n"
            "main:14/3 ship@wh1 released [GADGET-1 0/1@WH1;]\n"
            "main:14/4 backorder@wh1 held [GADGET-1 0/1;]\n");
  // The order now holds that unit: nothing left to sell.
  EXPECT_EQ(Reserved("GADGET-1", "WH1"), 1);
  EXPECT_EQ(warehouse_.created.back().segment_id, "main:14/3");
  EXPECT_EQ(Events("fulfillment.hold_released"), 1);

  // A count that does not raise stock leaves the hold alone; the next receipt releases it.
  Count("c2", "GADGET-1", "WH1", 1);
  Drain();
  EXPECT_EQ(Events("fulfillment.hold_released"), 1);
  Ship("warehouse", "W2", "main:14/3", {{"GADGET-1", 1}});
  Drain();
  Count("c3", "GADGET-1", "WH1", 4);
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 shipped [WID-BLUE 2/2@WH1;GADGET-1 1/1@WH1;]\n"
            "main:14/2 ship@shipbob shipped [TSHIRT-S 1/1@SB;]\n"
            "main:14/3 ship@wh1 shipped [GADGET-1 1/1@WH1;]\n"
            "main:14/4 ship@wh1 released [GADGET-1 0/1@WH1;]\n");
  EXPECT_EQ(Reserved("GADGET-1", "WH1"), 1);
  EXPECT_EQ(shop_.status, "processing");
  Ship("warehouse", "W3", "main:14/4", {{"GADGET-1", 1}});
  Drain();
  EXPECT_EQ(OnHand("GADGET-1", "WH1"), 3);
  EXPECT_EQ(Reserved("GADGET-1", "WH1"), 0);
  EXPECT_EQ(erp_.Shipped("id-14", "GADGET-1"), 3);
  EXPECT_EQ(erp_.Shipped("id-14", "WID-BLUE"), 2);
  EXPECT_EQ(erp_.Shipped("id-14", "TSHIRT-S"), 1);
  ASSERT_EQ(shop_.notes.size(), 4u);
  EXPECT_EQ(shop_.notes[3],
            "The rest of your order has shipped: 1 x Gadget (GADGET-1). "
            "Carrier: UPS. Tracking number: 1ZW3.");
  EXPECT_EQ(shop_.status, "completed");
  EXPECT_EQ(shop_.meta[kFulfillmentStatusMetaKey], "shipped");
  json tracking = json::parse(shop_.meta[kTrackingMetaKey]);
  ASSERT_EQ(tracking.size(), 4u);
  EXPECT_EQ(tracking[3]["tracking_number"], "1ZW3");
  EXPECT_EQ(tracking[3]["shipment"], "warehouse/W3");
}

TEST_F(FulfillmentFlowTest, AnErpPostWhoseAnswerWasLostIsPostedOnce) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "WH1", 5);
  Stock("GADGET-1", "WH1", 5);
  AcceptOrder();
  Drain();
  erp_.LoseNextShipmentAnswer();
  shop_.lose_next_note = true;
  Ship("warehouse", "W1", "main:14/1", {{"WID-BLUE", 2}, {"TSHIRT-S", 1}, {"GADGET-1", 3}});
  Drain();
  EXPECT_EQ(erp_.shipment_posts(), 1);
  EXPECT_EQ(erp_.Shipped("id-14", "GADGET-1"), 3);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto shipments, store_->ListShipments("main:14"));
  ASSERT_EQ(shipments.size(), 1u);
  EXPECT_EQ(shipments[0].erp_state, "posted");
  EXPECT_EQ(shipments[0].shop_state, "written");
  // The retry looked the note up and found it: one note, the order completed.
  ASSERT_EQ(shop_.notes.size(), 1u);
  EXPECT_EQ(shop_.lookups, 1);
  EXPECT_EQ(shop_.notes[0],
            "Your order has shipped: 2 x Widget Blue (WID-BLUE), "
            "1 x T-Shirt - S (TSHIRT-S), 3 x Gadget (GADGET-1). Carrier: UPS. "
            "Tracking number: 1ZW1.");
  EXPECT_EQ(shop_.status, "completed");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto posted, store_->ListTimeline("order:main:14", 100));
  for (const auto& e : posted) {
    if (e.kind == "erp.shipment_posted") {
      EXPECT_EQ(json::parse(e.detail_json)["already_posted"], true) << e.detail_json;
    }
  }
}

TEST_F(FulfillmentFlowTest, AShipmentTheErpRefusesIsADeadLetterWithItsReason) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "WH1", 5);
  Stock("GADGET-1", "WH1", 5);
  AcceptOrder();
  Drain();
  erp_.RefuseShipments("cannot ship 3 more of SKU 'GADGET-1': 0 outstanding");
  Ship("warehouse", "W1", "main:14/1", {{"GADGET-1", 3}});
  Drain();
  KEELSON_ASSERT_OK_AND_ASSIGN(auto dead, store_->ListJobs({.state = store::JobState::kDead}));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].kind, kFulfillmentErpPostJobKind);
  EXPECT_EQ(dead[0].dead_reason, "business");
  EXPECT_THAT(dead[0].last_error, ::testing::HasSubstr("0 outstanding"));
  EXPECT_EQ(Events("erp.shipment_refused"), 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto shipments, store_->ListShipments("main:14"));
  EXPECT_EQ(shipments[0].erp_state, "pending");   // still owed to the ERP: visible, replayable
  EXPECT_EQ(shipments[0].shop_state, "written");  // the shop does not wait for the ERP

  // Fixed in the ERP, replayed: posted once.
  erp_.RefuseShipments("");
  KEELSON_ASSERT_OK(store_->ReplayJob(dead[0].id, clock_.Now()));
  Drain();
  EXPECT_EQ(erp_.Shipped("id-14", "GADGET-1"), 3);
  KEELSON_ASSERT_OK_AND_ASSIGN(shipments, store_->ListShipments("main:14"));
  EXPECT_EQ(shipments[0].erp_state, "posted");
}

TEST_F(FulfillmentFlowTest, AShortClosedSegmentWritesOffTheMissingUnitsAndRoutesThemElsewhere) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("WID-BLUE", "SB", 4);
  Stock("TSHIRT-S", "WH1", 5);
  Stock("GADGET-1", "WH1", 5);
  AcceptOrder();
  Drain();
  ASSERT_EQ(Plan(),
            "main:14/1 ship@wh1 released [WID-BLUE 0/2@WH1;TSHIRT-S 0/1@WH1;GADGET-1 0/3@WH1;]\n");
  // The warehouse finds one blue widget of two and says the other will not come.
  Ship("warehouse", "W1", "main:14/1", {{"WID-BLUE", 1}, {"TSHIRT-S", 1}, {"GADGET-1", 3}},
       /*closes_segment=*/true);
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 shipped [WID-BLUE 1/1@WH1;TSHIRT-S 1/1@WH1;GADGET-1 3/3@WH1;]\n"
            "main:14/2 ship@shipbob released [WID-BLUE 0/1@SB;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto closed, store_->GetSegment("main:14/1"));
  EXPECT_EQ(closed->error, "closed short by wh1: 1 x WID-BLUE not shipped, routed again");
  EXPECT_EQ(Events("fulfillment.short_shipped"), 1);
  // WH1: 5 − 1 shipped − 1 missing; the order holds nothing there but the unit at ShipBob.
  EXPECT_EQ(OnHand("WID-BLUE", "WH1"), 3);
  EXPECT_EQ(Reserved("WID-BLUE", "WH1"), 0);
  EXPECT_EQ(Reserved("WID-BLUE", "SB"), 1);
  ASSERT_EQ(shipbob_.created.size(), 1u);
  EXPECT_EQ(shipbob_.created[0].lines[0].quantity, 1);
  EXPECT_EQ(shop_.status, "processing");

  Ship("shipbob", "S1", "main:14/2", {{"WID-BLUE", 1}});
  Drain();
  EXPECT_EQ(OnHand("WID-BLUE", "SB"), 3);
  EXPECT_EQ(erp_.Shipped("id-14", "WID-BLUE"), 2);
  EXPECT_EQ(shop_.status, "completed");
}

TEST_F(FulfillmentFlowTest, AShortClosedSegmentWithNowhereElseToGoBecomesABackorder) {
  Stock("WID-BLUE", "WH1", 5);
  Stock("TSHIRT-S", "WH1", 5);
  Stock("GADGET-1", "WH1", 5);
  AcceptOrder();
  Drain();
  Ship("warehouse", "W1", "main:14/1", {{"WID-BLUE", 2}, {"TSHIRT-S", 1}, {"GADGET-1", 1}},
       /*closes_segment=*/true);
  Drain();
  EXPECT_EQ(Plan(),
            "main:14/1 ship@wh1 shipped [WID-BLUE 2/2@WH1;TSHIRT-S 1/1@WH1;GADGET-1 1/1@WH1;]\n"
            "main:14/2 backorder@shipbob held [GADGET-1 0/2;]\n");
  EXPECT_EQ(OnHand("GADGET-1", "WH1"), 2);  // 5 − 1 shipped − 2 written off
  EXPECT_EQ(Reserved("GADGET-1", "WH1"), 0);
  EXPECT_EQ(shop_.meta[kFulfillmentStatusMetaKey], "partially_shipped");
}

}  // namespace
}  // namespace keelson::flows
