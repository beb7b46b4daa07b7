#include "obs/log.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

#include "spdlog/details/log_msg.h"
#include "spdlog/logger.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace keelson::obs {
namespace {

using Json = nlohmann::json;

// Lines logged through Log() come from this (unregistered) logger and are already formatted;
// anything else reaching the sink is a direct spdlog call and gets formatted by the sink.
constexpr std::string_view kLoggerName = "keelson";

std::atomic<LogFormat> g_format{LogFormat::kJson};

constexpr std::array<std::string_view, 8> kSensitiveKeys = {
    "secret",        "password",        "token",          "api_key",
    "client_secret", "consumer_secret", "webhook_secret", "authorization"};

std::string DumpJson(const Json& value) {
  if (value.is_discarded()) return "null";
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string DumpString(std::string_view s) { return DumpJson(Json(std::string(s))); }

bool IsSensitiveKey(std::string_view key) {
  std::string normalized(key);
  for (char& c : normalized) {
    c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (std::string_view word : kSensitiveKeys) {
    if (std::string_view(normalized).ends_with(word)) return true;
  }
  return false;
}

bool NeedsRedaction(const Json& value) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (IsSensitiveKey(key) || NeedsRedaction(item)) return true;
    }
  } else if (value.is_array()) {
    for (const Json& item : value) {
      if (NeedsRedaction(item)) return true;
    }
  }
  return false;
}

void Redact(Json& value) {
  if (value.is_object()) {
    for (auto& [key, item] : value.items()) {
      if (IsSensitiveKey(key)) {
        item = "***";
      } else {
        Redact(item);
      }
    }
  } else if (value.is_array()) {
    for (Json& item : value) Redact(item);
  }
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

std::optional<spdlog::level::level_enum> ParseLevel(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "trace") return spdlog::level::trace;
  if (lower == "debug") return spdlog::level::debug;
  if (lower == "info") return spdlog::level::info;
  if (lower == "warn" || lower == "warning") return spdlog::level::warn;
  if (lower == "error" || lower == "err") return spdlog::level::err;
  if (lower == "critical" || lower == "fatal") return spdlog::level::critical;
  if (lower == "off") return spdlog::level::off;
  return std::nullopt;
}

// 2026-11-23T09:12:37.123Z
std::string FormatTimestamp(spdlog::log_clock::time_point time) {
  const int64_t millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  int64_t seconds = millis / 1000;
  int64_t ms = millis % 1000;
  if (ms < 0) {
    ms += 1000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Text format: a message on one line (control characters escaped).
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// Text format: a value that needs no quoting is written bare, anything else as JSON.
std::string TextValue(const Json& value) {
  if (!value.is_string()) return DumpJson(value);
  const auto& s = value.get_ref<const std::string&>();
  bool bare = !s.empty();
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=' || c == '\\') {
      bare = false;
      break;
    }
  }
  return bare ? s : DumpJson(value);
}

// Text format: keys never contain separators.
std::string TextKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '=' || c == '"') c = '_';
  }
  return out.empty() ? "_" : out;
}

// The value as it may be logged: "***" for sensitive keys, nested secrets masked.
std::string SafeValue(std::string_view key, const Json& value, LogFormat format) {
  if (IsSensitiveKey(key)) return format == LogFormat::kJson ? "\"***\"" : "***";
  if (NeedsRedaction(value)) {
    Json copy = value;
    Redact(copy);
    return format == LogFormat::kJson ? DumpJson(copy) : TextValue(copy);
  }
  return format == LogFormat::kJson ? DumpJson(value) : TextValue(value);
}

// Builds one event line (no trailing newline). `logger` is set for direct spdlog calls.
std::string FormatEvent(spdlog::log_clock::time_point time, spdlog::level::level_enum level,
                        std::string_view msg, const Fields& fields, std::string_view correlation_id,
                        std::string_view logger) {
  const LogFormat format = g_format.load(std::memory_order_relaxed);
  // Keys already used in the line: a field may not repeat one (JSON keys must be unique).
  std::vector<std::string> used = {"ts", "level", "msg"};
  std::vector<std::pair<std::string_view, std::string>> extra;  // correlation_id, logger
  if (!correlation_id.empty()) extra.emplace_back("correlation_id", std::string(correlation_id));
  if (!logger.empty()) extra.emplace_back("logger", std::string(logger));
  for (const auto& [key, value] : extra) used.emplace_back(key);

  std::string out;
  if (format == LogFormat::kJson) {
    out += "{\"ts\":\"";
    out += FormatTimestamp(time);
    out += "\",\"level\":\"";
    out += LevelName(level);
    out += "\",\"msg\":";
    out += DumpString(msg);
    for (const auto& [key, value] : extra) {
      out += ",\"";
      out += key;
      out += "\":";
      out += DumpString(value);
    }
  } else {
    out += FormatTimestamp(time);
    out += ' ';
    out += LevelName(level);
    out += ' ';
    out += OneLine(msg);
    for (const auto& [key, value] : extra) {
      out += ' ';
      out += key;
      out += '=';
      out += TextValue(Json(value));
    }
  }

  for (const auto& [key, value] : fields) {
    std::string unique_key = key;
    while (std::find(used.begin(), used.end(), unique_key) != used.end()) {
      unique_key.insert(unique_key.begin(), '_');
    }
    used.push_back(unique_key);
    if (format == LogFormat::kJson) {
      out += ',';
      out += DumpString(unique_key);
      out += ':';
    } else {
      out += ' ';
      out += TextKey(unique_key);
      out += '=';
    }
    out += SafeValue(key, value, format);
  }
  if (format == LogFormat::kJson) out += '}';
  return out;
}

