#pragma once
// Builds the connectors a configuration asks for — the ERP adapter (explicit list below, no
// static registrars), the per-store WooCommerce REST clients — and adapts them to what the
// flows expect (flows::ShopWriteBack, flows::ModifiedOrdersPoller). Owned by Serve for the
// process's lifetime.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "connectors/erp.h"
#include "connectors/woocommerce/rest_client.h"
#include "flows/backfill.h"
#include "flows/order_to_cash.h"
#include "net/http_client.h"

namespace keelson::app {

struct Connectors {
  std::unique_ptr<net::HttpClient> http;      // shared by the shops (libcurl, pooled)
  std::unique_ptr<net::HttpClient> erp_transport;  // the ERP's own connections
  std::unique_ptr<net::HttpClient> erp_http;       // erp_transport paced to erp.limits
  std::unique_ptr<connectors::ErpAdapter> erp;  // null when no `erp` section
  std::map<std::string, std::unique_ptr<connectors::woocommerce::RestClient>, std::less<>> rest;
  std::map<std::string, std::unique_ptr<flows::ShopWriteBack>, std::less<>> shops;
  std::map<std::string, flows::ModifiedOrdersPoller, std::less<>> pollers;

  flows::ShopWriteBack* ShopFor(std::string_view store_id) const;
  const flows::ModifiedOrdersPoller* PollerFor(std::string_view store_id) const;
};

// Errors name the config key at fault (e.g. "erp.type: ...").
absl::StatusOr<std::unique_ptr<Connectors>> BuildConnectors(const Config& config);

// The ERP adapter for `erp` over `http` (explicit registration: one case per ERP).
absl::StatusOr<std::unique_ptr<connectors::ErpAdapter>> NewErpAdapter(const ErpConfig& erp,
                                                                      net::HttpClient& http);

}  // namespace keelson::app
