#include "connectors/fulfillment/shipbob/provider.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/status_payloads.h"
#include "core/strings.h"
#include "net/signature.h"

namespace keelson::connectors::shipbob {
namespace {

using json = nlohmann::json;
using core::AbslSv;
using core::Cat;

std::string_view HeaderValue(const ShipBobProvider::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(AbslSv(k), AbslSv(name))) return v;
  }
  return {};
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string WebhookId(const ShipBobProvider::Headers& headers) {
  return std::string(HeaderValue(headers, "webhook-id"));
}

ShipBobProvider::ShipBobProvider(ShipBobOptions options, net::HttpClient& http)
    : options_(std::move(options)), client_(options_, http) {}

absl::StatusOr<std::optional<OrderRef>> ShipBobProvider::FindOrder(std::string_view segment_id) {
  absl::StatusOr<net::OutboundResponse> res =
      client_.Call("GET", Cat("/order?ReferenceIds=", net::UrlEncode(segment_id)));
  if (!res.ok()) return res.status();
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return absl::UnavailableError("shipbob: GET order: the answer is not a JSON array");
  }
  for (const json& o : j) {
    // ReferenceIds is a filter; the exact reference is what makes it our order.
    absl::StatusOr<OrderRef> ref = ParseOrderRef(o);
    if (ref.ok() && ref->reference_id == segment_id) return std::optional<OrderRef>(*ref);
  }
  return std::optional<OrderRef>();
}

absl::StatusOr<ReleaseResult> ShipBobProvider::Release(const ReleaseRequest& request,
                                                       const ReleaseOptions& release_options) {
  absl::StatusOr<json> body = CreateOrderBody(request, options_);
  if (!body.ok()) return body.status();
  if (release_options.verify_first) {
    absl::StatusOr<std::optional<OrderRef>> found = FindOrder(request.segment_id);
    if (!found.ok()) return found.status();
    if (*found) return ReleaseResult{Cat((*found)->id), true};
  }
  absl::StatusOr<net::OutboundResponse> res = client_.Send("POST", "/order", body->dump());
  if (!res.ok()) {
    // Failed before sending (open breaker): nothing can exist, and the marker must survive.
    if (core::WasNotAttempted(res.status())) return res.status();
    // The request may have reached ShipBob: the retry looks the reference up first.
    return absl::Status(res.status().code(),
                        Cat(res.status().message(), " (segment '", request.segment_id,
                            "' may have been created; release again with verify_first)"));
  }
  if (res->status == 200 || res->status == 201) {
    json j = json::parse(res->body, nullptr, false);
    absl::StatusOr<OrderRef> ref =
        j.is_discarded() ? absl::InvalidArgumentError("not JSON") : ParseOrderRef(j);
    if (!ref.ok()) {
      // Created, but we cannot say as what: the lookup on the retry will.
      return absl::UnavailableError(Cat("shipbob: POST order: HTTP ", res->status,
                                        " without a readable order id for segment '",
                                        request.segment_id, "'"));
    }
    return ReleaseResult{Cat(ref->id), false};
  }
  std::vector<std::string> skus;
  for (const ReleaseLine& l : request.lines) skus.push_back(l.sku);
  if (res->status == 422) {
    // ShipBob's documented 422 is "Duplicate reference ID": an earlier attempt created it. Any
    // other 422 finds nothing and stays a refusal.
    absl::StatusOr<std::optional<OrderRef>> found = FindOrder(request.segment_id);
    if (!found.ok()) return found.status();
    if (*found) return ReleaseResult{Cat((*found)->id), true};
  }
  return StatusFromResponse(*res, "POST order", options_.clock->Now(), &skus);
}

absl::StatusOr<std::vector<Shipment>> ShipBobProvider::ParseShipmentWebhook(
    const Headers& headers, std::string_view body) const {
  if (options_.webhook_secret.empty()) {
    return absl::FailedPreconditionError(
        Cat(options_.name, ": no webhook_secret configured; refusing unsigned webhooks"));
  }
  const std::string_view id = HeaderValue(headers, "webhook-id");
  const std::string_view ts = HeaderValue(headers, "webhook-timestamp");
  const std::string_view signatures = HeaderValue(headers, "webhook-signature");
  if (id.empty() || ts.empty() || signatures.empty()) {
    return absl::UnauthenticatedError(
        Cat(options_.name, ": webhook without webhook-id, webhook-timestamp or webhook-signature"));
  }
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(AbslSv(ts), &seconds)) {
    return absl::UnauthenticatedError(Cat(options_.name, ": webhook-timestamp is not a number"));
  }
  const absl::Duration skew = options_.clock->Now() - absl::FromUnixSeconds(seconds);
  if (absl::AbsDuration(skew) > options_.webhook_tolerance) {
    return absl::UnauthenticatedError(Cat(options_.name, ": webhook-timestamp ", seconds, " is ",
                                          absl::FormatDuration(skew), " away from now (tolerance ",
                                          absl::FormatDuration(options_.webhook_tolerance), ")"));
  }
  std::string_view secret = options_.webhook_secret;
  if (absl::StartsWith(AbslSv(secret), "whsec_")) secret.remove_prefix(6);
  std::optional<std::string> key = net::Base64Decode(secret);
  if (!key)
    return absl::FailedPreconditionError(Cat(options_.name, ": webhook_secret is not base64"));
  const std::string expected = net::HmacSha256Base64(*key, Cat(id, ".", ts, ".", body));
  bool verified = false;
  for (absl::string_view entry : absl::StrSplit(AbslSv(signatures), ' ', absl::SkipEmpty())) {
    std::string_view e = core::StdSv(entry);
    if (!absl::StartsWith(entry, "v1,")) continue;
    e.remove_prefix(3);
    // No early exit: every entry is compared in constant time.
    verified = ConstantTimeEquals(e, expected) || verified;
  }
  if (!verified) {
    return absl::UnauthenticatedError(Cat(options_.name, ": webhook ", id, ": bad signature"));
  }
  std::string_view topic = HeaderValue(headers, "x-webhook-topic");
  if (topic.empty()) topic = HeaderValue(headers, "shipbob-topic");  // legacy subscriptions
  if (topic != "order.shipped" && topic != "order_shipped") return std::vector<Shipment>{};
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(Cat(options_.name, ": webhook ", id, ": body is not JSON"));
  }
  return ShipmentsFromJson(j, options_.name);
}

absl::StatusOr<InventoryPage> ShipBobProvider::ListInventoryLevels(std::string_view page) {
  const std::string target =
      page.empty() ? Cat("/inventory-level/locations?PageSize=", options_.inventory_page_size)
                   : std::string(page);
  absl::StatusOr<net::OutboundResponse> res = client_.Call("GET", target);
  if (!res.ok()) return res.status();
  absl::StatusOr<InventoryPage> parsed = ParseInventoryLevels(res->body);
  if (!parsed.ok()) return absl::UnavailableError(parsed.status().message());
  if (parsed->next_page == page && !page.empty()) {
    return absl::UnavailableError("shipbob: inventory levels: `next` points at the same page");
  }
  return parsed;
}

}  // namespace keelson::connectors::shipbob
