#pragma once
// Runs a test's jobs to the end on a fake clock: RunOnce until nothing is due, then moves the
// clock past the next retry's run time, until no job is left queued (50 rounds at most, then a
// test failure).

#include <gtest/gtest.h>

#include <algorithm>

#include "core/clock.h"
#include "jobs/runner.h"
#include "store/store.h"

namespace keelson::testing {

inline void DrainJobs(jobs::Runner& runner, store::Store& store, core::FakeClock& clock) {
  for (int round = 0; round < 50; ++round) {
    auto n = runner.RunOnce();
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n > 0) continue;
    auto next = store.NextRunAt();
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) return;
    clock.Set(std::max(clock.Now(), **next) + absl::Milliseconds(1));
  }
  FAIL() << "jobs did not drain";
}

}  // namespace keelson::testing
