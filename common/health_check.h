// Asks a service whether it is serving, over the standard grpc.health.v1 protocol.
//
// Example:
//   absl::Status s = CheckHealth("unix:/home/edge/run/store.sock", absl::Seconds(1));
#ifndef EDGE_COMMON_HEALTH_CHECK_H_
#define EDGE_COMMON_HEALTH_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace edge {

// OK when the server at `target` answers SERVING within `timeout`; UNAVAILABLE (or
// DEADLINE_EXCEEDED) when it cannot be reached; FAILED_PRECONDITION when it answers but is not
// serving.
absl::Status CheckHealth(const std::string& target, absl::Duration timeout);

// Polls CheckHealth until it succeeds or `timeout` passes; returns the last error.
absl::Status WaitUntilHealthy(const std::string& target, absl::Duration timeout);

}  // namespace edge

#endif  // EDGE_COMMON_HEALTH_CHECK_H_
