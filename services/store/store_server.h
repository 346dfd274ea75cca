// Wiring and lifecycle of edge-store: reads [store] from the config, opens the QueueStore, serves
// edge.store.v1 until SIGTERM.
#ifndef EDGE_SERVICES_STORE_STORE_SERVER_H_
#define EDGE_SERVICES_STORE_STORE_SERVER_H_

#include <filesystem>

#include "absl/status/statusor.h"
#include "common/service_runner.h"
#include "services/store/queue_store.h"
#include "services/store/registry.h"

namespace edge::store {

struct StoreOptions {
  DeviceConfig device;
  ListenAddress listen;
  QueueStoreOptions queues;
  RegistryOptions registry;
  // How often expired entries are deleted (and, every `queues.compact_interval`, the files
  // compacted).
  absl::Duration reclaim_interval = absl::Seconds(1);
  absl::Duration shutdown_grace = absl::Seconds(5);
  MetricsHttpOptions metrics_http;  // metrics_port, metrics_address (see service_runner.h)

  // [device] and [store]: listen, database (relative to $EDGE_HOME), synchronous ("normal" |
  // "full"), change_retention, shutdown_grace_seconds. INVALID_ARGUMENT naming the key for a bad or
  // unknown one.
  static absl::StatusOr<StoreOptions> FromConfig(const Config& config,
                                                 const std::filesystem::path& edge_home);
};

// Runs edge-store until a termination signal. Errors: those of StoreOptions::FromConfig,
// QueueStore::Open and ServiceRunner::Start.
absl::Status RunStore(const ServiceContext& context);

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_STORE_SERVER_H_
