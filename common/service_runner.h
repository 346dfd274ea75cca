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

// Owns a gRPC server. Start, WaitForTermination and Shutdown are called from one thread (main);
// Stop may be called from any thread.
class ServiceRunner {
 public:
  ServiceRunner(std::string service, ListenAddress address, absl::Duration shutdown_grace);
  ~ServiceRunner();

  // Registers `services` (not owned; they outlive the runner), turns on the gRPC health service and
  // reflection, and listens. For a unix socket: creates its directory (0750), removes a stale
  // socket left by a dead process (ALREADY_EXISTS if a live server still answers on it) and sets
  // the socket to 0660. UNAVAILABLE when the address cannot be bound.
  absl::Status Start(const std::vector<grpc::Service*>& services);

  // Blocks until SIGTERM or SIGINT arrives or Stop() is called. The signals must have been blocked
  // in every thread (BlockTerminationSignals before any thread starts; RunServiceMain does it).
  void WaitForTermination();
  void Stop() { stop_requested_ = true; }

  // Marks the service NOT_SERVING, gives the calls in flight `shutdown_grace` to finish, then
  // stops the server (cancelling what is left) and removes the unix socket. End long-lived streams
  // first, or they hold shutdown for the whole grace period.
  void Shutdown();

  // The address clients use; for "host:0" the port actually bound.
  std::string target() const;

 private:
  std::string service_;
  ListenAddress address_;
  absl::Duration shutdown_grace_;
  int bound_port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> in_flight_{0};
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
