// The EDI provider against a real store, the real fulfillment flow and inventory service, and the
// EDI warehouse simulator on the other side of a local folder (the SFTP transport passes the same
// conformance suite in edi/transport/transport_test.cc and carries the end-to-end test): 940s
// batched into interchanges with persistent control numbers, 945 / 856 shipments applied once
// with exact quantities, a file uploaded twice processed once, malformed files answered and kept,
// a 940 rejected by the partner re-routed, 846 levels into the ledger.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "connectors/fulfillment/edi/mapping.h"
#include "connectors/fulfillment/edi/provider.h"
#include "connectors/woocommerce/mapping.h"
#include "core/clock.h"
#include "edi/ack.h"
#include "edi/transaction_set.h"
#include "edi/transport/local_transport.h"
#include "edi/x12_writer.h"
#include "flows/fulfillment.h"
#include "flows/inventory.h"
#include "jobs/runner.h"
#include "sim/edi_warehouse.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/drain.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::connectors::edi {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
namespace x12 = keelson::edi;

// Records what it is given (the own warehouse a refused segment is routed to).
class RecordingProvider : public FulfillmentProvider {
 public:
  std::string_view name() const override { return "warehouse"; }
  absl::StatusOr<ReleaseResult> Release(const ReleaseRequest& req, const ReleaseOptions&) override {
    std::lock_guard<std::mutex> l(mu_);
    created.push_back(req);
    return ReleaseResult{"W-" + req.segment_id, false};
  }
  std::mutex mu_;
  std::vector<ReleaseRequest> created;
};

struct Line {
  std::string sku;
  int64_t quantity;
};

