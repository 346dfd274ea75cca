// WaitUntil: what integration tests use instead of sleeping — polls a condition on a real process's
// observable state until it holds or the time is up.
//
// Example:
//   ASSERT_TRUE(WaitUntil([&] { return Depth(queue) == 0; }));
#ifndef EDGE_TESTS_SUPPORT_WAIT_UNTIL_H_
#define EDGE_TESTS_SUPPORT_WAIT_UNTIL_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace edge::testing {

// True as soon as `done()` is; false once `timeout` passed without it. Checks every `poll`.
inline bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(15),
                      absl::Duration poll = absl::Milliseconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(poll);
  }
  return true;
}

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_WAIT_UNTIL_H_
