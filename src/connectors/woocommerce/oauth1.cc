#include "connectors/woocommerce/oauth1.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/ids.h"
#include "core/strings.h"
#include "net/http_client.h"
#include "net/signature.h"

namespace keelson::connectors::woocommerce {

std::string_view OAuthSignatureMethodName(OAuthSignatureMethod method) {
  switch (method) {
    case OAuthSignatureMethod::kHmacSha1:
      return "HMAC-SHA1";
    case OAuthSignatureMethod::kHmacSha256:
      return "HMAC-SHA256";
  }
  return "HMAC-SHA256";
}

absl::StatusOr<OAuthSignatureMethod> ParseOAuthSignatureMethod(std::string_view name) {
  if (name == "HMAC-SHA1") return OAuthSignatureMethod::kHmacSha1;
  if (name == "HMAC-SHA256") return OAuthSignatureMethod::kHmacSha256;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported OAuth signature method \"", core::AbslSv(name),
                   "\" (WooCommerce accepts HMAC-SHA1 and HMAC-SHA256)"));
}

std::string OAuthBaseString(std::string_view method, std::string_view base_url,
                            const QueryParams& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& [k, v] : params) encoded.emplace_back(net::UrlEncode(k), net::UrlEncode(v));
  std::sort(encoded.begin(), encoded.end());
  std::string normalized = absl::StrJoin(
      encoded, "&", [](std::string* out, const std::pair<std::string, std::string>& kv) {
        absl::StrAppend(out, kv.first, "=", kv.second);
      });
  std::string upper(method);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return absl::StrCat(upper, "&", net::UrlEncode(base_url), "&", net::UrlEncode(normalized));
}

std::string OAuthSign(OAuthSignatureMethod method, std::string_view consumer_secret,
                      std::string_view base_string) {
  // One-legged: there is no token, so the token-secret half of the key is empty.
  const std::string key = absl::StrCat(core::AbslSv(consumer_secret), "&");
  const EVP_MD* md = method == OAuthSignatureMethod::kHmacSha1 ? EVP_sha1() : EVP_sha256();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(base_string.data()), base_string.size(), mac,
           &len) == nullptr) {
    return {};
  }
  return net::Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

void AddOAuthParams(std::string_view method, std::string_view base_url,
                    std::string_view consumer_key, std::string_view consumer_secret,
                    OAuthSignatureMethod signature_method, int64_t timestamp,
                    std::string_view nonce, QueryParams& params) {
  params.emplace_back("oauth_consumer_key", std::string(consumer_key));
  params.emplace_back("oauth_nonce", std::string(nonce));
  params.emplace_back("oauth_signature_method",
                      std::string(OAuthSignatureMethodName(signature_method)));
  params.emplace_back("oauth_timestamp", absl::StrCat(timestamp));
  std::string signature =
      OAuthSign(signature_method, consumer_secret, OAuthBaseString(method, base_url, params));
  params.emplace_back("oauth_signature", std::move(signature));
}

std::string NewOAuthNonce() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // RAND_bytes only fails when the RNG cannot be seeded; fall back to the process's
    // CSPRNG-seeded id generator rather than sending a predictable nonce.
    return core::NewCorrelationId();
  }
  return core::HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace keelson::connectors::woocommerce