// One interchange from the partner (ACME3PL) to Keelson, counts and trailers filled in.
std::string PartnerFile(
    int64_t isa13, std::string_view functional_id, int64_t gs06,
    const std::vector<std::pair<std::string, std::vector<std::vector<std::string>>>>& sets,
    std::string receiver = "KEELSON") {
  x12::InterchangeWriter w({}, "\n");
  x12::EnvelopeParams p{
      .sender_id = "ACME3PL", .receiver_id = receiver, .now = absl::FromUnixSeconds(1'767'225'600)};
  EXPECT_TRUE(w.BeginInterchange(p, isa13).ok());
  EXPECT_TRUE(w.BeginGroup(functional_id, "ACME3PL", receiver, gs06).ok());
  int st = 0;
  for (const auto& [id, segments] : sets) {
    EXPECT_TRUE(w.BeginSet(id, absl::StrFormat("%04d", ++st)).ok());
    for (const auto& seg : segments) {
      std::vector<std::string> elements(seg.begin() + 1, seg.end());
      absl::Status s = w.Add(seg[0], elements);
      EXPECT_TRUE(s.ok()) << s;
    }
    EXPECT_TRUE(w.EndSet().ok());
  }
  EXPECT_TRUE(w.EndGroup().ok());
  auto text = w.EndInterchange();
  EXPECT_TRUE(text.ok());
  return *text;
}

class EdiProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    inventory_ = std::make_unique<flows::InventoryService>(
        nullptr,
        flows::InventoryOptions{.channels = {{.channel = "main", .locations = {"ACME", "WH1"}}}});
    options_.id = "acme";
    options_.sender_id = "KEELSON";
    options_.receiver_id = "ACME3PL";
    options_.transport = "local";
    options_.local_root = dir_.path();
    options_.settle = absl::ZeroDuration();
    options_.batch_window = absl::Seconds(1);
    options_.inventory_location = "ACME";
    ASSERT_THAT(ValidateEdiPartnerOptions(options_, "p"), IsEmpty());
    Start();
    sim_transport_ = x12::NewLocalTransport(dir_.path());
    sim_ = std::make_unique<sim::EdiWarehouseSim>(sim_transport_.get(), SimOptions());
  }

  virtual sim::EdiWarehouseSim::Options SimOptions() const { return {}; }

  // The provider, the flow and the job runner, on the store and folders there are (called again:
  // a restart of the process).
  void Start() {
    runner_.reset();
    EdiHooks hooks;
    hooks.shipment = [this](store::Tx& tx, const Shipment& s, std::string_view corr) {
      return flow_->EnqueueShipment(tx, s, corr);
    };
    hooks.refused = [this](store::Tx& tx, std::string_view segment, std::string_view reason,
                           std::string_view corr) {
      return flow_->EnqueueRefusal(tx, segment, reason, corr);
    };
    hooks.stock = [this](store::Tx& tx, const StockLevel& l) -> absl::StatusOr<std::string> {
      auto r = inventory_->ApplyStockEvent(tx, {.event_id = l.event_id,
                                                .sku = l.sku,
                                                .location = l.location,
                                                .on_hand = l.on_hand,
                                                .occurred_at = l.as_of,
                                                .source = l.source});
      if (!r.ok()) return r.status();
      return std::string(flows::StockEventResultName(*r));
    };
    provider_ = std::make_unique<EdiProvider>(options_, x12::NewLocalTransport(dir_.path()),
                                              store_.get(), &clock_, hooks);
    flows::FulfillmentOptions fo;
    fo.nodes = {{.id = "acme",
                 .kind = model::NodeKind::kThirdParty,
                 .provider = "edi:acme",
                 .locations = {"ACME"},
                 .priority = 1},
                {.id = "wh1", .provider = "warehouse", .locations = {"WH1"}, .priority = 2}};
    fo.consume = [this](store::Tx& tx, std::string_view, std::string_view ref,
                        const std::vector<flows::InventoryLine>& shipped) -> absl::Status {
      return inventory_->Consume(tx, ref, shipped).status();
    };
    fo.write_off = [this](store::Tx& tx, std::string_view, std::string_view ref,
                          const std::vector<flows::InventoryLine>& located) -> absl::Status {
      return inventory_->WriteOff(tx, ref, located).status();
    };
    flow_ = std::make_unique<flows::FulfillmentService>(
        std::map<std::string, FulfillmentProvider*, std::less<>>{{"edi:acme", provider_.get()},
                                                                 {"warehouse", &warehouse_}},
        [](std::string_view store, const json& j) {
          return connectors::woocommerce::MapOrder(store, j);
        },
        fo);
    handlers_ = std::make_unique<jobs::HandlerRegistry>();
    flow_->Register(*handlers_);
    RegisterEdiJobs(*handlers_, {provider_.get()});
    handlers_->Register("inventory.publish", [](jobs::JobContext&) { return absl::OkStatus(); });
    jobs::RunnerOptions ro;
    ro.owner = "test";
    runner_ = std::make_unique<jobs::Runner>(store_.get(), &clock_, handlers_.get(), ro);
  }

  void Drain() { keelson::testing::DrainJobs(*runner_, *store_, clock_); }

  void Stock(const std::string& sku, const std::string& loc, int64_t on_hand) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) {
      return tx
          .ApplyMovement({.sku = sku,
                          .location = loc,
                          .kind = model::MovementKind::kSetOnHand,
                          .quantity = on_hand})
          .status();
    }));
  }

  // A paid order held and reserved as order-to-cash leaves it, and its routing job queued.
  void AcceptOrder(int64_t id, const std::vector<Line>& lines) {
    json order = json::parse(keelson::testing::ReadFile(
        std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/order.created.body.json"));
    order["id"] = id;
    order["number"] = std::to_string(id);
    json items = json::array();
    for (size_t i = 0; i < lines.size(); ++i) {
      json item = order["line_items"][0];
      item["id"] = id * 10 + static_cast<int64_t>(i) + 1;
      item["sku"] = lines[i].sku;
      item["name"] = "Item " + lines[i].sku;
      item["quantity"] = lines[i].quantity;
      items.push_back(item);
    }
    order["line_items"] = items;
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) -> absl::Status {
      auto w = tx.PutOrderIfNewer({.store_id = "main",
                                   .order_id = id,
                                   .version = clock_.Now(),
                                   .status = "processing",
                                   .snapshot_json = order.dump(),
                                   .correlation_id = absl::StrCat("corr-", id)});
      if (!w.ok()) return w.status();
      std::vector<flows::InventoryLine> inv;
      for (const auto& l : lines) inv.push_back({l.sku, l.quantity});
      if (auto r = inventory_->Reserve(tx, absl::StrCat("main:", id), inv, "main"); !r.ok()) {
        return r.status();
      }
      return flow_->EnqueueRoute(tx, "main", id, absl::StrCat("corr-", id));
    }));
  }

  void Poll() {
    keelson::testing::EnqueueJob(*store_, clock_.Now(), provider_->PollJob());
    Drain();
  }

  std::vector<std::string> Files(const std::string& folder) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_.File(folder), ec)) {
      if (e.is_regular_file()) out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string Read(const std::string& path) { return keelson::testing::ReadFile(dir_.File(path)); }
  void Write(const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(dir_.File(path)).parent_path());
    std::ofstream(dir_.File(path)) << content;
  }

  // "main:7/1 ship@acme released [A 0/2;]" per segment.
  std::string Plan(int64_t id) {
    auto segs = store_->GetSegments(absl::StrCat("main:", id));
    EXPECT_TRUE(segs.ok());
    std::string out;
    for (const auto& s : *segs) {
      absl::StrAppend(&out, s.segment_id, " ", s.kind, "@", s.node_id, " ", s.state, " [");
      for (const auto& l : s.lines)
        absl::StrAppend(&out, l.sku, " ", l.shipped, "/", l.quantity, ";");
      absl::StrAppend(&out, "]\n");
    }
    return out;
  }

  std::vector<std::string> TimelineKinds(const std::string& entity) {
    auto events = store_->ListTimeline(entity, 1000);
    EXPECT_TRUE(events.ok());
    std::vector<std::string> out;
    for (const auto& e : *events) out.push_back(e.kind);
    return out;
  }

  json LastEvent(const std::string& entity, const std::string& kind) {
    auto events = store_->ListTimeline(entity, 1000);
    EXPECT_TRUE(events.ok());
    json last;
    for (const auto& e : *events) {
      if (e.kind == kind) last = json::parse(e.detail_json);
    }
    return last;
  }

  int64_t CountJobs(const std::string& kind, std::optional<store::JobState> state = {}) {
    auto n = store_->CountJobs({.state = state, .kind = kind});
    EXPECT_TRUE(n.ok());
    return *n;
  }

  static int64_t CountSets(const std::string& x12, const std::string& id) {
    int64_t n = 0;
    for (size_t at = x12.find("ST*" + id); at != std::string::npos;
         at = x12.find("ST*" + id, at + 1)) {
      ++n;
    }
    return n;
  }

  std::vector<store::EdiDocument> Documents(std::string state = "") {
    auto d = store_->ListEdiDocuments({.partner = "acme", .state = std::move(state)});
    EXPECT_TRUE(d.ok());
    return *d;
  }

  keelson::testing::TempDir dir_;
  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<flows::InventoryService> inventory_;
  EdiPartnerOptions options_;
  std::unique_ptr<EdiProvider> provider_;
  RecordingProvider warehouse_;
  std::unique_ptr<flows::FulfillmentService> flow_;
  std::unique_ptr<jobs::HandlerRegistry> handlers_;
  std::unique_ptr<jobs::Runner> runner_;
  std::unique_ptr<x12::FileTransport> sim_transport_;
  std::unique_ptr<sim::EdiWarehouseSim> sim_;
};

