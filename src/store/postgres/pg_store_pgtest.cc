// The PostgreSQL engine: the Store conformance suite, plus what only a shared database has —
// several Keelson nodes (Store objects with pools of their own) on one schema claiming, leasing,
// accepting and firing schedules concurrently.
//
// Needs a server: KEELSON_TEST_PG_DSN (scripts/test-services.sh starts one; `make test` always
// does). Without it every case here is skipped, saying so. Each test works in a schema of its own
// (created by the store, dropped when the test's stores are gone), so tests may run in parallel
// on one database.

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/group_commit.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNoServer[] =
    "KEELSON_TEST_PG_DSN is not set: no PostgreSQL to test against (run under "
    "scripts/test-services.sh, as `make test` does)";

std::string Dsn() {
  const char* dsn = std::getenv("KEELSON_TEST_PG_DSN");
  return dsn ? dsn : "";
}

std::string SkipReason() { return Dsn().empty() ? kNoServer : ""; }

// A schema name no other test (or test process) uses.
std::string FreshSchema() {
  static std::atomic<int> next{0};
  absl::BitGen gen;
  return absl::StrCat("kt_", getpid(), "_", next.fetch_add(1), "_", absl::Uniform<uint32_t>(gen),
                      "");
}

PgOptions FreshOptions() {
  return PgOptions{
      .dsn = Dsn(), .pool_size = 4, .schema = FreshSchema(), .drop_schema_on_close = true};
}

absl::StatusOr<std::unique_ptr<Store>> OpenFresh() { return OpenPostgresStore(FreshOptions()); }

using testing::StoreConformanceTest;
INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
                         ::testing::Values(testing::StoreEngine{"Postgres", OpenFresh, SkipReason}),
                         testing::StoreEngineName);

// Runs `sql` on a connection of its own in `schema`; returns the first column of every row.
std::vector<std::string> RawQuery(const std::string& schema, const std::string& sql) {
  std::vector<std::string> out;
  PGconn* c = PQconnectdb(Dsn().c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << "connect: " << PQerrorMessage(c);
    PQfinish(c);
    return out;
  }
  PQclear(PQexec(c, absl::StrCat("SET search_path TO \"", schema, "\"").c_str()));
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
  } else {
    for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Dsn().empty()) GTEST_SKIP() << kNoServer;
    options_ = FreshOptions();
  }
  // A node: a Store of its own (own pool) on the test's schema. The first one opened drops the
  // schema when it is destroyed, so the test keeps it open to the end.
  std::unique_ptr<Store> Node(int pool_size = 4) {
    PgOptions o = options_;
    o.pool_size = pool_size;
    o.drop_schema_on_close = nodes_opened_++ == 0;
    auto s = OpenPostgresStore(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  PgOptions options_;
  int nodes_opened_ = 0;
  core::FakeClock clock_;
};

NewJob MakeJob(std::string kind, std::string partition) {
  NewJob job;
  job.kind = std::move(kind);
  job.partition_key = std::move(partition);
  job.payload = "{}";
  return job;
}

TEST(PgStoreSchemaTest, HasTheSameSchemaVersionsAsSqlite) {
  // Both engines carry every migration: a version added to one must be added to the other.
  EXPECT_EQ(PostgresSchemaVersion(), SqliteSchemaVersion());
}

TEST_F(PgStoreTest, ReopeningKeepsDataAndDoesNotRerunMigrations) {
  std::unique_ptr<Store> first = Node();
  ASSERT_NE(first, nullptr);
  const int64_t id =
      keelson::testing::EnqueueJob(*first, clock_.Now(), MakeJob("erp.create", "order:main:1"));
  const std::vector<std::string> applied = RawQuery(
      options_.schema, "SELECT version || ':' || applied_at FROM schema_migrations ORDER BY 1");
  ASSERT_EQ(applied.size(), static_cast<size_t>(PostgresSchemaVersion()));

  std::unique_ptr<Store> second = Node();
  ASSERT_NE(second, nullptr);
  KEELSON_ASSERT_OK_AND_ASSIGN(Job job, second->GetJob(id));
  EXPECT_EQ(job.partition_key, "order:main:1");
  EXPECT_EQ(RawQuery(options_.schema,
                     "SELECT version || ':' || applied_at FROM schema_migrations ORDER BY 1"),
            applied);
}

TEST_F(PgStoreTest, NodesStartingTogetherMigrateOnce) {
  std::unique_ptr<Store> keeper = Node();  // holds the schema (and drops it at the end)
  // A second fresh schema, opened by eight nodes at once: the advisory lock lets one migrate.
  PgOptions o = FreshOptions();
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  absl::Notification go;
  std::vector<std::unique_ptr<Store>> stores(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      go.WaitForNotification();
      PgOptions mine = o;
      mine.drop_schema_on_close = false;
      auto s = OpenPostgresStore(mine);
      EXPECT_TRUE(s.ok()) << s.status();
      if (s.ok()) {
        stores[i] = std::move(*s);
        opened.fetch_add(1);
      }
    });
  }
  go.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 8);
  EXPECT_THAT(RawQuery(o.schema, "SELECT COUNT(*) FROM schema_migrations"),
              ElementsAre(absl::StrCat(PostgresSchemaVersion())));
  stores.clear();
  RawQuery(o.schema, absl::StrCat("DROP SCHEMA \"", o.schema, "\" CASCADE"));
}

