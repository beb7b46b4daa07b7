#pragma once
// What Keelson persists, behind one interface so that SQLite (embedded, default) and PostgreSQL
// (several nodes) are interchangeable without touching callers.
//
//   inbox      raw webhook deliveries exactly as received (body bytes + headers), deduplicated
//   jobs       durable work items: partitioned, leased, retried, dead-lettered, replayable
//   xrefs      Keelson id <-> external system id (ERP sales order number, ...)
//   timeline   what happened to an entity, in order, with the correlation id that caused it
//   idem_keys  idempotency keys for effects that must happen once
//   schedules  periodic jobs: next due time, advanced atomically so only one node fires each slot
//   inventory_* positions per SKU x location, the append-only movement ledger, order
//              reservations, the dirty set awaiting publication, the last published level per
//              channel, reconciliation runs and their drift rows (see "inventory" below)
//   edi_*      X12 files exchanged with trading partners (inbound ones once per content digest),
//              the documents Keelson sends with their control numbers and acknowledgments, and
//              the per-partner control-number counters
//
// Thread-safety: any method, any thread. SQLite serialises writers; PostgreSQL claims with FOR
// UPDATE SKIP LOCKED and per-partition advisory locks (several processes, one database), and may
// re-run a Transact fn after a deadlock: fn writes only through its Tx and assigns its results.
//
// Times are absl::Time; the clock is always passed in by the caller so tests control it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/inventory.h"

namespace keelson::store {

// ---- inbox ---------------------------------------------------------------------------------

// A verified delivery to be stored together with the job that will process it.
struct DeliveryToAccept {
  std::string source;         // "woocommerce"
  std::string store_id;       // configured store id
  std::string topic;          // X-WC-Webhook-Topic, e.g. "order.created"
  std::string dedupe_key;     // hex digest; identical redeliveries share it
  std::string headers_json;   // the request headers that matter, as a JSON object
  std::string body;           // raw bytes as received
  std::string correlation_id;
  // The ingest job enqueued in the same commit.
  std::string job_kind;
  std::string job_partition_key;  // empty = no ordering constraint
  // Set by the intake journal (store/intake_journal.h), which numbers deliveries before they
  // reach the store: the inbox id to use, and when the delivery was accepted. 0 / InfinitePast =
  // the store assigns the id and uses the commit's time.
  int64_t id = 0;
  absl::Time received_at = absl::InfinitePast();
};

struct AcceptResult {
  int64_t delivery_id = 0;
  bool duplicate = false;          // an identical delivery was already stored
  std::string correlation_id;      // the stored delivery's (the first one's, for duplicates)
};

struct Delivery {
  int64_t id = 0;
  std::string source, store_id, topic, dedupe_key, headers_json, body, correlation_id;
  absl::Time received_at;
  std::string status;  // received | processed | rejected
  std::string error;
};

// ---- jobs ----------------------------------------------------------------------------------

enum class JobState { kQueued, kRunning, kDone, kDead };
std::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view s);

struct NewJob {
  std::string kind;
  std::string partition_key;  // jobs with one key run one at a time, in id order; "" = none
  std::string payload;        // opaque to the store (JSON by convention)
  std::string correlation_id;
  int max_attempts = 12;
  absl::Time run_at = absl::InfinitePast();    // InfinitePast = "now" (the caller's clock)
  absl::Duration deadline = absl::InfiniteDuration();  // from enqueue; gives up after it
};

struct Job {
  int64_t id = 0;
  std::string kind, partition_key, payload, correlation_id;
  JobState state = JobState::kQueued;
  int attempts = 0;  // attempts started so far, including the current one when running
  int max_attempts = 0;
  absl::Time run_at, enqueued_at, updated_at;
  absl::Time deadline_at = absl::InfiniteFuture();
  std::string lease_owner;
  absl::Time lease_expires_at = absl::InfinitePast();
  std::string last_error;
  std::string dead_reason;  // max_attempts | deadline | business | poison | discarded
};

struct JobFilter {
  std::optional<JobState> state;
  std::string kind;         // "" = any
  std::string dead_reason;  // "" = any
  std::string exclude_dead_reason;  // "" = none excluded ("discarded" hides discarded ones)
  std::string correlation_id;
  std::string partition_key;  // "" = any
  absl::Time enqueued_before = absl::InfiniteFuture();  // only jobs enqueued before this
  absl::Time updated_before = absl::InfiniteFuture();   // only jobs last changed before this
  int64_t after_id = 0;     // paging: ids greater than this
  int limit = 100;
};

