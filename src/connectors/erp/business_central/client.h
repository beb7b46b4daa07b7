#pragma once
// HTTP access to one Business Central company through the API v2.0, authenticated with an
// OAuth2 client-credentials token from the Microsoft identity platform, and the one function
// that turns BC's answers into absl codes (see README.md for the table and its sources).
//
// The token is fetched on first use, cached, and fetched again `refresh_margin` before it
// expires (at most halfway through its life). A request answered 401 is sent once more with a
// freshly fetched token: BC answers 401 to a token revoked or expired early, and that is the only
// resend this client ever does (rules of connectors/erp.h otherwise: no retries, no sleeps).
// One thread fetches at a time; the others wait for its token.
//
// Secrets: the client secret goes only into the token request body, the token only into the
// Authorization header; neither appears in a status message.
//
// Ownership: borrows `http` and `options.clock`; they must outlive the client.
// Thread-safety: thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "net/http_client.h"

namespace keelson::connectors::business_central {

struct ClientOptions {
  // The API root, `erp.url` in the config:
  // "https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0".
  std::string base_url;
  std::string company_id;  // GUID of the company
  // "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
  std::string token_url;
  std::string client_id;
  std::string client_secret;
  std::string scope = "https://api.businesscentral.dynamics.com/.default";
  absl::Duration timeout = absl::Seconds(30);  // per request
  absl::Duration refresh_margin = absl::Minutes(5);
  core::Clock* clock = core::Clock::Real();  // token expiry, Retry-After dates. Never null.
};

// BC's error body {"error":{"code","message"}}, when the body has that shape.
struct BcError {
  std::string code;
  std::string message;
};
std::optional<BcError> ParseBcError(std::string_view body);

// THE classification of an answer from Business Central or its token endpoint; OK for 2xx.
// `what` names the call in the message ("POST salesOrders"). `now` resolves an HTTP-date
// Retry-After.
//   429                  kResourceExhausted (WithRetryAfter when Retry-After is present)
//   5xx                  kUnavailable (WithRetryAfter when present)
//   408                  kDeadlineExceeded
//   401                  kUnauthenticated; 400 from the token endpoint (AAD error) likewise
//   403                  kPermissionDenied
//   404                  kNotFound
//   409, 412             kAborted (Request_EntityChanged: someone else changed the record)
//   400/404 "The Item does not exist ... No.='X'"       kFailedPrecondition "unknown SKU 'X'"
//   400 Application_DialogException, Application_FieldValidationException,
//       Internal_RecordNotFound, Internal_InvalidTableRelation   kFailedPrecondition
//   other 4xx            kInvalidArgument
// The message carries BC's code and message (truncated), never a header or the request body.
absl::Status StatusFromResponse(const net::OutboundResponse& response, std::string_view what,
                                absl::Time now = absl::Now());

class Client {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  Client(ClientOptions options, net::HttpClient& http);

  // Sends `method` to `{base_url}/companies({company_id}){path}` (path starts with '/', query
  // already encoded) with a bearer token; `body`, when not empty, as JSON. Returns the response
  // if it is 2xx, otherwise StatusFromResponse's status. Transport errors keep their code
  // (kUnavailable / kDeadlineExceeded) and get the call's name as context.
  absl::StatusOr<net::OutboundResponse> Call(std::string_view method, std::string_view path,
                                             std::string body = {}, Headers headers = {});

  // Token fetches so far (for tests and metrics).
  int64_t token_fetches() const;

 private:
  // A valid token; fetches one when there is none, it is due for refresh, or it equals
  // `rejected` (the token a 401 answered).
  absl::StatusOr<std::string> AccessToken(std::string_view rejected);
  absl::StatusOr<net::OutboundResponse> SendWithToken(const std::string& token,
                                                      std::string_view method,
                                                      const std::string& url,
                                                      const std::string& body,
                                                      const Headers& headers);

  const ClientOptions options_;
  net::HttpClient& http_;

  absl::Mutex fetch_mu_;  // serialises token fetches; taken before mu_
  mutable absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Time refresh_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t token_fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace keelson::connectors::business_central
