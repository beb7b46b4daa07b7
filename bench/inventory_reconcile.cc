// inventory_reconcile: one full reconciliation of a large catalog. The target (issue 5,
// "Sellable inventory"): 100,000 SKUs reconciled (the shop scanned, every SKU compared with its
// computed ATS, the drifted ones corrected and reported) in < 60 s.
//
// The WooCommerce simulator in this process holds the catalog, a mix of what shops have:
//   --simple simple products                               S-000000 …
//   --variable variable products, 5 variations each that   V-00000-0 … (the parent V-00000
//     manage their own stock                                 does not manage stock: not scanned)
//   --parent variable products managing stock on the       P-00000 and P-00000-0 … P-00000-3
//     parent, 4 variations each ("parent": they show and     (all five show the parent's stock)
//     take the parent's stock)
// (defaults 85,000 + 2,000 x 5 + 1,000 x 5 = 100,000 stock-managed SKUs).
//
// 1. Load: the real keelson binary (SQLite, no ERP, channel `main` served by WH1,
//    reconciliation off) gets one stock event per SKU through POST /v1/inventory/events
//    (--threads keep-alive connections, closed loop) — the ledger is loaded the way a WMS would,
//    not pre-seeded — and publishes them; the bench waits until every level is published and
//    checks that the shop shows the ledger everywhere. A parent-managed product's SKUs all get
//    one value (they share one stock in the shop).
// 2. Drift behind Keelson's back (SetStockBySku, as an order or an admin would): --drift_simple
//    simple SKUs, --drift_variation self-managed variations, --drift_parent parent-managed
//    products (through one of their variations: the parent and its 4 variations drift together).
//    The expected drift is counted in the simulator: every SKU whose shop level differs from the
//    ledger.
// 3. keelson is restarted on the same database with inventory.reconcile_interval_s 86400: the
//    new schedule is due at once, the scheduler's first tick (1 s after start) queues the run.
//    The wall time runs from the run's started_at (its row) to the moment its report
//    (inventory_reconcile_runs, written in the job's outcome commit after the corrections) is
//    visible to a reader of the database; the time from the process start is printed too.
//    Afterwards the shop must show the ledger for every SKU again.
//
//   inventory_reconcile --keelson build/release/keelson [--simple 85000] [--variable 2000]
//       [--parent 1000] [--drift_simple 250] [--drift_variation 30] [--drift_parent 20]
//       [--threads 16] [--shop_latency_ms 0]
//
// --shop_latency_ms: the simulator answers each catalog request (list page, lookup, batch) this
// much later, as a real shop's PHP page time; it applies during the reconciliation only (the
// load phase runs at full speed).
// Prints the load and publication rates, scanned / drifted / corrected / unknown, the wall
// time, the shop's REST calls during the run, the hub's CPU, the load average and one
// `SUMMARY {json}` line. Exit 0 when it ran, whatever the figures; 1 on bad arguments; 2 when
// something could not start or did not finish in time.

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
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
namespace net = keelson::net;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct Flags {
  std::string keelson;
  int simple = 85000;
  int variable = 2000;
  int parent = 1000;
  int drift_simple = 250;
  int drift_variation = 30;
  int drift_parent = 20;
  int threads = 16;
  int shop_latency_ms = 0;
};

int Usage() {
  std::fprintf(stderr,
               "usage: inventory_reconcile --keelson PATH [--simple 85000] [--variable 2000] "
               "[--parent 1000] [--drift_simple 250] [--drift_variation 30] [--drift_parent 20] "
               "[--threads 16] [--shop_latency_ms 0]\n");
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
    int n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < 0) return false;
    if (name == "--simple") {
      f->simple = n;
    } else if (name == "--variable") {
      f->variable = n;
    } else if (name == "--parent") {
      f->parent = n;
    } else if (name == "--drift_simple") {
      f->drift_simple = n;
    } else if (name == "--drift_variation") {
      f->drift_variation = n;
    } else if (name == "--drift_parent") {
      f->drift_parent = n;
    } else if (name == "--threads") {
      f->threads = n;
    } else if (name == "--shop_latency_ms") {
      f->shop_latency_ms = n;
    } else {
      return false;
    }
  }
  return !f->keelson.empty() && f->threads > 0 && f->drift_simple <= f->simple &&
         f->drift_variation <= 5 * f->variable && f->drift_parent <= f->parent;
}

constexpr int kVariations = 5;        // per self-managed variable product
constexpr int kParentVariations = 4;  // per parent-managed product





