#include "obs/metrics.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace keelson::obs {
namespace {

TEST(ObsMetricsTest, CounterWithLabelsRendersExactly) {
  Registry registry;
  Counter* get = registry.GetCounter("http_requests_total", "HTTP requests served.",
                                     {{"method", "GET"}, {"code", "200"}});
  Counter* post = registry.GetCounter("http_requests_total", "HTTP requests served.",
                                      {{"method", "POST"}, {"code", "500"}});
  get->Inc();
  get->Inc(2);
  post->Inc(0.5);
  post->Inc(-4);  // ignored: counters never go down
  EXPECT_EQ(get->Value(), 3);
  EXPECT_EQ(registry.Render(),
            "# HELP http_requests_total HTTP requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "http_requests_total{method=\"POST\",code=\"500\"} 0.5\n");
}

TEST(ObsMetricsTest, GaugeRendersExactly) {
  Registry registry;
  Gauge* gauge = registry.GetGauge("inflight_jobs", "Jobs currently running.");
  gauge->Set(2.5);
  gauge->Add(-1);
  EXPECT_EQ(gauge->Value(), 1.5);
  Gauge* temp = registry.GetGauge("inflight_jobs", "Jobs currently running.", {{"pool", "io"}});
  temp->Add(-7);
  EXPECT_EQ(registry.Render(),
            "# HELP inflight_jobs Jobs currently running.\n"
            "# TYPE inflight_jobs gauge\n"
            "inflight_jobs 1.5\n"
            "inflight_jobs{pool=\"io\"} -7\n");
}

TEST(ObsMetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry registry;
  Histogram* h = registry.GetHistogram("request_seconds", "Request latency.", {0.25, 1, 2.5},
                                       {{"route", "/orders"}});
  for (double v : {0.125, 0.25, 0.75, 2.0, 10.0}) h->Observe(v);
  EXPECT_EQ(h->Count(), 5u);
  EXPECT_EQ(h->Sum(), 13.125);
  EXPECT_EQ(registry.Render(),
            "# HELP request_seconds Request latency.\n"
            "# TYPE request_seconds histogram\n"
            "request_seconds_bucket{route=\"/orders\",le=\"0.25\"} 2\n"
            "request_seconds_bucket{route=\"/orders\",le=\"1\"} 3\n"
            "request_seconds_bucket{route=\"/orders\",le=\"2.5\"} 4\n"
            "request_seconds_bucket{route=\"/orders\",le=\"+Inf\"} 5\n"
            "request_seconds_sum{route=\"/orders\"} 13.125\n"
            "request_seconds_count{route=\"/orders\"} 5\n");
}

TEST(ObsMetricsTest, HistogramWithoutLabelsAndEmpty) {
  Registry registry;
  registry.GetHistogram("empty_seconds", "", {1});
  EXPECT_EQ(registry.Render(),
            "# TYPE empty_seconds histogram\n"
            "empty_seconds_bucket{le=\"1\"} 0\n"
            "empty_seconds_bucket{le=\"+Inf\"} 0\n"
            "empty_seconds_sum 0\n"
            "empty_seconds_count 0\n");
}

TEST(ObsMetricsTest, HistogramBoundsAreNormalized) {
  Histogram h({2, 1, 2, INFINITY, NAN, 0.5});
  EXPECT_EQ(h.Bounds(), (std::vector<double>{0.5, 1, 2}));
  h.Observe(1);
  h.Observe(NAN);  // lands in +Inf
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{0, 1, 1, 2}));
}

TEST(ObsMetricsTest, HistogramFamilyKeepsFirstBuckets) {
  Registry registry;
  Histogram* a = registry.GetHistogram("h_seconds", "h", {1, 2}, {{"k", "a"}});
  Histogram* b = registry.GetHistogram("h_seconds", "h", {5}, {{"k", "b"}});
  EXPECT_NE(a, b);
  EXPECT_EQ(b->Bounds(), (std::vector<double>{1, 2}));
  EXPECT_EQ(registry.GetHistogram("h_seconds", "h", {}, {{"k", "a"}}), a);
}

