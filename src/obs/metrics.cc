#include "obs/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string_view>

namespace keelson::obs {
namespace {

[[noreturn]] void Fatal(const std::string& message) {
  std::fprintf(stderr, "keelson::obs::Registry: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// Label names starting with "__" are reserved for Prometheus itself.
bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// Returns an empty string if `labels` are valid, otherwise what is wrong with them.
std::string LabelsError(const Labels& labels, bool is_histogram) {
  std::set<std::string_view> seen;
  for (const auto& [key, value] : labels) {
    if (!IsValidLabelName(key)) return "invalid label name '" + key + "'";
    if (is_histogram && key == "le") return "label name 'le' is reserved for histogram buckets";
    if (!seen.insert(key).second) return "duplicate label name '" + key + "'";
  }
  return {};
}

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void AppendEscapedHelp(std::string& out, std::string_view help) {
  for (const char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Appends `{k="v",...}` (plus le="..." when `le` is non-null); nothing when there are no labels.
void AppendLabels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    AppendEscapedLabelValue(out, value);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const Labels& labels, std::string_view value, const std::string* le = nullptr) {
  out += name;
  out += suffix;
  AppendLabels(out, labels, le);
  out += ' ';
  out += value;
  out += '\n';
}

Labels SortedLabels(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));  // also maps -0 to "0"
  }
  // Shortest round-trip digits; plain notation for "ordinary" magnitudes so that bucket bounds
  // read naturally (0.0005 rather than 5e-04), scientific otherwise.
  const double magnitude = std::fabs(v);
  const std::chars_format format = (magnitude >= 1e-4 && magnitude < 1e15)
                                       ? std::chars_format::fixed
                                       : std::chars_format::scientific;
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v, format);
  return std::string(buf, result.ptr);
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<double> bucket_bounds) : bounds_(std::move(bucket_bounds)) {
  std::erase_if(bounds_, [](double b) { return std::isnan(b) || b == INFINITY; });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t index = bounds_.size();  // +Inf bucket, also for NaN
  if (!std::isnan(v)) {
    index =
        static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  }
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) total += buckets_[i].load(std::memory_order_relaxed);
  return total;
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = total;
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Registry

struct Registry::Series {
  Labels labels;  // as given at first registration; immutable afterwards
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
};

struct Registry::Family {
  Type type;
  std::string help;            // immutable after creation
  std::vector<double> bounds;  // histogram families only; immutable after creation
  // Series are never removed, so Series* stay valid while the family exists.
  std::vector<std::unique_ptr<Series>> series;
  std::map<Labels, Series*> by_sorted_labels;
  std::shared_ptr<const CallbackFn> callback;  // callback gauges only
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help, Type type) {
  const auto type_name = [](Type t) -> std::string {
    switch (t) {
      case Type::kCounter:
        return "counter";
      case Type::kGauge:
        return "gauge";
      case Type::kHistogram:
        return "histogram";
      case Type::kCallbackGauge:
        return "callback gauge";
    }
    return "?";
  };
  if (!IsValidMetricName(name)) Fatal("invalid metric name '" + name + "'");
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->type = type;
    family->help = help;
    it = families_.emplace(name, std::move(family)).first;
  } else if (it->second->type != type) {
    Fatal("metric '" + name + "' is registered as a " + type_name(it->second->type) +
          " and cannot be registered again as a " + type_name(type));
  }
  return *it->second;
}

Registry::Series& Registry::SeriesFor(Family& family, const std::string& name, const Labels& labels,
                                      bool* created) {
  const std::string error = LabelsError(labels, family.type == Type::kHistogram);
  if (!error.empty()) Fatal("metric '" + name + "': " + error);
  Labels key = SortedLabels(labels);
  auto it = family.by_sorted_labels.find(key);
  if (it != family.by_sorted_labels.end()) {
    *created = false;
    return *it->second;
  }
  *created = true;
  auto series = std::make_unique<Series>();
  series->labels = labels;
  Series* raw = series.get();
  family.series.push_back(std::move(series));
  family.by_sorted_labels.emplace(std::move(key), raw);
  return *raw;
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  absl::MutexLock lock(&mu_);
  bool created = false;
  Series& series = SeriesFor(FamilyFor(name, help, Type::kCounter), name, labels, &created);
  if (created) series.counter = std::make_unique<Counter>();
  return series.counter.get();
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  absl::MutexLock lock(&mu_);
  bool created = false;
  Series& series = SeriesFor(FamilyFor(name, help, Type::kGauge), name, labels, &created);
  if (created) series.gauge = std::make_unique<Gauge>();
  return series.gauge.get();
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bucket_bounds, const Labels& labels) {
  absl::MutexLock lock(&mu_);
  const bool is_new_family = families_.find(name) == families_.end();
  Family& family = FamilyFor(name, help, Type::kHistogram);
  bool created = false;
  Series& series = SeriesFor(family, name, labels, &created);
  if (created) {
    if (is_new_family) {
      series.histogram = std::make_unique<Histogram>(std::move(bucket_bounds));
      family.bounds = series.histogram->Bounds();
    } else {
      series.histogram = std::make_unique<Histogram>(family.bounds);
    }
  }
  return series.histogram.get();
}

