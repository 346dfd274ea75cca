#include "common/retry_backoff.h"

#include <random>

namespace edge {

absl::Duration WithJitter(absl::Duration delay, double spread) {
  thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> factor(1.0 - spread, 1.0);
  return delay * factor(random);
}

}  // namespace edge
