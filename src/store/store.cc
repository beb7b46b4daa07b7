#include "store/store.h"

namespace keelson::store {

absl::StatusOr<absl::flat_hash_map<std::string, AcceptResult>> Store::FindDeliveriesByKey(
    std::span<const std::string>) {
  return absl::UnimplementedError("this store does not support the intake journal");
}

absl::StatusOr<int64_t> Store::ReserveDeliveryIds(int64_t) {
  return absl::UnimplementedError("this store does not support the intake journal");
}

std::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kDead:
      return "dead";
  }
  return "unknown";
}

std::optional<JobState> ParseJobState(std::string_view s) {
  if (s == "queued") return JobState::kQueued;
  if (s == "running") return JobState::kRunning;
  if (s == "done") return JobState::kDone;
  if (s == "dead") return JobState::kDead;
  return std::nullopt;
}

}  // namespace keelson::store
