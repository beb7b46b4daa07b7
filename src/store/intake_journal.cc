#include "store/intake_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/thread_name.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace keelson::store {
namespace {

namespace fs = std::filesystem;

// Record: magic "KLJ2", the segment's id (its first delivery id, as in its file name), payload
// length, CRC-32 of the payload, payload. The segment id tells this segment's records from what a
// recycled file still holds of its previous life. A segment that was rolled ends with a marker:
// magic "KLJE", the segment id, length 0, CRC 0.
// "KLJ1" records (magic, length, CRC, payload; written before segments were recycled) are still
// read, so a journal left by an older Keelson is replayed after an upgrade.
constexpr uint32_t kMagic = 0x324A4C4B;        // "KLJ2" little-endian
constexpr uint32_t kMagicEnd = 0x454A4C4B;     // "KLJE"
constexpr uint32_t kMagicLegacy = 0x314A4C4B;  // "KLJ1"
constexpr size_t kHeaderBytes = 20;            // magic, segment id, payload length, CRC-32
constexpr size_t kLegacyHeaderBytes = 12;      // magic, payload length, CRC-32
constexpr uint32_t kMaxPayload = 256u << 20;
constexpr char kPrefix[] = "intake-";
constexpr char kSuffix[] = ".journal";
constexpr char kSparePrefix[] = "spare-";
constexpr char kSpareSuffix[] = ".spare";

std::string Errno(const char* what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

void PutU32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}
void PutU64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}
void PutStr(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U32(uint32_t* v) {
    if (in_.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(4);
    return true;
  }
  bool U64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

uint32_t Crc(std::string_view payload) {
  return static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()),
            static_cast<uInt>(payload.size())));
}

// Appends one record (header + payload) for `d`, whose id and received_at are set, to a batch
// for the segment `segment`.
void Encode(const DeliveryToAccept& d, int64_t segment, std::string& out) {
  std::string payload;
  payload.reserve(d.body.size() + d.headers_json.size() + 256);
  PutU64(payload, static_cast<uint64_t>(d.id));
  PutU64(payload, static_cast<uint64_t>(absl::ToUnixMillis(d.received_at)));
  for (const std::string* s : {&d.source, &d.store_id, &d.topic, &d.dedupe_key, &d.headers_json,
                               &d.body, &d.correlation_id, &d.job_kind, &d.job_partition_key}) {
    PutStr(payload, *s);
  }
  PutU32(out, kMagic);
  PutU64(out, static_cast<uint64_t>(segment));
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, Crc(payload));
  out += payload;
}

std::string EndMarker(int64_t segment) {
  std::string out;
  PutU32(out, kMagicEnd);
  PutU64(out, static_cast<uint64_t>(segment));
  PutU32(out, 0);
  PutU32(out, 0);
  return out;
}

// What one position of a segment holds.
struct Scan {
  enum Kind { kRecord, kEnd, kStop } kind = kStop;
  size_t bytes = 0;          // kRecord: header + payload
  std::string_view payload;  // kRecord
  bool legacy = false;       // kRecord: a "KLJ1" record
  // kStop: bytes of a record of this segment that was cut short or damaged (a torn write);
  // 0 when the segment's records simply end here (end of file, zeros, or a recycled file's
  // older content).
  size_t torn = 0;
};

Scan ScanAt(std::string_view data, size_t at, int64_t segment) {
  Scan r;
  const std::string_view rest = data.substr(at);
  Reader h(rest);
  uint32_t magic = 0;
  if (!h.U32(&magic)) {
    r.torn = rest.size();  // a header cut short: nothing else writes fewer than 4 bytes here
    return r;
  }
  if (magic == kMagicLegacy) {
    uint32_t len = 0, crc = 0;
    if (!h.U32(&len) || !h.U32(&crc) || len > kMaxPayload ||
        rest.size() - kLegacyHeaderBytes < len) {
      r.torn = rest.size();
      return r;
    }
    const std::string_view payload = rest.substr(kLegacyHeaderBytes, len);
    if (Crc(payload) != crc) {
      r.torn = rest.size();
      return r;
    }
    return {.kind = Scan::kRecord, .bytes = kLegacyHeaderBytes + len, .payload = payload,
            .legacy = true};
  }
  if (magic != kMagic && magic != kMagicEnd) return r;  // zeros, or not ours
  uint64_t seg = 0;
  uint32_t len = 0, crc = 0;
  if (!h.U64(&seg)) {
    r.torn = rest.size();
    return r;
  }
  if (static_cast<int64_t>(seg) != segment) return r;  // a recycled file's older content
  if (!h.U32(&len) || !h.U32(&crc)) {
    r.torn = rest.size();
    return r;
  }
  if (magic == kMagicEnd) {
    if (len == 0 && crc == 0) return {.kind = Scan::kEnd, .bytes = kHeaderBytes};
    r.torn = kHeaderBytes;
    return r;
  }
  if (len > kMaxPayload || rest.size() - kHeaderBytes < len) {
    r.torn = rest.size() < kHeaderBytes + len ? rest.size() : kHeaderBytes + len;
    return r;
  }
  const std::string_view payload = rest.substr(kHeaderBytes, len);
  if (Crc(payload) != crc) {
    r.torn = kHeaderBytes + len;
    return r;
  }
  return {.kind = Scan::kRecord, .bytes = kHeaderBytes + len, .payload = payload};
}

