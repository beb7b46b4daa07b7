#pragma once
// Service-level rules: conditions on the state of transactions and their age ("paid but not in
// the ERP after 5 min"), evaluated continuously against the store, exposed as metrics
// (keelson_sla_breaches{rule}), listed for operators (/ops/alerts) and, optionally, announced to
// an alert webhook (Slack's incoming-webhook format or plain JSON) when a rule starts and stops
// breaching.
//
// Subjects a rule can watch:
//   orders             shop orders in one of `statuses` whose ERP state is one of `erp_states`,
//                      aged from when the order entered its current status
//   stock_publication  stock changes not yet published to a store (the dirty set), aged from the
//                      change
//   jobs               queued jobs (of `kind`), aged from when they were enqueued
//   dead_letters       dead letters (of `kind`) not replayed or discarded, aged from their death
//   segments           fulfillment segments in one of `statuses` (planned, released, held,
//                      rejected, …), aged from when they entered it ("accepted but not released
//                      to fulfillment")
//   shipments          shipments not yet posted to the ERP, aged from their arrival ("shipped but
//                      not posted to the ERP")
//
// Thread-safety: every public method may be called from any thread. Start() runs EvaluateNow()
// every `interval` on a thread of its own until Stop().

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/periodic.h"
#include "net/http_client.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace keelson::ops {

enum class SlaSubject { kOrders, kStockPublication, kJobs, kDeadLetters, kSegments, kShipments };
std::string_view SlaSubjectName(SlaSubject s);
std::optional<SlaSubject> ParseSlaSubject(std::string_view s);

struct SlaRule {
  std::string name;
  std::string description;
  SlaSubject subject = SlaSubject::kOrders;
  std::vector<std::string> statuses;    // orders: shop statuses; segments: segment states
  std::vector<std::string> erp_states;  // orders
  std::string kind;                     // jobs, dead_letters
  absl::Duration older_than = absl::ZeroDuration();
};

// One thing in breach of a rule.
struct SlaItem {
  std::string kind;    // order | stock | job | segment | shipment
  // "main:1234" (order), "main/WID-BLUE" (stock), "job:17" (job), "main:1234/2" (segment),
  // "shipbob/SHP-1" (shipment)
  std::string ref;
  absl::Duration age;  // how long it has been in the watched state
  std::string detail;  // "processing / erp pending", the job's last error, ...
};

struct SlaRuleState {
  SlaRule rule;
  int64_t count = 0;                       // items in breach at the last evaluation
  absl::Duration oldest_age;               // of those, the oldest's age
  std::optional<absl::Time> firing_since;  // since when count > 0
  std::vector<SlaItem> samples;            // the oldest few
  std::string error;                       // the last evaluation's error, if it failed
};

// The alert webhook's body for a rule that starts ("firing") or stops ("resolved") breaching.
// format "slack": {"text": "…"} (Slack incoming webhooks, also understood by Mattermost and
// Rocket.Chat); "json": the state as an object with "event", "rule", "count", ….
nlohmann::json AlertBody(std::string_view format, std::string_view event,
                         const SlaRuleState& state, absl::Time now);
nlohmann::json SlaItemToJson(const SlaItem& item);

class SlaMonitor {
 public:
  struct Options {
    std::vector<SlaRule> rules;
    absl::Duration interval = absl::Seconds(15);
    int samples = 10;               // items kept per rule for /ops/alerts
    std::string webhook_url;        // "" = no alerts sent
    std::string webhook_format = "slack";
    absl::Duration webhook_timeout = absl::Seconds(10);
    size_t max_pending_alerts = 1000;  // undelivered alerts kept for the next try
  };

  // `http` may be null when no webhook is configured. Pointers are borrowed and must outlive
  // the monitor.
  SlaMonitor(store::Store* store, const core::Clock* clock, obs::Registry* metrics,
             net::HttpClient* http, Options options);
  ~SlaMonitor();
  SlaMonitor(const SlaMonitor&) = delete;
  SlaMonitor& operator=(const SlaMonitor&) = delete;

  // Evaluates every rule now, updates the metrics, and posts the alerts of the rules that
  // started or stopped breaching (and any earlier ones whose delivery failed).
  void EvaluateNow();
  // The rules as last evaluated, in configuration order.
  std::vector<SlaRuleState> Snapshot() const;
  absl::Time evaluated_at() const;
  // Every item in breach of `rule` now (queried live), oldest first; kNotFound for no such rule.
  absl::StatusOr<std::vector<SlaItem>> Items(std::string_view rule, int limit) const;
  // Alerts delivered to the webhook so far, and undelivered ones waiting.
  int64_t alerts_sent() const { return alerts_sent_.load(); }
  size_t alerts_pending() const;

  void Start();
  void Stop();

 private:
  struct Evaluation {
    int64_t count = 0;
    std::vector<SlaItem> items;
  };
  absl::StatusOr<Evaluation> Evaluate(const SlaRule& rule, absl::Time now, int limit) const;
  void DeliverPending();

  store::Store* store_;
  const core::Clock* clock_;
  obs::Registry* metrics_;
  net::HttpClient* http_;
  Options options_;

  mutable std::mutex mu_;
  std::vector<SlaRuleState> states_;
  absl::Time evaluated_at_ = absl::InfinitePast();
  std::vector<nlohmann::json> pending_;  // alert bodies not delivered yet
  std::atomic<int64_t> alerts_sent_{0};

  std::mutex run_mu_;  // one evaluation at a time
  core::PeriodicThread thread_;
};

}  // namespace keelson::ops
