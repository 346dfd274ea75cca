// Runs a service's gRPC server: where it listens, health and reflection, and graceful shutdown.
//
// A service's main is one line:
//   int main(int argc, char** argv) {
//     return edge::RunServiceMain(argc, argv, "store", edge::store::RunStore);
//   }
// and its Run function starts a ServiceRunner:
//   ServiceRunner runner("store", address, absl::Seconds(5));
//   RETURN_IF_ERROR(runner.Start({&grpc_service}));
//   runner.WaitForTermination();   // SIGTERM / SIGINT
//   grpc_service.EndStreams();    // let long-lived streams finish now
//   runner.Shutdown();
#ifndef EDGE_COMMON_SERVICE_RUNNER_H_
#define EDGE_COMMON_SERVICE_RUNNER_H_

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/metrics.h"
#include "grpcpp/server.h"

namespace edge {

// Where a service listens, from its section's `listen` key:
//   "unix"          $EDGE_HOME/run/<service>.sock (the default)
//   "unix:/path"    that socket
//   "host:port"     TCP (loopback in tests; port 0 picks a free one)
struct ListenAddress {
  std::string grpc_target;          // "unix:/..." or "host:port", for servers and channels
  std::filesystem::path unix_path;  // empty for TCP
};

// INVALID_ARGUMENT for an empty value, a relative socket path, or a socket path longer than the
// 107 bytes a unix socket address can hold (the message names the path and its length).
absl::StatusOr<ListenAddress> ParseListen(absl::string_view value,
                                          const std::filesystem::path& edge_home,
                                          absl::string_view service);

// Reads the `listen` key of a service's section (see ParseListen); errors name the key.
absl::StatusOr<ListenAddress> ListenAddressFromSection(ConfigSection& section,
                                                       const std::filesystem::path& edge_home);

// The same for `<service>.listen` of `config`, for clients that only need the address.
absl::StatusOr<ListenAddress> ServiceListenAddress(const Config& config,
                                                   const std::filesystem::path& edge_home,
                                                   absl::string_view service);

// The optional HTTP endpoint for Prometheus, from a service's section:
//   metrics_port     0 (the default): none; else the TCP port serving GET /metrics
//   metrics_address  "127.0.0.1" (the default): the address it binds; "0.0.0.0" or "::" exposes
//                    it beyond this device (it has no authentication)
// Metrics are also served over gRPC (edge.metrics.v1.Metrics, `edgectl metrics`) in any case.
struct MetricsHttpOptions {
  std::string address = "127.0.0.1";
  int port = 0;
};

// Reads metrics_port and metrics_address from a service's section (see MetricsHttpOptions), so
// that they are not reported as unknown keys. INVALID_ARGUMENT naming the key for a port outside
// 0-65535 or an empty address.
absl::StatusOr<MetricsHttpOptions> MetricsHttpOptionsFromSection(ConfigSection& section);

class MetricsGrpcService;
class MetricsHttpServer;

// Owns a gRPC server. Start, WaitForTermination and Shutdown are called from one thread (main);
// Stop may be called from any thread.
class ServiceRunner {
 public:
  ServiceRunner(std::string service, ListenAddress address, absl::Duration shutdown_grace);
  ~ServiceRunner();

  // Where the service's metrics live: `registry` (not owned; it outlives the runner) receives the
  // per-RPC metrics of every call (grpc_metrics.h) and is served by edge.metrics.v1.Metrics and,
  // when `http.port` is set, over HTTP (metrics_http_server.h). Call before Start. Without it the
  // runner keeps a registry of its own, so every server still serves its RPC metrics.
  void SetMetrics(MetricsRegistry* registry, MetricsHttpOptions http);

  // Registers `services` (not owned; they outlive the runner), turns on the gRPC health service and
  // reflection, serves metrics (see SetMetrics), and listens. For a unix socket: creates its
  // directory (0750), removes a stale socket left by a dead process (ALREADY_EXISTS if a live
  // server still answers on it) and sets the socket to 0660. UNAVAILABLE when the address cannot
  // be bound, or the metrics port (the message then starts "<service>.metrics_port: ").
  absl::Status Start(const std::vector<grpc::Service*>& services);

  // Health answers NOT_SERVING from Start until SetServing(true), for a service that is not ready
  // when its gRPC server is (the hub: the broker opens its listeners after the plugin started).
  // Call before Start.
  void set_serving_on_start(bool serving) { serving_on_start_ = serving; }
  // Any thread, after Start.
  void SetServing(bool serving);

  // Blocks until SIGTERM or SIGINT arrives or Stop() is called. The signals must have been blocked
  // in every thread (BlockTerminationSignals before any thread starts; RunServiceMain does it).
  void WaitForTermination();
  void Stop() { stop_requested_ = true; }

  // Marks the service NOT_SERVING, gives the calls in flight `shutdown_grace` to finish, then
  // stops the server (cancelling what is left), removes the unix socket and stops the metrics
  // HTTP endpoint. End long-lived streams first, or they hold shutdown for the whole grace period.
  void Shutdown();

  // The address clients use; for "host:0" the port actually bound.
  std::string target() const;
  // The metrics HTTP endpoint ("127.0.0.1:9600") while it runs, else "".
  std::string metrics_endpoint() const;

 private:
  std::string service_;
  ListenAddress address_;
  absl::Duration shutdown_grace_;
  int bound_port_ = 0;
  std::unique_ptr<MetricsRegistry> owned_metrics_;  // when SetMetrics was not called
  MetricsRegistry* metrics_ = nullptr;
  MetricsHttpOptions metrics_http_;
  std::unique_ptr<MetricsGrpcService> metrics_service_;
  std::unique_ptr<MetricsHttpServer> metrics_http_server_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> in_flight_{0};
  bool serving_on_start_ = true;
};

// Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread and all threads it creates later.
void BlockTerminationSignals();

struct ServiceContext {
  std::string service;
  std::filesystem::path edge_home;
  Config config;
};

// The whole main of a service: blocks the termination signals, parses --edge-home, --config and
// --log-level, loads the config (defaults when the file is absent), starts logging and calls
// `run`. Returns the process exit code: 0 on a clean shutdown, 2 for bad flags or config, 1 when
// `run` fails (its error is logged).
int RunServiceMain(int argc, char** argv, absl::string_view service,
                   const std::function<absl::Status(const ServiceContext&)>& run);

}  // namespace edge

#endif  // EDGE_COMMON_SERVICE_RUNNER_H_
