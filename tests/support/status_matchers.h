#pragma once
// Status assertions for tests. Debian's Abseil (20220623) ships no status matchers, so these
// small macros stand in for ASSERT_OK / ASSERT_OK_AND_ASSIGN. They print the failing status.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace keelson::testing_support {

inline const absl::Status& ToStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace keelson::testing_support

// StatusIs(code): matches an absl::Status or StatusOr<T> whose code is `code`.
MATCHER_P(StatusIs, code, "has status code " + ::absl::StatusCodeToString(code)) {
  const ::absl::Status& st = ::keelson::testing_support::ToStatus(arg);
  *result_listener << "whose status is " << st;
  return st.code() == code;
}

#define KEELSON_STATUS_CONCAT_INNER_(a, b) a##b
#define KEELSON_STATUS_CONCAT_(a, b) KEELSON_STATUS_CONCAT_INNER_(a, b)

#define KEELSON_ASSERT_OK(expr)                                                      \
  do {                                                                               \
    const ::absl::Status keelson_st_ = ::keelson::testing_support::ToStatus((expr)); \
    ASSERT_TRUE(keelson_st_.ok()) << #expr << ": " << keelson_st_;                   \
  } while (0)

#define KEELSON_EXPECT_OK(expr)                                                      \
  do {                                                                               \
    const ::absl::Status keelson_st_ = ::keelson::testing_support::ToStatus((expr)); \
    EXPECT_TRUE(keelson_st_.ok()) << #expr << ": " << keelson_st_;                   \
  } while (0)

// Declares or assigns `lhs` from a StatusOr, failing (and returning) the test on error.
#define KEELSON_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                               \
  KEELSON_ASSERT_OK_AND_ASSIGN_IMPL_(KEELSON_STATUS_CONCAT_(keelson_statusor_, __LINE__), lhs, \
                                     rexpr)
#define KEELSON_ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                       \
  ASSERT_TRUE(tmp.ok()) << #rexpr << ": " << tmp.status();  \
  lhs = std::move(tmp).value()