TEST_F(PgStoreTest, NewerSchemaThanTheBinaryIsRefused) {
  std::unique_ptr<Store> keeper = Node();
  RawQuery(options_.schema,
           absl::StrCat("INSERT INTO schema_migrations(version, applied_at) VALUES(",
                        PostgresSchemaVersion() + 1, ", 0)"));
  PgOptions o = options_;
  o.drop_schema_on_close = false;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(o);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("newer than this binary"));
}

TEST(PgStoreOpenTest, UnreachableServerIsUnavailableWithTheReason) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(
      PgOptions{.dsn = "host=127.0.0.1 port=1 user=keelson dbname=nope connect_timeout=2"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("cannot connect to PostgreSQL"));
}

TEST_F(PgStoreTest, MoreCallersThanConnectionsTakeTurns) {
  std::unique_ptr<Store> store = Node(/*pool_size=*/2);
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (keelson::testing::EnqueueJob(*store, clock_.Now(),
                                         MakeJob("k", absl::StrCat("p:", t))) > 0) {
          ok.fetch_add(1);
        }
        EXPECT_TRUE(store->CountJobs(JobFilter{}).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store->CountJobs(JobFilter{}));
  EXPECT_EQ(n, 160);
}

// Two nodes, many claimer threads each, and enqueuers adding to the same partitions meanwhile:
// no partition ever has two jobs running, each partition's jobs run in id order, and every job
// runs exactly once.
TEST_F(PgStoreTest, TwoNodesClaimingConcurrentlyKeepPartitionOrderAndRunEachJobOnce) {
  std::unique_ptr<Store> node_a = Node(6);
  std::unique_ptr<Store> node_b = Node(6);
  ASSERT_NE(node_a, nullptr);
  ASSERT_NE(node_b, nullptr);
  Store* nodes[] = {node_a.get(), node_b.get()};
  constexpr int kPartitions = 12;
  constexpr int kPreloaded = 10;  // jobs per partition before the claimers start
  constexpr int kAdded = 10;      // per partition, enqueued while they run (by both nodes)
  constexpr int kUnpartitioned = 40;
  const absl::Time now = clock_.Now();
  const absl::Duration lease = absl::Minutes(10);  // no lease expires in this test

  for (int i = 0; i < kPreloaded; ++i) {
    for (int p = 0; p < kPartitions; ++p) {
      keelson::testing::EnqueueJob(*nodes[(i + p) % 2], now,
                                   MakeJob("k", absl::StrCat("order:", p)));
    }
  }
  for (int i = 0; i < kUnpartitioned; ++i) {
    keelson::testing::EnqueueJob(*nodes[i % 2], now, MakeJob("free", ""));
  }
  const int total = kPartitions * (kPreloaded + kAdded) + kUnpartitioned;

  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> order;  // partition -> ids in the order they ran
  std::map<int64_t, int> runs;                        // id -> times run
  std::map<std::string, int> running;                 // partition -> jobs running now
  std::atomic<int> finished{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> errors{0};

  // A bound on a broken run (a job that never becomes claimable), not a timing assertion.
  const absl::Time give_up = absl::Now() + absl::Minutes(2);
  std::vector<std::thread> threads;
  for (int n = 0; n < 2; ++n) {
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([&, n, w] {
        Store& store = *nodes[n];
        const std::string owner = absl::StrCat("node", n, "/w", w);
        while (finished.load() < total) {
          if (absl::Now() > give_up) {
            ADD_FAILURE() << owner << ": jobs still unfinished after 2 minutes";
            errors.fetch_add(1);
            return;
          }
          auto claimed = store.ClaimJobs(owner, now, lease, 3);
          if (!claimed.ok()) {
            ADD_FAILURE() << claimed.status();
            errors.fetch_add(1);
            return;
          }
          if (claimed->empty()) {
            std::this_thread::yield();
            continue;
          }
          for (const Job& job : *claimed) {
            {
              std::lock_guard<std::mutex> l(mu);
              ++runs[job.id];
              if (!job.partition_key.empty()) {
                if (running[job.partition_key]++ > 0) overlaps.fetch_add(1);
                order[job.partition_key].push_back(job.id);
              }
            }
            std::this_thread::yield();  // let the other threads try this partition meanwhile
            {
              std::lock_guard<std::mutex> l(mu);
              if (!job.partition_key.empty()) --running[job.partition_key];
            }
            absl::Status done = store.CompleteJob(job.id, owner, now);
            if (!done.ok()) {
              ADD_FAILURE() << done;
              errors.fetch_add(1);
            }
            finished.fetch_add(1);
          }
        }
      });
    }
  }
  // Enqueuers on both nodes, racing the claimers for the same partitions.
  std::vector<std::thread> enqueuers;
  for (int n = 0; n < 2; ++n) {
    enqueuers.emplace_back([&, n] {
      for (int i = 0; i < kAdded / 2; ++i) {
        for (int p = 0; p < kPartitions; ++p) {
          keelson::testing::EnqueueJob(*nodes[n], now, MakeJob("k", absl::StrCat("order:", p)));
        }
      }
    });
  }
  for (auto& t : enqueuers) t.join();
  for (auto& t : threads) t.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(overlaps.load(), 0) << "two jobs of one partition ran at once";
  EXPECT_EQ(static_cast<int>(runs.size()), total);
  for (const auto& [id, times] : runs) EXPECT_EQ(times, 1) << "job " << id;
  EXPECT_EQ(static_cast<int>(order.size()), kPartitions);
  for (const auto& [partition, ids] : order) {
    EXPECT_EQ(ids.size(), static_cast<size_t>(kPreloaded + kAdded)) << partition;
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << partition << " ran out of id order";
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats stats, node_a->GetJobStats(now));
  EXPECT_EQ(stats.done, total);
  EXPECT_EQ(stats.queued + stats.running + stats.dead, 0);
}

