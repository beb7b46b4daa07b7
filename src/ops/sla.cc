#include "ops/sla.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/views.h"
#include "core/strings.h"
#include "obs/log.h"

namespace keelson::ops {
namespace {

// "7m12s" for an operator's eye (whole seconds).
std::string HumanAge(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Seconds(1)));
}

// Items aged exactly `older_than` count as in breach (a 0 s rule catches everything).
absl::Time Cutoff(absl::Time now, absl::Duration older_than) {
  return now - older_than + absl::Milliseconds(1);
}

}  // namespace

std::string_view SlaSubjectName(SlaSubject s) {
  switch (s) {
    case SlaSubject::kOrders: return "orders";
    case SlaSubject::kStockPublication: return "stock_publication";
    case SlaSubject::kJobs: return "jobs";
    case SlaSubject::kDeadLetters: return "dead_letters";
    case SlaSubject::kSegments: return "segments";
    case SlaSubject::kShipments: return "shipments";
  }
  return "?";
}

std::optional<SlaSubject> ParseSlaSubject(std::string_view s) {
  for (SlaSubject v : {SlaSubject::kOrders, SlaSubject::kStockPublication, SlaSubject::kJobs,
                       SlaSubject::kDeadLetters, SlaSubject::kSegments, SlaSubject::kShipments}) {
    if (SlaSubjectName(v) == s) return v;
  }
  return std::nullopt;
}

nlohmann::json SlaItemToJson(const SlaItem& item) {
  return {{"kind", item.kind},
          {"ref", item.ref},
          {"age_s", absl::ToDoubleSeconds(item.age)},
          {"detail", item.detail}};
}

nlohmann::json AlertBody(std::string_view format, std::string_view event,
                         const SlaRuleState& state, absl::Time now) {
  const SlaRule& r = state.rule;
  if (format == "slack") {
    std::string text;
    if (event == "firing") {
      std::vector<std::string> refs;
      for (const SlaItem& i : state.samples) {
        if (refs.size() == 5) break;
        refs.push_back(i.ref);
      }
      text = absl::StrCat(":rotating_light: *Keelson SLA breach* `", r.name, "`: ",
                          r.description.empty() ? r.name : r.description, " — ", state.count,
                          state.count == 1 ? " item" : " items", ", oldest ",
                          HumanAge(state.oldest_age));
      if (!refs.empty()) {
        absl::StrAppend(&text, " (", absl::StrJoin(refs, ", "),
                        state.count > static_cast<int64_t>(refs.size()) ? ", …" : "", ")");
      }
    } else {
      text = absl::StrCat(":white_check_mark: *Keelson SLA resolved* `", r.name, "`: ",
                          r.description.empty() ? r.name : r.description);
      if (state.firing_since) {
        absl::StrAppend(&text, " (breached for ", HumanAge(now - *state.firing_since), ")");
      }
    }
    return {{"text", text}};
  }
  nlohmann::json samples = nlohmann::json::array();
  for (const SlaItem& i : state.samples) samples.push_back(SlaItemToJson(i));
  nlohmann::json out = {{"event", std::string(event)},
                        {"rule", r.name},
                        {"description", r.description},
                        {"subject", std::string(SlaSubjectName(r.subject))},
                        {"older_than_s", absl::ToDoubleSeconds(r.older_than)},
                        {"count", state.count},
                        {"oldest_age_s", absl::ToDoubleSeconds(state.oldest_age)},
                        {"samples", samples},
                        {"at", api::FormatRfc3339(now)}};
  out["firing_since"] =
      state.firing_since ? nlohmann::json(api::FormatRfc3339(*state.firing_since)) : nullptr;
  return out;
}

SlaMonitor::SlaMonitor(store::Store* store, const core::Clock* clock, obs::Registry* metrics,
                       net::HttpClient* http, Options options)
    : store_(store), clock_(clock), metrics_(metrics), http_(http), options_(std::move(options)) {
  for (const SlaRule& r : options_.rules) {
    SlaRuleState s;
    s.rule = r;
    states_.push_back(std::move(s));
    // Registered up front so that every rule shows 0 before its first breach.
    metrics_->GetGauge("keelson_sla_breaches", "Items in breach of each SLA rule.",
                       {{"rule", r.name}});
    metrics_->GetGauge("keelson_sla_oldest_age_seconds",
                       "Age of the oldest item in breach of each SLA rule (0 when none).",
                       {{"rule", r.name}});
  }
}

SlaMonitor::~SlaMonitor() { Stop(); }

