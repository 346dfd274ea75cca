#include "services/router/routes_config.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace edge::router {
namespace {

using Json = nlohmann::json;

absl::StatusOr<Json> ParseObject(absl::string_view text, absl::string_view what) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(what, " is not JSON"));
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a JSON object, not ", json.type_name()));
  }
  return json;
}

// True when `desired` names a schemaVersion that the route library refuses: checked on a minimal
// document so that the library stays the one place that knows which versions exist.
bool HasUnsupportedSchemaVersion(const Json& desired) {
  auto version = desired.find("schemaVersion");
  if (version == desired.end()) return false;
  Json probe = {{"schemaVersion", *version}, {"routes", Json::object()}};
  return !route::ParseEdgeHubRoutesConfig(probe).ok();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RoutesConfig>> CompileRoutesConfig(
    int64_t version, absl::string_view desired_json) {
  ASSIGN_OR_RETURN(Json desired, ParseObject(desired_json, "the desired properties"));
  desired.erase("$version");
  desired.erase("$metadata");
  absl::StatusOr<route::RouteTable> table = route::RouteTable::FromEdgeHubDesired(desired);
  if (!table.ok()) {
    if (HasUnsupportedSchemaVersion(desired)) {
      return absl::FailedPreconditionError(table.status().message());
    }
    return table.status();
  }
  ASSIGN_OR_RETURN(route::EdgeHubRoutesConfig spec, route::ParseEdgeHubRoutesConfig(desired));
  return std::make_shared<const RoutesConfig>(
      RoutesConfig{version, desired.dump(), std::move(spec), *std::move(table)});
}

DesiredOutcome EvaluateDesired(int64_t version, absl::string_view desired_json) {
  DesiredOutcome outcome;
  outcome.status.desired_version = version;
  absl::StatusOr<Json> desired = ParseObject(desired_json, "the desired properties");
  if (desired.ok()) {
    desired->erase("$version");
    desired->erase("$metadata");
    if (desired->empty()) {
      outcome.status.code = kDesiredNotConfigured;
      outcome.status.description = "no routes configured: the desired properties are empty";
      return outcome;
    }
  }
  absl::StatusOr<std::shared_ptr<const RoutesConfig>> config =
      CompileRoutesConfig(version, desired_json);
  if (config.ok()) {
    outcome.status.code = kDesiredApplied;
    outcome.config = *std::move(config);
    return outcome;
  }
  outcome.status.code = config.status().code() == absl::StatusCode::kFailedPrecondition
                            ? kDesiredBadSchemaVersion
                            : kDesiredInvalid;
  outcome.status.description = std::string(config.status().message());
  return outcome;
}

std::string ReportedPatch(const DesiredStatus& status) {
  Json patch = {
      {"lastDesiredVersion", status.desired_version},
      {"lastDesiredStatus", {{"code", status.code}, {"description", status.description}}}};
  return patch.dump();
}

std::string SerializeRouterState(const RouterState& state) {
  Json json = {{"cursor", state.cursor}};
  if (state.config.has_value()) {
    json["config"] = {{"desiredVersion", state.config->desired_version},
                      {"desired", state.config->desired_json}};
  }
  if (state.status.has_value()) {
    json["status"] = {{"desiredVersion", state.status->desired_version},
                      {"code", state.status->code},
                      {"description", state.status->description}};
  }
  return json.dump();
}

absl::StatusOr<RouterState> ParseRouterState(absl::string_view text) {
  ASSIGN_OR_RETURN(Json json, ParseObject(text, "the router state"));
  RouterState state;
  // The JSON came from SerializeRouterState; a value of the wrong type means it was not.
  try {
    state.cursor = json.at("cursor").get<uint64_t>();
    if (auto config = json.find("config"); config != json.end()) {
      state.config = RouterState::Config{config->at("desiredVersion").get<int64_t>(),
                                         config->at("desired").get<std::string>()};
    }
    if (auto status = json.find("status"); status != json.end()) {
      state.status =
          DesiredStatus{status->at("desiredVersion").get<int64_t>(), status->at("code").get<int>(),
                        status->at("description").get<std::string>()};
    }
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the router state is malformed: ", e.what()));
  }
  return state;
}

}  // namespace edge::router
