// One module of a deployment (`$edgeAgent` desired `modules.{name}` or `systemModules.{name}`,
// docs/iothub-surface.md §5), validated, and how two versions of it differ.
//
// Accepted: `type` "docker" or "process" (ours: runs `settings.image` as a program); `version`
// (any string, default ""); `status` running|stopped (default running); `restartPolicy`
// never|on-failure|on-unhealthy|always (default always); `imagePullPolicy` on-create|never
// (default on-create); `startupOrder` an integer 0-4294967295 (default 4294967295: last);
// `env {NAME: {"value": "text"}}`; `settings {image (required, non-empty), createOptions and its
// chunks (create_options.h)}`. Unknown members are ignored; null counts as absent.
//
// Example:
//   ManifestErrors errors;
//   std::optional<ModuleSpec> spec = ReadModuleSpec("sensor", json, "$edgeAgent.modules.sensor",
//                                                   errors);
//   switch (CompareModules(running, *spec)) {
//     case ModuleChange::kNone: break;
//     case ModuleChange::kInPlace: /* adopt new status/restartPolicy/... */ break;
//     case ModuleChange::kRecreate: /* stop, remove, create, start */ break;
//   }
#ifndef EDGE_SERVICES_AGENT_MANIFEST_MODULE_SPEC_H_
#define EDGE_SERVICES_AGENT_MANIFEST_MODULE_SPEC_H_

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "services/agent/manifest/create_options.h"
#include "services/agent/manifest/manifest_errors.h"

namespace edge::agent {

enum class ModuleType { kDocker, kProcess };
enum class DesiredModuleStatus { kRunning, kStopped };
enum class RestartPolicy { kNever, kOnFailure, kOnUnhealthy, kAlways };
enum class ImagePullPolicy { kOnCreate, kNever };

// The manifest's spellings ("process", "stopped", "on-unhealthy", "on-create"), for reporting.
absl::string_view ToString(ModuleType type);
absl::string_view ToString(DesiredModuleStatus status);
absl::string_view ToString(RestartPolicy policy);
absl::string_view ToString(ImagePullPolicy policy);

// A module without startupOrder starts after every module that has one.
inline constexpr int64_t kLastStartupOrder = std::numeric_limits<uint32_t>::max();

struct ModuleSpec {
  std::string name;
  std::string version;
  ModuleType type = ModuleType::kDocker;
  DesiredModuleStatus status = DesiredModuleStatus::kRunning;
  RestartPolicy restart_policy = RestartPolicy::kAlways;
  ImagePullPolicy image_pull_policy = ImagePullPolicy::kOnCreate;
  int64_t startup_order = kLastStartupOrder;  // 0 … kLastStartupOrder, lower first
  std::map<std::string, std::string> env;     // NAME → value, sorted
  std::string image;                          // process modules: the program
  std::string create_options_text;            // the chunks concatenated, as written
  CreateOptions create_options;               // parsed from create_options_text

  friend bool operator==(const ModuleSpec&, const ModuleSpec&) = default;
};

// OK unless `name` is a valid IoT Hub module id (1-128 characters of letters, digits and
// `- . % _ * ? ! ( ) , : = @ $ '`, the rule of common/identity_id.h) that is neither `edgeAgent`
// nor `edgeHub` and does not start with `$`. kInvalidArgument saying which rule it breaks.
absl::Status CheckModuleName(absl::string_view name);

// Reads `module` (a `modules`/`systemModules` entry) at `path`; every problem is added to
// `errors`, e.g. "$edgeAgent.modules.m.restartPolicy: \"sometimes\" is not one of never,
// on-failure, on-unhealthy, always". nullopt when any was. Does not check `name` (see
// CheckModuleName; system modules have reserved names).
std::optional<ModuleSpec> ReadModuleSpec(const std::string& name, const nlohmann::json& module,
                                         const std::string& path, ManifestErrors& errors);

// What changing a module from `current` to `desired` takes:
enum class ModuleChange {
  kNone,      // nothing differs
  kInPlace,   // only status, restartPolicy, imagePullPolicy or startupOrder: no recreation
  kRecreate,  // type, version, image, createOptions or env: remove and create again
};

// Compares two specs of the same module. createOptions compare as parsed JSON (key order and
// whitespace, and so chunking, do not matter); env as a map.
ModuleChange CompareModules(const ModuleSpec& current, const ModuleSpec& desired);

// A stable text of exactly what kRecreate looks at — canonical JSON (sorted keys, no whitespace)
// of name, type, version, image, parsed createOptions and env — for the reconciler to store with a
// running module (ModuleConfig::spec_hash) and compare after an agent restart. Equal specs give
// equal texts in every build.
std::string RecreateFingerprint(const ModuleSpec& spec);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MANIFEST_MODULE_SPEC_H_
