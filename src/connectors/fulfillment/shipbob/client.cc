#include "connectors/fulfillment/shipbob/client.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "core/status_payloads.h"
#include "core/strings.h"
#include "jobs/retry_policy.h"
#include "net/endpoint.h"

namespace keelson::connectors::shipbob {
namespace {

using json = nlohmann::json;
using core::AbslSv;
using core::Cat;

constexpr size_t kMaxMessage = 400;

std::string Truncate(std::string_view s) {
  if (s.size() <= kMaxMessage) return std::string(s);
  return Cat(s.substr(0, kMaxMessage), "...");
}

// "products[2].reference_id" -> 2; nullopt for other fields.
std::optional<size_t> ProductIndex(std::string_view field) {
  if (!absl::StartsWith(AbslSv(field), "products[")) return std::nullopt;
  field.remove_prefix(9);
  size_t close = field.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  size_t i = 0;
  if (!absl::SimpleAtoi(AbslSv(field.substr(0, close)), &i)) return std::nullopt;
  return i;
}

std::string Describe(const std::vector<std::pair<std::string, std::vector<std::string>>>& errors,
                     const std::vector<std::string>* skus) {
  std::string out;
  for (const auto& [field, messages] : errors) {
    if (!out.empty()) out += "; ";
    std::optional<size_t> i = ProductIndex(field);
    if (skus != nullptr && i && *i < skus->size()) {
      out += Cat("SKU '", (*skus)[*i], "' (", field, "): ");
    } else if (!field.empty()) {
      out += Cat(field, ": ");
    }
    for (size_t m = 0; m < messages.size(); ++m) out += Cat(m ? " " : "", messages[m]);
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::string>>> ParseErrorBody(
    std::string_view body) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return out;
  if (j.contains("title") && j["title"].is_string()) {
    std::string text = j["title"].get<std::string>();
    if (j.contains("detail") && j["detail"].is_string())
      text += Cat(": ", j["detail"].get<std::string>());
    out.push_back({"", {text}});
    return out;
  }
  for (const auto& [key, value] : j.items()) {
    std::vector<std::string> messages;
    if (value.is_array()) {
      for (const json& m : value) {
        if (m.is_string()) messages.push_back(m.get<std::string>());
      }
    } else if (value.is_string()) {
      messages.push_back(value.get<std::string>());
    } else {
      continue;
    }
    // {"message": "..."} (5xx, 429) reads as one unnamed entry.
    out.push_back({key == "message" ? std::string() : key, std::move(messages)});
  }
  return out;
}

absl::Status StatusFromResponse(const net::OutboundResponse& response, std::string_view what,
                                absl::Time now, const std::vector<std::string>* skus) {
  const int status = response.status;
  if (status >= 200 && status < 300) return absl::OkStatus();
  std::string detail = Describe(ParseErrorBody(response.body), skus);
  if (detail.empty()) detail = response.body;
  const std::string message =
      Cat("shipbob: ", what, ": HTTP ", status, detail.empty() ? "" : ": ", Truncate(detail));
  auto with_delay = [&](absl::Status s) {
    // x-retry-after (ShipBob's documented 429 header) or Retry-After.
    net::OutboundResponse as_429 = response;
    as_429.status = 429;
    if (std::optional<absl::Duration> d = net::RemotePause(as_429, now)) {
      return jobs::WithRetryAfter(std::move(s), *d);
    }
    return s;
  };
  if (status == 429) return with_delay(absl::ResourceExhaustedError(message));
  if (status >= 500) return with_delay(absl::UnavailableError(message));
  if (status == 408) return absl::DeadlineExceededError(message);
  if (status == 401) return absl::UnauthenticatedError(message);
  if (status == 403) return absl::PermissionDeniedError(message);
  if (status == 404) return absl::NotFoundError(message);
  if (status == 409) return absl::AbortedError(message);
  if (status == 422) return absl::FailedPreconditionError(message);
  return absl::InvalidArgumentError(message);
}

std::string CallName(std::string_view method, std::string_view target) {
  if (size_t scheme = target.find("://"); scheme != std::string_view::npos) {
    size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
  }
  target = target.substr(0, target.find('?'));
  if (!target.empty() && target.front() == '/') target.remove_prefix(1);
  return Cat(method, " ", target);
}

Client::Client(const ShipBobOptions& options, net::HttpClient& http)
    : options_(options), http_(http) {
  const std::string& b = options_.base_url;
  size_t scheme = b.find("://");
  size_t slash = scheme == std::string::npos ? std::string::npos : b.find('/', scheme + 3);
  origin_ = slash == std::string::npos ? b : b.substr(0, slash);
}

absl::StatusOr<std::string> Client::Url(std::string_view target) const {
  if (absl::StartsWith(AbslSv(target), "http://") || absl::StartsWith(AbslSv(target), "https://")) {
    // Only ever send the token back to ShipBob's own origin.
    if (!absl::StartsWith(AbslSv(target), Cat(origin_, "/"))) {
      return absl::InvalidArgumentError(
          Cat("shipbob: refusing to follow a link off ", origin_, ": ", Truncate(target)));
    }
    return std::string(target);
  }
  if (target.empty() || target.front() != '/') {
    return absl::InvalidArgumentError(Cat("shipbob: not a path: ", Truncate(target)));
  }
  // A path from the host root (a `next` link) or one under the versioned base.
  const std::string_view version_path = std::string_view(options_.base_url).substr(origin_.size());
  if (!version_path.empty() && absl::StartsWith(AbslSv(target), Cat(version_path, "/"))) {
    return Cat(origin_, target);
  }
  return Cat(options_.base_url, target);
}

absl::StatusOr<net::OutboundResponse> Client::Send(std::string_view method, std::string_view target,
                                                   std::string body) {
  absl::StatusOr<std::string> url = Url(target);
  if (!url.ok()) return url.status();
  net::OutboundRequest req;
  req.method = std::string(method);
  req.url = *std::move(url);
  req.timeout = options_.limits.timeout;
  req.fresh_connection = method == "POST";
  req.headers = {{"Authorization", Cat("Bearer ", options_.token)},
                 {"Accept", "application/json"},
                 {"shipbob_channel_id", Cat(options_.channel_id)}};
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  absl::StatusOr<net::OutboundResponse> res = http_.Send(req);
  if (!res.ok()) {
    absl::Status s(res.status().code(),
                   Cat("shipbob: ", CallName(method, target), ": ", res.status().message()));
    // An open breaker's "nothing was sent" must reach the job runner.
    return core::WasNotAttempted(res.status()) ? core::MarkNotAttempted(std::move(s)) : s;
  }
  return res;
}

absl::StatusOr<net::OutboundResponse> Client::Call(std::string_view method, std::string_view target,
                                                   std::string body) {
  absl::StatusOr<net::OutboundResponse> res = Send(method, target, std::move(body));
  if (!res.ok()) return res;
  if (absl::Status s = StatusFromResponse(*res, CallName(method, target), options_.clock->Now());
      !s.ok()) {
    return s;
  }
  return res;
}

}  // namespace keelson::connectors::shipbob
