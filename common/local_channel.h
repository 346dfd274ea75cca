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

#include "common/retry_backoff.h"
#include "grpcpp/channel.h"

namespace edge {

// Insecure (local) channel to `target` that reconnects after `reconnect.initial`, backing off to
// at most `reconnect.max` (default 100 ms to 1 s).
std::shared_ptr<grpc::Channel> LocalServiceChannel(const std::string& target,
                                                   RetryPolicy reconnect = {
                                                       .initial = absl::Milliseconds(100),
                                                       .max = absl::Seconds(1)});

}  // namespace edge

#endif  // EDGE_COMMON_LOCAL_CHANNEL_H_
