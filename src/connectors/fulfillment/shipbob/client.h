#pragma once
// HTTP access to one ShipBob account (API 2026-01) with a Personal Access Token and the channel
// header, and the one function that turns ShipBob's answers into absl codes (README.md has the
// table and its sources).
//
// Secrets: the token goes only into the Authorization header; it never appears in a status
// message.
// Ownership: borrows `http` (normally the account's net::Endpoint) and the options' clock.
// Thread-safety: thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/fulfillment/shipbob/config.h"
#include "net/http_client.h"

namespace keelson::connectors::shipbob {

// ShipBob's 400/422 body: an object of field name -> array of messages. Also reads a
// {"message": "..."} body and RFC 7807 problem details ("title"/"detail") as one entry.
// Empty when the body is none of these.
std::vector<std::pair<std::string, std::vector<std::string>>> ParseErrorBody(std::string_view body);

// THE classification of an answer from ShipBob; OK for 2xx. `what` names the call
// ("POST order"); `skus`, when given, are the request's products in order, so a field
// "products[1].reference_id" is reported as that SKU.
//   429          kResourceExhausted, WithRetryAfter(x-retry-after / Retry-After)
//   5xx          kUnavailable (WithRetryAfter when the answer has a delay)
//   408          kDeadlineExceeded
//   401          kUnauthenticated            403  kPermissionDenied
//   404          kNotFound                   409  kAborted
//   422          kFailedPrecondition: ShipBob refused the order for a business reason (the
//                documented 422 is a duplicate reference_id; the provider resolves that case by
//                lookup before it gets here, so what remains names e.g. an inactive product)
//   other 4xx    kInvalidArgument: our data was rejected (missing or malformed field)
// The message carries ShipBob's field errors (truncated), never a header or the request body.
absl::Status StatusFromResponse(const net::OutboundResponse& response, std::string_view what,
                                absl::Time now, const std::vector<std::string>* skus = nullptr);

class Client {
 public:
  Client(const ShipBobOptions& options, net::HttpClient& http);

  // Sends `method` to `target`: a path under base_url ("/order?ReferenceIds=X", query already
  // encoded) or an absolute URL on base_url's origin (a `next` link). `body`, when not empty, is
  // sent as JSON. POSTs go on a fresh connection. Any HTTP answer is returned as it is;
  // transport errors keep their code with the call named. kInvalidArgument for a URL elsewhere.
  absl::StatusOr<net::OutboundResponse> Send(std::string_view method, std::string_view target,
                                             std::string body = {});
  // Send, then StatusFromResponse for anything but 2xx.
  absl::StatusOr<net::OutboundResponse> Call(std::string_view method, std::string_view target,
                                             std::string body = {});

  // "https://api.shipbob.com" for base_url "https://api.shipbob.com/2026-01".
  const std::string& origin() const { return origin_; }

 private:
  absl::StatusOr<std::string> Url(std::string_view target) const;

  const ShipBobOptions& options_;
  net::HttpClient& http_;
  std::string origin_;
};

// The call's name for messages: the method and the path without the query or the origin.
std::string CallName(std::string_view method, std::string_view target);

}  // namespace keelson::connectors::shipbob
