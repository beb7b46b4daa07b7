#pragma once
// Status payloads that cross layers. One marker so far:
//
// "Not attempted": the failure happened before anything reached the remote system (its circuit
// breaker was open, its connector paused). The job runner does not count such an attempt against
// the job's max_attempts, so an outage makes jobs wait rather than die.
//
// Payloads survive copying a Status but not rebuilding one from code and message: code that
// rewraps an error to add context should keep them (absl::Status::ForEachPayload).

#include "absl/status/status.h"

namespace keelson::core {

absl::Status MarkNotAttempted(absl::Status s);
bool WasNotAttempted(const absl::Status& s);

}  // namespace keelson::core
