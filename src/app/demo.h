#pragma once
// `keelson sim NAME` (one simulator, standalone, until SIGINT/SIGTERM) and `keelson demo` (the
// simulators plus the hub on SQLite, with orders streamed through). Both print where to look.
//
// Once its orders went through, the demo writes <dir>/demo.json for scripts and browser tests:
//   {"keelson": "http://127.0.0.1:PORT", "console": ".../console/", "api_key": "...",
//    "erp": {"type", "url", "sim"}, "woocommerce": "<shop simulator url>",
//    "first_order": "main:N", "parked_order": "main:M"}

#include <cstdint>
#include <string>

namespace keelson::app {

struct SimOptions {
  std::string name;  // woocommerce | business-central | odoo | edi-warehouse
  uint16_t port = 0;
  std::string webhook_target;  // woocommerce: Keelson's webhook URL
  std::string odoo_version = "17.0";
  // edi-warehouse: its folders on a local directory (--dir) or an SFTP server (--sftp
  // user@host[:port] with --key and --host-key SHA256:..., or --insecure-accept-any-host-key).
  std::string dir;
  std::string sftp;
  std::string key;
  std::string host_key;
  bool insecure_accept_any_host_key = false;
  std::string inbound = "to_partner";     // Keelson's outbound folder
  std::string outbound = "from_partner";  // Keelson's inbound folder
  int short_every = 0, split_every = 0, reject_every = 0;
};
int RunSim(const SimOptions& options);

struct DemoOptions {
  int orders = 50;
  uint16_t port = 8080;            // the hub's port
  std::string dir = "var/demo";    // SQLite file, generated config, ready file
  std::string erp = "business_central";  // business_central | odoo
  bool once = false;  // stop after the orders went through (tests, smoke checks)
  // The console's ops API key; "" = a fresh random one (32 bytes, hex). Only its SHA-256 goes
  // into the generated config.
  std::string api_key;
};
int RunDemo(const DemoOptions& options);

}  // namespace keelson::app
