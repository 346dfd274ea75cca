// ActiveRoutes: the configuration in force, shared between the configuration follower (the one
// writer) and the Ingest streams and GetRoutes (readers).
//
// Readers take a snapshot (a shared_ptr to an immutable RoutesConfig), so a new configuration
// takes effect for the next batch while a batch being routed finishes with the one it started
// with. Until Load is called (the persisted state has been read from the store) `loaded` is false:
// Ingest waits rather than drop messages for lack of routes it has not read yet.
//
// Thread-safe.
//
// Example:
//   ActiveRoutes routes;
//   routes.Load(persisted_config, persisted_status);
//   ActiveRoutes::Snapshot now = routes.Get();
//   if (now.loaded && now.config != nullptr) now.config->table.Evaluate(context, &targets);
#ifndef EDGE_SERVICES_ROUTER_ACTIVE_ROUTES_H_
#define EDGE_SERVICES_ROUTER_ACTIVE_ROUTES_H_

#include <memory>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "services/router/router_metrics.h"
#include "services/router/routes_config.h"

namespace edge::router {

class ActiveRoutes {
 public:
  struct Snapshot {
    bool loaded = false;
    // Null while no valid configuration was ever applied.
    std::shared_ptr<const RoutesConfig> config;
    std::optional<DesiredStatus> status;
  };

  // `metrics` (not owned, may be null) gets the routes and desired-version gauges.
  explicit ActiveRoutes(RouterMetrics* metrics = nullptr) : metrics_(metrics) {}

  Snapshot Get() const;

  // The state read at start-up (either may be absent); marks the routes loaded.
  void Load(std::shared_ptr<const RoutesConfig> config, std::optional<DesiredStatus> status);

  // Records the verdict on a desired version; a valid one (outcome.config set) replaces the
  // configuration in force.
  void Apply(const DesiredOutcome& outcome);

 private:
  void UpdateGauges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RouterMetrics* const metrics_;
  mutable absl::Mutex mu_;
  Snapshot current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ACTIVE_ROUTES_H_
