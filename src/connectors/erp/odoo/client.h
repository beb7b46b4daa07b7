#pragma once
// Odoo's external API over HTTP, in its two dialects, behind one call:
//   JSON-RPC  POST {url}/jsonrpc, service "object", method "execute_kw" with
//             [db, uid, secret, model, method, args, kwargs]; uid from common.authenticate.
//             Odoo 8 .. 21 (deprecated from 19, removal announced for 22).
//   JSON-2    POST {url}/json/2/{model}/{method}, `Authorization: bearer <api key>`, named
//             arguments plus `ids` and `context` in a JSON object. Odoo 19 and later.
// The server's version is read once (common.version, falling back to GET /web/version where
// /jsonrpc is gone) and decides the dialect in "auto" mode: JSON-2 from 19 on when an API key is
// configured, JSON-RPC otherwise. See README.md for the documentation followed.
//
// Every argument is sent by name (kwargs in JSON-RPC, body members in JSON-2), so callers write
// one call for both dialects. Failures come back as absl::Status through MapOdooFault, the one
// place where Odoo's answers become status codes.
//
// Thread-safety: OdooClient is thread-safe. Version detection and authentication happen once
// under a mutex; calls run concurrently. The HttpClient must outlive the OdooClient.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "net/http_client.h"

namespace keelson::connectors::odoo {

enum class Protocol { kAuto, kJsonRpc, kJson2 };

// "auto" | "jsonrpc" | "json2"; anything else is kInvalidArgument naming the value.
absl::StatusOr<Protocol> ParseProtocol(std::string_view name);
std::string_view ProtocolName(Protocol protocol);

struct ClientOptions {
  std::string url;       // the instance, e.g. "https://mycompany.odoo.com" (no path)
  std::string database;  // JSON-RPC: required; JSON-2: sent as X-Odoo-Database when set
  std::string username;  // the login (JSON-RPC)
  std::string password;  // JSON-RPC secret; an API key works here too
  std::string api_key;   // JSON-2 bearer; also the JSON-RPC secret when password is empty
  absl::Duration timeout = absl::Seconds(30);
  Protocol protocol = Protocol::kAuto;
};

struct ServerVersion {
  std::string version;  // server_version as sent: "17.0", "saas~17.4", "19.0"
  int major = 0;        // 17 for "17.0" and for "saas~17.4"
  int minor = 0;
};

// Reads common.version's result ({"server_version", "server_version_info": [17, 0, ...] or
// ["saas~17", 4, ...]}) or /web/version's ({"version", "version_info"}).
absl::StatusOr<ServerVersion> ParseServerVersion(const nlohmann::json& result);

// What Odoo answered when a call failed, whichever dialect carried it.
struct OdooFault {
  int http_status = 200;  // JSON-RPC reports Odoo errors inside an HTTP 200
  int rpc_code = 0;       // JSON-RPC error.code: 200 (<= 18) or 0 (19+); 100 = session expired
  std::string name;       // the exception's qualified name, "odoo.exceptions.AccessError"; may
                          // be empty (a proxy's HTML error page, a bare JSON-2 message)
  std::string message;
  std::optional<absl::Duration> retry_after;  // from a Retry-After header
};

// What the failed call was doing; decides what a UserError means.
enum class CallKind {
  kRead,         // search / read
  kWrite,        // create / write: UserError is invalid data
  kStateChange,  // action_confirm / action_cancel: UserError is a state problem
};

// THE mapping from Odoo's answers to absl codes (see README.md "Error mapping"):
//   HTTP 429                                   kResourceExhausted (+ Retry-After)
//   AccessDenied, session expired, HTTP 401    kUnauthenticated
//   AccessError                                kPermissionDenied
//   MissingError, werkzeug NotFound            kNotFound
//   ValidationError                            kInvalidArgument
//   UserError                                  kInvalidArgument; kFailedPrecondition when `kind`
//                                              is kStateChange (cancel a locked order, ...)
//   RedirectWarning                            kFailedPrecondition (configuration missing)
//   LockError, ConcurrencyError, serialization kAborted
//   builtins ValueError/TypeError/KeyError/AttributeError, werkzeug BadRequest /
//     UnprocessableEntity                      kInvalidArgument (our request was wrong)
//   HTTP 5xx, and an unknown error name        kUnavailable (+ Retry-After) / kInternal
//   other HTTP 4xx by status: 403 kPermissionDenied, 404 kNotFound, 408 kDeadlineExceeded,
//     409 kAborted, else kInvalidArgument
// The message names the operation and what Odoo said; it never carries a secret.
absl::Status MapOdooFault(const OdooFault& fault, std::string_view operation, CallKind kind);

// Retry-After as delta-seconds ("120"); HTTP-dates and junk are nullopt.
std::optional<absl::Duration> ParseRetryAfter(std::string_view value);

// Escapes '\', '%' and '_' so `s` matches literally in an =like / =ilike domain term.
std::string EscapeLike(std::string_view s);

struct CallOptions {
  std::optional<std::vector<int64_t>> ids;            // record methods (read, action_confirm, ...)
  nlohmann::json params = nlohmann::json::object();   // named arguments
  nlohmann::json context = nlohmann::json::object();  // merged into the call's context
  CallKind kind = CallKind::kRead;
};

class OdooClient {
 public:
  OdooClient(ClientOptions options, net::HttpClient& http);

  // The server's version and the dialect in use; detected on first use, then cached. A failed
  // detection is not cached.
  absl::StatusOr<ServerVersion> Version();
  absl::StatusOr<Protocol> ActiveProtocol();

  // Calls model.method and returns its JSON result. With JSON-RPC, authenticates first (once;
  // the uid is cached) and, when the call fails with AccessDenied or an expired session,
  // authenticates again and retries that call once: Odoo checks credentials before running the
  // method, so nothing ran. Writes (kind != kRead) are sent on a fresh connection
  // (net::OutboundRequest::fresh_connection).
  absl::StatusOr<nlohmann::json> Call(std::string_view model, std::string_view method,
                                      const CallOptions& call);

  // For tests and metrics.
  int64_t authentications() const;

 private:
  struct Reply {
    absl::StatusOr<nlohmann::json> result;
    std::optional<OdooFault> fault;  // set when Odoo (or a proxy) answered with an error
  };

  absl::Status EnsureVersion();
  // The cached uid, authenticating when there is none or when it equals `stale`.
  absl::StatusOr<int64_t> Uid(std::optional<int64_t> stale);
  Reply PostJsonRpc(std::string_view operation, const nlohmann::json& params, CallKind kind,
                    bool fresh_connection);
  Reply PostJson2(std::string_view operation, std::string_view model, std::string_view method,
                  const nlohmann::json& body, CallKind kind);
  Reply Classify(std::string_view operation, CallKind kind,
                 const absl::StatusOr<net::OutboundResponse>& response, bool jsonrpc);
  const std::string& RpcSecret() const;

  const ClientOptions options_;
  net::HttpClient& http_;

  mutable absl::Mutex mu_;
  std::optional<ServerVersion> version_ ABSL_GUARDED_BY(mu_);
  Protocol protocol_ ABSL_GUARDED_BY(mu_) = Protocol::kAuto;
  std::optional<int64_t> uid_ ABSL_GUARDED_BY(mu_);
  int64_t authentications_ ABSL_GUARDED_BY(mu_) = 0;
  // Serialises detection and authentication without holding mu_ across HTTP.
  absl::Mutex setup_mu_;
};

}  // namespace keelson::connectors::odoo
