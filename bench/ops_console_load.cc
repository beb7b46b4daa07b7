// ops_console_load: the operator API on a large database. Issue 7 asks the console to be "fast on
// 100,000 orders (server-side paging and search)"; this measures what its pages call.
//
// 1. Seeds a fresh SQLite file (the same engine and schema `keelson serve` uses) with --orders
//    orders across two stores: unique e-mails, ERP numbers for 90 % (the rest pending or none),
//    a mix of shop statuses, two timeline events each, and --dead dead letters.
// 2. Serves /ops (api::AddOpsRoutes + AddOpsViewRoutes, the SLA monitor with the default rules,
//    the business gauges) over real HTTP on loopback and calls each query --reps times from one
//    keep-alive connection (closed loop): search by reference, e-mail, ERP number, correlation
//    id; the first page; 20 pages deep by cursor; a status filter; the order page; the overview;
//    one rule's stuck list; dead letters; /metrics. Also times one SLA evaluation.
// Prints p50 / p99 / max per query in ms and one `SUMMARY {json}` line.
//
//   ops_console_load [--orders 100000] [--dead 200] [--reps 200] [--dir /tmp/…]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/ops.h"
#include "api/ops_views.h"
#include "connectors/woocommerce/mapping.h"
#include "core/clock.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "ops/sla.h"
#include "store/sqlite/sqlite_store.h"

using namespace keelson;