bool DecodePayload(std::string_view payload, DeliveryToAccept* d) {
  Reader r(payload);
  uint64_t id, ms;
  if (!r.U64(&id) || !r.U64(&ms)) return false;
  d->id = static_cast<int64_t>(id);
  d->received_at = absl::FromUnixMillis(static_cast<int64_t>(ms));
  for (std::string* s : {&d->source, &d->store_id, &d->topic, &d->dedupe_key, &d->headers_json,
                         &d->body, &d->correlation_id, &d->job_kind, &d->job_partition_key}) {
    if (!r.Str(s)) return false;
  }
  return r.empty();
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(Errno("cannot open directory", dir));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(Errno("cannot fsync directory", dir));
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view data, off_t at, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(Errno("cannot write", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
    at += n;
  }
  return absl::OkStatus();
}

}  // namespace

IntakeJournal::IntakeJournal(IntakeJournalOptions options, Store* store, const core::Clock* clock,
                             obs::Registry* metrics)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      appender_(static_cast<size_t>(std::max(1, options_.max_batch))),
      commit_metrics_(metrics) {
  if (metrics) {
    m_move_seconds_ = metrics->GetHistogram(
        "keelson_intake_journal_move_seconds",
        "Duration of one move of journaled deliveries into the store (one commit).",
        obs::LatencyBucketsSeconds());
    m_move_errors_ = metrics->GetCounter(
        "keelson_intake_journal_move_errors_total",
        "Failed moves of journaled deliveries into the store (retried; the journal keeps them).");
    m_duplicates_ = metrics->GetCounter(
        "keelson_intake_journal_duplicates_total",
        "Redeliveries absorbed by the intake journal before they were written.");
    m_unmoved_ = metrics->GetGauge(
        "keelson_intake_journal_unmoved",
        "Deliveries in the intake journal not yet moved into the store.");
  }
}

IntakeJournal::~IntakeJournal() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<IntakeJournal>> IntakeJournal::Open(IntakeJournalOptions options,
                                                                   Store* store,
                                                                   const core::Clock* clock,
                                                                   obs::Registry* metrics) {
  if (options.dir.empty()) return absl::InvalidArgumentError("intake journal: no directory");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the intake journal directory ", options.dir, ": ",
                     ec.message()));
  }
  std::unique_ptr<IntakeJournal> j(new IntakeJournal(std::move(options), store, clock, metrics));
  const std::string lock_path = j->options_.dir + "/LOCK";
  j->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j->lock_fd_ < 0) return absl::UnavailableError(Errno("cannot open", lock_path));
  if (::flock(j->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the intake journal ", j->options_.dir,
                     " is in use by another Keelson process (", lock_path, " is locked)"));
  }
  if (auto s = j->Recover(); !s.ok()) return s;
  return j;
}

