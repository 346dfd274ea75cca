#include "services/agent/agent_server.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/certs.h"
#include "common/edge_home.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "common/procfs.h"
#include "common/status_macros.h"
#include "services/agent/agent_grpc_service.h"
#include "services/agent/agent_metrics.h"
#include "services/agent/deployment_follower.h"
#include "services/agent/runtime/process_runtime.h"

namespace edge::agent {
namespace {

// edge-module-monitor is installed next to edge-agent.
absl::StatusOr<std::filesystem::path> MonitorBinary() {
  ASSIGN_OR_RETURN(std::filesystem::path self, SelfExecutable());
  return self.parent_path() / "edge-module-monitor";
}

}  // namespace

absl::StatusOr<AgentOptions> AgentOptions::FromConfig(const Config& config,
                                                      const std::filesystem::path& edge_home) {
  AgentOptions options;
  ASSIGN_OR_RETURN(options.device, DeviceConfig::FromConfig(config));
  ASSIGN_OR_RETURN(options.store, ServiceListenAddress(config, edge_home, "store"));
  // The services behind the edgeHub system module, where their own config says they listen.
  ASSIGN_OR_RETURN(ListenAddress hub, ServiceListenAddress(config, edge_home, "hub"));
  ASSIGN_OR_RETURN(ListenAddress router, ServiceListenAddress(config, edge_home, "router"));
  options.reconciler.hub_services = {{"edge-hub", hub.grpc_target},
                                     {"edge-router", router.grpc_target},
                                     {"edge-store", options.store.grpc_target}};
  ConfigSection section = config.Section("agent");
  ASSIGN_OR_RETURN(options.listen, ListenAddressFromSection(section, edge_home));
  ASSIGN_OR_RETURN(std::string modules_dir, section.GetString("modules_dir", "data/modules"));
  if (modules_dir.empty())
    return absl::InvalidArgumentError("agent.modules_dir: must not be empty");
  options.modules_dir = edge_home / modules_dir;  // an absolute value replaces edge_home
  ASSIGN_OR_RETURN(options.shutdown_grace, section.GetSeconds("shutdown_grace_seconds",
                                                              absl::Seconds(5), absl::Seconds(0)));
  ASSIGN_OR_RETURN(options.metrics_http, MetricsHttpOptionsFromSection(section));
  // The CA that signs the hub's default server certificate (both made by `edgectl certs init`
  // or edge-hub's first start); with [hub] server_cert set, the CA that signed that one.
  ASSIGN_OR_RETURN(std::string module_ca,
                   section.GetString("module_ca_certificate", CaCertPath(CertsDir({})).string()));
  if (module_ca.empty()) {
    return absl::InvalidArgumentError("agent.module_ca_certificate: must not be empty");
  }
  // Modules reach the hub's SAS listener: GatewayHostName names its port when it is not MQTT's
  // TLS port 8883 (the hub's default), as `host:port` — what SDKs that build an address from it
  // (the Node.js SDK, the sample modules) then connect to.
  ASSIGN_OR_RETURN(int64_t hub_port,
                   config.Section("hub").GetInt("sas_port", kMqttTlsPort, 0, 65535));
  std::string gateway = options.device.hostname;
  if (hub_port != kMqttTlsPort && hub_port != 0) absl::StrAppend(&gateway, ":", hub_port);
  // IoT Hub's host is the upstream's (`[device] connection_string`); without one, the hub's own
  // host name stands for it (SDKs ignore it when GatewayHostName is set, the hub ignores a SAS
  // resource's host).
  const std::string iothub_hostname = options.device.upstream.has_value()
                                          ? options.device.upstream->host_name
                                          : options.device.hostname;
  options.reconciler.hub_endpoint = {.iothub_hostname = iothub_hostname,
                                     .gateway_hostname = gateway,
                                     .ca_certificate_file = (edge_home / module_ca).string()};
  ReconcilerOptions& reconciler = options.reconciler;
  RestartSettings& restart = reconciler.restart;
  ASSIGN_OR_RETURN(reconciler.interval, section.GetSeconds("reconcile_interval_seconds",
                                                           absl::Seconds(5), absl::Seconds(0.1)));
  ASSIGN_OR_RETURN(
      restart.initial_delay,
      section.GetSeconds("restart_initial_delay_seconds", absl::Seconds(10), absl::ZeroDuration()));
  ASSIGN_OR_RETURN(restart.max_delay, section.GetSeconds("restart_max_delay_seconds",
                                                         absl::Seconds(300), absl::ZeroDuration()));
  ASSIGN_OR_RETURN(int64_t max_restarts, section.GetInt("restart_max_count", 20, 0, 1000000));
  restart.max_restarts = static_cast<int>(max_restarts);
  ASSIGN_OR_RETURN(
      restart.healthy_reset,
      section.GetSeconds("restart_healthy_seconds", absl::Minutes(10), absl::ZeroDuration()));
  RETURN_IF_ERROR(section.CheckNoUnknownKeys());
  return options;
}

absl::Status RunAgent(const ServiceContext& context) {
  ASSIGN_OR_RETURN(AgentOptions options,
                   AgentOptions::FromConfig(context.config, context.edge_home));
  ASSIGN_OR_RETURN(std::filesystem::path monitor, MonitorBinary());
  RETURN_IF_ERROR(EnsureDirectory(options.modules_dir, 0750));
  spdlog::info("store at {}, modules in {}, device {}", options.store.grpc_target,
               options.modules_dir.string(), options.device.id);
  std::shared_ptr<grpc::Channel> store =
      LocalServiceChannel(options.store.grpc_target, options.store_reconnect);
  MetricsRegistry metrics_registry;  // outlives everything below that counts into it
  AgentMetrics metrics(&metrics_registry);
  // A bare program name is looked for next to the agent first, where the sample modules are
  // installed with the services (README "Process modules").
  ProcessRuntime runtime(
      {.modules_dir = options.modules_dir,
       .monitor = monitor,
       .default_path = absl::StrCat(monitor.parent_path().string(), ":", kSystemPath)});
  ModuleTable table;
  std::atomic<Reconciler*> to_wake{nullptr};
  HealthChecker health(
      &runtime, SystemClock::Get(),
      [&to_wake] {
        if (Reconciler* reconciler = to_wake.load()) reconciler->Wake();
      },
      &metrics.became_unhealthy);
  const std::string twin_id = absl::StrCat(options.device.id, "/$edgeAgent");
  Reconciler reconciler(store, options.device.id, &runtime, options.reconciler, SystemClock::Get(),
                        &metrics, &health, &table);
  to_wake = &reconciler;
  AgentGrpcService service(store, options.device.id, &runtime, &reconciler, &health, &table,
                           &metrics);
  ServiceRunner runner("agent", options.listen, options.shutdown_grace);
  runner.SetMetrics(&metrics_registry, options.metrics_http);
  RETURN_IF_ERROR(runner.Start({&service}));
  health.Start();
  reconciler.Start();
  {
    DeploymentFollower follower(store, twin_id, options.store_retry, &reconciler, &metrics);
    follower.Start();
    runner.WaitForTermination();
  }  // the follower, the health checks and the reconciler stopped before the server shuts down
  health.Stop();
  reconciler.Stop();  // module commands still waiting get UNAVAILABLE
  service.EndStreams();
  runner.Shutdown();
  return absl::OkStatus();
}

}  // namespace edge::agent
