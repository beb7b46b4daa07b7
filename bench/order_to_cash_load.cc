// order_to_cash_load: end-to-end order-to-cash throughput. Starts the WooCommerce and ERP
// simulators in this process (the ERP unthrottled), the real keelson binary next to them on a
// fresh SQLite file, then creates --orders paid orders in the shop from --threads threads at
// once (each a signed order.created + order.updated webhook, as WooCommerce 7.8 sends them) and
// measures the time until every one of them is a sales order in the ERP AND carries its ERP
// number back in the shop (the `_keelson_erp_ref` meta written by Keelson's write-back).
//
//   order_to_cash_load --keelson build/release/keelson [--orders 3000] [--threads 16]
//                      [--erp business_central|odoo] [--workers 8]
//
// Prints orders/s and one `SUMMARY {json}` line. Never fails on the figures (exit 0 when it
// ran); exit 1 on bad arguments, 2 when something could not start or the orders did not all
// arrive within 10 minutes.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "sim/business_central.h"
#include "sim/odoo.h"
#include "sim/woocommerce.h"

namespace {

using keelson::sim::BusinessCentralSim;
using keelson::sim::OdooSim;
using keelson::sim::WooCommerceSim;

int Usage() {
  fprintf(stderr,
          "usage: order_to_cash_load --keelson PATH [--orders N] [--threads T] "
          "[--erp business_central|odoo] [--workers W]\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string keelson, erp = "business_central";
  int orders = 3000, threads = 16, workers = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--keelson") {
      keelson = v;
    } else if (k == "--erp") {
      erp = v;
    } else if (k == "--orders") {
      if (!absl::SimpleAtoi(v, &orders)) return Usage();
    } else if (k == "--threads") {
      if (!absl::SimpleAtoi(v, &threads)) return Usage();
    } else if (k == "--workers") {
      if (!absl::SimpleAtoi(v, &workers)) return Usage();
    } else {
      return Usage();
    }
  }
  if (keelson.empty() || (erp != "business_central" && erp != "odoo")) return Usage();
  const bool odoo = erp == "odoo";

  BusinessCentralSim::Options bo;
  bo.requests_per_window = 1'000'000'000;  // unthrottled: this bench measures Keelson
  bo.max_concurrent = 64;
  BusinessCentralSim bc(bo);
  OdooSim od;
  if (!(odoo ? od.Start() : bc.Start()).ok()) return 2;
  if (odoo) {
    od.AddProduct("WID-BLUE", "Widget, blue", 19.99);
  } else {
    bc.AddItem("WID-BLUE", "Widget, blue", {1999, "EUR"});
  }
  WooCommerceSim::Options wo;
  wo.http_threads = 2;
  WooCommerceSim woo(wo);
  if (!woo.Start().ok()) return 2;

  const std::string dir =
      (std::filesystem::temp_directory_path() / absl::StrCat("kl-o2c-", getpid())).string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/keelson.yaml");
    f << "server: {listen: \"127.0.0.1:0\"}\n"
      << "storage: {engine: sqlite, path: \"" << dir << "/keelson.db\"}\n"
      << "stores:\n" << woo.KeelsonStoreYaml();
    if (odoo) {
      f << "erp: {type: odoo, url: \"" << od.url() << "\", database: keelson, username: admin, "
        << "password: admin, mapping: {shipping: \"\"}, limits: {concurrency: 16}}\n";
    } else {
      f << bc.KeelsonErpYaml()
        << "  limits: {requests_per_second: 100000, concurrency: 16}\n";
    }
    f << "order_to_cash: {backfill_interval_s: 0}\n"
      << "jobs: {workers: " << workers << "}\n"
      << "log: {level: error}\n";
  }
  const std::optional<keelson::bench::Hub> hub = keelson::bench::StartHub(
      keelson, dir + "/keelson.yaml", dir + "/ready", dir + "/keelson.log");
  if (!hub) return 2;
  const pid_t pid = hub->pid;
  const int port = hub->port;
  woo.SetWebhookTarget(absl::StrCat("http://127.0.0.1:", port, "/v1/webhooks/woocommerce/main"));

  WooCommerceSim::OrderSpec spec;
  spec.lines = {{.sku = "WID-BLUE", .quantity = 2, .price = "19.99"}};
  const absl::Time start = absl::Now();
  keelson::sim::WooBurstResult burst = woo.EmitBurst(orders, threads, spec);
  const absl::Duration emit = absl::Now() - start;
  // Wait until every order is in the ERP and carries its ERP number in the shop.
  size_t next = 0;
  const absl::Time deadline = start + absl::Minutes(10);
  while (next < burst.order_ids.size() && absl::Now() < deadline) {
    const int64_t id = burst.order_ids[next];
    if (woo.Meta(id, "_keelson_erp_ref").has_value()) {
      ++next;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const absl::Duration total = absl::Now() - start;
  int64_t in_erp = 0, duplicates = 0;
  for (int64_t id : burst.order_ids) {
    const std::string ref = absl::StrCat("main:", id);
    const int64_t n = odoo ? od.CountSaleOrders(ref) : bc.CountSalesOrders(ref);
    in_erp += n > 0;
    duplicates += n > 1 ? n - 1 : 0;
  }
  // CPU time of the hub (the child, read before it exits) and of this process (simulators and
  // load), so the hub's share of the 2 cores is a measured figure, not a guess.
  double hub_cpu_s = 0;
  {
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string field;
    for (int i = 1; i <= 15 && stat >> field; ++i) {
      if (i == 14 || i == 15) hub_cpu_s += std::stod(field) / sysconf(_SC_CLK_TCK);
    }
  }
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  const double sims_cpu_s = self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6 +
                            self.ru_stime.tv_sec + self.ru_stime.tv_usec / 1e6;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);
  if (next < burst.order_ids.size()) {
    fprintf(stderr, "only %zu of %zu orders went through\n", next, burst.order_ids.size());
    return 2;
  }
  const double rate = orders / absl::ToDoubleSeconds(total);
  const auto stats = woo.stats();
  printf("%d orders via %s: all in the ERP and written back in %.2f s = %.0f orders/s "
         "(webhooks emitted in %.2f s; %lld webhooks, %lld ERP duplicates)\n",
         orders, erp.c_str(), absl::ToDoubleSeconds(total), rate, absl::ToDoubleSeconds(emit),
         static_cast<long long>(stats.webhooks_sent), static_cast<long long>(duplicates));
  printf("CPU: hub %.2f s (%.2f ms per order), simulators + load %.2f s\n", hub_cpu_s,
         1000 * hub_cpu_s / orders, sims_cpu_s);
  printf("SUMMARY {\"bench\":\"order_to_cash\",\"erp\":\"%s\",\"orders\":%d,\"threads\":%d,"
         "\"seconds\":%.3f,\"orders_per_s\":%.1f,\"in_erp\":%lld,\"erp_duplicates\":%lld,"
         "\"hub_cpu_s\":%.2f,\"sims_cpu_s\":%.2f}\n",
         erp.c_str(), orders, threads, absl::ToDoubleSeconds(total), rate,
         static_cast<long long>(in_erp), static_cast<long long>(duplicates), hub_cpu_s,
         sims_cpu_s);
  return 0;
}
