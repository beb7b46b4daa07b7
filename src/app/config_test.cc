#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace keelson::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

// A fake environment for ${VAR} substitution.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const EnvLookup kNoEnv = FakeEnv({});

constexpr char kMinimal[] = R"(
stores:
  - id: main
    url: "https://shop.example.com"
    webhook_secret: "whsec"
)";

std::vector<std::string> Paths(const ConfigResult& result) {
  std::vector<std::string> paths;
  for (const ConfigError& e : result.errors) paths.push_back(e.path);
  return paths;
}

// Parses `yaml` and returns FormatErrors() of the result.
std::string Errors(std::string_view yaml, const EnvLookup& env = kNoEnv) {
  return FormatErrors(ParseConfig(yaml, env).errors);
}

TEST(ConfigTest, MinimalConfigUsesDefaults) {
  ConfigResult r = ParseConfig(kMinimal, kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const Config& c = r.config;
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.body_limit_bytes, 4 * 1024 * 1024);
  EXPECT_EQ(c.server.io_threads, 0);
  EXPECT_EQ(c.server.request_timeout_ms, 30000);
  EXPECT_EQ(c.storage.engine, "sqlite");
  EXPECT_EQ(c.storage.path, "var/keelson.db");
  EXPECT_TRUE(c.storage.dsn.empty());
  EXPECT_EQ(c.storage.pool_size, 8);
  EXPECT_EQ(c.storage.group_commit_max_batch, 1024);
  EXPECT_EQ(c.storage.busy_timeout_ms, 5000);
  EXPECT_TRUE(c.storage.intake_journal);
  EXPECT_EQ(c.storage.intake_journal_dir, "");
  ASSERT_EQ(c.stores.size(), 1u);
  EXPECT_EQ(c.stores[0].id, "main");
  EXPECT_EQ(c.stores[0].url, "https://shop.example.com");
  EXPECT_EQ(c.stores[0].webhook_secret.value(), "whsec");
  EXPECT_TRUE(c.stores[0].consumer_key.empty());
  EXPECT_FALSE(c.erp.present);
  EXPECT_EQ(c.erp.limits.requests_per_second, 0);
  EXPECT_EQ(c.erp.limits.concurrency, 0);
  EXPECT_EQ(c.erp.limits.timeout_ms, 30000);
  EXPECT_EQ(c.jobs.workers, 8);
  EXPECT_EQ(c.jobs.lease_ms, 30000);
  EXPECT_EQ(c.jobs.poll_interval_ms, 200);
  EXPECT_EQ(c.jobs.max_attempts, 12);
  EXPECT_EQ(c.jobs.backoff_base_ms, 1000);
  EXPECT_EQ(c.jobs.backoff_cap_ms, 600000);
  EXPECT_EQ(c.jobs.deadline_ms, 86400000);
  EXPECT_EQ(c.jobs.retention_hours, 168);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_THAT(c.ops.api_keys, IsEmpty());
  EXPECT_EQ(c.FindStore("main"), &c.stores[0]);
  EXPECT_EQ(c.FindStore("other"), nullptr);
}

TEST(ConfigTest, FullConfigReadsEveryKey) {
  const std::string sha(64, 'a');
  const std::string yaml = std::string(R"(
server: {listen: "0.0.0.0:9000", body_limit_bytes: 2048, io_threads: 2, request_timeout_ms: 500}
storage: {engine: postgres, path: "", dsn: "postgres://u:pw@db/k", group_commit_max_batch: 64,
          busy_timeout_ms: 0, pool_size: 3}
stores:
  - {id: main, url: "https://a.example", consumer_key: ck, consumer_secret: cs, webhook_secret: w1}
  - {id: eu-2, url: "http://b.example", webhook_secret: w2}
erp:
  type: business_central
  url: "https://api.businesscentral.dynamics.com/v2.0/T/production/api/v2.0"
  company_id: "0123"
  auth: {token_url: "https://login.example/token", client_id: cid, client_secret: cs,
         scope: "https://api.businesscentral.dynamics.com/.default"}
  database: db
  username: bob
  password: pw
  api_key: key
  limits: {requests_per_second: 2.5, concurrency: 5, timeout_ms: 1000}
jobs: {workers: 2, lease_ms: 10, poll_interval_ms: 20, max_attempts: 3, backoff_base_ms: 5,
       backoff_cap_ms: 5, deadline_ms: 100, retention_hours: 1}
log: {level: debug, format: text}
)") + "ops: {api_keys: [{name: alice, sha256: \"" +
                           sha + "\"}]}\n";
  ConfigResult r = ParseConfig(yaml, kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const Config& c = r.config;
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.body_limit_bytes, 2048);
  EXPECT_EQ(c.server.io_threads, 2);
  EXPECT_EQ(c.server.request_timeout_ms, 500);
  EXPECT_EQ(c.storage.engine, "postgres");
  EXPECT_EQ(c.storage.dsn.value(), "postgres://u:pw@db/k");
  EXPECT_EQ(c.storage.pool_size, 3);
  EXPECT_EQ(c.storage.group_commit_max_batch, 64);
  EXPECT_EQ(c.storage.busy_timeout_ms, 0);
  ASSERT_EQ(c.stores.size(), 2u);
  EXPECT_EQ(c.stores[0].consumer_key.value(), "ck");
  EXPECT_EQ(c.stores[0].consumer_secret.value(), "cs");
  EXPECT_EQ(c.FindStore("eu-2"), &c.stores[1]);
  EXPECT_TRUE(c.erp.present);
  EXPECT_EQ(c.erp.type, "business_central");
  EXPECT_EQ(c.erp.company_id, "0123");  // stays a string, leading zero kept
  EXPECT_EQ(c.erp.auth.token_url, "https://login.example/token");
  EXPECT_EQ(c.erp.auth.client_id, "cid");
  EXPECT_EQ(c.erp.auth.client_secret.value(), "cs");
  EXPECT_EQ(c.erp.auth.scope, "https://api.businesscentral.dynamics.com/.default");
  EXPECT_EQ(c.erp.database, "db");
  EXPECT_EQ(c.erp.username, "bob");
  EXPECT_EQ(c.erp.password.value(), "pw");
  EXPECT_EQ(c.erp.api_key.value(), "key");
  EXPECT_DOUBLE_EQ(c.erp.limits.requests_per_second, 2.5);
  EXPECT_EQ(c.erp.limits.concurrency, 5);
  EXPECT_EQ(c.erp.limits.timeout_ms, 1000);
  EXPECT_EQ(c.jobs.workers, 2);
  EXPECT_EQ(c.jobs.backoff_cap_ms, 5);
  EXPECT_EQ(c.jobs.retention_hours, 1);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "text");
  ASSERT_EQ(c.ops.api_keys.size(), 1u);
  EXPECT_EQ(c.ops.api_keys[0].name, "alice");
  EXPECT_EQ(c.ops.api_keys[0].sha256, sha);
}

TEST(ConfigTest, DemoYamlParses) {
  ConfigResult r = LoadConfigFile(KEELSON_SOURCE_DIR "/configs/demo.yaml", kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const Config& c = r.config;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.storage.engine, "sqlite");
  EXPECT_EQ(c.storage.path, "var/demo.db");
  const StoreConfig* main = c.FindStore("main");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->url, "http://127.0.0.1:8081");
  EXPECT_EQ(main->webhook_secret.value(), "keelson-sim-webhook-secret");
  EXPECT_EQ(main->consumer_key.value(), "ck_keelson_sim_0000000000000000000000000000000");
  EXPECT_EQ(main->consumer_secret.value(), "cs_keelson_sim_0000000000000000000000000000000");
  EXPECT_TRUE(c.erp.present);
  EXPECT_EQ(c.erp.type, "odoo");
  EXPECT_EQ(c.erp.database, "keelson");
  EXPECT_EQ(c.erp.password.value(), "admin");
  EXPECT_EQ(c.erp.protocol, "auto");
  EXPECT_EQ(c.order_to_cash.create_on, (std::vector<std::string>{"processing", "completed"}));
  EXPECT_EQ(c.order_to_cash.backfill_interval_s, 300);
  EXPECT_EQ(c.jobs.workers, JobsConfig{}.workers);
  EXPECT_EQ(c.jobs.backoff_cap_ms, JobsConfig{}.backoff_cap_ms);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "json");
}

