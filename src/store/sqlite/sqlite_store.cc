#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/clock.h"
#include "core/strings.h"

namespace keelson::store {
namespace {

using core::FromMillis;
using core::ToMillis;

// Each entry is one schema version. Never edit a released entry: append a new one.
// SQL is kept portable (BIGINT milliseconds, TEXT, no SQLite-only types) so the PostgreSQL
// migrations can mirror it.
const char* const kMigrations[] = {
    // 1: inbox, jobs, cross references, timeline, idempotency keys, schedules.
    R"sql(
CREATE TABLE inbox (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  store_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  dedupe_key TEXT NOT NULL UNIQUE,
  headers_json TEXT NOT NULL,
  body BLOB NOT NULL,
  correlation_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  status TEXT NOT NULL DEFAULT 'received',
  error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  partition_key TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  correlation_id TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  run_at BIGINT NOT NULL,
  enqueued_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deadline_at BIGINT,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  dead_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX jobs_due ON jobs(state, run_at, id);
CREATE INDEX jobs_partition ON jobs(partition_key, state, id);
CREATE INDEX jobs_correlation ON jobs(correlation_id);
CREATE TABLE xrefs (
  entity_type TEXT NOT NULL,
  keelson_id TEXT NOT NULL,
  system TEXT NOT NULL,
  external_id TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (entity_type, keelson_id, system)
);
CREATE INDEX xrefs_external ON xrefs(system, external_id);
CREATE TABLE timeline (
  id INTEGER PRIMARY KEY,
  entity TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  detail_json TEXT NOT NULL
);
CREATE INDEX timeline_entity ON timeline(entity, id);
CREATE INDEX timeline_correlation ON timeline(correlation_id, id);
CREATE TABLE idem_keys (
  key TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE TABLE schedules (
  name TEXT PRIMARY KEY,
  next_run_at BIGINT NOT NULL,
  interval_ms BIGINT NOT NULL
);
)sql",
    // 2: orders held by the order-to-cash flow; poller cursors; case-insensitive xref lookup.
    R"sql(
CREATE TABLE orders (
  store_id TEXT NOT NULL,
  order_id BIGINT NOT NULL,
  version BIGINT NOT NULL,
  status TEXT NOT NULL,
  erp_state TEXT NOT NULL DEFAULT 'none',
  erp_id TEXT NOT NULL DEFAULT '',
  erp_number TEXT NOT NULL DEFAULT '',
  snapshot_json TEXT NOT NULL,
  correlation_id TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (store_id, order_id)
);
CREATE TABLE cursors (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX xrefs_external_upper ON xrefs(UPPER(external_id));
)sql",
    // 3: sellable inventory: positions, the movement ledger, order reservations, the dirty set
    // awaiting publication, the last published level per channel, reconciliation runs and drift.
    R"sql(
CREATE TABLE inventory_positions (
  sku TEXT NOT NULL,
  location TEXT NOT NULL,
  on_hand BIGINT NOT NULL DEFAULT 0,
  allocated BIGINT NOT NULL DEFAULT 0,
  reserved BIGINT NOT NULL DEFAULT 0,
  safety_stock BIGINT NOT NULL DEFAULT 0,
  inbound BIGINT NOT NULL DEFAULT 0,
  inbound_expected_at BIGINT,
  as_of BIGINT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (sku, location)
);
CREATE TABLE inventory_movements (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  location TEXT NOT NULL,
  kind TEXT NOT NULL,
  quantity BIGINT NOT NULL,
  expected_at BIGINT,
  source TEXT NOT NULL DEFAULT '',
  correlation_id TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL,
  recorded_at BIGINT NOT NULL
);
CREATE INDEX inventory_movements_sku ON inventory_movements(sku, id);
CREATE INDEX inventory_movements_correlation ON inventory_movements(correlation_id);
CREATE TABLE inventory_reservations (
  order_ref TEXT NOT NULL,
  sku TEXT NOT NULL,
  location TEXT NOT NULL,
  channel TEXT NOT NULL,
  reserved BIGINT NOT NULL,
  consumed BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (order_ref, sku, location)
);
CREATE TABLE inventory_dirty (
  store_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  marked_at BIGINT NOT NULL,
  taken_by BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (store_id, sku)
);
CREATE INDEX inventory_dirty_order ON inventory_dirty(store_id, marked_at, sku);
CREATE TABLE inventory_published (
  store_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  quantity BIGINT NOT NULL,
  stock_status TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL,
  PRIMARY KEY (store_id, sku)
);
CREATE TABLE inventory_reconcile_runs (
  run_id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  scanned BIGINT NOT NULL,
  drifted BIGINT NOT NULL,
  corrected BIGINT NOT NULL,
  unknown BIGINT NOT NULL
);
CREATE INDEX inventory_reconcile_runs_store ON inventory_reconcile_runs(store_id, started_at);
CREATE TABLE inventory_drift (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  expected BIGINT NOT NULL,
  found BIGINT NOT NULL,
  expected_status TEXT NOT NULL,
  found_status TEXT NOT NULL,
  corrected BIGINT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX inventory_drift_run ON inventory_drift(run_id, id);
)sql",
    // 4: operations: a searchable summary of each order, the ages its SLA rules read, indexes for
    // operator search and the audit log of operator actions.
    R"sql(
ALTER TABLE orders ADD COLUMN customer_email TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN total TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN status_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN erp_since BIGINT NOT NULL DEFAULT 0;
UPDATE orders SET created_at = updated_at, status_since = updated_at, erp_since = updated_at;
CREATE INDEX orders_recent ON orders(updated_at, store_id, order_id);
CREATE INDEX orders_email ON orders(customer_email);
CREATE INDEX orders_erp_number ON orders(UPPER(erp_number));
CREATE INDEX orders_correlation ON orders(correlation_id);
CREATE INDEX orders_order_id ON orders(order_id);
CREATE INDEX orders_state ON orders(status, erp_state, status_since);
CREATE INDEX jobs_dead ON jobs(state, dead_reason, id);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail_json TEXT NOT NULL
);
)sql",
    // 5: fulfillment: segments of orders by node, their lines, and the shipments applied.
    R"sql(
CREATE TABLE fulfillment_segments (
  segment_id TEXT PRIMARY KEY,
  order_ref TEXT NOT NULL,
  seq INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  provider_id TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  promised_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  state_since BIGINT NOT NULL
);
CREATE INDEX fulfillment_segments_order ON fulfillment_segments(order_ref, seq);
CREATE INDEX fulfillment_segments_state ON fulfillment_segments(state, state_since);
CREATE TABLE fulfillment_lines (
  segment_id TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  line_id BIGINT NOT NULL,
  sku TEXT NOT NULL,
  location TEXT NOT NULL,
  quantity BIGINT NOT NULL,
  shipped BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (segment_id, line_no)
);
CREATE TABLE shipments (
  provider TEXT NOT NULL,
  shipment_id TEXT NOT NULL,
  segment_id TEXT NOT NULL,
  order_ref TEXT NOT NULL,
  carrier TEXT NOT NULL,
  tracking_number TEXT NOT NULL,
  tracking_url TEXT NOT NULL,
  shipped_at BIGINT,
  lines_json TEXT NOT NULL,
  erp_state TEXT NOT NULL,
  shop_state TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (provider, shipment_id)
);
CREATE INDEX shipments_order ON shipments(order_ref, received_at);
CREATE INDEX shipments_erp ON shipments(erp_state, received_at);
)sql",
    // 6: the business-event outbox, and named leases (one outbox publisher at a time).
    R"sql(
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  published_at BIGINT
);
CREATE INDEX outbox_pending ON outbox(id) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox(published_at) WHERE published_at IS NOT NULL;
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
)sql",
    // 7: EDI: files exchanged with trading partners (inbound once per content digest), the
    // documents Keelson sends with their control numbers and acknowledgments, and the
    // per-partner control-number counters.
    R"sql(
CREATE TABLE edi_control_numbers (
  partner TEXT NOT NULL,
  kind TEXT NOT NULL,
  value BIGINT NOT NULL,
  PRIMARY KEY (partner, kind)
);
CREATE TABLE edi_files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  partner TEXT NOT NULL,
  direction TEXT NOT NULL,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  state TEXT NOT NULL,
  detail_json TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX edi_files_digest ON edi_files(partner, direction, sha256);
CREATE INDEX edi_files_state ON edi_files(partner, direction, state, id);
CREATE TABLE edi_documents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  partner TEXT NOT NULL,
  type TEXT NOT NULL,
  ref TEXT NOT NULL,
  body_json TEXT NOT NULL,
  state TEXT NOT NULL,
  file_id BIGINT NOT NULL,
  interchange BIGINT NOT NULL,
  grp BIGINT NOT NULL,
  set_control TEXT NOT NULL,
  ack_json TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX edi_documents_ref ON edi_documents(partner, type, ref);
CREATE INDEX edi_documents_state ON edi_documents(partner, state, id);
CREATE INDEX edi_documents_group ON edi_documents(partner, grp, set_control);
CREATE INDEX edi_documents_interchange ON edi_documents(partner, interchange);
)sql",
    // 8: due jobs by kind, for the lanes that claim only some kinds (erp, woocommerce): without
    // it their claim walked every queued job of the other kinds (O(backlog) per claim).
    R"sql(
CREATE INDEX jobs_kind_due ON jobs(state, kind, run_at, id);
)sql",
};

constexpr const char kSegmentColumns[] =
    "segment_id, order_ref, seq, node_id, provider, kind, state, provider_id, error, promised_at, "
    "created_at, updated_at, state_since";
constexpr const char kShipmentColumns[] =
    "provider, shipment_id, segment_id, order_ref, carrier, tracking_number, tracking_url, "
    "shipped_at, lines_json, erp_state, shop_state, received_at";

constexpr const char kEdiFileColumns[] =
    "id, partner, direction, name, sha256, size, state, detail_json, created_at, updated_at";
constexpr const char kEdiDocumentColumns[] =
    "id, partner, type, ref, body_json, state, file_id, interchange, grp, set_control, ack_json, "
    "created_at, updated_at";

constexpr const char kOrderColumns[] =
    "store_id, order_id, version, status, erp_state, erp_id, erp_number, correlation_id, "
    "updated_at, customer_email, total, currency, created_at, status_since, erp_since";

constexpr const char kJobColumns[] =
    "id, kind, partition_key, payload, correlation_id, state, attempts, max_attempts, run_at, "
    "enqueued_at, updated_at, deadline_at, lease_owner, lease_expires_at, last_error, dead_reason";

absl::Status SqlError(sqlite3* db, std::string_view what) {
  int code = sqlite3_errcode(db);
  std::string msg = absl::StrCat(core::AbslSv(what), ": ", sqlite3_errmsg(db));
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return absl::UnavailableError(msg);
  if (code == SQLITE_FULL || code == SQLITE_IOERR) return absl::UnavailableError(msg);
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return absl::DataLossError(msg);
  return absl::InternalError(msg);
}

// A prepared statement borrowed from the cache; reset and unbound when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  // true: a row is available; false: done.
  absl::StatusOr<bool> Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "step");
  }
  absl::Status Exec() {
    auto r = Step();
    if (!r.ok()) return r.status();
    return absl::OkStatus();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// An order's row as kOrderColumns lists it (the snapshot is not among them).
OrderRecord ReadOrder(const Stmt& s) {
  OrderRecord r;
  r.store_id = s.Text(0);
  r.order_id = s.Int(1);
  r.version = FromMillis(s.Int(2));
  r.status = s.Text(3);
  r.erp_state = s.Text(4);
  r.erp_id = s.Text(5);
  r.erp_number = s.Text(6);
  r.correlation_id = s.Text(7);
  r.updated_at = FromMillis(s.Int(8));
  r.customer_email = s.Text(9);
  r.total = s.Text(10);
  r.currency = s.Text(11);
  r.created_at = FromMillis(s.Int(12));
  r.status_since = FromMillis(s.Int(13));
  r.erp_since = FromMillis(s.Int(14));
  return r;
}

Job ReadJob(const Stmt& s) {
  Job j;
  j.id = s.Int(0);
  j.kind = s.Text(1);
  j.partition_key = s.Text(2);
  j.payload = s.Text(3);
  j.correlation_id = s.Text(4);
  j.state = ParseJobState(s.Text(5)).value_or(JobState::kQueued);
  j.attempts = static_cast<int>(s.Int(6));
  j.max_attempts = static_cast<int>(s.Int(7));
  j.run_at = FromMillis(s.Int(8));
  j.enqueued_at = FromMillis(s.Int(9));
  j.updated_at = FromMillis(s.Int(10));
  j.deadline_at = s.IsNull(11) ? absl::InfiniteFuture() : FromMillis(s.Int(11));
  j.lease_owner = s.Text(12);
  j.lease_expires_at = FromMillis(s.Int(13));
  j.last_error = s.Text(14);
  j.dead_reason = s.Text(15);
  return j;
}

TimelineEvent ReadTimeline(const Stmt& s) {
  TimelineEvent e;
  e.id = s.Int(0);
  e.entity = s.Text(1);
  e.correlation_id = s.Text(2);
  e.at = FromMillis(s.Int(3));
  e.kind = s.Text(4);
  e.detail_json = s.Text(5);
  return e;
}

// Infinite times (an absent inbound date, no event yet) are NULL columns.
void BindTime(Stmt& s, int i, absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    s.BindNull(i);
  } else {
    s.Bind(i, ToMillis(t));
  }
}
absl::Time ReadTime(const Stmt& s, int col, absl::Time if_null) {
  return s.IsNull(col) ? if_null : FromMillis(s.Int(col));
}

