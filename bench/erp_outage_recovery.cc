// erp_outage_recovery: what Keelson does with an ERP outage. The target (issue 4): after a
// 10-minute ERP outage with orders arriving at 20/s, the backlog drains at the ERP's full
// allowed rate (>= 95 %) with < 0.5 % of requests answered 429 and no duplicates; webhook intake
// stays < 10 ms p99 while the ERP is down.
//
// The real keelson binary between the WooCommerce simulator and the Business Central simulator,
// both in this process. Orders arrive at --rate per second for the whole run: each is created
// silently in the shop and its signed order.created webhook is POSTed to the hub by this
// driver, which times every answer (the intake latency). The BC simulator throttles like BC
// online (a sliding window of requests, 5 at once, 429 without Retry-After) with the window
// scaled so the allowed rate is --allowed_rps; it is up for --pre_s seconds, down for
// --outage_s (503 with Retry-After: 1, as a maintenance front end answers), then up again.
// The hub's ERP pacing (erp.limits.requests_per_second) is set to the allowed rate; the job
// settings are the production defaults.
//
// Why 100 req/s allowed by default: each order costs the ERP about 2 requests (customer lookup by
// email, the sales order deep insert; a new customer adds one), so 20 orders/s need ~40 req/s
// and the backlog of a T-second outage (~40 T requests) drains with the remaining ~60 req/s in
// about 0.7 T. BC online's own limit (6,000 per 5 minutes = 20 req/s per user) could not even
// carry 20 orders/s; the window here is 6,000 per 60 s, i.e. BC's count over a 5x shorter window.
//
// Measured from the end of the outage until the backlog has drained (the orders not yet in the
// ERP are back to at most 2 s of arrivals): ERP requests admitted per second against the allowed
// rate, both while more than 10 s of orders were still waiting (the ERP sets the pace there: the
// figure for the target) and over the whole drain (its tail is paced by arrivals); the share of
// requests answered 429; duplicates (sales orders per reference); the dead letters by reason
// (from the hub's /metrics); and a 10-second timeline of admitted requests.
//
//   erp_outage_recovery --keelson build/release/keelson [--outage_s 600] [--rate 20]
//       [--allowed_rps 100] [--window_s 60] [--pre_s 20] [--max_drain_s N] [--latency_ms 20]
//       [--erp_rps R] [--resilience 0|1] [--workers 8]
//
// --max_drain_s bounds the wait after the outage (default 2 x outage + 120 s). --resilience 0
// leaves the issue-4 keys (erp.limits.breaker, jobs.lanes) out of the hub's config, so the
// defaults apply (the breaker is on by default too). Exit status 0 when it ran, whatever the figures; 1 on bad arguments;
// 2 when something could not start.

#include <signal.h>
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
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "net/http_client.h"
#include "net/signature.h"
#include "sim/business_central.h"
#include "sim/woocommerce.h"

namespace {

namespace bench = keelson::bench;
using keelson::sim::BusinessCentralSim;
using keelson::sim::WooCommerceSim;
namespace net = keelson::net;

struct Flags {
  std::string keelson;
  double outage_s = 600;
  double rate = 20;
  double allowed_rps = 100;
  double window_s = 60;
  double pre_s = 20;
  double max_drain_s = -1;
  double latency_ms = 20;
  double erp_rps = -1;
  bool resilience = true;
  int workers = 8;
};

int Usage() {
  std::fprintf(stderr,
               "usage: erp_outage_recovery --keelson PATH [--outage_s 600] [--rate 20] "
               "[--allowed_rps 100] [--window_s 60] [--pre_s 20] [--max_drain_s N] "
               "[--latency_ms 20] [--erp_rps R] [--resilience 0|1] [--workers 8]\n");
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
    if (name == "--outage_s") {
      f->outage_s = d;
    } else if (name == "--rate") {
      f->rate = d;
    } else if (name == "--allowed_rps") {
      f->allowed_rps = d;
    } else if (name == "--window_s") {
      f->window_s = d;
    } else if (name == "--pre_s") {
      f->pre_s = d;
    } else if (name == "--max_drain_s") {
      f->max_drain_s = d;
    } else if (name == "--latency_ms") {
      f->latency_ms = d;
    } else if (name == "--erp_rps") {
      f->erp_rps = d;
    } else if (name == "--resilience") {
      f->resilience = d != 0;
    } else if (name == "--workers") {
      f->workers = static_cast<int>(d);
    } else {
      return false;
    }
  }
  if (f->max_drain_s < 0) f->max_drain_s = 2 * f->outage_s + 120;
  if (f->erp_rps < 0) f->erp_rps = f->allowed_rps;
  return !f->keelson.empty() && f->outage_s >= 0 && f->rate > 0 && f->allowed_rps > 0 &&
         f->window_s > 0 && f->pre_s >= 0 && f->workers > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return Usage();
  const int64_t per_window = static_cast<int64_t>(flags.allowed_rps * flags.window_s);
  const double allowed = per_window / flags.window_s;