TEST(ConfigTest, EventsAreOffByDefaultAndReadEveryNatsKey) {
  ConfigResult off = ParseConfig(kMinimal, kNoEnv);
  ASSERT_TRUE(off.ok()) << FormatErrors(off.errors);
  EXPECT_FALSE(off.config.events.enabled());

  ConfigResult r = ParseConfig(std::string(kMinimal) + R"(
events:
  nats:
    url: "nats://127.0.0.1:4222"
    stream: SHOP_EVENTS
    subject_prefix: shop.keelson
    create_stream: false
    duplicate_window_s: 3600
    token: "${NATS_TOKEN}"
    timeout_ms: 2500
  batch: 50
  keep_published_h: 24
)",
                               FakeEnv({{"NATS_TOKEN", "s3cret"}}));
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const EventsConfig& e = r.config.events;
  EXPECT_TRUE(e.enabled());
  EXPECT_EQ(e.nats.url, "nats://127.0.0.1:4222");
  EXPECT_EQ(e.nats.stream, "SHOP_EVENTS");
  EXPECT_EQ(e.nats.subject_prefix, "shop.keelson");
  EXPECT_FALSE(e.nats.create_stream);
  EXPECT_EQ(e.nats.duplicate_window_s, 3600);
  EXPECT_EQ(e.nats.token.value(), "s3cret");
  EXPECT_EQ(e.nats.timeout_ms, 2500);
  EXPECT_EQ(e.batch, 50);
  EXPECT_EQ(e.keep_published_h, 24);
}

TEST(ConfigTest, IntakeJournalKeys) {
  ConfigResult r = ParseConfig(std::string(kMinimal) + R"(
storage: {engine: sqlite, path: "k.db", intake_journal: false, intake_journal_dir: "/j"}
)",
                               kNoEnv);
  ASSERT_TRUE(r.errors.empty()) << FormatErrors(r.errors);
  EXPECT_FALSE(r.config.storage.intake_journal);
  EXPECT_EQ(r.config.storage.intake_journal_dir, "/j");
  ConfigResult bad = ParseConfig(
      std::string(kMinimal) + "storage: {path: k.db, intake_journal: sometimes}\n", kNoEnv);
  EXPECT_THAT(Paths(bad), ::testing::ElementsAre("storage.intake_journal"));
}

TEST(ConfigTest, EventsErrorsNameTheirKeys) {
  ConfigResult r = ParseConfig(std::string(kMinimal) + R"(
events:
  nats:
    url: "http://127.0.0.1:4222"
    stream: "my.stream"
    subject_prefix: "keelson.>"
  batch: 0
)",
                               kNoEnv);
  EXPECT_THAT(Paths(r), ::testing::UnorderedElementsAre("events.nats.url", "events.nats.stream",
                                                        "events.nats.subject_prefix",
                                                        "events.batch"));
  ConfigResult no_url = ParseConfig(std::string(kMinimal) + "events:\n  nats: {stream: S}\n",
                                    kNoEnv);
  EXPECT_THAT(Paths(no_url), ::testing::ElementsAre("events.nats.url"));
}

TEST(ConfigTest, MultiNodeYamlParses) {
  ConfigResult r = LoadConfigFile(
      KEELSON_SOURCE_DIR "/configs/multi-node.yaml",
      FakeEnv({{"KEELSON_PG_DSN", "host=db.internal user=keelson dbname=keelson"},
               {"WOO_CK", "ck"}, {"WOO_CS", "cs"}, {"WOO_WEBHOOK_SECRET", "whsec"},
               {"BC_COMPANY_ID", "c0ffee00-0000-0000-0000-000000000000"},
               {"BC_CLIENT_ID", "client"}, {"BC_SECRET", "secret"},
               {"KEELSON_OPS_KEY_SHA256", std::string(64, 'a')}}));
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const Config& c = r.config;
  EXPECT_EQ(c.storage.engine, "postgres");
  EXPECT_EQ(c.storage.dsn.value(), "host=db.internal user=keelson dbname=keelson");
  EXPECT_EQ(c.storage.pool_size, 8);
  EXPECT_EQ(c.erp.type, "business_central");
  EXPECT_TRUE(c.events.enabled());
  EXPECT_EQ(c.events.nats.url, "nats://127.0.0.1:4222");
  EXPECT_EQ(c.events.nats.stream, "KEELSON");
  ASSERT_EQ(c.ops.api_keys.size(), 1u);
  EXPECT_EQ(c.ops.api_keys[0].name, "oncall");
}

