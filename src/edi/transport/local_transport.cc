#include "edi/transport/local_transport.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace keelson::edi {
namespace {

absl::Status Errno(int err, std::string_view what, const std::string& path) {
  const std::string msg = core::Cat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EEXIST:
    case ENOTEMPTY:
      return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

class LocalTransport final : public FileTransport {
 public:
  explicit LocalTransport(std::string root) : root_(std::move(root)) {}

  std::string_view kind() const override { return "local"; }

  absl::StatusOr<std::vector<RemoteFile>> List(const std::string& dir) override {
    const std::string path = Resolve(dir);
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return Errno(errno, "cannot list", path);
    std::vector<RemoteFile> out;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone since
      out.push_back({.name = name,
                     .size = static_cast<uint64_t>(st.st_size),
                     .mtime = absl::TimeFromTimespec(st.st_mtim),
                     .regular = S_ISREG(st.st_mode)});
    }
    closedir(d);
    return out;
  }

  absl::StatusOr<std::string> Read(const std::string& p, uint64_t max_bytes) override {
    const std::string path = Resolve(p);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno(errno, "cannot open", path);
    std::string out;
    char buf[64 * 1024];
    while (true) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        close(fd);
        return Errno(err, "cannot read", path);
      }
      if (n == 0) break;
      if (out.size() + static_cast<uint64_t>(n) > max_bytes) {
        close(fd);
        return absl::ResourceExhaustedError(
            absl::StrCat(path, " is longer than ", max_bytes, " bytes"));
      }
      out.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return out;
  }

  absl::Status WriteAtomic(const std::string& dir, const std::string& name,
                           std::string_view content) override {
    const std::string folder = Resolve(dir);
    const std::string final_path = JoinPath(folder, name);
    const std::string tmp = final_path + ".tmp";
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno(errno, "cannot create", tmp);
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = write(fd, content.data() + done, content.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        close(fd);
        unlink(tmp.c_str());
        return Errno(err, "cannot write", tmp);
      }
      done += static_cast<size_t>(n);
    }
    if (fsync(fd) != 0) {
      const int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return Errno(err, "cannot fsync", tmp);
    }
    close(fd);
    if (rename(tmp.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      unlink(tmp.c_str());
      return Errno(err, "cannot rename to", final_path);
    }
    SyncDir(folder);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    const std::string a = Resolve(from), b = Resolve(to);
    if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_NOREPLACE) != 0) {
      return Errno(errno, "cannot rename " + a + " to", b);
    }
    SyncDir(std::filesystem::path(b).parent_path().string());
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Exists(const std::string& p) override {
    struct stat st;
    if (lstat(Resolve(p).c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Errno(errno, "cannot stat", Resolve(p));
  }

  absl::Status MakeDirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(Resolve(dir), ec);
    if (ec) return Errno(ec.value(), "cannot create folder", Resolve(dir));
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& p) override {
    if (unlink(Resolve(p).c_str()) != 0) return Errno(errno, "cannot remove", Resolve(p));
    return absl::OkStatus();
  }

 private:
  std::string Resolve(const std::string& p) const {
    if (root_.empty() || (!p.empty() && p.front() == '/')) return p;
    return JoinPath(root_, p);
  }
  // A rename is durable once its folder is.
  static void SyncDir(const std::string& dir) {
    const int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }

  std::string root_;
};

}  // namespace

std::unique_ptr<FileTransport> NewLocalTransport(std::string root) {
  return std::make_unique<LocalTransport>(std::move(root));
}

}  // namespace keelson::edi
