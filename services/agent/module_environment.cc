#include "services/agent/module_environment.h"

#include "absl/strings/str_cat.h"

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

}  // namespace edge::agent
