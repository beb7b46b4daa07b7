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
#include "connectors/woocommerce/stock.h"
#include "flows/inventory.h"
#include "flows/backfill.h"
#include "flows/order_to_cash.h"
#include "jobs/controls.h"
#include "jobs/runner.h"
#include "net/endpoint.h"
#include "net/http_client.h"

namespace keelson::obs {
class Registry;
}

namespace keelson::app {

// The connector names an operator can pause and the lanes (worker pools) of the job runner.
inline constexpr char kErpConnector[] = "erp";
inline constexpr char kWooConnector[] = "woocommerce";
inline constexpr char kCoreLane[] = "core";

struct Connectors {
  std::unique_ptr<net::HttpClient> http;      // shared by the shops (libcurl, pooled)
  std::unique_ptr<net::HttpClient> erp_transport;  // the ERP's own connections
  // erp_transport behind the ERP's endpoint policy (erp.limits: pacing, breaker); null without
  // an ERP.
  std::unique_ptr<net::Endpoint> erp_http;
  // Each store's REST API behind its own policy (stores[].limits), named "woocommerce:<id>".
  std::map<std::string, std::unique_ptr<net::Endpoint>, std::less<>> shop_http;
  std::unique_ptr<connectors::ErpAdapter> erp;  // null when no `erp` section
  std::map<std::string, std::unique_ptr<connectors::woocommerce::RestClient>, std::less<>> rest;
  std::map<std::string, std::unique_ptr<flows::ShopWriteBack>, std::less<>> shops;
  // Stock publication per store (its SKU cache lives as long as the process).
  std::map<std::string, std::unique_ptr<connectors::woocommerce::StockPublisher>, std::less<>>
      stock;
  std::unique_ptr<flows::StockSink> stock_sink;  // over `stock`, for flows::InventoryService
  std::map<std::string, flows::ModifiedOrdersPoller, std::less<>> pollers;

  flows::ShopWriteBack* ShopFor(std::string_view store_id) const;
  const flows::ModifiedOrdersPoller* PollerFor(std::string_view store_id) const;
};

// Errors name the config key at fault (e.g. "erp.type: ..."). `metrics` may be null.
absl::StatusOr<std::unique_ptr<Connectors>> BuildConnectors(const Config& config,
                                                            obs::Registry* metrics = nullptr);

// The endpoint policy for a connector type ("business_central", "odoo", "woocommerce") with the
// configured values over the type's defaults.
net::EndpointOptions EndpointOptionsFor(std::string_view type, std::string name,
                                        const LimitsConfig& limits);

// The job runner's lanes: erp (ERP create/cancel, stock polling), woocommerce (write-back,
// backfill) and core (ingest and local jobs), each gated by its connector's pause switch and
// circuit breaker.
std::vector<jobs::LaneOptions> BuildLanes(const Config& config, const Connectors& connectors,
                                          jobs::ConnectorControls* controls);

// Connector health for /ops/connectors: breaker, rate, in flight, last error, paused, per
// endpoint.
nlohmann::json ConnectorHealth(const Connectors& connectors, jobs::ConnectorControls* controls);

// The ERP adapter for `erp` over `http` (explicit registration: one case per ERP).
absl::StatusOr<std::unique_ptr<connectors::ErpAdapter>> NewErpAdapter(const ErpConfig& erp,
                                                                      net::HttpClient& http);

}  // namespace keelson::app
