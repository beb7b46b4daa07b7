#pragma once
// A conformance suite every Store engine must pass (in the style of Arrow's
// filesystem/test_util.h). The cases live in store_conformance_test.cc as TEST_P of
// StoreConformanceTest; each engine instantiates them with its own factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(StoreEngine{"Memory", [] { return Open...; }}),
//                            StoreEngineName);
//
// The factory must return a fresh, empty, migrated store on every call (one per test). All times
// come from clock_, a FakeClock: the suite never sleeps.

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

namespace keelson::store::testing {

using StoreFactory = std::function<absl::StatusOr<std::unique_ptr<Store>>()>;

struct StoreEngine {
  std::string name;  // a valid test-name suffix: letters, digits, underscores
  StoreFactory make;
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

  std::unique_ptr<Store> store_;
  core::FakeClock clock_;
};

}  // namespace keelson::store::testing