constexpr const char kPositionColumns[] =
    "sku, location, on_hand, allocated, reserved, safety_stock, inbound, inbound_expected_at, "
    "as_of, updated_at";

model::InventoryPosition ReadPosition(const Stmt& s) {
  model::InventoryPosition p;
  p.sku = s.Text(0);
  p.location = s.Text(1);
  p.on_hand = s.Int(2);
  p.allocated = s.Int(3);
  p.reserved = s.Int(4);
  p.safety_stock = s.Int(5);
  p.inbound = s.Int(6);
  p.inbound_expected_at = ReadTime(s, 7, absl::InfiniteFuture());
  p.as_of = ReadTime(s, 8, absl::InfinitePast());
  p.updated_at = FromMillis(s.Int(9));
  return p;
}

constexpr const char kReservationColumns[] =
    "order_ref, sku, location, channel, reserved, consumed, updated_at";

Reservation ReadReservation(const Stmt& s) {
  return Reservation{.order_ref = s.Text(0),
                     .sku = s.Text(1),
                     .location = s.Text(2),
                     .channel = s.Text(3),
                     .reserved = s.Int(4),
                     .consumed = s.Int(5),
                     .updated_at = FromMillis(s.Int(6))};
}

// Runs a query to completion, reading each row with `read`.
template <typename T, typename Read>
absl::StatusOr<std::vector<T>> Collect(Stmt& q, Read read) {
  std::vector<T> out;
  while (true) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(read(q));
  }
  return out;
}

absl::StatusOr<std::vector<model::InventoryPosition>> QueryPositions(Stmt q, std::string_view sku) {
  q.Bind(1, sku);
  return Collect<model::InventoryPosition>(q, ReadPosition);
}

absl::StatusOr<std::vector<Reservation>> QueryReservations(Stmt q, std::string_view order_ref) {
  q.Bind(1, order_ref);
  return Collect<Reservation>(q, ReadReservation);
}

SegmentRecord ReadSegment(const Stmt& s) {
  SegmentRecord r;
  r.segment_id = s.Text(0);
  r.order_ref = s.Text(1);
  r.seq = static_cast<int>(s.Int(2));
  r.node_id = s.Text(3);
  r.provider = s.Text(4);
  r.kind = s.Text(5);
  r.state = s.Text(6);
  r.provider_id = s.Text(7);
  r.error = s.Text(8);
  r.promised_at = s.IsNull(9) ? absl::InfiniteFuture() : FromMillis(s.Int(9));
  r.created_at = FromMillis(s.Int(10));
  r.updated_at = FromMillis(s.Int(11));
  r.state_since = FromMillis(s.Int(12));
  return r;
}

ShipmentRecord ReadShipment(const Stmt& s) {
  ShipmentRecord r;
  r.provider = s.Text(0);
  r.shipment_id = s.Text(1);
  r.segment_id = s.Text(2);
  r.order_ref = s.Text(3);
  r.carrier = s.Text(4);
  r.tracking_number = s.Text(5);
  r.tracking_url = s.Text(6);
  r.shipped_at = s.IsNull(7) ? absl::InfinitePast() : FromMillis(s.Int(7));
  r.lines_json = s.Text(8);
  r.erp_state = s.Text(9);
  r.shop_state = s.Text(10);
  r.received_at = FromMillis(s.Int(11));
  return r;
}

EdiFile ReadEdiFile(const Stmt& s, bool with_content) {
  EdiFile f;
  f.id = s.Int(0);
  f.partner = s.Text(1);
  f.direction = s.Text(2);
  f.name = s.Text(3);
  f.sha256 = s.Text(4);
  f.size = s.Int(5);
  f.state = s.Text(6);
  f.detail_json = s.Text(7);
  f.created_at = FromMillis(s.Int(8));
  f.updated_at = FromMillis(s.Int(9));
  if (with_content) f.content = s.Text(10);
  return f;
}

EdiDocument ReadEdiDocument(const Stmt& s) {
  EdiDocument d;
  d.id = s.Int(0);
  d.partner = s.Text(1);
  d.type = s.Text(2);
  d.ref = s.Text(3);
  d.body_json = s.Text(4);
  d.state = s.Text(5);
  d.file_id = s.Int(6);
  d.interchange = s.Int(7);
  d.group = s.Int(8);
  d.set_control = s.Text(9);
  d.ack_json = s.Text(10);
  d.created_at = FromMillis(s.Int(11));
  d.updated_at = FromMillis(s.Int(12));
  return d;
}

// Every filter is bound whether set or not ("?2 = '' OR type = ?2"), so one statement serves
// every query shape and stays in the prepared-statement cache.
const std::string kEdiDocumentsSql = absl::StrCat(
    "SELECT ", kEdiDocumentColumns,
    " FROM edi_documents WHERE partner=?1 AND (?2 = '' OR type=?2) AND (?3 = '' OR ref=?3) AND "
    "(?4 = '' OR state=?4) AND (?5 = 0 OR interchange=?5) AND (?6 = 0 OR grp=?6) AND "
    "(?7 = '' OR set_control=?7) AND id > ?8 ORDER BY id LIMIT ?9");

absl::StatusOr<std::vector<EdiDocument>> QueryEdiDocuments(Stmt q, const EdiDocumentQuery& f) {
  q.Bind(1, f.partner).Bind(2, f.type).Bind(3, f.ref).Bind(4, f.state).Bind(5, f.interchange);
  q.Bind(6, f.group).Bind(7, f.set_control).Bind(8, f.after_id);
  q.Bind(9, static_cast<int64_t>(f.limit));
  return Collect<EdiDocument>(q, ReadEdiDocument);
}

// An order's segments with their lines; `prepare` gives statements on the right connection.
template <typename Prepare>
absl::StatusOr<std::vector<SegmentRecord>> QuerySegments(Prepare prepare,
                                                         std::string_view order_ref) {
  Stmt q = prepare(absl::StrCat("SELECT ", kSegmentColumns,
                                " FROM fulfillment_segments WHERE order_ref=? ORDER BY seq"));
  q.Bind(1, order_ref);
  auto segs = Collect<SegmentRecord>(q, ReadSegment);
  if (!segs.ok()) return segs;
  for (SegmentRecord& seg : *segs) {
    Stmt l = prepare(
        "SELECT line_no, line_id, sku, location, quantity, shipped FROM fulfillment_lines "
        "WHERE segment_id=? ORDER BY line_no");
    l.Bind(1, seg.segment_id);
    auto lines = Collect<SegmentLineRecord>(l, [](const Stmt& s) {
      return SegmentLineRecord{static_cast<int>(s.Int(0)), s.Int(1), s.Text(2), s.Text(3),
                               s.Int(4), s.Int(5)};
    });
    if (!lines.ok()) return lines.status();
    seg.lines = std::move(*lines);
  }
  return segs;
}

const std::string kPositionsSql = absl::StrCat("SELECT ", kPositionColumns,
                                               " FROM inventory_positions WHERE sku=? "
                                               "ORDER BY location");
const std::string kReservationsSql =
    absl::StrCat("SELECT ", kReservationColumns,
                 " FROM inventory_reservations WHERE order_ref=? ORDER BY sku, location");

class SqliteStore;

class SqliteTx final : public Tx {
 public:
  SqliteTx(SqliteStore* store, absl::Time now) : store_(store), now_(now) {}
  absl::StatusOr<int64_t> EnqueueJob(const NewJob& job) override;
  absl::Status AppendTimeline(const TimelineEvent& event) override;
  absl::Status PutXref(const Xref& xref) override;
  absl::StatusOr<bool> PutIdempotencyKey(std::string_view key) override;
  absl::Status SetDeliveryStatus(int64_t delivery_id, std::string_view status,
                                 std::string_view error) override;
  absl::StatusOr<bool> PutOrderIfNewer(const OrderRecord& record, bool replace_equal) override;
  absl::Status SetOrderErp(std::string_view store_id, int64_t order_id, std::string_view erp_state,
                           std::string_view erp_id, std::string_view erp_number) override;
  absl::Status PutCursor(std::string_view name, std::string_view value) override;
  absl::StatusOr<bool> DeleteIdempotencyKey(std::string_view key) override;
  absl::StatusOr<std::vector<model::InventoryPosition>> GetPositions(std::string_view sku) override;
  absl::StatusOr<model::InventoryPosition> ApplyMovement(const model::Movement& m) override;
  absl::StatusOr<std::vector<Reservation>> GetReservations(std::string_view order_ref) override;
  absl::Status PutReservation(const Reservation& r) override;
  absl::Status MarkDirty(std::string_view store_id, std::string_view sku) override;
  absl::StatusOr<DirtyBatch> TakeDirty(std::string_view store_id, int max, int64_t taker) override;
  absl::StatusOr<int64_t> ClearDirty(std::string_view store_id, int64_t taker) override;
  absl::Status PutPublished(const PublishedLevel& level) override;
  absl::Status AddDrift(const DriftRow& row) override;
  absl::Status PutReconcileRun(const ReconcileRun& run) override;
  absl::Status AppendAudit(const AuditEntry& entry) override;
  absl::Status PutSegment(const SegmentRecord& segment) override;
  absl::Status SetSegmentState(std::string_view segment_id, std::string_view state,
                               std::string_view provider_id, std::string_view error) override;
  absl::StatusOr<std::vector<SegmentRecord>> GetSegments(std::string_view order_ref) override;
  absl::Status AddShipped(std::string_view segment_id, int line_no, int64_t quantity) override;
  absl::StatusOr<bool> PutShipment(const ShipmentRecord& shipment) override;
  absl::Status SetShipmentStates(std::string_view provider, std::string_view shipment_id,
                                 std::string_view erp_state, std::string_view shop_state) override;
  absl::StatusOr<int64_t> NextControlNumber(std::string_view partner, std::string_view kind,
                                            int64_t max) override;
  absl::StatusOr<EdiFilePut> PutInboundFile(const EdiFile& file) override;
  absl::StatusOr<int64_t> PutOutboundFile(const EdiFile& file) override;
  absl::Status SetEdiFileState(int64_t id, std::string_view state,
                               std::string_view detail_json) override;
  absl::StatusOr<bool> PutEdiDocument(const EdiDocument& doc) override;
  absl::Status SetEdiDocumentSent(int64_t id, int64_t file_id, int64_t interchange, int64_t group,
                                  std::string_view set_control) override;
  absl::Status SetEdiDocumentAck(int64_t id, std::string_view state,
                                 std::string_view ack_json) override;
  absl::StatusOr<std::vector<EdiDocument>> FindEdiDocuments(
      const EdiDocumentQuery& query) override;
  absl::StatusOr<bool> AppendEvent(const OutboxEvent& event) override;
  absl::Time now() const override { return now_; }

 private:
  SqliteStore* store_;
  absl::Time now_;
};

// One SQLite connection with its prepared-statement cache.
struct Conn {
  sqlite3* db = nullptr;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache;
  ~Conn() {
    for (auto& [sql, s] : cache) sqlite3_finalize(s);
    if (db) sqlite3_close_v2(db);
  }
};

sqlite3_stmt* PrepareOn(sqlite3* db, absl::flat_hash_map<std::string, sqlite3_stmt*>& cache,
                        const std::string& sql) {
  auto it = cache.find(sql);
  if (it == cache.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
        SQLITE_OK) {
      // Statements are compile-time constants: failing to prepare one is a programming error.
      fprintf(stderr, "keelson: cannot prepare SQL (%s): %s\n", sqlite3_errmsg(db), sql.c_str());
      abort();
    }
    it = cache.emplace(sql, s).first;
  }
  return it->second;
}

class SqliteStore final : public Store {
 public:
  // Reads go through a pooled read-only connection of their own (WAL readers see the last
  // commit and never wait for the writer, not even for its fsync), or through the writer under
  // its mutex for an in-memory database, which other connections cannot see.
  class ReadHandle {
   public:
    explicit ReadHandle(SqliteStore* store) : store_(store) {
      conn_ = store_->BorrowReader();
      if (conn_ == nullptr) store_->mu_.Lock();
    }
    ~ReadHandle() {
      if (conn_ != nullptr) {
        store_->ReturnReader(conn_);
      } else {
        store_->mu_.Unlock();
      }
    }
    ReadHandle(const ReadHandle&) = delete;
    ReadHandle& operator=(const ReadHandle&) = delete;
    Stmt Prepare(const std::string& sql) {
      if (conn_ == nullptr) return store_->Prepare(sql);
      return Stmt(conn_->db, PrepareOn(conn_->db, conn_->cache, sql));
    }