TEST(ConfigTest, UnknownKeysAtEveryLevel) {
  ConfigResult r = ParseConfig(R"(
serverr: {}
server: {listne: "127.0.0.1:1", zzzzzz: 1}
erp: {type: odoo, url: "http://o", database: d, username: u, password: p, limits: {concurency: 2}}
stores:
  - {id: main, url: "https://a", webhook_secret: w, extra: 1}
ops: {api_keys: [{name: a, sha: x}]}
)",
                               kNoEnv);
  EXPECT_EQ(FormatErrors(r.errors),
            "serverr: unknown key (did you mean \"server\"?)\n"
            "server.listne: unknown key (did you mean \"listen\"?)\n"
            "server.zzzzzz: unknown key\n"
            "erp.limits.concurency: unknown key (did you mean \"concurrency\"?)\n"
            "stores[0].extra: unknown key\n"
            "ops.api_keys[0].sha: unknown key\n"
            "ops.api_keys[0].sha256: required\n");
}

TEST(ConfigTest, CollectsAllErrorsWithPaths) {
  ConfigResult r = ParseConfig(R"(
server: {listen: "nope", body_limit_bytes: 10}
storage: {engine: mysql}
stores:
  - {id: "Bad Id", url: "ftp://x"}
  - {url: "https://b"}
erp: {type: sap, url: "http://x", limits: {requests_per_second: 0, concurrency: -1, timeout_ms: 0}}
jobs: {workers: 0, backoff_base_ms: 5000, backoff_cap_ms: 10}
log: {level: verbose, format: xml}
ops: {api_keys: [{name: a, sha256: "ABC"}]}
)",
                               kNoEnv);
  EXPECT_THAT(Paths(r), ElementsAre("server.body_limit_bytes", "server.listen", "storage.engine",
                                    "stores[0].id", "stores[0].url", "stores[0].webhook_secret",
                                    "stores[1].id", "stores[1].webhook_secret", "erp.type",
                                    "erp.limits.requests_per_second", "erp.limits.concurrency",
                                    "erp.limits.timeout_ms", "jobs.workers", "jobs.backoff_cap_ms",
                                    "log.level", "log.format", "ops.api_keys[0].sha256"));
  EXPECT_EQ(FormatErrors(r.errors),
            "server.body_limit_bytes: must be between 1024 and 1073741824 (1 GiB)\n"
            "server.listen: must be host:port with port 0-65535\n"
            "storage.engine: must be one of sqlite, postgres\n"
            "stores[0].id: must match ^[a-z0-9][a-z0-9_-]{0,63}$\n"
            "stores[0].url: must start with http:// or https://\n"
            "stores[0].webhook_secret: required\n"
            "stores[1].id: required\n"
            "stores[1].webhook_secret: required\n"
            "erp.type: must be one of business_central, odoo\n"
            "erp.limits.requests_per_second: must be > 0\n"
            "erp.limits.concurrency: must be > 0\n"
            "erp.limits.timeout_ms: must be > 0\n"
            "jobs.workers: must be > 0\n"
            "jobs.backoff_cap_ms: must be >= backoff_base_ms\n"
            "log.level: must be one of trace, debug, info, warn, error\n"
            "log.format: must be one of json, text\n"
            "ops.api_keys[0].sha256: must be 64 lowercase hex characters\n");
}

TEST(ConfigTest, ResiliencePolicyPerEndpointAndLanes) {
  ConfigResult r = ParseConfig(R"(
stores:
  - id: main
    url: "https://a"
    webhook_secret: w
    limits: {requests_per_second: 5, concurrency: 2, breaker: {enabled: false}}
erp:
  type: odoo
  url: "http://o"
  database: d
  username: u
  password: p
  limits:
    requests_per_second: 50
    burst: 2
    adaptive: false
    backoff_base_ms: 200
    backoff_cap_ms: 5000
    breaker: {consecutive_failures: 3, failure_ratio: 0.25, window: 40, open_ms: 1500,
              max_open_ms: 30000}
jobs: {lanes: {erp: 6, woocommerce: 3, core: 5}}
)",
                               kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const Config& c = r.config;
  EXPECT_DOUBLE_EQ(c.stores[0].limits.requests_per_second, 5);
  EXPECT_EQ(c.stores[0].limits.concurrency, 2);
  EXPECT_FALSE(c.stores[0].limits.breaker.enabled);
  EXPECT_DOUBLE_EQ(c.erp.limits.requests_per_second, 50);
  EXPECT_DOUBLE_EQ(c.erp.limits.burst, 2);
  EXPECT_FALSE(c.erp.limits.adaptive);
  EXPECT_EQ(c.erp.limits.backoff_base_ms, 200);
  EXPECT_EQ(c.erp.limits.backoff_cap_ms, 5000);
  EXPECT_TRUE(c.erp.limits.breaker.enabled);
  EXPECT_EQ(c.erp.limits.breaker.consecutive_failures, 3);
  EXPECT_DOUBLE_EQ(c.erp.limits.breaker.failure_ratio, 0.25);
  EXPECT_EQ(c.erp.limits.breaker.window, 40);
  EXPECT_EQ(c.erp.limits.breaker.open_ms, 1500);
  EXPECT_EQ(c.erp.limits.breaker.max_open_ms, 30000);
  EXPECT_EQ(c.jobs.lane_erp, 6);
  EXPECT_EQ(c.jobs.lane_woocommerce, 3);
  EXPECT_EQ(c.jobs.lane_core, 5);
}

