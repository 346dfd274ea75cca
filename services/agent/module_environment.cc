#include "services/agent/module_environment.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace edge::agent {

ModuleConnection ConnectionOf(const HubEndpoint& hub, const std::string& device_id,
                              const std::string& module_id, const std::string& key) {
  return {.iothub_hostname = hub.iothub_hostname,
          .gateway_hostname = hub.gateway_hostname,
          .device_id = device_id,
          .module_id = module_id,
          .shared_access_key = key,
          .ca_certificate_file = hub.ca_certificate_file};
}

std::string EdgeHubConnectionString(const ModuleConnection& connection) {
  return absl::StrCat("HostName=", connection.iothub_hostname,
                      ";GatewayHostName=", connection.gateway_hostname,
                      ";DeviceId=", connection.device_id, ";ModuleId=", connection.module_id,
                      ";SharedAccessKey=", connection.shared_access_key);
}

std::vector<std::pair<std::string, std::string>> ModuleEnvironment(
    const ModuleConnection& connection) {
  return {{kEdgeHubConnectionString, EdgeHubConnectionString(connection)},
          {kEdgeModuleCaCertificateFile, connection.ca_certificate_file},
          {kIotEdgeDeviceId, connection.device_id},
          {kIotEdgeModuleId, connection.module_id},
          {kIotEdgeIotHubHostname, connection.iothub_hostname},
          {kIotEdgeGatewayHostname, connection.gateway_hostname},
          {kIotEdgeAuthScheme, "sasToken"}};
}

bool IsAgentVariable(absl::string_view name) {
  for (const char* ours :
       {kEdgeHubConnectionString, kEdgeModuleCaCertificateFile, kIotEdgeDeviceId, kIotEdgeModuleId,
        kIotEdgeIotHubHostname, kIotEdgeGatewayHostname, kIotEdgeAuthScheme}) {
    if (name == ours) return true;
  }
  return false;
}

absl::StatusOr<std::map<std::string, std::string>> ParseConnectionString(absl::string_view text) {
  std::map<std::string, std::string> fields;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    const size_t equals = part.find('=');
    if (part.empty() || equals == absl::string_view::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("connection string part \"", part, "\" is not Key=value"));
    }
    std::string key(part.substr(0, equals));
    if (!fields.emplace(key, std::string(part.substr(equals + 1))).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("connection string key ", key, " is given twice"));
    }
  }
  return fields;
}

}  // namespace edge::agent