   private:
    SqliteStore* store_;
    Conn* conn_ = nullptr;
  };

  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    if (checkpointer_.joinable()) {
      stop_checkpoints_.Notify();
      checkpointer_.join();
    }
    if (checkpoint_db_) sqlite3_close_v2(checkpoint_db_);
    if (wal_fd_ >= 0) ::close(wal_fd_);
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  absl::Status Init(const SqliteOptions& o) {
    sqlite3_busy_timeout(db_, static_cast<int>(o.busy_timeout_ms));
    busy_timeout_ms_ = o.busy_timeout_ms;
    if (o.path != ":memory:") {
      // WAL lets readers (CLI, ops API) proceed during writes; FULL makes each commit durable.
      if (auto s = ExecScript("PRAGMA journal_mode=WAL;"); !s.ok()) return s;
      // Checkpoints (copying the WAL into the database file, with its own fsync) run on a
      // connection and thread of their own, so they never stall a commit that callers wait on.
      if (auto s = ExecScript("PRAGMA wal_autocheckpoint=0;"); !s.ok()) return s;
      if (sqlite3_open_v2(o.path.c_str(), &checkpoint_db_,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(checkpoint_db_, 100);
        checkpointer_ = std::thread([this] {
          pthread_setname_np(pthread_self(), "kl-checkpoint");
          while (!stop_checkpoints_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
            sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr);
          }
          sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                    nullptr);
        });
      }
    }
    // A page cache large enough for the hot index pages (the inbox dedupe index is random):
    // misses turn into pread calls on the commit path.
    const std::string cache = absl::StrCat("PRAGMA cache_size=-", o.cache_kib, ";");
    if (auto s = ExecScript(cache.c_str()); !s.ok()) return s;
    synchronous_full_ = o.synchronous_full;
    if (auto s = ExecScript(o.synchronous_full ? "PRAGMA synchronous=FULL;"
                                               : "PRAGMA synchronous=NORMAL;");
        !s.ok())
      return s;
    if (auto s = Migrate(); !s.ok()) return s;
    if (o.path != ":memory:" && !o.path.empty()) path_ = o.path;  // readers see the migrated db
    return absl::OkStatus();
  }

  absl::Status Ping() override {
    absl::MutexLock l(&mu_);
    Stmt q = Prepare("SELECT 1");
    return q.Exec();
  }

  absl::Status Transact(absl::Time now, absl::FunctionRef<absl::Status(Tx&)> fn) override {
    absl::MutexLock l(&mu_);
    return InTx([&]() -> absl::Status {
      SqliteTx tx(this, now);
      return fn(tx);
    });
  }

  absl::StatusOr<std::vector<absl::Status>> TransactEach(
      absl::Time now, std::span<const std::function<absl::Status(Tx&)>> fns) override {
    absl::MutexLock l(&mu_);
    std::vector<absl::Status> results;
    results.reserve(fns.size());
    absl::Status st = InTx([&]() -> absl::Status {
      for (const auto& fn : fns) {
        if (auto s = ExecScript("SAVEPOINT each"); !s.ok()) return s;
        SqliteTx tx(this, now);
        absl::Status r = fn(tx);
        if (!r.ok()) {
          if (auto s = ExecScript("ROLLBACK TO each"); !s.ok()) return s;
        }
        if (auto s = ExecScript("RELEASE each"); !s.ok()) return s;
        results.push_back(std::move(r));
      }
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    return results;
  }

  absl::StatusOr<std::vector<AcceptResult>> AcceptDeliveries(
      std::span<const DeliveryToAccept> batch, absl::Time now, bool durable) override {
    absl::MutexLock l(&mu_);
    std::vector<AcceptResult> results;
    results.reserve(batch.size());
    absl::Status st = InTx([&]() -> absl::Status {
      for (const DeliveryToAccept& d : batch) {
        AcceptResult r;
        {
          // Ids come from one counter (TakeDeliveryId) shared with the intake journal, which
          // hands them out before its rows get here.
          Stmt ins = Prepare(
              "INSERT INTO inbox(source, store_id, topic, dedupe_key, headers_json, body, "
              "correlation_id, received_at, id) VALUES(?,?,?,?,?,?,?,?,?) "
              "ON CONFLICT(dedupe_key) DO NOTHING");
          ins.Bind(1, d.source).Bind(2, d.store_id).Bind(3, d.topic).Bind(4, d.dedupe_key);
          ins.Bind(5, d.headers_json).BindBlob(6, d.body).Bind(7, d.correlation_id);
          ins.Bind(8, ToMillis(d.received_at == absl::InfinitePast() ? now : d.received_at));
          if (const int64_t id = TakeDeliveryId(d.id); id > 0) {
            ins.Bind(9, id);
          } else {
            ins.BindNull(9);  // SQLite's rowid, as without a journal
          }
          if (auto s = ins.Exec(); !s.ok()) return s;
        }
        if (sqlite3_changes(db_) == 0) {
          Stmt q = Prepare("SELECT id, correlation_id FROM inbox WHERE dedupe_key = ?");
          q.Bind(1, d.dedupe_key);
          auto row = q.Step();
          if (!row.ok()) return row.status();
          if (!*row) return absl::InternalError("inbox conflict without a row");
          r.delivery_id = q.Int(0);
          r.correlation_id = q.Text(1);
          r.duplicate = true;
        } else {
          r.delivery_id = sqlite3_last_insert_rowid(db_);
          r.correlation_id = d.correlation_id;
          NewJob job;
          job.kind = d.job_kind;
          job.partition_key = d.job_partition_key;
          job.payload = absl::StrCat("{\"delivery_id\":", r.delivery_id, "}");
          job.correlation_id = d.correlation_id;
          if (auto id = InsertJob(job, now); !id.ok()) return id.status();
        }
        results.push_back(std::move(r));
      }
      return absl::OkStatus();
    }, durable ? Sync::kSynced : Sync::kBuffered);
    if (!st.ok()) return st;
    return results;
  }

  absl::StatusOr<Delivery> GetDelivery(int64_t id) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT id, source, store_id, topic, dedupe_key, headers_json, body, correlation_id, "
        "received_at, status, error FROM inbox WHERE id = ?");
    q.Bind(1, id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("delivery ", id, " not found"));
    Delivery d;
    d.id = q.Int(0);
    d.source = q.Text(1);
    d.store_id = q.Text(2);
    d.topic = q.Text(3);
    d.dedupe_key = q.Text(4);
    d.headers_json = q.Text(5);
    d.body = q.Text(6);
    d.correlation_id = q.Text(7);
    d.received_at = FromMillis(q.Int(8));
    d.status = q.Text(9);
    d.error = q.Text(10);
    return d;
  }

  absl::StatusOr<absl::flat_hash_map<std::string, AcceptResult>> FindDeliveriesByKey(
      std::span<const std::string> dedupe_keys) override {
    absl::flat_hash_map<std::string, AcceptResult> found;
    if (dedupe_keys.empty()) return found;
    ReadHandle rd(this);
    // One statement per chunk of keys (SQLite's default limit is 32,766 parameters).
    constexpr size_t kChunk = 256;
    for (size_t at = 0; at < dedupe_keys.size(); at += kChunk) {
      const size_t n = std::min(kChunk, dedupe_keys.size() - at);
      // Three statement shapes (16, 64, 256 parameters; the unused ones NULL, which matches
      // nothing), so the per-connection statement cache stays small.
      const size_t slots = n <= 16 ? 16 : n <= 64 ? 64 : kChunk;
      std::string sql = "SELECT dedupe_key, id, correlation_id FROM inbox WHERE dedupe_key IN (";
      for (size_t i = 0; i < slots; ++i) sql += i == 0 ? "?" : ",?";
      sql += ")";
      Stmt q = rd.Prepare(sql);
      for (size_t i = 0; i < slots; ++i) {
        if (i < n) {
          q.Bind(static_cast<int>(i + 1), dedupe_keys[at + i]);
        } else {
          q.BindNull(static_cast<int>(i + 1));
        }
      }
      while (true) {
        auto row = q.Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        found[q.Text(0)] = AcceptResult{
            .delivery_id = q.Int(1), .duplicate = true, .correlation_id = q.Text(2)};
      }
    }
    return found;
  }

  absl::StatusOr<int64_t> MaxDeliveryId() {
    ReadHandle rd(this);
    Stmt q = rd.Prepare("SELECT COALESCE(MAX(id), 0) FROM inbox");
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  absl::StatusOr<int64_t> ReserveDeliveryIds(int64_t n) override {
    // The first reservation starts above every stored id. The journal makes it right after its
    // recovery, before it accepts anything; its directory lock keeps other servers out.
    bool loaded;
    {
      absl::MutexLock l(&id_mu_);
      loaded = next_delivery_id_ != 0;
    }
    int64_t max_id = 0;
    if (!loaded) {
      auto m = MaxDeliveryId();
      if (!m.ok()) return m.status();
      max_id = *m;
    }
    absl::MutexLock l(&id_mu_);
    if (next_delivery_id_ == 0) {
      next_delivery_id_ = std::max<int64_t>(max_id, max_explicit_id_) + 1;
    }
    const int64_t first = next_delivery_id_;
    next_delivery_id_ += std::max<int64_t>(1, n);
    return first;
  }

  // The inbox id for a new row: `wanted` (a journaled delivery's id) as is; otherwise the next
  // unreserved id once the journal reserves ids, or 0 (SQLite's rowid) when nothing does.
  int64_t TakeDeliveryId(int64_t wanted) {
    absl::MutexLock l(&id_mu_);
    if (wanted > 0) {
      max_explicit_id_ = std::max(max_explicit_id_, wanted);
      if (next_delivery_id_ != 0) next_delivery_id_ = std::max(next_delivery_id_, wanted + 1);
      return wanted;
    }
    return next_delivery_id_ == 0 ? 0 : next_delivery_id_++;
  }

  absl::StatusOr<int64_t> CountDeliveries() override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare("SELECT COUNT(*) FROM inbox");
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  using Store::ClaimJobs;
  absl::StatusOr<std::vector<Job>> ClaimJobs(std::string_view owner, absl::Time now,
                                             absl::Duration lease, int max,
                                             const ClaimFilter& filter) override {
    absl::MutexLock l(&mu_);
    std::vector<Job> out;
    absl::Status st = InTx([&]() -> absl::Status {
      const int64_t now_ms = ToMillis(now);
      {
        // A lease that ran out on the last allowed attempt ends the job: it would otherwise
        // crash-loop forever on a payload that kills its worker.
        Stmt s = Prepare(
            "UPDATE jobs SET state='dead', dead_reason='max_attempts', lease_owner='', "
            "last_error='lease expired on the final attempt (worker lost)', updated_at=? "
            "WHERE state='running' AND lease_expires_at <= ? AND attempts >= max_attempts");
        s.Bind(1, now_ms).Bind(2, now_ms);
        if (auto e = s.Exec(); !e.ok()) return e;
      }
      {
        Stmt s = Prepare(
            "UPDATE jobs SET state='queued', lease_owner='', "
            "last_error='lease expired (worker lost)', updated_at=? "
            "WHERE state='running' AND lease_expires_at <= ?");
        s.Bind(1, now_ms).Bind(2, now_ms);
        if (auto e = s.Exec(); !e.ok()) return e;
      }
      std::vector<int64_t> ids;
      {
        // A partition is blocked by an earlier queued job, or by ANY running job: a replayed dead
        // job keeps its (lower) id and must still wait for the later job that is running.
        std::string kinds;
        if (!filter.kinds.empty()) {
          kinds = filter.exclude ? " AND j.kind NOT IN (" : " AND j.kind IN (";
          for (size_t i = 0; i < filter.kinds.size(); ++i) {
            absl::StrAppend(&kinds, i == 0 ? "?" : ",?", i + 3);
          }
          kinds += ")";
        }
        // A lane that takes only some kinds reads those kinds' due jobs (jobs_kind_due);
        // SQLite's planner, without statistics, would walk every due job in order instead.
        const char* from = !filter.kinds.empty() && !filter.exclude
                               ? "SELECT j.id FROM jobs j INDEXED BY jobs_kind_due"
                               : "SELECT j.id FROM jobs j";
        Stmt s = Prepare(absl::StrCat(
            from, " WHERE j.state='queued' AND j.run_at <= ?1", kinds,
            " AND (j.partition_key = '' OR NOT EXISTS (SELECT 1 FROM jobs p WHERE "
            "p.partition_key = j.partition_key AND (p.state = 'running' OR "
            "(p.state = 'queued' AND p.id < j.id)))) ORDER BY j.run_at, j.id LIMIT ?2"));
        s.Bind(1, now_ms).Bind(2, static_cast<int64_t>(max));
        for (size_t i = 0; i < filter.kinds.size(); ++i) {
          s.Bind(static_cast<int>(i + 3), filter.kinds[i]);
        }
        while (true) {
          auto row = s.Step();
          if (!row.ok()) return row.status();
          if (!*row) break;
          ids.push_back(s.Int(0));
        }
      }
      const int64_t lease_ms = ToMillis(now + lease);
      for (int64_t id : ids) {
        Stmt s = Prepare(absl::StrCat(
            "UPDATE jobs SET state='running', lease_owner=?, lease_expires_at=?, "
            "attempts=attempts+1, updated_at=? WHERE id=? RETURNING ",
            kJobColumns));
        s.Bind(1, owner).Bind(2, lease_ms).Bind(3, now_ms).Bind(4, id);
        auto row = s.Step();
        if (!row.ok()) return row.status();
        if (*row) out.push_back(ReadJob(s));
        while (true) {  // drain RETURNING so the statement completes
          auto more = s.Step();
          if (!more.ok()) return more.status();
          if (!*more) break;
        }
      }
      return absl::OkStatus();
    }, Sync::kBuffered);
    if (!st.ok()) return st;
    return out;
  }

  // The single-outcome calls share RecordOutcomes' fenced update (one autocommit each).
  absl::Status CompleteJob(int64_t id, std::string_view owner, absl::Time now) override {
    return RecordOne({.job_id = id, .owner = std::string(owner),
                      .kind = JobOutcome::Kind::kDone}, now);
  }

  absl::Status RetryJob(int64_t id, std::string_view owner, absl::Time run_at,
                        std::string_view error, absl::Time now) override {
    return RecordOne({.job_id = id, .owner = std::string(owner),
                      .kind = JobOutcome::Kind::kRetry, .run_at = run_at,
                      .error = std::string(error)}, now);
  }

  absl::Status DeadLetterJob(int64_t id, std::string_view owner, std::string_view reason,
                             std::string_view error, absl::Time now) override {
    return RecordOne({.job_id = id, .owner = std::string(owner),
                      .kind = JobOutcome::Kind::kDead, .error = std::string(error),
                      .dead_reason = std::string(reason)}, now);
  }

  absl::StatusOr<std::vector<absl::Status>> RecordOutcomes(std::span<const JobOutcome> outcomes,
                                                           absl::Time now) override {
    absl::MutexLock l(&mu_);
    std::vector<absl::Status> results;
    results.reserve(outcomes.size());
    absl::Status st = InTx([&]() -> absl::Status {
      for (const JobOutcome& o : outcomes) {
        if (auto s = ExecScript("SAVEPOINT outcome"); !s.ok()) return s;
        absl::Status r;
        if (o.effects) {
          SqliteTx tx(this, now);
          r = o.effects(tx);
        }
        if (r.ok()) r = ApplyOutcome(o, now);
        if (!r.ok()) {
          if (auto s = ExecScript("ROLLBACK TO outcome"); !s.ok()) return s;
        }
        if (auto s = ExecScript("RELEASE outcome"); !s.ok()) return s;
        results.push_back(std::move(r));
      }
      return absl::OkStatus();
    }, Sync::kBuffered);
    if (!st.ok()) return st;
    return results;
  }

  absl::Status ExtendLease(int64_t id, std::string_view owner, absl::Time until) override {
    absl::MutexLock l(&mu_);
    Stmt s = Prepare(
        "UPDATE jobs SET lease_expires_at=?3 WHERE id=?1 AND state='running' AND "
        "lease_owner=?2");
    s.Bind(1, id).Bind(2, owner).Bind(3, ToMillis(until));
    if (auto e = s.Exec(); !e.ok()) return e;
    return LeaseOutcome(id);
  }

  absl::StatusOr<std::vector<int64_t>> ExtendLeases(std::span<const int64_t> ids,
                                                    std::string_view owner,
                                                    absl::Time until) override {
    absl::MutexLock l(&mu_);
    std::vector<int64_t> lost;
    absl::Status st = InTx([&]() -> absl::Status {
      for (int64_t id : ids) {
        Stmt s = Prepare(
            "UPDATE jobs SET lease_expires_at=?3 WHERE id=?1 AND state='running' AND "
            "lease_owner=?2");
        s.Bind(1, id).Bind(2, owner).Bind(3, ToMillis(until));
        if (auto e = s.Exec(); !e.ok()) return e;
        if (sqlite3_changes(db_) == 0) lost.push_back(id);
      }
      return absl::OkStatus();
    }, Sync::kBuffered);
    if (!st.ok()) return st;
    return lost;
  }

  absl::Status ReplayJob(int64_t id, absl::Time now) override {
    absl::MutexLock l(&mu_);
    return InTx([&]() -> absl::Status {
      Stmt q = Prepare("SELECT state, deadline_at, enqueued_at FROM jobs WHERE id = ?");
      q.Bind(1, id);
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
      if (q.Text(0) != "dead") {
        return absl::FailedPreconditionError(
            absl::StrCat("job ", id, " is ", q.Text(0), ", not dead: only dead letters replay"));
      }
      const int64_t now_ms = ToMillis(now);
      Stmt u = Prepare(
          "UPDATE jobs SET state='queued', attempts=0, run_at=?2, enqueued_at=?2, updated_at=?2, "
          "deadline_at=?3, dead_reason='', lease_owner='' WHERE id=?1");
      u.Bind(1, id).Bind(2, now_ms);
      if (q.IsNull(1)) {
        u.BindNull(3);
      } else {
        u.Bind(3, now_ms + (q.Int(1) - q.Int(2)));  // same deadline window, from now
      }
      return u.Exec();
    });
  }

  absl::Status DiscardJob(int64_t id, absl::Time now) override {
    absl::MutexLock l(&mu_);
    return InTx([&]() -> absl::Status {
      Stmt q = Prepare("SELECT state, dead_reason FROM jobs WHERE id = ?");
      q.Bind(1, id);
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
      if (q.Text(0) != "dead") {
        return absl::FailedPreconditionError(
            absl::StrCat("job ", id, " is ", q.Text(0), ", not dead: only dead letters discard"));
      }
      if (q.Text(1) == "discarded") {
        return absl::FailedPreconditionError(absl::StrCat("job ", id, " is already discarded"));
      }
      Stmt u = Prepare("UPDATE jobs SET dead_reason='discarded', updated_at=?2 WHERE id=?1");
      u.Bind(1, id).Bind(2, ToMillis(now));
      return u.Exec();
    });
  }

  // The WHERE clause of a JobFilter (after "WHERE id > ?1"), with its parameters ?2..?9.
  static std::string JobWhere(const JobFilter& f) {
    std::string sql;
    if (f.state) absl::StrAppend(&sql, " AND state = ?2");
    if (!f.kind.empty()) absl::StrAppend(&sql, " AND kind = ?3");
    if (!f.dead_reason.empty()) absl::StrAppend(&sql, " AND dead_reason = ?4");
    if (!f.correlation_id.empty()) absl::StrAppend(&sql, " AND correlation_id = ?5");
    if (!f.exclude_dead_reason.empty()) absl::StrAppend(&sql, " AND dead_reason <> ?6");
    if (!f.partition_key.empty()) absl::StrAppend(&sql, " AND partition_key = ?7");
    if (f.enqueued_before != absl::InfiniteFuture()) absl::StrAppend(&sql, " AND enqueued_at < ?8");
    if (f.updated_before != absl::InfiniteFuture()) absl::StrAppend(&sql, " AND updated_at < ?9");
    return sql;
  }
  static void BindJobFilter(Stmt& q, const JobFilter& f) {
    q.Bind(1, f.after_id);
    if (f.state) q.Bind(2, JobStateName(*f.state));
    if (!f.kind.empty()) q.Bind(3, f.kind);
    if (!f.dead_reason.empty()) q.Bind(4, f.dead_reason);
    if (!f.correlation_id.empty()) q.Bind(5, f.correlation_id);
    if (!f.exclude_dead_reason.empty()) q.Bind(6, f.exclude_dead_reason);
    if (!f.partition_key.empty()) q.Bind(7, f.partition_key);
    if (f.enqueued_before != absl::InfiniteFuture()) q.Bind(8, ToMillis(f.enqueued_before));
    if (f.updated_before != absl::InfiniteFuture()) q.Bind(9, ToMillis(f.updated_before));
  }

  absl::StatusOr<int64_t> CountJobs(const JobFilter& filter) override {
    JobFilter f = filter;
    f.after_id = 0;
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT COUNT(*) FROM jobs WHERE id > ?1", JobWhere(f)));
    BindJobFilter(q, f);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  absl::StatusOr<Job> GetJob(int64_t id) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id = ?"));
    q.Bind(1, id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
    return ReadJob(q);
  }

  absl::StatusOr<std::vector<Job>> ListJobs(const JobFilter& f) override {
    ReadHandle rd(this);
    std::string sql = absl::StrCat("SELECT ", kJobColumns, " FROM jobs WHERE id > ?1",
                                   JobWhere(f), " ORDER BY id LIMIT ?10");
    Stmt q = rd.Prepare(sql);
    BindJobFilter(q, f);
    q.Bind(10, static_cast<int64_t>(f.limit));
    std::vector<Job> out;
    while (true) {
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadJob(q));
    }
    return out;
  }

  absl::StatusOr<JobStats> GetJobStats(absl::Time now) override {
    ReadHandle rd(this);
    JobStats st;
    {
      Stmt q = rd.Prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state");
      while (true) {
        auto row = q.Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        auto state = ParseJobState(q.Text(0));
        if (!state) continue;
        int64_t n = q.Int(1);
        switch (*state) {
          case JobState::kQueued: st.queued = n; break;
          case JobState::kRunning: st.running = n; break;
          case JobState::kDone: st.done = n; break;
          case JobState::kDead: st.dead = n; break;
        }
      }
    }
    {
      Stmt q = rd.Prepare(
          "SELECT COUNT(*), MIN(run_at) FROM jobs WHERE state='queued' AND run_at <= ?");
      q.Bind(1, ToMillis(now));
      auto row = q.Step();
      if (!row.ok()) return row.status();
      st.due = q.Int(0);
      st.oldest_due_age = q.IsNull(1) ? absl::ZeroDuration() : now - FromMillis(q.Int(1));
    }
    {
      Stmt q = rd.Prepare(
          "SELECT dead_reason, COUNT(*) FROM jobs WHERE state='dead' GROUP BY dead_reason "
          "ORDER BY dead_reason");
      while (true) {
        auto row = q.Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        st.dead_by_reason.emplace_back(q.Text(0), q.Int(1));
      }
    }
    return st;
  }

  absl::StatusOr<int64_t> PurgeDoneJobs(absl::Time before) override {
    absl::MutexLock l(&mu_);
    Stmt s = Prepare("DELETE FROM jobs WHERE state='done' AND updated_at < ?");
    s.Bind(1, ToMillis(before));
    if (auto e = s.Exec(); !e.ok()) return e;
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  absl::StatusOr<std::optional<absl::Time>> NextRunAt() override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare("SELECT MIN(run_at) FROM jobs WHERE state='queued'");
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (q.IsNull(0)) return std::optional<absl::Time>();
    return std::optional<absl::Time>(FromMillis(q.Int(0)));
  }

  absl::StatusOr<bool> FireScheduleIfDue(std::string_view name, absl::Duration interval,
                                         const NewJob& job, absl::Time now) override {
    absl::MutexLock l(&mu_);
    bool fired = false;
    absl::Status st = InTx([&]() -> absl::Status {
      const int64_t now_ms = ToMillis(now);
      const int64_t next_ms = ToMillis(now + interval);
      {
        Stmt ins = Prepare(
            "INSERT INTO schedules(name, next_run_at, interval_ms) VALUES(?,?,?) "
            "ON CONFLICT(name) DO NOTHING");
        ins.Bind(1, name).Bind(2, now_ms).Bind(3, absl::ToInt64Milliseconds(interval));
        if (auto e = ins.Exec(); !e.ok()) return e;
      }
      Stmt u = Prepare(
          "UPDATE schedules SET next_run_at=?2, interval_ms=?3 WHERE name=?1 AND "
          "next_run_at <= ?4");
      u.Bind(1, name).Bind(2, next_ms).Bind(3, absl::ToInt64Milliseconds(interval));
      u.Bind(4, now_ms);
      if (auto e = u.Exec(); !e.ok()) return e;
      if (sqlite3_changes(db_) == 0) return absl::OkStatus();
      fired = true;
      return InsertJob(job, now).status();
    });
    if (!st.ok()) return st;
    return fired;
  }

  absl::StatusOr<std::optional<Xref>> GetXref(std::string_view entity_type,
                                              std::string_view keelson_id,
                                              std::string_view system) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT external_id FROM xrefs WHERE entity_type=? AND keelson_id=? AND system=?");
    q.Bind(1, entity_type).Bind(2, keelson_id).Bind(3, system);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Xref>();
    return std::optional<Xref>(Xref{std::string(entity_type), std::string(keelson_id),
                                    std::string(system), q.Text(0)});
  }

  absl::StatusOr<std::vector<TimelineEvent>> ListTimeline(std::string_view entity,
                                                          int limit) override {
    return QueryTimeline(
        "SELECT id, entity, correlation_id, at, kind, detail_json FROM timeline "
        "WHERE entity = ? ORDER BY id LIMIT ?",
        entity, limit);
  }

  absl::StatusOr<std::vector<TimelineEvent>> ListTimelineByCorrelation(
      std::string_view correlation_id, int limit) override {
    return QueryTimeline(
        "SELECT id, entity, correlation_id, at, kind, detail_json FROM timeline "
        "WHERE correlation_id = ? ORDER BY id LIMIT ?",
        correlation_id, limit);
  }

  absl::StatusOr<std::optional<Xref>> FindXrefByExternalId(
      std::string_view external_id) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT entity_type, keelson_id, system, external_id FROM xrefs "
        "WHERE UPPER(external_id) = UPPER(?) ORDER BY updated_at DESC LIMIT 1");
    q.Bind(1, external_id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Xref>();
    return std::optional<Xref>(Xref{q.Text(0), q.Text(1), q.Text(2), q.Text(3)});
  }

  absl::StatusOr<std::optional<OrderRecord>> GetOrder(std::string_view store_id,
                                                      int64_t order_id) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT ", kOrderColumns,
                                     ", snapshot_json FROM orders WHERE store_id=? AND order_id=?"));
    q.Bind(1, store_id).Bind(2, order_id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<OrderRecord>();
    OrderRecord r = ReadOrder(q);
    r.snapshot_json = q.Text(15);
    return std::optional<OrderRecord>(std::move(r));
  }

  absl::StatusOr<std::optional<std::string>> GetCursor(std::string_view name) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare("SELECT value FROM cursors WHERE name=?");
    q.Bind(1, name);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(q.Text(0));
  }

  // The WHERE clause of an OrderQuery (after "WHERE 1"), parameters ?1..?8 and ?20.. for lists.
  static std::string OrderWhere(const OrderQuery& q) {
    std::string sql;
    if (!q.store_id.empty()) absl::StrAppend(&sql, " AND store_id = ?1");
    if (q.order_id) absl::StrAppend(&sql, " AND order_id = ?2");
    if (!q.customer_email.empty()) absl::StrAppend(&sql, " AND customer_email = ?3");
    if (!q.erp_number.empty()) absl::StrAppend(&sql, " AND UPPER(erp_number) = UPPER(?4)");
    if (!q.correlation_id.empty()) absl::StrAppend(&sql, " AND correlation_id = ?5");
    if (q.status_since_before != absl::InfiniteFuture()) {
      absl::StrAppend(&sql, " AND status_since < ?6");
    }
    int n = 20;
    auto in_list = [&](std::string_view column, const std::vector<std::string>& values) {
      if (values.empty()) return;
      absl::StrAppend(&sql, " AND ", core::AbslSv(column), " IN (");
      for (size_t i = 0; i < values.size(); ++i) absl::StrAppend(&sql, i ? "," : "", "?", n++);
      absl::StrAppend(&sql, ")");
    };
    in_list("status", q.statuses);
    in_list("erp_state", q.erp_states);
    return sql;
  }
  static void BindOrderQuery(Stmt& s, const OrderQuery& q) {
    if (!q.store_id.empty()) s.Bind(1, q.store_id);
    if (q.order_id) s.Bind(2, *q.order_id);
    if (!q.customer_email.empty()) s.Bind(3, absl::AsciiStrToLower(q.customer_email));
    if (!q.erp_number.empty()) s.Bind(4, q.erp_number);
    if (!q.correlation_id.empty()) s.Bind(5, q.correlation_id);
    if (q.status_since_before != absl::InfiniteFuture()) s.Bind(6, ToMillis(q.status_since_before));
    int n = 20;
    for (const std::string& v : q.statuses) s.Bind(n++, v);
    for (const std::string& v : q.erp_states) s.Bind(n++, v);
  }

  absl::StatusOr<std::vector<OrderRecord>> SearchOrders(const OrderQuery& query) override {
    const bool recent = query.sort == OrderQuery::Sort::kRecent;
    const char* key = recent ? "updated_at" : "status_since";
    std::string sql = absl::StrCat("SELECT ", kOrderColumns, " FROM orders WHERE 1",
                                   OrderWhere(query));
    if (query.after) {
      absl::StrAppend(&sql, " AND (", key, ", store_id, order_id) ", recent ? "<" : ">",
                      " (?7, ?8, ?9)");
    }
    absl::StrAppend(&sql, " ORDER BY ", key, recent ? " DESC" : "", ", store_id",
                    recent ? " DESC" : "", ", order_id", recent ? " DESC" : "", " LIMIT ?10");
    ReadHandle rd(this);
    Stmt q = rd.Prepare(sql);
    BindOrderQuery(q, query);
    if (query.after) q.Bind(7, query.after->key_ms).Bind(8, query.after->store_id).Bind(9, query.after->order_id);
    q.Bind(10, static_cast<int64_t>(query.limit));
    return Collect<OrderRecord>(q, ReadOrder);
  }

  absl::StatusOr<int64_t> CountOrders(const OrderQuery& query) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT COUNT(*) FROM orders WHERE 1", OrderWhere(query)));
    BindOrderQuery(q, query);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  absl::StatusOr<std::vector<OrderStateCount>> CountOrdersByState() override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT status, erp_state, COUNT(*) FROM orders GROUP BY status, erp_state "
        "ORDER BY status, erp_state");
    return Collect<OrderStateCount>(q, [](const Stmt& s) {
      return OrderStateCount{s.Text(0), s.Text(1), s.Int(2)};
    });
  }

  absl::StatusOr<std::vector<AuditEntry>> ListAudit(int64_t after_id, int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT id, at, actor, action, target, detail_json FROM audit_log WHERE id > ? "
        "ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    return Collect<AuditEntry>(q, [](const Stmt& s) {
      return AuditEntry{.id = s.Int(0), .at = FromMillis(s.Int(1)), .actor = s.Text(2),
                        .action = s.Text(3), .target = s.Text(4), .detail_json = s.Text(5)};
    });
  }

  absl::StatusOr<std::vector<EdiDocument>> ListEdiDocuments(
      const EdiDocumentQuery& query) override {
    ReadHandle rd(this);
    return QueryEdiDocuments(rd.Prepare(kEdiDocumentsSql), query);
  }

  absl::StatusOr<std::vector<EdiFile>> ListEdiFiles(const EdiFileQuery& f) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat(
        "SELECT ", kEdiFileColumns,
        ", content FROM edi_files WHERE partner=?1 AND (?2 = '' OR direction=?2) AND "
        "(?3 = '' OR state=?3) AND id > ?4 ORDER BY id LIMIT ?5"));
    q.Bind(1, f.partner).Bind(2, f.direction).Bind(3, f.state).Bind(4, f.after_id);
    q.Bind(5, static_cast<int64_t>(f.limit));
    return Collect<EdiFile>(q, [&f](const Stmt& s) { return ReadEdiFile(s, f.with_content); });
  }

  absl::StatusOr<std::vector<OutboxEvent>> ListPendingEvents(int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT id, event_id, type, key, payload_json, correlation_id, occurred_at FROM outbox "
        "WHERE published_at IS NULL ORDER BY id LIMIT ?");
    q.Bind(1, static_cast<int64_t>(limit));
    return Collect<OutboxEvent>(q, [](const Stmt& s) {
      return OutboxEvent{.id = s.Int(0), .event_id = s.Text(1), .type = s.Text(2),
                         .key = s.Text(3), .payload_json = s.Text(4),
                         .correlation_id = s.Text(5), .occurred_at = FromMillis(s.Int(6))};
    });
  }

  absl::Status MarkEventsPublished(std::span<const int64_t> ids, absl::Time at) override {
    if (ids.empty()) return absl::OkStatus();
    absl::MutexLock l(&mu_);
    return InTx([&]() -> absl::Status {
      for (int64_t id : ids) {
        Stmt u = Prepare("UPDATE outbox SET published_at=? WHERE id=? AND published_at IS NULL");
        u.Bind(1, ToMillis(at)).Bind(2, id);
        if (auto e = u.Exec(); !e.ok()) return e;
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::pair<int64_t, std::optional<absl::Time>>> PendingEventStats() override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT COUNT(*), MIN(occurred_at) FROM outbox WHERE published_at IS NULL");
    if (auto row = q.Step(); !row.ok()) return row.status();
    std::optional<absl::Time> oldest;
    if (!q.IsNull(1)) oldest = FromMillis(q.Int(1));
    return std::make_pair(q.Int(0), oldest);
  }

  absl::StatusOr<int64_t> PurgePublishedEvents(absl::Time before) override {
    absl::MutexLock l(&mu_);
    Stmt s = Prepare("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ?");
    s.Bind(1, ToMillis(before));
    if (auto e = s.Exec(); !e.ok()) return e;
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  absl::StatusOr<bool> TryAcquireLease(std::string_view name, std::string_view owner,
                                       absl::Time now, absl::Duration ttl) override {
    absl::MutexLock l(&mu_);
    Stmt s = Prepare(
        "INSERT INTO leases(name, owner, expires_at) VALUES(?1,?2,?3) ON CONFLICT(name) DO "
        "UPDATE SET owner=?2, expires_at=?3 WHERE leases.owner=?2 OR leases.expires_at <= ?4");
    s.Bind(1, name).Bind(2, owner).Bind(3, ToMillis(now + ttl)).Bind(4, ToMillis(now));
    if (auto e = s.Exec(); !e.ok()) return e;
    return sqlite3_changes(db_) > 0;
  }

  absl::Status ReleaseLease(std::string_view name, std::string_view owner) override {
    absl::MutexLock l(&mu_);
    Stmt s = Prepare("DELETE FROM leases WHERE name=? AND owner=?");
    s.Bind(1, name).Bind(2, owner);
    return s.Exec();
  }

  absl::StatusOr<std::vector<DirtyMark>> ListStaleDirty(absl::Time before, int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT store_id, sku, marked_at FROM inventory_dirty WHERE marked_at < ? "
        "ORDER BY marked_at, store_id, sku LIMIT ?");
    q.Bind(1, ToMillis(before)).Bind(2, static_cast<int64_t>(limit));
    return Collect<DirtyMark>(q, [](const Stmt& s) {
      return DirtyMark{s.Text(0), s.Text(1), FromMillis(s.Int(2))};
    });
  }

  absl::StatusOr<int64_t> CountStaleDirty(absl::Time before) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare("SELECT COUNT(*) FROM inventory_dirty WHERE marked_at < ?");
    q.Bind(1, ToMillis(before));
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  absl::StatusOr<std::vector<SegmentRecord>> GetSegments(std::string_view order_ref) override {
    ReadHandle rd(this);
    return QuerySegments([&rd](const std::string& sql) { return rd.Prepare(sql); }, order_ref);
  }

  absl::StatusOr<std::optional<SegmentRecord>> GetSegment(std::string_view segment_id) override {
    std::string order_ref;
    {
      ReadHandle rd(this);
      Stmt q = rd.Prepare("SELECT order_ref FROM fulfillment_segments WHERE segment_id=?");
      q.Bind(1, segment_id);
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) return std::optional<SegmentRecord>();
      order_ref = q.Text(0);
    }
    auto segs = GetSegments(order_ref);
    if (!segs.ok()) return segs.status();
    for (SegmentRecord& s : *segs) {
      if (s.segment_id == segment_id) return std::optional<SegmentRecord>(std::move(s));
    }
    return std::optional<SegmentRecord>();
  }

  absl::StatusOr<std::vector<SegmentRecord>> ListSegmentsInState(std::string_view state,
                                                                 absl::Time before,
                                                                 int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT ", kSegmentColumns,
                                     " FROM fulfillment_segments WHERE state=? AND state_since<? "
                                     "ORDER BY state_since, segment_id LIMIT ?"));
    q.Bind(1, state).Bind(2, ToMillis(before)).Bind(3, static_cast<int64_t>(limit));
    return Collect<SegmentRecord>(q, ReadSegment);
  }

  absl::StatusOr<int64_t> CountSegmentsInState(std::string_view state, absl::Time before) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT COUNT(*) FROM fulfillment_segments WHERE state=? AND state_since<?");
    q.Bind(1, state).Bind(2, ToMillis(before));
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  absl::StatusOr<std::vector<ShipmentRecord>> ListShipments(std::string_view order_ref) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT ", kShipmentColumns,
                                     " FROM shipments WHERE order_ref=? ORDER BY received_at, "
                                     "provider, shipment_id"));
    q.Bind(1, order_ref);
    return Collect<ShipmentRecord>(q, ReadShipment);
  }

  absl::StatusOr<std::vector<ShipmentRecord>> ListShipmentsAwaitingErp(absl::Time before,
                                                                       int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(absl::StrCat("SELECT ", kShipmentColumns,
                                     " FROM shipments WHERE erp_state='pending' AND "
                                     "received_at<? ORDER BY received_at LIMIT ?"));
    q.Bind(1, ToMillis(before)).Bind(2, static_cast<int64_t>(limit));
    return Collect<ShipmentRecord>(q, ReadShipment);
  }

  absl::StatusOr<int64_t> CountShipmentsAwaitingErp(absl::Time before) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT COUNT(*) FROM shipments WHERE erp_state='pending' AND received_at<?");
    q.Bind(1, ToMillis(before));
    auto row = q.Step();
    if (!row.ok()) return row.status();
    return q.Int(0);
  }

  absl::StatusOr<std::vector<model::InventoryPosition>> GetPositions(
      std::string_view sku) override {
    ReadHandle rd(this);
    return QueryPositions(rd.Prepare(kPositionsSql), sku);
  }

  absl::StatusOr<std::vector<model::Movement>> ListMovements(std::string_view sku, int64_t after_id,
                                                             int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT id, sku, location, kind, quantity, expected_at, source, correlation_id, at, "
        "recorded_at FROM inventory_movements WHERE sku=? AND id>? ORDER BY id LIMIT ?");
    q.Bind(1, sku).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
    return Collect<model::Movement>(q, [](const Stmt& s) {
      model::Movement m;
      m.id = s.Int(0);
      m.sku = s.Text(1);
      m.location = s.Text(2);
      // Kinds are written from the enum; an unknown one would be a newer binary's.
      m.kind = model::ParseMovementKind(s.Text(3)).value_or(model::MovementKind::kAdjustment);
      m.quantity = s.Int(4);
      m.expected_at = ReadTime(s, 5, absl::InfiniteFuture());
      m.source = s.Text(6);
      m.correlation_id = s.Text(7);
      m.at = FromMillis(s.Int(8));
      m.recorded_at = FromMillis(s.Int(9));
      return m;
    });
  }

  absl::StatusOr<std::vector<Reservation>> GetReservations(std::string_view order_ref) override {
    ReadHandle rd(this);
    return QueryReservations(rd.Prepare(kReservationsSql), order_ref);
  }

  absl::StatusOr<std::optional<PublishedLevel>> GetPublished(std::string_view store_id,
                                                             std::string_view sku) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT quantity, stock_status, status, error, at FROM inventory_published "
        "WHERE store_id=? AND sku=?");
    q.Bind(1, store_id).Bind(2, sku);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<PublishedLevel>();
    return std::optional<PublishedLevel>(PublishedLevel{.store_id = std::string(store_id),
                                                        .sku = std::string(sku),
                                                        .quantity = q.Int(0),
                                                        .stock_status = q.Text(1),
                                                        .status = q.Text(2),
                                                        .error = q.Text(3),
                                                        .at = FromMillis(q.Int(4))});
  }

  absl::StatusOr<std::vector<std::string>> ListDirty(std::string_view store_id,
                                                     int limit) override {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT sku FROM inventory_dirty WHERE store_id=? ORDER BY marked_at, sku LIMIT ?");
    q.Bind(1, store_id).Bind(2, static_cast<int64_t>(limit));
    return Collect<std::string>(q, [](const Stmt& s) { return s.Text(0); });
  }

  absl::StatusOr<std::vector<DriftRow>> ListDrift(const DriftQuery& query) override {
    std::string run_id = query.run_id;
    if (run_id.empty()) {
      auto latest = GetReconcileRun(query.store_id, "");
      if (!latest.ok()) return latest.status();
      if (!latest->has_value()) return std::vector<DriftRow>();
      run_id = (*latest)->run_id;
    }
    ReadHandle rd(this);
    Stmt q = rd.Prepare(
        "SELECT id, run_id, store_id, sku, expected, found, expected_status, found_status, "
        "corrected, at FROM inventory_drift WHERE run_id=? AND id>? ORDER BY id LIMIT ?");
    q.Bind(1, run_id).Bind(2, query.after_id).Bind(3, static_cast<int64_t>(query.limit));
    return Collect<DriftRow>(q, [](const Stmt& s) {
      return DriftRow{.id = s.Int(0),
                      .run_id = s.Text(1),
                      .store_id = s.Text(2),
                      .sku = s.Text(3),
                      .expected = s.Int(4),
                      .found = s.Int(5),
                      .expected_status = s.Text(6),
                      .found_status = s.Text(7),
                      .corrected = s.Int(8) != 0,
                      .at = FromMillis(s.Int(9))};
    });
  }

  absl::StatusOr<std::optional<ReconcileRun>> GetReconcileRun(std::string_view store_id,
                                                              std::string_view run_id) override {
    ReadHandle rd(this);
    const char* cols =
        "SELECT run_id, store_id, started_at, finished_at, scanned, drifted, corrected, unknown "
        "FROM inventory_reconcile_runs ";
    Stmt q = rd.Prepare(run_id.empty() ? absl::StrCat(cols,
                                                      "WHERE store_id=?1 ORDER BY started_at DESC, "
                                                      "run_id DESC LIMIT 1")
                                       : absl::StrCat(cols, "WHERE store_id=?1 AND run_id=?2"));
    q.Bind(1, store_id);
    if (!run_id.empty()) q.Bind(2, run_id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<ReconcileRun>();
    return std::optional<ReconcileRun>(
        ReconcileRun{.run_id = q.Text(0),
                     .store_id = q.Text(1),
                     .started_at = FromMillis(q.Int(2)),
                     .finished_at = ReadTime(q, 3, absl::InfinitePast()),
                     .scanned = q.Int(4),
                     .drifted = q.Int(5),
                     .corrected = q.Int(6),
                     .unknown = q.Int(7)});
  }

  // ---- used by SqliteTx (mu_ held) ----
  absl::StatusOr<int64_t> InsertJob(const NewJob& job, absl::Time now) {
    const int64_t now_ms = ToMillis(now);
    const int64_t run_ms = job.run_at == absl::InfinitePast() ? now_ms : ToMillis(job.run_at);
    Stmt s = Prepare(
        "INSERT INTO jobs(kind, partition_key, payload, correlation_id, state, attempts, "
        "max_attempts, run_at, enqueued_at, updated_at, deadline_at) "
        "VALUES(?,?,?,?,'queued',0,?,?,?,?,?)");
    s.Bind(1, job.kind).Bind(2, job.partition_key).Bind(3, job.payload);
    s.Bind(4, job.correlation_id).Bind(5, static_cast<int64_t>(job.max_attempts));
    s.Bind(6, run_ms).Bind(7, now_ms).Bind(8, now_ms);
    if (job.deadline == absl::InfiniteDuration()) {
      s.BindNull(9);
    } else {
      s.Bind(9, now_ms + absl::ToInt64Milliseconds(job.deadline));
    }
    if (auto e = s.Exec(); !e.ok()) return e;
    return sqlite3_last_insert_rowid(db_);
  }

  Stmt Prepare(const std::string& sql) { return Stmt(db_, PrepareOn(db_, cache_, sql)); }

  sqlite3* db() { return db_; }

  // A reader from the pool (opened on demand); null for an in-memory database.
  Conn* BorrowReader() {
    if (path_.empty()) return nullptr;
    {
      absl::MutexLock l(&pool_mu_);
      if (!readers_.empty()) {
        Conn* c = readers_.back().release();
        readers_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Conn>();
    if (sqlite3_open_v2(path_.c_str(), &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return nullptr;  // fall back to the writer
    }
    sqlite3_busy_timeout(c->db, static_cast<int>(busy_timeout_ms_));
    sqlite3_exec(c->db, "PRAGMA query_only=1; PRAGMA cache_size=-16384;", nullptr, nullptr,
                 nullptr);
    return c.release();
  }
  void ReturnReader(Conn* c) {
    absl::MutexLock l(&pool_mu_);
    readers_.emplace_back(c);
  }

 private:
  // How a commit reaches the disk. kSynced (the default): fsync'd before the commit returns,
  // for everything a caller is promised (an accepted delivery, a replay, an enqueue). kBuffered:
  // the job runner's bookkeeping (claims, outcomes), which only needs to survive a process crash
  // (the OS has the WAL pages) — after an OS crash a lost claim or outcome just means the job
  // runs again, which every handler allows. WAL is append-only, so the next synced commit makes
  // every earlier buffered one durable too; order is never lost.
  enum class Sync { kSynced, kBuffered };

  absl::Status SetSync(Sync sync) {
    if (!synchronous_full_ || sync == sync_) return absl::OkStatus();
    absl::Status s = ExecScript(sync == Sync::kSynced ? "PRAGMA synchronous=FULL"
                                                      : "PRAGMA synchronous=NORMAL");
    if (s.ok()) sync_ = sync;
    return s;
  }

  // Runs fn between BEGIN IMMEDIATE and COMMIT; rolls back on error. mu_ must be held.
  template <typename Fn>
  absl::Status InTx(Fn&& fn, Sync sync = Sync::kSynced) {
    if (auto s = SetSync(sync); !s.ok()) return s;
    if (auto s = ExecScript("BEGIN IMMEDIATE"); !s.ok()) return s;
    absl::Status st = fn();
    if (!st.ok()) {
      ExecScript("ROLLBACK").IgnoreError();
      return st;
    }
    if (auto s = ExecScript("COMMIT"); !s.ok()) {
      ExecScript("ROLLBACK").IgnoreError();
      return s;
    }
    if (sync == Sync::kBuffered) StartWalWriteback();
    return absl::OkStatus();
  }

  // A buffered commit leaves its WAL frames dirty in the page cache; the next fsync (a durable
  // commit, a checkpoint) would then write them all at once — hundreds of MB under load, a
  // stall of 100+ ms for every other fsync on the disk (the intake journal's). So start their
  // writeback now, asynchronously (sync_file_range WRITE: no wait, no fsync semantics).
  void StartWalWriteback() {
    if (path_.empty()) return;
    if (wal_fd_ < 0) {
      wal_fd_ = ::open(absl::StrCat(path_, "-wal").c_str(), O_RDONLY | O_CLOEXEC);
      if (wal_fd_ < 0) return;
    }
    ::sync_file_range(wal_fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }

  absl::Status ExecScript(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      int code = sqlite3_errcode(db_);
      if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
          code == SQLITE_FULL) {
        return absl::UnavailableError(absl::StrCat("sqlite: ", msg));
      }
      return absl::InternalError(absl::StrCat("sqlite: ", msg));
    }
    return absl::OkStatus();
  }

  absl::Status Migrate() {
    absl::MutexLock l(&mu_);
    if (auto s = ExecScript(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at BIGINT NOT NULL)");
        !s.ok())
      return s;
    int64_t current = 0;
    {
      Stmt q = Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      auto row = q.Step();
      if (!row.ok()) return row.status();
      current = q.Int(0);
    }
    const int64_t latest = SqliteSchemaVersion();
    if (current > latest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database schema version ", current, " is newer than this binary's (", latest, ")"));
    }
    for (int64_t v = current + 1; v <= latest; ++v) {
      absl::Status st = InTx([&]() -> absl::Status {
        if (auto s = ExecScript(kMigrations[v - 1]); !s.ok()) return s;
        Stmt ins = Prepare("INSERT INTO schema_migrations(version, applied_at) VALUES(?, ?)");
        ins.Bind(1, v).Bind(2, ToMillis(absl::Now()));
        return ins.Exec();
      });
      if (!st.ok()) return absl::Status(st.code(), absl::StrCat("migration ", v, ": ", st.message()));
    }
    return absl::OkStatus();
  }

  absl::Status RecordOne(const JobOutcome& o, absl::Time now) {
    absl::MutexLock l(&mu_);
    return ApplyOutcome(o, now);
  }

  // One outcome's fenced update (mu_ held, inside a transaction).
  absl::Status ApplyOutcome(const JobOutcome& o, absl::Time now) {
    const int64_t now_ms = ToMillis(now);
    switch (o.kind) {
      case JobOutcome::Kind::kDone: {
        Stmt s = Prepare(
            "UPDATE jobs SET state='done', lease_owner='', last_error='', updated_at=?3 "
            "WHERE id=?1 AND state='running' AND lease_owner=?2");
        s.Bind(1, o.job_id).Bind(2, o.owner).Bind(3, now_ms);
        if (auto e = s.Exec(); !e.ok()) return e;
        break;
      }
      case JobOutcome::Kind::kRetry: {
        Stmt s = Prepare(
            "UPDATE jobs SET state='queued', lease_owner='', updated_at=?3, last_error=?4, "
            "run_at=?5, attempts=MAX(0, attempts-?6) WHERE id=?1 AND state='running' AND "
            "lease_owner=?2");
        s.Bind(1, o.job_id).Bind(2, o.owner).Bind(3, now_ms).Bind(4, o.error);
        s.Bind(5, ToMillis(o.run_at)).Bind(6, int64_t{o.not_attempted ? 1 : 0});
        if (auto e = s.Exec(); !e.ok()) return e;
        break;
      }
      case JobOutcome::Kind::kDead: {
        Stmt s = Prepare(
            "UPDATE jobs SET state='dead', lease_owner='', updated_at=?3, last_error=?4, "
            "dead_reason=?5 WHERE id=?1 AND state='running' AND lease_owner=?2");
        s.Bind(1, o.job_id).Bind(2, o.owner).Bind(3, now_ms).Bind(4, o.error);
        s.Bind(5, o.dead_reason);
        if (auto e = s.Exec(); !e.ok()) return e;
        break;
      }
    }
    return LeaseOutcome(o.job_id);
  }

  // After a fenced update: OK if it changed the row, else explains why not.
  absl::Status LeaseOutcome(int64_t id) {
    if (sqlite3_changes(db_) > 0) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, ": lease lost (expired and reclaimed, or job not running)"));
  }

  absl::StatusOr<std::vector<TimelineEvent>> QueryTimeline(const std::string& sql,
                                                           std::string_view key, int limit) {
    ReadHandle rd(this);
    Stmt q = rd.Prepare(sql);
    q.Bind(1, key).Bind(2, static_cast<int64_t>(limit));
    std::vector<TimelineEvent> out;
    while (true) {
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadTimeline(q));
    }
    return out;
  }

  absl::Mutex mu_;
  std::string path_;  // empty for :memory: (no reader pool)
  int64_t busy_timeout_ms_ = 5000;
  absl::Mutex pool_mu_;
  // Inbox ids (see ReserveDeliveryIds, TakeDeliveryId); 0 = no reservation yet.
  absl::Mutex id_mu_;
  int64_t next_delivery_id_ ABSL_GUARDED_BY(id_mu_) = 0;
  int64_t max_explicit_id_ ABSL_GUARDED_BY(id_mu_) = 0;
  std::vector<std::unique_ptr<Conn>> readers_ ABSL_GUARDED_BY(pool_mu_);
  bool synchronous_full_ = true;
  int wal_fd_ = -1;  // the WAL file, for StartWalWriteback (writer thread, under mu_)
  Sync sync_ = Sync::kSynced;
  sqlite3* db_;
  sqlite3* checkpoint_db_ = nullptr;
  std::thread checkpointer_;
  absl::Notification stop_checkpoints_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;
};

