#pragma once
// Webhook signatures and digests (OpenSSL).
// WooCommerce signs each delivery with X-WC-Webhook-Signature = base64(HMAC-SHA256(secret, raw
// body)). Verification runs over the raw bytes before any parsing: PHP escapes '/' as "\/", so a
// re-serialised body would not match. Thread-safety: pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace keelson::net {

// base64(HMAC-SHA256(key, message)), as WooCommerce computes it.
std::string HmacSha256Base64(std::string_view key, std::string_view message);
// Constant-time check of a base64 signature header against the body. False on any malformed
// header (wrong length, not base64) without revealing where it differs.
bool VerifyHmacSha256Base64(std::string_view key, std::string_view message,
                            std::string_view signature_b64);
// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Lowercase hex SHA-256 of the concatenation of `parts`, each prefixed by its length so that
// ("ab","c") and ("a","bc") differ.
std::string Sha256HexParts(std::initializer_list<std::string_view> parts);
std::string Base64Encode(std::string_view bytes);
// Decodes standard base64 (RFC 4648 section 4, with '=' padding, no whitespace); nullopt when
// `text` is not that.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace keelson::net
