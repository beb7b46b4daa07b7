#pragma once
// Identifiers Keelson mints: correlation ids (W3C trace-id shaped: 32 lowercase hex digits, so they
// can be carried as the trace id of a `traceparent`) and worker/node ids.
// Thread-safety: safe from any thread (per-thread generator).

#include <string>

namespace keelson::core {

// 32 lowercase hex characters: 48 bits of Unix milliseconds, then 80 from a per-thread
// CSPRNG-seeded generator (time-ordered, so indexes on it append); never all zeros.
std::string NewCorrelationId();
// `prefix` + '-' + 12 hex characters; for lease owners and node names.
std::string NewInstanceId(const std::string& prefix);
// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);

}  // namespace keelson::core