absl::StatusOr<int64_t> SqliteTx::EnqueueJob(const NewJob& job) {
  return store_->InsertJob(job, now_);
}

absl::Status SqliteTx::AppendTimeline(const TimelineEvent& e) {
  Stmt s = store_->Prepare(
      "INSERT INTO timeline(entity, correlation_id, at, kind, detail_json) VALUES(?,?,?,?,?)");
  s.Bind(1, e.entity).Bind(2, e.correlation_id);
  s.Bind(3, ToMillis(e.at == absl::Time() ? now_ : e.at));
  s.Bind(4, e.kind).Bind(5, e.detail_json.empty() ? std::string_view("{}") : e.detail_json);
  return s.Exec();
}

absl::Status SqliteTx::PutXref(const Xref& x) {
  Stmt s = store_->Prepare(
      "INSERT INTO xrefs(entity_type, keelson_id, system, external_id, updated_at) "
      "VALUES(?,?,?,?,?) ON CONFLICT(entity_type, keelson_id, system) DO UPDATE SET "
      "external_id=excluded.external_id, updated_at=excluded.updated_at");
  s.Bind(1, x.entity_type).Bind(2, x.keelson_id).Bind(3, x.system).Bind(4, x.external_id);
  s.Bind(5, ToMillis(now_));
  return s.Exec();
}

