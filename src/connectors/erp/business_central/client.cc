#include "connectors/erp/business_central/client.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "jobs/retry_policy.h"
#include "net/endpoint.h"

namespace keelson::connectors::business_central {
namespace {

using json = nlohmann::json;

using core::Cat;
constexpr size_t kMaxMessage = 400;

std::string Truncate(std::string_view s) {
  if (s.size() <= kMaxMessage) return std::string(s);
  return Cat(s.substr(0, kMaxMessage), "...");
}

absl::Status WithRetryAfterIfAny(absl::Status s, const net::OutboundResponse& r, absl::Time now) {
  if (auto d = net::ParseRetryAfter(r.Header("retry-after"), now)) {
    return jobs::WithRetryAfter(s, *d);
  }
  return s;
}

// "The Item does not exist. Identification fields and values: No.='WIDGET-9'" -> WIDGET-9.
std::optional<std::string> UnknownItemNumber(const BcError& e) {
  if (e.code != "Internal_RecordNotFound" ||
      !absl::StartsWith(e.message, "The Item does not exist")) {
    return std::nullopt;
  }
  size_t at = e.message.find("No.='");
  if (at == std::string::npos) return std::nullopt;
  at += 5;
  size_t end = e.message.find('\'', at);
  if (end == std::string::npos) return std::nullopt;
  return e.message.substr(at, end - at);
}

bool IsBusinessRule(std::string_view code) {
  return code == "Application_DialogException" || code == "Application_FieldValidationException" ||
         code == "Internal_RecordNotFound" || code == "Internal_InvalidTableRelation";
}

}  // namespace

std::optional<BcError> ParseBcError(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    return std::nullopt;
  }
  const json& e = j["error"];
  BcError out;
  if (e.contains("code") && e["code"].is_string()) out.code = e["code"].get<std::string>();
  if (e.contains("message") && e["message"].is_string()) {
    out.message = e["message"].get<std::string>();
  }
  return out;
}

absl::Status StatusFromResponse(const net::OutboundResponse& response, std::string_view what,
                                absl::Time now) {
  const int status = response.status;
  if (status >= 200 && status < 300) return absl::OkStatus();

  std::string detail;
  std::optional<BcError> bc = ParseBcError(response.body);
  bool aad = false;
  if (bc) {
    detail = Cat(bc->code, ": ", Truncate(bc->message));
  } else {
    // The Microsoft identity platform's error: {"error":"invalid_client","error_description"}.
    json j = json::parse(response.body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) {
      aad = true;
      std::string description;
      if (j.contains("error_description") && j["error_description"].is_string()) {
        description = j["error_description"].get<std::string>();
      }
      detail = Cat(j["error"].get<std::string>(), ": ", Truncate(description));
    } else {
      detail = Truncate(response.body);
    }
  }
  const std::string message =
      Cat("business_central: ", what, ": HTTP ", status, detail.empty() ? "" : " ", detail);

  if (status == 429)
    return WithRetryAfterIfAny(absl::ResourceExhaustedError(message), response, now);
  if (status >= 500) return WithRetryAfterIfAny(absl::UnavailableError(message), response, now);
  if (status == 408) return absl::DeadlineExceededError(message);
  if (status == 401 || (aad && status == 400)) return absl::UnauthenticatedError(message);
  if (status == 403) return absl::PermissionDeniedError(message);
  if (bc && (status == 400 || status == 404)) {
    if (std::optional<std::string> sku = UnknownItemNumber(*bc)) {
      return absl::FailedPreconditionError(Cat("unknown SKU '", *sku,
                                               "': no item with that number in Business Central (",
                                               message, ")"));
    }
  }
  if (status == 404) return absl::NotFoundError(message);
  if (status == 409 || status == 412) return absl::AbortedError(message);
  if (bc && status == 400 && IsBusinessRule(bc->code)) {
    return absl::FailedPreconditionError(message);
  }
  return absl::InvalidArgumentError(message);
}

Client::Client(ClientOptions options, net::HttpClient& http)
    : options_(std::move(options)), http_(http) {}

