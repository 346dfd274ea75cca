// Time as a seam: production code asks a Clock, tests inject a FakeClock and move it by hand.
//
// Example:
//   FakeClock clock(absl::FromUnixSeconds(1000));
//   QueueStore store(db_path, &clock);
//   clock.Advance(absl::Seconds(61));  // entries with a 60 s TTL are now expired
#ifndef EDGE_COMMON_CLOCK_H_
#define EDGE_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace edge {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time. Thread-safe; use the shared instance.
class SystemClock final : public Clock {
 public:
  static SystemClock* Get() {
    static SystemClock* clock = new SystemClock();
    return clock;
  }
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edge

#endif  // EDGE_COMMON_CLOCK_H_
