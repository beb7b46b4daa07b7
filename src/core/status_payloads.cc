#include "core/status_payloads.h"

namespace keelson::core {
namespace {
constexpr char kNotAttemptedUrl[] = "keelson.dev/not-attempted";
}  // namespace

absl::Status MarkNotAttempted(absl::Status s) {
  if (!s.ok()) s.SetPayload(kNotAttemptedUrl, absl::Cord("1"));
  return s;
}

bool WasNotAttempted(const absl::Status& s) {
  return !s.ok() && s.GetPayload(kNotAttemptedUrl).has_value();
}

}  // namespace keelson::core