// Which job kinds a claim may hand out (the job runner's lanes: one worker pool per connector, so
// that one slow or dead system cannot starve the others). Empty `kinds` with `exclude` false
// means every kind.
struct ClaimFilter {
  std::vector<std::string> kinds;
  bool exclude = false;  // true: every kind except `kinds`
};

struct JobStats {
  int64_t queued = 0, running = 0, done = 0, dead = 0;
  int64_t due = 0;                       // queued with run_at <= now
  absl::Duration oldest_due_age;         // age of the oldest due job (0 if none)
  std::vector<std::pair<std::string, int64_t>> dead_by_reason;
};

// ---- cross references, timeline ------------------------------------------------------------

struct Xref {
  std::string entity_type;   // "order"
  std::string keelson_id;    // "main:1234"
  std::string system;        // "business_central"
  std::string external_id;   // "SO-1001"
};

struct TimelineEvent {
  int64_t id = 0;
  std::string entity;        // "order:main:1234", "delivery:17"
  std::string correlation_id;
  absl::Time at;
  std::string kind;          // "webhook.received", "erp.order_created", ...
  std::string detail_json;   // free-form JSON object
};

// ---- orders: what the order-to-cash flow holds per shop order -------------------------------

struct OrderRecord {
  std::string store_id;
  int64_t order_id = 0;
  absl::Time version = absl::InfinitePast();  // the shop's date_modified_gmt of the snapshot
  std::string status;          // the shop's status slug in the snapshot, e.g. "processing"
  std::string erp_state = "none";  // none | pending | created | cancel_pending | cancelled | skipped
  std::string erp_id;          // the ERP's key of the sales order, once created
  std::string erp_number;      // its human-facing number
  std::string snapshot_json;   // the shop's order JSON as last accepted
  std::string correlation_id;  // of the delivery that brought the snapshot
  absl::Time updated_at;
  // Searchable summary of the snapshot, kept beside it (written with it by PutOrderIfNewer).
  std::string customer_email;  // lower-cased billing e-mail
  std::string total;           // decimal string, as the shop sent it
  std::string currency;
  // Kept by the store: first seen, and when `status` / `erp_state` last changed (SLA ages).
  absl::Time created_at = absl::InfinitePast();
  absl::Time status_since = absl::InfinitePast();
  absl::Time erp_since = absl::InfinitePast();
};

// Position in an order listing (keyset paging): the last row of the previous page.
struct OrderCursor {
  int64_t key_ms = 0;  // updated_at (kRecent) or status_since (kLongestInStatus), in ms
  std::string store_id;
  int64_t order_id = 0;
};

// Operator search over orders. Every set field narrows the result (AND).
struct OrderQuery {
  std::string store_id;                       // "" = any
  std::optional<int64_t> order_id;
  std::string customer_email;                 // exact, case-insensitive
  std::string erp_number;                     // exact, case-insensitive
  std::string correlation_id;                 // exact
  std::vector<std::string> statuses;          // any of these shop statuses; empty = any
  std::vector<std::string> erp_states;        // any of these ERP states; empty = any
  absl::Time status_since_before = absl::InfiniteFuture();  // in its status since before this
  enum class Sort { kRecent, kLongestInStatus } sort = Sort::kRecent;
  std::optional<OrderCursor> after;           // the next page after this row
  int limit = 50;
};

struct OrderStateCount {
  std::string status;
  std::string erp_state;
  int64_t count = 0;
};

// A stock change of one SKU not yet published to one store (the dirty set).
struct DirtyMark {
  std::string store_id;
  std::string sku;
  absl::Time marked_at = absl::InfinitePast();
};

// What an operator did (replay, discard, pause, ...), by whom.
struct AuditEntry {
  int64_t id = 0;  // assigned by the store
  absl::Time at = absl::InfinitePast();  // defaults to the transaction's now
  std::string actor;   // the API key's name, "cli", ...
  std::string action;  // "dead_letter.replay", "dead_letter.discard", "connector.pause", ...
  std::string target;  // "job:17", "connector:erp", ...
  std::string detail_json = "{}";
};

// ---- business events (transactional outbox) ------------------------------------------------

// A business event written in the same transaction as the state change it reports, then
// published (NATS JetStream, src/events/) in id order by one node at a time.
struct OutboxEvent {
  int64_t id = 0;                 // assigned by the store: the publication order
  std::string event_id;           // stable and unique: consumers dedupe on it (Nats-Msg-Id)
  std::string type;               // "order.accepted", "order.shipped", "inventory.changed", ...
  std::string key;                // the entity it is about: "main:1234", "SKU-1@WH1", ...
  std::string payload_json;       // the event document (docs/events.md)
  std::string correlation_id;
  absl::Time occurred_at = absl::InfinitePast();  // defaults to the transaction's now
  std::optional<absl::Time> published_at;
};

