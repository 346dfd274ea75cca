// The errors of one deployment-manifest validation, each naming the JSON field it is about, and
// the status code they add up to (docs/iothub-surface.md §5): 200 valid, 400 invalid, 412 a bad
// schemaVersion (412 wins over 400 when both occur).
//
// Paths start at the desired document they are in — `$edgeAgent.modules.tempSensor.env.FOO.value`,
// `$edgeHub.routes.r1` — or at `deployment` for the envelope around them
// (`deployment.modulesContent`). Keys are joined with `.` as written, without quoting.
//
// Example:
//   ManifestErrors errors;
//   errors.Add("$edgeAgent.modules.tempSensor.restartPolicy",
//              "\"sometimes\" is not one of never, on-failure, on-unhealthy, always");
//   errors.code();                    // 400
//   LastDesiredStatusOf(errors);      // {400, "$edgeAgent.modules.tempSensor.restartPolicy: …"}
#ifndef EDGE_SERVICES_AGENT_MANIFEST_MANIFEST_ERRORS_H_
#define EDGE_SERVICES_AGENT_MANIFEST_MANIFEST_ERRORS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/desired_status.h"
#include "nlohmann/json.hpp"

namespace edge::agent {

struct ManifestError {
  std::string path;  // e.g. "$edgeAgent.modules.tempSensor.restartPolicy"
  std::string
      message;  // e.g. "\"sometimes\" is not one of never, on-failure, on-unhealthy, always"
  bool bad_schema_version = false;

  // "path: message".
  std::string ToString() const;

  friend bool operator==(const ManifestError& a, const ManifestError& b) {
    return a.path == b.path && a.message == b.message &&
           a.bad_schema_version == b.bad_schema_version;
  }
};

// Every problem found, in the order found (document order, as nlohmann::json iterates: keys
// sorted). Not thread-safe; one per validation.
class ManifestErrors {
 public:
  void Add(std::string path, std::string message);
  // A missing, non-string or unsupported schemaVersion: makes code() 412.
  void AddBadSchemaVersion(std::string path, std::string message);

  bool empty() const { return errors_.empty(); }
  const std::vector<ManifestError>& list() const { return errors_; }
  // Each error as "path: message".
  std::vector<std::string> Strings() const;
  // 200 when empty, 412 when any error is a bad schemaVersion, else 400.
  int code() const;
  // OK, kFailedPrecondition (412) or kInvalidArgument (400) with the errors one per line — what
  // ApplyDeployment returns to its caller.
  absl::Status ToStatus() const;

 private:
  std::vector<ManifestError> errors_;
};

// `$edgeAgent` reported `lastDesiredStatus` (§5).
struct LastDesiredStatus {
  int code = kDesiredApplied;
  // "" for 200; otherwise every error as "path: message", one per line.
  std::string description;

  // {"code": 400, "description": "…"}.
  nlohmann::json ToJson() const;
};

LastDesiredStatus LastDesiredStatusOf(const ManifestErrors& errors);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MANIFEST_MANIFEST_ERRORS_H_
