#include "services/agent/deployment_writes.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edge::agent {
namespace {

absl::Status CheckVersionArgument(const std::optional<int64_t>& version, absl::string_view field) {
  if (!version.has_value() || *version >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", *version, " is not a desired version (they start at 1)"));
}

}  // namespace

std::string EdgeAgentTwinId(const std::string& device_id) {
  return absl::StrCat(device_id, "/", kEdgeAgentModule);
}

std::string EdgeHubTwinId(const std::string& device_id) {
  return absl::StrCat(device_id, "/", kEdgeHubModule);
}

absl::StatusOr<std::vector<DesiredWrite>> PlanDesiredWrites(const std::string& device_id,
                                                            const Deployment& deployment,
                                                            const ExpectedVersions& expected) {
  if (absl::Status s = CheckVersionArgument(expected.agent, "expected_agent_version"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckVersionArgument(expected.hub, "expected_hub_version"); !s.ok()) {
    return s;
  }
  std::vector<DesiredWrite> writes;
  std::vector<std::string> bad_names;
  for (const auto& [name, desired] : deployment.module_desired) {  // std::map: by name
    if (absl::Status s = CheckModuleName(name); !s.ok()) {
      bad_names.push_back(absl::StrCat("deployment.modulesContent.", name, ": ", s.message()));
      continue;
    }
    writes.push_back({.twin_id = absl::StrCat(device_id, "/", name),
                      .json = desired.dump(),
                      .deployed_module = deployment.edge_agent.modules.count(name) > 0});
  }
  if (!bad_names.empty()) return absl::InvalidArgumentError(absl::StrJoin(bad_names, "\n"));
  writes.push_back({.twin_id = EdgeHubTwinId(device_id),
                    .json = deployment.edge_hub_desired.dump(),
                    .system = true,
                    .expected_version = expected.hub});
  writes.push_back({.twin_id = EdgeAgentTwinId(device_id),
                    .json = deployment.edge_agent_desired.dump(),
                    .system = true,
                    .expected_version = expected.agent});
  return writes;
}

absl::Status CheckCurrentVersion(const DesiredWrite& write, int64_t current) {
  if (!write.expected_version.has_value() || *write.expected_version == current) {
    return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat(write.twin_id, ": the desired properties are at version ",
                                         current, ", not the expected ", *write.expected_version,
                                         "; nothing was written"));
}

absl::Status WriteError(const std::vector<DesiredWrite>& writes, size_t failed,
                        const absl::Status& error) {
  std::vector<std::string> written;
  for (size_t i = 0; i < failed && i < writes.size(); ++i) {
    if (writes[i].written_version > 0) {
      written.push_back(
          absl::StrCat(writes[i].twin_id, " (version ", writes[i].written_version, ")"));
    }
  }
  const std::string& twin = failed < writes.size() ? writes[failed].twin_id : "?";
  std::string message = absl::StrCat("writing ", twin, ": ", error.message());
  if (written.empty()) {
    absl::StrAppend(&message, "; nothing was written");
  } else {
    std::vector<std::string> not_written;
    for (size_t i = failed; i < writes.size(); ++i) {
      if (writes[i].exists) not_written.push_back(writes[i].twin_id);
    }
    absl::StrAppend(&message, "; already written: ", absl::StrJoin(written, ", "),
                    "; not written: ", absl::StrJoin(not_written, ", "));
  }
  const absl::StatusCode code =
      absl::IsFailedPrecondition(error) ? absl::StatusCode::kAborted : error.code();
  return absl::Status(code, message);
}

}  // namespace edge::agent
