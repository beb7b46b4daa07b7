#pragma once
// The real sshd (SFTP) that scripts/test-services.sh starts for the suite: its address and login
// from KEELSON_TEST_SFTP_HOST, _PORT, _USER, _KEY, _ROOT (the user's home, a local folder too),
// and its host key (KEELSON_TEST_SFTP_HOST_KEY, else host_key.pub beside the client key).
// Tests that need it GTEST_SKIP with SftpSkipReason() when it is not there.

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "edi/transport/sftp_transport.h"

namespace keelson::testing {

struct SftpEnv {
  edi::SftpOptions options;  // pinned to the server's host key
  std::string root;          // the login folder (absolute; readable locally too)
  std::string host_key_pub;  // the server's public host key file
};

inline std::optional<SftpEnv> GetSftpEnv() {
  const char* host = std::getenv("KEELSON_TEST_SFTP_HOST");
  const char* port = std::getenv("KEELSON_TEST_SFTP_PORT");
  const char* user = std::getenv("KEELSON_TEST_SFTP_USER");
  const char* key = std::getenv("KEELSON_TEST_SFTP_KEY");
  const char* root = std::getenv("KEELSON_TEST_SFTP_ROOT");
  if (!host || !port || !user || !key || !root) return std::nullopt;
  SftpEnv env;
  env.root = root;
  const char* host_key = std::getenv("KEELSON_TEST_SFTP_HOST_KEY");
  env.host_key_pub = host_key != nullptr
                         ? std::string(host_key)
                         : (std::filesystem::path(key).parent_path() / "host_key.pub").string();
  env.options.host = host;
  env.options.port = std::atoi(port);
  env.options.user = user;
  env.options.key_file = key;
  auto fp = edi::PublicKeyFileFingerprint(env.host_key_pub);
  if (!fp.ok()) return std::nullopt;
  env.options.host_key_sha256 = *fp;
  env.options.timeout = absl::Seconds(10);
  env.options.label = "test-sftp";
  return env;
}

inline const char* SftpSkipReason() {
  return "no SFTP server: KEELSON_TEST_SFTP_* unset (run under scripts/test-services.sh, as "
         "make test does)";
}

}  // namespace keelson::testing