// ---- inventory -----------------------------------------------------------------------------

// What one order holds at one location (the inventory flow's bookkeeping beside the ledger).
struct Reservation {
  std::string order_ref;  // "main:14"
  std::string sku;
  std::string location;
  std::string channel;   // the store id the order came from
  int64_t reserved = 0;  // held now
  int64_t consumed = 0;  // shipped out of this reservation so far
  absl::Time updated_at = absl::InfinitePast();
};

// The last level published for a SKU to a channel (a WooCommerce store).
struct PublishedLevel {
  std::string store_id;
  std::string sku;
  int64_t quantity = 0;
  std::string stock_status;  // instock | outofstock | onbackorder
  std::string status;        // ok | rejected (a business failure: not retried until it changes)
  std::string error;         // why it was rejected
  absl::Time at = absl::InfinitePast();
};

// SKUs of one store claimed for publication by one job (Tx::TakeDirty).
struct DirtyBatch {
  std::vector<std::string> skus;  // oldest mark first
  int64_t remaining = 0;          // dirty SKUs of the store left unclaimed
};

// One SKU whose level in the shop differed from the computed one at a reconciliation run.
struct DriftRow {
  int64_t id = 0;  // assigned by the store
  std::string run_id;
  std::string store_id;
  std::string sku;
  int64_t expected = 0;  // Keelson's ATS
  int64_t found = 0;     // the shop's
  std::string expected_status, found_status;
  bool corrected = false;  // the expected level was published successfully
  absl::Time at = absl::InfinitePast();
};

// One reconciliation run of one store.
struct ReconcileRun {
  std::string run_id;
  std::string store_id;
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();
  int64_t scanned = 0;    // items the shop listed
  int64_t drifted = 0;    // of those, different from the computed level
  int64_t corrected = 0;  // of those, published again successfully
  int64_t unknown = 0;    // SKUs the shop lists that Keelson holds no position for
};

struct DriftQuery {
  std::string store_id;
  std::string run_id;    // "" = the store's latest run
  int64_t after_id = 0;  // paging: rows with a greater id
  int limit = 100;
};

// ---- fulfillment ---------------------------------------------------------------------------

// One line of a fulfillment segment: units of one order line from one location.
struct SegmentLineRecord {
  int line_no = 0;          // 1-based within the segment
  int64_t line_id = 0;      // the shop's order line id
  std::string sku;
  std::string location;     // "" for untracked nodes and holds
  int64_t quantity = 0;
  int64_t shipped = 0;      // confirmed by shipments so far (<= quantity)
};

// The part of an order one node ships (or that waits: backorder / preorder).
struct SegmentRecord {
  std::string segment_id;   // "main:1234/1": the release's idempotency key
  std::string order_ref;    // "main:1234"
  int seq = 0;              // 1-based within the order
  std::string node_id;
  std::string provider;     // the connector that releases it
  std::string kind;         // ship | backorder | preorder
  // planned -> released -> partially_shipped -> shipped; held (backorder/preorder) -> planned;
  // rejected (the provider refused it; an operator re-routes); cancelled
  std::string state = "planned";
  std::string provider_id;  // the provider's id once released
  std::string error;        // why it was rejected
  absl::Time promised_at = absl::InfiniteFuture();
  absl::Time created_at = absl::InfinitePast();   // set by the store
  absl::Time updated_at = absl::InfinitePast();   // set by the store
  absl::Time state_since = absl::InfinitePast();  // set by the store when `state` changes
  std::vector<SegmentLineRecord> lines;
};

// A shipment notice as applied (REST webhook, 945 or 856), once per (provider, shipment_id).
struct ShipmentRecord {
  std::string provider;
  std::string shipment_id;
  std::string segment_id;
  std::string order_ref;
  std::string carrier, tracking_number, tracking_url;
  absl::Time shipped_at = absl::InfinitePast();
  std::string lines_json = "[]";  // [{"line_no","sku","quantity"}] as applied to the segment
  std::string erp_state = "pending";   // pending | posted | skipped
  std::string shop_state = "pending";  // pending | written | skipped
  absl::Time received_at = absl::InfinitePast();  // set by the store
};

// ---- EDI (X12 exchanged as files with trading partners) ------------------------------------

