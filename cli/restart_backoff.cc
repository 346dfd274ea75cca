#include "cli/restart_backoff.h"

#include <algorithm>

namespace edge::cli {

absl::Duration RestartBackoff::NextDelay(absl::Duration ran_for) {
  if (ran_for >= policy_.reset_after) consecutive_exits_ = 0;
  ++consecutive_exits_;
  absl::Duration delay = policy_.initial;
  // Doubling stops at the cap, so a service that fails for days never overflows the duration.
  for (int i = 1; i < consecutive_exits_ && delay < policy_.max; ++i) delay *= 2;
  return std::min(delay, policy_.max);
}

}  // namespace edge::cli