TEST_F(EdiProviderTest, ReleasesBatchIntoOneInterchangeAnd945sShipExactQuantities) {
  Stock("WID-BLUE", "ACME", 100);
  Stock("WID-RED", "ACME", 100);
  AcceptOrder(101, {{"WID-BLUE", 2}, {"WID-RED", 1}});
  AcceptOrder(102, {{"WID-BLUE", 5}});
  AcceptOrder(103, {{"WID-RED", 3}});
  Drain();
  EXPECT_EQ(Plan(101), "main:101/1 ship@acme released [WID-BLUE 0/2;WID-RED 0/1;]\n");
  EXPECT_EQ(CountJobs(kEdiSendJobKind), 1);  // the first release queued it; the others rode along
  // One interchange, three 940s, control numbers 1 / 1 / 0001-0003.
  ASSERT_THAT(Files("to_partner"), ElementsAre("keelson_940_000000001.x12"));
  const std::string out = Read("to_partner/keelson_940_000000001.x12");
  EXPECT_EQ(CountSets(out, "940"), 3);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto sets, x12::ReadTransactionSets(out));
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].isa[6], "KEELSON        ");
  EXPECT_EQ(sets[0].isa[8], "ACME3PL        ");
  EXPECT_EQ(sets[0].isa[13], "000000001");
  EXPECT_EQ(sets[0].gs[1], "OW");
  EXPECT_EQ(sets[0].gs[6], "1");
  EXPECT_EQ(sets[2].control_number, "0003");
  EXPECT_NE(out.find("W05*N*main:101/1*101~"), std::string::npos) << out;
  EXPECT_NE(out.find("N1*ST*Erika Mustermann~\nN3*Hauptstr. 5~\nN4*Berlin**10115*DE~"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("W01*2*EA**SK*WID-BLUE~\nG69*Item WID-BLUE~\nN9*LI*1011~"), std::string::npos)
      << out;
  auto docs = Documents();
  ASSERT_EQ(docs.size(), 3u);
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(docs[i].state, "sent");
    EXPECT_EQ(docs[i].interchange, 1);
    EXPECT_EQ(docs[i].group, 1);
    EXPECT_EQ(docs[i].set_control, absl::StrCat("000", i + 1));
  }

  // The warehouse answers: a 997 (its ISA13 1), then the 945s (its ISA13 2).
  KEELSON_ASSERT_OK_AND_ASSIGN(int handled, sim_->PollOnce());
  EXPECT_EQ(handled, 1);
  EXPECT_THAT(Files("from_partner"),
              ElementsAre("acme_945_000000002.x12", "acme_997_000000001.x12"));
  EXPECT_THAT(Files("to_partner/done"), ElementsAre("keelson_940_000000001.x12"));
  Poll();
  EXPECT_EQ(Plan(101), "main:101/1 ship@acme shipped [WID-BLUE 2/2;WID-RED 1/1;]\n");
  EXPECT_EQ(Plan(102), "main:102/1 ship@acme shipped [WID-BLUE 5/5;]\n");
  EXPECT_EQ(Plan(103), "main:103/1 ship@acme shipped [WID-RED 3/3;]\n");
  for (const auto& d : Documents()) EXPECT_EQ(d.state, "accepted") << d.ref;
  EXPECT_THAT(Files("from_partner"), IsEmpty());
  EXPECT_THAT(Files("from_partner/archive"),
              ElementsAre("acme_945_000000002.x12", "acme_997_000000001.x12"));
  // Keelson's 997 for the 945 group (none for the partner's 997: acknowledgments are not acked).
  ASSERT_THAT(Files("to_partner"), ElementsAre("keelson_997_000000002.x12"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto acks,
                               x12::ReadAcks(Read("to_partner/keelson_997_000000002.x12")));
  ASSERT_EQ(acks.acks.size(), 1u);
  EXPECT_EQ(acks.acks[0].functional_id, "SW");
  EXPECT_EQ(acks.acks[0].code, "A");
  EXPECT_EQ(acks.acks[0].received, 3);
  EXPECT_EQ(acks.acks[0].accepted, 3);

  KEELSON_ASSERT_OK_AND_ASSIGN(auto shipments, store_->ListShipments("main:101"));
  ASSERT_EQ(shipments.size(), 1u);
  EXPECT_EQ(shipments[0].provider, "edi:acme");
  EXPECT_EQ(shipments[0].shipment_id, "ACME3PL-SH1");
  EXPECT_EQ(shipments[0].carrier, "UPSN");
  EXPECT_EQ(shipments[0].tracking_number, "1ZUPSN0000000001");
  // The units left the 3PL's shelf.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto blue, store_->GetPositions("WID-BLUE"));
  ASSERT_EQ(blue.size(), 1u);
  EXPECT_EQ(blue[0].on_hand, 93);
  EXPECT_EQ(blue[0].reserved, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto in,
                               store_->ListEdiFiles({.partner = "acme", .direction = "in"}));
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].state, "processed");
  EXPECT_EQ(in[1].state, "processed");
  EXPECT_THAT(TimelineKinds("order:main:101"),
              ::testing::IsSupersetOf({"fulfillment.routed", "fulfillment.released", "edi.940_sent",
                                       "edi.940_accepted", "fulfillment.shipped"}));
  // The warehouse reads Keelson's 997.
  KEELSON_ASSERT_OK_AND_ASSIGN(handled, sim_->PollOnce());
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(sim_->stats().acks_received, 1);
  EXPECT_EQ(sim_->stats().acks_rejected, 0);
  EXPECT_EQ(CountJobs(flows::kFulfillmentShipmentJobKind, store::JobState::kDone), 3);
}