void Registry::AddCallbackGauge(const std::string& name, const std::string& help, CallbackFn fn) {
  auto callback = std::make_shared<const CallbackFn>(std::move(fn));
  absl::MutexLock lock(&mu_);
  FamilyFor(name, help, Type::kCallbackGauge).callback = std::move(callback);
}

bool Registry::RemoveCallbackGauge(const std::string& name) {
  std::unique_ptr<Family> removed;  // destroyed (with its callback) after the lock is released
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second->type != Type::kCallbackGauge) return false;
  removed = std::move(it->second);
  families_.erase(it);
  return true;
}

double Registry::Total(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  double sum = 0;
  for (const auto& series : it->second->series) {
    if (series->counter) sum += series->counter->Value();
    if (series->gauge) sum += series->gauge->Value();
    if (series->histogram) sum += static_cast<double>(series->histogram->Count());
  }
  return sum;
}

std::string Registry::Render() const {
  // Snapshot under the lock; render (and run callbacks) without it. Series of counter, gauge and
  // histogram families are never destroyed, so the raw pointers stay valid.
  struct Snapshot {
    std::string name;
    Type type;
    std::string help;
    std::vector<double> bounds;
    std::vector<const Series*> series;
    std::shared_ptr<const CallbackFn> callback;
  };
  std::vector<Snapshot> snapshots;
  {
    absl::MutexLock lock(&mu_);
    snapshots.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      Snapshot& snap = snapshots.emplace_back();
      snap.name = name;
      snap.type = family->type;
      snap.help = family->help;
      snap.bounds = family->bounds;
      snap.callback = family->callback;
      snap.series.reserve(family->series.size());
      for (const auto& s : family->series) snap.series.push_back(s.get());
    }
  }

  std::string out;
  for (const Snapshot& snap : snapshots) {
    if (!snap.help.empty()) {
      out += "# HELP ";
      out += snap.name;
      out += ' ';
      AppendEscapedHelp(out, snap.help);
      out += '\n';
    }
    out += "# TYPE ";
    out += snap.name;
    switch (snap.type) {
      case Type::kCounter:
        out += " counter\n";
        for (const Series* s : snap.series)
          AppendSample(out, snap.name, "", s->labels, FormatMetricValue(s->counter->Value()));
        break;
      case Type::kGauge:
        out += " gauge\n";
        for (const Series* s : snap.series)
          AppendSample(out, snap.name, "", s->labels, FormatMetricValue(s->gauge->Value()));
        break;
      case Type::kHistogram: {
        out += " histogram\n";
        std::vector<std::string> les;
        les.reserve(snap.bounds.size() + 1);
        for (double b : snap.bounds) les.push_back(FormatMetricValue(b));
        les.push_back("+Inf");
        for (const Series* s : snap.series) {
          // Sum is read first: under concurrent Observe() it may lag the counts slightly, but
          // the +Inf bucket and _count always agree.
          const double sum = s->histogram->Sum();
          const std::vector<uint64_t> counts = s->histogram->CumulativeCounts();
          for (size_t i = 0; i < counts.size(); ++i) {
            AppendSample(out, snap.name, "_bucket", s->labels, std::to_string(counts[i]), &les[i]);
          }
          AppendSample(out, snap.name, "_sum", s->labels, FormatMetricValue(sum));
          AppendSample(out, snap.name, "_count", s->labels, std::to_string(counts.back()));
        }
        break;
      }
      case Type::kCallbackGauge: {
        out += " gauge\n";
        std::vector<std::pair<Labels, double>> samples;
        try {
          if (snap.callback && *snap.callback) samples = (*snap.callback)();
        } catch (const std::exception&) {
          samples.clear();
        } catch (...) {
          samples.clear();
        }
        for (const auto& [labels, value] : samples) {
          if (!LabelsError(labels, /*is_histogram=*/false).empty()) continue;
          AppendSample(out, snap.name, "", labels, FormatMetricValue(value));
        }
        break;
      }
    }
  }
  return out;
}

Registry& Registry::Default() {
  static Registry* const registry = new Registry();  // never destroyed: usable during shutdown
  return *registry;
}

}  // namespace keelson::obs