TEST(ConfigTest, ResiliencePolicyErrorsNameTheirKeys) {
  ConfigResult r = ParseConfig(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w, limits: {breaker: {failure_ratio: 1.5}}}
erp:
  type: odoo
  url: "http://o"
  database: d
  username: u
  password: p
  limits: {backoff_base_ms: 500, backoff_cap_ms: 100, breaker: {open_ms: 9000, max_open_ms: 10,
           consecutive: 2}}
jobs: {lanes: {erp: 0, shop: 2}}
)",
                               kNoEnv);
  EXPECT_EQ(FormatErrors(r.errors),
            "stores[0].limits.breaker.failure_ratio: must be <= 1\n"
            "erp.limits.breaker.consecutive: unknown key\n"
            "erp.limits.breaker.max_open_ms: must be >= open_ms\n"
            "erp.limits.backoff_cap_ms: must be >= backoff_base_ms\n"
            "jobs.lanes.erp: must be > 0\n"
            "jobs.lanes.shop: unknown key\n");
}

TEST(ConfigTest, InventoryChannels) {
  ConfigResult r = ParseConfig(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w}
  - {id: outlet, url: "https://b", webhook_secret: w}
inventory:
  channels:
    - {store: main, locations: [WH1, WH2]}
    - {store: outlet, locations: [WH2], backorderable: true, inbound_horizon_days: 14,
       percent: 40, cap: 25, holdback: 3}
  publish_batch: 500
  reconcile_interval_s: 900
)",
                               kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const InventoryConfig& inv = r.config.inventory;
  EXPECT_TRUE(inv.present);
  ASSERT_EQ(inv.channels.size(), 2u);
  EXPECT_EQ(inv.channels[0].store, "main");
  EXPECT_THAT(inv.channels[0].locations, ElementsAre("WH1", "WH2"));
  EXPECT_EQ(inv.channels[0].percent, 100);
  EXPECT_EQ(inv.channels[0].cap, -1);
  EXPECT_TRUE(inv.channels[1].backorderable);
  EXPECT_EQ(inv.channels[1].inbound_horizon_days, 14);
  EXPECT_EQ(inv.channels[1].percent, 40);
  EXPECT_EQ(inv.channels[1].cap, 25);
  EXPECT_EQ(inv.channels[1].holdback, 3);
  EXPECT_EQ(inv.publish_batch, 500);
  EXPECT_EQ(inv.reconcile_interval_s, 900);
}

TEST(ConfigTest, InventoryErpPollingKeys) {
  ConfigResult defaults = ParseConfig(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w}
inventory:
  channels:
    - {store: main, locations: [WH1]}
)",
                                      kNoEnv);
  ASSERT_TRUE(defaults.ok()) << FormatErrors(defaults.errors);
  EXPECT_EQ(defaults.config.inventory.erp_poll_interval_s, 60);
  EXPECT_EQ(defaults.config.inventory.erp_poll_overlap_s, 120);
  EXPECT_EQ(defaults.config.inventory.erp_full_scan_every, 10);
  EXPECT_TRUE(defaults.config.inventory.erp_locations.empty());
  EXPECT_EQ(defaults.config.inventory.erp_default_location, "");

  ConfigResult r = ParseConfig(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w}
inventory:
  channels:
    - {store: main, locations: [WH1, WH2]}
  erp_poll_interval_s: 0
  erp_poll_overlap_s: 30
  erp_full_scan_every: 3
  erp_locations: {"WH/Stock": WH1, "WH2/Stock": WH2}
  erp_default_location: WH1
)",
                               kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const InventoryConfig& inv = r.config.inventory;
  EXPECT_EQ(inv.erp_poll_interval_s, 0);
  EXPECT_EQ(inv.erp_poll_overlap_s, 30);
  EXPECT_EQ(inv.erp_full_scan_every, 3);
  EXPECT_THAT(inv.erp_locations, ElementsAre(Pair("WH/Stock", "WH1"), Pair("WH2/Stock", "WH2")));
  EXPECT_EQ(inv.erp_default_location, "WH1");
}

TEST(ConfigTest, InventoryErpPollingErrorsNameTheirKeys) {
  ConfigResult r = ParseConfig(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w}
inventory:
  channels:
    - {store: main, locations: [WH1]}
  erp_poll_interval_s: -1
  erp_full_scan_every: -2
  erp_locations: {"WH/Stock": WH1, "WH/Input": WH1, "WH/Output": "", "X": [a]}
)",
                               kNoEnv);
  EXPECT_EQ(FormatErrors(r.errors),
            "inventory.erp_poll_interval_s: must be >= 0\n"
            "inventory.erp_full_scan_every: must be >= 0\n"
            "inventory.erp_locations.WH/Input: \"WH1\" is already the location of \"WH/Stock\"\n"
            "inventory.erp_locations.WH/Output: must not be empty\n"
            "inventory.erp_locations.X: must be a string\n");
}

TEST(ConfigTest, InventoryErrorsNameTheirKeys) {
  ConfigResult r = ParseConfig(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w}
inventory:
  channels:
    - {store: main, locations: [], percent: 150}
    - {store: main, locations: [WH1]}
    - {store: shop2, locations: [""]}
  publish_batch: 5000
)",
                               kNoEnv);
  EXPECT_EQ(FormatErrors(r.errors),
            "inventory.channels[0].locations: must not be empty\n"
            "inventory.channels[0].percent: must be between 0 and 100\n"
            "inventory.channels[2].locations[0]: must not be empty\n"
            "inventory.channels[2].locations: required\n"
            "inventory.channels[1].store: duplicate channel for store \"main\"\n"
            "inventory.publish_batch: must be between 1 and 1000\n"
            "inventory.channels[2].store: no store with id \"shop2\" in stores\n");
}

TEST(ConfigTest, StoresAreRequired) {
  EXPECT_EQ(Errors(""), "stores: at least one store is required\n");
  EXPECT_EQ(Errors("stores: []"), "stores: at least one store is required\n");
  EXPECT_EQ(Errors("stores: {id: main}"), "stores: must be a list\n");
  EXPECT_EQ(Errors("stores: [main]"), "stores[0]: must be a mapping\n");
  EXPECT_EQ(Errors("erp: {type: odoo, url: \"http://o\", database: d, username: u, password: p}\nstores:\n"), "stores: at least one store is required\n");
}