TEST(ObsMetricsTest, LatencyBucketsRenderAsPlainDecimals) {
  Registry registry;
  registry.GetHistogram("latency_seconds", "Latency.", LatencyBucketsSeconds());
  const std::string text = registry.Render();
  std::string les;
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_NE(text.find(std::string("latency_seconds_bucket{le=\"") + le + "\"} 0\n"),
              std::string::npos)
        << le << "\n"
        << text;
  }
  EXPECT_EQ(LatencyBucketsSeconds().size(), 14u);
}

TEST(ObsMetricsTest, FamiliesSortedByNameSamplesInRegistrationOrder) {
  Registry registry;
  registry.GetGauge("zeta", "z", {{"n", "2"}})->Set(2);
  registry.GetCounter("alpha_total", "a")->Inc();
  registry.GetGauge("zeta", "z", {{"n", "1"}})->Set(1);
  EXPECT_EQ(registry.Render(),
            "# HELP alpha_total a\n"
            "# TYPE alpha_total counter\n"
            "alpha_total 1\n"
            "# HELP zeta z\n"
            "# TYPE zeta gauge\n"
            "zeta{n=\"2\"} 2\n"
            "zeta{n=\"1\"} 1\n");
}

TEST(ObsMetricsTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry
      .GetCounter("escape_total", "Help with \\ backslash\nand \"quotes\".",
                  {{"path", "C:\\dir\\\"x\"\nnext"}})
      ->Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP escape_total Help with \\\\ backslash\\nand \"quotes\".\n"
            "# TYPE escape_total counter\n"
            "escape_total{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\"} 1\n");
}

TEST(ObsMetricsTest, CallbackGaugeIsEvaluatedAtScrapeTime) {
  Registry registry;
  int depth = 3;
  registry.AddCallbackGauge("queue_depth", "Jobs waiting per queue.", [&depth] {
    return std::vector<std::pair<Labels, double>>{{{{"queue", "orders"}}, double(depth)},
                                                  {{{"queue", "stock"}}, 0.25}};
  });
  const std::string expected_prefix =
      "# HELP queue_depth Jobs waiting per queue.\n"
      "# TYPE queue_depth gauge\n";
  EXPECT_EQ(registry.Render(), expected_prefix +
                                   "queue_depth{queue=\"orders\"} 3\n"
                                   "queue_depth{queue=\"stock\"} 0.25\n");
  depth = 42;
  EXPECT_EQ(registry.Render(), expected_prefix +
                                   "queue_depth{queue=\"orders\"} 42\n"
                                   "queue_depth{queue=\"stock\"} 0.25\n");

  // Re-adding replaces the callback; invalid label names from a callback are skipped.
  registry.AddCallbackGauge("queue_depth", "ignored", [] {
    return std::vector<std::pair<Labels, double>>{{{}, 7}, {{{"bad-name", "x"}}, 1}};
  });
  EXPECT_EQ(registry.Render(), expected_prefix + "queue_depth 7\n");

  EXPECT_TRUE(registry.RemoveCallbackGauge("queue_depth"));
  EXPECT_FALSE(registry.RemoveCallbackGauge("queue_depth"));
  EXPECT_EQ(registry.Render(), "");
}

TEST(ObsMetricsTest, ThrowingCallbackRendersNoSamples) {
  Registry registry;
  registry.AddCallbackGauge("broken", "b", []() -> std::vector<std::pair<Labels, double>> {
    throw std::runtime_error("db down");
  });
  registry.GetCounter("ok_total", "o")->Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP broken b\n"
            "# TYPE broken gauge\n"
            "# HELP ok_total o\n"
            "# TYPE ok_total counter\n"
            "ok_total 1\n");
}

TEST(ObsMetricsTest, CallbackMayRegisterMetricsWithoutDeadlock) {
  Registry registry;
  registry.AddCallbackGauge("reentrant", "r", [&registry] {
    registry.GetCounter("scrapes_total", "s")->Inc();
    return std::vector<std::pair<Labels, double>>{{{}, 1}};
  });
  registry.Render();
  EXPECT_EQ(registry.GetCounter("scrapes_total", "s")->Value(), 1);
}

