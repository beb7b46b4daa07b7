// EDI fulfillment end to end over the real sshd (scripts/test-services.sh; skipped without it):
// 10,000 orders the ERP has accepted are routed to an EDI 3PL, released as 940s batched into
// interchanges, written over SFTP; the EDI warehouse simulator (its own SFTP session) answers each
// interchange with a 997 and 945s; Keelson polls them over SFTP, answers with its 997s, and the
// shipments are applied. Every line's shipped quantity is checked, and every file counted.
//
// In-process (store on a SQLite file, the job runner's threads, the real fulfillment flow,
// inventory service and EDI provider), starting from orders already accepted by the ERP:
// order-to-cash through webhooks is measured elsewhere (docs/benchmarks.md). The clock is a
// FakeClock so the batching is exact: every release is queued before the batch window ends, then
// the window passes and the send job writes 10 interchanges of 1,000 940s.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "connectors/fulfillment/edi/provider.h"
#include "connectors/woocommerce/mapping.h"
#include "core/clock.h"
#include "edi/transport/sftp_transport.h"
#include "flows/fulfillment.h"
#include "flows/inventory.h"
#include "jobs/runner.h"
#include "sim/edi_warehouse.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sftp_env.h"
#include "tests/support/status_matchers.h"

namespace keelson {
namespace {

using json = nlohmann::json;
namespace cedi = connectors::edi;

constexpr int kOrders = 10'000;
constexpr int kBatch = 1'000;  // 940s per interchange

struct Want {
  int64_t line_id;
  std::string sku;
  int64_t quantity;
};

class EdiTenThousandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = testing::GetSftpEnv();
    if (!env) GTEST_SKIP() << testing::SftpSkipReason();
    env_ = *env;
    root_ = absl::StrCat(env_.root, "/e2e-", getpid());
  }
  void TearDown() override {
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }
  size_t FilesIn(const std::string& folder) {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root_ + "/" + folder, ec)) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }

  testing::SftpEnv env_;
  std::string root_;
  testing::TempDir dir_;
};

