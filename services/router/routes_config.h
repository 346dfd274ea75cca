// The router's configuration: the `$edgeHub` twin's desired properties, compiled into a
// RouteTable, and the status the router reports for each desired version it processes.
//
// A desired version is applied whole or not at all. EvaluateDesired turns one version into either
// a new RoutesConfig (status 200) or a status that leaves the previous configuration in force
// (400 invalid, 412 unsupported schemaVersion, 417 empty document). RouterState is what the router
// persists in its ServiceState namespace so that a restart starts routing with the last valid
// configuration before the store's watch has delivered anything.
//
// Example:
//   DesiredOutcome outcome = EvaluateDesired(7, R"({"schemaVersion": "1.1", "routes": {...}})");
//   if (outcome.config != nullptr) active_routes.Set(outcome.config);
//   PatchReported(ReportedPatch(outcome.status));  // lastDesiredVersion, lastDesiredStatus
#ifndef EDGE_SERVICES_ROUTER_ROUTES_CONFIG_H_
#define EDGE_SERVICES_ROUTER_ROUTES_CONFIG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/desired_status.h"
#include "common/route/route_table.h"

namespace edge::router {

// What the router made of one desired version.
// A valid configuration, compiled. Immutable once built; shared between threads as
// std::shared_ptr<const RoutesConfig>.
struct RoutesConfig {
  int64_t desired_version = 0;
  // The desired document as applied (compact JSON, without `$version`/`$metadata`).
  std::string desired_json;
  route::EdgeHubRoutesConfig spec;
  route::RouteTable table;
};

// Compiles `desired_json` (the desired properties of `$edgeHub` at `version`).
// INVALID_ARGUMENT listing every problem (not JSON, not an object, bad routes, ...);
// FAILED_PRECONDITION when schemaVersion is present but not one the route library supports.
absl::StatusOr<std::shared_ptr<const RoutesConfig>> CompileRoutesConfig(
    int64_t version, absl::string_view desired_json);

struct DesiredOutcome {
  DesiredStatus status;
  // Set exactly when status.code is 200.
  std::shared_ptr<const RoutesConfig> config;
};

// The verdict on one desired version: 200 with the compiled config; 417 for an empty document
// (`{}`: nothing configured yet — the twin the store creates); 412 for an unsupported
// schemaVersion; 400 for anything else wrong. `$version` and `$metadata` members are ignored.
DesiredOutcome EvaluateDesired(int64_t version, absl::string_view desired_json);

// The reported-properties merge patch for `status`:
// {"lastDesiredVersion": v, "lastDesiredStatus": {"code": c, "description": "..."}}.
std::string ReportedPatch(const DesiredStatus& status);

// What the router persists (one ServiceState key, written as a whole so the parts never
// disagree): the last valid configuration, the status of the last desired version processed and
// the watch cursor (the last change sequence processed).
struct RouterState {
  struct Config {
    int64_t desired_version = 0;
    std::string desired_json;
  };
  std::optional<Config> config;
  std::optional<DesiredStatus> status;
  uint64_t cursor = 0;
};

// JSON: {"config": {"desiredVersion", "desired"}, "status": {...}, "cursor": n}.
std::string SerializeRouterState(const RouterState& state);
// INVALID_ARGUMENT when `text` is not what SerializeRouterState writes.
absl::StatusOr<RouterState> ParseRouterState(absl::string_view text);

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ROUTES_CONFIG_H_