absl::StatusOr<bool> SqliteTx::PutIdempotencyKey(std::string_view key) {
  Stmt s = store_->Prepare(
      "INSERT INTO idem_keys(key, created_at) VALUES(?,?) ON CONFLICT(key) DO NOTHING");
  s.Bind(1, key).Bind(2, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  return sqlite3_changes(store_->db()) > 0;
}

absl::Status SqliteTx::SetDeliveryStatus(int64_t delivery_id, std::string_view status,
                                         std::string_view error) {
  Stmt s = store_->Prepare("UPDATE inbox SET status=?, error=? WHERE id=?");
  s.Bind(1, status).Bind(2, error).Bind(3, delivery_id);
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("delivery ", delivery_id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteTx::PutOrderIfNewer(const OrderRecord& r, bool replace_equal) {
  Stmt s = store_->Prepare(
      "INSERT INTO orders(store_id, order_id, version, status, erp_state, erp_id, erp_number, "
      "snapshot_json, correlation_id, updated_at, customer_email, total, currency, created_at, "
      "status_since, erp_since) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?12,?13,?14,?10,?10,?10) "
      "ON CONFLICT(store_id, order_id) DO UPDATE SET version=excluded.version, "
      "status_since=CASE WHEN excluded.status = orders.status THEN orders.status_since "
      "ELSE excluded.updated_at END, "
      "status=excluded.status, snapshot_json=excluded.snapshot_json, "
      "correlation_id=excluded.correlation_id, updated_at=excluded.updated_at, "
      "customer_email=excluded.customer_email, total=excluded.total, currency=excluded.currency "
      "WHERE excluded.version > orders.version OR (?11 AND excluded.version = orders.version)");
  s.Bind(1, r.store_id).Bind(2, r.order_id).Bind(3, ToMillis(r.version)).Bind(4, r.status);
  s.Bind(5, r.erp_state.empty() ? std::string_view("none") : r.erp_state);
  s.Bind(6, r.erp_id).Bind(7, r.erp_number).Bind(8, r.snapshot_json).Bind(9, r.correlation_id);
  s.Bind(10, ToMillis(now_)).Bind(11, static_cast<int64_t>(replace_equal ? 1 : 0));
  s.Bind(12, absl::AsciiStrToLower(r.customer_email)).Bind(13, r.total).Bind(14, r.currency);
  if (auto e = s.Exec(); !e.ok()) return e;
  return sqlite3_changes(store_->db()) > 0;
}

absl::Status SqliteTx::SetOrderErp(std::string_view store_id, int64_t order_id,
                                   std::string_view erp_state, std::string_view erp_id,
                                   std::string_view erp_number) {
  Stmt s = store_->Prepare(
      "UPDATE orders SET erp_since=CASE WHEN erp_state = ?1 THEN erp_since ELSE ?4 END, "
      "erp_state=?1, erp_id=?2, erp_number=?3, updated_at=?4 WHERE store_id=?5 AND order_id=?6");
  s.Bind(1, erp_state).Bind(2, erp_id).Bind(3, erp_number).Bind(4, ToMillis(now_));
  s.Bind(5, store_id).Bind(6, order_id);
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("order ", core::AbslSv(store_id), ":", order_id,
                                            " not found"));
  }
  return absl::OkStatus();
}

absl::Status SqliteTx::PutCursor(std::string_view name, std::string_view value) {
  Stmt s = store_->Prepare(
      "INSERT INTO cursors(name, value, updated_at) VALUES(?,?,?) ON CONFLICT(name) DO UPDATE "
      "SET value=excluded.value, updated_at=excluded.updated_at");
  s.Bind(1, name).Bind(2, value).Bind(3, ToMillis(now_));
  return s.Exec();
}

absl::StatusOr<bool> SqliteTx::DeleteIdempotencyKey(std::string_view key) {
  Stmt s = store_->Prepare("DELETE FROM idem_keys WHERE key=?");
  s.Bind(1, key);
  if (auto e = s.Exec(); !e.ok()) return e;
  return sqlite3_changes(store_->db()) > 0;
}

absl::StatusOr<std::vector<model::InventoryPosition>> SqliteTx::GetPositions(std::string_view sku) {
  return QueryPositions(store_->Prepare(kPositionsSql), sku);
}

absl::StatusOr<model::InventoryPosition> SqliteTx::ApplyMovement(const model::Movement& in) {
  model::Movement m = in;
  if (m.at == absl::InfinitePast()) m.at = now_;
  model::InventoryPosition p{.sku = m.sku, .location = m.location};
  {
    Stmt q = store_->Prepare(absl::StrCat("SELECT ", kPositionColumns,
                                          " FROM inventory_positions WHERE sku=? AND location=?"));
    q.Bind(1, m.sku).Bind(2, m.location);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) p = ReadPosition(q);
  }
  if (auto st = model::ApplyMovement(m, &p); !st.ok()) return st;
  p.updated_at = now_;
  {
    Stmt u = store_->Prepare(
        "INSERT INTO inventory_positions(sku, location, on_hand, allocated, reserved, "
        "safety_stock, inbound, inbound_expected_at, as_of, updated_at) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(sku, location) DO UPDATE SET "
        "on_hand=excluded.on_hand, allocated=excluded.allocated, reserved=excluded.reserved, "
        "safety_stock=excluded.safety_stock, inbound=excluded.inbound, "
        "inbound_expected_at=excluded.inbound_expected_at, as_of=excluded.as_of, "
        "updated_at=excluded.updated_at");
    u.Bind(1, p.sku).Bind(2, p.location).Bind(3, p.on_hand).Bind(4, p.allocated);
    u.Bind(5, p.reserved).Bind(6, p.safety_stock).Bind(7, p.inbound);
    BindTime(u, 8, p.inbound_expected_at);
    BindTime(u, 9, p.as_of);
    u.Bind(10, ToMillis(now_));
    if (auto e = u.Exec(); !e.ok()) return e;
  }
  Stmt ins = store_->Prepare(
      "INSERT INTO inventory_movements(sku, location, kind, quantity, expected_at, source, "
      "correlation_id, at, recorded_at) VALUES(?,?,?,?,?,?,?,?,?)");
  ins.Bind(1, m.sku).Bind(2, m.location).Bind(3, model::MovementKindName(m.kind));
  ins.Bind(4, m.quantity);
  BindTime(ins, 5, m.expected_at);
  ins.Bind(6, m.source).Bind(7, m.correlation_id).Bind(8, ToMillis(m.at));
  ins.Bind(9, ToMillis(now_));
  if (auto e = ins.Exec(); !e.ok()) return e;
  return p;
}