TEST_F(EdiTenThousandTest, TenThousandOrdersShipThrough940sAnd945sOverSftpWithExactQuantities) {
  const auto wall_start = std::chrono::steady_clock::now();
  core::FakeClock clock;
  KEELSON_ASSERT_OK_AND_ASSIGN(auto store, store::OpenSqliteStore({.path = dir_.File("k.db")}));

  // The partner: Keelson's side and the warehouse's side, each with its own SFTP session.
  cedi::EdiPartnerOptions o;
  o.id = "acme";
  o.sender_id = "KEELSON";
  o.receiver_id = "ACME3PL";
  o.transport = "sftp";
  o.sftp = env_.options;
  o.outbound_folder = root_ + "/to_acme";
  o.inbound_folder = root_ + "/from_acme";
  o.archive_folder = root_ + "/from_acme/archive";
  o.error_folder = root_ + "/from_acme/error";
  o.settle = absl::ZeroDuration();  // the simulator uploads by rename
  o.batch_window = absl::Seconds(5);
  o.max_batch = kBatch;
  o.max_files_per_poll = 100;
  ASSERT_THAT(cedi::ValidateEdiPartnerOptions(o, "p"), ::testing::IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(auto keelson_sftp, keelson::edi::NewSftpTransport(env_.options));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto warehouse_sftp, keelson::edi::NewSftpTransport(env_.options));
  KEELSON_ASSERT_OK(keelson_sftp->MakeDirs(o.outbound_folder));
  KEELSON_ASSERT_OK(keelson_sftp->MakeDirs(o.inbound_folder));

  flows::InventoryService inventory(
      nullptr, flows::InventoryOptions{.channels = {{.channel = "main", .locations = {"ACME"}}}});
  std::unique_ptr<flows::FulfillmentService> flow;
  cedi::EdiHooks hooks;
  hooks.shipment = [&flow](store::Tx& tx, const connectors::Shipment& s, std::string_view c) {
    return flow->EnqueueShipment(tx, s, c);
  };
  hooks.refused = [&flow](store::Tx& tx, std::string_view seg, std::string_view why,
                          std::string_view c) { return flow->EnqueueRefusal(tx, seg, why, c); };
  cedi::EdiProvider provider(o, std::move(keelson_sftp), store.get(), &clock, hooks);
  flows::FulfillmentOptions fo;
  fo.nodes = {{.id = "acme-east",
               .kind = model::NodeKind::kThirdParty,
               .provider = "edi:acme",
               .locations = {"ACME"}}};
  fo.consume = [&inventory](store::Tx& tx, std::string_view, std::string_view ref,
                            const std::vector<flows::InventoryLine>& shipped) -> absl::Status {
    return inventory.Consume(tx, ref, shipped).status();
  };
  flow = std::make_unique<flows::FulfillmentService>(
      std::map<std::string, connectors::FulfillmentProvider*, std::less<>>{{"edi:acme", &provider}},
      [](std::string_view s, const json& j) { return connectors::woocommerce::MapOrder(s, j); },
      fo);
  jobs::HandlerRegistry handlers;
  flow->Register(handlers);
  cedi::RegisterEdiJobs(handlers, {&provider});
  handlers.Register("inventory.publish", [](jobs::JobContext&) { return absl::OkStatus(); });

  // 10,000 paid orders the ERP has accepted, with 1-3 lines of 20 SKUs, reserved at ACME.
  std::mt19937 rng(42);
  std::map<int64_t, std::vector<Want>> want;
  const json fixture = json::parse(testing::ReadFile(
      std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/order.created.body.json"));
  KEELSON_ASSERT_OK(store->Transact(clock.Now(), [&](store::Tx& tx) -> absl::Status {
    for (int s = 0; s < 20; ++s) {
      auto p = tx.ApplyMovement({.sku = absl::StrCat("SKU-", s),
                                 .location = "ACME",
                                 .kind = model::MovementKind::kSetOnHand,
                                 .quantity = 1'000'000});
      if (!p.ok()) return p.status();
    }
    return absl::OkStatus();
  }));
  int64_t units = 0;
  for (int first = 1; first <= kOrders; first += 1000) {
    KEELSON_ASSERT_OK(store->Transact(clock.Now(), [&](store::Tx& tx) -> absl::Status {
      for (int64_t id = first; id < first + 1000; ++id) {
        json order = fixture;
        order["id"] = id;
        order["number"] = std::to_string(id);
        json items = json::array();
        std::vector<flows::InventoryLine> reserve;
        const int lines = 1 + static_cast<int>(rng() % 3);
        const int sku0 = static_cast<int>(rng() % 20);
        for (int l = 0; l < lines; ++l) {
          json item = fixture["line_items"][0];
          const Want w{id * 10 + l, absl::StrCat("SKU-", (sku0 + 7 * l) % 20),
                       1 + static_cast<int64_t>(rng() % 5)};
          item["id"] = w.line_id;
          item["sku"] = w.sku;
          item["name"] = "Item " + w.sku;
          item["quantity"] = w.quantity;
          items.push_back(item);
          reserve.push_back({w.sku, w.quantity});
          want[id].push_back(w);
          units += w.quantity;
        }
        order["line_items"] = items;
        auto put = tx.PutOrderIfNewer({.store_id = "main",
                                       .order_id = id,
                                       .version = clock.Now(),
                                       .status = "processing",
                                       .snapshot_json = order.dump(),
                                       .correlation_id = absl::StrCat("c", id)});
        if (!put.ok()) return put.status();
        if (auto st = tx.SetOrderErp("main", id, "created", absl::StrCat("SO", id),
                                     absl::StrCat("SO", id));
            !st.ok()) {
          return st;
        }
        auto r = inventory.Reserve(tx, absl::StrCat("main:", id), reserve, "main");
        if (!r.ok()) return r.status();
        if (auto st = flow->EnqueueRoute(tx, "main", id, absl::StrCat("c", id)); !st.ok()) {
          return st;
        }
      }
      return absl::OkStatus();
    }));
  }
  const auto loaded = std::chrono::steady_clock::now();

  jobs::RunnerOptions ro;
  ro.workers = 4;
  ro.lease = absl::Minutes(10);
  ro.poll_interval = absl::Milliseconds(20);
  jobs::Runner runner(store.get(), &clock, &handlers, ro);
  runner.Start();
  sim::EdiWarehouseSim::Options so;
  so.inbound_folder = o.outbound_folder;
  so.done_folder = o.outbound_folder + "/done";
  so.outbound_folder = o.inbound_folder;
  so.poll_interval = absl::Milliseconds(100);
  sim::EdiWarehouseSim warehouse(warehouse_sftp.get(), so);
  warehouse.Start();

  auto count = [&](std::string_view state) {
    auto n = store->CountSegmentsInState(state, absl::InfiniteFuture());
    return n.ok() ? *n : -1;
  };
  auto wait = [&](const std::function<bool()>& done, std::chrono::seconds limit,
                  const std::function<void()>& each) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      each();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  };
  // 1. Routed and released: every 940 is queued, the batch window has not passed.
  ASSERT_TRUE(wait([&] { return count("released") == kOrders; }, std::chrono::seconds(240), [] {}))
      << count("planned") << " planned, " << count("released") << " released";
  const auto released = std::chrono::steady_clock::now();
  // 2. The window passes: ten interchanges go out; then the warehouse answers, Keelson polls
  // (a poll whenever none is waiting), and the shipments are applied.
  clock.Advance(o.batch_window);
  runner.Notify();
  auto polls_waiting = [&] {
    auto n = store->CountJobs({.state = store::JobState::kQueued, .kind = cedi::kEdiPollJobKind});
    auto r = store->CountJobs({.state = store::JobState::kRunning, .kind = cedi::kEdiPollJobKind});
    return (n.ok() ? *n : 1) + (r.ok() ? *r : 1);
  };
  std::optional<std::chrono::steady_clock::time_point> all_945s_read;
  ASSERT_TRUE(wait([&] { return count("shipped") == kOrders; }, std::chrono::seconds(300),
                   [&] {
                     if (!all_945s_read) {
                       auto queued = store->CountJobs({.kind = flows::kFulfillmentShipmentJobKind});
                       if (queued.ok() && *queued == kOrders) {
                         all_945s_read = std::chrono::steady_clock::now();
                       }
                     }
                     clock.Advance(absl::Milliseconds(100));  // retries, should any happen
                     if (polls_waiting() == 0) {
                       (void)store->Transact(clock.Now(), [&](store::Tx& tx) {
                         return tx.EnqueueJob(provider.PollJob()).status();
                       });
                       runner.Notify();
                     }
                   }))
      << count("released") << " released, " << count("shipped") << " shipped";
  const auto shipped = std::chrono::steady_clock::now();
  // Keelson's last 997s reach the warehouse.
  ASSERT_TRUE(wait([&] { return warehouse.stats().acks_received == kOrders / kBatch; },
                   std::chrono::seconds(60), [] {}));
  warehouse.Stop();
  runner.Stop();

  // Every order: one segment, shipped, every line exactly its ordered quantity.
  int64_t lines_checked = 0, units_shipped = 0;
  for (const auto& [id, lines] : want) {
    KEELSON_ASSERT_OK_AND_ASSIGN(auto segs, store->GetSegments(absl::StrCat("main:", id)));
    ASSERT_EQ(segs.size(), 1u) << id;
    ASSERT_EQ(segs[0].state, "shipped") << id;
    ASSERT_EQ(segs[0].lines.size(), lines.size()) << id;
    for (size_t i = 0; i < lines.size(); ++i) {
      ASSERT_EQ(segs[0].lines[i].line_id, lines[i].line_id) << id;
      ASSERT_EQ(segs[0].lines[i].sku, lines[i].sku) << id;
      ASSERT_EQ(segs[0].lines[i].quantity, lines[i].quantity) << id;
      ASSERT_EQ(segs[0].lines[i].shipped, lines[i].quantity) << id;
      ++lines_checked;
      units_shipped += segs[0].lines[i].shipped;
    }
  }
  EXPECT_EQ(units_shipped, units);
  // Every 940 sent once and accepted by the partner's 997.
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto accepted,
      store->ListEdiDocuments({.partner = "acme", .state = "accepted", .limit = 20000}));
  EXPECT_EQ(accepted.size(), static_cast<size_t>(kOrders));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto all,
                               store->ListEdiDocuments({.partner = "acme", .limit = 20000}));
  EXPECT_EQ(all.size(), static_cast<size_t>(kOrders));
  // Files, exactly: 10 interchanges of 1,000 940s out; per interchange the warehouse's 997 and its
  // 945 file (1,000 945s) back; Keelson's 997 for each 945 file. Nothing rejected, nothing twice.
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto out, store->ListEdiFiles({.partner = "acme", .direction = "out", .limit = 1000}));
  int files_940 = 0, files_997_out = 0;
  int64_t bytes = 0;
  for (const auto& f : out) {
    bytes += f.size;
    EXPECT_EQ(f.state, "sent") << f.name;
    const json d = json::parse(f.detail_json);
    if (d["type"] == "940") {
      ++files_940;
      EXPECT_EQ(d["sets"], kBatch) << f.name;
    } else if (d["type"] == "997") {
      ++files_997_out;
    }
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(
      auto in, store->ListEdiFiles({.partner = "acme", .direction = "in", .limit = 1000}));
  int files_945_in = 0, files_997_in = 0, sets_945 = 0;
  for (const auto& f : in) {
    bytes += f.size;
    EXPECT_EQ(f.state, "processed") << f.name << " " << f.detail_json;
    const json d = json::parse(f.detail_json);
    if (d["by_type"].contains("945")) {
      ++files_945_in;
      sets_945 += d["by_type"]["945"].get<int>();
    }
    if (d["by_type"].contains("997")) ++files_997_in;
  }
  const auto stats = warehouse.stats();
  EXPECT_EQ(files_940, kOrders / kBatch);
  EXPECT_EQ(stats.orders_received, kOrders);
  EXPECT_EQ(stats.files_997, kOrders / kBatch);
  EXPECT_EQ(stats.files_945, kOrders / kBatch);
  EXPECT_EQ(stats.shipments, kOrders);
  EXPECT_EQ(files_945_in, kOrders / kBatch);
  EXPECT_EQ(sets_945, kOrders);
  EXPECT_EQ(files_997_in, kOrders / kBatch);
  EXPECT_EQ(files_997_out, kOrders / kBatch);
  EXPECT_EQ(stats.acks_received, kOrders / kBatch);
  EXPECT_EQ(stats.acks_rejected, 0);
  EXPECT_EQ(FilesIn("to_acme/done"), static_cast<size_t>(2 * kOrders / kBatch));
  EXPECT_EQ(FilesIn("from_acme/archive"), static_cast<size_t>(2 * kOrders / kBatch));
  EXPECT_EQ(FilesIn("from_acme/error"), 0u);
  EXPECT_EQ(FilesIn("from_acme"), 0u);
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t dead, store->CountJobs({.state = store::JobState::kDead}));
  EXPECT_EQ(dead, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t shipment_jobs,
                               store->CountJobs({.state = store::JobState::kDone,
                                                 .kind = flows::kFulfillmentShipmentJobKind}));
  EXPECT_EQ(shipment_jobs, kOrders);

  const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  const int files = files_940 + stats.files_997 + stats.files_945 + files_997_out;
  const double run = secs(loaded, shipped);
  std::printf(
      "EDI e2e: %d orders, %lld lines, %lld units; load %.1f s, route+release %.1f s, "
      "940s out until every 945 read %.1f s, shipments applied %.1f s more; run %.1f s, %d files "
      "(%.1f MB) over SFTP (%.2f files/s), %d transaction sets (%.0f sets/s), %.0f orders/s; "
      "wall %.1f s\n",
      kOrders, static_cast<long long>(lines_checked), static_cast<long long>(units),
      secs(wall_start, loaded), secs(loaded, released),
      secs(released, all_945s_read.value_or(shipped)),
      secs(all_945s_read.value_or(shipped), shipped), run, files, bytes / 1e6, files / run,
      2 * kOrders + static_cast<int>(stats.files_997) + files_997_out,
      (2 * kOrders + static_cast<int>(stats.files_997) + files_997_out) / run, kOrders / run,
      secs(wall_start, std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace keelson