TEST(ConfigTest, EnvironmentSubstitution) {
  ConfigResult r = ParseConfig(R"(
server: {listen: "${HOST:-127.0.0.1}:${PORT}", io_threads: "${THREADS}"}
storage: {path: "${DATA_DIR:-var}/k.db"}
stores:
  - id: main
    url: "https://${SHOP_HOST}"
    consumer_key: "${EMPTY_CK:-ck_default}"
    consumer_secret: "${EMPTY_CK}"
    webhook_secret: "$${NOT_A_VAR}-$HOME-${SECRET}"
)",
                               FakeEnv({{"PORT", "9090"},
                                        {"THREADS", "4"},
                                        {"DATA_DIR", ""},
                                        {"SHOP_HOST", "shop.example.com"},
                                        {"EMPTY_CK", ""},
                                        {"SECRET", "s3"}}));
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  const Config& c = r.config;
  EXPECT_EQ(c.server.listen, "127.0.0.1:9090");  // unset -> default
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_EQ(c.server.io_threads, 4);      // substituted, then typed
  EXPECT_EQ(c.storage.path, "var/k.db");  // set but empty -> default
  EXPECT_EQ(c.stores[0].url, "https://shop.example.com");
  EXPECT_EQ(c.stores[0].consumer_key.value(), "ck_default");
  EXPECT_EQ(c.stores[0].consumer_secret.value(), "");  // set, empty, no default
  EXPECT_EQ(c.stores[0].webhook_secret.value(), "${NOT_A_VAR}-$HOME-s3");
}

TEST(ConfigTest, MissingEnvironmentVariable) {
  EXPECT_EQ(Errors(R"(
server: {io_threads: "${THREADS}"}
stores:
  - {id: main, url: "https://a", webhook_secret: "${WOO_WEBHOOK_SECRET}",
     consumer_key: "${A}${B}", consumer_secret: "${1BAD:-x}"}
storage: {path: "${UNCLOSED"}
)"),
            "server.io_threads: environment variable THREADS is not set\n"
            "stores[0].webhook_secret: environment variable WOO_WEBHOOK_SECRET is not set\n"
            "stores[0].consumer_key: environment variable A is not set\n"
            "stores[0].consumer_key: environment variable B is not set\n"
            "stores[0].consumer_secret: invalid environment variable reference "
            "(expected ${NAME} or ${NAME:-default})\n"
            "storage.path: unterminated ${ in value\n");
  // A substituted value is typed afterwards.
  EXPECT_EQ(Errors(std::string(kMinimal) + "jobs: {workers: \"${W}\"}\n", FakeEnv({{"W", "x"}})),
            "jobs.workers: must be an integer\n");
}

TEST(ConfigTest, SecretsNeverLeak) {
  const std::string kSecret = "hunter2-SECRET";
  ConfigResult r = ParseConfig(R"(
storage: {engine: postgres, dsn: {nested: "hunter2-SECRET"}}
stores:
  - id: main
    url: "https://a"
    webhook_secret: ["hunter2-SECRET"]
    consumer_key: "${CK}"
    consumer_secret: "${NOPE:-hunter2-SECRET"
erp: {type: odoo, url: "http://o", database: d, username: u, password: {x: "hunter2-SECRET"}, api_key: ["hunter2-SECRET"],
      auth: {client_secret: {y: "hunter2-SECRET"}}}
)",
                               FakeEnv({{"CK", kSecret}}));
  EXPECT_EQ(FormatErrors(r.errors),
            "storage.dsn: must be a string\n"
            "stores[0].webhook_secret: must be a string\n"
            "stores[0].consumer_secret: unterminated ${ in value\n"
            "erp.password: must be a string\n"
            "erp.api_key: must be a string\n"
            "erp.auth.client_secret: must be a string\n");
  EXPECT_THAT(FormatErrors(r.errors), Not(HasSubstr("hunter2")));
  ASSERT_EQ(r.config.stores.size(), 1u);
  EXPECT_EQ(r.config.stores[0].consumer_key.value(), kSecret);

  Secret secret(kSecret);
  EXPECT_EQ(secret.DebugString(), "***");
  std::ostringstream os;
  os << secret << "|" << Secret() << "|" << r.config.stores[0].consumer_key;
  EXPECT_EQ(os.str(), "***||***");
  EXPECT_EQ(Secret().DebugString(), "");
  EXPECT_TRUE(Secret().empty());
}

TEST(ConfigTest, DuplicateStoreId) {
  EXPECT_EQ(Errors(R"(
stores:
  - {id: main, url: "https://a", webhook_secret: w}
  - {id: other, url: "https://b", webhook_secret: w}
  - {id: main, url: "https://c", webhook_secret: w}
)"),
            "stores[2].id: duplicate store id \"main\"\n");
}

TEST(ConfigTest, BadListenAddresses) {
  for (const char* listen :
       {"8080", ":8080", "host:", "host:65536", "host:-1", "host:80a", "::1:8080", "[::1]8080",
        "[]:80", "[127.0.0.1]:80", "a b:80", "host:123456"}) {
    SCOPED_TRACE(listen);
    ConfigResult r =
        ParseConfig(std::string(kMinimal) + "server: {listen: \"" + listen + "\"}\n", kNoEnv);
    EXPECT_EQ(FormatErrors(r.errors), "server.listen: must be host:port with port 0-65535\n");
  }
}

TEST(ConfigTest, GoodListenAddressesIncludingPortZero) {
  struct Case {
    const char* listen;
    const char* host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"127.0.0.1:0", "127.0.0.1", 0}, Case{"localhost:65535", "localhost", 65535},
        Case{"[::1]:8443", "::1", 8443}, Case{"0.0.0.0:80", "0.0.0.0", 80}}) {
    SCOPED_TRACE(c.listen);
    ConfigResult r =
        ParseConfig(std::string(kMinimal) + "server: {listen: \"" + c.listen + "\"}\n", kNoEnv);
    ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
    EXPECT_EQ(r.config.server.listen, c.listen);
    EXPECT_EQ(r.config.server.host, c.host);
    EXPECT_EQ(r.config.server.port, c.port);
  }
}

TEST(ConfigTest, StorageEngineRequirements) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "storage: {engine: postgres}\n"),
            "storage.dsn: required when engine is postgres\n");
  EXPECT_EQ(Errors(std::string(kMinimal) + "storage: {engine: sqlite, path: \"\"}\n"),
            "storage.path: required when engine is sqlite\n");
  EXPECT_EQ(Errors(std::string(kMinimal) +
                   "storage: {engine: postgres, dsn: \"host=db\", pool_size: 0}\n"),
            "storage.pool_size: must be > 0\n");
  ConfigResult r =
      ParseConfig(std::string(kMinimal) + "storage: {engine: postgres, dsn: \"${DSN}\"}\n",
                  FakeEnv({{"DSN", "postgres://x"}}));
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  EXPECT_EQ(r.config.storage.dsn.value(), "postgres://x");
}