absl::StatusOr<SlaMonitor::Evaluation> SlaMonitor::Evaluate(const SlaRule& rule, absl::Time now,
                                                            int limit) const {
  Evaluation ev;
  const absl::Time cutoff = Cutoff(now, rule.older_than);
  switch (rule.subject) {
    case SlaSubject::kOrders: {
      store::OrderQuery q{.statuses = rule.statuses,
                          .erp_states = rule.erp_states,
                          .status_since_before = cutoff,
                          .sort = store::OrderQuery::Sort::kLongestInStatus,
                          .limit = limit};
      auto count = store_->CountOrders(q);
      if (!count.ok()) return count.status();
      ev.count = *count;
      auto rows = store_->SearchOrders(q);
      if (!rows.ok()) return rows.status();
      for (const store::OrderRecord& o : *rows) {
        ev.items.push_back({.kind = "order",
                            .ref = absl::StrCat(o.store_id, ":", o.order_id),
                            .age = now - o.status_since,
                            .detail = absl::StrCat(o.status, " / erp ", o.erp_state)});
      }
      break;
    }
    case SlaSubject::kStockPublication: {
      auto count = store_->CountStaleDirty(cutoff);
      if (!count.ok()) return count.status();
      ev.count = *count;
      auto rows = store_->ListStaleDirty(cutoff, limit);
      if (!rows.ok()) return rows.status();
      for (const store::DirtyMark& m : *rows) {
        ev.items.push_back({.kind = "stock",
                            .ref = absl::StrCat(m.store_id, "/", m.sku),
                            .age = now - m.marked_at,
                            .detail = absl::StrCat("not yet published to ", m.store_id)});
      }
      break;
    }
    case SlaSubject::kSegments: {
      // One state at a time (states are few): counts add up, the oldest of each are merged.
      const std::vector<std::string> states =
          rule.statuses.empty() ? std::vector<std::string>{"planned"} : rule.statuses;
      for (const std::string& state : states) {
        auto count = store_->CountSegmentsInState(state, cutoff);
        if (!count.ok()) return count.status();
        ev.count += *count;
        auto rows = store_->ListSegmentsInState(state, cutoff, limit);
        if (!rows.ok()) return rows.status();
        for (const store::SegmentRecord& s : *rows) {
          ev.items.push_back({.kind = "segment",
                              .ref = s.segment_id,
                              .age = now - s.state_since,
                              .detail = absl::StrCat(s.state, " at ", s.node_id,
                                                     s.error.empty() ? "" : ": ", s.error)});
        }
      }
      std::sort(ev.items.begin(), ev.items.end(),
                [](const SlaItem& a, const SlaItem& b) { return a.age > b.age; });
      if (ev.items.size() > static_cast<size_t>(limit)) ev.items.resize(limit);
      break;
    }
    case SlaSubject::kShipments: {
      auto count = store_->CountShipmentsAwaitingErp(cutoff);
      if (!count.ok()) return count.status();
      ev.count = *count;
      auto rows = store_->ListShipmentsAwaitingErp(cutoff, limit);
      if (!rows.ok()) return rows.status();
      for (const store::ShipmentRecord& s : *rows) {
        ev.items.push_back({.kind = "shipment",
                            .ref = absl::StrCat(s.provider, "/", s.shipment_id),
                            .age = now - s.received_at,
                            .detail = absl::StrCat("order ", s.order_ref, ", ", s.carrier, " ",
                                                   s.tracking_number, ": not posted to the ERP")});
      }
      break;
    }
    case SlaSubject::kJobs:
    case SlaSubject::kDeadLetters: {
      const bool dead = rule.subject == SlaSubject::kDeadLetters;
      store::JobFilter f;
      f.state = dead ? store::JobState::kDead : store::JobState::kQueued;
      f.kind = rule.kind;
      if (dead) {
        f.exclude_dead_reason = "discarded";
        f.updated_before = cutoff;
      } else {
        f.enqueued_before = cutoff;
      }
      auto count = store_->CountJobs(f);
      if (!count.ok()) return count.status();
      ev.count = *count;
      f.limit = limit;
      auto rows = store_->ListJobs(f);
      if (!rows.ok()) return rows.status();
      for (const store::Job& j : *rows) {
        ev.items.push_back(
            {.kind = "job",
             .ref = absl::StrCat("job:", j.id),
             .age = now - (dead ? j.updated_at : j.enqueued_at),
             .detail = absl::StrCat(j.kind, dead ? " (" : "", dead ? j.dead_reason : "",
                                    dead ? ")" : "", j.last_error.empty() ? "" : ": ",
                                    j.last_error)});
      }
      break;
    }
  }
  return ev;
}

