// The desired documents ApplyDeployment writes for a valid deployment, in the order it writes them,
// and the errors of the steps around them. Pure: no store, no gRPC; agent_grpc_service.cc drives
// the store calls.
//
// Order: module twins (by name), then `$edgeHub`, then `$edgeAgent`. The `$edgeAgent` document is
// what the reconciler follows, so it is the commit point: when it is written, the routes and the
// modules' twins it relies on already are.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<DesiredWrite> writes,
//                    PlanDesiredWrites("edge-device", deployment, request_versions));
//   for (DesiredWrite& w : writes) RETURN_IF_ERROR(CheckCurrentVersion(w, current_of(w)));
#ifndef EDGE_SERVICES_AGENT_DEPLOYMENT_WRITES_H_
#define EDGE_SERVICES_AGENT_DEPLOYMENT_WRITES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/agent/manifest/manifest.h"

namespace edge::agent {

inline constexpr const char* kEdgeAgentModule = "$edgeAgent";
inline constexpr const char* kEdgeHubModule = "$edgeHub";

// `<device>/$edgeAgent`, `<device>/$edgeHub`.
std::string EdgeAgentTwinId(const std::string& device_id);
std::string EdgeHubTwinId(const std::string& device_id);

// The caller's compare-and-set versions of the two system twins (absent: the current ones).
struct ExpectedVersions {
  std::optional<int64_t> agent = std::nullopt;
  std::optional<int64_t> hub = std::nullopt;
};

// One replace of a twin's desired properties.
struct DesiredWrite {
  std::string twin_id = "";
  std::string json = "";  // the whole desired document
  // `$edgeAgent`/`$edgeHub` must exist; a module twin whose identity does not exist is skipped
  // unless `deployed_module`.
  bool system = false;
  // A module twin of a module the deployment runs: the writer creates the module's identity
  // (as the reconciler would, managed by the agent) rather than skip its twin.
  bool deployed_module = false;
  // Set by the caller: from ExpectedVersions, else the version read from the store.
  std::optional<int64_t> expected_version = std::nullopt;
  // Set by the caller once the twin was read: false when it does not exist (module twins only).
  bool exists = true;
  // Set by the caller after the write: the new desired version (0: not written).
  int64_t written_version = 0;
};

// The writes for `deployment` (validated by ParseDeployment) on device `device_id`, in the order
// above, with the expected versions given. INVALID_ARGUMENT when an expected version is below 1
// or a module twin's name is not a module id ("deployment.modulesContent.<name>: …").
absl::StatusOr<std::vector<DesiredWrite>> PlanDesiredWrites(const std::string& device_id,
                                                            const Deployment& deployment,
                                                            const ExpectedVersions& expected);

// Before anything is written: ABORTED when the caller's expected version of `write` is not
// `current` (the twin moved on), naming the twin and both versions. OK otherwise. ABORTED, not the
// store's FAILED_PRECONDITION: ApplyDeployment uses FAILED_PRECONDITION for 412 (a bad
// schemaVersion), and a lost compare-and-set is what ABORTED means (read again, then retry).
absl::Status CheckCurrentVersion(const DesiredWrite& write, int64_t current);

// The error of a failed write `writes[failed]`: `error` (its code kept, except the store's
// FAILED_PRECONDITION for a stale version, which becomes ABORTED as above) with a message naming
// the twin, and, when earlier writes succeeded, what was written and what was not.
absl::Status WriteError(const std::vector<DesiredWrite>& writes, size_t failed,
                        const absl::Status& error);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_DEPLOYMENT_WRITES_H_
