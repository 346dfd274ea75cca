#include "services/agent/manifest/module_spec.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/identity_id.h"
#include "services/agent/manifest/json_fields.h"

namespace edge::agent {
namespace {

using manifest_internal::AsNonNegativeInteger;
using manifest_internal::Child;
using manifest_internal::EnumSpelling;
using manifest_internal::ExpectObject;
using manifest_internal::Json;
using manifest_internal::Member;
using manifest_internal::OptionalEnum;

template <typename E>
using Spellings = std::vector<EnumSpelling<E>>;

const Spellings<ModuleType>& TypeSpellings() {
  static const auto* spellings =
      new Spellings<ModuleType>{{"docker", ModuleType::kDocker}, {"process", ModuleType::kProcess}};
  return *spellings;
}

const Spellings<DesiredModuleStatus>& StatusSpellings() {
  static const auto* spellings = new Spellings<DesiredModuleStatus>{
      {"running", DesiredModuleStatus::kRunning}, {"stopped", DesiredModuleStatus::kStopped}};
  return *spellings;
}

const Spellings<RestartPolicy>& RestartPolicySpellings() {
  static const auto* spellings =
      new Spellings<RestartPolicy>{{"never", RestartPolicy::kNever},
                                   {"on-failure", RestartPolicy::kOnFailure},
                                   {"on-unhealthy", RestartPolicy::kOnUnhealthy},
                                   {"always", RestartPolicy::kAlways}};
  return *spellings;
}

const Spellings<ImagePullPolicy>& PullPolicySpellings() {
  static const auto* spellings = new Spellings<ImagePullPolicy>{
      {"on-create", ImagePullPolicy::kOnCreate}, {"never", ImagePullPolicy::kNever}};
  return *spellings;
}

template <typename E>
absl::string_view SpellingOf(const Spellings<E>& spellings, E value) {
  for (const auto& [name, spelled] : spellings) {
    if (spelled == value) return name;
  }
  return "unknown";
}

// env {NAME: {"value": "text"}}: NAME non-empty without '=', value a string.
void ReadEnv(const Json& module, const std::string& path, ModuleSpec& spec,
             ManifestErrors& errors) {
  const Json* env = manifest_internal::ObjectMember(module, "env", path, errors);
  if (env == nullptr) return;
  const std::string env_path = Child(path, "env");
  for (const auto& [name, entry] : env->items()) {
    const std::string where = Child(env_path, name);
    if (name.empty() || absl::StrContains(name, '=')) {
      errors.Add(where, "an environment variable name must be non-empty and without '='");
      continue;
    }
    if (!ExpectObject(entry, where, errors)) continue;
    std::optional<std::string> value =
        manifest_internal::RequiredString(entry, "value", where, errors, /*non_empty=*/false);
    if (value.has_value()) spec.env[name] = *std::move(value);
  }
}

void ReadSettings(const Json& module, const std::string& path, ModuleSpec& spec,
                  ManifestErrors& errors) {
  const Json* settings =
      manifest_internal::ObjectMember(module, "settings", path, errors, /*required=*/true);
  if (settings == nullptr) return;
  const std::string settings_path = Child(path, "settings");
  spec.image =
      manifest_internal::RequiredString(*settings, "image", settings_path, errors).value_or("");
  std::optional<CreateOptions> options =
      ReadSettingsCreateOptions(*settings, settings_path, errors, &spec.create_options_text);
  if (options.has_value()) spec.create_options = *std::move(options);
}

}  // namespace

absl::string_view ToString(ModuleType type) { return SpellingOf(TypeSpellings(), type); }
absl::string_view ToString(DesiredModuleStatus status) {
  return SpellingOf(StatusSpellings(), status);
}
absl::string_view ToString(RestartPolicy policy) {
  return SpellingOf(RestartPolicySpellings(), policy);
}
absl::string_view ToString(ImagePullPolicy policy) {
  return SpellingOf(PullPolicySpellings(), policy);
}

absl::Status CheckModuleName(absl::string_view name) {
  if (absl::Status id = CheckIdPart(name); !id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("is not a valid module id: it ", id.message()));
  }
  if (name == "edgeAgent" || name == "edgeHub") {
    return absl::InvalidArgumentError(
        "is the name of a system module; list it under systemModules, not modules");
  }
  if (absl::StartsWith(name, "$")) {
    return absl::InvalidArgumentError("module names starting with '$' are reserved");
  }
  return absl::OkStatus();
}

std::optional<ModuleSpec> ReadModuleSpec(const std::string& name, const Json& module,
                                         const std::string& path, ManifestErrors& errors) {
  if (!ExpectObject(module, path, errors)) return std::nullopt;
  const size_t errors_before = errors.list().size();
  ModuleSpec spec;
  spec.name = name;
  spec.version = manifest_internal::OptionalString(module, "version", path, errors).value_or("");
  manifest_internal::RequiredMember(module, "type", path, errors);
  spec.type = OptionalEnum(module, "type", path, TypeSpellings(), ModuleType::kDocker, errors)
                  .value_or(ModuleType::kDocker);
  spec.status =
      OptionalEnum(module, "status", path, StatusSpellings(), DesiredModuleStatus::kRunning, errors)
          .value_or(DesiredModuleStatus::kRunning);
  spec.restart_policy = OptionalEnum(module, "restartPolicy", path, RestartPolicySpellings(),
                                     RestartPolicy::kAlways, errors)
                            .value_or(RestartPolicy::kAlways);
  spec.image_pull_policy = OptionalEnum(module, "imagePullPolicy", path, PullPolicySpellings(),
                                        ImagePullPolicy::kOnCreate, errors)
                               .value_or(ImagePullPolicy::kOnCreate);
  if (const Json* order = Member(module, "startupOrder"); order != nullptr) {
    spec.startup_order =
        AsNonNegativeInteger(*order, Child(path, "startupOrder"), errors, kLastStartupOrder)
            .value_or(kLastStartupOrder);
  }
  ReadEnv(module, path, spec, errors);
  ReadSettings(module, path, spec, errors);
  if (errors.list().size() != errors_before) return std::nullopt;
  return spec;
}

std::string RecreateFingerprint(const ModuleSpec& spec) {
  const Json fingerprint = {
      {"name", spec.name},   {"type", std::string(ToString(spec.type))}, {"version", spec.version},
      {"image", spec.image}, {"createOptions", spec.create_options.raw}, {"env", spec.env}};
  return fingerprint.dump();
}

ModuleChange CompareModules(const ModuleSpec& current, const ModuleSpec& desired) {
  if (RecreateFingerprint(current) != RecreateFingerprint(desired)) return ModuleChange::kRecreate;
  if (current.status != desired.status || current.restart_policy != desired.restart_policy ||
      current.image_pull_policy != desired.image_pull_policy ||
      current.startup_order != desired.startup_order) {
    return ModuleChange::kInPlace;
  }
  return ModuleChange::kNone;
}

}  // namespace edge::agent
