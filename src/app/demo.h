#pragma once
// `keelson sim NAME` (one simulator, standalone, until SIGINT/SIGTERM) and `keelson demo` (the
// simulators plus the hub on SQLite, with orders streamed through). Both print where to look.

#include <cstdint>
#include <string>

namespace keelson::app {

struct SimOptions {
  std::string name;  // woocommerce | business-central | odoo
  uint16_t port = 0;
  std::string webhook_target;  // woocommerce: Keelson's webhook URL
  std::string odoo_version = "17.0";
};
int RunSim(const SimOptions& options);

struct DemoOptions {
  int orders = 50;
  uint16_t port = 8080;            // the hub's port
  std::string dir = "var/demo";    // SQLite file, generated config, ready file
  std::string erp = "business_central";  // business_central | odoo
  bool once = false;  // stop after the orders went through (tests, smoke checks)
};
int RunDemo(const DemoOptions& options);

}  // namespace keelson::app
