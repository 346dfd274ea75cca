#include "services/agent/module_config.h"

#include <set>
#include <string>
#include <utility>

namespace edge::agent {

absl::StatusOr<ModuleConfig> ModuleConfigFromSpec(const ModuleSpec& spec) {
  if (spec.type != ModuleType::kProcess) return absl::FailedPreconditionError(kDockerNeedsBackend);
  const CreateOptions& options = spec.create_options;
  ModuleConfig config{.name = spec.name};
  if (options.entrypoint.has_value() && !options.entrypoint->empty()) {
    config.argv = *options.entrypoint;
  } else {
    config.argv = {spec.image};
  }
  if (options.cmd.has_value()) {
    config.argv.insert(config.argv.end(), options.cmd->begin(), options.cmd->end());
  }
  std::set<std::string> seen;
  for (const std::string& entry : options.env) {
    const size_t equals = entry.find('=');  // the manifest library checked there is one
    std::string name = entry.substr(0, equals);
    if (!seen.insert(name).second) continue;  // Docker keeps the first of a repeated name
    auto module_value = spec.env.find(name);
    config.env.emplace_back(
        name, module_value != spec.env.end() ? module_value->second : entry.substr(equals + 1));
  }
  for (const auto& [name, value] : spec.env) {
    if (seen.insert(name).second) config.env.emplace_back(name, value);
  }
  config.working_dir = options.working_dir;
  config.memory_bytes = options.memory_bytes.value_or(0);
  config.spec_hash = RecreateFingerprint(spec);
  return config;
}

}  // namespace edge::agent