TEST_F(PgStoreTest, AnExpiredLeaseMovesTheJobToTheOtherNode) {
  std::unique_ptr<Store> node_a = Node();
  std::unique_ptr<Store> node_b = Node();
  ASSERT_NE(node_b, nullptr);
  const int64_t id =
      keelson::testing::EnqueueJob(*node_a, clock_.Now(), MakeJob("erp.create", "order:main:7"));
  const int64_t next =
      keelson::testing::EnqueueJob(*node_b, clock_.Now(), MakeJob("erp.cancel", "order:main:7"));
  const absl::Duration lease = absl::Seconds(30);

  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> a, node_a->ClaimJobs("a", clock_.Now(), lease, 5));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].id, id);
  // Node A goes silent. Within the lease node B gets nothing, not even the next job.
  clock_.Advance(absl::Seconds(29));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> b, node_b->ClaimJobs("b", clock_.Now(), lease, 5));
  EXPECT_TRUE(b.empty());
  clock_.Advance(absl::Seconds(2));
  KEELSON_ASSERT_OK_AND_ASSIGN(b, node_b->ClaimJobs("b", clock_.Now(), lease, 5));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, id);
  EXPECT_EQ(b[0].attempts, 2);
  EXPECT_EQ(b[0].lease_owner, "b");
  EXPECT_EQ(b[0].last_error, "lease expired (worker lost)");
  // Node A comes back: it is fenced off.
  EXPECT_EQ(node_a->CompleteJob(id, "a", clock_.Now()).code(),
            absl::StatusCode::kFailedPrecondition);
  KEELSON_ASSERT_OK(node_b->CompleteJob(id, "b", clock_.Now()));
  KEELSON_ASSERT_OK_AND_ASSIGN(a, node_a->ClaimJobs("a", clock_.Now(), lease, 5));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].id, next);
}

