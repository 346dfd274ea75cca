// The deployment manifest (docs/iothub-surface.md §5): parsing and validating a whole deployment
// (`modulesContent` with `$edgeAgent` and `$edgeHub`) or either desired document alone, collecting
// every error with the path of the field it is about, and the status code they add up to
// (manifest_errors.h): 200 valid, 400 invalid, 412 a bad schemaVersion.
//
// `$edgeAgent` desired: schemaVersion "1.0" or "1.1"; `runtime {type "docker"|"process",
// settings {minDockerVersion, loggingOptions, registryCredentials {name: {username, password,
// address}}}}` (required, settings optional); `systemModules {edgeAgent, edgeHub}` (optional,
// validated like modules, never run); `modules {name: module}` (optional; module_spec.h).
// `$edgeHub` desired: what the route library accepts (schemaVersion 1.0-1.3, routes compiled,
// storeAndForwardConfiguration.timeToLiveSecs); see common/route/route_table.h.
// Unknown members are ignored everywhere (`$version` and `$metadata` of a twin included); a member
// whose value is null counts as absent; in JSON text a key given twice in one object is an error.
// Pure functions: no I/O, no state, safe from any thread.
//
// Example:
//   Parsed<Deployment> parsed = ParseDeploymentJson(file_text);
//   if (!parsed.ok()) return parsed.errors.ToStatus();  // every error, one per line
//   for (const ModuleSpec* module : parsed.value->edge_agent.InStartupOrder()) { … }
//   LastDesiredStatusOf(parsed.errors).ToJson();        // {"code": 200, "description": ""}
#ifndef EDGE_SERVICES_AGENT_MANIFEST_MANIFEST_H_
#define EDGE_SERVICES_AGENT_MANIFEST_MANIFEST_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/route/route_table.h"
#include "nlohmann/json.hpp"
#include "services/agent/manifest/manifest_errors.h"
#include "services/agent/manifest/module_spec.h"

namespace edge::agent {

struct RegistryCredential {
  std::string username;
  std::string password;
  std::string address;  // e.g. "localhost:5000"

  friend bool operator==(const RegistryCredential&, const RegistryCredential&) = default;
};

struct RuntimeSpec {
  std::string type;                // "docker" or "process"
  std::string min_docker_version;  // "" when absent
  std::string logging_options;     // "" when absent
  std::map<std::string, RegistryCredential> registry_credentials;

  friend bool operator==(const RuntimeSpec&, const RuntimeSpec&) = default;
};

// `$edgeAgent` desired properties, validated.
struct EdgeAgentDesired {
  std::string schema_version;
  RuntimeSpec runtime;
  // "edgeAgent" and/or "edgeHub", as given; reported, never run.
  std::map<std::string, ModuleSpec> system_modules;
  std::map<std::string, ModuleSpec> modules;

  // The modules by startupOrder, then name; pointers into `modules`.
  std::vector<const ModuleSpec*> InStartupOrder() const;
};

// `$edgeHub` desired properties, validated and compiled.
struct EdgeHubDesired {
  std::string schema_version;
  // As configured (see RouteTable for zero and negative values).
  int64_t time_to_live_secs = route::kDefaultTimeToLiveSecs;
  // Never null in a valid result; shared because a RouteTable cannot be copied.
  std::shared_ptr<const route::RouteTable> routes;
};

struct Deployment {
  EdgeAgentDesired edge_agent;
  EdgeHubDesired edge_hub;
  // The two desired documents as given: what ApplyDeployment writes to the store.
  nlohmann::json edge_agent_desired;
  nlohmann::json edge_hub_desired;
  // Any other `modulesContent` entry, `{name: {"properties.desired": {…}}}`: the desired
  // properties of that module's twin, checked only to be an object.
  std::map<std::string, nlohmann::json> module_desired;
};

// A validation's outcome: `value` is set exactly when `errors` is empty.
template <typename T>
struct Parsed {
  std::optional<T> value;
  ManifestErrors errors;

  bool ok() const { return errors.empty(); }
  // 200, 400 or 412.
  int code() const { return errors.code(); }
};

// A whole deployment: `{"modulesContent": {"$edgeAgent": {"properties.desired": {…}},
// "$edgeHub": {"properties.desired": {…}}, …}}`, or the same wrapped in `{"content": …}` as
// `az iot edge deployment` files are. Both desired documents are required; errors inside them are
// at `$edgeAgent.…`/`$edgeHub.…`, errors in the envelope at `deployment.…` (e.g.
// "deployment.modulesContent.$edgeHub: is required").
Parsed<Deployment> ParseDeployment(const nlohmann::json& document);
// As above from text; text that is not JSON is "deployment: is not JSON: …" (400).
Parsed<Deployment> ParseDeploymentJson(absl::string_view text);

// `$edgeAgent` desired properties alone (what the reconciler reads from the store); paths start
// at `$edgeAgent`.
Parsed<EdgeAgentDesired> ParseEdgeAgentDesired(const nlohmann::json& desired);
Parsed<EdgeAgentDesired> ParseEdgeAgentDesiredJson(absl::string_view text);

// `$edgeHub` desired properties alone; paths start at `$edgeHub`. Each route-library problem
// becomes one error: a bad route at `$edgeHub.routes.{name}` (e.g. "$edgeHub.routes.r2: 'temp' is
// a string property compared with a number at 1:20; use as_number(temp)"), a schemaVersion other
// than "1.0"-"1.3" at `$edgeHub.schemaVersion` (412).
Parsed<EdgeHubDesired> ParseEdgeHubDesired(const nlohmann::json& desired);
Parsed<EdgeHubDesired> ParseEdgeHubDesiredJson(absl::string_view text);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MANIFEST_MANIFEST_H_