absl::StatusOr<std::vector<Reservation>> SqliteTx::GetReservations(std::string_view order_ref) {
  return QueryReservations(store_->Prepare(kReservationsSql), order_ref);
}

absl::Status SqliteTx::PutReservation(const Reservation& r) {
  Stmt s = store_->Prepare(
      "INSERT INTO inventory_reservations(order_ref, sku, location, channel, reserved, consumed, "
      "updated_at) VALUES(?,?,?,?,?,?,?) ON CONFLICT(order_ref, sku, location) DO UPDATE SET "
      "channel=excluded.channel, reserved=excluded.reserved, consumed=excluded.consumed, "
      "updated_at=excluded.updated_at");
  s.Bind(1, r.order_ref).Bind(2, r.sku).Bind(3, r.location).Bind(4, r.channel);
  s.Bind(5, r.reserved).Bind(6, r.consumed).Bind(7, ToMillis(now_));
  return s.Exec();
}

absl::Status SqliteTx::MarkDirty(std::string_view store_id, std::string_view sku) {
  // An unclaimed row keeps its first mark (oldest first stays fair); a claimed one is released
  // from its taker and queues again at the back.
  Stmt s = store_->Prepare(
      "INSERT INTO inventory_dirty(store_id, sku, marked_at, taken_by) VALUES(?,?,?,0) "
      "ON CONFLICT(store_id, sku) DO UPDATE SET marked_at = CASE WHEN "
      "inventory_dirty.taken_by = 0 THEN inventory_dirty.marked_at ELSE excluded.marked_at END, "
      "taken_by = 0");
  s.Bind(1, store_id).Bind(2, sku).Bind(3, ToMillis(now_));
  return s.Exec();
}

