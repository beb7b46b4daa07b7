#include "store/store.h"

namespace keelson::store {

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
