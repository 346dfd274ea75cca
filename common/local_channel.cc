#include "common/local_channel.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace edge {

std::shared_ptr<grpc::Channel> LocalServiceChannel(const std::string& target,
                                                   RetryPolicy reconnect) {
  const int initial_ms = static_cast<int>(absl::ToInt64Milliseconds(reconnect.initial));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_ms);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, initial_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(reconnect.max)));
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void SetLocalCallDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::unique_ptr<grpc::ClientContext> NewLocalCallContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  SetLocalCallDeadline(*context, timeout);
  return context;
}

}  // namespace edge
