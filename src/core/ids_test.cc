#include "core/ids.h"

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"

namespace keelson::core {
namespace {

TEST(CorrelationIdTest, ThirtyTwoHexCharactersUniqueAndTimeOrdered) {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewCorrelationId();
    ASSERT_EQ(id.size(), 32u);
    for (char c : id) ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
    // The first 12 hex digits are milliseconds: never smaller than the previous id's.
    if (!previous.empty()) {
      EXPECT_GE(id.substr(0, 12), previous.substr(0, 12));
    }
    previous = id;
  }
  // ... and they are the current time.
  uint64_t ms = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(previous.substr(0, 12), &ms));
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  EXPECT_LE(ms, now);
  EXPECT_GT(ms + 60000, now);

  // An id made a few milliseconds later sorts after, whatever its random part.
  const std::string earlier = NewCorrelationId();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  EXPECT_LT(earlier, NewCorrelationId());
}

}  // namespace
}  // namespace keelson::core
