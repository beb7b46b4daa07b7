#include "api/dead_letters.h"

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

absl::StatusOr<std::vector<int64_t>> ReplayDeadLetters(store::Store& store,
                                                       store::JobFilter filter, absl::Time now) {
  filter.state = store::JobState::kDead;
  filter.after_id = 0;
  filter.limit = 1000;
  std::vector<int64_t> replayed;
  while (true) {
    auto jobs = store.ListJobs(filter);
    if (!jobs.ok()) return jobs.status();
    if (jobs->empty()) break;
    for (const auto& j : *jobs) {
      if (store.ReplayJob(j.id, now).ok()) replayed.push_back(j.id);
    }
    filter.after_id = jobs->back().id;
  }
  return replayed;
}

}  // namespace keelson::api