TEST(ObsMetricsTest, RegistrationIsIdempotent) {
  Registry registry;
  Counter* a = registry.GetCounter("jobs_total", "Jobs.", {{"kind", "sync"}, {"shop", "s1"}});
  EXPECT_EQ(registry.GetCounter("jobs_total", "Other help.", {{"kind", "sync"}, {"shop", "s1"}}),
            a);
  // Same label set in another order is the same series.
  EXPECT_EQ(registry.GetCounter("jobs_total", "Jobs.", {{"shop", "s1"}, {"kind", "sync"}}), a);
  EXPECT_NE(registry.GetCounter("jobs_total", "Jobs.", {{"kind", "sync"}, {"shop", "s2"}}), a);
  Gauge* g = registry.GetGauge("level", "L");
  EXPECT_EQ(registry.GetGauge("level", "L"), g);
  Histogram* h = registry.GetHistogram("h_seconds", "H", {1});
  EXPECT_EQ(registry.GetHistogram("h_seconds", "H", {1}), h);
  a->Inc();
  EXPECT_EQ(registry.Render().find("Other help"), std::string::npos);  // first help wins
}

TEST(ObsMetricsTest, DefaultRegistryIsASingleton) {
  EXPECT_EQ(&Registry::Default(), &Registry::Default());
  Counter* c = Registry::Default().GetCounter("metrics_test_default_total", "t");
  EXPECT_EQ(Registry::Default().GetCounter("metrics_test_default_total", "t"), c);
}

TEST(ObsMetricsTest, ConcurrentIncIsExact) {
  Registry registry;
  Counter* counter = registry.GetCounter("concurrent_total", "c");
  Gauge* gauge = registry.GetGauge("concurrent_gauge", "g");
  Histogram* histogram = registry.GetHistogram("concurrent_seconds", "h", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        counter->Inc();
        gauge->Add(1);
        histogram->Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  // Scrapes and registrations running alongside the hot path.
  threads.emplace_back([&] {
    for (int i = 0; i < 50; ++i) {
      registry.GetCounter("concurrent_labeled_total", "l", {{"i", std::to_string(i)}})->Inc();
      registry.Render();
    }
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter->Value(), 400000);
  EXPECT_EQ(gauge->Value(), 400000);
  EXPECT_EQ(histogram->Count(), 400000u);
  EXPECT_EQ(histogram->Sum(), 200000 * 0.25 + 200000 * 1.0);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("concurrent_total 400000\n"), std::string::npos);
  EXPECT_NE(text.find("concurrent_seconds_bucket{le=\"0.5\"} 200000\n"), std::string::npos);
  EXPECT_NE(text.find("concurrent_seconds_count 400000\n"), std::string::npos);
}

TEST(ObsMetricsTest, FormatsNumbers) {
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(-12), "-12");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(FormatMetricValue(12345678.9), "12345678.9");
  EXPECT_EQ(FormatMetricValue(1e-7), "1e-07");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
}

using ObsMetricsDeathTest = ::testing::Test;

TEST_F(ObsMetricsDeathTest, TypeMismatchAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  registry.GetCounter("dup_metric", "d");
  EXPECT_DEATH(registry.GetGauge("dup_metric", "d"),
               "'dup_metric' is registered as a counter and cannot be registered again as a gauge");
  EXPECT_DEATH(registry.AddCallbackGauge("dup_metric", "d", {}), "as a callback gauge");
}

TEST_F(ObsMetricsDeathTest, InvalidNamesAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  EXPECT_DEATH(registry.GetCounter("bad-name", "b"), "invalid metric name 'bad-name'");
  EXPECT_DEATH(registry.GetCounter("ok", "b", {{"0x", "v"}}), "invalid label name '0x'");
  EXPECT_DEATH(registry.GetCounter("ok", "b", {{"a", "1"}, {"a", "2"}}), "duplicate label name");
  EXPECT_DEATH(registry.GetHistogram("h", "b", {1}, {{"le", "1"}}), "reserved");
}

}  // namespace
}  // namespace keelson::obs
