#include "core/status_payloads.h"

#include "absl/strings/cord.h"

namespace keelson::core {
namespace {
constexpr char kNotAttemptedUrl[] = "keelson.dev/not-attempted";
}

absl::Status MarkNotAttempted(absl::Status s) {
  s.SetPayload(kNotAttemptedUrl, absl::Cord("1"));
  return s;
}

bool WasNotAttempted(const absl::Status& s) { return s.GetPayload(kNotAttemptedUrl).has_value(); }

}  // namespace keelson::core
