#include "services/store/store_server.h"

#include <thread>

#include "common/edge_home.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/store/registry_grpc_service.h"
#include "services/store/store_grpc_service.h"

namespace edge::store {

absl::StatusOr<StoreOptions> StoreOptions::FromConfig(const Config& config,
                                                      const std::filesystem::path& edge_home) {
  StoreOptions options;
  ASSIGN_OR_RETURN(options.device, DeviceConfig::FromConfig(config));
  ConfigSection section = config.Section("store");
  ASSIGN_OR_RETURN(options.listen, ListenAddressFromSection(section, edge_home));
  ASSIGN_OR_RETURN(std::string database, section.GetString("database", "data/store.db"));
  if (database.empty()) return absl::InvalidArgumentError("store.database: must not be empty");
  options.queues.database = edge_home / database;
  ASSIGN_OR_RETURN(std::string synchronous,
                   section.GetEnum("synchronous", "normal", {"normal", "full"}));
  options.queues.synchronous_full = synchronous == "full";
  ASSIGN_OR_RETURN(options.queues.max_bytes,
                   section.GetInt("max_bytes", int64_t{1} << 30, 0, int64_t{1} << 50));
  ASSIGN_OR_RETURN(std::string policy,
                   section.GetEnum("full_policy", "reject", {"reject", "drop-oldest"}));
  options.queues.full_policy = policy == "reject" ? FullPolicy::kReject : FullPolicy::kDropOldest;
  ASSIGN_OR_RETURN(
      options.reclaim_interval,
      section.GetSeconds("reclaim_interval_seconds", absl::Seconds(1), absl::Milliseconds(10)));
  ASSIGN_OR_RETURN(
      options.queues.compact_interval,
      section.GetSeconds("compact_interval_seconds", absl::Seconds(10), absl::Milliseconds(10)));
  options.registry.database = options.queues.database;
  ASSIGN_OR_RETURN(options.registry.change_retention,
                   section.GetInt("change_retention", 10000, 100, 10'000'000));
  ASSIGN_OR_RETURN(options.shutdown_grace, section.GetSeconds("shutdown_grace_seconds",
                                                              absl::Seconds(5), absl::Seconds(0)));
  ASSIGN_OR_RETURN(options.metrics_http, MetricsHttpOptionsFromSection(section));
  RETURN_IF_ERROR(section.CheckNoUnknownKeys());
  return options;
}

namespace {

// Runs QueueStore::Reclaim every `interval` on its own thread until destroyed. A failed pass is
// logged and counted; the next one retries.
class Reclaimer {
 public:
  Reclaimer(QueueStore* store, absl::Duration interval, MetricsRegistry* metrics)
      : store_(store),
        interval_(interval),
        failures_(metrics->AddCounter("edge_store_reclaim_failures_total",
                                      "Reclamation passes that failed (logged at warn).")),
        thread_([this] { Run(); }) {}
  ~Reclaimer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) {
      mu_.Unlock();
      absl::StatusOr<ReclaimResult> result = store_->Reclaim();
      if (!result.ok()) {
        spdlog::warn("reclamation failed: {}", result.status().ToString());
        failures_.Increment();
      } else if (result->expired_entries > 0) {
        spdlog::info("reclaimed {} expired entries ({} bytes)", result->expired_entries,
                     result->freed_bytes);
      }
      mu_.Lock();
    }
  }

  QueueStore* const store_;
  const absl::Duration interval_;
  Counter& failures_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

absl::Status RunStore(const ServiceContext& context) {
  ASSIGN_OR_RETURN(StoreOptions options,
                   StoreOptions::FromConfig(context.config, context.edge_home));
  RETURN_IF_ERROR(EnsureDirectory(options.queues.database.parent_path(), 0750));
  ASSIGN_OR_RETURN(std::unique_ptr<QueueStore> queues,
                   QueueStore::Open(options.queues, SystemClock::Get()));
  ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry,
                   Registry::Open(options.registry, SystemClock::Get()));
  RETURN_IF_ERROR(registry->EnsureEdgeDevice(options.device.id));
  spdlog::info("database {}, edge device {}", options.queues.database.string(), options.device.id);
  MetricsRegistry metrics;  // outlives the services, the reclaimer and the runner that use it
  Reclaimer reclaimer(queues.get(), options.reclaim_interval, &metrics);
  StreamWaker waker;  // resumes and, at shutdown, ends ReadQueue and Watch streams
  StoreGrpcService service(queues.get(), &waker, &metrics);
  TwinGrpcService twins(registry.get());
  IdentityGrpcService identities(registry.get());
  StateGrpcService state(registry.get());
  ChangeFeedGrpcService changes(registry.get(), &waker);
  ServiceRunner runner("store", options.listen, options.shutdown_grace);
  runner.SetMetrics(&metrics, options.metrics_http);
  RETURN_IF_ERROR(runner.Start({&service, &twins, &identities, &state, &changes}));
  runner.WaitForTermination();
  waker.EndAll();
  runner.Shutdown();
  return absl::OkStatus();
}

}  // namespace edge::store