TEST(ConfigTest, TypeErrors) {
  EXPECT_EQ(Errors(std::string(kMinimal) + R"(
server: {listen: {host: a}, io_threads: [1], body_limit_bytes: 1.5,
         request_timeout_ms: 99999999999999999999}
jobs: {workers: abc, max_attempts: 3000000000, lease_ms: true}
erp: {type: odoo, url: [x], database: d, username: u, password: p, limits: {requests_per_second: fast, concurrency: 1.0}}
log: debug
)"),
            "server.listen: must be a string\n"
            "server.io_threads: must be an integer\n"
            "server.body_limit_bytes: must be an integer\n"
            "server.request_timeout_ms: must be an integer\n"
            "jobs.workers: must be an integer\n"
            "jobs.max_attempts: is out of range\n"
            "jobs.lease_ms: must be an integer\n"
            "erp.url: must be a string\n"
            "erp.limits.requests_per_second: must be a number\n"
            "erp.limits.concurrency: must be an integer\n"
            "log: must be a mapping\n");
  EXPECT_EQ(Errors("- a\n- b\n"), "the document must be a mapping\n");
  EXPECT_EQ(Errors(std::string(kMinimal) + "? [a]\n: 1\n"), "keys must be strings\n");
}

TEST(ConfigTest, ErpSection) {
  EXPECT_EQ(Errors(std::string(kMinimal) + "erp: {url: \"api.example\", auth: {token_url: x}}\n"),
            "erp.type: required\n"
            "erp.url: must start with http:// or https://\n"
            "erp.auth.token_url: must start with http:// or https://\n");
  ConfigResult r = ParseConfig(std::string(kMinimal) + "erp:\n", kNoEnv);  // null = absent
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  EXPECT_FALSE(r.config.erp.present);
  EXPECT_EQ(Errors(std::string(kMinimal) + "erp: {type: odoo, limits: {concurrency: 3}}\n"),
            "erp.url: required\n"
            "erp.database: required\n"
            "erp.username: required\n"
            "erp.password: required (or api_key)\n");
  EXPECT_EQ(Errors(std::string(kMinimal) + "erp: {type: business_central, url: \"http://x\"}\n"),
            "erp.company_id: required\n"
            "erp.auth.token_url: required\n"
            "erp.auth.client_id: required\n"
            "erp.auth.client_secret: required\n");
  r = ParseConfig(std::string(kMinimal) +
                      "erp: {type: odoo, url: \"http://o\", database: d, username: u, "
                      "api_key: k, protocol: json2, limits: {concurrency: 3}, "
                      "mapping: {shipping: SHIP, fees: FEE, local_currency: EUR}}\n",
                  kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  EXPECT_EQ(r.config.erp.protocol, "json2");
  EXPECT_EQ(r.config.erp.mapping.shipping, "SHIP");
  EXPECT_EQ(r.config.erp.mapping.fees, "FEE");
  EXPECT_EQ(r.config.erp.mapping.local_currency, "EUR");
  EXPECT_TRUE(r.config.erp.present);
  EXPECT_EQ(r.config.erp.limits.concurrency, 3);
  EXPECT_EQ(r.config.erp.limits.requests_per_second, 0);  // connector default
}

TEST(ConfigTest, OrderToCashSection) {
  ConfigResult r = ParseConfig(kMinimal, kNoEnv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.order_to_cash.create_on,
            (std::vector<std::string>{"processing", "completed"}));
  EXPECT_TRUE(r.config.order_to_cash.write_back);
  EXPECT_EQ(r.config.order_to_cash.backfill_interval_s, 300);
  r = ParseConfig(std::string(kMinimal) +
                      "order_to_cash: {create_on: [processing, on-hold], write_back: false, "
                      "backfill_interval_s: 0, backfill_overlap_s: 60, "
                      "backfill_lookback_hours: 2}\n",
                  kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  EXPECT_EQ(r.config.order_to_cash.create_on,
            (std::vector<std::string>{"processing", "on-hold"}));
  EXPECT_FALSE(r.config.order_to_cash.write_back);
  EXPECT_EQ(r.config.order_to_cash.backfill_interval_s, 0);
  EXPECT_EQ(r.config.order_to_cash.backfill_overlap_s, 60);
  EXPECT_EQ(r.config.order_to_cash.backfill_lookback_hours, 2);
  EXPECT_EQ(Errors(std::string(kMinimal) +
                   "order_to_cash: {create_on: [paid], write_back: maybe, "
                   "backfill_interval_s: -1}\n"),
            "order_to_cash.create_on[0]: must be one of processing, completed, on-hold\n"
            "order_to_cash.write_back: must be true or false\n"
            "order_to_cash.backfill_interval_s: must be >= 0\n");
  EXPECT_EQ(Errors(std::string(kMinimal) + "order_to_cash: {create_on: []}\n"),
            "order_to_cash.create_on: must not be empty\n");
}

TEST(ConfigTest, DuplicateKeysAndApiKeyNames) {
  const std::string sha(64, 'f');
  EXPECT_EQ(Errors(std::string(kMinimal) + "log: {level: info, level: debug}\nops:\n  api_keys:\n" +
                   "    - {name: a, sha256: \"" + sha + "\"}\n    - {name: a, sha256: \"" + sha +
                   "\"}\n"),
            "log.level: duplicate key\n"
            "ops.api_keys[1].name: duplicate api key name \"a\"\n");
}

TEST(ConfigTest, YamlSyntaxError) {
  ConfigResult r = ParseConfig("stores:\n  - {id: main, url: [x\nlog: {}\n", kNoEnv);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_THAT(r.errors[0].message, HasSubstr("YAML syntax error at line "));
  EXPECT_THAT(r.errors[0].message, HasSubstr(", column "));

  r = ParseConfig("server:\n  listen: a\n bad: 1\n", kNoEnv);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "YAML syntax error at line 3, column 2: end of map not found");

  r = ParseConfig("a: 1\n---\nb: 2\n", kNoEnv);
  EXPECT_EQ(FormatErrors(r.errors), "expected one YAML document, found 2\n");
}

TEST(ConfigTest, LoadConfigFileErrors) {
  ConfigResult r = LoadConfigFile("/nonexistent/keelson.yaml", kNoEnv);
  EXPECT_EQ(FormatErrors(r.errors),
            "/nonexistent/keelson.yaml: cannot read config file: No such file or directory\n");
  r = LoadConfigFile(KEELSON_SOURCE_DIR "/configs", kNoEnv);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, KEELSON_SOURCE_DIR "/configs");
  EXPECT_THAT(r.errors[0].message, HasSubstr("cannot read config file"));
}

