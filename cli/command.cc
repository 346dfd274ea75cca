#include "cli/command.h"

#include "common/edge_home.h"
#include "common/service_runner.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
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

absl::StatusOr<std::pair<std::string, std::string>> KeyValueFlag(absl::string_view flag,
                                                                 const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " \"", text, "\": expected key=value"));
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

void PrintProtoJson(const CommandContext& context, const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  *context.out << json;
}

}  // namespace edge::cli
