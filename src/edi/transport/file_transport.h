#pragma once
// Moving X12 files to and from a trading partner: folders on the partner's SFTP server
// (sftp_transport.h) or in a local directory (local_transport.h: a mounted share, tests, demos).
//
// The conventions every EDI exchange here follows, whichever the transport:
//   - a file is written as "<name>.tmp" and renamed to "<name>" once complete (WriteAtomic), so a
//     partner never reads half a file;
//   - a poller skips names still being written (IsInProgressName: *.tmp, *.part, *.filepart,
//     hidden names) and files whose size or modification time is still changing (SettleTracker);
//   - a processed file is moved aside (MoveAside) into an archive or error folder, under its own
//     name or, when one of that name is there already, with a UTC timestamp added.
//
// Paths are '/'-separated. Errors: kNotFound (no such file or folder), kAlreadyExists (Rename onto
// an existing name), kPermissionDenied, kUnauthenticated / kPermissionDenied for a refused login
// or host key (configuration: not retried), kUnavailable / kDeadlineExceeded for a dropped or
// timed-out connection (the job runner retries; the next call reconnects).
//
// Thread-safety: implementations are thread-safe (calls on one transport are serialised).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace keelson::edi {

struct RemoteFile {
  std::string name;  // within its folder, no '/'
  uint64_t size = 0;
  absl::Time mtime = absl::InfinitePast();
  bool regular = true;  // false: a folder, link or special file (never read)
};

class FileTransport {
 public:
  virtual ~FileTransport() = default;
  virtual std::string_view kind() const = 0;  // "sftp" | "local"
  // The entries of `dir` ("." and ".." left out), in no particular order.
  virtual absl::StatusOr<std::vector<RemoteFile>> List(const std::string& dir) = 0;
  // The whole file; kResourceExhausted when it is longer than `max_bytes`.
  virtual absl::StatusOr<std::string> Read(const std::string& path, uint64_t max_bytes) = 0;
  // Writes `dir/name` so that nobody sees it partly written: `dir/name.tmp` first (flushed to
  // disk where the server supports it), then renamed. A file `dir/name` already there is
  // replaced (a retry writing the same bytes again).
  virtual absl::Status WriteAtomic(const std::string& dir, const std::string& name,
                                   std::string_view content) = 0;
  // Renames `from` to `to`; kAlreadyExists (nothing done) when `to` exists.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  // Creates `dir` and its missing parents; OK when it exists.
  virtual absl::Status MakeDirs(const std::string& dir) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
};

// "dir/name" ("name" when dir is empty).
std::string JoinPath(std::string_view dir, std::string_view name);

// True for names a writer has not finished: "*.tmp", "*.part", "*.filepart", "*.partial",
// "*.crdownload" (any case), and hidden names (".name").
bool IsInProgressName(std::string_view name);

// Moves `dir/name` into `to_dir` (created when missing) under `name`, or — when that name is
// taken — `name.<yyyymmddThhmmssZ of now>` (then `.2`, `.3`, ...). Returns the name it got.
absl::StatusOr<std::string> MoveAside(FileTransport& transport, const std::string& dir,
                                      const std::string& name, const std::string& to_dir,
                                      absl::Time now);

// Which listed files are complete. A file is ready when it is a regular file with a finished
// name (IsInProgressName) and either was last modified at least `settle` before now, or the
// previous listing (an earlier Ready call) saw it with the same size and modification time. With
// `settle` 0 every finished name is ready at once (partners that upload by rename).
// Thread-compatible: one tracker per polled folder.
class SettleTracker {
 public:
  explicit SettleTracker(absl::Duration settle) : settle_(settle) {}
  // The ready files of `listing`, sorted by (mtime, name); remembers `listing` for the next call.
  std::vector<RemoteFile> Ready(const std::vector<RemoteFile>& listing, absl::Time now);

 private:
  absl::Duration settle_;
  absl::flat_hash_map<std::string, std::pair<uint64_t, absl::Time>> seen_;
};

}  // namespace keelson::edi
