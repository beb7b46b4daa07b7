#include "edi/transport/sftp_transport.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <sys/socket.h>

#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "core/strings.h"
#include "obs/log.h"

namespace keelson::edi {
namespace {

constexpr size_t kChunk = 32 * 1024;  // below every server's packet limit (OpenSSH: 256 KiB)

// "SHA256:abc=" and "abc" compare equal: OpenSSH prints no padding, other tools do.
std::string NormalizeFingerprint(std::string_view fp) {
  absl::string_view s = core::AbslSv(fp);
  absl::ConsumePrefix(&s, "SHA256:");
  while (absl::ConsumeSuffix(&s, "=")) {
  }
  return std::string(s);
}

absl::StatusOr<std::string> Sha256Fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != 0) {
    return absl::InternalError("cannot hash the host key");
  }
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  if (fp == nullptr) return absl::InternalError("cannot format the host key fingerprint");
  std::string out = fp;
  ssh_string_free_char(fp);
  return out;
}

class SftpTransportImpl final : public SftpTransport {
 public:
  explicit SftpTransportImpl(SftpOptions o) : o_(std::move(o)) {}
  ~SftpTransportImpl() override {
    absl::MutexLock l(&mu_);
    DisconnectLocked();
  }

  std::string_view kind() const override { return "sftp"; }

  int connects() const override {
    absl::MutexLock l(&mu_);
    return connects_;
  }

  void DropConnectionForTesting() override {
    absl::MutexLock l(&mu_);
    if (session_ != nullptr) shutdown(ssh_get_fd(session_), SHUT_RDWR);
  }