TEST_F(EdiProviderTest, ControlNumbersArePerPartnerPersistentAndNeverReused) {
  Stock("WID-BLUE", "ACME", 100);
  AcceptOrder(111, {{"WID-BLUE", 1}});
  Drain();
  KEELSON_ASSERT_OK_AND_ASSIGN(int handled, sim_->PollOnce());
  ASSERT_EQ(handled, 1);
  Poll();  // answers the 945 with Keelson's 997: ISA13 2, GS06 2
  ASSERT_THAT(Files("to_partner"), ElementsAre("keelson_997_000000002.x12"));
  Start();  // a restart: the counters are in the store
  AcceptOrder(112, {{"WID-BLUE", 1}});
  Drain();
  ASSERT_THAT(Files("to_partner"),
              ElementsAre("keelson_940_000000003.x12", "keelson_997_000000002.x12"));
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto sets, x12::ReadTransactionSets(Read("to_partner/keelson_940_000000003.x12")));
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].isa[13], "000000003");
  EXPECT_EQ(sets[0].gs[6], "3");
  EXPECT_EQ(sets[0].control_number, "0001");
}

TEST_F(EdiProviderTest, AFileUploadedTwiceUnderItsNameOrAnotherIsProcessedOnce) {
  Stock("WID-BLUE", "ACME", 100);
  AcceptOrder(121, {{"WID-BLUE", 4}});
  Drain();
  KEELSON_ASSERT_OK_AND_ASSIGN(int handled, sim_->PollOnce());
  ASSERT_EQ(handled, 1);
  Poll();
  ASSERT_EQ(Plan(121), "main:121/1 ship@acme shipped [WID-BLUE 4/4;]\n");
  // The partner's translator sends the 945 file again, once as it was and once renamed.
  const std::string again = Read("from_partner/archive/acme_945_000000002.x12");
  Write("from_partner/acme_945_000000002.x12", again);
  Write("from_partner/RESEND_acme_945.x12", again);
  Poll();
  EXPECT_EQ(Plan(121), "main:121/1 ship@acme shipped [WID-BLUE 4/4;]\n");
  EXPECT_EQ(CountJobs(flows::kFulfillmentShipmentJobKind), 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto blue, store_->GetPositions("WID-BLUE"));
  EXPECT_EQ(blue[0].on_hand, 96);
  // Both archived (the same name with the time added), no answer sent, noted on the timeline.
  const std::string stamp = absl::FormatTime("%Y%m%dT%H%M%SZ", clock_.Now(), absl::UTCTimeZone());
  EXPECT_THAT(Files("from_partner"), IsEmpty());
  EXPECT_THAT(Files("from_partner/archive"),
              ElementsAre("RESEND_acme_945.x12", "acme_945_000000002.x12",
                          "acme_945_000000002.x12." + stamp, "acme_997_000000001.x12"));
  EXPECT_THAT(Files("to_partner"), ElementsAre("keelson_997_000000002.x12"));
  auto kinds = TimelineKinds("edi:acme");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "edi.file_duplicate"), 2);
  json dup = LastEvent("edi:acme", "edi.file_duplicate");
  EXPECT_EQ(dup["first_file"], "acme_945_000000002.x12");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto in,
                               store_->ListEdiFiles({.partner = "acme", .direction = "in"}));
  EXPECT_EQ(in.size(), 2u);
}

