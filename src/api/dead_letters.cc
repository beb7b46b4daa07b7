#include "api/dead_letters.h"

#include <functional>

#include "api/views.h"

namespace keelson::api {

absl::StatusOr<nlohmann::json> DeadLetterDetail(store::Store& store, int64_t job_id) {
  auto job = store.GetJob(job_id);
  if (!job.ok()) return job.status();
  nlohmann::json out = JobToJson(*job, true);
  const nlohmann::json& p = out["payload"];
  if (p.is_object() && p.contains("delivery_id") && p["delivery_id"].is_number()) {
    auto d = store.GetDelivery(p["delivery_id"].get<int64_t>());
    if (d.ok()) out["delivery"] = DeliveryToJson(*d, true);
  }
  return out;
}

namespace {

// Applies `act` to every dead job matching `filter`, a page of 1,000 at a time; returns the ids it
// succeeded on.
absl::StatusOr<std::vector<int64_t>> ForEachDeadLetter(
    store::Store& store, store::JobFilter filter,
    const std::function<absl::Status(int64_t)>& act) {
  filter.state = store::JobState::kDead;
  filter.after_id = 0;
  filter.limit = 1000;
  std::vector<int64_t> done;
  while (true) {
    auto jobs = store.ListJobs(filter);
    if (!jobs.ok()) return jobs.status();
    if (jobs->empty()) break;
    for (const auto& j : *jobs) {
      if (act(j.id).ok()) done.push_back(j.id);
    }
    filter.after_id = jobs->back().id;
  }
  return done;
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ReplayDeadLetters(store::Store& store,
                                                       store::JobFilter filter, absl::Time now) {
  return ForEachDeadLetter(store, std::move(filter),
                           [&](int64_t id) { return store.ReplayJob(id, now); });
}

absl::StatusOr<std::vector<int64_t>> DiscardDeadLetters(store::Store& store,
                                                        store::JobFilter filter, absl::Time now) {
  filter.exclude_dead_reason = "discarded";
  return ForEachDeadLetter(store, std::move(filter),
                           [&](int64_t id) { return store.DiscardJob(id, now); });
}

}  // namespace keelson::api