  absl::StatusOr<std::vector<RemoteFile>> List(const std::string& dir) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    sftp_dir d = sftp_opendir(sftp_, dir.c_str());
    if (d == nullptr) return ErrorLocked("cannot list", dir);
    std::vector<RemoteFile> out;
    while (sftp_attributes a = sftp_readdir(sftp_, d)) {
      std::string name = a->name != nullptr ? a->name : "";
      if (name != "." && name != "..") {
        out.push_back({.name = std::move(name),
                       .size = a->size,
                       .mtime = absl::FromUnixSeconds(a->mtime64 != 0 ? a->mtime64 : a->mtime),
                       .regular = a->type == SSH_FILEXFER_TYPE_REGULAR});
      }
      sftp_attributes_free(a);
    }
    const bool eof = sftp_dir_eof(d) != 0;
    sftp_closedir(d);
    if (!eof) return ErrorLocked("cannot read the folder", dir);
    return out;
  }

  absl::StatusOr<std::string> Read(const std::string& path, uint64_t max_bytes) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    sftp_file f = sftp_open(sftp_, path.c_str(), O_RDONLY, 0);
    if (f == nullptr) return ErrorLocked("cannot open", path);
    std::string out;
    char buf[kChunk];
    while (true) {
      const ssize_t n = sftp_read(f, buf, sizeof buf);
      if (n < 0) {
        sftp_close(f);
        return ErrorLocked("cannot read", path);
      }
      if (n == 0) break;
      if (out.size() + static_cast<uint64_t>(n) > max_bytes) {
        sftp_close(f);
        return absl::ResourceExhaustedError(
            absl::StrCat(path, " is longer than ", max_bytes, " bytes"));
      }
      out.append(buf, static_cast<size_t>(n));
    }
    sftp_close(f);
    return out;
  }

  absl::Status WriteAtomic(const std::string& dir, const std::string& name,
                           std::string_view content) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    const std::string final_path = JoinPath(dir, name);
    const std::string tmp = final_path + ".tmp";
    sftp_file f = sftp_open(sftp_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f == nullptr) return ErrorLocked("cannot create", tmp);
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n =
          sftp_write(f, content.data() + done, std::min(kChunk, content.size() - done));
      if (n <= 0) {
        sftp_close(f);
        return ErrorLocked("cannot write", tmp);
      }
      done += static_cast<size_t>(n);
    }
    // On the partner's disk before it becomes visible, where the server can say so.
    if (fsync_ && sftp_fsync(f) != 0) {
      sftp_close(f);
      return ErrorLocked("cannot fsync", tmp);
    }
    if (sftp_close(f) != 0) return ErrorLocked("cannot close", tmp);
    // SFTP v3 rename refuses an existing target; it exists only when a retry writes the same
    // file again, so it is replaced.
    if (sftp_attributes a = sftp_lstat(sftp_, final_path.c_str())) {
      sftp_attributes_free(a);
      if (sftp_unlink(sftp_, final_path.c_str()) != 0)
        return ErrorLocked("cannot replace", final_path);
    }
    if (sftp_rename(sftp_, tmp.c_str(), final_path.c_str()) != 0) {
      return ErrorLocked("cannot rename " + tmp + " to", final_path);
    }
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    if (sftp_attributes a = sftp_lstat(sftp_, to.c_str())) {
      sftp_attributes_free(a);
      return absl::AlreadyExistsError(absl::StrCat("cannot rename ", from, ": ", to, " exists"));
    }
    if (sftp_rename(sftp_, from.c_str(), to.c_str()) != 0) {
      return ErrorLocked("cannot rename " + from + " to", to);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Exists(const std::string& path) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    return ExistsLocked(path);
  }

  absl::Status MakeDirs(const std::string& dir) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    std::string prefix = !dir.empty() && dir.front() == '/' ? "/" : "";
    for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
      absl::StrAppend(&prefix, part);
      auto exists = ExistsLocked(prefix);
      if (!exists.ok()) return exists.status();
      if (!*exists && sftp_mkdir(sftp_, prefix.c_str(), 0755) != 0) {
        return ErrorLocked("cannot create folder", prefix);
      }
      prefix += "/";
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    absl::MutexLock l(&mu_);
    if (auto s = ConnectLocked(); !s.ok()) return s;
    if (sftp_unlink(sftp_, path.c_str()) != 0) return ErrorLocked("cannot remove", path);
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<bool> ExistsLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (sftp_attributes a = sftp_lstat(sftp_, path.c_str())) {
      sftp_attributes_free(a);
      return true;
    }
    const int code = sftp_get_error(sftp_);
    if (code == SSH_FX_NO_SUCH_FILE || code == SSH_FX_NO_SUCH_PATH) return false;
    return ErrorLocked("cannot stat", path);
  }

  // A file-level refusal keeps the session; anything else (a dropped connection, a timeout, a
  // protocol error) closes it so that the next call starts afresh.
  absl::Status ErrorLocked(std::string_view what, const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int code = sftp_ != nullptr ? sftp_get_error(sftp_) : -1;
    const std::string msg = core::Cat(o_.label, ": ", what, " ", path);
    switch (code) {
      case SSH_FX_NO_SUCH_FILE:
      case SSH_FX_NO_SUCH_PATH:
        return absl::NotFoundError(core::Cat(msg, ": no such file or folder"));
      case SSH_FX_PERMISSION_DENIED:
      case SSH_FX_WRITE_PROTECT:
        return absl::PermissionDeniedError(core::Cat(msg, ": permission denied"));
      case SSH_FX_FILE_ALREADY_EXISTS:
        return absl::AlreadyExistsError(core::Cat(msg, ": exists"));
      default:
        break;
    }
    const std::string detail = session_ != nullptr ? ssh_get_error(session_) : "";
    DisconnectLocked();
    return absl::UnavailableError(core::Cat(msg, ": ", detail.empty() ? "connection lost" : detail,
                                            " (sftp status ", code, ")"));
  }

  absl::Status ConnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (session_ != nullptr && sftp_ != nullptr && ssh_is_connected(session_) != 0) {
      return absl::OkStatus();
    }
    DisconnectLocked();
    static std::once_flag init;
    std::call_once(init, [] { ssh_init(); });
    session_ = ssh_new();
    if (session_ == nullptr) return absl::ResourceExhaustedError("ssh_new failed");
    const int port = o_.port;
    const long secs = static_cast<long>(absl::ToInt64Seconds(o_.timeout));
    const long usec = static_cast<long>(absl::ToInt64Microseconds(o_.timeout) % 1'000'000);
    bool process_config = false;
    // Each SFTP request waits for its answer: without TCP_NODELAY, Nagle and delayed ACKs add
    // tens of milliseconds to every round trip.
    const int nodelay = 1;
    ssh_options_set(session_, SSH_OPTIONS_HOST, o_.host.c_str());
    ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
    ssh_options_set(session_, SSH_OPTIONS_USER, o_.user.c_str());
    ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &secs);
    ssh_options_set(session_, SSH_OPTIONS_TIMEOUT_USEC, &usec);
    ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
    ssh_options_set(session_, SSH_OPTIONS_NODELAY, &nodelay);
    // Only the configured known_hosts counts (never ~/.ssh/known_hosts or /etc/ssh's).
    ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS,
                    o_.known_hosts_file.empty() ? "/dev/null" : o_.known_hosts_file.c_str());
    ssh_options_set(session_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    if (ssh_connect(session_) != SSH_OK) {
      const std::string err = ssh_get_error(session_);
      DisconnectLocked();
      return absl::UnavailableError(
          core::Cat(o_.label, ": cannot connect to ", o_.host, ":", o_.port, ": ", err));
    }
    if (auto s = CheckHostKeyLocked(); !s.ok()) {
      DisconnectLocked();
      return s;
    }
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_file(o_.key_file.c_str(),
                                    o_.key_passphrase.empty() ? nullptr : o_.key_passphrase.c_str(),
                                    nullptr, nullptr, &key) != SSH_OK) {
      DisconnectLocked();
      return absl::FailedPreconditionError(
          core::Cat(o_.label, ": cannot read the private key ", o_.key_file));
    }
    const int auth = ssh_userauth_publickey(session_, nullptr, key);
    ssh_key_free(key);
    if (auth != SSH_AUTH_SUCCESS) {
      const std::string err = ssh_get_error(session_);
      DisconnectLocked();
      if (auth == SSH_AUTH_ERROR) {
        return absl::UnavailableError(core::Cat(o_.label, ": login failed: ", err));
      }
      return absl::UnauthenticatedError(
          core::Cat(o_.label, ": the server refused the key of ", o_.user, " (", o_.key_file, ")"));
    }
    sftp_ = sftp_new(session_);
    if (sftp_ == nullptr || sftp_init(sftp_) != SSH_OK) {
      const std::string err = ssh_get_error(session_);
      DisconnectLocked();
      return absl::UnavailableError(core::Cat(o_.label, ": cannot start SFTP: ", err));
    }
    fsync_ = sftp_extension_supported(sftp_, "fsync@openssh.com", "1") != 0;
    ++connects_;
    return absl::OkStatus();
  }

  absl::Status CheckHostKeyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ssh_key server_key = nullptr;
    if (ssh_get_server_publickey(session_, &server_key) != SSH_OK) {
      return absl::UnavailableError(core::Cat(o_.label, ": no host key from the server"));
    }
    auto fp = Sha256Fingerprint(server_key);
    ssh_key_free(server_key);
    if (!fp.ok()) return fp.status();
    if (o_.insecure_accept_any_host_key) {
      obs::LogWarn("SFTP host key NOT checked (insecure_accept_any_host_key)",
                   {{"transport", o_.label}, {"host", o_.host}, {"fingerprint", *fp}});
      return absl::OkStatus();
    }
    if (!o_.host_key_sha256.empty()) {
      if (NormalizeFingerprint(*fp) == NormalizeFingerprint(o_.host_key_sha256)) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(core::Cat(o_.label, ": host key of ", o_.host, " is ", *fp,
                                                   ", not the pinned ", o_.host_key_sha256,
                                                   " — refusing to connect"));
    }
    switch (ssh_session_is_known_server(session_)) {
      case SSH_KNOWN_HOSTS_OK:
        return absl::OkStatus();
      case SSH_KNOWN_HOSTS_CHANGED:
      case SSH_KNOWN_HOSTS_OTHER:
        return absl::PermissionDeniedError(core::Cat(o_.label, ": host key of ", o_.host, " (", *fp,
                                                     ") differs from ", o_.known_hosts_file,
                                                     " — refusing to connect"));
      default:
        return absl::PermissionDeniedError(core::Cat(o_.label, ": host ", o_.host, ":", o_.port,
                                                     " (", *fp, ") is not in ", o_.known_hosts_file,
                                                     " — refusing to connect"));
    }
  }

  void DisconnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (sftp_ != nullptr) {
      sftp_free(sftp_);
      sftp_ = nullptr;
    }
    if (session_ != nullptr) {
      if (ssh_is_connected(session_) != 0) ssh_disconnect(session_);
      ssh_free(session_);
      session_ = nullptr;
    }
  }

  const SftpOptions o_;
  mutable absl::Mutex mu_;
  ssh_session session_ ABSL_GUARDED_BY(mu_) = nullptr;
  sftp_session sftp_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool fsync_ ABSL_GUARDED_BY(mu_) = false;
  int connects_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