absl::StatusOr<DirtyBatch> SqliteTx::TakeDirty(std::string_view store_id, int max, int64_t taker) {
  DirtyBatch batch;
  {
    Stmt q = store_->Prepare(
        "SELECT sku FROM inventory_dirty WHERE store_id=? ORDER BY marked_at, sku LIMIT ?");
    q.Bind(1, store_id).Bind(2, static_cast<int64_t>(max));
    auto skus = Collect<std::string>(q, [](const Stmt& r) { return r.Text(0); });
    if (!skus.ok()) return skus.status();
    batch.skus = *std::move(skus);
  }
  for (const std::string& sku : batch.skus) {
    Stmt u = store_->Prepare("UPDATE inventory_dirty SET taken_by=? WHERE store_id=? AND sku=?");
    u.Bind(1, taker).Bind(2, store_id).Bind(3, sku);
    if (auto e = u.Exec(); !e.ok()) return e;
  }
  Stmt c =
      store_->Prepare("SELECT COUNT(*) FROM inventory_dirty WHERE store_id=? AND taken_by <> ?");
  c.Bind(1, store_id).Bind(2, taker);
  auto row = c.Step();
  if (!row.ok()) return row.status();
  batch.remaining = c.Int(0);
  return batch;
}

absl::StatusOr<int64_t> SqliteTx::ClearDirty(std::string_view store_id, int64_t taker) {
  Stmt s = store_->Prepare("DELETE FROM inventory_dirty WHERE store_id=? AND taken_by=?");
  s.Bind(1, store_id).Bind(2, taker);
  if (auto e = s.Exec(); !e.ok()) return e;
  return static_cast<int64_t>(sqlite3_changes(store_->db()));
}

absl::Status SqliteTx::PutPublished(const PublishedLevel& l) {
  Stmt s = store_->Prepare(
      "INSERT INTO inventory_published(store_id, sku, quantity, stock_status, status, error, at) "
      "VALUES(?,?,?,?,?,?,?) ON CONFLICT(store_id, sku) DO UPDATE SET "
      "quantity=excluded.quantity, stock_status=excluded.stock_status, status=excluded.status, "
      "error=excluded.error, at=excluded.at");
  s.Bind(1, l.store_id).Bind(2, l.sku).Bind(3, l.quantity).Bind(4, l.stock_status);
  s.Bind(5, l.status.empty() ? std::string_view("ok") : l.status).Bind(6, l.error);
  s.Bind(7, ToMillis(l.at == absl::InfinitePast() ? now_ : l.at));
  return s.Exec();
}

absl::Status SqliteTx::AddDrift(const DriftRow& r) {
  Stmt s = store_->Prepare(
      "INSERT INTO inventory_drift(run_id, store_id, sku, expected, found, expected_status, "
      "found_status, corrected, at) VALUES(?,?,?,?,?,?,?,?,?)");
  s.Bind(1, r.run_id).Bind(2, r.store_id).Bind(3, r.sku).Bind(4, r.expected).Bind(5, r.found);
  s.Bind(6, r.expected_status).Bind(7, r.found_status);
  s.Bind(8, int64_t{r.corrected ? 1 : 0});
  s.Bind(9, ToMillis(r.at == absl::InfinitePast() ? now_ : r.at));
  return s.Exec();
}