TEST_F(EdiProviderTest, MalformedFilesAreAnsweredWith997OrTa1AndKeptInTheErrorFolder) {
  // A 945 whose W12 quantity is not a number; a 945 addressed to someone else; not X12 at all.
  Write("from_partner/bad_945.x12",
        PartnerFile(77, "SW", 77,
                    {{"945",
                      {{"W06", "F", "main:1/1", "20260101", "SHIP-77"},
                       {"W27", "U", "UPSN"},
                       {"W12", "CC", "abc", "1", "0", "EA", "", "SK", "WID-BLUE"},
                       {"W03", "1"}}}}));
  Write("from_partner/not_for_us.x12",
        PartnerFile(78, "SW", 78,
                    {{"945",
                      {{"W06", "F", "main:1/1", "20260101", "SHIP-78"},
                       {"W12", "CC", "1", "1", "0", "EA", "", "SK", "WID-BLUE"}}}},
                    "SOMEONE"));
  Write("from_partner/garbage.txt", "this is not X12\n");
  Poll();
  EXPECT_EQ(CountJobs(kEdiPollJobKind, store::JobState::kDone), 1);  // the poller carried on
  EXPECT_EQ(CountJobs(flows::kFulfillmentShipmentJobKind), 0);
  EXPECT_THAT(Files("from_partner"), IsEmpty());
  EXPECT_THAT(Files("from_partner/error"),
              ElementsAre("bad_945.x12", "garbage.txt", "not_for_us.x12"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto in,
                               store_->ListEdiFiles({.partner = "acme", .direction = "in"}));
  ASSERT_EQ(in.size(), 3u);
  std::map<std::string, json> detail;
  for (const auto& f : in) {
    EXPECT_EQ(f.state, "rejected") << f.name;
    detail[f.name] = json::parse(f.detail_json);
  }
  EXPECT_EQ(detail["bad_945.x12"]["errors"][0],
            "set 945 0001 rejected: AK5 R 5: W12 at segment 4: segment W12 has data element "
            "errors: W1202 'abc' invalid character in data element")
      << detail["bad_945.x12"].dump();
  EXPECT_EQ(detail["not_for_us.x12"]["errors"][0],
            "interchange 000000078 at byte 0 rejected: TA1 R 009 (unknown interchange receiver "
            "ID): ISA08 \"SOMEONE\" is not Keelson's id \"KEELSON\"")
      << detail["not_for_us.x12"].dump();
  EXPECT_EQ(detail["garbage.txt"]["errors"][1], "no X12 interchange in the file")
      << detail["garbage.txt"].dump();
  // The answers: a 997 rejecting the set (AK3/AK4 naming W1202), a TA1 R 009; none for bytes
  // that name nobody to answer.
  std::string reply_997, reply_ta1;
  for (const auto& f : Files("to_partner")) {
    if (f.find("_997_") != std::string::npos) reply_997 = Read("to_partner/" + f);
    if (f.find("_ta1_") != std::string::npos) reply_ta1 = Read("to_partner/" + f);
  }
  ASSERT_EQ(Files("to_partner").size(), 2u);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto acks, x12::ReadAcks(reply_997));
  ASSERT_EQ(acks.acks.size(), 1u);
  EXPECT_EQ(acks.acks[0].group_control_number, "77");
  EXPECT_EQ(acks.acks[0].code, "R");
  ASSERT_EQ(acks.acks[0].sets.size(), 1u);
  EXPECT_EQ(acks.acks[0].sets[0].code, "R");
  EXPECT_THAT(acks.acks[0].sets[0].error_codes, ElementsAre("5"));
  ASSERT_EQ(acks.acks[0].sets[0].segment_notes.size(), 1u);
  EXPECT_EQ(acks.acks[0].sets[0].segment_notes[0].segment_id, "W12");
  EXPECT_NE(reply_997.find("AK4*2*330*6*abc~"), std::string::npos) << reply_997;
  KEELSON_ASSERT_OK_AND_ASSIGN(auto ta1, x12::ReadAcks(reply_ta1));
  ASSERT_EQ(ta1.ta1s.size(), 1u);
  EXPECT_EQ(ta1.ta1s[0].control_number, "000000078");
  EXPECT_EQ(ta1.ta1s[0].ack, "R");
  EXPECT_EQ(ta1.ta1s[0].note_code, "009");
  auto kinds = TimelineKinds("edi:acme");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "edi.file_rejected"), 3);
}