// Writes `config` and starts a hub on it; files are named after `tag`.
std::optional<bench::Hub> StartTaggedHub(const std::string& keelson, const std::string& dir,
                                  const std::string& config, const std::string& tag) {
  const std::string cfg = absl::StrCat(dir, "/keelson-", tag, ".yaml");
  {
    std::ofstream f(cfg);
    f << config;
  }
  return bench::StartHub(keelson, cfg, absl::StrCat(dir, "/ready-", tag),
                  absl::StrCat(dir, "/keelson-", tag, ".log"));
}

struct RunRow {
  std::string run_id;
  int64_t started_ms = 0, finished_ms = 0, scanned = 0, drifted = 0, corrected = 0, unknown = 0;
};

std::optional<RunRow> LatestRun(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT run_id, started_at, COALESCE(finished_at, 0), scanned, drifted, "
                         "corrected, unknown FROM inventory_reconcile_runs "
                         "ORDER BY started_at DESC LIMIT 1",
                         -1, &st, nullptr) != SQLITE_OK) {
    return std::nullopt;
  }
  std::optional<RunRow> out;
  if (sqlite3_step(st) == SQLITE_ROW) {
    RunRow r;
    r.run_id = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    r.started_ms = sqlite3_column_int64(st, 1);
    r.finished_ms = sqlite3_column_int64(st, 2);
    r.scanned = sqlite3_column_int64(st, 3);
    r.drifted = sqlite3_column_int64(st, 4);
    r.corrected = sqlite3_column_int64(st, 5);
    r.unknown = sqlite3_column_int64(st, 6);
    out = r;
  }
  sqlite3_finalize(st);
  return out;
}