// Writes each line to stderr, or to the test callback. Lines from Log() are already formatted
// and pass through the "%v" pattern; direct spdlog calls are formatted here, so that every line
// on stderr has the same format whatever pattern other code sets.
class DispatchSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  DispatchSink()
      : spdlog::sinks::base_sink<std::mutex>(std::make_unique<spdlog::pattern_formatter>(
            "%v", spdlog::pattern_time_type::utc, /*eol=*/"")) {}

  void SetTestSink(std::function<void(std::string_view)> sink) {
    std::lock_guard<std::mutex> lock(mutex_);
    test_sink_ = std::move(sink);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view logger_name(msg.logger_name.data(), msg.logger_name.size());
    std::string line;
    if (logger_name == kLoggerName) {
      spdlog::memory_buf_t buf;
      formatter_->format(msg, buf);
      line.assign(buf.data(), buf.size());
    } else {
      line =
          FormatEvent(msg.time, msg.level, std::string_view(msg.payload.data(), msg.payload.size()),
                      {}, {}, logger_name);
    }
    if (test_sink_) {
      test_sink_(line);
      return;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }

  void flush_() override { std::fflush(stderr); }

  // The line format belongs to this module: spdlog::set_pattern() elsewhere must not change it.
  void set_pattern_(const std::string&) override {}
  void set_formatter_(std::unique_ptr<spdlog::formatter>) override {}

 private:
  std::function<void(std::string_view)> test_sink_;  // guarded by mutex_
};

struct LogState {
  std::shared_ptr<DispatchSink> sink;
  std::shared_ptr<spdlog::logger> logger;          // used by Log(); never replaced
  std::shared_ptr<spdlog::logger> default_logger;  // spdlog's default after InitLogging()
};

// Created on first use and never destroyed, so logging works during static destruction.
LogState& State() {
  static LogState* const state = [] {
    auto* s = new LogState();
    s->sink = std::make_shared<DispatchSink>();
    s->logger = std::make_shared<spdlog::logger>(std::string(kLoggerName), s->sink);
    s->default_logger = std::make_shared<spdlog::logger>("", s->sink);
    for (const auto& logger : {s->logger, s->default_logger}) {
      logger->set_level(spdlog::level::info);
      logger->flush_on(spdlog::level::off);  // the sink writes through to stderr itself
    }
    return s;
  }();
  return *state;
}

}  // namespace

void InitLogging(const std::string& level, LogFormat format) {
  const std::optional<spdlog::level::level_enum> parsed = ParseLevel(level);
  const spdlog::level::level_enum effective = parsed.value_or(spdlog::level::info);
  LogState& state = State();
  g_format.store(format, std::memory_order_relaxed);
  state.logger->set_level(effective);
  state.default_logger->set_level(effective);
  spdlog::set_default_logger(state.default_logger);
  if (!parsed) {
    Log(spdlog::level::warn, "unknown log level, using info", {{"requested_level", level}});
  }
}

bool LogEnabled(spdlog::level::level_enum level) { return State().logger->should_log(level); }

void Log(spdlog::level::level_enum level, std::string_view msg, const Fields& fields,
         std::string_view correlation_id) {
  spdlog::logger& logger = *State().logger;
  if (!logger.should_log(level)) return;
  try {
    const spdlog::log_clock::time_point now = spdlog::log_clock::now();
    const std::string line = FormatEvent(now, level, msg, fields, correlation_id, {});
    logger.log(now, spdlog::source_loc{}, level, spdlog::string_view_t(line.data(), line.size()));
  } catch (...) {
    // Logging must never take the caller down (e.g. std::bad_alloc while formatting).
  }
}

void SetLogSinkForTest(std::function<void(std::string_view line)> sink) {
  State().sink->SetTestSink(std::move(sink));
}

}  // namespace keelson::obs
