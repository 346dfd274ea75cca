#include "cli/command.h"

#include "common/edge_home.h"
#include "common/service_runner.h"
#include "common/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace edge::cli {

absl::StatusOr<Config> CommandContext::LoadConfig() const {
  absl::StatusOr<Config> config = Config::LoadFile(ConfigPath(edge_home));
  if (absl::IsNotFound(config.status())) return Config::Parse("");
  return config;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CommandContext::Channel(
    absl::string_view service) const {
  ASSIGN_OR_RETURN(Config config, LoadConfig());
  ASSIGN_OR_RETURN(ListenAddress address, ServiceListenAddress(config, edge_home, service));
  return grpc::CreateChannel(address.grpc_target, grpc::InsecureChannelCredentials());
}

int ReportError(const CommandContext& context, const absl::Status& status) {
  *context.err << "edgectl: " << status.message() << "\n";
  return absl::IsInvalidArgument(status) ? 2 : 1;
}

}  // namespace edge::cli
