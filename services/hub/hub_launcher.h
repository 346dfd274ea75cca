// edge-hub: validates the [hub] config, writes $EDGE_HOME/run/mosquitto.conf and execs mosquitto
// with our plugin loaded. All of the hub's code runs inside the plugin (services/hub/plugin/);
// this launcher only prepares the broker's config, so the supervisor's pid is the broker's.
//
// Example (the whole of hub_main.cc):
//   return edge::RunServiceMain(argc, argv, "hub", edge::hub::RunHubLauncher);
#ifndef EDGE_SERVICES_HUB_HUB_LAUNCHER_H_
#define EDGE_SERVICES_HUB_HUB_LAUNCHER_H_

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/service_runner.h"

namespace edge::hub {

// The [hub] section, resolved.
struct HubConfig {
  ListenAddress grpc;                 // `listen`: the hub's gRPC service (default unix)
  std::string bind_address;           // `bind_address`: the TLS listeners' address ("" = all)
  int sas_port = kMqttTlsPort;        // `sas_port`: TLS for SAS clients (0 = none)
  int x509_port = 8884;               // `x509_port`: TLS requiring a client certificate (0 = none)
  std::filesystem::path server_cert;  // `server_cert`: PEM; default $EDGE_HOME/certs/server.pem
  std::filesystem::path server_key;   // `server_key`: PEM; default $EDGE_HOME/certs/server.key.pem
  // `client_ca`: the CA X.509 clients' certificates must chain to; default the device CA.
  std::filesystem::path client_ca;
  int plain_port = 0;         // `plain_port`: 0 = no plain MQTT listener (loopback only)
  std::string store_target;   // [store] listen: where the identities come from
  std::string router_target;  // [router] listen: where ingest and module inputs go through
  std::string device_id;      // [device] device_id: its modules are device_id/module
  // `journal_max_bytes`: unacknowledged bytes the ingest journal holds before publishers are
  // disconnected without a PUBACK.
  int64_t journal_max_bytes = 256ll << 20;
  std::filesystem::path mosquitto;    // `mosquitto`: the broker binary
  std::filesystem::path plugin;       // `plugin`: libedge_hub_plugin.so
  std::filesystem::path wake_socket;  // $EDGE_HOME/run/hub-wake.sock (not configurable)
  std::filesystem::path broker_conf;  // $EDGE_HOME/run/mosquitto.conf
  std::filesystem::path edge_home;
  std::string user;  // the user running edge-hub; the broker keeps it
  std::string log_level = "info";
};

// Reads [device], [hub], [store] listen and [router] listen. INVALID_ARGUMENT naming the key for an
// unknown key, a value out of range, a path that does not exist or that the broker's config format
// cannot hold (whitespace), or a socket path too long for a unix socket address. When a TLS
// listener is on and the certificate keys are left at their defaults, missing certificates are
// created first (as `edgectl up` does); a configured certificate that does not exist is an error.
absl::StatusOr<HubConfig> LoadHubConfig(const Config& config,
                                        const std::filesystem::path& edge_home,
                                        absl::string_view log_level);

// The text of mosquitto.conf for `config`. Pure; see README.md for every line's reason.
std::string RenderBrokerConf(const HubConfig& config);

// The ServiceRunner-style run function: loads the config, writes mosquitto.conf (0600) and execs
// mosquitto; returns only on failure (INVALID_ARGUMENT for bad config → exit 2; INTERNAL when the
// file cannot be written or exec fails).
absl::Status RunHubLauncher(const ServiceContext& context);

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_HUB_LAUNCHER_H_
