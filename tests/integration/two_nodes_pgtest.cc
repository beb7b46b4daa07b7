// Two real `keelson serve` processes on one PostgreSQL database (KEELSON_TEST_PG_DSN; skipped
// without it): signed webhooks sent to both — each order's deliveries spread over the two nodes,
// some sent to both — are stored once each and ingested once each.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "store/postgres/pg_store.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace keelson {
namespace {

using testing::HttpClient;
using testing::KeelsonProcess;
using testing::TempDir;
using testing::WooHeaders;

constexpr char kSecret[] = "two-nodes-secret";

std::string Dsn() {
  const char* dsn = std::getenv("KEELSON_TEST_PG_DSN");
  return dsn ? dsn : "";
}

bool Exec(const std::string& sql) {
  PGconn* c = PQconnectdb(Dsn().c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  } else {
    ADD_FAILURE() << PQerrorMessage(c);
  }
  PQfinish(c);
  return ok;
}

TEST(TwoNodesPgTest, WebhooksToBothNodesAreStoredAndIngestedOnce) {
  if (Dsn().empty())
    GTEST_SKIP() << "KEELSON_TEST_PG_DSN is not set: no PostgreSQL to test against";
  if (Dsn().rfind("postgres", 0) == 0) GTEST_SKIP() << "needs a key=value DSN";
  // The nodes' tables go in a schema of this test's own (their connections' search_path).
  const std::string schema = absl::StrCat("kt_nodes_", getpid());
  ASSERT_TRUE(
      Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", schema, " CASCADE; CREATE SCHEMA ", schema)));
  const std::string dsn = absl::StrCat(Dsn(), " options='-c search_path=", schema, "'");

  TempDir dir;
  const std::string config = dir.File("keelson.yaml");
  {
    std::ofstream f(config);
    f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: postgres, dsn: \"" << dsn << "\", pool_size: 6}\n"
      << "stores:\n  - {id: main, url: \"http://127.0.0.1:1\", webhook_secret: \"" << kSecret
      << "\"}\n"
      << "jobs: {workers: 3, lease_ms: 5000, poll_interval_ms: 50}\n"
      << "log: {level: warn, format: json}\n";
  }
  std::vector<std::unique_ptr<KeelsonProcess>> nodes;
  std::vector<uint16_t> ports;
  for (int n = 0; n < 2; ++n) {
    nodes.push_back(std::make_unique<KeelsonProcess>(config, dir.path()));
    ports.push_back(nodes.back()->WaitReady());
    ASSERT_NE(ports.back(), 0) << nodes.back()->Log();
  }

  const std::string tmpl =
      testing::ReadFile(std::string(KEELSON_SOURCE_DIR) + "/testdata/woocommerce/peer-order.json");
  ASSERT_FALSE(tmpl.empty());
  constexpr int kOrders = 30;
  constexpr int kThreads = 4;
  constexpr int kDistinct = kOrders * 3;  // deliveries with distinct bodies
  std::vector<std::thread> threads;
  std::atomic<int> not_ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient a("127.0.0.1", ports[0]);
      HttpClient b("127.0.0.1", ports[1]);
      for (int o = t; o < kOrders; o += kThreads) {
        // Three changes of one order: the first to node A, the second to node B, the third to
        // both (a redelivery).
        for (int change = 0; change < 3; ++change) {
          std::string body = tmpl;
          body.replace(body.find("\"id\":72841"), 10, absl::StrCat("\"id\":", 90000 + o));
          const std::string modified = "\"date_modified_gmt\":\"2026-11-22T08:14:09\"";
          body.replace(body.find(modified), modified.size(),
                       absl::StrCat("\"date_modified_gmt\":\"2026-11-22T08:14:1", change, "\""));
          auto headers = WooHeaders("order.updated", body, kSecret);
          std::vector<HttpClient*> to = change == 0   ? std::vector<HttpClient*>{&a}
                                        : change == 1 ? std::vector<HttpClient*>{&b}
                                                      : std::vector<HttpClient*>{&a, &b};
          for (HttpClient* c : to) {
            auto r = c->Request("POST", "/v1/webhooks/woocommerce/main", headers, body);
            if (r.status != 200) {
              ADD_FAILURE() << r.status << " " << r.body << r.error;
              not_ok.fetch_add(1);
            }
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(not_ok.load(), 0);

  auto store = store::OpenPostgresStore({.dsn = Dsn(), .pool_size = 2, .schema = schema});
  ASSERT_TRUE(store.ok()) << store.status();
  // Both nodes work the queue; wait (bounded) until it is empty.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  int64_t done = 0;
  while (absl::Now() < give_up) {
    auto d = (*store)->CountJobs({.state = store::JobState::kDone, .kind = "woocommerce.ingest"});
    ASSERT_TRUE(d.ok()) << d.status();
    done = *d;
    if (done >= kDistinct) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(done, kDistinct) << nodes[0]->Log() << nodes[1]->Log();
  auto stored = (*store)->CountDeliveries();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, kDistinct);
  auto ingest = (*store)->CountJobs({.kind = "woocommerce.ingest"});
  ASSERT_TRUE(ingest.ok());
  EXPECT_EQ(*ingest, kDistinct);
  auto dead = (*store)->CountJobs({.state = store::JobState::kDead});
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(*dead, 0);
  // Without an ERP the ingest job records each delivery on its order's timeline: three per
  // order, whichever node ran them.
  for (int o = 0; o < kOrders; ++o) {
    auto events = (*store)->ListTimeline(absl::StrCat("order:main:", 90000 + o), 100);
    ASSERT_TRUE(events.ok()) << events.status();
    int received = 0;
    for (const store::TimelineEvent& e : *events) received += e.kind == "webhook.received";
    EXPECT_EQ(received, 3) << "order " << o;
  }

  for (auto& n : nodes) n->Signal(SIGTERM);
  for (auto& n : nodes) EXPECT_EQ(n->Wait(), 0) << n->Log();
  store->reset();
  Exec(absl::StrCat("DROP SCHEMA ", schema, " CASCADE"));
}

}  // namespace
}  // namespace keelson