absl::Status IntakeJournal::Recover() {
  std::vector<std::pair<int64_t, std::string>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(kSparePrefix) && name.ends_with(kSpareSuffix)) {
      // A file kept for reuse; its content is stale by definition.
      KeepOrRemoveSpare(e.path().string());
      continue;
    }
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    const std::string num =
        name.substr(sizeof(kPrefix) - 1, name.size() - (sizeof(kPrefix) - 1) - (sizeof(kSuffix) - 1));
    int64_t first = 0;
    if (num.empty() || !absl::SimpleAtoi(num, &first)) continue;
    files.emplace_back(first, e.path().string());
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list the intake journal ", options_.dir, ": ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  recovery_.segments = static_cast<int>(files.size());

  std::vector<DeliveryToAccept> batch;
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    auto r = store_->AcceptDeliveries(batch, clock_->Now());
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("replaying the intake journal ", options_.dir,
                                       " into the store: ", r.status().message()));
    }
    for (const AcceptResult& a : *r) recovery_.replayed += a.duplicate ? 0 : 1;
    batch.clear();
    return absl::OkStatus();
  };

  // Files holding "KLJ1" records are removed, never reused: those records carry no segment id,
  // so what a reused file kept of them could not be told from new ones.
  std::vector<bool> has_legacy(files.size(), false);
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string& path = files[f].second;
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::UnavailableError(Errno("cannot read", path));
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const int64_t segment = files[f].first;
    const bool last = f + 1 == files.size();
    size_t at = 0;
    bool legacy_only = true;
    while (true) {
      Scan sc = at < data.size() ? ScanAt(data, at, segment) : Scan{};
      DeliveryToAccept d;
      if (sc.kind == Scan::kRecord && !DecodePayload(sc.payload, &d)) {
        sc = Scan{.torn = sc.bytes};
      }
      if (sc.kind == Scan::kEnd) break;  // a closed segment
      if (sc.kind == Scan::kStop) {
        // Where the last segment's records end: a write that was cut short was never answered.
        // An older segment was closed with an end marker (or, written by an older Keelson,
        // runs intact to the end of its file): anything else there is damage.
        const bool intact_legacy = legacy_only && sc.torn == 0 && at == data.size();
        if (last || intact_legacy) {
          if (last) recovery_.torn_bytes = static_cast<int64_t>(sc.torn);
          break;
        }
        return absl::DataLossError(absl::StrFormat(
            "intake journal %s: unreadable record at byte %d (an older segment, not a torn "
            "write); move the file aside to start without it",
            path, at));
      }
      legacy_only = legacy_only && sc.legacy;
      has_legacy[f] = has_legacy[f] || sc.legacy;
      at += sc.bytes;
      ++recovery_.records;
      // Every record goes through AcceptDeliveries: one already in the store is absorbed by its
      // dedupe key. (Not "ids above the store's highest": the backfill's own deliveries take ids
      // too, and may be stored durably above journaled ones that are not.)
      batch.push_back(std::move(d));
      if (batch.size() >= static_cast<size_t>(std::max(1, options_.move_batch))) {
        if (auto s = flush(); !s.ok()) return s;
      }
    }
  }
  if (auto s = flush(); !s.ok()) return s;
  if (recovery_.records > 0 || recovery_.torn_bytes > 0) {
    obs::LogInfo("intake journal recovered",
                 {{"dir", options_.dir},
                  {"segments", recovery_.segments},
                  {"records", recovery_.records},
                  {"replayed", recovery_.replayed},
                  {"torn_bytes", recovery_.torn_bytes}});
  }
  // Everything is in the store now (durably: AcceptDeliveries commits with fsync).
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string& path = files[f].second;
    const bool gone = has_legacy[f] ? ::unlink(path.c_str()) == 0 : RecycleOrRemove(path);
    if (!gone && errno != ENOENT) return absl::UnavailableError(Errno("cannot remove", path));
  }
  if (!files.empty()) {
    if (auto s = FsyncDir(options_.dir); !s.ok()) return s;
  }
  // Ids from here on are the store's reservations: above everything stored, and above every
  // journaled id just replayed (the store counts the ids it is given, absorbed ones included).
  auto first = store_->ReserveDeliveryIds(1);
  if (!first.ok()) return first.status();
  next_id_ = *first;
  moved_through_ = next_id_ - 1;
  durable_through_ = next_id_ - 1;
  journaled_through_ = next_id_ - 1;
  return absl::OkStatus();
}

bool IntakeJournal::WantSpare(const std::string& path) const {
  struct stat st;
  return static_cast<int>(spares_.size()) < options_.spare_segments &&
         ::stat(path.c_str(), &st) == 0 && st.st_size >= options_.segment_bytes;
}