// A file exchanged with a trading partner. An inbound file is recorded once per (partner,
// sha256) in the transaction that applies what it holds, so the same bytes uploaded again — under
// the same name or another — are recognised and never applied twice. An outbound file is
// recorded when its control numbers are taken (`prepared`, with its bytes, so that a retry writes
// the very same file) and marked `sent` once it is in the partner's folder.
struct EdiFile {
  int64_t id = 0;         // assigned by the store
  std::string partner;    // the trading partner's configured id ("acme")
  std::string direction;  // in | out
  std::string name;       // the file's name in its folder
  std::string sha256;     // hex SHA-256 of the contents
  int64_t size = 0;
  // in: processed | partial (some sets rejected) | rejected; out: prepared | sent
  std::string state;
  std::string detail_json = "{}";  // what it held and what was done with it
  std::string content;             // out: the bytes; in: "" (the file itself is archived)
  absl::Time created_at = absl::InfinitePast();  // set by the store
  absl::Time updated_at = absl::InfinitePast();  // set by the store
};

// What Tx::PutInboundFile found: this file recorded now, or the one with the same bytes held.
struct EdiFilePut {
  bool recorded = false;  // false: a file with these bytes was recorded before; nothing written
  EdiFile file;           // the record held (with its id): this one, or the earlier one
};

struct EdiFileQuery {
  std::string partner;    // required
  std::string direction;  // "" = both
  std::string state;      // "" = any
  int64_t after_id = 0;   // paging: ids greater than this
  int limit = 100;
  bool with_content = false;
};

// A business document Keelson sends to a trading partner (a 940 per fulfillment segment): queued
// by the release (pending), put into an interchange by the sender (sent, with its control
// numbers), then acknowledged by the partner's 997 or TA1 (accepted | rejected).
struct EdiDocument {
  int64_t id = 0;  // assigned by the store
  std::string partner;
  std::string type;       // "940"
  std::string ref;        // business key, unique per (partner, type): the segment id (W0502)
  std::string body_json;  // the document's content, as the connector keeps it
  std::string state = "pending";  // pending | sent | accepted | rejected
  int64_t file_id = 0;            // the outbound EdiFile that carries it (0 while pending)
  int64_t interchange = 0;        // its ISA13
  int64_t group = 0;              // its GS06
  std::string set_control;        // its ST02
  std::string ack_json;           // the partner's acknowledgment of it, as recorded
  absl::Time created_at = absl::InfinitePast();  // set by the store
  absl::Time updated_at = absl::InfinitePast();  // set by the store
};

// Every set field narrows the result (AND); ordered by id.
struct EdiDocumentQuery {
  std::string partner;  // required
  std::string type;     // "" = any
  std::string ref;      // "" = any
  std::string state;    // "" = any
  int64_t interchange = 0;  // 0 = any
  int64_t group = 0;        // 0 = any
  std::string set_control;  // "" = any
  int64_t after_id = 0;
  int limit = 1000;
};

// ---- transactions --------------------------------------------------------------------------

