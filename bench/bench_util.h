#pragma once
// What the benchmark drivers share: starting and stopping a real `keelson serve`, reading its
// /metrics and its CPU time, percentiles, and a keep-alive HTTP connection to it. Header-only:
// each bench/*.cc is its own executable (see CMakeLists.txt).

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "net/http_client.h"

namespace keelson::bench {

// A running `keelson serve`.
struct Hub {
  pid_t pid = 0;
  int port = 0;
};

// Starts `keelson serve --config config --ready-file ready` with its output in `log`, and waits
// up to 20 s for the port it writes to `ready`. On failure says so (naming the log), kills it
// and returns nullopt.
inline std::optional<Hub> StartHub(const std::string& keelson, const std::string& config,
                                   const std::string& ready, const std::string& log) {
  Hub hub;
  hub.pid = fork();
  if (hub.pid == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    execl(keelson.c_str(), keelson.c_str(), "serve", "--config", config.c_str(), "--ready-file",
          ready.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 400 && hub.port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream(ready) >> hub.port;
  }
  if (hub.port == 0) {
    std::fprintf(stderr, "keelson did not start; see %s\n", log.c_str());
    kill(hub.pid, SIGKILL);
    waitpid(hub.pid, nullptr, 0);
    return std::nullopt;
  }
  return hub;
}

// SIGTERM, then waits for it to exit.
inline void StopHub(const Hub& hub) {
  kill(hub.pid, SIGTERM);
  waitpid(hub.pid, nullptr, 0);
}

// The p-th percentile (0..100) of `v`, nearest rank.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// `name{labels}` -> value, from the hub's /metrics.
inline std::map<std::string, double> Metrics(net::HttpClient& http, int port) {
  std::map<std::string, double> out;
  net::OutboundRequest req;
  req.url = absl::StrCat("http://127.0.0.1:", port, "/metrics");
  req.timeout = absl::Seconds(10);
  auto r = http.Send(req);
  if (!r.ok() || r->status != 200) return out;
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    double v = 0;
    if (sp != std::string::npos && absl::SimpleAtod(line.substr(sp + 1), &v)) {
      out[line.substr(0, sp)] = v;
    }
  }
  return out;
}

// utime + stime of a process, seconds.
inline double ProcessCpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  size_t close = all.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(all.substr(close + 2));
  std::string field;
  double s = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14 || i == 15) s += std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return s;
}

// utime + stime of this process, seconds.
inline double SelfCpuSeconds() {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  return static_cast<double>(self.ru_utime.tv_sec) + self.ru_utime.tv_usec / 1e6 +
         static_cast<double>(self.ru_stime.tv_sec) + self.ru_stime.tv_usec / 1e6;
}

// The 1, 5 and 15 minute load averages, as /proc/loadavg shows them.
inline std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return absl::StrCat(a, " ", b, " ", c);
}

// One keep-alive HTTP/1.1 connection to the hub.
class Conn {
 public:
  explicit Conn(int port) : port_(port) {}
  // The answer's status, or 0 after a transport error (the connection is then reopened next
  // time).
  int Post(const std::string& target, const std::string& body) {
    namespace http = boost::beast::http;
    try {
      if (!open_) {
        stream_.connect(boost::asio::ip::tcp::endpoint(
            boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)));
        open_ = true;
      }
      http::request<http::string_body> req{http::verb::post, target, 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::content_type, "application/json");
      req.keep_alive(true);
      req.body() = body;
      req.prepare_payload();
      http::write(stream_, req);
      http::response<http::string_body> res;
      http::read(stream_, buffer_, res);
      if (!res.keep_alive()) Close();
      return res.result_int();
    } catch (const std::exception&) {
      Close();
      return 0;
    }
  }

 private:
  void Close() {
    boost::beast::error_code ec;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    stream_.close();
    buffer_.clear();
    open_ = false;
  }
  int port_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_{ioc_};
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
};

}  // namespace keelson::bench
