#include "edi/transport/file_transport.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::edi {

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(core::AbslSv(dir), core::AbslSv(name));
  return absl::StrCat(core::AbslSv(dir), "/", core::AbslSv(name));
}

bool IsInProgressName(std::string_view name) {
  if (name.empty() || name.front() == '.') return true;
  const std::string lower = absl::AsciiStrToLower(core::AbslSv(name));
  for (const char* suffix : {".tmp", ".part", ".filepart", ".partial", ".crdownload"}) {
    if (absl::EndsWith(lower, suffix)) return true;
  }
  return false;
}

absl::StatusOr<std::string> MoveAside(FileTransport& t, const std::string& dir,
                                      const std::string& name, const std::string& to_dir,
                                      absl::Time now) {
  if (auto s = t.MakeDirs(to_dir); !s.ok()) return s;
  const std::string from = JoinPath(dir, name);
  const std::string stamped =
      absl::StrCat(name, ".", absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string target = attempt == 0   ? name
                               : attempt == 1 ? stamped
                                              : absl::StrCat(stamped, ".", attempt);
    absl::Status s = t.Rename(from, JoinPath(to_dir, target));
    if (s.ok()) return target;
    if (s.code() != absl::StatusCode::kAlreadyExists) return s;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("cannot move ", from, " to ", to_dir, ": 100 files of that name are there"));
}

std::vector<RemoteFile> SettleTracker::Ready(const std::vector<RemoteFile>& listing,
                                             absl::Time now) {
  std::vector<RemoteFile> ready;
  absl::flat_hash_map<std::string, std::pair<uint64_t, absl::Time>> seen;
  for (const RemoteFile& f : listing) {
    if (!f.regular || IsInProgressName(f.name)) continue;
    seen[f.name] = {f.size, f.mtime};
    bool settled = settle_ <= absl::ZeroDuration() || now - f.mtime >= settle_;
    if (!settled) {
      auto before = seen_.find(f.name);
      settled = before != seen_.end() && before->second.first == f.size &&
                before->second.second == f.mtime;
    }
    if (settled) ready.push_back(f);
  }
  seen_ = std::move(seen);
  std::sort(ready.begin(), ready.end(), [](const RemoteFile& a, const RemoteFile& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.name < b.name;
  });
  return ready;
}

}  // namespace keelson::edi
