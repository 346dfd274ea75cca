// A gRPC channel to another service of this runtime (a unix socket or a loopback port).
//
// gRPC's default reconnect backoff starts at 1 s and grows to 2 minutes: right for a remote server,
// wrong for a local service that the supervisor restarts within a second. A caller started a
// moment before its peer would otherwise fail for seconds after the peer is up.
//
// Example:
//   auto stub = store::v1::ChangeFeed::NewStub(LocalServiceChannel("unix:/home/e/run/store.sock"));
#ifndef EDGE_COMMON_LOCAL_CHANNEL_H_
#define EDGE_COMMON_LOCAL_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/retry_backoff.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace edge {

// Insecure (local) channel to `target` that reconnects after `reconnect.initial`, backing off to
// at most `reconnect.max` (default 100 ms to 1 s).
std::shared_ptr<grpc::Channel> LocalServiceChannel(const std::string& target,
                                                   RetryPolicy reconnect = {
                                                       .initial = absl::Milliseconds(100),
                                                       .max = absl::Seconds(1)});

// How long a call to another service of this runtime may take, waiting for it included.
inline constexpr absl::Duration kLocalCallTimeout = absl::Seconds(10);

// Prepares `context` for a call to a local service: the call waits up to `timeout` for the service
// to be reachable (the supervisor restarts it within a second; its channel may be between two
// reconnect attempts) instead of failing at once, and gives up at that deadline either way.
void SetLocalCallDeadline(grpc::ClientContext& context, absl::Duration timeout = kLocalCallTimeout);

// A new context prepared by SetLocalCallDeadline, for calls whose context outlives a scope.
std::unique_ptr<grpc::ClientContext> NewLocalCallContext(
    absl::Duration timeout = kLocalCallTimeout);

}  // namespace edge

#endif  // EDGE_COMMON_LOCAL_CHANNEL_H_
