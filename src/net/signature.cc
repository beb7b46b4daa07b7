#include "net/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "core/ids.h"

namespace keelson::net {
namespace {
constexpr size_t kMacLen = 32;

bool Mac(std::string_view key, std::string_view message, unsigned char out[kMacLen]) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(), out,
              &len) != nullptr &&
         len == kMacLen;
}
}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '+' || c == '/') continue;
    // '=' only as the last one or two characters.
    if (c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=')) continue;
    return std::nullopt;
  }
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes the padding stands for; drop them.
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string HmacSha256Base64(std::string_view key, std::string_view message) {
  unsigned char mac[kMacLen];
  if (!Mac(key, message, mac)) return {};
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), kMacLen));
}

bool VerifyHmacSha256Base64(std::string_view key, std::string_view message,
                            std::string_view signature_b64) {
  // 32 bytes encode to exactly 44 base64 characters ending in one '='.
  if (signature_b64.size() != 44) return false;
  unsigned char given[48];
  int n = EVP_DecodeBlock(given, reinterpret_cast<const unsigned char*>(signature_b64.data()),
                          static_cast<int>(signature_b64.size()));
  if (n != 33) return false;  // EVP_DecodeBlock counts the padding byte
  unsigned char expected[kMacLen];
  if (!Mac(key, message, expected)) return false;
  return CRYPTO_memcmp(given, expected, kMacLen) == 0;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return core::HexEncode(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string Sha256HexParts(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (std::string_view p : parts) {
    std::string len = absl::StrCat(p.size(), ":");
    EVP_DigestUpdate(ctx, len.data(), len.size());
    EVP_DigestUpdate(ctx, p.data(), p.size());
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx, md, &md_len);
  EVP_MD_CTX_free(ctx);
  return core::HexEncode(std::string_view(reinterpret_cast<const char*>(md), md_len));
}

}  // namespace keelson::net