  BusinessCentralSim::Options bo;
  bo.requests_per_window = per_window;
  bo.window = absl::Seconds(flags.window_s);
  bo.max_concurrent = 5;
  bo.latency = absl::Milliseconds(flags.latency_ms);
  BusinessCentralSim bc(bo);
  if (!bc.Start().ok()) return 2;
  bc.AddItem("WID-BLUE", "Widget, blue", {1999, "EUR"});
  WooCommerceSim::Options wo;
  wo.http_threads = 2;
  WooCommerceSim woo(wo);
  if (!woo.Start().ok()) return 2;

  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("kl-outage-", getpid())).string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/keelson.yaml");
    f << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: sqlite, path: \"" << dir << "/keelson.db\"}\n"
      << "stores:\n" << woo.KeelsonStoreYaml()
      << bc.KeelsonErpYaml()
      << "  limits: {requests_per_second: " << flags.erp_rps << ", concurrency: 5"
      << (flags.resilience
              ? ", breaker: {consecutive_failures: 5, open_ms: 1000, max_open_ms: 5000}"
              : "")
      << "}\n"
      << "order_to_cash: {backfill_interval_s: 0}\n"
      << "jobs: {workers: " << flags.workers
      << (flags.resilience ? ", lanes: {erp: 4, woocommerce: 2, core: 4}" : "") << "}\n"
      << "log: {level: error}\n";
  }
  const std::optional<bench::Hub> hub =
      bench::StartHub(flags.keelson, dir + "/keelson.yaml", dir + "/ready", dir + "/keelson.log");
  if (!hub) return 2;
  const pid_t pid = hub->pid;
  const int port = hub->port;
  const std::string intake =
      absl::StrCat("http://127.0.0.1:", port, "/v1/webhooks/woocommerce/main");
  // The write-backs' own order.updated webhooks go to the hub too, as in production.
  woo.SetWebhookTarget(intake);

  std::printf(
      "erp_outage_recovery: orders %.0f/s; ERP allowed %lld requests / %.0f s = %.1f req/s, 5 "
      "at once, %.0f ms latency; hub paces at %.1f req/s; up %.0f s, down %.0f s, then until "
      "drained (at most %.0f s)%s\n",
      flags.rate, static_cast<long long>(per_window), flags.window_s, allowed, flags.latency_ms,
      flags.erp_rps, flags.pre_s, flags.outage_s, flags.max_drain_s,
      flags.resilience ? "; issue-4 keys on" : "");
  std::fflush(stdout);

  // The feed: order i is due at start + i / rate; two threads so one slow answer does not hold
  // the schedule back. Every answer is timed, tagged with the phase it was sent in.
  enum Phase { kBefore = 0, kDown = 1, kAfter = 2 };
  std::atomic<int> phase{kBefore};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::vector<int64_t> ids;              // shop order ids, in creation order (under mu)
  std::vector<double> latency_ms[3];     // by phase (under mu)
  int64_t intake_errors[3] = {0, 0, 0};  // non-200 or transport errors (under mu)
  const absl::Time start = absl::Now();
  std::vector<std::thread> feeders;
  for (int t = 0; t < 2; ++t) {
    feeders.emplace_back([&] {
      std::unique_ptr<net::HttpClient> http = net::NewCurlHttpClient();
      WooCommerceSim::OrderSpec spec;
      spec.lines = {{.sku = "WID-BLUE", .quantity = 2, .price = "19.99"}};
      while (!stop.load()) {
        const int64_t i = next.fetch_add(1);
        const absl::Time due = start + absl::Seconds(i / flags.rate);
        while (absl::Now() < due && !stop.load()) {
          absl::SleepFor(std::min(absl::Milliseconds(50), due - absl::Now()));
        }
        if (stop.load()) break;
        spec.email = absl::StrCat("buyer", i % 500, "@example.com");
        absl::StatusOr<int64_t> id = woo.CreateOrderSilently(spec);
        if (!id.ok()) continue;
        const std::string body = woo.OrderBody(*id);
        net::OutboundRequest req;
        req.method = "POST";
        req.url = intake;
        req.body = body;
        req.timeout = absl::Seconds(30);
        req.headers = {{"Content-Type", "application/json"},
                       {"User-Agent", wo.user_agent},
                       {"X-WC-Webhook-Source", woo.url() + "/"},
                       {"X-WC-Webhook-Topic", "order.created"},
                       {"X-WC-Webhook-Resource", "order"},
                       {"X-WC-Webhook-Event", "created"},
                       {"X-WC-Webhook-Signature", net::HmacSha256Base64(wo.webhook_secret, body)},
                       {"X-WC-Webhook-ID", "1"},
                       {"X-WC-Webhook-Delivery-ID", absl::StrCat("bench-", i)}};
        const int p = phase.load();
        const absl::Time sent = absl::Now();
        absl::StatusOr<net::OutboundResponse> r = http->Send(req);
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - sent);
        std::lock_guard<std::mutex> l(mu);
        ids.push_back(*id);
        latency_ms[p].push_back(ms);
        if (!r.ok() || r->status != 200) ++intake_errors[p];
      }
    });
  }

  std::unique_ptr<net::HttpClient> probe = net::NewCurlHttpClient();
  auto in_erp_count = [&](std::vector<int64_t>* fed) {
    std::vector<int64_t> copy;
    {
      std::lock_guard<std::mutex> l(mu);
      copy = ids;
    }
    std::map<std::string, int> refs;
    for (auto& [ref, number] : bc.SalesOrderReferences()) ++refs[ref];
    int64_t in = 0;
    for (int64_t id : copy) in += refs.count(absl::StrCat("MAIN:", id)) > 0;
    if (fed != nullptr) *fed = std::move(copy);
    return in;
  };

  absl::SleepFor(absl::Seconds(flags.pre_s));
  bc.SetOutage(true);
  phase.store(kDown);
  const absl::Time outage_start = absl::Now();
  std::printf("t=%.0fs outage begins\n", absl::ToDoubleSeconds(outage_start - start));
  std::fflush(stdout);
  // A progress line every 60 s of a long outage.
  while (absl::Now() < outage_start + absl::Seconds(flags.outage_s)) {
    absl::SleepFor(
        std::min(absl::Seconds(60), outage_start + absl::Seconds(flags.outage_s) - absl::Now()));
    if (absl::Now() < outage_start + absl::Seconds(flags.outage_s)) {
      auto m = bench::Metrics(*probe, port);
      std::printf("  t=%.0fs down; jobs queued %.0f, dead %.0f; ERP requests answered 503: %lld\n",
                  absl::ToDoubleSeconds(absl::Now() - start), m["keelson_jobs{state=\"queued\"}"],
                  m["keelson_jobs{state=\"dead\"}"], static_cast<long long>(bc.stats().outage_503));
      std::fflush(stdout);
    }
  }
  bc.SetOutage(false);
  phase.store(kAfter);
  const absl::Time outage_end = absl::Now();
  const BusinessCentralSim::Stats at_end_of_outage = bc.stats();
  std::vector<int64_t> fed;
  const int64_t in_at_outage_end = in_erp_count(&fed);
  const int64_t backlog_at_outage_end = static_cast<int64_t>(fed.size()) - in_at_outage_end;
  auto m0 = bench::Metrics(*probe, port);
  std::printf(
      "t=%.0fs outage ends: %zu orders fed, %lld in the ERP, backlog %lld; hub jobs "
      "queued %.0f, dead %.0f\n",
      absl::ToDoubleSeconds(outage_end - start), fed.size(),
      static_cast<long long>(in_at_outage_end), static_cast<long long>(backlog_at_outage_end),
      m0["keelson_jobs{state=\"queued\"}"], m0["keelson_jobs{state=\"dead\"}"]);
  std::fflush(stdout);

  // Drained: the orders not yet in the ERP are at most 2 s of arrivals.
  const int64_t slack = static_cast<int64_t>(2 * flags.rate) + 1;
  absl::Time drained_at = absl::InfiniteFuture();
  BusinessCentralSim::Stats at_drained;
  // While the backlog is above 10 s of arrivals the ERP, not the arrivals, sets the pace: the
  // rate over that stretch is the one to hold against the allowed rate.
  const int64_t backlogged = static_cast<int64_t>(10 * flags.rate);
  absl::Time backlogged_until = absl::InfiniteFuture();
  BusinessCentralSim::Stats at_backlogged;
  BusinessCentralSim::Stats last = at_end_of_outage;
  absl::Time last_tick = outage_end;
  std::vector<std::string> timeline;
  while (absl::Now() < outage_end + absl::Seconds(flags.max_drain_s)) {
    absl::SleepFor(absl::Milliseconds(250));
    const int64_t in = in_erp_count(&fed);
    const BusinessCentralSim::Stats s = bc.stats();
    if (absl::Now() - last_tick >= absl::Seconds(10)) {
      const double secs = absl::ToDoubleSeconds(absl::Now() - last_tick);
      timeline.push_back(absl::StrFormat(
          "+%.0fs: %.1f req/s admitted (%.0f %%), %lld answered 429, backlog %lld",
          absl::ToDoubleSeconds(absl::Now() - outage_end), (s.admitted - last.admitted) / secs,
          100.0 * (s.admitted - last.admitted) / secs / allowed,
          static_cast<long long>(s.answered_429 - last.answered_429),
          static_cast<long long>(fed.size() - in)));
      std::printf("  %s\n", timeline.back().c_str());
      std::fflush(stdout);
      last = s;
      last_tick = absl::Now();
    }
    if (backlogged_until == absl::InfiniteFuture() &&
        static_cast<int64_t>(fed.size()) - in <= backlogged) {
      backlogged_until = absl::Now();
      at_backlogged = s;
    }
    if (static_cast<int64_t>(fed.size()) - in <= slack) {
      drained_at = absl::Now();
      at_drained = s;
      break;
    }
  }
  const bool drained = drained_at != absl::InfiniteFuture();
  if (!drained) {
    drained_at = absl::Now();
    at_drained = bc.stats();
  }
  auto m1 = bench::Metrics(*probe, port);
  stop.store(true);
  for (auto& t : feeders) t.join();

  const double drain_s = absl::ToDoubleSeconds(drained_at - outage_end);
  const int64_t admitted = at_drained.admitted - at_end_of_outage.admitted;
  const int64_t requests = at_drained.requests - at_end_of_outage.requests;
  const int64_t answered_429 = at_drained.answered_429 - at_end_of_outage.answered_429;
  const double achieved = drain_s > 0 ? admitted / drain_s : 0;
  const double pct_allowed = 100.0 * achieved / allowed;
  const double pct_429 = requests > 0 ? 100.0 * answered_429 / requests : 0;
  if (backlogged_until == absl::InfiniteFuture()) {
    backlogged_until = drained_at;
    at_backlogged = at_drained;
  }
  const double backlogged_s = absl::ToDoubleSeconds(backlogged_until - outage_end);
  const double backlogged_rate =
      backlogged_s > 0 ? (at_backlogged.admitted - at_end_of_outage.admitted) / backlogged_s : 0;
  const double pct_backlogged = 100.0 * backlogged_rate / allowed;

  // Duplicates over every order fed, and what is still missing.
  std::map<std::string, int> refs;
  for (auto& [ref, number] : bc.SalesOrderReferences()) ++refs[ref];
  int64_t duplicates = 0, in_erp = 0;
  for (int64_t id : fed) {
    auto it = refs.find(absl::StrCat("MAIN:", id));
    if (it == refs.end()) continue;
    ++in_erp;
    duplicates += it->second - 1;
  }
  std::string dead;
  for (const auto& [series, v] : m1) {
    if (series.rfind("keelson_dead_letters{", 0) == 0 && v > 0) {
      absl::StrAppend(&dead, dead.empty() ? "" : ", ", series.substr(21, series.size() - 22), " ",
                      v);
    }
  }
  std::lock_guard<std::mutex> l(mu);
  const std::vector<double>& down = latency_ms[kDown];
  std::printf(
      "intake while the ERP was down: %zu webhooks, p50 %.2f ms, p99 %.2f ms, max %.2f ms, "
      "%lld not 200 (target p99 < 10 ms); before the outage p99 %.2f ms, after %.2f ms\n",
      down.size(), bench::Percentile(down, 50), bench::Percentile(down, 99),
      down.empty() ? 0 : *std::max_element(down.begin(), down.end()),
      static_cast<long long>(intake_errors[kDown]), bench::Percentile(latency_ms[kBefore], 99),
      bench::Percentile(latency_ms[kAfter], 99));
  std::printf(
      "drain: backlog %lld orders at the end of the outage; %s in %.1f s; while more than 10 s "
      "of orders were waiting (the first %.1f s) the ERP admitted %.1f req/s = %.1f %% of the "
      "allowed %.1f req/s (target >= 95 %%); over the whole drain %lld requests = %.1f req/s = "
      "%.1f %%; answered 429: %lld of %lld (%.3f %%, target < 0.5 %%)\n",
      static_cast<long long>(backlog_at_outage_end), drained ? "drained" : "NOT drained", drain_s,
      backlogged_s, backlogged_rate, pct_backlogged, allowed, static_cast<long long>(admitted),
      achieved, pct_allowed, static_cast<long long>(answered_429), static_cast<long long>(requests),
      pct_429);
  std::printf("orders fed %zu, in the ERP %lld, duplicates %lld; dead letters: %s\n", fed.size(),
              static_cast<long long>(in_erp), static_cast<long long>(duplicates),
              dead.empty() ? "none" : dead.c_str());
  std::printf(
      "SUMMARY {\"bench\":\"erp_outage_recovery\",\"rate\":%.1f,\"outage_s\":%.0f,"
      "\"allowed_per_s\":%.2f,\"backlog\":%lld,\"drained\":%s,\"drain_s\":%.1f,"
      "\"backlogged_s\":%.1f,\"backlogged_per_s\":%.2f,\"pct_of_allowed_backlogged\":%.1f,"
      "\"achieved_per_s\":%.2f,\"pct_of_allowed\":%.1f,\"requests\":%lld,\"answered_429\":%lld,"
      "\"pct_429\":%.3f,\"duplicates\":%lld,\"orders\":%zu,\"in_erp\":%lld,"
      "\"intake_down_p50_ms\":%.2f,\"intake_down_p99_ms\":%.2f,\"intake_down_n\":%zu,"
      "\"dead_max_attempts\":%.0f,\"dead_deadline\":%.0f}\n",
      flags.rate, flags.outage_s, allowed, static_cast<long long>(backlog_at_outage_end),
      drained ? "true" : "false", drain_s, backlogged_s, backlogged_rate, pct_backlogged, achieved,
      pct_allowed, static_cast<long long>(requests), static_cast<long long>(answered_429), pct_429,
      static_cast<long long>(duplicates), fed.size(), static_cast<long long>(in_erp),
      bench::Percentile(down, 50), bench::Percentile(down, 99), down.size(),
      m1["keelson_dead_letters{reason=\"max_attempts\"}"],
      m1["keelson_dead_letters{reason=\"deadline\"}"]);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);
  return 0;
}