class EdiRejectingWarehouseTest : public EdiProviderTest {
 protected:
  sim::EdiWarehouseSim::Options SimOptions() const override {
    sim::EdiWarehouseSim::Options o;
    o.reject_every = 2;
    return o;
  }
};

TEST_F(EdiRejectingWarehouseTest, A940RejectedByThePartners997IsRejectedAndRerouted) {
  Stock("WID-BLUE", "ACME", 10);
  Stock("WID-RED", "ACME", 10);
  Stock("WID-RED", "WH1", 10);
  AcceptOrder(201, {{"WID-BLUE", 2}});
  AcceptOrder(202, {{"WID-RED", 1}});
  Drain();
  KEELSON_ASSERT_OK_AND_ASSIGN(int handled, sim_->PollOnce());
  ASSERT_EQ(handled, 1);
  EXPECT_EQ(sim_->stats().orders_rejected, 1);
  EXPECT_EQ(sim_->stats().shipments, 1);
  Poll();
  EXPECT_EQ(Plan(201), "main:201/1 ship@acme shipped [WID-BLUE 2/2;]\n");
  EXPECT_EQ(Plan(202),
            "main:202/1 ship@acme rejected [WID-RED 0/1;]\n"
            "main:202/2 ship@wh1 released [WID-RED 0/1;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto seg, store_->GetSegment("main:202/1"));
  EXPECT_EQ(seg->error,
            "the partner's 997 rejected the 940 (group 1, set 0002): AK5 R 5 (one or more "
            "segments in error); W01 at segment 8: AK304 8 (segment has data element errors)");
  ASSERT_EQ(warehouse_.created.size(), 1u);
  EXPECT_EQ(warehouse_.created[0].segment_id, "main:202/2");
  auto docs = Documents();
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].state, "accepted");
  EXPECT_EQ(docs[1].state, "rejected");
  EXPECT_EQ(json::parse(docs[1].ack_json)["code"], "R");
  EXPECT_THAT(TimelineKinds("order:main:202"),
              ::testing::IsSupersetOf({"edi.940_rejected", "fulfillment.rejected"}));
}

class EdiShortWarehouseTest : public EdiProviderTest {
 protected:
  sim::EdiWarehouseSim::Options SimOptions() const override {
    sim::EdiWarehouseSim::Options o;
    o.short_every = 1;
    return o;
  }
};