// The unit of work inside Store::Transact. Everything done through one Tx commits together or
// not at all: a state change and the job it causes are enqueued atomically.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual absl::StatusOr<int64_t> EnqueueJob(const NewJob& job) = 0;
  virtual absl::Status AppendTimeline(const TimelineEvent& event) = 0;
  virtual absl::Status PutXref(const Xref& xref) = 0;
  // Records `key` if absent. Returns true if it was new (the caller should perform the effect).
  virtual absl::StatusOr<bool> PutIdempotencyKey(std::string_view key) = 0;
  virtual absl::Status SetDeliveryStatus(int64_t delivery_id, std::string_view status,
                                         std::string_view error) = 0;
  // Orders. Inserts the record, or replaces the snapshot (version, status, snapshot_json,
  // correlation_id) only when `record.version` is strictly newer than the one held — or equal
  // too, with `replace_equal` (the shop's clock has whole seconds, so two changes can share a
  // version; the caller then knows which is current). The ERP fields of an existing record are
  // never touched here. Returns whether it was written.
  virtual absl::StatusOr<bool> PutOrderIfNewer(const OrderRecord& record,
                                               bool replace_equal = false) = 0;
  // Sets the ERP fields of an existing order; kNotFound when there is none.
  virtual absl::Status SetOrderErp(std::string_view store_id, int64_t order_id,
                                   std::string_view erp_state, std::string_view erp_id,
                                   std::string_view erp_number) = 0;
  // Named cursors (high-water marks of pollers), upserted.
  virtual absl::Status PutCursor(std::string_view name, std::string_view value) = 0;
  // Removes an idempotency key (a "job pending" flag); returns whether it existed.
  virtual absl::StatusOr<bool> DeleteIdempotencyKey(std::string_view key) = 0;

  // Inventory. The positions of `sku` at every location it has one, ordered by location, as this
  // transaction sees them.
  virtual absl::StatusOr<std::vector<model::InventoryPosition>> GetPositions(
      std::string_view sku) = 0;
  // Appends `m` to the ledger (recorded_at = now; `at` defaults to now) and updates its position
  // (created at zero on first use) atomically, with model::ApplyMovement's rules: a movement
  // that would take on_hand, allocated or reserved below zero fails with kFailedPrecondition
  // naming the field, and nothing is written. Returns the position after the movement.
  virtual absl::StatusOr<model::InventoryPosition> ApplyMovement(const model::Movement& m) = 0;
  // An order's reservations, ordered by sku then location.
  virtual absl::StatusOr<std::vector<Reservation>> GetReservations(std::string_view order_ref) = 0;
  // Upserts one (order_ref, sku, location) row; updated_at = now.
  virtual absl::Status PutReservation(const Reservation& r) = 0;
  // Marks `sku` as needing publication to `store_id`. Many marks coalesce into one row; a mark
  // on a row a job has claimed (TakeDirty) makes it unclaimed again, so that job's ClearDirty
  // keeps it for the next run.
  virtual absl::Status MarkDirty(std::string_view store_id, std::string_view sku) = 0;
  // Claims up to `max` dirty SKUs of `store_id` for `taker` (a job id), oldest mark first. Rows
  // another taker claimed and never cleared (its job died) are claimed again. The rows stay until
  // ClearDirty, so a job that crashes after taking loses nothing.
  virtual absl::StatusOr<DirtyBatch> TakeDirty(std::string_view store_id, int max,
                                               int64_t taker) = 0;
  // Deletes the rows of `store_id` still claimed by `taker`; returns how many.
  virtual absl::StatusOr<int64_t> ClearDirty(std::string_view store_id, int64_t taker) = 0;
  // Upserts the last published level of (store_id, sku); `at` defaults to now.
  virtual absl::Status PutPublished(const PublishedLevel& level) = 0;
  // Appends a drift row (`at` defaults to now).
  virtual absl::Status AddDrift(const DriftRow& row) = 0;
  // Upserts a reconciliation run by run_id.
  virtual absl::Status PutReconcileRun(const ReconcileRun& run) = 0;
  // Appends to the operators' audit log (`at` defaults to now).
  virtual absl::Status AppendAudit(const AuditEntry& entry) = 0;

  // Fulfillment. Inserts a segment with its lines, or replaces an existing one's header and
  // lines (re-routing); created_at is kept, state_since moves when the state changes.
  virtual absl::Status PutSegment(const SegmentRecord& segment) = 0;
  // Sets the state (and provider id / error when not empty); kNotFound for no such segment.
  virtual absl::Status SetSegmentState(std::string_view segment_id, std::string_view state,
                                       std::string_view provider_id, std::string_view error) = 0;
  // An order's segments with their lines, by seq, as this transaction sees them.
  virtual absl::StatusOr<std::vector<SegmentRecord>> GetSegments(std::string_view order_ref) = 0;
  // Adds `quantity` to a segment line's shipped count.
  virtual absl::Status AddShipped(std::string_view segment_id, int line_no, int64_t quantity) = 0;
  // Records a shipment; false (and nothing written) when (provider, shipment_id) is known.
  virtual absl::StatusOr<bool> PutShipment(const ShipmentRecord& shipment) = 0;
  // Sets a shipment's ERP and shop posting states (an empty value leaves that one as is).
  virtual absl::Status SetShipmentStates(std::string_view provider, std::string_view shipment_id,
                                         std::string_view erp_state,
                                         std::string_view shop_state) = 0;

  // EDI. The next control number of `kind` ("isa" ISA13, "gs" GS06) for `partner`: 1 the first
  // time, then one more on each call, and 1 again after `max`. The counter commits with the
  // transaction that takes it, so a number whose file may have left is never handed out again.
  virtual absl::StatusOr<int64_t> NextControlNumber(std::string_view partner,
                                                    std::string_view kind, int64_t max) = 0;
  // Records an inbound file (direction "in") unless one with the same (partner, sha256) is held:
  // then nothing is written and that earlier record is returned (`recorded` false).
  virtual absl::StatusOr<EdiFilePut> PutInboundFile(const EdiFile& file) = 0;
  // Records an outbound file (direction "out"); returns its id. kAlreadyExists for the same
  // (partner, sha256).
  virtual absl::StatusOr<int64_t> PutOutboundFile(const EdiFile& file) = 0;
  // Sets a file's state, and its detail unless `detail_json` is empty. kNotFound.
  virtual absl::Status SetEdiFileState(int64_t id, std::string_view state,
                                       std::string_view detail_json) = 0;
  // Queues a document (state pending); false (nothing written) when (partner, type, ref) is held.
  virtual absl::StatusOr<bool> PutEdiDocument(const EdiDocument& doc) = 0;
  // A pending document is carried by outbound file `file_id` under these control numbers: state
  // sent. kNotFound; kFailedPrecondition when it is not pending.
  virtual absl::Status SetEdiDocumentSent(int64_t id, int64_t file_id, int64_t interchange,
                                          int64_t group, std::string_view set_control) = 0;
  // The partner's acknowledgment: state accepted | rejected, with what it said. kNotFound.
  virtual absl::Status SetEdiDocumentAck(int64_t id, std::string_view state,
                                         std::string_view ack_json) = 0;
  // Documents as this transaction sees them.
  virtual absl::StatusOr<std::vector<EdiDocument>> FindEdiDocuments(
      const EdiDocumentQuery& query) = 0;
  // Business events. Appends to the outbox; false (nothing written) when an event with this
  // event_id is already there, so a job that runs twice reports its event once.
  virtual absl::StatusOr<bool> AppendEvent(const OutboxEvent& event) = 0;

  virtual absl::Time now() const = 0;
};

