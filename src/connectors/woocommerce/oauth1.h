#pragma once
// OAuth 1.0a "one-legged" request signing as WooCommerce's REST API accepts it over plain HTTP
// (RFC 5849 with no token: the signing key is `consumer_secret + "&"`). WooCommerce accepts
// HMAC-SHA1 and HMAC-SHA256; the OAuth parameters travel in the query string and the body is
// not signed. See README.md for the documentation followed.
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace keelson::connectors::woocommerce {

enum class OAuthSignatureMethod { kHmacSha1, kHmacSha256 };

// "HMAC-SHA1" / "HMAC-SHA256".
std::string_view OAuthSignatureMethodName(OAuthSignatureMethod method);
// Inverse of OAuthSignatureMethodName; kInvalidArgument for anything else.
absl::StatusOr<OAuthSignatureMethod> ParseOAuthSignatureMethod(std::string_view name);

using QueryParams = std::vector<std::pair<std::string, std::string>>;  // decoded key, value

// The signature base string (RFC 5849 section 3.4.1): upper-case method, '&', the percent-encoded
// base URL (scheme://host[:port]/path, no query), '&', the percent-encoded normalized parameters
// (each key and value percent-encoded, sorted by key then value, joined as k=v&k=v).
// `params` are decoded values and must not contain oauth_signature.
std::string OAuthBaseString(std::string_view method, std::string_view base_url,
                            const QueryParams& params);

// base64(HMAC(consumer_secret + "&", base_string)) with the method's hash.
std::string OAuthSign(OAuthSignatureMethod method, std::string_view consumer_secret,
                      std::string_view base_string);

// Adds oauth_consumer_key, oauth_nonce, oauth_signature_method, oauth_timestamp and, last,
// oauth_signature to `params` (which hold the request's own query parameters, decoded).
void AddOAuthParams(std::string_view method, std::string_view base_url,
                    std::string_view consumer_key, std::string_view consumer_secret,
                    OAuthSignatureMethod signature_method, int64_t timestamp,
                    std::string_view nonce, QueryParams& params);

// 32 lowercase hex characters from a CSPRNG (WooCommerce recommends a 32-character nonce).
std::string NewOAuthNonce();

}  // namespace keelson::connectors::woocommerce
