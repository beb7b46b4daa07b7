#include "app/demo.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <openssl/rand.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "app/config.h"
#include "app/server.h"
#include "net/http_client.h"
#include "net/signature.h"
#include "obs/log.h"
#include "edi/transport/local_transport.h"
#include "edi/transport/sftp_transport.h"
#include "sim/business_central.h"
#include "sim/edi_warehouse.h"
#include "sim/odoo.h"
#include "sim/woocommerce.h"

namespace keelson::app {
namespace {

// Blocks the stop signals in this thread and in every thread started after it, so that only a
// sigwait sees them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

const std::vector<std::tuple<std::string, std::string, int64_t>> kItems = {
    {"WID-BLUE", "Widget, blue", 1999},
    {"WID-RED", "Widget, red", 2499},
    {"GADGET-1", "Gadget", 4900},
};

// 32 random bytes as hex: the demo's ops API key when none is given.
std::string RandomApiKey() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// Written once everything is up, by rename, so a reader never sees half a file.
void WriteJsonFile(const std::string& path, const nlohmann::json& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << content.dump(2) << "\n";
    if (!f) return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

}  // namespace

int RunSim(const SimOptions& o) {
  sigset_t stop = BlockStopSignals();
  std::unique_ptr<sim::WooCommerceSim> woo;
  std::unique_ptr<sim::BusinessCentralSim> bc;
  std::unique_ptr<sim::OdooSim> odoo;
  std::unique_ptr<edi::FileTransport> edi_transport;
  std::unique_ptr<sim::EdiWarehouseSim> edi_wh;
  if (o.name == "woocommerce") {
    sim::WooCommerceSim::Options wo;
    wo.port = o.port;
    wo.webhook_target_url = o.webhook_target;
    wo.ping_on_start = !o.webhook_target.empty();
    woo = std::make_unique<sim::WooCommerceSim>(wo);
    if (auto s = woo->Start(); !s.ok()) {
      std::cerr << "keelson: " << s.message() << "\n";
      return 2;
    }
    std::cout << "WooCommerce simulator at " << woo->url() << "\n"
              << "  REST:           " << woo->url() << "/wp-json/wc/v3/orders\n"
              << "  consumer_key:   " << wo.consumer_key << "\n"
              << "  consumer_secret:" << wo.consumer_secret << "\n"
              << "  webhook_secret: " << wo.webhook_secret << "\n"
              << "  webhooks to:    " << (o.webhook_target.empty() ? "(none yet: PUT /_sim/webhook-target)" : o.webhook_target) << "\n"
              << "  create an order: curl -X POST " << woo->url()
              << "/_sim/orders -d '{\"status\":\"processing\"}'\n";
  } else if (o.name == "business-central") {
    sim::BusinessCentralSim::Options bo;
    bo.port = o.port;
    bc = std::make_unique<sim::BusinessCentralSim>(bo);
    if (auto s = bc->Start(); !s.ok()) {
      std::cerr << "keelson: " << s.message() << "\n";
      return 2;
    }
    for (const auto& [sku, name, price] : kItems) bc->AddItem(sku, name, {price, "EUR"});
    std::cout << "Business Central simulator\n"
              << "  erp.url:            " << bc->base_url() << "\n"
              << "  erp.company_id:     " << bo.company_id << "\n"
              << "  erp.auth.token_url: " << bc->token_url() << "\n"
              << "  client_id/secret:   " << bo.client_id << " / " << bo.client_secret << "\n"
              << "  items:              WID-BLUE, WID-RED, GADGET-1 (POST /_sim/items for more)\n"
              << "  stats:              GET http://127.0.0.1:" << bc->port() << "/_sim/stats\n";
  } else if (o.name == "odoo") {
    sim::OdooSim::Options oo;
    oo.port = o.port;
    oo.version = o.odoo_version;
    odoo = std::make_unique<sim::OdooSim>(oo);
    if (auto s = odoo->Start(); !s.ok()) {
      std::cerr << "keelson: " << s.message() << "\n";
      return 2;
    }
    for (const auto& [sku, name, price] : kItems) odoo->AddProduct(sku, name, price / 100.0);
    std::cout << "Odoo " << oo.version << " simulator at " << odoo->url() << "\n"
              << "  erp.database / username / password: " << oo.database << " / " << oo.login
              << " / " << oo.password << "\n"
              << "  stats: GET " << odoo->url() << "/_sim/stats\n";
  } else if (o.name == "edi-warehouse") {
    std::unique_ptr<edi::FileTransport> transport;
    std::string where;
    if (!o.sftp.empty()) {
      edi::SftpOptions so;
      std::string host_port = o.sftp;
      if (const size_t at = host_port.find('@'); at != std::string::npos) {
        so.user = host_port.substr(0, at);
        host_port = host_port.substr(at + 1);
      }
      so.host = host_port;
      if (const size_t colon = host_port.rfind(':'); colon != std::string::npos) {
        so.host = host_port.substr(0, colon);
        so.port = std::atoi(host_port.c_str() + colon + 1);
      }
      so.key_file = o.key;
      so.host_key_sha256 = o.host_key;
      so.insecure_accept_any_host_key = o.insecure_accept_any_host_key;
      so.label = "sim-edi-warehouse";
      auto t = edi::NewSftpTransport(so);
      if (!t.ok()) {
        std::cerr << "keelson: sim edi-warehouse: " << t.status().message() << "\n";
        return 1;
      }
      transport = std::move(*t);
      where = "sftp://" + o.sftp;
    } else if (!o.dir.empty()) {
      transport = edi::NewLocalTransport(o.dir);
      where = o.dir;
    } else {
      std::cerr << "keelson: sim edi-warehouse: --dir DIR or --sftp user@host[:port] is needed\n";
      return 1;
    }
    sim::EdiWarehouseSim::Options eo;
    eo.inbound_folder = o.inbound;
    eo.done_folder = o.inbound + "/done";
    eo.outbound_folder = o.outbound;
    eo.short_every = o.short_every;
    eo.split_every = o.split_every;
    eo.reject_every = o.reject_every;
    edi_wh = std::make_unique<sim::EdiWarehouseSim>(transport.get(), eo);
    edi_transport = std::move(transport);
    edi_wh->Start();
    std::cout << "EDI warehouse simulator (X12 4010: 940 in; 997 and 945 out) on " << where
              << "\n"
              << "  reads 940s from:  " << eo.inbound_folder << " (handled ones go to "
              << eo.done_folder << ")\n"
              << "  writes to:        " << eo.outbound_folder << "\n"
              << "  ISA ids:          " << eo.qualifier << ":" << eo.id << " (itself), "
              << eo.keelson_qualifier << ":" << eo.keelson_id << " (Keelson)\n";
  } else {
    std::cerr << "keelson: sim: unknown simulator \"" << o.name
              << "\" (woocommerce, business-central, odoo, edi-warehouse)\n";
    return 1;
  }
  std::cout << "Ctrl-C stops it.\n" << std::flush;
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}

int RunDemo(const DemoOptions& o) {
  BlockStopSignals();
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  std::filesystem::remove(o.dir + "/keelson.db", ec);
  std::filesystem::remove(o.dir + "/keelson.db-wal", ec);
  std::filesystem::remove(o.dir + "/keelson.db-shm", ec);
  std::filesystem::remove(o.dir + "/ready", ec);
  std::filesystem::remove(o.dir + "/demo.json", ec);
  const std::string api_key = o.api_key.empty() ? RandomApiKey() : o.api_key;
  if (api_key.empty()) {
    std::cerr << "keelson: demo: cannot generate a random API key\n";
    return 2;
  }
  const std::string bearer = "Bearer " + api_key;

  sim::BusinessCentralSim::Options bo;
  sim::BusinessCentralSim bc(bo);
  sim::OdooSim::Options oo;
  sim::OdooSim odoo(oo);
  const bool use_odoo = o.erp == "odoo";
  if (auto s = use_odoo ? odoo.Start() : bc.Start(); !s.ok()) {
    std::cerr << "keelson: demo: " << s.message() << "\n";
    return 2;
  }
  for (const auto& [sku, name, price] : kItems) {
    if (use_odoo) {
      odoo.AddProduct(sku, name, price / 100.0);
    } else {
      bc.AddItem(sku, name, {price, "EUR"});
    }
  }
  sim::WooCommerceSim::Options wo;
  wo.duplicate_probability = 0.2;  // as the real WooCommerce does now and then
  wo.reorder_probability = 0.1;
  sim::WooCommerceSim woo(wo);
  if (auto s = woo.Start(); !s.ok()) {
    std::cerr << "keelson: demo: " << s.message() << "\n";
    return 2;
  }
  // The shop's catalog: stock 0 until Keelson publishes what the warehouse holds.
  for (const auto& [sku, name, price] : kItems) {
    woo.AddProduct({.sku = sku, .name = name, .stock_quantity = 0}).IgnoreError();
  }

  const std::string config_path = o.dir + "/keelson.yaml";
  {
    std::ofstream f(config_path);
    f << "# Generated by `keelson demo`: the hub between the simulators it started.\n"
      << "server: {listen: \"127.0.0.1:" << o.port << "\"}\n"
      << "storage: {engine: sqlite, path: \"" << o.dir << "/keelson.db\"}\n"
      << "stores:\n" << woo.KeelsonStoreYaml();
    if (use_odoo) {
      f << "erp: {type: odoo, url: \"" << odoo.url() << "\", database: \"" << oo.database
        << "\", username: \"" << oo.login << "\", password: \"" << oo.password << "\"}\n";
    } else {
      f << bc.KeelsonErpYaml();
    }
    f << "inventory: {channels: [{store: main, locations: [WH1]}], reconcile_interval_s: 30}\n"
      // The own warehouse ships every order the ERP accepts; a WMS would report its shipments to
      // POST /v1/fulfillment/shipments (the order page shows the segments).
      << "fulfillment: {nodes: [{id: wh1, provider: erp, locations: [WH1]}]}\n"
      << "order_to_cash: {backfill_interval_s: 2}\n"
      << "jobs: {backoff_base_ms: 200, backoff_cap_ms: 5000}\n"
      << "log: {level: warn, format: text}\n"
      << "# The console's key (`keelson demo --api-key`), kept only as its SHA-256.\n"
      << "ops: {api_keys: [{name: demo, sha256: \"" << net::Sha256Hex(api_key)
      << "\", scopes: [ops]}]}\n"
      << "# Demo-short thresholds, so a breach shows up while you watch.\n"
      << "sla:\n"
      << "  interval_s: 2\n"
      << "  rules:\n"
      << "    - {name: paid_not_in_erp, description: \"paid but not in the ERP after 10 s\", "
         "subject: orders, status: [processing], erp_state: [none, pending], older_than_s: 10}\n"
      << "    - {name: stock_not_published, description: \"stock change not published after "
         "30 s\", subject: stock_publication, older_than_s: 30}\n"
      << "    - {name: dead_letters, description: \"dead letters waiting for an operator\", "
         "subject: dead_letters, older_than_s: 0}\n";
  }
  ConfigResult config = LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "keelson: demo: generated config is invalid:\n" << FormatErrors(config.errors);
    return 2;
  }
  obs::InitLogging(config.config.log.level, obs::LogFormat::kText);

