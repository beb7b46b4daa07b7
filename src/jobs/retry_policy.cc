#include "jobs/retry_policy.h"

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace keelson::jobs {
namespace {
constexpr char kRetryAfterUrl[] = "keelson.dev/retry-after-ms";
}

FailureClass Classify(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kOutOfRange:
      return FailureClass::kBusiness;
    case absl::StatusCode::kDataLoss:
      return FailureClass::kPoison;
    default:
      // kUnavailable, kDeadlineExceeded, kResourceExhausted, kAborted are the documented
      // technical failures; an unexpected code is treated the same way, because retrying a
      // transient fault is cheaper than parking an order nobody looks at.
      return FailureClass::kRetryable;
  }
}

std::string_view FailureClassName(FailureClass c) {
  switch (c) {
    case FailureClass::kRetryable:
      return "retryable";
    case FailureClass::kBusiness:
      return "business";
    case FailureClass::kPoison:
      return "poison";
  }
  return "unknown";
}

absl::Status WithRetryAfter(absl::Status status, absl::Duration retry_after) {
  status.SetPayload(kRetryAfterUrl,
                    absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(retry_after))));
  return status;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  auto p = status.GetPayload(kRetryAfterUrl);
  if (!p) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(std::string(*p), &ms) || ms < 0) return std::nullopt;
  return absl::Milliseconds(ms);
}

absl::Duration RetryPolicy::Ceiling(int attempt) const {
  absl::Duration d = base;
  for (int i = 1; i < attempt && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

absl::Duration RetryPolicy::NextDelay(int attempt, absl::BitGenRef gen,
                                      absl::Duration floor) const {
  const int64_t ceiling_ms = absl::ToInt64Milliseconds(Ceiling(attempt));
  absl::Duration d = absl::Milliseconds(absl::Uniform<int64_t>(absl::IntervalClosedClosed, gen, 0,
                                                               std::max<int64_t>(ceiling_ms, 0)));
  return std::max(d, floor);
}

}  // namespace keelson::jobs