TEST_F(EdiShortWarehouseTest, AFinal945ShortOfAUnitClosesTheSegmentAndTheUnitIsRoutedAgain) {
  Stock("WID-BLUE", "ACME", 10);
  Stock("WID-BLUE", "WH1", 10);
  AcceptOrder(701, {{"WID-BLUE", 3}});
  Drain();
  KEELSON_ASSERT_OK_AND_ASSIGN(int handled, sim_->PollOnce());
  ASSERT_EQ(handled, 1);
  Poll();
  // The segment ends with what shipped; the unit the warehouse could not find goes to WH1.
  EXPECT_EQ(Plan(701),
            "main:701/1 ship@acme shipped [WID-BLUE 2/2;]\n"
            "main:701/2 ship@wh1 released [WID-BLUE 0/1;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto blue, store_->GetPositions("WID-BLUE"));
  ASSERT_EQ(blue.size(), 2u);
  EXPECT_EQ(blue[0].location, "ACME");
  EXPECT_EQ(blue[0].on_hand, 7);  // 2 shipped, 1 written off
  ASSERT_EQ(warehouse_.created.size(), 1u);
  EXPECT_EQ(warehouse_.created[0].lines[0].quantity, 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto shipments, store_->ListShipments("main:701"));
  ASSERT_EQ(shipments.size(), 1u);
  EXPECT_EQ(shipments[0].shipment_id, "ACME3PL-SH1");
}

TEST_F(EdiProviderTest, ATa1RejectionRefusesEveryOrderOfThatInterchange) {
  Stock("WID-BLUE", "ACME", 10);
  Stock("WID-BLUE", "WH1", 10);
  AcceptOrder(301, {{"WID-BLUE", 1}});
  AcceptOrder(302, {{"WID-BLUE", 2}});
  Drain();
  ASSERT_THAT(Files("to_partner"), ElementsAre("keelson_940_000000001.x12"));
  x12::InterchangeWriter w({}, "\n");
  KEELSON_ASSERT_OK(w.BeginInterchange(
      {.sender_id = "ACME3PL", .receiver_id = "KEELSON", .now = clock_.Now()}, 900));
  KEELSON_ASSERT_OK(w.Add("TA1", {"000000001", "260101", "0000", "R", "022"}));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string ta1, w.EndInterchange());
  Write("from_partner/ta1_900.x12", ta1);
  Poll();
  EXPECT_EQ(Plan(301),
            "main:301/1 ship@acme rejected [WID-BLUE 0/1;]\n"
            "main:301/2 ship@wh1 released [WID-BLUE 0/1;]\n");
  EXPECT_EQ(Plan(302),
            "main:302/1 ship@acme rejected [WID-BLUE 0/2;]\n"
            "main:302/2 ship@wh1 released [WID-BLUE 0/2;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto seg, store_->GetSegment("main:301/1"));
  EXPECT_EQ(seg->error,
            "the partner's TA1 rejected interchange 000000001: TA105 022 (invalid control "
            "structure)");
  EXPECT_THAT(Files("from_partner/archive"), ElementsAre("ta1_900.x12"));
}

TEST_F(EdiProviderTest, An856ShipsThroughItsHlHierarchy) {
  Stock("WID-BLUE", "ACME", 10);
  Stock("WID-RED", "ACME", 10);
  AcceptOrder(401, {{"WID-BLUE", 3}, {"WID-RED", 2}});
  Drain();
  Write("from_partner/asn_1.x12",
        PartnerFile(501, "SH", 501,
                    {{"856",
                      {{"BSN", "00", "ASN-401", "20260102", "1200", "0001"},
                       {"HL", "1", "", "S"},
                       {"TD5", "B", "2", "FDEG"},
                       {"REF", "BM", "BOL-401"},
                       {"DTM", "011", "20260102"},
                       {"HL", "2", "1", "O"},
                       {"PRF", "main:401/1"},
                       {"HL", "3", "2", "P"},
                       {"MAN", "GM", "00012345670000000017"},
                       {"HL", "4", "3", "I"},
                       {"LIN", "", "SK", "WID-BLUE"},
                       {"SN1", "", "2", "EA"},
                       {"HL", "5", "3", "I"},
                       {"LIN", "", "SK", "WID-RED"},
                       {"SN1", "", "2", "EA"},
                       {"HL", "6", "2", "P"},
                       {"MAN", "GM", "00012345670000000024"},
                       {"HL", "7", "6", "I"},
                       {"LIN", "", "SK", "WID-BLUE"},
                       {"SN1", "", "1", "EA"},
                       {"CTT", "7"}}}}));
  Poll();
  EXPECT_EQ(Plan(401), "main:401/1 ship@acme shipped [WID-BLUE 3/3;WID-RED 2/2;]\n");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto shipments, store_->ListShipments("main:401"));
  ASSERT_EQ(shipments.size(), 1u);
  EXPECT_EQ(shipments[0].shipment_id, "ASN-401");
  EXPECT_EQ(shipments[0].carrier, "FDEG");
  EXPECT_EQ(shipments[0].tracking_number, "BOL-401");
  EXPECT_EQ(shipments[0].shipped_at, absl::FromUnixSeconds(1'767'225'600 + 86400));
  EXPECT_THAT(Files("from_partner/archive"), ElementsAre("asn_1.x12"));
  ASSERT_EQ(Files("to_partner").size(), 2u);  // the 940 and the 997 for the 856
  KEELSON_ASSERT_OK_AND_ASSIGN(auto acks,
                               x12::ReadAcks(Read("to_partner/" + Files("to_partner")[1])));
  ASSERT_EQ(acks.acks.size(), 1u);
  EXPECT_EQ(acks.acks[0].functional_id, "SH");
  EXPECT_EQ(acks.acks[0].code, "A");
}

TEST_F(EdiProviderTest, An846SetsTheLedgerAndRecordsTheDrift) {
  Stock("WID-BLUE", "ACME", 10);
  const std::string advice = PartnerFile(601, "IB", 601,
                                         {{"846",
                                           {{"BIA", "00", "MM", "INV-601", "20260101"},
                                            {"N1", "WH", "ACME EAST", "92", "ACME"},
                                            {"LIN", "", "SK", "WID-BLUE"},
                                            {"QTY", "17", "40", "EA"},
                                            {"LIN", "", "SK", "WID-RED"},
                                            {"QTY", "33", "7", "EA"},
                                            {"LIN", "", "SK", "WID-GREEN"}}}});
  Write("from_partner/inv_601.x12", advice);
  Poll();
  KEELSON_ASSERT_OK_AND_ASSIGN(auto blue, store_->GetPositions("WID-BLUE"));
  ASSERT_EQ(blue.size(), 1u);
  EXPECT_EQ(blue[0].on_hand, 40);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto red, store_->GetPositions("WID-RED"));
  ASSERT_EQ(red.size(), 1u);
  EXPECT_EQ(red[0].location, "ACME");
  EXPECT_EQ(red[0].on_hand, 7);
  json e = LastEvent("edi:acme", "edi.inventory_advice");
  EXPECT_EQ(e["reference"], "INV-601");
  EXPECT_EQ(e["items"], 2);
  EXPECT_EQ(e["drifted"], 2);
  EXPECT_EQ(e["levels"][0], json({{"sku", "WID-BLUE"},
                                  {"reported", 40},
                                  {"ledger", 10},
                                  {"drift", 30},
                                  {"ledger_result", "applied"}}));
  EXPECT_EQ(e["levels"][1], json({{"sku", "WID-RED"},
                                  {"reported", 7},
                                  {"ledger", 0},
                                  {"drift", 7},
                                  {"ledger_result", "applied"}}));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto in,
                               store_->ListEdiFiles({.partner = "acme", .direction = "in"}));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].state, "processed");
  EXPECT_THAT(json::parse(in[0].detail_json)["notes"],
              ElementsAre("set 846 0001: item at segment 8 has no SKU or no quantity of a "
                          "configured qualifier"));
}

