// The Grafana dashboard shipped in deploy/grafana/keelson.json, held to what Keelson exports: it
// must be an importable dashboard whose queries are sound PromQL over the right metric types, and
// every keelson_* metric (and every label it groups or filters by) must be in the /metrics of a
// real keelson serve that has had traffic. A renamed metric or label breaks this test, not the
// dashboard in someone's Grafana.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sim/business_central.h"
#include "sim/woocommerce.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace keelson {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::KeelsonProcess;
using testing::TempDir;
using testing::WooHeaders;

const std::string kDashboardPath = std::string(KEELSON_SOURCE_DIR) + "/deploy/grafana/keelson.json";
// Labels Prometheus attaches to every scraped series; Keelson itself never exports them.
const std::set<std::string> kTargetLabels = {"job", "instance"};

json LoadDashboard() {
  std::ifstream in(kDashboardPath);
  EXPECT_TRUE(in.good()) << kDashboardPath;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());  // throws (fails the test) on invalid JSON
}

// Every panel, rows' nested (collapsed) panels included, in document order.
std::vector<json> AllPanels(const json& dashboard) {
  std::vector<json> out;
  for (const json& p : dashboard.value("panels", json::array())) {
    out.push_back(p);
    for (const json& nested : p.value("panels", json::array())) out.push_back(nested);
  }
  return out;
}

struct Query {
  std::string panel;  // title, for messages
  std::string expr;
  std::string legend;  // legendFormat
};

std::vector<Query> AllQueries(const json& dashboard) {
  std::vector<Query> out;
  for (const json& p : AllPanels(dashboard)) {
    for (const json& t : p.value("targets", json::array())) {
      out.push_back({p.value("title", ""), t.value("expr", ""), t.value("legendFormat", "")});
    }
  }
  return out;
}

std::vector<std::string> Matches(const std::string& text, const std::regex& re, int group = 0) {
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[group].str());
  }
  return out;
}

const std::regex kMetricName(R"(keelson_[a-z0-9_]+)");
const std::regex kByClause(R"(\bby\s*\(([^)]*)\))");
const std::regex kRange(R"(\[[^\]]*\])");
const std::regex kLegendLabel(R"(\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
// A selector: the metric name and what is between its braces.
const std::regex kSelector(R"((keelson_[a-z0-9_]+)\{([^}]*)\})");
const std::regex kMatcherLabel(R"(([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=))");

std::set<std::string> ByLabels(const std::string& expr) {
  std::set<std::string> out;
  for (const std::string& list : Matches(expr, kByClause, 1)) {
    for (absl::string_view l : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
      out.insert(std::string(absl::StripAsciiWhitespace(l)));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The exposition: each family's type, and the label names its samples carry.

struct Exposition {
  std::map<std::string, std::string> types;             // family -> counter|gauge|histogram
  std::map<std::string, std::set<std::string>> labels;  // family -> label names seen
  std::map<std::string, double> totals;                 // family -> sum of its plain samples

  // A name as written in a query, resolved to its family: histogram series (_bucket, _sum,
  // _count) belong to the histogram.
  std::string Family(const std::string& name) const {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!absl::EndsWith(name, suffix)) continue;
      const std::string base(absl::StripSuffix(name, suffix));
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
    return name;
  }
  const std::set<std::string>& LabelsOf(const std::string& family) const {
    static const std::set<std::string> kNone;
    auto it = labels.find(family);
    return it == labels.end() ? kNone : it->second;
  }
};

Exposition ParseExposition(const std::string& text) {
  Exposition e;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() == 2) e.types[parts[0]] = parts[1];
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == absl::string_view::npos) continue;
    const std::string name(line.substr(0, name_end));
    std::set<std::string> names;
    size_t i = name_end;
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos) break;
        names.insert(std::string(absl::StripAsciiWhitespace(line.substr(i, eq - i))));
        i = eq + 2;  // past ="
        while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
        ++i;  // past the closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // past }
    }
    const std::string family = e.Family(name);
    e.labels[family].insert(names.begin(), names.end());
    if (family == name) {
      double v = 0;
      if (absl::SimpleAtod(absl::StripAsciiWhitespace(line.substr(std::min(i, line.size()))), &v)) {
        e.totals[family] += v;
      }
    }
  }
  return e;
}

