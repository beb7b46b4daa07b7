// inventory_latency: how long a stock change takes to reach the shop. The target (issue 5,
// "Sellable inventory"): at 1,000 stock changes per second across 50,000 SKUs, p99 from the
// stock event to the level visible in WooCommerce <= 1 s.
//
// The real keelson binary (SQLite, no ERP, inventory channel `main` served by location WH1,
// reconciliation off) between this driver and the WooCommerce simulator, in this process,
// holding --skus simple products. The driver POSTs /v1/inventory/events open loop: event i is
// due at start + i / rate, for a random SKU, with on_hand = i (so a level seen in the shop names
// the event it came from) and occurred_at = start + i ms (strictly increasing in i at the
// millisecond the ledger keeps: finer steps would let two events of one SKU within a millisecond
// that arrive out of order both apply, the older last); --threads client threads on
// keep-alive connections take the next due event each. A --warmup_s stretch runs first and is
// not counted; then --duration_s is measured.
//
// Visibility without polling: the simulator's stock-write observer is called as each batch item
// (or PUT) is applied, with the SKU and the quantity the shop now shows. An event is delivered
// when its SKU shows its value or a newer event's (a newer value may supersede it before it is
// published: it is then delivered with the newer one), and its latency runs from the moment it
// was due (open loop: a late send counts against the hub, not for it) to that write. Events
// not delivered within --drain_s after the run are reported as such.
//
//   inventory_latency --keelson build/release/keelson [--skus 50000] [--rate 1000]
//       [--duration_s 60] [--warmup_s 10] [--threads 8] [--drain_s 30] [--poll_interval_ms N]
//       [--io_threads 2]
//
// --poll_interval_ms sets jobs.poll_interval_ms in the hub's config (default: not set, i.e.
// the product default). Prints the latency percentiles, events/s achieved, the shop's batch
// calls per second and items per batch, the answer time of the POSTs, the hub's CPU, the load
// average, and one `SUMMARY {json}` line. Exit 0 when it ran, whatever the figures; 1 on bad
// arguments; 2 when something could not start.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "net/http_client.h"
#include "sim/woocommerce.h"

namespace {

namespace bench = keelson::bench;
using keelson::sim::WooCommerceSim;
using keelson::sim::WooStock;
namespace net = keelson::net;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string keelson;
  int skus = 50000;
  double rate = 1000;
  double duration_s = 60;
  double warmup_s = 10;
  int threads = 8;
  double drain_s = 30;
  int poll_interval_ms = -1;
  int io_threads = 2;
};

int Usage() {
  std::fprintf(stderr,
               "usage: inventory_latency --keelson PATH [--skus 50000] [--rate 1000] "
               "[--duration_s 60] [--warmup_s 10] [--threads 8] [--drain_s 30] "
               "[--poll_interval_ms N] [--io_threads 2]\n");
  return 1;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (name == "--keelson") {
      f->keelson = v;
      continue;
    }
    double d = 0;
    if (!absl::SimpleAtod(v, &d)) return false;
    if (name == "--skus") {
      f->skus = static_cast<int>(d);
    } else if (name == "--rate") {
      f->rate = d;
    } else if (name == "--duration_s") {
      f->duration_s = d;
    } else if (name == "--warmup_s") {
      f->warmup_s = d;
    } else if (name == "--threads") {
      f->threads = static_cast<int>(d);
    } else if (name == "--drain_s") {
      f->drain_s = d;
    } else if (name == "--poll_interval_ms") {
      f->poll_interval_ms = static_cast<int>(d);
    } else if (name == "--io_threads") {
      f->io_threads = static_cast<int>(d);
    } else {
      return false;
    }
  }
  return !f->keelson.empty() && f->skus > 0 && f->rate > 0 && f->duration_s > 0 &&
         f->warmup_s >= 0 && f->threads > 0 && f->drain_s >= 0 && f->io_threads > 0;
}

std::string Sku(int i) { return absl::StrFormat("INV-%06d", i); }






// What the driver knows about one SKU: the events sent for it and not yet seen in the shop.
struct Pending {
  int64_t seq;
  Clock::time_point due;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return Usage();
  const std::string load_at_start = bench::LoadAverage();

  WooCommerceSim::Options wo;
  wo.http_threads = 2;
  WooCommerceSim woo(wo);
  if (!woo.Start().ok()) return 2;
  for (int i = 0; i < flags.skus; ++i) {
    if (!woo.AddProduct({.sku = Sku(i), .stock_quantity = 0}).ok()) return 2;
  }