bool IntakeJournal::RecycleOrRemove(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (WantSpare(path)) {
      // Named after the segment it was (`intake-<id>.journal` -> `spare-<id>.spare`): segment
      // ids are never reused, so neither are spare names.
      const std::string name = fs::path(path).filename().string();
      const std::string spare = absl::StrCat(
          options_.dir, "/", kSparePrefix,
          name.substr(sizeof(kPrefix) - 1,
                      name.size() - (sizeof(kPrefix) - 1) - (sizeof(kSuffix) - 1)),
          kSpareSuffix);
      if (::rename(path.c_str(), spare.c_str()) == 0) {
        spares_.push_back(spare);
        return true;
      }
    }
  }
  return ::unlink(path.c_str()) == 0;
}

void IntakeJournal::KeepOrRemoveSpare(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (WantSpare(path)) {
    spares_.push_back(path);
  } else {
    ::unlink(path.c_str());
  }
}

absl::Status IntakeJournal::OpenSegment() {
  const std::string path =
      absl::StrFormat("%s/%s%020d%s", options_.dir, kPrefix, next_id_, kSuffix);
  // A spare (a moved segment kept for reuse) first: writing over blocks the file already has
  // changes no metadata, so each fdatasync is the data alone, not also an ext4 journal commit
  // for the file's growth. Its old records carry another segment id and are never read as ours.
  std::string spare;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!spares_.empty()) {
      spare = spares_.back();
      spares_.pop_back();
    }
  }
  int fd = -1;
  if (!spare.empty() && ::rename(spare.c_str(), path.c_str()) == 0) {
    fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return absl::UnavailableError(Errno("cannot open", path));
  } else {
    if (!spare.empty()) ::unlink(spare.c_str());
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return absl::UnavailableError(Errno("cannot create", path));
  }
  if (auto s = FsyncDir(options_.dir); !s.ok()) {
    ::close(fd);
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  fd_path_ = path;
  fd_size_ = 0;
  segment_id_ = next_id_;
  std::lock_guard<std::mutex> l(mu_);
  segments_.push_back({.last_id = 0, .path = path});
  return absl::OkStatus();
}

void IntakeJournal::Start() {
  if (started_) return;
  started_ = true;
  if (auto s = OpenSegment(); !s.ok()) {
    obs::LogError("intake journal: cannot open a segment; intake refuses deliveries",
                  {{"error", s.ToString()}});
    broken_ = true;
  }
  if (options_.move) {
    mover_ = std::thread([this] {
      core::SetThreadName("kl-jmove");
      core::SetBackgroundPriority();  // behind the threads that answer webhooks
      MoveLoop();
    });
  }
  appender_.Start("kl-journal", [this](std::vector<Pending>& batch) { Append(batch); });
}

void IntakeJournal::Submit(DeliveryToAccept delivery, Callback done) {
  Pending p{std::move(delivery), std::move(done)};
  if (!appender_.Submit(p)) p.done(absl::UnavailableError("intake is shutting down"));
}