TEST(ConfigTest, FormatErrorsAndProcessEnv) {
  EXPECT_EQ(FormatErrors({}), "");
  EXPECT_EQ(FormatErrors({{"a.b", "bad"}, {"", "whole file"}}), "a.b: bad\nwhole file\n");
  EXPECT_EQ(ProcessEnv("KEELSON_CONFIG_TEST_SURELY_UNSET_VARIABLE"), std::nullopt);
}

}  // namespace
}  // namespace keelson::app

namespace keelson::app {
namespace {

TEST(ConfigSlaTest, DefaultRulesWhenAbsentNoneWhenEmpty) {
  ConfigResult r = ParseConfig(kMinimal, kNoEnv);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.config.sla.rules.size(), 3u);
  EXPECT_EQ(r.config.sla.rules[0].name, "paid_not_in_erp");
  EXPECT_EQ(r.config.sla.rules[0].older_than_s, 300);
  EXPECT_EQ(r.config.sla.rules[1].subject, "stock_publication");
  EXPECT_EQ(r.config.sla.interval_s, 15);
  r = ParseConfig(std::string(kMinimal) + "sla: {rules: []}\n", kNoEnv);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config.sla.rules.empty());
}

TEST(ConfigSlaTest, RulesAndWebhookAreReadAndCheckedKeyByKey) {
  ConfigResult r = ParseConfig(std::string(kMinimal) + R"(
sla:
  interval_s: 5
  alert_webhook: {url: "https://hooks.slack.com/services/T/B/X", format: json}
  rules:
    - {name: shipped_late, subject: orders, status: [completed], erp_state: [pending], older_than_s: 900}
    - {name: backlog, subject: jobs, kind: erp.create_order, older_than_s: 60}
)",
                               kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  EXPECT_EQ(r.config.sla.alert_webhook_url, "https://hooks.slack.com/services/T/B/X");
  EXPECT_EQ(r.config.sla.alert_webhook_format, "json");
  ASSERT_EQ(r.config.sla.rules.size(), 2u);
  EXPECT_EQ(r.config.sla.rules[0].status, std::vector<std::string>{"completed"});
  EXPECT_EQ(r.config.sla.rules[1].kind, "erp.create_order");

  EXPECT_EQ(Errors(std::string(kMinimal) + R"(
sla:
  alert_webhook: {url: "hooks.slack.com", format: teams}
  rules:
    - {name: a, subject: order, older_than_s: -1}
    - {name: a, subject: stock_publication, status: [processing], kind: x}
    - {subject: jobs, erp_state: [sent]}
)"),
            "sla.alert_webhook.format: must be one of slack, json\n"
            "sla.alert_webhook.url: must start with http:// or https://\n"
            "sla.rules[0].subject: must be one of orders, stock_publication, jobs, dead_letters, "
            "segments, shipments\n"
            "sla.rules[0].older_than_s: must be >= 0\n"
            "sla.rules[1].status: only rules with subject \"orders\" or \"segments\" filter on a "
            "status\n"
            "sla.rules[1].kind: only rules with subject \"jobs\" or \"dead_letters\" filter on a "
            "job kind\n"
            "sla.rules[2].erp_state[0]: must be one of none, pending, created, cancel_pending, "
            "cancelled, skipped\n"
            "sla.rules[2].name: required\n"
            "sla.rules[1].name: duplicate rule name \"a\"\n");
}

TEST(ConfigSlaTest, ApiKeyScopes) {
  const std::string sha(64, 'a');
  ConfigResult r = ParseConfig(std::string(kMinimal) + "ops: {api_keys: [{name: ro, sha256: \"" +
                                   sha + "\", scopes: [\"ops:read\"]}, {name: rw, sha256: \"" +
                                   sha + "\"}]}\n",
                               kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  EXPECT_EQ(r.config.ops.api_keys[0].scopes, std::vector<std::string>{"ops:read"});
  EXPECT_EQ(r.config.ops.api_keys[1].scopes, std::vector<std::string>{"ops"});
  EXPECT_EQ(Errors(std::string(kMinimal) + "ops: {api_keys: [{name: x, sha256: \"" + sha +
                   "\", scopes: [admin]}]}\n"),
            "ops.api_keys[0].scopes[0]: must be one of ops, ops:read\n");
}

}  // namespace
}  // namespace keelson::app

namespace keelson::app {
namespace {

TEST(ConfigFulfillmentTest, NodesAndShipBobAreReadAndCheckedKeyByKey) {
  ConfigResult r = ParseConfig(std::string(kMinimal) + R"(
erp: {type: odoo, url: "https://odoo.example.com", database: db, username: u, password: p}
fulfillment:
  nodes:
    - {id: wh1, provider: erp, locations: [WH1, WH1-B], priority: 1}
    - {id: sb, kind: 3pl, provider: shipbob, locations: [SB], regions: [US, US-CA], skus: [WID-], cost: 300}
    - {id: acme, kind: dropship, provider: erp, untracked: true}
  shipbob: {token: "pat", channel_id: 100102, webhook_secret: "whsec_a2V5"}
)",
                               kNoEnv);
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  ASSERT_EQ(r.config.fulfillment.nodes.size(), 3u);
  EXPECT_EQ(r.config.fulfillment.nodes[0].locations, (std::vector<std::string>{"WH1", "WH1-B"}));
  EXPECT_EQ(r.config.fulfillment.nodes[1].kind, "3pl");
  EXPECT_EQ(r.config.fulfillment.nodes[1].regions, (std::vector<std::string>{"US", "US-CA"}));
  EXPECT_EQ(r.config.fulfillment.nodes[1].cost, 300);
  EXPECT_EQ(r.config.fulfillment.nodes[1].priority, 100);
  EXPECT_TRUE(r.config.fulfillment.nodes[2].untracked);
  EXPECT_EQ(r.config.fulfillment.shipbob.url, "https://api.shipbob.com/2026-01");
  EXPECT_EQ(r.config.fulfillment.shipbob.channel_id, 100102);
  EXPECT_EQ(r.config.fulfillment.hold_recheck_s, 600);  // the default