  // Per SKU: events in flight, by seq (under mu). The measured events' latencies, ms.
  std::mutex mu;
  std::vector<std::vector<Pending>> pending(flags.skus);
  std::vector<double> latency_ms;
  int64_t delivered = 0, superseded = 0, writes_seen = 0;
  int64_t first_measured = -1, last_measured = -1;  // seq range of the measured events
  std::atomic<int64_t> measure_from{INT64_MAX};     // seq of the first measured event
  woo.SetStockWriteObserver([&](std::string_view sku, const WooStock& stock) {
    const Clock::time_point now = Clock::now();
    int idx = 0;
    if (sku.size() <= 4 || !absl::SimpleAtoi(std::string(sku.substr(4)), &idx) || idx < 0 ||
        idx >= flags.skus || !stock.stock_quantity) {
      return;
    }
    const int64_t shown = *stock.stock_quantity;
    std::lock_guard<std::mutex> l(mu);
    ++writes_seen;
    std::vector<Pending>& p = pending[idx];
    size_t done = 0;
    while (done < p.size() && p[done].seq <= shown) ++done;
    for (size_t k = 0; k < done; ++k) {
      if (p[k].seq < measure_from.load(std::memory_order_relaxed)) continue;
      latency_ms.push_back(std::chrono::duration<double, std::milli>(now - p[k].due).count());
      ++delivered;
      if (p[k].seq != shown) ++superseded;
    }
    p.erase(p.begin(), p.begin() + static_cast<ptrdiff_t>(done));
  });

  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("kl-invlat-", getpid())).string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/keelson.yaml");
    f << "server: {listen: \"127.0.0.1:0\", io_threads: " << flags.io_threads << "}\n"
      << "storage: {engine: sqlite, path: \"" << dir << "/keelson.db\"}\n"
      << "stores:\n" << woo.KeelsonStoreYaml()
      << "order_to_cash: {backfill_interval_s: 0}\n"
      << "inventory: {channels: [{store: main, locations: [WH1]}], reconcile_interval_s: 0}\n";
    if (flags.poll_interval_ms > 0) {
      f << "jobs: {poll_interval_ms: " << flags.poll_interval_ms << "}\n";
    }
    f << "log: {level: error}\n";
  }
  const std::optional<bench::Hub> hub =
      bench::StartHub(flags.keelson, dir + "/keelson.yaml", dir + "/ready", dir + "/keelson.log");
  if (!hub) return 2;
  const pid_t pid = hub->pid;
  const int port = hub->port;
  std::printf(
      "inventory_latency: %d SKUs in the shop, %.0f stock events/s from %d threads, warm-up "
      "%.0f s, measured %.0f s; load average at start %s\n",
      flags.skus, flags.rate, flags.threads, flags.warmup_s, flags.duration_s,
      load_at_start.c_str());
  std::fflush(stdout);

  // The feed. Event i is due at start + i / rate; the warm-up's events come first.
  const int64_t warmup_events = static_cast<int64_t>(flags.warmup_s * flags.rate);
  const int64_t total_events =
      warmup_events + static_cast<int64_t>(flags.duration_s * flags.rate);
  measure_from.store(warmup_events + 1);
  first_measured = warmup_events + 1;
  last_measured = total_events;
  std::atomic<int64_t> next{1};
  std::atomic<int64_t> non200{0}, transport_errors{0};
  std::vector<std::vector<double>> post_ms(flags.threads), lag_ms(flags.threads);
  const absl::Time base_time = absl::Now();
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_start =
      start + std::chrono::microseconds(static_cast<int64_t>(flags.warmup_s * 1e6));
  std::vector<std::thread> senders;
  for (int t = 0; t < flags.threads; ++t) {
    senders.emplace_back([&, t] {
      bench::Conn conn(port);
      std::mt19937_64 rng(1000 + t);
      std::uniform_int_distribution<int> pick(0, flags.skus - 1);
      while (true) {
        const int64_t i = next.fetch_add(1);
        if (i > total_events) break;
        const Clock::time_point due =
            start + std::chrono::microseconds(static_cast<int64_t>((i - 1) * 1e6 / flags.rate));
        std::this_thread::sleep_until(due);
        const int sku = pick(rng);
        const std::string body = absl::StrCat(
            R"({"event_id":"lat-)", i, R"(","sku":")", Sku(sku),
            R"(","location":"WH1","on_hand":)", i, R"(,"occurred_at":")",
            absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", base_time + absl::Milliseconds(i),
                             absl::UTCTimeZone()),
            R"("})");
        {
          std::lock_guard<std::mutex> l(mu);
          std::vector<Pending>& p = pending[sku];
          auto at = std::upper_bound(p.begin(), p.end(), i,
                                     [](int64_t s, const Pending& e) { return s < e.seq; });
          p.insert(at, {i, due});
        }
        const Clock::time_point sent = Clock::now();
        const int status = conn.Post("/v1/inventory/events", body);
        const Clock::time_point answered = Clock::now();
        if (i >= first_measured) {
          post_ms[t].push_back(std::chrono::duration<double, std::milli>(answered - sent).count());
          lag_ms[t].push_back(std::chrono::duration<double, std::milli>(sent - due).count());
          if (status == 0) {
            transport_errors.fetch_add(1);
          } else if (status != 200) {
            non200.fetch_add(1);
          }
        }
      }
    });
  }

  // Counters at the start and end of the measured window.
  std::unique_ptr<net::HttpClient> probe = net::NewCurlHttpClient();
  std::this_thread::sleep_until(measure_start);
  const keelson::sim::WooSimStats s0 = woo.stats();
  const double hub0 = bench::ProcessCpuSeconds(pid), self0 = bench::SelfCpuSeconds();
  const Clock::time_point window_start = Clock::now();
  for (auto& t : senders) t.join();
  const Clock::time_point window_end = Clock::now();
  const keelson::sim::WooSimStats s1 = woo.stats();
  const double hub1 = bench::ProcessCpuSeconds(pid), self1 = bench::SelfCpuSeconds();
  const std::string load_at_end = bench::LoadAverage();
  const double window_s = std::chrono::duration<double>(window_end - window_start).count();

  // Drain: wait for the measured events still in flight.
  const Clock::time_point drain_until =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(flags.drain_s * 1e6));
  int64_t outstanding = 0;
  while (true) {
    {
      std::lock_guard<std::mutex> l(mu);
      outstanding = 0;
      for (const auto& p : pending) {
        for (const Pending& e : p) outstanding += e.seq >= first_measured;
      }
    }
    if (outstanding == 0 || Clock::now() >= drain_until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto m = bench::Metrics(*probe, port);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  woo.SetStockWriteObserver(nullptr);

  std::vector<double> posts, lags;
  for (int t = 0; t < flags.threads; ++t) {
    posts.insert(posts.end(), post_ms[t].begin(), post_ms[t].end());
    lags.insert(lags.end(), lag_ms[t].begin(), lag_ms[t].end());
  }
  std::lock_guard<std::mutex> l(mu);
  const int64_t measured = last_measured - first_measured + 1;
  const double p50 = bench::Percentile(latency_ms, 50), p90 = bench::Percentile(latency_ms, 90),
               p99 = bench::Percentile(latency_ms, 99), p999 = bench::Percentile(latency_ms, 99.9);
  const double max =
      latency_ms.empty() ? 0 : *std::max_element(latency_ms.begin(), latency_ms.end());
  const double batches = static_cast<double>(s1.batch_calls - s0.batch_calls);
  const double items = static_cast<double>(s1.items_updated - s0.items_updated);
  const double lookups = static_cast<double>(s1.sku_lookups - s0.sku_lookups);
  const double hub_cores = (hub1 - hub0) / window_s;
  const double self_cores = (self1 - self0) / window_s;
  const double lag_p99 = bench::Percentile(lags, 99);
  const double lag_max = lags.empty() ? 0 : *std::max_element(lags.begin(), lags.end());
  const double post_p50 = bench::Percentile(posts, 50), post_p99 = bench::Percentile(posts, 99);
  std::printf(
      "events: %lld measured, sent at %.1f/s (schedule lag p99 %.1f ms, max %.1f ms); POST "
      "answered p50 %.2f ms, p99 %.2f ms; %lld not 200, %lld transport errors\n",
      static_cast<long long>(measured), measured / window_s, lag_p99, lag_max, post_p50, post_p99,
      static_cast<long long>(non200.load()), static_cast<long long>(transport_errors.load()));
  std::printf(
      "event -> visible in the shop: %lld delivered (%lld by a newer value), %lld not within "
      "%.0f s; p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, p99.9 %.0f ms, max %.0f ms "
      "(target p99 <= 1000 ms)\n",
      static_cast<long long>(delivered), static_cast<long long>(superseded),
      static_cast<long long>(outstanding), flags.drain_s, p50, p90, p99, p999, max);
  std::printf(
      "shop: %.1f batch calls/s, %.1f items per batch, %.1f items/s, %.1f SKU lookups/s; "
      "hub published %.0f levels in all\n",
      batches / window_s, batches > 0 ? items / batches : 0, items / window_s, lookups / window_s,
      m["keelson_inventory_published_total{store=\"main\"}"]);
  std::printf(
      "CPU over the window: hub %.2f cores (%.0f us per event), simulator + driver %.2f cores; "
      "load average at start %s, at end %s\n",
      hub_cores, 1e6 * (hub1 - hub0) / std::max<int64_t>(1, measured), self_cores,
      load_at_start.c_str(), load_at_end.c_str());
  std::printf(
      "SUMMARY {\"bench\":\"inventory_latency\",\"skus\":%d,\"rate\":%.0f,\"measured\":%lld,"
      "\"events_per_s\":%.1f,\"delivered\":%lld,\"superseded\":%lld,\"outstanding\":%lld,"
      "\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"p999_ms\":%.1f,\"max_ms\":%.1f,"
      "\"post_p99_ms\":%.2f,\"batches_per_s\":%.2f,\"items_per_batch\":%.1f,"
      "\"hub_cores\":%.2f,\"sims_cores\":%.2f,\"non200\":%lld,\"errors\":%lld,"
      "\"poll_interval_ms\":%d}\n",
      flags.skus, flags.rate, static_cast<long long>(measured), measured / window_s,
      static_cast<long long>(delivered), static_cast<long long>(superseded),
      static_cast<long long>(outstanding), p50, p90, p99, p999, max, post_p99,
      batches / window_s, batches > 0 ? items / batches : 0, hub_cores, self_cores,
      static_cast<long long>(non200.load()), static_cast<long long>(transport_errors.load()),
      flags.poll_interval_ms);
  std::filesystem::remove_all(dir);
  return 0;
}
