// The keelson command line, run as a user would: exit codes, messages, and the dead-letter
// commands against a running server's database.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "net/signature.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace keelson {
namespace {

using testing::HttpClient;
using testing::KeelsonProcess;
using testing::RunKeelson;
using testing::TempDir;
using testing::WooHeaders;

std::string Write(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.File(name)) << text;
  return dir.File(name);
}

TEST(CliTest, VersionPrintsTheVersion) {
  auto r = RunKeelson({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, std::string("keelson ") + KEELSON_VERSION + "\n");
}

TEST(CliTest, ApikeyNewPrintsAKeyAndTheDigestThatAcceptsIt) {
  auto r = RunKeelson({"apikey", "new", "--name", "finance", "--scope", "ops:read"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const size_t k = r.output.find("kls_");
  ASSERT_NE(k, std::string::npos) << r.output;
  const std::string key = r.output.substr(k, r.output.find('\n', k) - k);
  EXPECT_EQ(key.size(), 4u + 48u);
  EXPECT_NE(r.output.find("- {name: finance, sha256: \"" + net::Sha256Hex(key) +
                          "\", scopes: [\"ops:read\"]}"),
            std::string::npos)
      << r.output;
  auto again = RunKeelson({"apikey", "new", "--name", "finance"});
  EXPECT_EQ(again.output.find(key), std::string::npos);  // a fresh key every time
  EXPECT_EQ(RunKeelson({"apikey", "new", "--name", "x", "--scope", "admin"}).exit_code, 1);
}

TEST(CliTest, UnknownCommandIsAUserError) {
  EXPECT_EQ(RunKeelson({"frobnicate"}).exit_code, 1);
}

TEST(CliTest, DemoStreamsOrdersIntoTheErpAndSaysWhereToLook) {
  TempDir dir;
  for (const char* erp : {"business_central", "odoo"}) {
    auto r = RunKeelson({"demo", "--orders", "6", "--port", "0", "--once", "--erp", erp, "--dir",
                         dir.File(erp)});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    // 6 streamed + the one whose webhook never came (backfill); the unknown SKU stays parked.
    EXPECT_NE(r.output.find("7 of 7 paid orders are now in the"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("/v1/orders/main/"), std::string::npos);
    EXPECT_NE(r.output.find("unknown SKU NEW-ITEM"), std::string::npos);
    // With no --api-key, a fresh random one: 32 bytes in hex, printed with the console's URL and
    // written to demo.json for scripts; the config holds only its digest.
    auto demo = nlohmann::json::parse(testing::ReadFile(dir.File(erp) + "/demo.json"), nullptr,
                                      false);
    ASSERT_TRUE(demo.is_object()) << r.output;
    const std::string key = demo.value("api_key", "");
    EXPECT_EQ(key.size(), 64u);
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos) << key;
    EXPECT_NE(r.output.find("console: " + demo.value("console", "?") + "  key: " + key),
              std::string::npos)
        << r.output;
    EXPECT_EQ(demo.value("console", ""), demo.value("keelson", "?") + "/console/");
    EXPECT_EQ(demo["erp"].value("type", ""), erp);
    EXPECT_EQ(demo.value("first_order", "").rfind("main:", 0), 0u);
    EXPECT_EQ(demo.value("parked_order", "").rfind("main:", 0), 0u);
    const std::string config = testing::ReadFile(dir.File(erp) + "/keelson.yaml");
    EXPECT_NE(config.find(net::Sha256Hex(key)), std::string::npos);
    EXPECT_EQ(config.find(key), std::string::npos);
  }
}

TEST(CliTest, DemoTakesTheConsoleKeyItIsGiven) {
  TempDir dir;
  auto r = RunKeelson({"demo", "--orders", "2", "--port", "0", "--once", "--api-key",
                       "operator-key-1", "--dir", dir.File("d")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("key: operator-key-1"), std::string::npos) << r.output;
  auto demo = nlohmann::json::parse(testing::ReadFile(dir.File("d") + "/demo.json"));
  EXPECT_EQ(demo["api_key"], "operator-key-1");
}

TEST(CliTest, SimRejectsAnUnknownSimulator) {
  auto r = RunKeelson({"sim", "sap"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown simulator \"sap\""), std::string::npos) << r.output;
}

TEST(CliTest, CheckConfigAcceptsTheDemoConfig) {
  auto r = RunKeelson({"check-config", "--config", std::string(KEELSON_SOURCE_DIR) +
                                                       "/configs/demo.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok (1 store, storage sqlite)"), std::string::npos) << r.output;
}

TEST(CliTest, CheckConfigListsEveryErrorWithItsPathAndExits1) {
  TempDir dir;
  auto path = Write(dir, "bad.yaml",
                    "server: {listne: \"127.0.0.1:8080\"}\n"
                    "storage: {engine: mysql}\n"
                    "stores:\n  - {id: main, url: \"http://x\", webhook_secret: \"${KEELSON_TEST_UNSET_VAR}\"}\n"
                    "jobs: {workers: 0}\n");
  auto r = RunKeelson({"check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 1);
  for (const char* expected :
       {"server.listne: unknown key", "storage.engine: must be one of sqlite, postgres",
        "stores[0].webhook_secret: environment variable KEELSON_TEST_UNSET_VAR is not set",
        "jobs.workers: must be > 0"}) {
    EXPECT_NE(r.output.find(expected), std::string::npos) << "missing: " << expected << "\n"
                                                          << r.output;
  }
  // serve refuses to start on the same file, with the same list.
  auto s = RunKeelson({"serve", "--config", path});
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.output.find("server.listne: unknown key"), std::string::npos) << s.output;
}

TEST(CliTest, AnIntakeJournalThatCannotBeOpenedStopsStartUpNamingItsKey) {
  TempDir dir;
  // The journal's directory would have to be inside a regular file.
  Write(dir, "not-a-dir", "x");
  auto path = Write(dir, "j.yaml",
                    absl::StrCat("server: {listen: \"127.0.0.1:0\"}\n"
                                 "storage: {path: \"", dir.File("k.db"),
                                 "\", intake_journal_dir: \"", dir.File("not-a-dir"),
                                 "/journal\"}\n"
                                 "stores:\n  - {id: main, url: \"http://x\", webhook_secret: s}\n"));
  auto r = RunKeelson({"serve", "--config", path});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("storage.intake_journal_dir"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cannot create the intake journal directory"), std::string::npos)
      << r.output;
}

TEST(CliTest, PostgresWithoutADsnIsReportedAtItsPath) {
  TempDir dir;
  auto path = Write(dir, "pg.yaml",
                    "storage: {engine: postgres}\n"
                    "stores:\n  - {id: main, url: \"http://x\", webhook_secret: s}\n");
  auto r = RunKeelson({"check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("storage.dsn: required when engine is postgres"), std::string::npos)
      << r.output;
}

// An unreachable PostgreSQL stops start-up at once, naming the setting (never the DSN: it may
// hold a password). Port 1 on loopback refuses connections.
TEST(CliTest, ServeOnAnUnreachablePostgresFailsNamingStorageDsn) {
  TempDir dir;
  auto path = Write(dir, "pg.yaml",
                    "server: {listen: \"127.0.0.1:0\"}\n"
                    "storage: {engine: postgres, dsn: \"host=127.0.0.1 port=1 user=k "
                    "password=hunter2 dbname=k connect_timeout=2\"}\n"
                    "stores:\n  - {id: main, url: \"http://x\", webhook_secret: s}\n");
  auto r = RunKeelson({"serve", "--config", path});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("storage.dsn: cannot connect to PostgreSQL"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
  auto dlq = RunKeelson({"dlq", "list", "--config", path});
  EXPECT_EQ(dlq.exit_code, 2) << dlq.output;
  EXPECT_NE(dlq.output.find("storage.dsn: cannot connect to PostgreSQL"), std::string::npos)
      << dlq.output;
}

TEST(CliTest, MissingConfigFileIsAUserError) {
  auto r = RunKeelson({"check-config", "--config", "/nonexistent/keelson.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/keelson.yaml"), std::string::npos) << r.output;
}

// A poison delivery goes to the dead letters with its raw bytes kept; the CLI lists and shows it,
// the CLI and the ops API replay it, and /ops refuses a caller without the key.
TEST(CliTest, DeadLettersAreVisibleAndReplayableFromCliAndOpsApi) {
  TempDir dir;
  const std::string key = "ops-key-for-tests";
  auto config = Write(dir, "k.yaml",
                      "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
                      "storage: {engine: sqlite, path: \"" + dir.File("k.db") + "\"}\n"
                      "stores:\n  - {id: main, url: \"http://127.0.0.1:1\", webhook_secret: s3cret}\n"
                      "jobs: {poll_interval_ms: 50}\n"
                      "ops: {api_keys: [{name: tests, sha256: \"" + net::Sha256Hex(key) + "\"}]}\n"
                      "log: {level: info}\n");
  KeelsonProcess proc(config, dir.path());
  const uint16_t port = proc.WaitReady();
  ASSERT_NE(port, 0) << proc.Log();
  HttpClient http("127.0.0.1", port);
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + key}};

  const std::string body = "{\"id\": 77, \"truncated";  // signed, but not JSON
  auto r = http.Request("POST", "/v1/webhooks/woocommerce/main",
                        WooHeaders("order.created", body, "s3cret"), body);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string correlation = nlohmann::json::parse(r.body)["correlation_id"];

  // Wait (bounded) for the ingest job to land in the dead letters.
  nlohmann::json items;
  for (int i = 0; i < 200 && items.empty(); ++i) {
    auto l = http.Request("GET", "/ops/dead-letters", auth);
    ASSERT_EQ(l.status, 200) << l.body;
    items = nlohmann::json::parse(l.body)["items"];
    if (items.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["dead_reason"], "poison");
  EXPECT_EQ(items[0]["correlation_id"], correlation);
  EXPECT_EQ(items[0]["attempts"], 1);
  const int64_t id = items[0]["id"];

  EXPECT_EQ(http.Request("GET", "/ops/dead-letters").status, 401);
  EXPECT_EQ(http.Request("GET", "/ops/dead-letters", {{"Authorization", "Bearer wrong"}}).status,
            401);

  auto list = RunKeelson({"dlq", "list", "--config", config});
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find(std::to_string(id) + "\twoocommerce.ingest\tpoison\t1"),
            std::string::npos)
      << list.output;
  EXPECT_NE(list.output.find("1 dead letter\n"), std::string::npos) << list.output;

  auto show = RunKeelson({"dlq", "show", std::to_string(id), "--config", config});
  EXPECT_EQ(show.exit_code, 0) << show.output;
  auto shown = nlohmann::json::parse(show.output);
  EXPECT_EQ(shown["delivery"]["body"], body);  // the raw bytes, kept
  EXPECT_EQ(shown["delivery"]["status"], "rejected");
  EXPECT_EQ(shown["delivery"]["error"], "body is not valid JSON");

  EXPECT_EQ(RunKeelson({"dlq", "show", "999999", "--config", config}).exit_code, 1);

  // Replay from the CLI: the job runs again (attempt 1 of a fresh run) and, still poison, returns.
  auto replay = RunKeelson({"dlq", "replay", std::to_string(id), "--config", config});
  EXPECT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_EQ(replay.output, "replayed " + std::to_string(id) + "\n");
  // Replaying a job that is not dead (it is queued or running now, or already dead again after
  // the rerun) is refused or repeated — wait for the rerun to finish first.
  nlohmann::json job;
  for (int i = 0; i < 200; ++i) {
    auto g = http.Request("GET", "/ops/dead-letters/" + std::to_string(id), auth);
    job = nlohmann::json::parse(g.body);
    if (job["state"] == "dead") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(job["state"], "dead");
  EXPECT_EQ(job["attempts"], 1);

  // And from the ops API.
  auto api_replay =
      http.Request("POST", "/ops/dead-letters/" + std::to_string(id) + "/replay", auth);
  EXPECT_EQ(api_replay.status, 200) << api_replay.body;
  EXPECT_EQ(nlohmann::json::parse(api_replay.body)["replayed"], nlohmann::json::array({id}));
  EXPECT_EQ(http.Request("POST", "/ops/dead-letters/999999/replay", auth).status, 404);

  // The log carries the correlation id of the delivery on each dead-lettering.
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.Wait(), 0);
  const std::string log = proc.Log();
  size_t n = 0;
  for (size_t pos = log.find("\"msg\":\"job dead-lettered\""); pos != std::string::npos;
       pos = log.find("\"msg\":\"job dead-lettered\"", pos + 1)) {
    ++n;
  }
  EXPECT_GE(n, 2u) << log;
  EXPECT_NE(log.find("\"correlation_id\":\"" + correlation + "\""), std::string::npos);
}

}  // namespace
}  // namespace keelson
