// bc_throttle_load: how close Keelson's Business Central adapter gets to BC's request quota
// without being throttled.
//
// Starts the Business Central simulator in-process with a short sliding window (by default 600
// requests per 30 s, i.e. BC's 6,000 per 5 minutes scaled down 10x, and 5 concurrent requests),
// then drives the real adapter from --threads workers through net::Endpoint (what `serve` puts in front of the ERP) set to
// the allowed average rate. Each worker loops: find-or-create a customer (a pool of 50 emails,
// so both paths run), create a sales order for it (every 10th with verify_first), and read the
// order back. It prints the achieved rate of admitted requests as a percentage of the allowed
// rate and the share of requests answered 429, then one `SUMMARY {json}` line.
//
//   bc_throttle_load [--duration_s 60] [--window_s 30] [--requests_per_window 600]
//                    [--threads 8] [--latency_ms 20] [--concurrency 5] [--burst 1]
//                    [--rate_fraction 1.0] [--limiter 1] [--max_queue 0]
//
// --limiter 0 runs the same workload without the decorator, for comparison. The target is
// >= 95 % of the allowed rate with < 0.5 % of calls answered 429. Exit status 0 when it ran
// (whatever the figures), 1 on bad arguments or when the simulator cannot start.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/erp/business_central/adapter.h"
#include "net/http_client.h"
#include "net/endpoint.h"
#include "sim/business_central.h"

namespace {

using keelson::connectors::ErpCustomerRef;
using keelson::connectors::ErpOrderRef;
namespace bc = keelson::connectors::business_central;
namespace model = keelson::model;
namespace net = keelson::net;

struct Flags {
  double duration_s = 60;
  double window_s = 30;
  int64_t requests_per_window = 600;
  int threads = 8;
  double latency_ms = 20;
  int concurrency = 5;
  double burst = 1;
  double rate_fraction = 1.0;
  bool limiter = true;
  int max_queue = 0;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc) return false;
    std::string v = argv[++i];
    double d = 0;
    if (!absl::SimpleAtod(v, &d)) return false;
    if (name == "--duration_s") {
      f->duration_s = d;
    } else if (name == "--window_s") {
      f->window_s = d;
    } else if (name == "--requests_per_window") {
      f->requests_per_window = static_cast<int64_t>(d);
    } else if (name == "--threads") {
      f->threads = static_cast<int>(d);
    } else if (name == "--latency_ms") {
      f->latency_ms = d;
    } else if (name == "--concurrency") {
      f->concurrency = static_cast<int>(d);
    } else if (name == "--burst") {
      f->burst = d;
    } else if (name == "--rate_fraction") {
      f->rate_fraction = d;
    } else if (name == "--limiter") {
      f->limiter = d != 0;
    } else if (name == "--max_queue") {
      f->max_queue = static_cast<int>(d);
    } else {
      return false;
    }
  }
  return f->duration_s > 0 && f->window_s > 0 && f->requests_per_window > 0 && f->threads > 0 &&
         f->concurrency > 0 && f->rate_fraction > 0;
}

model::Money Eur(int64_t minor) { return {minor, "EUR"}; }

model::Customer MakeCustomer(int n) {
  model::Customer c;
  c.email = absl::StrFormat("buyer%03d@example.com", n);
  c.billing.first_name = "Buyer";
  c.billing.last_name = absl::StrFormat("%03d", n);
  c.billing.address_1 = "1 Load Street";
  c.billing.city = "Leeds";
  c.billing.postcode = "LS1 1AA";
  c.billing.country = "GB";
  c.billing.email = c.email;
  c.shipping = c.billing;
  return c;
}

