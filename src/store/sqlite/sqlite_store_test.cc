// The SQLite engine: runs the Store conformance suite on an in-memory database and on a file,
// plus what only SQLite has (migrations, WAL, several connections to one file).

#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_conformance.h"
#include "tests/support/status_matchers.h"
#include "tests/support/store_helpers.h"

namespace keelson::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh directory under the test temp dir, removed when the process exits.
std::string FreshTempDir() {
  struct Root {
    std::filesystem::path path;
    Root() {
      std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "keelson_sqlite_XXXXXX");
      if (mkdtemp(tmpl.data()) == nullptr) std::abort();
      path = tmpl;
    }
    ~Root() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Root root;
  static std::atomic<int> next{0};
  std::filesystem::path dir = root.path / absl::StrCat("db", next.fetch_add(1));
  std::filesystem::create_directories(dir);
  return dir.string();
}

absl::StatusOr<std::unique_ptr<Store>> OpenMemory() {
  return OpenSqliteStore(SqliteOptions{.path = ":memory:"});
}

absl::StatusOr<std::unique_ptr<Store>> OpenFreshFile() {
  return OpenSqliteStore(SqliteOptions{.path = FreshTempDir() + "/keelson.db"});
}

using testing::StoreConformanceTest;
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
                         ::testing::Values(testing::StoreEngine{"Memory", OpenMemory},
                                           testing::StoreEngine{"File", OpenFreshFile}),
                         testing::StoreEngineName);

// Runs one query on a separate raw connection and returns the first column of every row.
std::vector<std::string> QueryColumn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << (db ? sqlite3_errmsg(db) : "?");
    sqlite3_close_v2(db);
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "prepare " << sql << ": " << sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    if (rc != SQLITE_DONE) ADD_FAILURE() << "step " << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  return out;
}

void ExecRaw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close_v2(db);
}

int64_t EnqueueOne(Store& store, absl::Time now, std::string kind, std::string partition = "") {
  NewJob job;
  job.kind = std::move(kind);
  job.partition_key = std::move(partition);
  job.payload = "{}";
  return keelson::testing::EnqueueJob(store, now, job);
}

TEST(SqliteStoreTest, ReopeningAFileKeepsDataAndDoesNotRerunMigrations) {
  const std::string path = FreshTempDir() + "/keelson.db";
  core::FakeClock clock;
  int64_t job_id = 0;
  int64_t delivery_id = 0;
  {
    KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                                 OpenSqliteStore(SqliteOptions{.path = path}));
    job_id = EnqueueOne(*store, clock.Now(), "erp.create_order", "order:main:1");
    DeliveryToAccept d;
    d.source = "woocommerce";
    d.store_id = "main";
    d.topic = "order.created";
    d.dedupe_key = "abc";
    d.headers_json = "{}";
    d.body = R"({"id":1})";
    d.correlation_id = "corr-1";
    d.job_kind = "woocommerce.ingest";
    std::vector<DeliveryToAccept> batch = {d};
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<AcceptResult> r,
                                 store->AcceptDeliveries(batch, clock.Now()));
    ASSERT_EQ(r.size(), 1u);
    delivery_id = r[0].delivery_id;
  }
  const std::string version = absl::StrCat(SqliteSchemaVersion());
  const std::vector<std::string> applied_before =
      QueryColumn(path, "SELECT version || ':' || applied_at FROM schema_migrations ORDER BY 1");
  ASSERT_EQ(applied_before.size(), static_cast<size_t>(SqliteSchemaVersion()));
  EXPECT_THAT(QueryColumn(path, "SELECT MAX(version) FROM schema_migrations"),
              ElementsAre(version));

  {
    KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                                 OpenSqliteStore(SqliteOptions{.path = path}));
    KEELSON_ASSERT_OK_AND_ASSIGN(Job job, store->GetJob(job_id));
    EXPECT_EQ(job.kind, "erp.create_order");
    EXPECT_EQ(job.partition_key, "order:main:1");
    KEELSON_ASSERT_OK_AND_ASSIGN(Delivery d, store->GetDelivery(delivery_id));
    EXPECT_EQ(d.body, R"({"id":1})");
    KEELSON_ASSERT_OK_AND_ASSIGN(int64_t n, store->CountDeliveries());
    EXPECT_EQ(n, 1);
    KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, store->ListJobs(JobFilter{}));
    EXPECT_EQ(jobs.size(), 2u);
  }
  // Same rows, same applied_at: nothing was migrated again.
  EXPECT_EQ(
      QueryColumn(path, "SELECT version || ':' || applied_at FROM schema_migrations ORDER BY 1"),
      applied_before);
}

