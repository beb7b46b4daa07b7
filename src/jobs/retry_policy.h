#pragma once
// How the job runner decides what to do with a failed attempt.
//
// Failure classes (one classifier for the whole code base, see CONVENTIONS.md):
//   technical  kUnavailable, kDeadlineExceeded, kResourceExhausted (429), kAborted, and anything
//              unexpected (kInternal, kUnknown, ...)      -> retry with backoff
//   business   kInvalidArgument, kFailedPrecondition, kNotFound, kAlreadyExists,
//              kPermissionDenied, kUnauthenticated, kOutOfRange -> dead letter "business", not retried
//   poison     kDataLoss (the payload itself cannot be understood) -> dead letter "poison" at once
//
// Backoff is exponential with full jitter: delay = uniform(0, min(cap, base * 2^(attempt-1))),
// raised to the remote's Retry-After when the failure carries one (see WithRetryAfter).

#include <optional>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace keelson::jobs {

enum class FailureClass { kRetryable, kBusiness, kPoison };

FailureClass Classify(const absl::Status& status);
std::string_view FailureClassName(FailureClass c);

// Attaches a remote's Retry-After to a status so the runner waits at least that long.
absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after);
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

struct RetryPolicy {
  int max_attempts = 12;
  absl::Duration base = absl::Seconds(1);
  absl::Duration cap = absl::Minutes(10);
  absl::Duration deadline = absl::Hours(24);  // measured from enqueue

  // The ceiling of the jittered delay after attempt `attempt` (1-based) failed.
  absl::Duration Ceiling(int attempt) const;
  // A full-jitter delay in [0, Ceiling(attempt)], at least `floor`.
  absl::Duration NextDelay(int attempt, absl::BitGenRef gen,
                           absl::Duration floor = absl::ZeroDuration()) const;
};

}  // namespace keelson::jobs
