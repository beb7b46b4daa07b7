#pragma once
// Store helpers shared by the store, runner and API tests.

#include <gtest/gtest.h>

#include "store/store.h"

namespace keelson::testing {

// Enqueues `job` in its own transaction at `now`; returns its id (0 on failure, which is also
// reported as a test failure).
inline int64_t EnqueueJob(store::Store& store, absl::Time now, const store::NewJob& job) {
  int64_t id = 0;
  absl::Status st = store.Transact(now, [&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<int64_t> r = tx.EnqueueJob(job);
    if (!r.ok()) return r.status();
    id = *r;
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return id;
}

}  // namespace keelson::testing