  EXPECT_EQ(Errors(std::string(kMinimal) + R"(
fulfillment:
  nodes:
    - {id: wh1, provider: erp}
    - {id: wh1, provider: fedex, locations: [X], kind: depot}
    - {provider: shipbob, locations: [SB]}
)"),
            "fulfillment.nodes[0].locations: required unless the node is untracked (drop-ship)\n"
            "fulfillment.nodes[1].provider: must be one of erp, shipbob, edi:<partner id>\n"
            "fulfillment.nodes[1].kind: must be one of warehouse, 3pl, dropship\n"
            "fulfillment.nodes[2].id: required\n"
            "fulfillment.nodes[1].id: duplicate node id \"wh1\"\n"
            "fulfillment.nodes[2].provider: provider \"shipbob\" needs a fulfillment.shipbob "
            "section\n"
            "fulfillment.nodes[0].provider: provider \"erp\" needs an erp section\n");
  EXPECT_EQ(Errors(std::string(kMinimal) + "fulfillment: {shipbob: {url: \"ftp://x\"}}\n"),
            "fulfillment.shipbob.url: must start with http:// or https://\n"
            "fulfillment.shipbob.token: required\n"
            "fulfillment.shipbob.channel_id: required\n"
            "fulfillment.shipbob.webhook_secret: required\n");
  EXPECT_EQ(Errors(std::string(kMinimal) + "fulfillment: {hold_recheck_s: -1}\n"),
            "fulfillment.hold_recheck_s: must be >= 0\n");
}

TEST(ConfigFulfillmentTest, EdiPartnersAreReadAndCheckedKeyByKey) {
  ConfigResult r = ParseConfig(std::string(kMinimal) + R"(
fulfillment:
  nodes:
    - {id: acme-east, kind: 3pl, provider: "edi:acme", locations: [ACME]}
  edi:
    partners:
      - id: acme
        isa: {sender_id: KEELSON, receiver_id: ACME3PL, usage: T, ack_requested: true}
        gs: {sender: KEELSONGS}
        delimiters: {element: "|", component: "^", segment: "~", line_end: crlf}
        sftp:
          host: sftp.acme.example
          port: 2222
          user: keelson
          key_file: /etc/keelson/acme_ed25519
          key_passphrase: "${ACME_KEY_PASS}"
          host_key_sha256: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
          timeout_ms: 5000
        folders: {outbound: /in, inbound: /out, archive: /out/archive, error: /out/error}
        poll_interval_ms: 30000
        batch_window_ms: 2000
        max_batch: 200
        inventory: {location: ACME, qualifiers: ["33"]}
)",
                               [](std::string_view name) -> std::optional<std::string> {
                                 if (name == "ACME_KEY_PASS") return "s3cret";
                                 return std::nullopt;
                               });
  ASSERT_TRUE(r.ok()) << FormatErrors(r.errors);
  ASSERT_EQ(r.config.fulfillment.edi.partners.size(), 1u);
  const connectors::edi::EdiPartnerOptions& p = r.config.fulfillment.edi.partners[0];
  EXPECT_EQ(r.config.fulfillment.nodes[0].provider, "edi:acme");
  EXPECT_EQ(p.id, "acme");
  EXPECT_EQ(p.sender_qualifier, "ZZ");
  EXPECT_EQ(p.receiver_id, "ACME3PL");
  EXPECT_EQ(p.usage, 'T');
  EXPECT_TRUE(p.ack_requested);
  EXPECT_EQ(p.gs_sender, "KEELSONGS");
  EXPECT_EQ(p.delimiters.element, '|');
  EXPECT_EQ(p.delimiters.component, '^');
  EXPECT_EQ(p.line_end, "\r\n");
  EXPECT_EQ(p.transport, "sftp");
  EXPECT_EQ(p.sftp.port, 2222);
  EXPECT_EQ(p.sftp.key_passphrase, "s3cret");
  EXPECT_EQ(p.sftp.timeout, absl::Seconds(5));
  EXPECT_EQ(p.sftp.label, "edi:acme");
  EXPECT_EQ(p.inbound_folder, "/out");
  EXPECT_EQ(p.poll_interval, absl::Seconds(30));
  EXPECT_EQ(p.settle, absl::Seconds(2));
  EXPECT_EQ(p.batch_window, absl::Seconds(2));
  EXPECT_EQ(p.max_batch, 200);
  EXPECT_EQ(p.inventory_location, "ACME");
  EXPECT_EQ(p.inventory_qualifiers, (std::vector<std::string>{"33"}));

  EXPECT_EQ(Errors(std::string(kMinimal) + R"(
fulfillment:
  nodes:
    - {id: n1, provider: "edi:nobody", locations: [X]}
  edi:
    partners:
      - id: "acme east"
        isa: {sender_id: KEELSON}
        delimiters: {element: "**"}
        sftp: {host: h, user: u, key_file: k}
        folders: {inbound: same, outbound: same}
      - id: l
        isa: {sender_id: A, receiver_id: B}
        transport: local
)"),
            "fulfillment.edi.partners[0].delimiters.element: must be one character\n"
            "fulfillment.edi.partners[0].id: only letters, digits, '-' and '_'\n"
            "fulfillment.edi.partners[0].isa.receiver_id: required\n"
            "fulfillment.edi.partners[0].folders: inbound must differ from outbound, archive and "
            "error\n"
            "fulfillment.edi.partners[0].sftp.known_hosts: one of known_hosts, host_key_sha256 or "
            "insecure_accept_any_host_key: true is required (the server's identity must be "
            "checked)\n"
            "fulfillment.edi.partners[1].local.root: required for transport local\n"
            "fulfillment.nodes[0].provider: no trading partner \"nobody\" in "
            "fulfillment.edi.partners\n");
}

}  // namespace
}  // namespace keelson::app
