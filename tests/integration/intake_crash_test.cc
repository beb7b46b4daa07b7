// The real keelson binary, SIGKILLed in the middle of a burst of signed webhooks: every delivery
// that was answered 200 must be in the inbox, byte for byte, with its ingest job, after restart.

#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "store/sqlite/sqlite_store.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace keelson {
namespace {

using testing::HttpClient;
using testing::KeelsonProcess;
using testing::TempDir;
using testing::WooHeaders;

constexpr char kSecret[] = "crash-secret";

std::string WriteConfig(const TempDir& dir) {
  std::string path = dir.File("keelson.yaml");
  std::ofstream f(path);
  f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
    << "storage: {engine: sqlite, path: \"" << dir.File("keelson.db") << "\"}\n"
    << "stores:\n  - {id: main, url: \"http://127.0.0.1:1\", webhook_secret: \"" << kSecret
    << "\"}\n"
    << "jobs: {workers: 4, lease_ms: 2000, poll_interval_ms: 50}\n"
    << "log: {level: warn, format: json}\n";
  return path;
}

struct Acked {
  std::string body;
  int64_t delivery_id;
  std::string correlation_id;
};

TEST(IntakeCrashTest, EveryAcknowledgedDeliverySurvivesSigkill) {
  TempDir dir;
  const std::string config = WriteConfig(dir);
  const std::string tmpl =
      testing::ReadFile(std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/peer-order.json");
  ASSERT_FALSE(tmpl.empty());

  auto proc = std::make_unique<KeelsonProcess>(config, dir.path());
  const uint16_t port = proc->WaitReady();
  ASSERT_NE(port, 0) << proc->Log();

  constexpr int kThreads = 8;
  constexpr int kKillAfter = 1500;  // acknowledged deliveries before the kill
  std::atomic<int> acked_count{0};
  std::atomic<int> unexpected{0};  // non-200 answers before the kill
  std::atomic<bool> killed{false};
  std::mutex mu;
  std::vector<Acked> acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client("127.0.0.1", port);
      for (int i = 0; i < 100000; ++i) {
        std::string body = tmpl;
        // A distinct order per request: the bytes stay PHP-style, only the id changes.
        body.replace(body.find("\"id\":"), 5, "\"id\":" + std::to_string(t * 100000 + i) + "0");
        auto r = client.Request("POST", "/v1/webhooks/woocommerce/main",
                                WooHeaders("order.created", body, kSecret), body);
        if (r.status != 200) {
          if (killed) return;  // the server is gone
          ++unexpected;
          continue;
        }
        auto j = nlohmann::json::parse(r.body);
        {
          std::lock_guard<std::mutex> l(mu);
          acked.push_back({body, j["delivery_id"].get<int64_t>(),
                           j["correlation_id"].get<std::string>()});
        }
        if (++acked_count >= kKillAfter && !killed.exchange(true)) {
          proc->Signal(SIGKILL);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(killed.load());
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(proc->Wait(), -SIGKILL);
  const size_t acknowledged = acked.size();
  ASSERT_GE(acknowledged, static_cast<size_t>(kKillAfter));

  // Restart on the same database: WAL recovery, then a clean stop.
  proc = std::make_unique<KeelsonProcess>(config, dir.path());
  ASSERT_NE(proc->WaitReady(), 0) << proc->Log();
  proc->Signal(SIGTERM);
  EXPECT_EQ(proc->Wait(), 0) << proc->Log();

  auto store = store::OpenSqliteStore({.path = dir.File("keelson.db")});
  ASSERT_TRUE(store.ok()) << store.status();
  int missing = 0, wrong_bytes = 0, without_job = 0;
  for (const Acked& a : acked) {
    auto d = (*store)->GetDelivery(a.delivery_id);
    if (!d.ok()) {
      ++missing;
      continue;
    }
    if (d->body != a.body || d->correlation_id != a.correlation_id) ++wrong_bytes;
    auto jobs = (*store)->ListJobs({.kind = "woocommerce.ingest", .correlation_id = a.correlation_id});
    if (!jobs.ok() || jobs->size() != 1) ++without_job;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(wrong_bytes, 0);
  EXPECT_EQ(without_job, 0);
  // Nothing was stored twice either: deliveries in the inbox >= acknowledged (some were committed
  // but their answer was lost in the kill), each with exactly one job.
  auto count = (*store)->CountDeliveries();
  ASSERT_TRUE(count.ok());
  EXPECT_GE(*count, static_cast<int64_t>(acknowledged));
  auto all_jobs = (*store)->ListJobs({.kind = "woocommerce.ingest", .limit = 1000000});
  ASSERT_TRUE(all_jobs.ok());
  EXPECT_EQ(static_cast<int64_t>(all_jobs->size()), *count);
}

}  // namespace
}  // namespace keelson