// The recorded result of one job attempt, with the local writes that go with it.
struct JobOutcome {
  enum class Kind { kDone, kRetry, kDead };
  int64_t job_id = 0;
  std::string owner;
  Kind kind = Kind::kDone;
  absl::Time run_at;         // kRetry: when to run again
  std::string error;         // kRetry, kDead: the last error
  std::string dead_reason;   // kDead
  // kRetry: this attempt never reached the remote (its circuit was open, its connector paused):
  // it is not counted against max_attempts.
  bool not_attempted = false;
  // Writes that commit atomically with this outcome, and only if the lease still holds (so a
  // worker that lost its job cannot apply them). May be empty.
  std::function<absl::Status(Tx&)> effects;
};

class Store {
 public:
  virtual ~Store() = default;

  // A trivial round trip to the database, for readiness checks.
  virtual absl::Status Ping() = 0;

  // Runs `fn` in a write transaction at time `now`; commits (durably) iff it returns OK.
  virtual absl::Status Transact(absl::Time now, absl::FunctionRef<absl::Status(Tx&)> fn) = 0;

  // Group commit of independent writes (stock events): runs each of `fns` at `now` in a
  // savepoint of its own inside ONE write transaction, committed durably once for all. A
  // function that returns an error has its own writes rolled back and its error returned in its
  // place; the others commit. The returned error is for the transaction as a whole (nothing was
  // written). Each function sees what the ones before it wrote.
  virtual absl::StatusOr<std::vector<absl::Status>> TransactEach(
      absl::Time now, std::span<const std::function<absl::Status(Tx&)>> fns) = 0;

  // Inbox. Stores each delivery with its job in ONE durable commit for the whole batch (group
  // commit). An identical delivery (same dedupe_key) is not stored again and enqueues nothing.
  // `durable` = false (the intake journal, which keeps its copy until a durable commit follows)
  // may skip the fsync where the engine can; a later durable commit makes it durable too.
  virtual absl::StatusOr<std::vector<AcceptResult>> AcceptDeliveries(
      std::span<const DeliveryToAccept> batch, absl::Time now, bool durable = true) = 0;
  virtual absl::StatusOr<Delivery> GetDelivery(int64_t id) = 0;
  virtual absl::StatusOr<int64_t> CountDeliveries() = 0;
  // For the intake journal (SQLite only; the default answers kUnimplemented): the stored
  // deliveries among `dedupe_keys`, as (key -> id and correlation id); and a block of `n` inbox
  // ids no other delivery will get (the first is returned), above every id stored or given to
  // AcceptDeliveries, so that ids handed out before the rows exist never collide.
  virtual absl::StatusOr<absl::flat_hash_map<std::string, AcceptResult>> FindDeliveriesByKey(
      std::span<const std::string> dedupe_keys);
  virtual absl::StatusOr<int64_t> ReserveDeliveryIds(int64_t n);

