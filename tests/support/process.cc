#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "tests/support/http_client.h"

namespace keelson::testing {
namespace {
std::atomic<int> counter{0};

pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    // Unblock everything the test runner may have blocked, so SIGTERM works in the child.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    std::vector<char*> argv;
    std::string bin = KEELSON_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int WaitPid(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}
}  // namespace

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path().string() + "/keelson-test-XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  char* p = mkdtemp(buf.data());
  path_ = p ? p : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty() && !getenv("KEELSON_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
}

RunResult RunKeelson(const std::vector<std::string>& args) {
  TempDir dir;
  std::string log = dir.File("out.txt");
  pid_t pid = Spawn(args, log);
  RunResult r;
  r.exit_code = WaitPid(pid);
  r.output = ReadFile(log);
  return r;
}

KeelsonProcess::KeelsonProcess(std::string config_path, std::string dir) : dir_(std::move(dir)) {
  log_path_ = dir_ + "/keelson." + std::to_string(counter++) + ".log";
  std::filesystem::remove(dir_ + "/ready");
  pid_ = Spawn({"serve", "--config", config_path, "--ready-file", dir_ + "/ready"}, log_path_);
}

KeelsonProcess::~KeelsonProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    WaitPid(pid_);
  }
}

uint16_t KeelsonProcess::WaitReady(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string s = ReadFile(dir_ + "/ready");
    if (!s.empty()) return static_cast<uint16_t>(std::atoi(s.c_str()));
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

void KeelsonProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int KeelsonProcess::Wait() {
  if (pid_ <= 0) return -1;
  int code = WaitPid(pid_);
  pid_ = -1;
  return code;
}

std::string KeelsonProcess::Log() const { return ReadFile(log_path_); }

}  // namespace keelson::testing