void SlaMonitor::EvaluateNow() {
  std::lock_guard<std::mutex> run(run_mu_);
  const absl::Time now = clock_->Now();
  std::vector<SlaRuleState> states;
  {
    std::lock_guard<std::mutex> l(mu_);
    states = states_;
  }
  std::vector<nlohmann::json> alerts;
  for (SlaRuleState& s : states) {
    auto ev = Evaluate(s.rule, now, options_.samples);
    if (!ev.ok()) {
      s.error = std::string(ev.status().message());
      metrics_->GetCounter("keelson_sla_evaluation_errors_total",
                           "SLA rule evaluations that failed (the store did not answer).")
          ->Inc();
      obs::LogWarn("sla rule evaluation failed", {{"rule", s.rule.name}, {"error", s.error}});
      continue;  // keeps the last good state
    }
    s.error.clear();
    const bool was_firing = s.firing_since.has_value();
    s.count = ev->count;
    s.samples = std::move(ev->items);
    s.oldest_age = s.samples.empty() ? absl::ZeroDuration() : s.samples.front().age;
    if (s.rule.subject == SlaSubject::kJobs || s.rule.subject == SlaSubject::kDeadLetters) {
      for (const SlaItem& i : s.samples) s.oldest_age = std::max(s.oldest_age, i.age);
    }
    if (s.count > 0 && !was_firing) {
      s.firing_since = now;
      if (!options_.webhook_url.empty()) {
        alerts.push_back(AlertBody(options_.webhook_format, "firing", s, now));
      }
      obs::LogWarn("sla breach", {{"rule", s.rule.name}, {"count", s.count}});
    } else if (s.count == 0 && was_firing) {
      if (!options_.webhook_url.empty()) {
        alerts.push_back(AlertBody(options_.webhook_format, "resolved", s, now));
      }
      obs::LogInfo("sla breach resolved", {{"rule", s.rule.name}});
      s.firing_since.reset();
    }
    metrics_->GetGauge("keelson_sla_breaches", "", {{"rule", s.rule.name}})
        ->Set(static_cast<double>(s.count));
    metrics_->GetGauge("keelson_sla_oldest_age_seconds", "", {{"rule", s.rule.name}})
        ->Set(absl::ToDoubleSeconds(s.oldest_age));
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    states_ = std::move(states);
    evaluated_at_ = now;
    for (auto& a : alerts) pending_.push_back(std::move(a));
    if (pending_.size() > options_.max_pending_alerts) {
      pending_.erase(pending_.begin(),
                     pending_.begin() + static_cast<std::ptrdiff_t>(pending_.size() -
                                                                    options_.max_pending_alerts));
    }
  }
  DeliverPending();
}

void SlaMonitor::DeliverPending() {
  if (http_ == nullptr || options_.webhook_url.empty()) return;
  while (true) {
    nlohmann::json body;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (pending_.empty()) return;
      body = pending_.front();
    }
    auto res = http_->Send({.method = "POST",
                            .url = options_.webhook_url,
                            .headers = {{"Content-Type", "application/json"}},
                            .body = body.dump(),
                            .timeout = options_.webhook_timeout});
    const bool ok = res.ok() && res->status >= 200 && res->status < 300;
    metrics_->GetCounter("keelson_sla_alerts_total", "Alert webhook deliveries, by result.",
                         {{"result", ok ? "sent" : "failed"}})
        ->Inc();
    if (!ok) {
      obs::LogWarn("alert webhook failed; kept for the next evaluation",
                   {{"error", res.ok() ? absl::StrCat("HTTP ", res->status)
                                       : std::string(res.status().message())}});
      return;  // in order: the next evaluation tries again from this one
    }
    alerts_sent_.fetch_add(1);
    std::lock_guard<std::mutex> l(mu_);
    if (!pending_.empty()) pending_.erase(pending_.begin());
  }
}

std::vector<SlaRuleState> SlaMonitor::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return states_;
}

absl::Time SlaMonitor::evaluated_at() const {
  std::lock_guard<std::mutex> l(mu_);
  return evaluated_at_;
}

size_t SlaMonitor::alerts_pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return pending_.size();
}

absl::StatusOr<std::vector<SlaItem>> SlaMonitor::Items(std::string_view rule, int limit) const {
  for (const SlaRule& r : options_.rules) {
    if (r.name != rule) continue;
    auto ev = Evaluate(r, clock_->Now(), limit);
    if (!ev.ok()) return ev.status();
    return std::move(ev->items);
  }
  return absl::NotFoundError(absl::StrCat("no SLA rule named \"", core::AbslSv(rule), "\""));
}

void SlaMonitor::Start() {
  if (options_.rules.empty()) return;
  thread_.Start(options_.interval, [this] { EvaluateNow(); });
}

void SlaMonitor::Stop() { thread_.Stop(); }

}  // namespace keelson::ops