// Everything wrong with the dashboard's queries against one exposition; empty when it holds.
std::vector<std::string> CheckAgainst(const std::vector<Query>& queries, const Exposition& e) {
  std::vector<std::string> problems;
  for (const Query& q : queries) {
    const std::string where = absl::StrCat("panel \"", q.panel, "\": ", q.expr);
    std::set<std::string> families;
    for (auto it = std::sregex_iterator(q.expr.begin(), q.expr.end(), kMetricName);
         it != std::sregex_iterator(); ++it) {
      const std::string name = it->str();
      const std::string family = e.Family(name);
      families.insert(family);
      auto type = e.types.find(family);
      if (type == e.types.end()) {
        problems.push_back(absl::StrCat("no `# TYPE ", family, "` in /metrics; ", where));
        continue;
      }
      // rate() over counters and histogram series, and over nothing else.
      std::string before = q.expr.substr(0, static_cast<size_t>(it->position()));
      while (!before.empty() && before.back() == ' ') before.pop_back();
      const bool in_rate = absl::EndsWith(before, "rate(") || absl::EndsWith(before, "increase(");
      const bool histogram_part = family != name;
      if (type->second == "histogram" && !histogram_part) {
        problems.push_back(absl::StrCat(family,
                                        " is a histogram: query its _bucket, _sum or "
                                        "_count series; ",
                                        where));
      }
      if ((type->second == "counter" || histogram_part) && !in_rate) {
        problems.push_back(absl::StrCat(name, " only grows: take its rate(); ", where));
      }
      if (type->second == "gauge" && in_rate) {
        problems.push_back(absl::StrCat(name, " is a gauge: rate() of it means nothing; ", where));
      }
      if (absl::EndsWith(name, "_bucket") &&
          q.expr.find("histogram_quantile") == std::string::npos) {
        problems.push_back(absl::StrCat(name, " outside histogram_quantile; ", where));
      }
    }
    // Filtered labels exist on their metric; grouped-by labels on one of the query's metrics.
    for (auto it = std::sregex_iterator(q.expr.begin(), q.expr.end(), kSelector);
         it != std::sregex_iterator(); ++it) {
      const std::string family = e.Family((*it)[1].str());
      for (const std::string& label : Matches((*it)[2].str(), kMatcherLabel, 1)) {
        if (kTargetLabels.count(label) || e.LabelsOf(family).count(label)) continue;
        problems.push_back(absl::StrCat(family, " has no label \"", label, "\"; ", where));
      }
    }
    for (const std::string& label : ByLabels(q.expr)) {
      if (kTargetLabels.count(label)) continue;
      const bool found = std::any_of(families.begin(), families.end(), [&](const std::string& f) {
        return e.LabelsOf(f).count(label) > 0;
      });
      if (!found) {
        problems.push_back(absl::StrCat(
            "no metric of the query has a label \"", label, "\" (seen: ",
            absl::StrJoin(families, ", ",
                          [&](std::string* out, const std::string& f) {
                            absl::StrAppend(out, f, "{", absl::StrJoin(e.LabelsOf(f), ","), "}");
                          }),
            "); ", where));
      }
    }
  }
  return problems;
}

