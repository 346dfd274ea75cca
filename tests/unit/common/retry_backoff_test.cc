#include "common/retry_backoff.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace edge {
namespace {

TEST(RetryBackoffTest, DoublesUpToTheMaxAndStartsAgainAfterReset) {
  RetryBackoff backoff({.initial = absl::Seconds(1), .max = absl::Seconds(5)});
  EXPECT_EQ(backoff.Next(), absl::Seconds(1));
  EXPECT_EQ(backoff.Next(), absl::Seconds(2));
  EXPECT_EQ(backoff.Next(), absl::Seconds(4));
  EXPECT_EQ(backoff.Next(), absl::Seconds(5));
  EXPECT_EQ(backoff.Next(), absl::Seconds(5));
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Seconds(1));
}

TEST(RetryBackoffTest, JitterStaysWithinItsSpreadAndVaries) {
  absl::Duration lowest = absl::InfiniteDuration();
  absl::Duration highest = absl::ZeroDuration();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration delay = WithJitter(absl::Seconds(10), 0.5);
    ASSERT_GE(delay, absl::Seconds(5));
    ASSERT_LE(delay, absl::Seconds(10));
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
  }
  EXPECT_LT(lowest, absl::Seconds(6)) << "1000 draws never came near the bottom";
  EXPECT_GT(highest, absl::Seconds(9)) << "1000 draws never came near the top";
  EXPECT_EQ(WithJitter(absl::Seconds(3), 0), absl::Seconds(3));
}

}  // namespace
}  // namespace edge
