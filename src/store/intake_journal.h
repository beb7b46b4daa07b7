#pragma once
// The intake journal: webhook deliveries made durable in an append-only file before they reach
// the SQLite store, so that answering a webhook costs one sequential write and one fdatasync
// shared by the whole batch — not a B-tree insert of the body, the dedupe index and the job's
// four indexes while the job runner competes for SQLite's single writer.
//
//   Submit ─► appender thread: dedupe (in memory, then the store), number each new delivery,
//             write the batch to the journal, fdatasync, answer 200 ─► mover thread: insert the
//             deliveries and their ingest jobs into the store in large buffered batches, with
//             the ids the journal gave them; once a durable commit covers a whole segment,
//             delete it.
//
// Guarantees (the same as GroupCommitter's): a delivery that was answered is durable (in the
// journal, checksummed) and reaches the inbox with its job exactly once: after a crash, Open()
// replays every journaled delivery before anything else runs (those already stored are absorbed
// by their dedupe key); a torn record at the end of the last segment is a write that was never
// answered.
// Redeliveries are absorbed at the door: against the deliveries not yet moved (in memory) and
// the inbox (one lookup per batch); the store's unique dedupe key absorbs anything else.
//
// Files: `<dir>/intake-<first id>.journal` segments, rolled at `segment_bytes`; up to
// `spare_segments` moved segments kept as `<dir>/spare-<first id>.spare` and reused for the next
// segments (writing over existing blocks makes each fdatasync cheaper: no file growth to commit
// to the filesystem's journal); `<dir>/LOCK` (flock) so that two servers never share one journal.
// Record: magic "KLJ2", segment id (its first delivery id), payload length, CRC-32 of the payload
// (zlib), payload (id, accepted-at ms, the delivery's fields). A rolled segment ends with an end
// marker (magic "KLJE"); a reused file's older records carry another segment id and end the scan.
//
// Backpressure: at most `max_unmoved` deliveries wait for the mover; beyond that the appender
// waits, so intake slows to the store's pace instead of growing memory without bound.
//
// Thread-safety: Submit from any thread; callbacks run on the appender thread and must be quick.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "store/group_commit.h"
#include "store/store.h"

namespace keelson::store {

struct IntakeJournalOptions {
  std::string dir;                          // created if missing
  int64_t segment_bytes = 64 * 1024 * 1024; // roll to a new segment past this size
  int max_batch = 1024;                     // deliveries per journal write
  int move_batch = 1024;                    // deliveries per store commit
  int64_t max_unmoved = 100000;             // backpressure threshold
  int spare_segments = 2;                   // moved segments kept (renamed) for reuse
  bool move = true;  // tests: false leaves every delivery in the journal, as a crash would
};

// What Open() found and replayed (for logs and tests).
struct IntakeJournalRecovery {
  int segments = 0;          // journal files found
  int64_t records = 0;       // intact records in them
  int64_t replayed = 0;      // of which were not yet in the store, and were moved there now
  int64_t torn_bytes = 0;    // bytes of an incomplete record at the end of the last segment
};

class IntakeJournal final : public DeliveryIntake {
 public:
  // Takes the directory's lock, replays what the store lacks, and prepares a fresh segment.
  // Errors name the file (and offset) at fault; a journal that cannot be read stops start-up.
  static absl::StatusOr<std::unique_ptr<IntakeJournal>> Open(IntakeJournalOptions options,
                                                             Store* store,
                                                             const core::Clock* clock,
                                                             obs::Registry* metrics = nullptr);
  ~IntakeJournal() override;

  const IntakeJournalRecovery& recovery() const { return recovery_; }

  void set_on_commit(std::function<void()> fn) override { on_commit_ = std::move(fn); }
  void Start() override;
  void Submit(DeliveryToAccept delivery, Callback done) override;
  // Answers what is pending, moves everything to the store, removes the segments, stops.
  void Stop() override;

  // Deliveries journaled but not yet in the store.
  int64_t Unmoved() const { return unmoved_.load(); }
  // Blocks until every delivery journaled so far is in the store (tests, shutdown).
  void WaitMoved();

 private:
  struct Pending {
    DeliveryToAccept delivery;
    Callback done;
  };
  struct Segment {
    int64_t last_id = 0;  // 0 while empty
    std::string path;
  };

  IntakeJournal(IntakeJournalOptions options, Store* store, const core::Clock* clock,
                obs::Registry* metrics);
  absl::Status Recover();
  absl::Status OpenSegment();  // a new segment starting at next_id_ (a spare if there is one)
  // A segment no longer needed: kept as a spare if it is full-size and fewer than
  // spare_segments are kept, removed otherwise. False (errno set) if it could not be removed.
  bool RecycleOrRemove(const std::string& path);
  void KeepOrRemoveSpare(const std::string& path);  // a spare found at Open
  bool WantSpare(const std::string& path) const;     // full-size, and room for it (mu_ held)
  void Append(std::vector<Pending>& batch);
  void MoveLoop();
  void DropMovedSegments(int64_t moved_through);

  const IntakeJournalOptions options_;
  Store* store_;
  const core::Clock* clock_;
  std::function<void()> on_commit_;
  IntakeJournalRecovery recovery_;

  int lock_fd_ = -1;
  int fd_ = -1;              // current segment (appender thread)
  std::string fd_path_;      // its path (appender thread; segments_ is shared with the mover)
  int64_t fd_size_ = 0;
  int64_t segment_id_ = 0;   // the current segment's id (its first delivery id), in its records
  int64_t next_id_ = 1;      // appender thread
  bool broken_ = false;      // a write failed and could not be undone: refuse intake

  BatchQueue<Pending> appender_;

  // Shared by the appender and the mover.
  std::mutex mu_;
  std::condition_variable cv_;        // mover wake-ups, backpressure, WaitMoved
  std::deque<DeliveryToAccept> to_move_;
  absl::flat_hash_map<std::string, AcceptResult> unmoved_keys_;  // dedupe_key -> first copy
  std::vector<Segment> segments_;     // oldest first; the last one is being written
  std::vector<std::string> spares_;   // files kept for reuse as segments
  int64_t journaled_through_ = 0;     // highest id written and synced
  int64_t moved_through_ = 0;         // highest id in the store
  int64_t durable_through_ = 0;       // highest id in the store by a durable (fsync'd) commit
  bool stopping_ = false;    // Stop() began: the appender no longer waits for the mover
  bool stop_mover_ = false;
  std::atomic<int64_t> unmoved_{0};
  std::thread mover_;
  bool started_ = false;

  IntakeCommitMetrics commit_metrics_;
  obs::Histogram* m_move_seconds_ = nullptr;
  obs::Counter* m_move_errors_ = nullptr;
  obs::Counter* m_duplicates_ = nullptr;
  obs::Gauge* m_unmoved_ = nullptr;
};

}  // namespace keelson::store
