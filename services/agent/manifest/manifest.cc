#include "services/agent/manifest/manifest.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/agent/manifest/json_fields.h"

namespace edge::agent {
namespace {

using manifest_internal::Child;
using manifest_internal::Describe;
using manifest_internal::ExpectObject;
using manifest_internal::JoinPath;
using manifest_internal::Json;
using manifest_internal::Member;
using manifest_internal::ObjectMember;
using manifest_internal::RequiredString;

constexpr absl::string_view kEdgeAgent = "$edgeAgent";
constexpr absl::string_view kEdgeHub = "$edgeHub";
constexpr absl::string_view kDeployment = "deployment";
constexpr absl::string_view kDesired = "properties.desired";

// Adds a schemaVersion error (412) unless `desired.schemaVersion` is a string that `supported`
// accepts; returns the version when it is a string.
template <typename Supported>
std::string CheckSchemaVersion(const Json& desired, const std::string& path,
                               absl::string_view supported_text, const Supported& supported,
                               ManifestErrors& errors) {
  const std::string where = Child(path, "schemaVersion");
  const Json* version = Member(desired, "schemaVersion");
  if (version == nullptr) {
    errors.AddBadSchemaVersion(where, absl::StrCat("is required; ", supported_text, " supported"));
    return "";
  }
  if (!version->is_string()) {
    errors.AddBadSchemaVersion(
        where, absl::StrCat("must be a string such as \"1.1\", not ", Describe(*version)));
    return "";
  }
  std::string text = version->get<std::string>();
  if (!supported(text)) {
    errors.AddBadSchemaVersion(
        where, absl::StrCat(Describe(*version), " is not supported; ", supported_text));
  }
  return text;
}

void ReadRegistryCredentials(const Json& settings, const std::string& path, RuntimeSpec& runtime,
                             ManifestErrors& errors) {
  const Json* credentials = ObjectMember(settings, "registryCredentials", path, errors);
  if (credentials == nullptr) return;
  const std::string where = Child(path, "registryCredentials");
  for (const auto& [name, entry] : credentials->items()) {
    const std::string entry_path = Child(where, name);
    if (!ExpectObject(entry, entry_path, errors)) continue;
    std::optional<std::string> username = RequiredString(entry, "username", entry_path, errors);
    std::optional<std::string> password = RequiredString(entry, "password", entry_path, errors);
    std::optional<std::string> address = RequiredString(entry, "address", entry_path, errors);
    if (username && password && address) {
      runtime.registry_credentials[name] = {*username, *password, *address};
    }
  }
}

void ReadRuntime(const Json& desired, const std::string& path, RuntimeSpec& runtime,
                 ManifestErrors& errors) {
  const Json* value = ObjectMember(desired, "runtime", path, errors, /*required=*/true);
  if (value == nullptr) return;
  const std::string where = Child(path, "runtime");
  if (const Json* type = manifest_internal::RequiredMember(*value, "type", where, errors);
      type != nullptr &&
      manifest_internal::EnumIndex(*type, {"docker", "process"}, Child(where, "type"), errors)) {
    runtime.type = type->get<std::string>();
  }
  const Json* settings = ObjectMember(*value, "settings", where, errors);
  if (settings == nullptr) return;
  const std::string settings_path = Child(where, "settings");
  runtime.min_docker_version =
      manifest_internal::OptionalString(*settings, "minDockerVersion", settings_path, errors)
          .value_or("");
  runtime.logging_options =
      manifest_internal::OptionalString(*settings, "loggingOptions", settings_path, errors)
          .value_or("");
  ReadRegistryCredentials(*settings, settings_path, runtime, errors);
}

absl::Status CheckSystemModuleName(absl::string_view name) {
  if (name == "edgeAgent" || name == "edgeHub") return absl::OkStatus();
  return absl::InvalidArgumentError("is not a system module; they are edgeAgent and edgeHub");
}

// `desired[key]`, an object of name: module, into `out`; a name that `check_name` refuses is an
// error, and the module is still read so that its own errors are found too.
void ReadModuleMap(const Json& desired, absl::string_view key, const std::string& path,
                   absl::Status (*check_name)(absl::string_view),
                   std::map<std::string, ModuleSpec>& out, ManifestErrors& errors) {
  const Json* modules = ObjectMember(desired, key, path, errors);
  if (modules == nullptr) return;
  const std::string where = Child(path, key);
  for (const auto& [name, module] : modules->items()) {
    const std::string module_path = Child(where, name);
    if (absl::Status name_ok = check_name(name); !name_ok.ok()) {
      errors.Add(module_path, std::string(name_ok.message()));
    }
    if (std::optional<ModuleSpec> spec = ReadModuleSpec(name, module, module_path, errors)) {
      out[name] = *std::move(spec);
    }
  }
}

void ReadEdgeAgent(const Json& desired, const std::string& path, EdgeAgentDesired& out,
                   ManifestErrors& errors) {
  if (!ExpectObject(desired, path, errors)) return;
  out.schema_version = CheckSchemaVersion(
      desired, path, "1.0 and 1.1 are",
      [](const std::string& v) { return v == "1.0" || v == "1.1"; }, errors);
  ReadRuntime(desired, path, out.runtime, errors);
  ReadModuleMap(desired, "systemModules", path, CheckSystemModuleName, out.system_modules, errors);
  ReadModuleMap(desired, "modules", path, CheckModuleName, out.modules, errors);
}

// The route library's one-line problems ("route 'r2': …", "routes is missing", …) as errors at the
// field each is about. Its schemaVersion problems are skipped: CheckSchemaVersion reports those.
void AddRouteProblems(const Json& desired, const std::string& path, absl::string_view message,
                      ManifestErrors& errors) {
  const std::string routes_path = Child(path, "routes");
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  if (lines.size() < 2) {  // not the documented shape: keep the message whole
    errors.Add(path, std::string(message));
    return;
  }
  for (size_t i = 1; i < lines.size(); ++i) {  // line 0: "invalid $edgeHub configuration, …"
    absl::string_view line = absl::StripLeadingAsciiWhitespace(lines[i]);
    if (absl::StartsWith(line, "schemaVersion")) continue;
    // The longest route name that the line starts with, so that "a': b" names route "a': b".
    std::optional<std::string> route;
    if (const Json* routes = Member(desired, "routes"); routes != nullptr && routes->is_object()) {
      for (const auto& [name, unused] : routes->items()) {
        const std::string prefix = absl::StrCat("route '", name, "': ");
        if (absl::StartsWith(line, prefix) && (!route || name.size() > route->size())) {
          route = name;
        }
      }
    }
    if (route.has_value()) {
      line.remove_prefix(absl::StrCat("route '", *route, "': ").size());
      errors.Add(Child(routes_path, *route), std::string(line));
    } else if (absl::ConsumePrefix(&line, "routes ")) {
      errors.Add(routes_path, std::string(line));
    } else if (absl::ConsumePrefix(&line, "storeAndForwardConfiguration")) {
      absl::ConsumePrefix(&line, ":");
      errors.Add(Child(path, "storeAndForwardConfiguration"),
                 std::string(absl::StripLeadingAsciiWhitespace(line)));
    } else {
      errors.Add(path, std::string(line));
    }
  }
}

void ReadEdgeHub(const Json& desired, const std::string& path, EdgeHubDesired& out,
                 ManifestErrors& errors) {
  if (!ExpectObject(desired, path, errors)) return;
  // The route library is the one place that knows which versions exist: ask it about a minimal
  // document with this version.
  out.schema_version = CheckSchemaVersion(
      desired, path, "1.0 to 1.3 are",
      [](const std::string& v) {
        return route::ParseEdgeHubRoutesConfig({{"schemaVersion", v}, {"routes", Json::object()}})
            .ok();
      },
      errors);
  absl::StatusOr<route::RouteTable> table = route::RouteTable::FromEdgeHubDesired(desired);
  if (!table.ok()) {
    AddRouteProblems(desired, path, table.status().message(), errors);
    return;
  }
  out.time_to_live_secs = table->time_to_live_secs();
  out.routes = std::make_shared<const route::RouteTable>(*std::move(table));
}

// `modulesContent.{name}.properties.desired`, or nullptr after adding an error.
const Json* DesiredOf(const Json& modules_content, absl::string_view name,
                      const std::string& content_path, ManifestErrors& errors) {
  const Json* entry = ObjectMember(modules_content, name, content_path, errors, /*required=*/true);
  if (entry == nullptr) return nullptr;
  return ObjectMember(*entry, kDesired, Child(content_path, name), errors, /*required=*/true);
}

void ReadDeployment(const Json& document, const std::string& path, Deployment& out,
                    ManifestErrors& errors) {
  std::string where = path;
  if (!ExpectObject(document, where, errors)) return;
  const Json* content = &document;
  if (Member(document, "modulesContent") == nullptr && Member(document, "content") != nullptr) {
    content = ObjectMember(document, "content", where, errors);
    if (content == nullptr) return;
    where = Child(where, "content");
  }
  const Json* modules_content =
      ObjectMember(*content, "modulesContent", where, errors, /*required=*/true);
  if (modules_content == nullptr) return;
  const std::string content_path = Child(where, "modulesContent");
  if (const Json* agent = DesiredOf(*modules_content, kEdgeAgent, content_path, errors)) {
    out.edge_agent_desired = *agent;
    ReadEdgeAgent(*agent, std::string(kEdgeAgent), out.edge_agent, errors);
  }
  if (const Json* hub = DesiredOf(*modules_content, kEdgeHub, content_path, errors)) {
    out.edge_hub_desired = *hub;
    ReadEdgeHub(*hub, std::string(kEdgeHub), out.edge_hub, errors);
  }
  for (const auto& [name, unused] : modules_content->items()) {
    if (name == kEdgeAgent || name == kEdgeHub) continue;
    if (const Json* desired = DesiredOf(*modules_content, name, content_path, errors)) {
      out.module_desired[name] = *desired;
    }
  }
}

// The path of a place in a deployment's text: inside a desired document it starts at the
// document (`$edgeAgent.modules`), elsewhere at `deployment`.
std::string DeploymentPath(const std::vector<std::string>& keys) {
  const size_t start = !keys.empty() && keys[0] == "content" ? 1 : 0;
  if (keys.size() >= start + 3 && keys[start] == "modulesContent" &&
      (keys[start + 1] == kEdgeAgent || keys[start + 1] == kEdgeHub) &&
      keys[start + 2] == kDesired) {
    return JoinPath(keys[start + 1], {keys.begin() + start + 3, keys.end()});
  }
  return JoinPath(kDeployment, keys);
}

template <typename T>
using Reader = void (*)(const Json&, const std::string&, T&, ManifestErrors&);

template <typename T>
Parsed<T> Finish(T value, ManifestErrors errors) {
  Parsed<T> parsed;
  if (errors.empty()) parsed.value = std::move(value);
  parsed.errors = std::move(errors);
  return parsed;
}

template <typename T>
Parsed<T> ParseDesired(const Json& desired, absl::string_view root, Reader<T> read) {
  T value;
  ManifestErrors errors;
  read(desired, std::string(root), value, errors);
  return Finish(std::move(value), std::move(errors));
}

template <typename T>
Parsed<T> ParseText(absl::string_view text, const manifest_internal::PathOf& path_of,
                    absl::string_view root, Reader<T> read) {
  ManifestErrors errors;
  std::optional<Json> json = manifest_internal::ParseJsonText(text, path_of, errors);
  if (!json.has_value()) return Finish(T(), std::move(errors));
  return ParseDesired(*json, root, read);
}

// Paths of a desired document's text start at the document.
template <typename T>
Parsed<T> ParseDesiredText(absl::string_view text, absl::string_view root, Reader<T> read) {
  return ParseText(
      text, [root](const std::vector<std::string>& keys) { return JoinPath(root, keys); }, root,
      read);
}

}  // namespace

std::vector<const ModuleSpec*> EdgeAgentDesired::InStartupOrder() const {
  std::vector<const ModuleSpec*> ordered;
  for (const auto& [name, spec] : modules) ordered.push_back(&spec);
  std::stable_sort(ordered.begin(), ordered.end(), [](const ModuleSpec* a, const ModuleSpec* b) {
    return a->startup_order < b->startup_order;
  });
  return ordered;
}

Parsed<Deployment> ParseDeployment(const Json& document) {
  return ParseDesired<Deployment>(document, kDeployment, ReadDeployment);
}

Parsed<Deployment> ParseDeploymentJson(absl::string_view text) {
  return ParseText<Deployment>(text, DeploymentPath, kDeployment, ReadDeployment);
}

Parsed<EdgeAgentDesired> ParseEdgeAgentDesired(const Json& desired) {
  return ParseDesired<EdgeAgentDesired>(desired, kEdgeAgent, ReadEdgeAgent);
}

Parsed<EdgeAgentDesired> ParseEdgeAgentDesiredJson(absl::string_view text) {
  return ParseDesiredText<EdgeAgentDesired>(text, kEdgeAgent, ReadEdgeAgent);
}

Parsed<EdgeHubDesired> ParseEdgeHubDesired(const Json& desired) {
  return ParseDesired<EdgeHubDesired>(desired, kEdgeHub, ReadEdgeHub);
}

Parsed<EdgeHubDesired> ParseEdgeHubDesiredJson(absl::string_view text) {
  return ParseDesiredText<EdgeHubDesired>(text, kEdgeHub, ReadEdgeHub);
}

}  // namespace edge::agent