namespace {

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Figures {
  double p50, p99, max;
};

Figures Summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  return {at(0.50), at(0.99), v.back()};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t orders = 100000, dead = 200, reps = 200;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    bool ok = true;
    if (k == "--orders") ok = absl::SimpleAtoi(v, &orders);
    else if (k == "--dead") ok = absl::SimpleAtoi(v, &dead);
    else if (k == "--reps") ok = absl::SimpleAtoi(v, &reps);
    else if (k == "--dir") dir = v;
    else ok = false;
    if (!ok) {
      std::fprintf(stderr, "usage: ops_console_load [--orders N] [--dead N] [--reps N] [--dir D]\n");
      return 1;
    }
  }
  obs::InitLogging("error", obs::LogFormat::kText);
  if (dir.empty()) dir = std::filesystem::temp_directory_path() / absl::StrCat("ops-load-", getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/keelson.db";
  std::filesystem::remove(path);
  auto opened = store::OpenSqliteStore({.path = path});
  if (!opened.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), opened.status().ToString().c_str());
    return 2;
  }
  std::unique_ptr<store::Store> st = std::move(*opened);
  const core::Clock* clock = core::Clock::Real();

  // 1. Seed.
  const auto seed_start = std::chrono::steady_clock::now();
  const absl::Time t0 = clock->Now() - absl::Hours(24 * 30);
  // i % 10 == 3 is not in the ERP: paid ("processing") orders stuck there, as the SLA rule sees.
  const char* statuses[] = {"processing", "completed", "completed", "processing", "on-hold",
                            "cancelled", "refunded", "completed", "completed", "processing"};
  constexpr int64_t kBatch = 2000;
  for (int64_t base = 0; base < orders; base += kBatch) {
    // Written at the time of their snapshots: their ages (the SLA's) spread over 30 days.
    absl::Status s = st->Transact(t0 + absl::Seconds(base * 25), [&](store::Tx& tx) -> absl::Status {
      for (int64_t i = base; i < std::min(orders, base + kBatch); ++i) {
        const std::string store_id = i % 5 == 0 ? "outlet" : "main";
        const int64_t id = 1000 + i;
        store::OrderRecord r{.store_id = store_id, .order_id = id,
                             .version = t0 + absl::Seconds(i * 25), .status = statuses[i % 10],
                             .snapshot_json = R"({"id":0})",
                             .correlation_id = absl::StrCat("corr", i)};
        r.customer_email = absl::StrCat("customer", i, "@example.com");
        r.total = "49.90";
        r.currency = "EUR";
        if (auto w = tx.PutOrderIfNewer(r); !w.ok()) return w.status();
        const bool in_erp = i % 10 != 3;
        if (auto e = tx.SetOrderErp(store_id, id, in_erp ? "created" : (i % 20 == 3 ? "pending" : "none"),
                                    in_erp ? absl::StrCat("guid-", i) : "",
                                    in_erp ? absl::StrCat("S-ORD", 100000 + i) : "");
            !e.ok()) {
          return e;
        }
        const std::string entity = absl::StrCat("order:", store_id, ":", id);
        for (const char* kind : {"webhook.received", "erp.order_created"}) {
          if (auto e = tx.AppendTimeline({.entity = entity, .correlation_id = r.correlation_id,
                                          .kind = kind, .detail_json = "{}"});
              !e.ok()) {
            return e;
          }
        }
      }
      return absl::OkStatus();
    });
    if (!s.ok()) {
      std::fprintf(stderr, "seed: %s\n", s.ToString().c_str());
      return 2;
    }
  }
  for (int64_t i = 0; i < dead; ++i) {
    int64_t id = 0;
    (void)st->Transact(clock->Now(), [&](store::Tx& tx) -> absl::Status {
      auto j = tx.EnqueueJob({.kind = "erp.create_order",
                              .partition_key = absl::StrCat("woo:main:order:", 1001 + i * 10),
                              .payload = "{}"});
      if (j.ok()) id = *j;
      return j.status();
    });
    (void)st->ClaimJobs("seed", clock->Now(), absl::Seconds(60), 1000);
    (void)st->DeadLetterJob(id, "seed", "business", "item NEW-ITEM does not exist", clock->Now());
  }
  const double seed_s = Ms(std::chrono::steady_clock::now() - seed_start) / 1000;
  std::printf("seeded %lld orders, %lld dead letters in %.1f s (%s)\n",
              static_cast<long long>(orders), static_cast<long long>(dead), seed_s, path.c_str());

  // 2. Serve and measure.
  obs::Registry metrics;
  ops::SlaMonitor::Options so;
  so.rules = {{.name = "paid_not_in_erp", .subject = ops::SlaSubject::kOrders,
               .statuses = {"processing"}, .erp_states = {"none", "pending"},
               .older_than = absl::Minutes(5)},
              {.name = "stock_not_published", .subject = ops::SlaSubject::kStockPublication,
               .older_than = absl::Minutes(2)},
              {.name = "dead_letters", .subject = ops::SlaSubject::kDeadLetters}};
  ops::SlaMonitor sla(st.get(), clock, &metrics, nullptr, so);
  api::OpsDeps deps;
  deps.store = st.get();
  deps.clock = clock;
  deps.metrics = &metrics;
  deps.sla = &sla;
  deps.create_on = {"processing", "on-hold"};
  deps.mapper = [](std::string_view s, const nlohmann::json& j) {
    return connectors::woocommerce::MapOrder(s, j);
  };
  net::Router router;
  api::AddServiceRoutes(router, deps);
  api::AddOpsRoutes(router, deps);
  api::AddOpsViewRoutes(router, deps);
  api::AddStoreGauges(deps);
  api::AddBusinessGauges(deps);
  net::HttpServer server({.host = "127.0.0.1", .port = 0, .threads = 2}, std::move(router));
  if (!server.Start().ok()) return 2;

  std::vector<double> sla_ms;
  for (int i = 0; i < 20; ++i) {
    const auto a = std::chrono::steady_clock::now();
    sla.EvaluateNow();
    sla_ms.push_back(Ms(std::chrono::steady_clock::now() - a));
  }

  auto http = net::NewCurlHttpClient();
  const std::string base = absl::StrCat("http://127.0.0.1:", server.port());
  const int64_t mid = orders / 2 + 1;
  const std::string mid_store = mid % 5 == 0 ? "outlet" : "main";
  // mid is chosen so that its order has an ERP number (i % 10 != 3).
  std::vector<std::pair<std::string, std::string>> queries = {
      {"search_reference", absl::StrCat("/ops/orders?q=", mid_store, ":", 1000 + mid)},
      {"search_email", absl::StrCat("/ops/orders?q=customer", mid, "%40example.com")},
      {"search_erp_number", absl::StrCat("/ops/orders?q=s-ord", 100000 + mid)},
      {"search_correlation", absl::StrCat("/ops/orders?q=corr", mid)},
      {"first_page", "/ops/orders?limit=50"},
      {"filter_erp_pending", "/ops/orders?erp_state=pending&limit=50"},
      {"order_page", absl::StrCat("/ops/orders/", mid_store, "/", 1000 + mid)},
      {"overview", "/ops/overview"},
      {"stuck_list", "/ops/alerts/paid_not_in_erp?limit=200"},
      {"dead_letters", "/ops/dead-letters?limit=100"},
      {"metrics", "/metrics"},
  };
  nlohmann::json summary = {{"orders", orders}, {"dead", dead}, {"reps", reps}};
  std::printf("%-22s %10s %10s %10s  %s\n", "query", "p50 ms", "p99 ms", "max ms", "items");
  for (const auto& [name, target] : queries) {
    std::vector<double> t;
    size_t items = 0;
    for (int64_t r = 0; r < reps; ++r) {
      const auto a = std::chrono::steady_clock::now();
      auto res = http->Send({.url = base + target});
      t.push_back(Ms(std::chrono::steady_clock::now() - a));
      if (!res.ok() || res->status != 200) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(),
                     res.ok() ? res->body.c_str() : res.status().ToString().c_str());
        return 2;
      }
      if (r == 0) {
        auto j = nlohmann::json::parse(res->body, nullptr, false);
        if (j.is_object() && j.contains("items")) items = j["items"].size();
        if (j.is_object() && j.contains("timeline")) items = j["timeline"].size();
      }
    }
    const Figures f = Summarise(t);
    std::printf("%-22s %10.2f %10.2f %10.2f  %zu\n", name.c_str(), f.p50, f.p99, f.max, items);
    summary[name] = {{"p50_ms", f.p50}, {"p99_ms", f.p99}, {"items", items}};
  }
  // 20 pages deep by cursor, timed page by page.
  {
    std::vector<double> t;
    std::string target = "/ops/orders?limit=50";
    for (int page = 0; page < 20; ++page) {
      const auto a = std::chrono::steady_clock::now();
      auto res = http->Send({.url = base + target});
      t.push_back(Ms(std::chrono::steady_clock::now() - a));
      if (!res.ok() || res->status != 200) return 2;
      auto j = nlohmann::json::parse(res->body);
      if (j["next_cursor"].is_null()) break;
      target = "/ops/orders?limit=50&cursor=" + j["next_cursor"].get<std::string>();
    }
    const Figures f = Summarise(t);
    std::printf("%-22s %10.2f %10.2f %10.2f  %zu pages\n", "page_by_cursor_x20", f.p50, f.p99,
                f.max, t.size());
    summary["page_by_cursor"] = {{"p50_ms", f.p50}, {"p99_ms", f.p99}};
  }
  const Figures sf = Summarise(sla_ms);
  std::printf("%-22s %10.2f %10.2f %10.2f  3 rules\n", "sla_evaluation", sf.p50, sf.p99, sf.max);
  summary["sla_evaluation"] = {{"p50_ms", sf.p50}, {"p99_ms", sf.p99}};
  std::printf("SUMMARY %s\n", summary.dump().c_str());
  server.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