std::set<std::string> MetricFamiliesUsed(const std::vector<Query>& queries) {
  std::set<std::string> out;
  for (const Query& q : queries) {
    for (const std::string& match : Matches(q.expr, kMetricName)) {
      absl::string_view name = match;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (absl::ConsumeSuffix(&name, suffix)) break;
      }
      out.insert(std::string(name));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

TEST(GrafanaDashboardTest, IsAnImportableDashboardWithSoundQueries) {
  const json d = LoadDashboard();
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d.value("title", ""), "Keelson");
  EXPECT_FALSE(d.value("uid", "").empty());
  EXPECT_GE(d.value("schemaVersion", 0), 36);
  ASSERT_TRUE(d.contains("panels") && d["panels"].is_array() && !d["panels"].empty());

  // Import asks for a Prometheus data source; the `datasource` variable switches it after.
  bool input = false;
  for (const json& i : d.value("__inputs", json::array())) {
    input |= i.value("name", "") == "DS_PROMETHEUS" && i.value("pluginId", "") == "prometheus";
  }
  EXPECT_TRUE(input) << "no DS_PROMETHEUS input";
  std::map<std::string, json> vars;
  for (const json& v : d["templating"]["list"]) vars[v.value("name", "")] = v;
  ASSERT_TRUE(vars.count("datasource"));
  EXPECT_EQ(vars["datasource"]["type"], "datasource");
  EXPECT_EQ(vars["datasource"]["query"], "prometheus");

  std::vector<std::string> rows;
  std::set<int> ids;
  std::vector<json> panels = AllPanels(d);
  for (const json& p : panels) {
    const std::string title = p.value("title", "");
    SCOPED_TRACE(title);
    ASSERT_TRUE(p.contains("id") && p["id"].is_number_integer());
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id " << p["id"];
    EXPECT_FALSE(title.empty());
    const json& g = p["gridPos"];
    EXPECT_GT(g.value("w", 0), 0);
    EXPECT_GT(g.value("h", 0), 0);
    EXPECT_LE(g.value("x", 0) + g.value("w", 0), 24);
    if (p.value("type", "") == "row") {
      rows.push_back(title);
      continue;
    }
    ASSERT_TRUE(p.contains("datasource")) << "panel without a datasource";
    EXPECT_EQ(p["datasource"].value("type", ""), "prometheus");
    EXPECT_EQ(p["datasource"].value("uid", ""), "${datasource}");
    ASSERT_TRUE(p.contains("targets") && p["targets"].is_array() && !p["targets"].empty())
        << "panel without targets";
    std::set<std::string> refs;
    for (const json& t : p["targets"]) {
      const std::string expr = t.value("expr", "");
      SCOPED_TRACE(expr);
      EXPECT_FALSE(expr.empty()) << "target without an expr";
      EXPECT_TRUE(refs.insert(t.value("refId", "")).second) << "duplicate refId";
      EXPECT_FALSE(Matches(expr, kMetricName).empty()) << "no keelson_ metric";
      // Windows follow the scrape interval (Grafana's $__rate_interval), never a fixed guess.
      for (const std::string& range : Matches(expr, kRange)) {
        EXPECT_EQ(range, "[$__rate_interval]");
      }
      // Every instance's series can be picked with the job variable.
      for (const std::string& selector : Matches(expr, kSelector, 2)) {
        EXPECT_NE(selector.find("job=~\"$job\""), std::string::npos);
      }
      EXPECT_EQ(Matches(expr, std::regex(R"(keelson_[a-z0-9_]+\s*[^{a-z0-9_\s])")).size(), 0u)
          << "a selector without the job matcher";
      // Quantiles come from buckets summed by le.
      if (expr.find("histogram_quantile") != std::string::npos) {
        EXPECT_NE(expr.find("_bucket"), std::string::npos);
        EXPECT_TRUE(ByLabels(expr).count("le"));
      }
      // A legend names only labels the query keeps.
      const std::set<std::string> by = ByLabels(expr);
      for (const std::string& label : Matches(t.value("legendFormat", ""), kLegendLabel, 1)) {
        EXPECT_TRUE(by.count(label)) << "legend {{" << label << "}} not grouped by";
      }
    }
  }
  EXPECT_EQ(rows,
            (std::vector<std::string>{"Overview", "Orders", "Inventory", "Connectors", "Store"}));

  // No two panels overlap (rows are expanded, so every panel lives on the top-level grid).
  for (size_t a = 0; a < panels.size(); ++a) {
    for (size_t b = a + 1; b < panels.size(); ++b) {
      const json& p = panels[a]["gridPos"];
      const json& q = panels[b]["gridPos"];
      const bool apart = p["x"].get<int>() + p["w"].get<int>() <= q["x"].get<int>() ||
                         q["x"].get<int>() + q["w"].get<int>() <= p["x"].get<int>() ||
                         p["y"].get<int>() + p["h"].get<int>() <= q["y"].get<int>() ||
                         q["y"].get<int>() + q["h"].get<int>() <= p["y"].get<int>();
      EXPECT_TRUE(apart) << panels[a]["title"] << " overlaps " << panels[b]["title"];
    }
  }
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

// keelson serve between the shop and Business Central simulators, with inventory and SLA rules
// on, and a little of every kind of traffic: a paid order, an order for an item the ERP does not
// know (a business dead letter), a delivery that is not JSON (a poison dead letter), a delivery
// with a bad signature (refused), a stock event (published to the shop). The dead letters breach
// the default dead_letters SLA rule, whose alert webhook (nothing listens there) fails: that is
// what registers the counters Keelson creates at first use.
TEST(GrafanaDashboardTest, EveryMetricAndLabelItQueriesIsExportedByARunningKeelson) {
  const std::vector<Query> queries = AllQueries(LoadDashboard());
  const std::set<std::string> used = MetricFamiliesUsed(queries);
  ASSERT_GE(used.size(), 30u) << absl::StrJoin(used, "\n");

  sim::BusinessCentralSim::Options bo;
  bo.requests_per_window = 1'000'000;
  sim::BusinessCentralSim bc(bo);
  ASSERT_TRUE(bc.Start().ok());
  bc.AddItem("WID-BLUE", "Item WID-BLUE", model::Money{1999, "EUR"});
  sim::WooCommerceSim::Options wo;
  sim::WooCommerceSim woo(wo);
  ASSERT_TRUE(woo.Start().ok());
  ASSERT_TRUE(woo.AddProduct({.sku = "WID-BLUE", .stock_quantity = 0}).ok());

  TempDir dir;
  const std::string config = dir.File("keelson.yaml");
  std::ofstream(config)
      << "server: {listen: \"127.0.0.1:0\", io_threads: 2}\n"
      << "storage: {engine: sqlite, path: \"" << dir.File("keelson.db") << "\"}\n"
      << "stores:\n" << woo.KeelsonStoreYaml() << bc.KeelsonErpYaml()
      << "  limits: {requests_per_second: 100000, concurrency: 5, timeout_ms: 2000}\n"
      << "inventory: {channels: [{store: main, locations: [WH1]}], reconcile_interval_s: 3600}\n"
      << "jobs: {poll_interval_ms: 50, backoff_base_ms: 50, backoff_cap_ms: 500}\n"
      << "sla: {interval_s: 1, alert_webhook: {url: \"http://127.0.0.1:1/alerts\", format: json}}\n"
      << "log: {level: warn, format: json}\n";
  KeelsonProcess proc(config, dir.path());
  const uint16_t port = proc.WaitReady();
  ASSERT_NE(port, 0) << proc.Log();
  const std::string hook = "/v1/webhooks/woocommerce/main";
  woo.SetWebhookTarget(absl::StrCat("http://127.0.0.1:", port, hook));

  HttpClient http("127.0.0.1", port);
  const json event = {{"event_id", "grafana-1"},
                      {"sku", "WID-BLUE"},
                      {"location", "WH1"},
                      {"on_hand", 5},
                      {"occurred_at", "2026-12-05T10:00:00Z"}};
  ASSERT_EQ(http.Request("POST", "/v1/inventory/events", {{"Content-Type", "application/json"}},
                         event.dump())
                .status,
            200);
  ASSERT_TRUE(woo.CreateOrder({}).ok());
  sim::WooOrderSpec unknown;
  unknown.lines = {{.sku = "NEW-ITEM", .quantity = 1, .price = "9.99"}};
  ASSERT_TRUE(woo.CreateOrder(unknown).ok());
  const std::string poison = "{\"id\": 77, \"truncated";  // signed, but not JSON
  EXPECT_EQ(
      http.Request("POST", hook, WooHeaders("order.created", poison, wo.webhook_secret), poison)
          .status,
      200);
  EXPECT_EQ(
      http.Request("POST", hook, WooHeaders("order.created", "{}", "not-the-secret"), "{}").status,
      401);

  // Scrape until the traffic has gone through (an ERP order, both dead letters, a failed alert)
  // and the dashboard holds, or give up after a while and report what is missing.
  Exposition e;
  std::string text;
  std::vector<std::string> problems;
  const bool held = WaitUntil(
      [&] {
        auto r = http.Get("/metrics");
        if (r.status != 200) return false;
        text = r.body;
        e = ParseExposition(text);
        problems = CheckAgainst(queries, e);
        return problems.empty() && e.totals["keelson_erp_orders_created_total"] >= 1 &&
               e.totals["keelson_dead_letters"] >= 2 && e.totals["keelson_sla_alerts_total"] >= 1 &&
               e.totals["keelson_inventory_published_total"] >= 1;
      },
      std::chrono::seconds(30));
  for (const std::string& name : used) {
    EXPECT_NE(text.find("# TYPE " + name + " "), std::string::npos)
        << "the dashboard queries " << name << ", which /metrics does not export";
  }
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
  EXPECT_TRUE(held) << "traffic did not show in /metrics:\n" << text << "\n" << proc.Log();
}

}  // namespace
}  // namespace keelson