absl::Status SqliteTx::PutReconcileRun(const ReconcileRun& r) {
  Stmt s = store_->Prepare(
      "INSERT INTO inventory_reconcile_runs(run_id, store_id, started_at, finished_at, scanned, "
      "drifted, corrected, unknown) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET "
      "finished_at=excluded.finished_at, scanned=excluded.scanned, drifted=excluded.drifted, "
      "corrected=excluded.corrected, unknown=excluded.unknown");
  s.Bind(1, r.run_id).Bind(2, r.store_id);
  s.Bind(3, ToMillis(r.started_at == absl::InfinitePast() ? now_ : r.started_at));
  BindTime(s, 4, r.finished_at);
  s.Bind(5, r.scanned).Bind(6, r.drifted).Bind(7, r.corrected).Bind(8, r.unknown);
  return s.Exec();
}

absl::Status SqliteTx::AppendAudit(const AuditEntry& e) {
  Stmt s = store_->Prepare(
      "INSERT INTO audit_log(at, actor, action, target, detail_json) VALUES(?,?,?,?,?)");
  s.Bind(1, ToMillis(e.at == absl::InfinitePast() ? now_ : e.at));
  s.Bind(2, e.actor).Bind(3, e.action).Bind(4, e.target);
  s.Bind(5, e.detail_json.empty() ? std::string_view("{}") : std::string_view(e.detail_json));
  return s.Exec();
}

absl::StatusOr<bool> SqliteTx::AppendEvent(const OutboxEvent& e) {
  Stmt s = store_->Prepare(
      "INSERT INTO outbox(event_id, type, key, payload_json, correlation_id, occurred_at) "
      "VALUES(?,?,?,?,?,?) ON CONFLICT(event_id) DO NOTHING");
  s.Bind(1, e.event_id).Bind(2, e.type).Bind(3, e.key);
  s.Bind(4, e.payload_json.empty() ? std::string_view("{}") : std::string_view(e.payload_json));
  s.Bind(5, e.correlation_id);
  s.Bind(6, ToMillis(e.occurred_at == absl::InfinitePast() ? now_ : e.occurred_at));
  if (auto st = s.Exec(); !st.ok()) return st;
  return sqlite3_changes(store_->db()) > 0;
}

absl::Status SqliteTx::PutSegment(const SegmentRecord& r) {
  Stmt s = store_->Prepare(
      "INSERT INTO fulfillment_segments(segment_id, order_ref, seq, node_id, provider, kind, "
      "state, provider_id, error, promised_at, created_at, updated_at, state_since) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?11,?11) ON CONFLICT(segment_id) DO UPDATE SET "
      "order_ref=excluded.order_ref, seq=excluded.seq, node_id=excluded.node_id, "
      "provider=excluded.provider, kind=excluded.kind, "
      "state_since=CASE WHEN fulfillment_segments.state = excluded.state THEN "
      "fulfillment_segments.state_since ELSE excluded.updated_at END, state=excluded.state, "
      "provider_id=excluded.provider_id, error=excluded.error, promised_at=excluded.promised_at, "
      "updated_at=excluded.updated_at");
  s.Bind(1, r.segment_id).Bind(2, r.order_ref).Bind(3, static_cast<int64_t>(r.seq));
  s.Bind(4, r.node_id).Bind(5, r.provider).Bind(6, r.kind).Bind(7, r.state);
  s.Bind(8, r.provider_id).Bind(9, r.error);
  if (r.promised_at == absl::InfiniteFuture()) {
    s.BindNull(10);
  } else {
    s.Bind(10, ToMillis(r.promised_at));
  }
  s.Bind(11, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  Stmt del = store_->Prepare("DELETE FROM fulfillment_lines WHERE segment_id=?");
  del.Bind(1, r.segment_id);
  if (auto e = del.Exec(); !e.ok()) return e;
  for (const SegmentLineRecord& l : r.lines) {
    Stmt ins = store_->Prepare(
        "INSERT INTO fulfillment_lines(segment_id, line_no, line_id, sku, location, quantity, "
        "shipped) VALUES(?,?,?,?,?,?,?)");
    ins.Bind(1, r.segment_id).Bind(2, static_cast<int64_t>(l.line_no)).Bind(3, l.line_id);
    ins.Bind(4, l.sku).Bind(5, l.location).Bind(6, l.quantity).Bind(7, l.shipped);
    if (auto e = ins.Exec(); !e.ok()) return e;
  }
  return absl::OkStatus();
}

absl::Status SqliteTx::SetSegmentState(std::string_view segment_id, std::string_view state,
                                       std::string_view provider_id, std::string_view error) {
  Stmt s = store_->Prepare(
      "UPDATE fulfillment_segments SET state_since=CASE WHEN state = ?2 THEN state_since ELSE ?5 "
      "END, state=?2, provider_id=CASE WHEN ?3 = '' THEN provider_id ELSE ?3 END, "
      "error=?4, updated_at=?5 WHERE segment_id=?1");
  s.Bind(1, segment_id).Bind(2, state).Bind(3, provider_id).Bind(4, error).Bind(5, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("segment ", core::AbslSv(segment_id), " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SegmentRecord>> SqliteTx::GetSegments(std::string_view order_ref) {
  return QuerySegments([this](const std::string& sql) { return store_->Prepare(sql); }, order_ref);
}

absl::Status SqliteTx::AddShipped(std::string_view segment_id, int line_no, int64_t quantity) {
  Stmt s = store_->Prepare(
      "UPDATE fulfillment_lines SET shipped = shipped + ? WHERE segment_id=? AND line_no=?");
  s.Bind(1, quantity).Bind(2, segment_id).Bind(3, static_cast<int64_t>(line_no));
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("segment line ", core::AbslSv(segment_id), "#",
                                            line_no, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteTx::PutShipment(const ShipmentRecord& r) {
  Stmt s = store_->Prepare(
      "INSERT INTO shipments(provider, shipment_id, segment_id, order_ref, carrier, "
      "tracking_number, tracking_url, shipped_at, lines_json, erp_state, shop_state, received_at) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(provider, shipment_id) DO NOTHING");
  s.Bind(1, r.provider).Bind(2, r.shipment_id).Bind(3, r.segment_id).Bind(4, r.order_ref);
  s.Bind(5, r.carrier).Bind(6, r.tracking_number).Bind(7, r.tracking_url);
  if (r.shipped_at == absl::InfinitePast()) {
    s.BindNull(8);
  } else {
    s.Bind(8, ToMillis(r.shipped_at));
  }
  s.Bind(9, r.lines_json).Bind(10, r.erp_state).Bind(11, r.shop_state).Bind(12, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  return sqlite3_changes(store_->db()) > 0;
}

absl::Status SqliteTx::SetShipmentStates(std::string_view provider, std::string_view shipment_id,
                                         std::string_view erp_state, std::string_view shop_state) {
  Stmt s = store_->Prepare(
      "UPDATE shipments SET erp_state=CASE WHEN ?3 = '' THEN erp_state ELSE ?3 END, "
      "shop_state=CASE WHEN ?4 = '' THEN shop_state ELSE ?4 END "
      "WHERE provider=?1 AND shipment_id=?2");
  s.Bind(1, provider).Bind(2, shipment_id).Bind(3, erp_state).Bind(4, shop_state);
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("shipment ", core::AbslSv(provider), "/",
                                            core::AbslSv(shipment_id), " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteTx::NextControlNumber(std::string_view partner,
                                                    std::string_view kind, int64_t max) {
  Stmt s = store_->Prepare(
      "INSERT INTO edi_control_numbers(partner, kind, value) VALUES(?1, ?2, 1) "
      "ON CONFLICT(partner, kind) DO UPDATE SET value = CASE WHEN edi_control_numbers.value >= ?3 "
      "THEN 1 ELSE edi_control_numbers.value + 1 END RETURNING value");
  s.Bind(1, partner).Bind(2, kind).Bind(3, max);
  auto row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("control number: no row returned");
  const int64_t v = s.Int(0);
  auto done = s.Step();  // complete the statement (RETURNING)
  if (!done.ok()) return done.status();
  return v;
}

absl::StatusOr<EdiFilePut> SqliteTx::PutInboundFile(const EdiFile& f) {
  {
    Stmt q = store_->Prepare(absl::StrCat(
        "SELECT ", kEdiFileColumns,
        " FROM edi_files WHERE partner=? AND direction='in' AND sha256=?"));
    q.Bind(1, f.partner).Bind(2, f.sha256);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) return EdiFilePut{.recorded = false, .file = ReadEdiFile(q, false)};
  }
  Stmt s = store_->Prepare(
      "INSERT INTO edi_files(partner, direction, name, sha256, size, state, detail_json, content, "
      "created_at, updated_at) VALUES(?1, 'in', ?2, ?3, ?4, ?5, ?6, '', ?7, ?7)");
  s.Bind(1, f.partner).Bind(2, f.name).Bind(3, f.sha256).Bind(4, f.size).Bind(5, f.state);
  s.Bind(6, f.detail_json.empty() ? std::string_view("{}") : std::string_view(f.detail_json));
  s.Bind(7, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  EdiFilePut put{.recorded = true, .file = f};
  put.file.id = sqlite3_last_insert_rowid(store_->db());
  put.file.direction = "in";
  put.file.content.clear();
  put.file.created_at = put.file.updated_at = now_;
  if (put.file.detail_json.empty()) put.file.detail_json = "{}";
  return put;
}

absl::StatusOr<int64_t> SqliteTx::PutOutboundFile(const EdiFile& f) {
  Stmt s = store_->Prepare(
      "INSERT INTO edi_files(partner, direction, name, sha256, size, state, detail_json, content, "
      "created_at, updated_at) VALUES(?1, 'out', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) "
      "ON CONFLICT(partner, direction, sha256) DO NOTHING");
  s.Bind(1, f.partner).Bind(2, f.name).Bind(3, f.sha256).Bind(4, f.size).Bind(5, f.state);
  s.Bind(6, f.detail_json.empty() ? std::string_view("{}") : std::string_view(f.detail_json));
  s.Bind(7, f.content).Bind(8, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("outbound file ", f.name, " of ", f.partner,
                                                 " has the contents of one recorded before"));
  }
  return sqlite3_last_insert_rowid(store_->db());
}

absl::Status SqliteTx::SetEdiFileState(int64_t id, std::string_view state,
                                       std::string_view detail_json) {
  Stmt s = store_->Prepare(
      "UPDATE edi_files SET state=?2, detail_json=CASE WHEN ?3 = '' THEN detail_json ELSE ?3 END, "
      "updated_at=?4 WHERE id=?1");
  s.Bind(1, id).Bind(2, state).Bind(3, detail_json).Bind(4, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("EDI file ", id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteTx::PutEdiDocument(const EdiDocument& d) {
  Stmt s = store_->Prepare(
      "INSERT INTO edi_documents(partner, type, ref, body_json, state, file_id, interchange, grp, "
      "set_control, ack_json, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, 'pending', 0, 0, 0, "
      "'', '', ?5, ?5) ON CONFLICT(partner, type, ref) DO NOTHING");
  s.Bind(1, d.partner).Bind(2, d.type).Bind(3, d.ref).Bind(4, d.body_json);
  s.Bind(5, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  return sqlite3_changes(store_->db()) > 0;
}

absl::Status SqliteTx::SetEdiDocumentSent(int64_t id, int64_t file_id, int64_t interchange,
                                          int64_t group, std::string_view set_control) {
  Stmt s = store_->Prepare(
      "UPDATE edi_documents SET state='sent', file_id=?2, interchange=?3, grp=?4, set_control=?5, "
      "updated_at=?6 WHERE id=?1 AND state='pending'");
  s.Bind(1, id).Bind(2, file_id).Bind(3, interchange).Bind(4, group).Bind(5, set_control);
  s.Bind(6, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) > 0) return absl::OkStatus();
  Stmt q = store_->Prepare("SELECT state FROM edi_documents WHERE id=?");
  q.Bind(1, id);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("EDI document ", id, " not found"));
  return absl::FailedPreconditionError(
      absl::StrCat("EDI document ", id, " is ", q.Text(0), ", not pending"));
}

absl::Status SqliteTx::SetEdiDocumentAck(int64_t id, std::string_view state,
                                         std::string_view ack_json) {
  Stmt s = store_->Prepare(
      "UPDATE edi_documents SET state=?2, ack_json=?3, updated_at=?4 WHERE id=?1");
  s.Bind(1, id).Bind(2, state).Bind(3, ack_json).Bind(4, ToMillis(now_));
  if (auto e = s.Exec(); !e.ok()) return e;
  if (sqlite3_changes(store_->db()) == 0) {
    return absl::NotFoundError(absl::StrCat("EDI document ", id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EdiDocument>> SqliteTx::FindEdiDocuments(const EdiDocumentQuery& q) {
  return QueryEdiDocuments(store_->Prepare(kEdiDocumentsSql), q);
}

}  // namespace

int SqliteSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrCat("cannot open ", options.path, ": ", msg));
  }
  auto store = std::make_unique<SqliteStore>(db);
  if (auto s = store->Init(options); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(options.path, ": ", s.message()));
  }
  return store;
}

}  // namespace keelson::store
