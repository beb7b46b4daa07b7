#pragma once
// Typed configuration of one ShipBob account (one Personal Access Token and one channel) for
// ShipBobProvider. app/config parses the YAML into it (see README.md "Configuration"); this header
// does not know YAML. ValidateShipBobOptions lists every problem with its key path, as the config
// loader reports them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "core/clock.h"
#include "net/endpoint.h"

namespace keelson::connectors::shipbob {

// The outbound policy for the account's net::Endpoint. ShipBob allows 150 requests per minute
// per user and application, in a sliding window (https://developer.shipbob.com/rate-limit):
// 2.5 requests per second, with a small burst so the window is never crossed.
struct ShipBobLimits {
  double requests_per_second = 2.5;
  double burst = 5;
  int concurrency = 4;
  absl::Duration timeout = absl::Seconds(30);  // per request
  bool adaptive = true;
  net::BreakerOptions breaker;
};

struct ShipBobOptions {
  // The provider's name: Shipment::provider, metrics and log label. "shipbob", or
  // "shipbob:<account>" when there are several accounts.
  std::string name = "shipbob";
  // The API root including the version, without a trailing slash:
  // "https://api.shipbob.com/2026-01" (sandbox: "https://sandbox-api.shipbob.com/2026-01").
  std::string base_url = "https://api.shipbob.com/2026-01";
  // Personal Access Token (Integrations > API Tokens in the ShipBob dashboard). Secret.
  std::string token;
  // The channel with write scopes (GET /channel); sent as `shipbob_channel_id`.
  int64_t channel_id = 0;
  // The webhook subscription's signing secret, "whsec_<base64>". Secret.
  std::string webhook_secret;
  // Webhooks whose webhook-timestamp is further than this from now are refused (replays).
  absl::Duration webhook_tolerance = absl::Minutes(5);
  // Sent when the shop's method title is empty; ShipBob maps methods to Ship Options.
  std::string default_shipping_method = "Standard";
  // Orders.OrderType: "DTC", "DropShip" or "B2B".
  std::string order_type = "DTC";
  // Items per page of ListInventoryLevels (`PageSize`).
  int inventory_page_size = 100;
  ShipBobLimits limits;
  // webhook-timestamp checks and Retry-After dates. Never null.
  core::Clock* clock = core::Clock::Real();
};

// Every problem, as "<path>.<key>: <what is wrong>" (path e.g. "fulfillment.providers.shipbob").
// Empty when the options are usable.
std::vector<std::string> ValidateShipBobOptions(const ShipBobOptions& options,
                                                std::string_view path);

// The net::Endpoint options for the account (name, rate, burst, concurrency, breaker, clock).
net::EndpointOptions EndpointOptionsFor(const ShipBobOptions& options);

}  // namespace keelson::connectors::shipbob
