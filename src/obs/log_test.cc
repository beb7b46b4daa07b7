#include "obs/log.h"

#include <chrono>
#include <ctime>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace keelson::obs {
namespace {

using OrderedJson = nlohmann::ordered_json;

const char kTsPattern[] = R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)";

class ObsLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitLogging("trace", LogFormat::kJson);
    SetLogSinkForTest([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetLogSinkForTest(nullptr);
    InitLogging("info", LogFormat::kJson);
  }

  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // The single captured line, parsed with key order preserved.
  OrderedJson OnlyJsonLine() {
    const std::vector<std::string> lines = Lines();
    EXPECT_EQ(lines.size(), 1u);
    if (lines.empty()) return nullptr;
    EXPECT_EQ(lines[0].find('\n'), std::string::npos) << lines[0];
    return OrderedJson::parse(lines[0]);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

std::vector<std::string> Keys(const OrderedJson& j) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  return keys;
}

TEST_F(ObsLogTest, JsonLineHasExactFields) {
  LogInfo("order synced",
          {{"order_id", 42}, {"shop", "s1"}, {"ok", true}, {"amount", 12.5}, {"tags", {"a", "b"}}},
          "corr-1");
  const OrderedJson j = OnlyJsonLine();
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"ts", "level", "msg", "correlation_id", "order_id",
                                               "shop", "ok", "amount", "tags"}));
  EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(), std::regex(kTsPattern))) << j["ts"];
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "order synced");
  EXPECT_EQ(j["correlation_id"], "corr-1");
  EXPECT_EQ(j["order_id"], 42);
  EXPECT_EQ(j["shop"], "s1");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["amount"], 12.5);
  EXPECT_EQ(j["tags"], OrderedJson({"a", "b"}));
  // Compact output: exactly the object, nothing before or after.
  const std::string line = Lines()[0];
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_NE(line.find(R"("level":"info","msg":"order synced","correlation_id":"corr-1",)"
                      R"("order_id":42,"shop":"s1","ok":true,"amount":12.5,"tags":["a","b"]})"),
            std::string::npos)
      << line;
}

TEST_F(ObsLogTest, NoCorrelationIdWhenEmpty) {
  LogWarn("plain");
  const OrderedJson j = OnlyJsonLine();
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"ts", "level", "msg"}));
  EXPECT_EQ(j["level"], "warn");
}

TEST_F(ObsLogTest, TimestampIsUtcNow) {
  LogInfo("now");
  const std::string ts = OnlyJsonLine()["ts"].get<std::string>();
  std::tm tm{};
  ASSERT_NE(strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << ts;
  const std::time_t logged = timegm(&tm);
  const std::time_t now = std::time(nullptr);
  EXPECT_LE(std::abs(static_cast<long>(now - logged)), 5L) << ts;
}

TEST_F(ObsLogTest, EscapesQuotesNewlinesAndInvalidUtf8) {
  const std::string msg = "say \"hi\"\nbye\\ {}";
  const std::string value = "line1\nline2\t\"q\"\x01 \xc3\xa9";
  LogError(msg, {{"detail", value}, {"bad_utf8", "ok\xff"}}, "c\"id");
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"("msg":"say \"hi\"\nbye\\ {}")"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"("correlation_id":"c\"id")"), std::string::npos) << lines[0];
  const OrderedJson j = OnlyJsonLine();
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], msg);
  EXPECT_EQ(j["detail"], value);
  EXPECT_EQ(j["bad_utf8"], "ok\xef\xbf\xbd");  // U+FFFD replacement character
}

TEST_F(ObsLogTest, LevelFiltering) {
  InitLogging("warn", LogFormat::kJson);
  EXPECT_FALSE(LogEnabled(spdlog::level::info));
  EXPECT_TRUE(LogEnabled(spdlog::level::warn));
  LogDebug("debug");
  LogInfo("info");
  LogWarn("warn");
  LogError("error");
  Log(spdlog::level::trace, "trace");
  Log(spdlog::level::critical, "critical");
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(OrderedJson::parse(lines[0])["msg"], "warn");
  EXPECT_EQ(OrderedJson::parse(lines[1])["msg"], "error");
  EXPECT_EQ(OrderedJson::parse(lines[2])["level"], "critical");

  InitLogging("OFF", LogFormat::kJson);
  LogError("silenced");
  EXPECT_EQ(Lines().size(), 3u);
}

