// What a module's environment carries so that IoT Hub SDK modules run unmodified
// (docs/iothub-surface.md §5, "Module identities and environment"): its connection string to the
// hub, the CA file that verifies the hub's server certificate and the `IOTEDGE_*` variables.
// Pure: the key comes from the module's identity in edge-store (module_identities.h), the rest
// from the config.
//
// Example:
//   ModuleConnection connection{.iothub_hostname = "gw.local", .gateway_hostname = "gw.local",
//                               .device_id = "edge-device", .module_id = "sensor",
//                               .shared_access_key = identity.primary_key(),
//                               .ca_certificate_file = "/home/e/certs/ca.pem"};
//   EdgeHubConnectionString(connection);
//   // "HostName=gw.local;GatewayHostName=gw.local;DeviceId=edge-device;ModuleId=sensor;
//   //  SharedAccessKey=…"
//   for (const auto& [name, value] : ModuleEnvironment(connection)) …
#ifndef EDGE_SERVICES_AGENT_MODULE_ENVIRONMENT_H_
#define EDGE_SERVICES_AGENT_MODULE_ENVIRONMENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edge::agent {

// The `managed_by` of the module identities the agent creates (and may delete).
inline constexpr char kAgentManagedBy[] = "edge-agent";

// The variables the agent sets in every module's environment, in the order they are added.
inline constexpr const char* kEdgeHubConnectionString = "EdgeHubConnectionString";
inline constexpr const char* kEdgeModuleCaCertificateFile = "EdgeModuleCACertificateFile";
inline constexpr const char* kIotEdgeDeviceId = "IOTEDGE_DEVICEID";
inline constexpr const char* kIotEdgeModuleId = "IOTEDGE_MODULEID";
inline constexpr const char* kIotEdgeIotHubHostname = "IOTEDGE_IOTHUBHOSTNAME";
inline constexpr const char* kIotEdgeGatewayHostname = "IOTEDGE_GATEWAYHOSTNAME";
inline constexpr const char* kIotEdgeAuthScheme = "IOTEDGE_AUTHSCHEME";

// Where the hub is and how to trust it: the same for every module of the device.
struct HubEndpoint {
  std::string iothub_hostname;      // HostName, IOTEDGE_IOTHUBHOSTNAME
  std::string gateway_hostname;     // GatewayHostName, IOTEDGE_GATEWAYHOSTNAME ([device] hostname)
  std::string ca_certificate_file;  // EdgeModuleCACertificateFile
};

// Where and as whom one module reaches the hub.
struct ModuleConnection {
  std::string iothub_hostname;
  std::string gateway_hostname;
  std::string device_id;
  std::string module_id;
  std::string shared_access_key;  // the identity's primary key
  std::string ca_certificate_file;

  friend bool operator==(const ModuleConnection&, const ModuleConnection&) = default;
};

// The connection of module `module_id` of device `device_id` with `key`, at `hub`.
ModuleConnection ConnectionOf(const HubEndpoint& hub, const std::string& device_id,
                              const std::string& module_id, const std::string& key);

// `HostName=…;GatewayHostName=…;DeviceId=…;ModuleId=…;SharedAccessKey=…`, the shape SDKs'
// `ModuleClient.fromEnvironment` read (ids and host names never contain `;`).
std::string EdgeHubConnectionString(const ModuleConnection& connection);

// EdgeHubConnectionString, EdgeModuleCACertificateFile, IOTEDGE_DEVICEID, IOTEDGE_MODULEID,
// IOTEDGE_IOTHUBHOSTNAME, IOTEDGE_GATEWAYHOSTNAME and IOTEDGE_AUTHSCHEME=sasToken, in that order.
// The same connection always gives the same variables (the reconciler compares them every pass).
std::vector<std::pair<std::string, std::string>> ModuleEnvironment(
    const ModuleConnection& connection);

// True for the names ModuleEnvironment sets: the agent's values replace a deployment's.
bool IsAgentVariable(absl::string_view name);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MODULE_ENVIRONMENT_H_
