#pragma once
// Structured logging: one event per line on stderr, as a JSON object (production) or as
// human-readable text (local runs), built on spdlog.
//
// JSON line: {"ts":"2026-11-23T09:12:37.123Z","level":"info","msg":"...","correlation_id":"...",
// <fields in the order given>}. ts is UTC with milliseconds; correlation_id only when non-empty.
// Text line:  2026-11-23T09:12:37.123Z info msg correlation_id=... key=value ...
// (control characters in msg escaped; values with spaces, quotes or '=' written as JSON strings).
//
// - Everything is escaped by nlohmann::json; invalid UTF-8 is replaced by U+FFFD, so a line is
//   always valid JSON and never contains a raw newline.
// - Fields whose key (case-insensitive, '-' treated as '_') is or ends with one of secret,
//   password, token, api_key, client_secret, consumer_secret, webhook_secret, authorization
//   (e.g. "x_secret", "X-Shopify-Access-Token") are logged as "***", also inside nested objects.
// - A field whose key is ts/level/msg (or correlation_id when one is passed), or repeats an
//   earlier field, is renamed with a leading '_' ("_msg") so that no JSON key appears twice.
// - Events below the configured level return before anything is formatted.
// - Direct spdlog calls (spdlog::info(...)) on the default logger are written in the same
//   format, with the spdlog message as "msg".
//
// Thread-safety: all functions may be called from any thread. Lines are written whole (spdlog
// _mt sink semantics). Log functions never throw. Before InitLogging(), events at info and above
// are written as JSON.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "spdlog/common.h"

namespace keelson::obs {

enum class LogFormat { kJson, kText };

// Sets up logging (and the default spdlog logger) writing one line per event to stderr.
// level: trace|debug|info|warn|error (also "warning", "critical", "off"; case-insensitive).
// An unknown level selects info and logs a warning. May be called again to change settings.
void InitLogging(const std::string& level, LogFormat format);

using Fields = std::vector<std::pair<std::string, nlohmann::json>>;

// Emits one event (see the format above).
void Log(spdlog::level::level_enum level, std::string_view msg, const Fields& fields = {},
         std::string_view correlation_id = {});

inline void LogDebug(std::string_view msg, const Fields& fields = {},
                     std::string_view correlation_id = {}) {
  Log(spdlog::level::debug, msg, fields, correlation_id);
}
inline void LogInfo(std::string_view msg, const Fields& fields = {},
                    std::string_view correlation_id = {}) {
  Log(spdlog::level::info, msg, fields, correlation_id);
}
inline void LogWarn(std::string_view msg, const Fields& fields = {},
                    std::string_view correlation_id = {}) {
  Log(spdlog::level::warn, msg, fields, correlation_id);
}
inline void LogError(std::string_view msg, const Fields& fields = {},
                     std::string_view correlation_id = {}) {
  Log(spdlog::level::err, msg, fields, correlation_id);
}

// True if an event at `level` would be written (for callers that compute expensive fields).
bool LogEnabled(spdlog::level::level_enum level);

// For tests: deliver each line (without the trailing newline) to `sink` instead of stderr;
// nullptr restores stderr. `sink` is called under the sink's mutex, one line at a time, and must
// not log itself.
void SetLogSinkForTest(std::function<void(std::string_view line)> sink);

}  // namespace keelson::obs