model::Order MakeOrder(int64_t id, const model::Customer& customer) {
  model::Order o;
  o.store_id = "load";
  o.order_id = id;
  o.number = std::to_string(id);
  o.currency = "EUR";
  o.customer = customer;
  for (int i = 0; i < 3; ++i) {
    model::OrderLine l;
    l.line_id = i + 1;
    l.sku = absl::StrFormat("SKU-%04d", (id + i) % 20);
    l.quantity_ordered = 1 + i;
    l.unit_price = Eur(1000 + 100 * i);
    l.subtotal = Eur(l.unit_price.minor * l.quantity_ordered);
    l.total = l.subtotal;
    o.lines.push_back(l);
  }
  o.shipping = {{.method_id = "flat_rate", .method_title = "Flat rate", .total = Eur(495)}};
  o.shipping_total = Eur(495);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--duration_s S] [--window_s S] [--requests_per_window N] "
                 "[--threads N] [--latency_ms MS] [--concurrency N] [--burst N] "
                 "[--rate_fraction F] [--limiter 0|1] [--max_queue N]\n",
                 argv[0]);
    return 1;
  }
  const double allowed_rate = flags.requests_per_window / flags.window_s;

  keelson::sim::BusinessCentralSim sim({.requests_per_window = flags.requests_per_window,
                                        .window = absl::Seconds(flags.window_s),
                                        .max_concurrent = 5,
                                        .max_queue = flags.max_queue,
                                        .latency = absl::Milliseconds(flags.latency_ms),
                                        .threads = 2});
  if (absl::Status s = sim.Start(); !s.ok()) {
    std::fprintf(stderr, "simulator: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  for (int i = 0; i < 20; ++i) {
    sim.AddItem(absl::StrFormat("SKU-%04d", i), absl::StrFormat("Load item %d", i),
                Eur(1000 + 100 * (i % 3)));
  }

  std::unique_ptr<net::HttpClient> curl = net::NewCurlHttpClient({.max_pooled_handles = 32});
  std::unique_ptr<net::Endpoint> limited;
  net::HttpClient* http = curl.get();
  if (flags.limiter) {
    limited = std::make_unique<net::Endpoint>(
        *curl, net::EndpointOptions{.name = "erp",
                                    .requests_per_second = allowed_rate * flags.rate_fraction,
                                    .burst = flags.burst,
                                    .concurrency = flags.concurrency});
    http = limited.get();
  }
  const auto& so = sim.options();
  bc::AdapterOptions options;
  options.client = {.base_url = sim.base_url(),
                    .company_id = so.company_id,
                    .token_url = sim.token_url(),
                    .client_id = so.client_id,
                    .client_secret = so.client_secret,
                    .scope = so.scope,
                    .timeout = absl::Seconds(30)};
  options.mapping = {.shipping_account = "6610", .fee_account = "6620"};
  bc::BusinessCentralAdapter adapter(options, *http);

  std::printf(
      "bc_throttle_load: allowed %lld requests / %.0f s (%.2f req/s), 5 concurrent; "
      "%d workers; simulated latency %.0f ms; limiter %s (rate %.2f req/s, burst %.0f, "
      "concurrency %d); %.0f s\n",
      static_cast<long long>(flags.requests_per_window), flags.window_s, allowed_rate,
      flags.threads, flags.latency_ms, flags.limiter ? "on" : "off",
      allowed_rate * flags.rate_fraction, flags.burst, flags.concurrency, flags.duration_s);
  std::fflush(stdout);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> next_order{1};
  std::mutex mu;
  std::map<std::string, int64_t> outcomes;  // absl code name -> adapter calls
  auto record = [&](const absl::Status& s) {
    std::lock_guard<std::mutex> l(mu);
    ++outcomes[absl::StatusCodeToString(s.code())];
  };

  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < flags.threads; ++t) {
    workers.emplace_back([&] {
      while (!stop.load()) {
        const int64_t id = next_order.fetch_add(1);
        model::Customer customer = MakeCustomer(static_cast<int>(id % 50));
        absl::StatusOr<ErpCustomerRef> c = adapter.FindOrCreateCustomer(customer);
        record(c.status());
        if (!c.ok() || stop.load()) continue;
        absl::StatusOr<ErpOrderRef> o =
            adapter.CreateSalesOrder(MakeOrder(id, customer), *c, {.verify_first = id % 10 == 0});
        record(o.status());
        if (!o.ok() || stop.load()) continue;
        record(adapter.GetSalesOrder(o->id).status());
      }
    });
  }
  absl::SleepFor(absl::Seconds(flags.duration_s));
  // The figures are taken at the deadline; requests still in flight are not counted.
  const keelson::sim::BusinessCentralSim::Stats at_end = sim.stats();
  const absl::Duration elapsed = absl::Now() - start;
  stop.store(true);
  for (auto& w : workers) w.join();

  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double achieved = at_end.admitted / seconds;
  const double pct_allowed = 100.0 * achieved / allowed_rate;
  const double pct_429 =
      at_end.requests == 0 ? 0 : 100.0 * at_end.answered_429 / static_cast<double>(at_end.requests);
  std::printf("requests %lld, admitted %lld, answered 429: %lld (%.3f %%), max in flight %d\n",
              static_cast<long long>(at_end.requests), static_cast<long long>(at_end.admitted),
              static_cast<long long>(at_end.answered_429), pct_429, at_end.max_in_flight);
  std::printf(
      "achieved %.2f req/s = %.1f %% of the allowed %.2f req/s; orders created %lld, "
      "customers created %lld, token requests %lld\n",
      achieved, pct_allowed, allowed_rate, static_cast<long long>(at_end.orders_created),
      static_cast<long long>(at_end.customers_created),
      static_cast<long long>(at_end.token_requests));
  if (limited) {
    const net::EndpointSnapshot ls = limited->snapshot();
    std::printf("endpoint: sent %lld, answered 429 %lld, rate at the end %.2f req/s, breaker %s\n",
                static_cast<long long>(ls.sent), static_cast<long long>(ls.answered_429), ls.rate,
                std::string(net::BreakerStateName(ls.state)).c_str());
  }
  std::string codes;
  for (const auto& [code, n] : outcomes) {
    codes += absl::StrFormat("%s\"%s\":%d", codes.empty() ? "" : ",", code, n);
  }
  std::printf("adapter calls by outcome: {%s}\n", codes.c_str());
  std::printf(
      "SUMMARY {\"allowed_per_s\":%.3f,\"achieved_per_s\":%.3f,\"pct_of_allowed\":%.2f,"
      "\"requests\":%lld,\"answered_429\":%lld,\"pct_429\":%.3f,\"limiter\":%s,\"threads\":%d,"
      "\"latency_ms\":%.0f,\"seconds\":%.1f}\n",
      allowed_rate, achieved, pct_allowed, static_cast<long long>(at_end.requests),
      static_cast<long long>(at_end.answered_429), pct_429, flags.limiter ? "true" : "false",
      flags.threads, flags.latency_ms, seconds);
  sim.Stop();
  return 0;
}