TEST_F(PgStoreTest, ConcurrentIdenticalDeliveriesAreStoredOnce) {
  std::unique_ptr<Store> node_a = Node();
  std::unique_ptr<Store> node_b = Node();
  ASSERT_NE(node_b, nullptr);
  // Each node's intake is a group committer; the same webhook arrives at both, many times.
  GroupCommitter commit_a(node_a.get(), &clock_, 64);
  GroupCommitter commit_b(node_b.get(), &clock_, 64);
  commit_a.Start();
  commit_b.Start();
  std::mutex mu;
  std::vector<AcceptResult> results;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  absl::Notification go;
  constexpr int kThreads = 16;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      DeliveryToAccept d;
      d.source = "woocommerce";
      d.store_id = "main";
      d.topic = "order.updated";
      d.dedupe_key = "same-body-digest";
      d.headers_json = "{}";
      d.body = R"({"id":42,"status":"processing"})";
      d.correlation_id = absl::StrCat("corr-", t);
      d.job_kind = "woocommerce.ingest";
      d.job_partition_key = "woo:main:order:42";
      absl::Notification done;
      go.WaitForNotification();
      (t % 2 ? commit_a : commit_b).Submit(d, [&](absl::StatusOr<AcceptResult> r) {
        if (!r.ok()) {
          ADD_FAILURE() << r.status();
          failures.fetch_add(1);
        } else {
          std::lock_guard<std::mutex> l(mu);
          results.push_back(*r);
        }
        done.Notify();
      });
      done.WaitForNotification();
    });
  }
  go.Notify();
  for (auto& t : threads) t.join();
  commit_a.Stop();
  commit_b.Stop();

  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(results.size(), static_cast<size_t>(kThreads));
  const int fresh = static_cast<int>(std::count_if(
      results.begin(), results.end(), [](const AcceptResult& r) { return !r.duplicate; }));
  EXPECT_EQ(fresh, 1);
  for (const AcceptResult& r : results) {
    EXPECT_EQ(r.delivery_id, results[0].delivery_id);
    EXPECT_EQ(r.correlation_id, results[0].correlation_id);
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t stored, node_a->CountDeliveries());
  EXPECT_EQ(stored, 1);
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t jobs, node_b->CountJobs(JobFilter{}));
  EXPECT_EQ(jobs, 1);
}

TEST_F(PgStoreTest, NodesFiringTogetherFireEachSlotOnce) {
  std::unique_ptr<Store> node_a = Node();
  std::unique_ptr<Store> node_b = Node();
  ASSERT_NE(node_b, nullptr);
  Store* nodes[] = {node_a.get(), node_b.get()};
  const absl::Duration every = absl::Minutes(5);
  for (int slot = 0; slot < 3; ++slot) {
    const absl::Time now = clock_.Now();
    std::atomic<int> fired{0};
    std::vector<std::thread> threads;
    absl::Notification go;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        go.WaitForNotification();
        auto f =
            nodes[t % 2]->FireScheduleIfDue("jobs.purge", every, MakeJob("jobs.purge", ""), now);
        ASSERT_TRUE(f.ok()) << f.status();
        if (*f) fired.fetch_add(1);
      });
    }
    go.Notify();
    for (auto& t : threads) t.join();
    EXPECT_EQ(fired.load(), 1) << "slot " << slot;
    clock_.Advance(every);
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(int64_t jobs, node_a->CountJobs({.kind = "jobs.purge"}));
  EXPECT_EQ(jobs, 3);
}

