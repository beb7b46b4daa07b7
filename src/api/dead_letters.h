#pragma once
// Dead-letter operations shared by the /ops API and the `keelson dlq` commands, so both show the
// same fields and replay the same set.

#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace keelson::api {

// The job with its payload and, when the payload names a delivery, that raw delivery.
absl::StatusOr<nlohmann::json> DeadLetterDetail(store::Store& store, int64_t job_id);

// Replays every dead job matching `filter` (its state is forced to dead; after_id and limit
// are used for paging internally). Returns the ids replayed.
absl::StatusOr<std::vector<int64_t>> ReplayDeadLetters(store::Store& store,
                                                       store::JobFilter filter, absl::Time now);
// Discards every dead job matching `filter` that is not discarded already, the same way.
// Returns the ids discarded.
absl::StatusOr<std::vector<int64_t>> DiscardDeadLetters(store::Store& store,
                                                        store::JobFilter filter, absl::Time now);

}  // namespace keelson::api
