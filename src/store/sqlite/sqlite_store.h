#pragma once
// SQLite implementation of Store: one file, WAL journal, synchronous=FULL so that a COMMIT is on
// disk before it returns (the durability behind every 2xx). Versioned migrations run at Open.
//
// Concurrency: one connection guarded by a mutex; SQLite has a single writer anyway, and group
// commit (AcceptDeliveries takes a whole batch) is what makes intake fast, not parallel writers.
// Other processes (the CLI) may open the same file concurrently; busy_timeout absorbs their locks.

#include <memory>
#include <string>

#include "store/store.h"

namespace keelson::store {

struct SqliteOptions {
  std::string path;              // file path, or ":memory:" for hermetic tests
  int64_t busy_timeout_ms = 5000;
  bool synchronous_full = true;  // false only for benchmarks that say so
  int64_t cache_kib = 64 * 1024;   // SQLite page cache
};

// Opens (creating if needed) and migrates the database. Errors name the file and the cause.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

// The schema version the code expects (the number of migrations).
int SqliteSchemaVersion();

}  // namespace keelson::store