  // Jobs. Claims up to `max` due jobs (run_at <= now) whose partition has no earlier unfinished
  // job, marks them running under `owner` until now + lease and counts the attempt. Running jobs
  // whose lease expired are returned to the queue first (their worker is presumed dead).
  // Only kinds that `filter` admits are handed out; the partition rule still counts every kind
  // (a partition's head blocks the jobs behind it whichever lane they belong to).
  virtual absl::StatusOr<std::vector<Job>> ClaimJobs(std::string_view owner, absl::Time now,
                                                     absl::Duration lease, int max,
                                                     const ClaimFilter& filter) = 0;
  absl::StatusOr<std::vector<Job>> ClaimJobs(std::string_view owner, absl::Time now,
                                             absl::Duration lease, int max) {
    return ClaimJobs(owner, now, lease, max, ClaimFilter{});
  }
  // The following fence on the lease: they fail with kFailedPrecondition if `owner` no longer
  // holds the job (its lease expired and someone else took it).
  virtual absl::Status CompleteJob(int64_t id, std::string_view owner, absl::Time now) = 0;
  virtual absl::Status RetryJob(int64_t id, std::string_view owner, absl::Time run_at,
                                std::string_view error, absl::Time now) = 0;
  virtual absl::Status DeadLetterJob(int64_t id, std::string_view owner, std::string_view reason,
                                     std::string_view error, absl::Time now) = 0;
  // Records many outcomes in one durable commit (the job runner's group commit). Each outcome
  // is applied in its own savepoint: the per-outcome status is OK, kFailedPrecondition when the
  // lease was lost, or the error its effects returned; a failed one leaves its job untouched.
  // The returned error is for the commit as a whole (nothing was recorded).
  virtual absl::StatusOr<std::vector<absl::Status>> RecordOutcomes(
      std::span<const JobOutcome> outcomes, absl::Time now) = 0;
  virtual absl::Status ExtendLease(int64_t id, std::string_view owner, absl::Time until) = 0;
  // The job runner's heartbeat: extends, in one commit, the leases `owner` still holds among
  // `ids` to `until`. Returns the ids whose lease was already lost.
  virtual absl::StatusOr<std::vector<int64_t>> ExtendLeases(std::span<const int64_t> ids,
                                                            std::string_view owner,
                                                            absl::Time until) = 0;
  // Puts a dead job back in the queue: attempts reset, due now, deadline window restarted.
  // kNotFound if no such job, kFailedPrecondition if it is not dead.
  virtual absl::Status ReplayJob(int64_t id, absl::Time now) = 0;
  // Sets a dead job aside for good: dead_reason becomes "discarded" (it leaves the dead-letter
  // list, stays on record). kNotFound if no such job, kFailedPrecondition if it is not dead or
  // already discarded.
  virtual absl::Status DiscardJob(int64_t id, absl::Time now) = 0;
  // How many jobs `filter` selects (its after_id and limit are ignored).
  virtual absl::StatusOr<int64_t> CountJobs(const JobFilter& filter) = 0;
  virtual absl::StatusOr<Job> GetJob(int64_t id) = 0;
  virtual absl::StatusOr<std::vector<Job>> ListJobs(const JobFilter& filter) = 0;
  virtual absl::StatusOr<JobStats> GetJobStats(absl::Time now) = 0;
  // Deletes done jobs finished before `before`; returns how many.
  virtual absl::StatusOr<int64_t> PurgeDoneJobs(absl::Time before) = 0;
  // Earliest run_at among queued jobs (for the dispatcher to sleep until), if any.
  virtual absl::StatusOr<std::optional<absl::Time>> NextRunAt() = 0;

  // Schedules. If schedule `name` is due at `now` (or new), advances it to now + interval and
  // enqueues `job` in the same transaction; returns whether it fired. Safe across nodes: only
  // one caller wins a given slot.
  virtual absl::StatusOr<bool> FireScheduleIfDue(std::string_view name, absl::Duration interval,
                                                 const NewJob& job, absl::Time now) = 0;

  // Cross references and timelines.
  virtual absl::StatusOr<std::optional<Xref>> GetXref(std::string_view entity_type,
                                                      std::string_view keelson_id,
                                                      std::string_view system) = 0;
  virtual absl::StatusOr<std::vector<TimelineEvent>> ListTimeline(std::string_view entity,
                                                                  int limit) = 0;
  virtual absl::StatusOr<std::vector<TimelineEvent>> ListTimelineByCorrelation(
      std::string_view correlation_id, int limit) = 0;
  // The cross reference whose external id equals `external_id` (case-insensitively: ERP
  // numbers are often upper-cased), in any system; nullopt when none.
  virtual absl::StatusOr<std::optional<Xref>> FindXrefByExternalId(
      std::string_view external_id) = 0;

  // Orders and cursors (see Tx for the writes).
  virtual absl::StatusOr<std::optional<OrderRecord>> GetOrder(std::string_view store_id,
                                                              int64_t order_id) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetCursor(std::string_view name) = 0;
  // Order search for operators, without snapshot_json; see OrderQuery.
  virtual absl::StatusOr<std::vector<OrderRecord>> SearchOrders(const OrderQuery& query) = 0;
  // How many orders `query` selects (its sort, after and limit are ignored).
  virtual absl::StatusOr<int64_t> CountOrders(const OrderQuery& query) = 0;
  // Orders counted by (status, erp_state), sorted by both.
  virtual absl::StatusOr<std::vector<OrderStateCount>> CountOrdersByState() = 0;
  // The audit log, oldest first, ids greater than `after_id`.
  virtual absl::StatusOr<std::vector<AuditEntry>> ListAudit(int64_t after_id, int limit) = 0;

