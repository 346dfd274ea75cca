// RestartBackoff: how long the supervisor waits before restarting a service that exited.
//
// The first delay is `initial` (0.5 s); each further consecutive exit doubles it, up to `max`
// (30 s). A service that ran for at least `reset_after` (60 s) before exiting counts as having been
// healthy, so the schedule starts again from `initial`. The class is pure arithmetic on durations —
// the caller says how long the service ran — so the schedule is tested without clocks or sleeping.
//
// Example:
//   RestartBackoff backoff(BackoffPolicy{});
//   backoff.NextDelay(absl::Seconds(1));   // 0.5 s: crashed quickly
//   backoff.NextDelay(absl::Seconds(1));   // 1 s
//   backoff.NextDelay(absl::Minutes(5));   // 0.5 s: it had been running fine
#ifndef EDGE_CLI_RESTART_BACKOFF_H_
#define EDGE_CLI_RESTART_BACKOFF_H_

#include "absl/time/time.h"

namespace edge::cli {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(500);
  absl::Duration max = absl::Seconds(30);
  // A run at least this long resets the schedule.
  absl::Duration reset_after = absl::Seconds(60);
};

// One per supervised service. Not thread-safe (the supervisor has one thread).
class RestartBackoff {
 public:
  explicit RestartBackoff(BackoffPolicy policy) : policy_(policy) {}

  // Records an exit after the service ran for `ran_for` and returns how long to wait before the
  // next start: initial * 2^(consecutive short runs - 1), capped at max.
  absl::Duration NextDelay(absl::Duration ran_for);

  // Exits since the last run that lasted `reset_after`, including the latest one.
  int consecutive_exits() const { return consecutive_exits_; }

 private:
  BackoffPolicy policy_;
  int consecutive_exits_ = 0;
};

}  // namespace edge::cli

#endif  // EDGE_CLI_RESTART_BACKOFF_H_
