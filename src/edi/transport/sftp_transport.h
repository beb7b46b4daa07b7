#pragma once
// FileTransport over SFTP (protocol version 3, as OpenSSH's sftp-server and internal-sftp speak
// it), with libssh (https://api.libssh.org/stable/libssh_tutor_sftp.html).
//
// Connection: connects on first use and after a dropped session (never at construction, so a
// partner's server being down does not stop Keelson from starting). The server's host key is
// checked before anything is sent — against an OpenSSH known_hosts file, or a pinned SHA-256
// fingerprint as `ssh-keygen -lf` prints it ("SHA256:base64"); `insecure_accept_any_host_key`
// skips the check (tests and demos only; logged as a warning on every connection). Login with a
// private key file (OpenSSH or PEM format, optionally with a passphrase). ~/.ssh/config is not
// read.
//
// Errors: a host key that does not match → kPermissionDenied, a refused login → kUnauthenticated
// (configuration: an operator must act, the job runner parks them); a connection that cannot be
// made, drops or times out → kUnavailable / kDeadlineExceeded and the session is closed, so the
// next call connects again. Every network wait is bounded by `timeout`.
//
// Thread-safety: thread-safe; calls are serialised on one session (libssh sessions are not
// thread-safe).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "edi/transport/file_transport.h"

namespace keelson::edi {

struct SftpOptions {
  std::string host;
  int port = 22;
  std::string user;
  std::string key_file;        // private key
  std::string key_passphrase;  // secret; "" = none
  // Exactly one of the next three.
  std::string known_hosts_file;  // OpenSSH known_hosts; "[host]:port" entries for port != 22
  std::string host_key_sha256;   // "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
  bool insecure_accept_any_host_key = false;
  absl::Duration timeout = absl::Seconds(30);  // connect, and each network wait
  std::string label;                           // for logs ("edi:acme")
};

// Every problem of `options` as "<path>.<key>: <what>" (empty when usable).
std::vector<std::string> ValidateSftpOptions(const SftpOptions& options, std::string_view path);

class SftpTransport : public FileTransport {
 public:
  // Test hook: shuts the session's socket down under libssh, as a network failure or a server
  // restart would.
  virtual void DropConnectionForTesting() = 0;
  // How many times a session was established (reconnects = connects - 1).
  virtual int connects() const = 0;
};

// kInvalidArgument when the options are unusable (ValidateSftpOptions).
absl::StatusOr<std::unique_ptr<SftpTransport>> NewSftpTransport(SftpOptions options);

// The "SHA256:..." fingerprint of an OpenSSH public key file ("ssh-ed25519 AAAA... comment"),
// as `ssh-keygen -lf FILE` prints it (for tests and `keelson` diagnostics).
absl::StatusOr<std::string> PublicKeyFileFingerprint(const std::string& path);

}  // namespace keelson::edi
