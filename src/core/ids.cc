#include "core/ids.h"

#include <chrono>
#include <random>

namespace keelson::core {
namespace {
std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  return rng;
}

void AppendHex(uint64_t v, int digits, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (i * 4)) & 0xF]);
}
}  // namespace

std::string NewCorrelationId() {
  std::string out;
  out.reserve(32);
  // The first 48 bits are the Unix time in milliseconds (as in UUIDv7 and AWS X-Ray trace ids),
  // the other 80 random: ids made one after the other sort together, so the indexes on
  // correlation ids (jobs, timeline, orders) grow at their end instead of rewriting a random
  // page per insert.
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  uint64_t hi = (ms << 16) | (Rng()() & 0xFFFF), lo = Rng()();
  if (hi == 0 && lo == 0) lo = 1;  // an all-zero trace id is invalid in W3C trace context
  AppendHex(hi, 16, out);
  AppendHex(lo, 16, out);
  return out;
}

std::string NewInstanceId(const std::string& prefix) {
  std::string out = prefix + "-";
  AppendHex(Rng()() & 0xFFFFFFFFFFFFull, 12, out);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace keelson::core
