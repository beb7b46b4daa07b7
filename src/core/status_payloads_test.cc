#include "core/status_payloads.h"

#include "gtest/gtest.h"

namespace keelson::core {
namespace {

TEST(StatusPayloadsTest, NotAttemptedMarkerKeepsCodeAndMessage) {
  absl::Status s = MarkNotAttempted(absl::UnavailableError("circuit open"));
  EXPECT_TRUE(WasNotAttempted(s));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "circuit open");
  absl::Status copy = s;
  EXPECT_TRUE(WasNotAttempted(copy));
  EXPECT_FALSE(WasNotAttempted(absl::UnavailableError("connection reset")));
}

TEST(StatusPayloadsTest, OkStatusCannotBeMarked) {
  absl::Status s = MarkNotAttempted(absl::OkStatus());
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(WasNotAttempted(s));
}

}  // namespace
}  // namespace keelson::core
