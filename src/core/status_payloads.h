#pragma once
// Markers carried on an absl::Status as payloads, for decisions made far from where the status
// was created. They live in core/ because both net/ (which marks) and jobs/ (which reads) use
// them, and net/ must not include jobs/.
//
// "Not attempted": the failure happened before anything reached the remote (a circuit breaker
// was open, the connector is paused). Nothing can have happened remotely, so the job runner does
// not count such an attempt against max_attempts; it only waits and tries again. The status code
// is unchanged (kUnavailable in practice), so every other classifier treats it as before.
//
// Payloads survive copies and moves of the status and are dropped by code that builds a new
// status from the message alone; wrap or return the status itself to keep the marker.
// Thread-safety: pure functions.

#include "absl/status/status.h"

namespace keelson::core {

// Returns `s` marked as not attempted. An OK status cannot carry payloads and is returned as is.
absl::Status MarkNotAttempted(absl::Status s);
// True if `s` was marked by MarkNotAttempted.
bool WasNotAttempted(const absl::Status& s);

}  // namespace keelson::core