TEST_F(ObsLogTest, UnknownLevelFallsBackToInfoWithWarning) {
  InitLogging("verbose", LogFormat::kJson);
  LogDebug("dropped");
  LogInfo("kept");
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  const OrderedJson warning = OrderedJson::parse(lines[0]);
  EXPECT_EQ(warning["level"], "warn");
  EXPECT_EQ(warning["requested_level"], "verbose");
  EXPECT_EQ(OrderedJson::parse(lines[1])["msg"], "kept");
}

TEST_F(ObsLogTest, RedactsSecrets) {
  LogInfo("connector configured", {{"password", "leak-pw"},
                                   {"API_KEY", "leak-apikey"},
                                   {"x_secret", "leak-x"},
                                   {"client_secret", "leak-cs"},
                                   {"consumer_secret", "leak-cons"},
                                   {"webhook_secret", "leak-wh"},
                                   {"Authorization", "leak-auth"},
                                   {"X-Shopify-Access-Token", "leak-shpat"},
                                   {"token", 12345},
                                   {"config",
                                    {{"url", "https://shop"},
                                     {"refresh_token", "leak-rt"},
                                     {"list", {{{"secret", "leak-nested"}}}}}},
                                   {"token_count", 3},
                                   {"shop", "s1"}});
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("leak"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("12345"), std::string::npos) << lines[0];
  const OrderedJson j = OrderedJson::parse(lines[0]);
  for (const char* key : {"password", "API_KEY", "x_secret", "client_secret", "consumer_secret",
                          "webhook_secret", "Authorization", "X-Shopify-Access-Token", "token"}) {
    EXPECT_EQ(j[key], "***") << key;
  }
  EXPECT_EQ(j["config"]["url"], "https://shop");
  EXPECT_EQ(j["config"]["refresh_token"], "***");
  EXPECT_EQ(j["config"]["list"][0]["secret"], "***");
  EXPECT_EQ(j["token_count"], 3);
  EXPECT_EQ(j["shop"], "s1");
}

TEST_F(ObsLogTest, ReservedAndDuplicateKeysAreRenamed) {
  LogInfo("m", {{"msg", "field"}, {"level", 1}, {"a", 1}, {"a", 2}}, "cid");
  const OrderedJson j = OnlyJsonLine();
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"ts", "level", "msg", "correlation_id", "_msg",
                                               "_level", "a", "_a"}));
  EXPECT_EQ(j["msg"], "m");
  EXPECT_EQ(j["_msg"], "field");
  EXPECT_EQ(j["_a"], 2);
}

TEST_F(ObsLogTest, TextFormat) {
  InitLogging("info", LogFormat::kText);
  LogInfo("order synced\nok",
          {{"order_id", 42}, {"shop", "s 1"}, {"status", "done"}, {"password", "p"}}, "c1");
  LogError("failed");
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(std::string("^") + kTsPattern +
                           R"( info order synced\\nok correlation_id=c1 order_id=42 shop="s 1")"
                           R"( status=done password=\*\*\*$)")))
      << lines[0];
  EXPECT_TRUE(
      std::regex_match(lines[1], std::regex(std::string("^") + kTsPattern + " error failed$")))
      << lines[1];
}

TEST_F(ObsLogTest, DirectSpdlogCallsUseTheSameFormat) {
  spdlog::info("hello {} \"{}\"", 1, "x");
  spdlog::debug("debug {}", 2);
  spdlog::set_pattern("[%l] %v");  // must not break our lines
  LogInfo("after pattern change", {{"k", "v"}});
  spdlog::set_pattern("%+");  // spdlog's default, for other loggers in this process
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  const OrderedJson first = OrderedJson::parse(lines[0]);
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"ts", "level", "msg"}));
  EXPECT_EQ(first["msg"], "hello 1 \"x\"");
  EXPECT_EQ(OrderedJson::parse(lines[1])["level"], "debug");
  const OrderedJson third = OrderedJson::parse(lines[2]);
  EXPECT_EQ(third["msg"], "after pattern change");
  EXPECT_EQ(third["k"], "v");
}

TEST_F(ObsLogTest, ConcurrentLoggingWritesWholeLines) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 1000; ++i) LogInfo("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& thread : threads) thread.join();
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 4000u);
  int sum = 0;
  for (const std::string& line : lines) sum += OrderedJson::parse(line)["i"].get<int>();
  EXPECT_EQ(sum, 4 * (999 * 1000 / 2));
}

}  // namespace
}  // namespace keelson::obs
