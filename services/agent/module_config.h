// How a deployment's module becomes the process runtime's ModuleConfig (services/agent/README.md,
// "Reconciler"): argv from settings.image, createOptions Entrypoint and Cmd; the environment from
// createOptions.Env with the module's `env` on top, then the agent's variables of the module's
// identity (module_environment.h); WorkingDir; HostConfig.Memory; spec_hash = RecreateFingerprint
// plus a digest of the agent's variables, so a module runs the deployment's spec with its current
// identity exactly when its hash matches.
//
// Example:
//   // image "/bin/sh", createOptions {"Cmd": ["-c", "echo hi"]}
//   absl::StatusOr<ModuleConfig> config = ModuleConfigFromSpec(spec, &connection);
//   // config->argv == {"/bin/sh", "-c", "echo hi"}
#ifndef EDGE_SERVICES_AGENT_MODULE_CONFIG_H_
#define EDGE_SERVICES_AGENT_MODULE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/agent/manifest/module_spec.h"
#include "services/agent/module_environment.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

// The statusDescription of a docker module: the process runtime cannot run it.
inline constexpr char kDockerNeedsBackend[] = "docker modules need the docker backend";

// argv: Entrypoint + Cmd when Entrypoint is given (it replaces the image as the program, as a
// Docker Entrypoint replaces the image's); otherwise [image] + Cmd. env: createOptions.Env in
// order, a name the module's `env` also sets taking that value, then the module's other `env`
// entries by name; with a `connection`, the names of ModuleEnvironment are dropped from those and
// ModuleEnvironment(*connection) follows (the agent's values win). stop_grace 10 s. spec_hash:
// ModuleSpecHash. FAILED_PRECONDITION (kDockerNeedsBackend) for a docker module.
absl::StatusOr<ModuleConfig> ModuleConfigFromSpec(const ModuleSpec& spec,
                                                  const ModuleConnection* connection = nullptr);

// RecreateFingerprint(spec); with a connection, followed by "\nenvironment sha256:" and the hex
// SHA-256 of ModuleEnvironment(*connection) (a new key or host name changes it; the key itself is
// not in the hash).
std::string ModuleSpecHash(const ModuleSpec& spec, const ModuleConnection* connection);

// Whether a module whose config has `spec_hash` runs `spec` with `connection`'s environment. With
// no connection (the identity is unknown this pass), whether it runs `spec`, whatever its
// environment.
bool RunsSpec(const std::string& spec_hash, const ModuleSpec& spec,
              const ModuleConnection* connection);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MODULE_CONFIG_H_
