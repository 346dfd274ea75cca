#include "services/agent/module_config.h"

#include <set>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "openssl/sha.h"

namespace edge::agent {
namespace {

constexpr char kEnvironmentHash[] = "\nenvironment sha256:";

}  // namespace

std::string ModuleSpecHash(const ModuleSpec& spec, const ModuleConnection* connection) {
  std::string hash = RecreateFingerprint(spec);
  if (connection == nullptr) return hash;
  std::string text;
  for (const auto& [name, value] : ModuleEnvironment(*connection)) {
    absl::StrAppend(&text, name.size(), ":", name, value.size(), ":", value);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  absl::StrAppend(&hash, kEnvironmentHash,
                  absl::BytesToHexString(
                      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest))));
  return hash;
}

bool RunsSpec(const std::string& spec_hash, const ModuleSpec& spec,
              const ModuleConnection* connection) {
  if (connection != nullptr) return spec_hash == ModuleSpecHash(spec, connection);
  const std::string fingerprint = RecreateFingerprint(spec);
  return spec_hash == fingerprint ||
         absl::StartsWith(spec_hash, absl::StrCat(fingerprint, kEnvironmentHash));
}

absl::StatusOr<ModuleConfig> ModuleConfigFromSpec(const ModuleSpec& spec,
                                                  const ModuleConnection* connection) {
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
    if (connection != nullptr && IsAgentVariable(name)) continue;
    auto module_value = spec.env.find(name);
    config.env.emplace_back(
        name, module_value != spec.env.end() ? module_value->second : entry.substr(equals + 1));
  }
  for (const auto& [name, value] : spec.env) {
    if (connection != nullptr && IsAgentVariable(name)) continue;
    if (seen.insert(name).second) config.env.emplace_back(name, value);
  }
  if (connection != nullptr) {
    for (auto& variable : ModuleEnvironment(*connection)) config.env.push_back(std::move(variable));
  }
  config.working_dir = options.working_dir;
  config.memory_bytes = options.memory_bytes.value_or(0);
  config.spec_hash = ModuleSpecHash(spec, connection);
  return config;
}

}  // namespace edge::agent