std::vector<std::string> ValidateSftpOptions(const SftpOptions& o, std::string_view path) {
  std::vector<std::string> errors;
  auto err = [&](std::string_view key, std::string_view what) {
    errors.push_back(core::Cat(path, ".", key, ": ", what));
  };
  if (o.host.empty()) err("host", "required");
  if (o.port <= 0 || o.port > 65535) err("port", "must be 1..65535");
  if (o.user.empty()) err("user", "required");
  if (o.key_file.empty()) err("key_file", "required");
  const int checks = (o.known_hosts_file.empty() ? 0 : 1) + (o.host_key_sha256.empty() ? 0 : 1) +
                     (o.insecure_accept_any_host_key ? 1 : 0);
  if (checks == 0) {
    err("known_hosts",
        "one of known_hosts, host_key_sha256 or insecure_accept_any_host_key: "
        "true is required (the server's identity must be checked)");
  } else if (checks > 1) {
    err("known_hosts",
        "give only one of known_hosts, host_key_sha256 and "
        "insecure_accept_any_host_key");
  }
  if (!o.host_key_sha256.empty() && !absl::StartsWith(o.host_key_sha256, "SHA256:")) {
    err("host_key_sha256", "must look like \"SHA256:<base64>\" (ssh-keygen -lf prints it)");
  }
  if (o.timeout <= absl::ZeroDuration()) err("timeout_ms", "must be > 0");
  return errors;
}

absl::StatusOr<std::unique_ptr<SftpTransport>> NewSftpTransport(SftpOptions options) {
  if (auto errors = ValidateSftpOptions(options, "sftp"); !errors.empty()) {
    return absl::InvalidArgumentError(errors.front());
  }
  if (options.label.empty()) options.label = core::Cat("sftp://", options.host);
  return std::make_unique<SftpTransportImpl>(std::move(options));
}

absl::StatusOr<std::string> PublicKeyFileFingerprint(const std::string& path) {
  ssh_key key = nullptr;
  if (ssh_pki_import_pubkey_file(path.c_str(), &key) != SSH_OK) {
    return absl::NotFoundError(absl::StrCat("cannot read the public key ", path));
  }
  auto fp = Sha256Fingerprint(key);
  ssh_key_free(key);
  return fp;
}

}  // namespace keelson::edi