void IntakeJournal::Append(std::vector<Pending>& batch) {
  if (broken_) {
    for (Pending& p : batch) {
      p.done(absl::UnavailableError("the intake journal cannot be written"));
    }
    return;
  }
  // 1. Redeliveries: of a delivery not yet moved (memory), of one earlier in this batch, or of
  //    one in the store (one lookup for the batch's other keys).
  std::vector<std::optional<AcceptResult>> dup(batch.size());
  std::vector<std::string> lookup;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      auto it = unmoved_keys_.find(batch[i].delivery.dedupe_key);
      if (it != unmoved_keys_.end()) {
        dup[i] = it->second;
      } else {
        lookup.push_back(batch[i].delivery.dedupe_key);
      }
    }
  }
  if (!lookup.empty()) {
    auto found = store_->FindDeliveriesByKey(lookup);
    if (!found.ok()) {
      for (Pending& p : batch) p.done(found.status());
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (dup[i]) continue;
      auto it = found->find(batch[i].delivery.dedupe_key);
      if (it != found->end()) dup[i] = it->second;
    }
  }
  // 2. Number the new ones and write them in one go.
  size_t fresh = 0;
  for (size_t i = 0; i < batch.size(); ++i) fresh += dup[i] ? 0 : 1;
  absl::flat_hash_map<std::string, size_t> first_in_batch;
  std::vector<std::optional<size_t>> same_as(batch.size());
  std::string buf;
  const absl::Time now = clock_->Now();
  const absl::Time t0 = absl::Now();
  int64_t first_id = 0;
  if (fresh > 0) {
    auto reserved = store_->ReserveDeliveryIds(static_cast<int64_t>(fresh));
    if (!reserved.ok()) {
      for (Pending& p : batch) p.done(reserved.status());
      return;
    }
    first_id = *reserved;
  }
  int64_t id = first_id;
  int64_t written = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (dup[i]) continue;
    DeliveryToAccept& d = batch[i].delivery;
    auto [it, inserted] = first_in_batch.emplace(d.dedupe_key, i);
    if (!inserted) {
      same_as[i] = it->second;
      continue;
    }
    d.id = id++;
    d.received_at = now;
    Encode(d, segment_id_, buf);
    ++written;
  }
  if (written > 0) {
    // The batch that fills the segment also closes it: its end marker goes in the same write and
    // fdatasync, so it is durable before the next segment exists (recovery tells a closed
    // segment from a damaged one by it).
    if (fd_size_ + static_cast<int64_t>(buf.size()) >= options_.segment_bytes) {
      buf += EndMarker(segment_id_);
    }
    absl::Status st = WriteAll(fd_, buf, static_cast<off_t>(fd_size_), fd_path_);
    if (st.ok() && ::fdatasync(fd_) != 0) {
      st = absl::UnavailableError(Errno("cannot fdatasync", fd_path_));
    }
    if (!st.ok()) {
      // Nothing of this batch is answered as accepted; cut the file back to what was synced.
      if (::ftruncate(fd_, static_cast<off_t>(fd_size_)) != 0 || ::fdatasync(fd_) != 0) {
        broken_ = true;
      }
      commit_metrics_.Record(false, absl::ToDoubleSeconds(absl::Now() - t0), batch.size());
      obs::LogError("intake journal write failed",
                    {{"error", st.ToString()}, {"deliveries", batch.size()},
                     {"intake_stopped", broken_}});
      for (Pending& p : batch) p.done(st);
      return;
    }
    fd_size_ += static_cast<int64_t>(buf.size());
    next_id_ = id;
  }
  // The intake commit metrics, as GroupCommitter's: here the journal write is the commit.
  commit_metrics_.Record(true, absl::ToDoubleSeconds(absl::Now() - t0), batch.size());

  // 3. The answers; then the new deliveries go to the mover (waiting while it is too far
  //    behind), and the callers get their answers.
  std::vector<AcceptResult> results(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (dup[i]) {
      results[i] = *dup[i];
    } else if (same_as[i]) {
      const DeliveryToAccept& first = batch[*same_as[i]].delivery;
      results[i] = {.delivery_id = first.id, .duplicate = true,
                    .correlation_id = first.correlation_id};
    } else {
      const DeliveryToAccept& d = batch[i].delivery;
      results[i] = {.delivery_id = d.id, .duplicate = false, .correlation_id = d.correlation_id};
    }
  }
  if (written > 0) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] {
      return stopping_ || unmoved_.load() < std::max<int64_t>(1, options_.max_unmoved);
    });
    segments_.back().last_id = next_id_ - 1;
    journaled_through_ = next_id_ - 1;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (dup[i] || same_as[i]) continue;
      DeliveryToAccept& d = batch[i].delivery;
      AcceptResult first = results[i];
      first.duplicate = true;  // what a redelivery of it will be told
      unmoved_keys_[d.dedupe_key] = std::move(first);
      to_move_.push_back(std::move(d));
    }
    unmoved_.fetch_add(written);
    if (m_unmoved_) m_unmoved_->Set(static_cast<double>(unmoved_.load()));
  }
  if (written > 0) cv_.notify_all();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (results[i].duplicate && m_duplicates_) m_duplicates_->Inc();
    batch[i].done(std::move(results[i]));
  }

  // 4. A full segment (closed by the write above): start the next one. The mover recycles or
  //    removes the old one once it is moved.
  if (fd_size_ >= options_.segment_bytes) {
    if (auto s = OpenSegment(); !s.ok()) {
      obs::LogError("intake journal: cannot open a segment; intake refuses deliveries",
                    {{"error", s.ToString()}});
      broken_ = true;
    }
  }
}

