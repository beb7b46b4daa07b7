#pragma once
// Runs the real keelson binary for integration tests: a fresh temp directory with its config,
// start on port 0 with --ready-file, wait until it listens, signal it, wait for it.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace keelson::testing {

// A fresh, empty directory under the test temp dir; removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout + stderr
};

// Runs `KEELSON_BINARY args...` to completion.
RunResult RunKeelson(const std::vector<std::string>& args);

class KeelsonProcess {
 public:
  // Starts `keelson serve --config config_path --ready-file <dir>/ready`, logging to
  // <dir>/keelson.<n>.log. Does not wait.
  KeelsonProcess(std::string config_path, std::string dir);
  ~KeelsonProcess();  // SIGKILLs the process if still running
  // Waits until the ready file names a port (or the process died / timeout). 0 on failure.
  uint16_t WaitReady(int timeout_ms = 20000);
  void Signal(int sig);
  // Waits for the process to exit; returns its exit code, or -signal if killed by a signal.
  int Wait();
  std::string Log() const;
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace keelson::testing