TEST(SqliteStoreTest, NewerSchemaThanTheBinaryIsRefused) {
  const std::string path = FreshTempDir() + "/keelson.db";
  {
    KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                                 OpenSqliteStore(SqliteOptions{.path = path}));
  }
  ExecRaw(path, absl::StrCat("INSERT INTO schema_migrations(version, applied_at) VALUES(",
                             SqliteSchemaVersion() + 1, ", 0)"));
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(SqliteOptions{.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
}

TEST(SqliteStoreTest, OpenInAMissingDirectoryNamesTheFile) {
  const std::string path = FreshTempDir() + "/no/such/dir/keelson.db";
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(SqliteOptions{.path = path});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
}

TEST(SqliteStoreTest, FileUsesWriteAheadLog) {
  const std::string path = FreshTempDir() + "/keelson.db";
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                               OpenSqliteStore(SqliteOptions{.path = path}));
  // journal_mode=WAL is persistent: a fresh connection reports it.
  EXPECT_THAT(QueryColumn(path, "PRAGMA journal_mode"), ElementsAre("wal"));
}

TEST(SqliteStoreTest, SecondConnectionSeesCommitsAndCanReplay) {
  const std::string path = FreshTempDir() + "/keelson.db";
  core::FakeClock clock;
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> server,
                               OpenSqliteStore(SqliteOptions{.path = path}));
  const int64_t id = EnqueueOne(*server, clock.Now(), "erp.create_order", "order:main:5");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> claimed,
                               server->ClaimJobs("w1", clock.Now(), absl::Seconds(30), 10));
  ASSERT_EQ(claimed.size(), 1u);
  KEELSON_ASSERT_OK(server->DeadLetterJob(id, "w1", "business", "HTTP 422", clock.Now()));

  // The CLI opens the same file while the server keeps it open.
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> cli,
                               OpenSqliteStore(SqliteOptions{.path = path}));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> dead, cli->ListJobs({.state = JobState::kDead}));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, id);
  EXPECT_EQ(dead[0].dead_reason, "business");
  EXPECT_EQ(dead[0].last_error, "HTTP 422");

  clock.Advance(absl::Minutes(1));
  KEELSON_ASSERT_OK(cli->ReplayJob(id, clock.Now()));

  // The server sees the replay and can run the job again; the CLI sees the server's writes.
  KEELSON_ASSERT_OK_AND_ASSIGN(Job replayed, server->GetJob(id));
  EXPECT_EQ(replayed.state, JobState::kQueued);
  EXPECT_EQ(replayed.attempts, 0);
  KEELSON_ASSERT_OK_AND_ASSIGN(claimed,
                               server->ClaimJobs("w1", clock.Now(), absl::Seconds(30), 10));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  KEELSON_ASSERT_OK(server->CompleteJob(id, "w1", clock.Now()));
  KEELSON_ASSERT_OK_AND_ASSIGN(Job done, cli->GetJob(id));
  EXPECT_EQ(done.state, JobState::kDone);
  KEELSON_ASSERT_OK_AND_ASSIGN(JobStats stats, cli->GetJobStats(clock.Now()));
  EXPECT_EQ(stats.done, 1);
  EXPECT_EQ(stats.dead, 0);
}

TEST(SqliteStoreTest, TwoConnectionsFireAScheduleSlotOnce) {
  const std::string path = FreshTempDir() + "/keelson.db";
  core::FakeClock clock;
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> node1,
                               OpenSqliteStore(SqliteOptions{.path = path}));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> node2,
                               OpenSqliteStore(SqliteOptions{.path = path}));
  NewJob job;
  job.kind = "sync.stock";
  job.payload = "{}";
  const absl::Duration interval = absl::Minutes(5);
  for (int slot = 0; slot < 3; ++slot) {
    const absl::Time now = clock.Now();
    KEELSON_ASSERT_OK_AND_ASSIGN(bool fired1,
                                 node1->FireScheduleIfDue("stock", interval, job, now));
    KEELSON_ASSERT_OK_AND_ASSIGN(bool fired2,
                                 node2->FireScheduleIfDue("stock", interval, job, now));
    EXPECT_TRUE(fired1 != fired2) << "slot " << slot;
    clock.Advance(interval);
  }
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> jobs, node2->ListJobs({.kind = "sync.stock"}));
  EXPECT_EQ(jobs.size(), 3u);
}

TEST(SqliteStoreTest, MemoryDatabasesAreIndependent) {
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> a, OpenMemory());
  KEELSON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> b, OpenMemory());
  core::FakeClock clock;
  EnqueueOne(*a, clock.Now(), "k");
  KEELSON_ASSERT_OK_AND_ASSIGN(std::vector<Job> in_b, b->ListJobs(JobFilter{}));
  EXPECT_TRUE(in_b.empty());
}

}  // namespace
}  // namespace keelson::store