void IntakeJournal::MoveLoop() {
  std::vector<DeliveryToAccept> batch;
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_mover_ || !to_move_.empty(); });
      if (to_move_.empty()) return;  // stopping, and everything is moved
      const size_t n = std::min(to_move_.size(),
                                static_cast<size_t>(std::max(1, options_.move_batch)));
      batch.assign(std::make_move_iterator(to_move_.begin()),
                   std::make_move_iterator(to_move_.begin() + static_cast<ptrdiff_t>(n)));
      to_move_.erase(to_move_.begin(), to_move_.begin() + static_cast<ptrdiff_t>(n));
    }
    // Buffered commits (no fsync: the journal still holds these deliveries), except when a
    // finished segment becomes removable or the journal stops: that commit is durable, and with
    // it every commit before it (SQLite's WAL is one ordered log).
    bool durable;
    {
      std::lock_guard<std::mutex> l(mu_);
      durable = stop_mover_ ||
                (segments_.size() > 1 && segments_.front().last_id <= batch.back().id);
    }
    while (true) {
      const absl::Time t0 = absl::Now();
      auto r = store_->AcceptDeliveries(batch, clock_->Now(), durable);
      if (r.ok()) {
        if (m_move_seconds_) m_move_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - t0));
        backoff = absl::Milliseconds(50);
        break;
      }
      if (m_move_errors_) m_move_errors_->Inc();
      obs::LogError("intake journal: moving deliveries into the store failed; retrying",
                    {{"error", r.status().ToString()}, {"deliveries", batch.size()}});
      bool stopping;
      {
        std::lock_guard<std::mutex> l(mu_);
        stopping = stop_mover_;
      }
      if (stopping) {
        // They stay in the journal; the next start replays them.
        obs::LogError("intake journal: stopping with deliveries not moved; the next start "
                      "replays them",
                      {{"deliveries", batch.size() + to_move_.size()}});
        std::lock_guard<std::mutex> l(mu_);
        to_move_.clear();
        return;
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
    const int64_t moved_through = batch.back().id;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const DeliveryToAccept& d : batch) {
        auto it = unmoved_keys_.find(d.dedupe_key);
        if (it != unmoved_keys_.end() && it->second.delivery_id == d.id) unmoved_keys_.erase(it);
      }
      moved_through_ = moved_through;
      if (durable) durable_through_ = moved_through;
      unmoved_.fetch_sub(static_cast<int64_t>(batch.size()));
      if (m_unmoved_) m_unmoved_->Set(static_cast<double>(unmoved_.load()));
    }
    cv_.notify_all();
    if (durable) DropMovedSegments(moved_through);
    if (on_commit_) on_commit_();
    batch.clear();
  }
}

void IntakeJournal::DropMovedSegments(int64_t moved_through) {
  std::vector<std::string> drop;
  {
    std::lock_guard<std::mutex> l(mu_);
    // Never the last segment: the appender writes to it.
    while (segments_.size() > 1 && segments_.front().last_id <= moved_through) {
      drop.push_back(segments_.front().path);
      segments_.erase(segments_.begin());
    }
  }
  for (const std::string& path : drop) {
    if (!RecycleOrRemove(path) && errno != ENOENT) {
      obs::LogWarn("intake journal: cannot remove a moved segment",
                   {{"path", path}, {"error", std::strerror(errno)}});
    }
  }
}

void IntakeJournal::WaitMoved() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return moved_through_ >= journaled_through_ || !mover_.joinable(); });
}

void IntakeJournal::Stop() {
  if (!started_) return;
  started_ = false;
  {
    // No more waiting for the mover (it may be failing): what is submitted gets answered.
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  appender_.Stop();  // answers everything submitted
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_mover_ = true;
  }
  cv_.notify_all();
  if (mover_.joinable()) mover_.join();
  {
    // Everything moved by buffered commits: one durable write (a cursor row recording how far
    // the journal reached) makes them durable, so the segments can go.
    int64_t moved, durable;
    {
      std::lock_guard<std::mutex> l(mu_);
      moved = moved_through_;
      durable = durable_through_;
    }
    if (moved > durable && moved >= journaled_through_) {
      absl::Status s = store_->Transact(clock_->Now(), [&](Tx& tx) {
        return tx.PutCursor("intake_journal.moved_through", absl::StrCat(moved));
      });
      if (s.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        durable_through_ = moved;
      }
    }
  }
  bool all_moved;
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> l(mu_);
    // Removed only if a durable commit covers them; otherwise the next start reads them, finds
    // them in the store (or replays what an OS crash took from it) and removes them then.
    all_moved = durable_through_ >= journaled_through_;
    for (const Segment& s : segments_) paths.push_back(s.path);
    if (all_moved) segments_.clear();
  }
  if (all_moved) {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    for (const std::string& p : paths) (void)RecycleOrRemove(p);
    (void)FsyncDir(options_.dir);
  }
}

}  // namespace keelson::store
