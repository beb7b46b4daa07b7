#pragma once
// A conformance suite every Store engine must pass (in the style of Arrow's
// filesystem/test_util.h). The cases live in store_conformance_test.cc as TEST_P of
// StoreConformanceTest; each engine instantiates them with its own factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(StoreEngine{"Memory", [] { return Open...; }}),
//                            StoreEngineName);
//
// The factory must return a fresh, empty, migrated store on every call (one per test). An engine
// that needs a server may say why it cannot run here (`unavailable`, e.g. PostgreSQL without
// KEELSON_TEST_PG_DSN): each case is then skipped with that reason. All times come from clock_,
// a FakeClock: the suite never sleeps.

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/support/store_helpers.h"
#include "tests/support/status_matchers.h"

namespace keelson::store::testing {

using StoreFactory = std::function<absl::StatusOr<std::unique_ptr<Store>>()>;

struct StoreEngine {
  std::string name;  // a valid test-name suffix: letters, digits, underscores
  StoreFactory make;
  std::function<std::string()> unavailable;  // non-empty reason: skip (may be unset)
};

// So that failures name the engine instead of dumping the struct's bytes.
inline void PrintTo(const StoreEngine& engine, std::ostream* os) { *os << engine.name; }

// For INSTANTIATE_TEST_SUITE_P's name generator.
inline std::string StoreEngineName(const ::testing::TestParamInfo<StoreEngine>& info) {
  return info.param.name;
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreEngine> {
 protected:
  void SetUp() override {
    if (GetParam().unavailable) {
      const std::string why = GetParam().unavailable();
      if (!why.empty()) GTEST_SKIP() << why;
    }
    absl::StatusOr<std::unique_ptr<Store>> store = GetParam().make();
    ASSERT_TRUE(store.ok()) << GetParam().name << ": " << store.status();
    ASSERT_NE(*store, nullptr);
    store_ = std::move(store).value();
  }

  // Enqueues one job in its own transaction at the clock's now; returns its id (0 on failure,
  // which is also reported as a test failure).
  int64_t Enqueue(const NewJob& job) {
    return keelson::testing::EnqueueJob(*store_, clock_.Now(), job);
  }

  int64_t Enqueue(std::string kind, std::string partition_key, std::string payload = "{}") {
    NewJob job;
    job.kind = std::move(kind);
    job.partition_key = std::move(partition_key);
    job.payload = std::move(payload);
    return Enqueue(job);
  }

  // Operator-side helpers (store_conformance_ops_test.cc).
  void PutOrder(std::string store, int64_t id, std::string status, absl::Time version,
                std::string email = "", std::string corr = "") {
    OrderRecord r{.store_id = std::move(store), .order_id = id, .version = version,
                  .status = std::move(status), .snapshot_json = "{}",
                  .correlation_id = std::move(corr)};
    r.customer_email = std::move(email);
    r.total = "10.00";
    r.currency = "EUR";
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) -> absl::Status {
      return tx.PutOrderIfNewer(r).status();
    }));
  }
  void SetErp(std::string store, int64_t id, std::string state, std::string number) {
    KEELSON_ASSERT_OK(store_->Transact(clock_.Now(), [&](Tx& tx) {
      return tx.SetOrderErp(store, id, state, number.empty() ? "" : "guid", number);
    }));
  }
  // A job that died (reason business) at the clock's now.
  int64_t Dead(std::string kind, std::string partition) {
    const int64_t id = Enqueue(std::move(kind), std::move(partition));
    auto claimed = store_->ClaimJobs("w", clock_.Now(), absl::Seconds(30), 100);
    EXPECT_TRUE(claimed.ok());
    EXPECT_TRUE(store_->DeadLetterJob(id, "w", "business", "refused", clock_.Now()).ok());
    return id;
  }

  std::unique_ptr<Store> store_;
  core::FakeClock clock_;
};

}  // namespace keelson::store::testing
