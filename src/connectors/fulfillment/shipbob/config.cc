#include "connectors/fulfillment/shipbob/config.h"

#include "absl/strings/match.h"
#include "core/strings.h"
#include "net/signature.h"

namespace keelson::connectors::shipbob {

using core::AbslSv;
using core::Cat;

std::vector<std::string> ValidateShipBobOptions(const ShipBobOptions& o, std::string_view path) {
  std::vector<std::string> errors;
  auto bad = [&](std::string_view key, std::string_view what) {
    errors.push_back(Cat(path, ".", key, ": ", what));
  };
  if (o.name.empty()) bad("name", "must not be empty");
  if (!absl::StartsWith(AbslSv(o.base_url), "https://") &&
      !absl::StartsWith(AbslSv(o.base_url), "http://")) {
    bad("base_url", "must be an http(s) URL such as https://api.shipbob.com/2026-01");
  } else if (absl::EndsWith(AbslSv(o.base_url), "/")) {
    bad("base_url", "must not end with '/'");
  }
  if (o.token.empty()) bad("token", "is required (a ShipBob Personal Access Token)");
  if (o.channel_id <= 0) bad("channel_id", "must be > 0 (the channel id with write scopes)");
  if (o.webhook_secret.empty()) {
    bad("webhook_secret", "is required (the subscription's whsec_... secret)");
  } else {
    std::string_view s = o.webhook_secret;
    if (absl::StartsWith(AbslSv(s), "whsec_")) s.remove_prefix(6);
    if (!net::Base64Decode(s) || s.empty()) {
      bad("webhook_secret", "must be whsec_ followed by base64");
    }
  }
  if (o.webhook_tolerance <= absl::ZeroDuration()) bad("webhook_tolerance", "must be > 0");
  if (o.default_shipping_method.empty()) bad("default_shipping_method", "must not be empty");
  if (o.order_type != "DTC" && o.order_type != "DropShip" && o.order_type != "B2B") {
    bad("order_type", "must be DTC, DropShip or B2B");
  }
  if (o.inventory_page_size <= 0) bad("inventory_page_size", "must be > 0");
  if (o.limits.requests_per_second <= 0) bad("limits.requests_per_second", "must be > 0");
  if (o.limits.burst < 0) bad("limits.burst", "must be >= 0");
  if (o.limits.concurrency <= 0) bad("limits.concurrency", "must be > 0");
  if (o.limits.timeout <= absl::ZeroDuration()) bad("limits.timeout", "must be > 0");
  return errors;
}

net::EndpointOptions EndpointOptionsFor(const ShipBobOptions& o) {
  net::EndpointOptions e;
  e.name = o.name;
  e.requests_per_second = o.limits.requests_per_second;
  e.burst = o.limits.burst;
  e.concurrency = o.limits.concurrency;
  e.adaptive = o.limits.adaptive;
  e.breaker = o.limits.breaker;
  e.clock = o.clock;
  return e;
}

}  // namespace keelson::connectors::shipbob