  const std::string ready = o.dir + "/ready";
  std::thread streamer([&] {
    for (int i = 0; i < 600 && !std::filesystem::exists(ready); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!std::filesystem::exists(ready)) return;
    int port = o.port;
    std::ifstream(ready) >> port;  // the bound port (for --port 0)
    const std::string base = absl::StrCat("http://127.0.0.1:", port);
    woo.SetWebhookTarget(base + "/v1/webhooks/woocommerce/main");
    std::cout << "\nKeelson is listening on " << base << "; streaming " << o.orders
              << " WooCommerce orders (with duplicate and out-of-order webhooks)...\n"
              << std::flush;
    // The warehouse's stock truth, as a WMS would push it; Keelson publishes it to the shop and
    // takes each paid order's units off the shop's stock as the order comes in.
    {
      std::unique_ptr<net::HttpClient> http = net::NewCurlHttpClient();
      int n = 0;
      for (const auto& [sku, name, price] : kItems) {
        nlohmann::json event = {{"event_id", absl::StrCat("demo-wms-", ++n)},
                                {"sku", sku},
                                {"location", "WH1"},
                                {"on_hand", 500},
                                {"occurred_at", absl::FormatTime(absl::RFC3339_sec, absl::Now(),
                                                                 absl::UTCTimeZone())}};
        http->Send({.method = "POST",
                    .url = base + "/v1/inventory/events",
                    .headers = {{"Content-Type", "application/json"}, {"Authorization", bearer}},
                    .body = event.dump()})
            .IgnoreError();
      }
    }
    int64_t first = 0, last = 0;
    std::vector<int64_t> ids;
    for (int i = 0; i < o.orders; ++i) {
      sim::WooOrderSpec spec;
      spec.lines = {{.sku = i % 3 == 0 ? "WID-RED" : "WID-BLUE", .quantity = 1 + i % 3,
                     .price = i % 3 == 0 ? "24.99" : "19.99"}};
      auto id = woo.CreateOrder(spec);
      if (!id.ok()) continue;
      if (first == 0) first = *id;
      last = *id;
      ids.push_back(*id);
      if (i % 10 == 9) woo.UpdateOrderStatus(*id, "completed").IgnoreError();
    }
    // One order for an item the ERP does not know: it is parked, visibly, for replay.
    sim::WooOrderSpec unknown;
    unknown.lines = {{.sku = "NEW-ITEM", .quantity = 1, .price = "9.99"}};
    auto parked = woo.CreateOrder(unknown);
    // One the shop never sends a webhook for: backfill finds it.
    auto silent = woo.CreateOrderSilently({});
    woo.FlushDeferred();
    if (silent.ok()) ids.push_back(*silent);
    auto count_in_erp = [&] {
      int64_t n = 0;
      for (int64_t id : ids) {
        const std::string ref = absl::StrCat("main:", id);
        n += use_odoo ? odoo.CountSaleOrders(ref) : bc.CountSalesOrders(ref);
      }
      return n;
    };
    // Wait for the flow (and one backfill round for the silent order), 30 s at most.
    int64_t in_erp = 0;
    for (int i = 0; i < 300; ++i) {
      in_erp = count_in_erp();
      if (in_erp >= static_cast<int64_t>(ids.size())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const std::string console = base + "/console/";
    const std::string erp_sim =
        absl::StrCat("http://127.0.0.1:", use_odoo ? odoo.port() : bc.port());
    const std::string auth = absl::StrCat(" -H 'Authorization: Bearer ", api_key, "'");
    std::cout << "\n" << in_erp << " of " << ids.size() << " paid orders are now in the "
              << (use_odoo ? "Odoo" : "Business Central") << " simulator ("
              << woo.stats().webhooks_sent << " webhooks sent, duplicates included).\n\n"
              << "console: " << console << "  key: " << api_key << "\n\n"
              << "Where to look:\n"
              << "  an order:      curl -s" << auth << " " << base << "/v1/orders/main/" << first
              << "\n"
              << "  its timeline:  build/release/keelson trace main:" << first << " -c "
              << config_path << "\n"
              << "  parked:        curl -s" << auth << " " << base << "/ops/dead-letters"
              << (parked.ok() ? absl::StrCat("   (order ", *parked, ": unknown SKU NEW-ITEM)")
                              : std::string())
              << "\n"
              << "  backfilled:    curl -s" << auth << " " << base << "/v1/orders/main/"
              << (silent.ok() ? *silent : last) << "   (its webhook was never sent)\n"
              << "  stock:         curl -s" << auth << " " << base
              << "/v1/inventory/WID-BLUE   (500 on hand; the shop shows "
              << woo.StockBySku("WID-BLUE").value_or(sim::WooStock{}).stock_quantity.value_or(0)
              << " after the orders' reservations)\n"
              << "  connectors:    curl -s" << auth << " " << base << "/ops/connectors\n"
              << "  metrics:       curl -s " << base << "/metrics | grep keelson_\n"
              << "  the ERP:       curl -s " << erp_sim << "/_sim/stats\n"
              << "  details:       " << o.dir << "/demo.json\n\n"
              << (o.once ? "" : "Ctrl-C stops the demo.\n") << std::flush;
    WriteJsonFile(
        o.dir + "/demo.json",
        {{"keelson", base},
         {"console", console},
         {"api_key", api_key},
         {"erp",
          {{"type", use_odoo ? "odoo" : "business_central"},
           {"url", use_odoo ? odoo.url() : bc.base_url()},
           {"sim", erp_sim}}},
         {"woocommerce", woo.url()},
         {"first_order", absl::StrCat("main:", first)},
         {"parked_order", parked.ok() ? absl::StrCat("main:", *parked) : std::string()}});
    if (o.once) kill(getpid(), SIGTERM);  // Serve's sigwait takes it and shuts down cleanly
  });
  const int rc = Serve(config.config, ServeOptions{.ready_file = ready});
  streamer.join();
  return rc;
}

}  // namespace keelson::app
