// RetryBackoff: the delays between attempts at a call that failed transiently (a store call, a
// watch that ended) — `initial`, then doubling up to `max` — until Reset after a success. Pure
// arithmetic, no clock; WithJitter spreads a delay for reconnections of many clients.
//
// Example:
//   RetryBackoff backoff({.initial = absl::Milliseconds(50), .max = absl::Seconds(5)});
//   while (!TryCall().ok()) Sleep(backoff.Next());   // 50 ms, 100 ms, 200 ms, ... 5 s, 5 s
//   backoff.Reset();
#ifndef EDGE_COMMON_RETRY_BACKOFF_H_
#define EDGE_COMMON_RETRY_BACKOFF_H_

#include <algorithm>

#include "absl/time/time.h"

namespace edge {

struct RetryPolicy {
  absl::Duration initial = absl::Milliseconds(50);
  absl::Duration max = absl::Seconds(5);
};

// `delay` scaled by a random factor in [1 - spread, 1]: clients cut off together (a hub or an
// upstream that restarted) then do not all come back in the same instant. `spread` in [0, 1].
// Thread-safe.
absl::Duration WithJitter(absl::Duration delay, double spread);

// Not thread-safe: one per retrying loop or stream.
class RetryBackoff {
 public:
  explicit RetryBackoff(RetryPolicy policy) : policy_(policy), next_(policy.initial) {}

  absl::Duration Next() {
    absl::Duration delay = next_;
    next_ = std::min(next_ * 2, policy_.max);
    return delay;
  }
  void Reset() { next_ = policy_.initial; }

 private:
  RetryPolicy policy_;
  absl::Duration next_;
};

}  // namespace edge

#endif  // EDGE_COMMON_RETRY_BACKOFF_H_
