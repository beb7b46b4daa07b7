#pragma once
// Outbound HTTP for connectors (libcurl). One interface so adapters can be driven against a
// simulator, a fake, or the real API the same way.
//
// Errors are transport errors only; any HTTP status (including 4xx/5xx) is a successful Send
// whose `status` the adapter classifies. Transport errors map to:
//   kDeadlineExceeded  the request timed out; the remote MAY have acted on it (uncertain outcome)
//   kUnavailable       could not connect, or the connection broke; after the request was sent
//                      this is also an uncertain outcome
//   kInvalidArgument   malformed URL or unsupported scheme
// Adapters must treat both kDeadlineExceeded and kUnavailable on a non-idempotent request as
// "may have happened" and look the result up before trying again.
//
// POST and PATCH always go out on a fresh connection, so libcurl never re-sends them on its own
// (it re-sends any request whose reused connection dies before the answer starts).
//
// Thread-safety: Send is thread-safe; each call borrows a pooled curl handle (connections are
// kept alive per handle).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace keelson::net {

struct OutboundRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);
  // Send on a new connection instead of a kept-alive one. Set it on non-idempotent requests:
  // when a reused connection dies before any byte of the answer arrives, libcurl silently sends
  // the request again on a fresh connection, so a create the remote already committed would be
  // made twice. On a fresh connection the same failure is reported (kUnavailable) instead.
  bool fresh_connection = false;
};

struct OutboundResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order

  // First header value named `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual absl::StatusOr<OutboundResponse> Send(const OutboundRequest& request) = 0;
};

struct CurlClientOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  std::string user_agent = "keelson";
  int max_pooled_handles = 16;
};

std::unique_ptr<HttpClient> NewCurlHttpClient(CurlClientOptions options = {});

// Percent-encodes `s` for a URL query component or path segment (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s);
// Decodes %XX escapes (malformed ones are kept as they are) and, with `plus_is_space` (query
// strings and form bodies, PHP's urldecode), '+' as a space; without it, PHP's rawurldecode.
std::string UrlDecode(std::string_view s, bool plus_is_space = true);

}  // namespace keelson::net
