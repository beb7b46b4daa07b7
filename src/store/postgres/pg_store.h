#pragma once
// PostgreSQL implementation of Store, for several Keelson nodes sharing one database. Same
// behaviour as the SQLite engine (the conformance suite in store_conformance*_test.cc runs on
// both); what differs is how it holds under concurrent writers on many connections:
//
//   - Jobs are claimed with SELECT ... FOR UPDATE SKIP LOCKED and a lease (owner + expiry), so
//     nodes never wait for each other's claims; an expired lease is returned to the queue by the
//     next claim on any node.
//   - Partition order holds across nodes through a per-partition advisory lock: enqueuing takes
//     it shared, claiming tries it exclusive (see ClaimJobs in pg_store.cc for why).
//   - A schedule slot fires once: the due-slot advance is a conditional UPDATE of its row.
//   - Intake: AcceptDeliveries writes a whole batch in one transaction: BEGIN, locks and every
//     delivery in one libpq pipeline, then COMMIT, so the group committer (store/group_commit.h)
//     gets one commit — and two round trips — for many webhooks.
//   - Migrations (the same versions as SQLite's, in PostgreSQL's dialect) run under an advisory
//     lock, so nodes starting together do not race.
//
// Times are BIGINT Unix milliseconds as in the SQLite schema; raw webhook bodies are BYTEA; every
// other text column is TEXT COLLATE "C" (byte order and ASCII-only UPPER, as SQLite compares).
//
// Thread-safety: every method may be called from any thread. Each call borrows a connection from
// a pool of `pool_size` (opened on demand, reopened after a connection is lost); a call waits up
// to `acquire_timeout` for a free one, then fails with kUnavailable.

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "store/store.h"

namespace keelson::store {

struct PgOptions {
  std::string dsn;  // libpq conninfo ("host=... dbname=...") or URI ("postgres://...")
  int pool_size = 8;
  // Tables live in this schema (created if missing; every connection's search_path). Empty: the
  // server's default search_path.
  std::string schema;
  absl::Duration acquire_timeout = absl::Seconds(30);
  // Drops `schema` when the store is destroyed. For tests, which each get a schema of their own.
  bool drop_schema_on_close = false;
};

// Connects, creates the schema if needed and migrates. An unreachable server fails with
// kUnavailable and libpq's reason (never the DSN itself: it may hold a password).
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PgOptions& options);

// The schema version the code expects (the number of migrations); equals SqliteSchemaVersion().
int PostgresSchemaVersion();

}  // namespace keelson::store
