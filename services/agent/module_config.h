// How a deployment's module becomes the process runtime's ModuleConfig (services/agent/README.md,
// "Reconciler"): argv from settings.image, createOptions Entrypoint and Cmd; the environment from
// createOptions.Env with the module's `env` on top; WorkingDir; HostConfig.Memory; spec_hash =
// RecreateFingerprint, so a module runs the deployment's spec exactly when its hash matches.
//
// Example:
//   // image "/bin/sh", createOptions {"Cmd": ["-c", "echo hi"]}
//   absl::StatusOr<ModuleConfig> config = ModuleConfigFromSpec(spec);
//   // config->argv == {"/bin/sh", "-c", "echo hi"}
#ifndef EDGE_SERVICES_AGENT_MODULE_CONFIG_H_
#define EDGE_SERVICES_AGENT_MODULE_CONFIG_H_

#include "absl/status/statusor.h"
#include "services/agent/manifest/module_spec.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

// The statusDescription of a docker module: the process runtime cannot run it.
inline constexpr char kDockerNeedsBackend[] = "docker modules need the docker backend";

// argv: Entrypoint + Cmd when Entrypoint is given (it replaces the image as the program, as a
// Docker Entrypoint replaces the image's); otherwise [image] + Cmd. env: createOptions.Env in
// order, a name the module's `env` also sets taking that value, then the module's other `env`
// entries by name. stop_grace 10 s. FAILED_PRECONDITION (kDockerNeedsBackend) for a docker module.
absl::StatusOr<ModuleConfig> ModuleConfigFromSpec(const ModuleSpec& spec);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MODULE_CONFIG_H_