TEST_F(EdiProviderTest, ReleaseIsIdempotentBySegmentIdAndRefusesWhatX12CannotSay) {
  ReleaseRequest req{
      .segment_id = "main:9/1",
      .order_ref = "main:9",
      .node_id = "acme",
      .order_number = "9",
      .ship_to = {.first_name = "Ada", .last_name = "L*ce", .city = "London", .country = "GB"},
      .lines = {{91, "WID-BLUE", "Widget ~ blue", 2}}};
  for (int i = 0; i < 2; ++i) {
    KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult r, provider_->Release(req, {}));
    EXPECT_EQ(r.provider_id, "940:main:9/1");
    EXPECT_FALSE(r.already_existed);
    ASSERT_TRUE(r.commit);
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](store::Tx& tx) { return r.commit(tx); }));
  }
  auto docs = Documents();
  ASSERT_EQ(docs.size(), 1u);
  auto order = OrderFromJson(json::parse(docs[0].body_json));
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->ship_to.name, "Ada L ce");  // free text loses the delimiters
  EXPECT_EQ(order->lines[0].description, "Widget   blue");
  EXPECT_EQ(CountJobs(kEdiSendJobKind), 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(ReleaseResult again,
                               provider_->Release(req, {.verify_first = true}));
  EXPECT_TRUE(again.already_existed);
  EXPECT_FALSE(again.commit);
  req.lines[0].sku = "WID*BLUE";  // an identifier is never changed: refused (routed elsewhere)
  EXPECT_THAT(provider_->Release(req, {}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EdiProviderTest, AFileStillBeingUploadedIsLeftAlone) {
  Write("from_partner/acme_945_7.x12.part", "ISA*00*");
  Poll();
  EXPECT_THAT(Files("from_partner"), ElementsAre("acme_945_7.x12.part"));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto in, store_->ListEdiFiles({.partner = "acme"}));
  EXPECT_THAT(in, IsEmpty());
}

}  // namespace
}  // namespace keelson::connectors::edi