  // Inventory (see Tx for the writes). Positions of `sku` ordered by location; empty when the
  // SKU is unknown.
  virtual absl::StatusOr<std::vector<model::InventoryPosition>> GetPositions(
      std::string_view sku) = 0;
  // The ledger of `sku` (every location), oldest first, ids greater than `after_id`.
  virtual absl::StatusOr<std::vector<model::Movement>> ListMovements(std::string_view sku,
                                                                     int64_t after_id,
                                                                     int limit) = 0;
  virtual absl::StatusOr<std::vector<Reservation>> GetReservations(std::string_view order_ref) = 0;
  virtual absl::StatusOr<std::optional<PublishedLevel>> GetPublished(std::string_view store_id,
                                                                     std::string_view sku) = 0;
  // Dirty SKUs of `store_id` (claimed or not), oldest mark first.
  virtual absl::StatusOr<std::vector<std::string>> ListDirty(std::string_view store_id,
                                                             int limit) = 0;
  // Fulfillment (see Tx for the writes).
  virtual absl::StatusOr<std::vector<SegmentRecord>> GetSegments(std::string_view order_ref) = 0;
  virtual absl::StatusOr<std::optional<SegmentRecord>> GetSegment(std::string_view segment_id) = 0;
  // Segments in `state` since before `before`, longest first, without their lines; and a count.
  virtual absl::StatusOr<std::vector<SegmentRecord>> ListSegmentsInState(std::string_view state,
                                                                         absl::Time before,
                                                                         int limit) = 0;
  virtual absl::StatusOr<int64_t> CountSegmentsInState(std::string_view state,
                                                       absl::Time before) = 0;
  // An order's shipments, by arrival.
  virtual absl::StatusOr<std::vector<ShipmentRecord>> ListShipments(std::string_view order_ref) = 0;
  // Shipments not yet posted to the ERP (erp_state pending), received before `before`, oldest
  // first; and a count.
  virtual absl::StatusOr<std::vector<ShipmentRecord>> ListShipmentsAwaitingErp(absl::Time before,
                                                                               int limit) = 0;
  virtual absl::StatusOr<int64_t> CountShipmentsAwaitingErp(absl::Time before) = 0;

  // EDI (see Tx for the writes).
  virtual absl::StatusOr<std::vector<EdiDocument>> ListEdiDocuments(
      const EdiDocumentQuery& query) = 0;
  virtual absl::StatusOr<std::vector<EdiFile>> ListEdiFiles(const EdiFileQuery& query) = 0;

  // Stock changes not yet published that were marked before `before`, oldest first (every store),
  // and how many there are in all.
  virtual absl::StatusOr<std::vector<DirtyMark>> ListStaleDirty(absl::Time before, int limit) = 0;
  virtual absl::StatusOr<int64_t> CountStaleDirty(absl::Time before) = 0;
  // Drift rows of one run (or the store's latest), by id.
  virtual absl::StatusOr<std::vector<DriftRow>> ListDrift(const DriftQuery& query) = 0;
  // A run by id, or the store's latest when `run_id` is empty; nullopt when none.
  virtual absl::StatusOr<std::optional<ReconcileRun>> GetReconcileRun(std::string_view store_id,
                                                                      std::string_view run_id) = 0;

  // Business events not yet published, by id (the order they were committed in per entity).
  virtual absl::StatusOr<std::vector<OutboxEvent>> ListPendingEvents(int limit) = 0;
  // Marks events published; already-published ones are left as they are.
  virtual absl::Status MarkEventsPublished(std::span<const int64_t> ids, absl::Time at) = 0;
  // How many events wait, and when the oldest of them occurred (nullopt when none wait).
  virtual absl::StatusOr<std::pair<int64_t, std::optional<absl::Time>>> PendingEventStats() = 0;
  // Deletes events published before `before`; how many went.
  virtual absl::StatusOr<int64_t> PurgePublishedEvents(absl::Time before) = 0;

  // A named lease that one owner holds at a time across every process on this store (the
  // outbox publisher's leadership, say): true when `owner` now holds `name` until now + ttl
  // (taken because it was free or expired, or renewed because `owner` held it).
  virtual absl::StatusOr<bool> TryAcquireLease(std::string_view name, std::string_view owner,
                                               absl::Time now, absl::Duration ttl) = 0;
  // Gives the lease up if `owner` holds it.
  virtual absl::Status ReleaseLease(std::string_view name, std::string_view owner) = 0;
};

}  // namespace keelson::store
