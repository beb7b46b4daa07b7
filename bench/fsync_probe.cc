// fsync_probe: how long this machine's disk takes to make an intake-journal write durable, alone
// and beside a store writing in the background. It is the floor under the intake bench's latency:
// a webhook is answered only after the journal batch holding it is fdatasync'd, and a webhook
// arriving while a batch is being synced waits for that batch and then for its own.
//
//   fsync_probe [--dir DIR=/tmp] [--seconds S=8] [--append-bytes N=114688]
//               [--background-mbps M=0] [--checkpoint-ms T=50] [--reuse 0|1=1]
//
// The appender does what IntakeJournal::Append does for one batch, back to back: one pwrite of
// N bytes (114,688 B = 20 deliveries of the bench's 5.6 KiB), then fdatasync. With --reuse 1
// (the journal's steady state: a reused segment) it writes over a 256 MiB file written once
// beforehand, wrapping around; with --reuse 0 (a new segment) it appends to an empty file, so
// each fdatasync also commits the file's growth to the filesystem's journal. With M > 0 a second thread writes like the SQLite store under the intake bench:
// 4 KiB pages appended to a second file at M MB/s (the mover's WAL frames), sync_file_range(WRITE)
// after each MiB (Keelson starts WAL writeback at each buffered commit), and an fdatasync every
// T ms (the checkpointer's). Both files are removed at the end.
//
// Prints the fdatasync latency percentiles of the appender and one SUMMARY JSON line.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir = "/tmp";
  double seconds = 8;
  size_t append_bytes = 114688;
  double background_mbps = 0;
  int checkpoint_ms = 50;
  bool reuse = true;
};

bool Parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    char* end = nullptr;
    if (k == "--dir") {
      o.dir = v;
      continue;
    }
    const double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || d < 0) return false;
    if (k == "--seconds" && d > 0) {
      o.seconds = d;
    } else if (k == "--append-bytes" && d >= 1) {
      o.append_bytes = static_cast<size_t>(d);
    } else if (k == "--background-mbps") {
      o.background_mbps = d;
    } else if (k == "--checkpoint-ms" && d >= 1) {
      o.checkpoint_ms = static_cast<int>(d);
    } else if (k == "--reuse" && (d == 0 || d == 1)) {
      o.reuse = d == 1;
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

bool WriteAll(int fd, const char* p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return true;
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: fsync_probe [--dir DIR=/tmp] [--seconds S=8] [--append-bytes N=114688]\n"
                 "                   [--background-mbps M=0] [--checkpoint-ms T=50] "
                 "[--reuse 0|1=1]\n");
    return 2;
  }
  const std::string journal = o.dir + "/fsync_probe." + std::to_string(::getpid()) + ".journal";
  const std::string store = o.dir + "/fsync_probe." + std::to_string(::getpid()) + ".store";
  const int jfd = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int sfd = ::open(store.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (jfd < 0 || sfd < 0) {
    std::fprintf(stderr, "fsync_probe: cannot create files in %s: %s\n", o.dir.c_str(),
                 std::strerror(errno));
    return 1;
  }

  constexpr off_t kReusedFile = off_t{256} << 20;
  if (o.reuse) {
    std::vector<char> zeros(1 << 20, '\0');
    for (off_t at = 0; at < kReusedFile; at += static_cast<off_t>(zeros.size())) {
      if (!WriteAll(jfd, zeros.data(), zeros.size(), at)) {
        std::fprintf(stderr, "fsync_probe: cannot write %s: %s\n", journal.c_str(),
                     std::strerror(errno));
        return 1;
      }
    }
    ::fdatasync(jfd);
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> background_bytes{0};
  std::thread background;
  if (o.background_mbps > 0) {
    background = std::thread([&] {
      std::vector<char> page(4096, 'w');
      const double bytes_per_s = o.background_mbps * 1e6;
      const auto t0 = Clock::now();
      auto last_sync = t0;
      int64_t written = 0, since_range = 0;
      while (!stop.load()) {
        const double due = std::chrono::duration<double>(Clock::now() - t0).count() * bytes_per_s;
        if (static_cast<double>(written) >= due) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
        if (!WriteAll(sfd, page.data(), page.size(), static_cast<off_t>(written))) break;
        written += static_cast<int64_t>(page.size());
        since_range += static_cast<int64_t>(page.size());
        if (since_range >= (1 << 20)) {
          ::sync_file_range(sfd, 0, 0, SYNC_FILE_RANGE_WRITE);
          since_range = 0;
        }
        if (Clock::now() - last_sync >= std::chrono::milliseconds(o.checkpoint_ms)) {
          ::fdatasync(sfd);
          last_sync = Clock::now();
        }
      }
      background_bytes.store(written);
    });
  }

  std::vector<char> batch(o.append_bytes, 'j');
  std::vector<double> ms;
  off_t at = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.seconds));
  bool failed = false;
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    if (!WriteAll(jfd, batch.data(), batch.size(), at) || ::fdatasync(jfd) != 0) {
      failed = true;
      break;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    at += static_cast<off_t>(batch.size());
    if (o.reuse && at + static_cast<off_t>(batch.size()) > kReusedFile) at = 0;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  stop.store(true);
  if (background.joinable()) background.join();
  ::close(jfd);
  ::close(sfd);
  ::unlink(journal.c_str());
  ::unlink(store.c_str());
  if (failed) {
    std::fprintf(stderr, "fsync_probe: write or fdatasync failed: %s\n", std::strerror(errno));
    return 1;
  }

  const size_t n = ms.size();
  const double p50 = Pct(ms, 0.50), p90 = Pct(ms, 0.90), p99 = Pct(ms, 0.99),
               p999 = Pct(ms, 0.999), max = n ? *std::max_element(ms.begin(), ms.end()) : 0;
  const double bg_mbps = static_cast<double>(background_bytes.load()) / 1e6 / elapsed;
  std::printf("fsync_probe: %zu journal writes of %zu B + fdatasync in %.1f s (%.0f/s), %s; "
              "background %.1f MB/s\n",
              n, o.append_bytes, elapsed, static_cast<double>(n) / elapsed,
              o.reuse ? "over a reused file" : "appending", bg_mbps);
  std::printf("fdatasync latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", p50,
              p90, p99, p999, max);
  std::printf(
      "SUMMARY {\"bench\":\"fsync_probe\",\"reuse\":%d,\"append_bytes\":%zu,"
      "\"background_mbps\":%.1f,"
      "\"writes\":%zu,\"writes_per_s\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
      o.reuse ? 1 : 0, o.append_bytes, bg_mbps, n, static_cast<double>(n) / elapsed, p50, p90, p99, p999, max);
  return 0;
}
