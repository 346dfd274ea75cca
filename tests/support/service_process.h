// ServiceProcess: runs one real service binary (edge-store, ...) from $EDGE_BIN_DIR with its own
// EDGE_HOME, and waits until it reports healthy. For integration tests.
//
// Example:
//   TempDir home;
//   ServiceProcess store("store", home.path());
//   ASSERT_TRUE(store.Start().ok());
//   auto stub = edge::store::v1::MessageStore::NewStub(store.Channel());
#ifndef EDGE_TESTS_SUPPORT_SERVICE_PROCESS_H_
#define EDGE_TESTS_SUPPORT_SERVICE_PROCESS_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/subprocess.h"
#include "grpcpp/channel.h"

namespace edge::testing {

// The directory holding the project's binaries ($EDGE_BIN_DIR, set by ctest).
std::filesystem::path BinDir();

class ServiceProcess {
 public:
  // `service` is "store", "router", ...; the binary is $EDGE_BIN_DIR/edge-<service>.
  ServiceProcess(std::string service, std::filesystem::path edge_home);
  ~ServiceProcess();

  // Starts the binary (output to <home>/logs/<service>.log) and waits until it is healthy.
  absl::Status Start(absl::Duration timeout = absl::Seconds(10));
  // SIGKILL, as a crash would.
  void Kill();
  // SIGTERM and wait; returns the wait status.
  int Stop(absl::Duration grace = absl::Seconds(10));

  std::string target() const;
  std::shared_ptr<grpc::Channel> Channel() const;
  std::string Log() const;
  Subprocess* process() { return process_ ? &*process_ : nullptr; }

 private:
  std::string service_;
  std::filesystem::path home_;
  std::optional<Subprocess> process_;
};

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_SERVICE_PROCESS_H_