TEST_F(PgStoreTest, NodesContendingForALeaseLetOneHoldIt) {
  std::unique_ptr<Store> node_a = Node();
  std::unique_ptr<Store> node_b = Node();
  ASSERT_NE(node_b, nullptr);
  Store* nodes[] = {node_a.get(), node_b.get()};
  const absl::Duration ttl = absl::Seconds(10);
  for (int round = 0; round < 3; ++round) {
    const absl::Time now = clock_.Now();
    std::atomic<int> holders{0};
    std::vector<std::thread> threads;
    absl::Notification go;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        go.WaitForNotification();
        auto got = nodes[t % 2]->TryAcquireLease("events.relay",
                                                 absl::StrCat("node-", round, "-", t), now, ttl);
        ASSERT_TRUE(got.ok()) << got.status();
        if (*got) holders.fetch_add(1);
      });
    }
    go.Notify();
    for (auto& t : threads) t.join();
    EXPECT_EQ(holders.load(), 1) << "round " << round;
    clock_.Advance(ttl);  // the holder goes silent: the lease is free again
  }
}

TEST_F(PgStoreTest, ConcurrentMovementsOfOnePositionAreNotLost) {
  std::unique_ptr<Store> node_a = Node();
  std::unique_ptr<Store> node_b = Node();
  ASSERT_NE(node_b, nullptr);
  Store* nodes[] = {node_a.get(), node_b.get()};
  std::vector<std::thread> threads;
  absl::Notification go;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      go.WaitForNotification();
      for (int i = 0; i < 10; ++i) {
        absl::Status s = nodes[t % 2]->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
          return tx
              .ApplyMovement({.sku = "SKU-1",
                              .location = "WH1",
                              .kind = model::MovementKind::kReceipt,
                              .quantity = 1})
              .status();
        });
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  go.Notify();
  for (auto& t : threads) t.join();
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<model::InventoryPosition> ps,
                               node_a->GetPositions("SKU-1"));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].on_hand, 80);
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<model::Movement> ledger,
                               node_b->ListMovements("SKU-1", 0, 1000));
  EXPECT_EQ(ledger.size(), 80u);
}

TEST_F(PgStoreTest, TextThatIsNotUtf8IsStoredNotRefused) {
  std::unique_ptr<Store> store = Node();
  ASSERT_NE(store, nullptr);
  const int64_t id = keelson::testing::EnqueueJob(*store, clock_.Now(), MakeJob("k", ""));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> c,
                               store->ClaimJobs("w", clock_.Now(), absl::Seconds(30), 1));
  ASSERT_EQ(c.size(), 1u);
  // A remote's error body quoted in the last error: Latin-1 bytes and a NUL.
  const std::string error("HTTP 500: Fehler bei \xe4nderung\0!", 32);
  KEELSON_ASSERT_OK(store->RetryJob(id, "w", clock_.Now(), error, clock_.Now()));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job j, store->GetJob(id));
  EXPECT_EQ(j.last_error, "HTTP 500: Fehler bei \xEF\xBF\xBDnderung!");
}

TEST_F(PgStoreTest, ALostConnectionFailsOneCallAndTheNextReconnects) {
  if (Dsn().rfind("postgres", 0) == 0) GTEST_SKIP() << "needs a key=value DSN";
  const std::string app = FreshSchema();
  options_.dsn = absl::StrCat(Dsn(), " application_name=", app);
  std::unique_ptr<Store> store = Node(/*pool_size=*/1);
  ASSERT_NE(store, nullptr);
  KEELSON_ASSERT_OK(store->Ping());
  RawQuery(options_.schema,
           absl::StrCat("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE "
                        "application_name = '",
                        app, "'"));
  absl::Status lost = store->Ping();
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  KEELSON_EXPECT_OK(store->Ping());
  KEELSON_EXPECT_OK(store->CountJobs(JobFilter{}).status());
}

}  // namespace
}  // namespace keelson::store