int64_t Client::token_fetches() const {
  absl::MutexLock l(&mu_);
  return token_fetches_;
}

absl::StatusOr<std::string> Client::AccessToken(std::string_view rejected) {
  auto usable = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !token_.empty() && token_ != rejected && options_.clock->Now() < refresh_at_;
  };
  {
    absl::MutexLock l(&mu_);
    if (usable()) return token_;
  }
  absl::MutexLock fetch(&fetch_mu_);
  {
    // Another thread may have fetched while this one waited.
    absl::MutexLock l(&mu_);
    if (usable()) return token_;
  }
  net::OutboundRequest req;
  req.method = "POST";
  req.url = options_.token_url;
  req.timeout = options_.timeout;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = Cat("grant_type=client_credentials&client_id=", net::UrlEncode(options_.client_id),
                 "&client_secret=", net::UrlEncode(options_.client_secret),
                 "&scope=", net::UrlEncode(options_.scope));
  const absl::Time sent_at = options_.clock->Now();
  {
    absl::MutexLock l(&mu_);
    ++token_fetches_;
  }
  absl::StatusOr<net::OutboundResponse> res = http_.Send(req);
  if (!res.ok()) {
    return absl::Status(res.status().code(),
                        Cat("business_central: token request: ", res.status().message()));
  }
  if (absl::Status s = StatusFromResponse(*res, "token request", options_.clock->Now()); !s.ok()) {
    return s;
  }
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("access_token") ||
      !j["access_token"].is_string() || j["access_token"].get<std::string>().empty()) {
    return absl::UnauthenticatedError(
        "business_central: token request: the answer has no access_token");
  }
  int64_t expires_in = 3599;
  if (j.contains("expires_in")) {
    // The identity platform sends a number; older endpoints sent a string.
    if (j["expires_in"].is_number_integer()) {
      expires_in = j["expires_in"].get<int64_t>();
    } else if (j["expires_in"].is_string()) {
      absl::SimpleAtoi(j["expires_in"].get<std::string>(), &expires_in);
    }
  }
  const absl::Duration life = absl::Seconds(std::max<int64_t>(expires_in, 1));
  absl::MutexLock l(&mu_);
  token_ = j["access_token"].get<std::string>();
  refresh_at_ = sent_at + life - std::min(options_.refresh_margin, life / 2);
  return token_;
}

absl::StatusOr<net::OutboundResponse> Client::SendWithToken(const std::string& token,
                                                            std::string_view method,
                                                            const std::string& url,
                                                            const std::string& body,
                                                            const Headers& headers) {
  net::OutboundRequest req;
  req.method = std::string(method);
  req.url = url;
  req.timeout = options_.timeout;
  req.body = body;
  req.headers = headers;
  req.headers.emplace_back("Authorization", Cat("Bearer ", token));
  req.headers.emplace_back("Accept", "application/json");
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  return http_.Send(req);
}

absl::StatusOr<net::OutboundResponse> Client::Call(std::string_view method, std::string_view path,
                                                   std::string body, Headers headers) {
  // The call's name for messages: method and path without the query.
  const std::string what = Cat(method, " ", path.substr(1, path.find('?') - 1));
  const std::string url = Cat(options_.base_url, "/companies(", options_.company_id, ")", path);
  absl::StatusOr<std::string> token = AccessToken("");
  if (!token.ok()) return token.status();
  absl::StatusOr<net::OutboundResponse> res = SendWithToken(*token, method, url, body, headers);
  if (res.ok() && res->status == 401) {
    absl::StatusOr<std::string> fresh = AccessToken(*token);
    if (!fresh.ok()) return fresh.status();
    res = SendWithToken(*fresh, method, url, body, headers);
  }
  if (!res.ok()) {
    return absl::Status(res.status().code(),
                        Cat("business_central: ", what, ": ", res.status().message()));
  }
  if (absl::Status s = StatusFromResponse(*res, what, options_.clock->Now()); !s.ok()) return s;
  return res;
}

}  // namespace keelson::connectors::business_central