int64_t CountDriftRows(sqlite3* db, const std::string& run_id, bool corrected_only) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = absl::StrCat("SELECT COUNT(*) FROM inventory_drift WHERE run_id = ?",
                                       corrected_only ? " AND corrected != 0" : "");
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return -1;
  sqlite3_bind_text(st, 1, run_id.c_str(), -1, SQLITE_TRANSIENT);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return Usage();
  const std::string load_at_start = bench::LoadAverage();

  // The catalog and the ledger's truth (SKU -> on_hand).
  WooCommerceSim::Options wo;
  wo.http_threads = 2;
  WooCommerceSim woo(wo);
  if (!woo.Start().ok()) return 2;
  std::vector<std::pair<std::string, int64_t>> ledger;
  auto level = [](int64_t i) { return 1 + (i * 7919) % 500; };
  const absl::Time build_start = absl::Now();
  for (int i = 0; i < flags.simple; ++i) {
    const std::string sku = absl::StrFormat("S-%06d", i);
    if (!woo.AddProduct({.sku = sku}).ok()) return 2;
    ledger.emplace_back(sku, level(static_cast<int64_t>(ledger.size())));
  }
  for (int i = 0; i < flags.variable; ++i) {
    keelson::sim::WooProductSpec spec{.sku = absl::StrFormat("V-%05d", i),
                                      .type = "variable",
                                      .manage_stock = false};
    for (int k = 0; k < kVariations; ++k) {
      spec.variations.push_back({.sku = absl::StrFormat("V-%05d-%d", i, k)});
      ledger.emplace_back(spec.variations.back().sku,
                          level(static_cast<int64_t>(ledger.size())));
    }
    if (!woo.AddProduct(spec).ok()) return 2;
  }
  for (int i = 0; i < flags.parent; ++i) {
    keelson::sim::WooProductSpec spec{.sku = absl::StrFormat("P-%05d", i), .type = "variable"};
    const int64_t shared = level(static_cast<int64_t>(ledger.size()));
    ledger.emplace_back(spec.sku, shared);
    for (int k = 0; k < kParentVariations; ++k) {
      spec.variations.push_back(
          {.sku = absl::StrFormat("P-%05d-%d", i, k), .manage_stock = false});
      ledger.emplace_back(spec.variations.back().sku, shared);
    }
    if (!woo.AddProduct(spec).ok()) return 2;
  }
  const int64_t skus = static_cast<int64_t>(ledger.size());
  auto mismatches = [&](std::vector<std::string>* which) {
    int64_t n = 0;
    for (const auto& [sku, want] : ledger) {
      auto s = woo.StockBySku(sku);
      if (!s || s->stock_quantity != want) {
        ++n;
        if (which != nullptr) which->push_back(sku);
      }
    }
    return n;
  };
  std::printf(
      "inventory_reconcile: %lld stock-managed SKUs (%d simple, %d variable x %d variations, "
      "%d parent-managed x (1 + %d)), catalog built in %.1f s; load average %s\n",
      static_cast<long long>(skus), flags.simple, flags.variable, kVariations, flags.parent,
      kParentVariations, absl::ToDoubleSeconds(absl::Now() - build_start),
      load_at_start.c_str());
  std::fflush(stdout);

  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("kl-invrec-", getpid())).string();
  std::filesystem::create_directories(dir);
  const std::string db_path = dir + "/keelson.db";
  auto config = [&](int64_t reconcile_interval_s) {
    std::ostringstream f;
    f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: sqlite, path: \"" << db_path << "\"}\n"
      << "stores:\n" << woo.KeelsonStoreYaml()
      << "order_to_cash: {backfill_interval_s: 0}\n"
      << "inventory: {channels: [{store: main, locations: [WH1]}], reconcile_interval_s: "
      << reconcile_interval_s << "}\n"
      << "log: {level: warn}\n";
    return f.str();
  };

  // 1. Load the ledger through the API and let it publish.
  std::optional<bench::Hub> hub = StartTaggedHub(flags.keelson, dir, config(0), "load");
  if (!hub) return 2;
  std::unique_ptr<net::HttpClient> probe = net::NewCurlHttpClient();
  const absl::Time base_time = absl::Now();
  const absl::Time load_start = absl::Now();
  std::atomic<int64_t> next{0}, failed{0};
  {
    std::vector<std::thread> senders;
    for (int t = 0; t < flags.threads; ++t) {
      senders.emplace_back([&] {
        bench::Conn conn(hub->port);
        for (int64_t i = next.fetch_add(1); i < skus; i = next.fetch_add(1)) {
          const std::string body = absl::StrCat(
              R"({"event_id":"load-)", i, R"(","sku":")", ledger[i].first,
              R"(","location":"WH1","on_hand":)", ledger[i].second, R"(,"occurred_at":")",
              absl::FormatTime(absl::RFC3339_full, base_time, absl::UTCTimeZone()), R"("})");
          int status = 0;
          for (int attempt = 0; attempt < 5 && status != 200; ++attempt) {
            status = conn.Post("/v1/inventory/events", body);
          }
          if (status != 200) failed.fetch_add(1);
        }
      });
    }
    for (auto& t : senders) t.join();
  }
  const double load_s = absl::ToDoubleSeconds(absl::Now() - load_start);
  std::printf("load: %lld stock events in %.1f s = %.0f/s (%lld failed) from %d connections\n",
              static_cast<long long>(skus), load_s, skus / load_s,
              static_cast<long long>(failed.load()), flags.threads);
  std::fflush(stdout);
  const std::string published_key = "keelson_inventory_published_total{store=\"main\"}";
  const absl::Time publish_deadline = absl::Now() + absl::Minutes(10);
  double published = 0;
  while (absl::Now() < publish_deadline) {
    published = bench::Metrics(*probe, hub->port)[published_key];
    if (published >= static_cast<double>(skus)) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  const double publish_s = absl::ToDoubleSeconds(absl::Now() - load_start);
  const int64_t before = mismatches(nullptr);
  std::printf(
      "published: %.0f levels, all in %.1f s from the first event; SKUs whose shop level differs "
      "from the ledger: %lld\n",
      published, publish_s, static_cast<long long>(before));
  std::fflush(stdout);
  bench::StopHub(*hub);
  if (published < static_cast<double>(skus)) {
    std::fprintf(stderr, "publication did not finish within 10 minutes; see %s\n", dir.c_str());
    return 2;
  }

  // 2. Drift behind Keelson's back.
  auto drift = [&](const std::string& sku, int64_t want) {
    return woo.SetStockBySku(sku, want + 7).ok();
  };
  int drift_ops = 0;
  for (int k = 0; k < flags.drift_simple; ++k) {
    const int64_t i = static_cast<int64_t>(k) * flags.simple / std::max(1, flags.drift_simple);
    drift_ops += drift(ledger[i].first, ledger[i].second);
  }
  const int64_t var_base = flags.simple;
  for (int k = 0; k < flags.drift_variation; ++k) {
    const int64_t i = var_base + static_cast<int64_t>(k) * kVariations * flags.variable /
                                     std::max(1, flags.drift_variation);
    drift_ops += drift(ledger[i].first, ledger[i].second);
  }
  const int64_t parent_base = var_base + static_cast<int64_t>(kVariations) * flags.variable;
  for (int k = 0; k < flags.drift_parent; ++k) {
    const int64_t p = static_cast<int64_t>(k) * flags.parent / std::max(1, flags.drift_parent);
    const int64_t i = parent_base + p * (1 + kParentVariations) + 1 + k % kParentVariations;
    drift_ops += drift(ledger[i].first, ledger[i].second);
  }
  std::vector<std::string> drifted_skus;
  const int64_t expected_drift = mismatches(&drifted_skus);
  std::printf("drift: %d changes in the shop behind Keelson's back -> %lld SKUs differ\n",
              drift_ops, static_cast<long long>(expected_drift));
  std::fflush(stdout);

  // 3. Restart with the reconciliation due at once, and time it.
  woo.SetCatalogLatency(absl::Milliseconds(flags.shop_latency_ms));
  const keelson::sim::WooSimStats s0 = woo.stats();
  const absl::Time exec_at = absl::Now();
  hub = StartTaggedHub(flags.keelson, dir, config(86400), "reconcile");
  if (!hub) return 2;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "cannot open %s\n", db_path.c_str());
    bench::StopHub(*hub);
    return 2;
  }
  sqlite3_busy_timeout(db, 1000);
  std::optional<RunRow> run;
  absl::Time visible_at;
  const absl::Time run_deadline = absl::Now() + absl::Minutes(10);
  while (absl::Now() < run_deadline) {
    run = LatestRun(db);
    if (run) {
      visible_at = absl::Now();
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  const double hub_cpu = bench::ProcessCpuSeconds(hub->pid);
  const keelson::sim::WooSimStats s1 = woo.stats();
  const std::string load_at_end = bench::LoadAverage();
  if (!run) {
    std::fprintf(stderr, "no reconciliation run within 10 minutes; see %s\n", dir.c_str());
    sqlite3_close(db);
    bench::StopHub(*hub);
    return 2;
  }
  const int64_t drift_rows = CountDriftRows(db, run->run_id, false);
  const int64_t drift_rows_corrected = CountDriftRows(db, run->run_id, true);
  sqlite3_close(db);
  bench::StopHub(*hub);
  std::vector<std::string> still;
  const int64_t after = mismatches(&still);

  const absl::Time started = absl::FromUnixMillis(run->started_ms);
  const double wall_s = absl::ToDoubleSeconds(visible_at - started);
  const double scan_s = absl::ToDoubleSeconds(absl::FromUnixMillis(run->finished_ms) - started);
  const double from_exec_s = absl::ToDoubleSeconds(visible_at - exec_at);
  std::printf(
      "reconciliation %s: scanned %lld, drifted %lld (expected %lld), corrected %lld, unknown "
      "%lld; drift rows %lld (%lld corrected); shop latency %d ms per catalog request\n",
      run->run_id.c_str(), static_cast<long long>(run->scanned),
      static_cast<long long>(run->drifted), static_cast<long long>(expected_drift),
      static_cast<long long>(run->corrected), static_cast<long long>(run->unknown),
      static_cast<long long>(drift_rows), static_cast<long long>(drift_rows_corrected),
      flags.shop_latency_ms);
  std::printf(
      "wall time: %.2f s from the run's start to its report (scan and comparison %.2f s; "
      "%.2f s from the process start) (target < 60 s)\n",
      wall_s, scan_s, from_exec_s);
  std::printf(
      "shop during the run: %lld product/variation list calls, %lld batch calls, %lld items "
      "written; after the run %lld SKUs differ from the ledger%s%s\n",
      static_cast<long long>(s1.product_gets - s0.product_gets),
      static_cast<long long>(s1.batch_calls - s0.batch_calls),
      static_cast<long long>(s1.items_updated - s0.items_updated), static_cast<long long>(after),
      still.empty() ? "" : ", first ", still.empty() ? "" : still.front().c_str());
  std::printf("CPU: hub %.2f s over %.2f s (start included); load average at start %s, at end %s\n",
              hub_cpu, from_exec_s, load_at_start.c_str(), load_at_end.c_str());
  std::printf(
      "SUMMARY {\"bench\":\"inventory_reconcile\",\"skus\":%lld,\"load_per_s\":%.0f,"
      "\"publish_s\":%.1f,\"scanned\":%lld,\"drifted\":%lld,\"expected_drift\":%lld,"
      "\"corrected\":%lld,\"unknown\":%lld,\"wall_s\":%.2f,\"scan_s\":%.2f,\"from_exec_s\":%.2f,"
      "\"differ_after\":%lld,\"list_calls\":%lld,\"hub_cpu_s\":%.2f,\"shop_latency_ms\":%d}\n",
      static_cast<long long>(skus), skus / load_s, publish_s,
      static_cast<long long>(run->scanned), static_cast<long long>(run->drifted),
      static_cast<long long>(expected_drift), static_cast<long long>(run->corrected),
      static_cast<long long>(run->unknown), wall_s, scan_s, from_exec_s,
      static_cast<long long>(after), static_cast<long long>(s1.product_gets - s0.product_gets),
      hub_cpu, flags.shop_latency_ms);
  std::filesystem::remove_all(dir);
  return 0;
}
