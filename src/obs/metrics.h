#pragma once
// In-process metrics rendered in the Prometheus text exposition format (version 0.0.4).
// No external library: counters, gauges and histograms are plain atomics, and Registry::Render()
// produces the text served on the /metrics endpoint.
//
// Ownership: a Registry owns every metric it hands out. The returned pointers stay valid for the
// registry's lifetime; metrics are never removed (only callback gauges can be removed).
// Registry::Default() is a process-wide registry that is never destroyed.
//
// Thread-safety: Counter/Gauge/Histogram updates and reads are lock-free atomics and may be called
// from any thread. Registry registration takes a mutex; Render() takes it only to snapshot the
// family list, and runs callback gauges without holding it.
//
// Programming errors (invalid metric/label names, re-registering a name with a different type)
// print a message to stderr and std::abort(). A family's type cannot be converted, so "return the
// existing one of the requested type" is only possible when the types match.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace keelson::obs {

// Label (name, value) pairs. Rendered in the order given at first registration. Two label sets
// with the same pairs in a different order identify the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

static_assert(std::atomic<double>::is_always_lock_free, "metrics need lock-free atomic<double>");

// Monotonic counter. Negative and NaN increments are ignored (counters never go down).
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc(double v = 1) {
    if (!(v >= 0)) return;  // also rejects NaN
    value_.fetch_add(v, std::memory_order_relaxed);
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Value that can go up and down.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Histogram with fixed upper bounds (the "le" buckets). Each bucket is a separate atomic, so
// Observe() never locks. An observation v lands in the first bucket with v <= bound, or in the
// implicit +Inf bucket (NaN too).
class Histogram {
 public:
  // Bounds are sorted and de-duplicated; +Inf and NaN bounds are dropped (+Inf is implicit).
  explicit Histogram(std::vector<double> bucket_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double v);
  // Total number of observations (sum over all buckets).
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

  // Finite upper bounds, ascending.
  const std::vector<double>& Bounds() const { return bounds_; }
  // Cumulative counts, one per bound plus the final +Inf bucket (== Count() of the same snapshot).
  std::vector<uint64_t> CumulativeCounts() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, non-cumulative
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  using CallbackFn = std::function<std::vector<std::pair<Labels, double>>()>;

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registration is idempotent: the same (name, labels) returns the same object. The help text of
  // the first registration of a name wins. Aborts if `name` is already registered with another
  // type, or if a metric or label name is invalid.
  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // The first registration of `name` fixes the family's buckets: later calls (for any labels)
  // ignore `bucket_bounds` and use the family's buckets. "le" is not allowed as a label name.
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bucket_bounds, const Labels& labels = {});

  // A gauge computed at scrape time (e.g. queue depth read from the database). `fn` returns
  // (labels, value) samples and is called from Render(), possibly from several threads at once,
  // without the registry lock held; it may be slow but must be thread-safe. If it throws, the
  // family is rendered without samples. Samples with invalid label names are skipped.
  // Adding a callback for a name that already has one replaces the callback. Aborts if `name` is
  // registered as a counter, gauge or histogram.
  void AddCallbackGauge(const std::string& name, const std::string& help, CallbackFn fn);
  // Removes a callback gauge (e.g. before the object its callback reads is destroyed). Returns
  // false if `name` is not a callback gauge. A Render() already running may still call it once.
  bool RemoveCallbackGauge(const std::string& name);

  // Full text exposition: families sorted by name, each with # HELP (omitted when help is empty),
  // # TYPE and its samples in registration order. Histograms render cumulative _bucket{le=".."}
  // samples including le="+Inf", then _sum and _count.
  std::string Render() const;
  // The sum over every series of counter or gauge family `name` (0 when there is none; a
  // histogram family sums its observation counts). For the console's rate charts.
  double Total(const std::string& name) const;

  // Process-wide registry. Never destroyed.
  static Registry& Default();

 private:
  enum class Type { kCounter, kGauge, kHistogram, kCallbackGauge };
  struct Family;
  struct Series;

  // Finds or creates the family `name` of type `type`; aborts on a type mismatch.
  Family& FamilyFor(const std::string& name, const std::string& help, Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finds or creates the series with `labels` in `family` (`name` is for error messages).
  // `*created` is set when a new series was added; its metric is still null then.
  Series& SeriesFor(Family& family, const std::string& name, const Labels& labels, bool* created)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

// Default latency buckets in seconds: 0.5 ms .. 10 s.
std::vector<double> LatencyBucketsSeconds();

// Formats a sample value: integers without a decimal point ("3"), other finite values as the
// shortest string that round-trips, and "+Inf" / "-Inf" / "NaN". Exposed for tests and exporters.
std::string FormatMetricValue(double v);

}  // namespace keelson::obs
