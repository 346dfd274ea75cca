#include "common/route/route_table.h"

#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace edge::route {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(const std::vector<std::string>& problems) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid $edgeHub configuration, ", problems.size(),
      problems.size() == 1 ? " problem:\n  " : " problems:\n  ", absl::StrJoin(problems, "\n  ")));
}

// Reads an optional integer member; nullopt when absent or null.
absl::StatusOr<std::optional<int64_t>> OptionalInteger(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_unsigned()) {
    const uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat(key, " ", value, " is too large"));
    }
    return std::optional<int64_t>(static_cast<int64_t>(value));
  }
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  return absl::InvalidArgumentError(absl::StrCat(key, " must be an integer, not ", it->dump()));
}

// A worse priority loses to a better one; no priority is the worst.
bool Better(std::optional<uint32_t> a, std::optional<uint32_t> b) {
  if (!a.has_value()) return false;
  return !b.has_value() || *a < *b;
}

// 0 means forever, which outlasts any number of seconds.
bool Longer(int64_t a, int64_t b) { return b != 0 && (a == 0 || a > b); }

}  // namespace

namespace {

// Reads what it can of `desired` into `config`, adding a line to `problems` for each defect, so
// that one error can list them all.
void ReadConfig(const Json& desired, EdgeHubRoutesConfig& config,
                std::vector<std::string>& problems) {
  if (!desired.is_object()) {
    problems.push_back(
        absl::StrCat("the desired properties must be a JSON object, not ", desired.type_name()));
    return;
  }
  int minor = -1;
  const auto version = desired.find("schemaVersion");
  if (version == desired.end()) {
    problems.push_back("schemaVersion is missing; 1.0 to 1.3 are supported");
  } else if (!version->is_string()) {
    problems.push_back(
        absl::StrCat("schemaVersion must be a string such as \"1.1\", not ", version->dump()));
  } else {
    config.schema_version = version->get<std::string>();
    for (int m = 0; m <= 3; ++m) {
      if (config.schema_version == absl::StrCat("1.", m)) minor = m;
    }
    if (minor < 0) {
      problems.push_back(absl::StrCat("schemaVersion \"", config.schema_version,
                                      "\" is not supported; 1.0 to 1.3 are"));
    }
  }

  const auto routes = desired.find("routes");
  if (routes == desired.end()) {
    problems.push_back("routes is missing");
  } else if (!routes->is_object()) {
    problems.push_back(
        absl::StrCat("routes must be an object of name: route, not ", routes->type_name()));
  } else {
    for (const auto& [name, value] : routes->items()) {
      const std::string where = absl::StrCat("route '", name, "': ");
      RouteSpec spec;
      spec.name = name;
      if (value.is_string()) {
        spec.route = value.get<std::string>();
        config.routes.push_back(std::move(spec));
        continue;
      }
      if (!value.is_object()) {
        problems.push_back(
            absl::StrCat(where, "must be a route string or an object, not ", value.type_name()));
        continue;
      }
      if (minor == 0) {
        problems.push_back(absl::StrCat(
            where, "{route, priority, timeToLiveSecs} needs schemaVersion 1.1 or later"));
        continue;
      }
      const auto text = value.find("route");
      if (text == value.end() || !text->is_string()) {
        problems.push_back(absl::StrCat(where, "needs a string member \"route\""));
        continue;
      }
      spec.route = text->get<std::string>();
      absl::StatusOr<std::optional<int64_t>> priority = OptionalInteger(value, "priority");
      if (!priority.ok()) {
        problems.push_back(absl::StrCat(where, priority.status().message()));
        continue;
      }
      if (priority->has_value()) {
        if (**priority < 0 || **priority > 9) {
          problems.push_back(absl::StrCat(where, "priority ", **priority, " is not in 0-9"));
          continue;
        }
        spec.priority = static_cast<uint32_t>(**priority);
      }
      absl::StatusOr<std::optional<int64_t>> ttl = OptionalInteger(value, "timeToLiveSecs");
      if (!ttl.ok()) {
        problems.push_back(absl::StrCat(where, ttl.status().message()));
        continue;
      }
      if (ttl->has_value() && **ttl < 0) {
        problems.push_back(absl::StrCat(where, "timeToLiveSecs ", **ttl, " is negative"));
        continue;
      }
      spec.time_to_live_secs = ttl->value_or(0);
      config.routes.push_back(std::move(spec));
    }
  }

  const auto store = desired.find("storeAndForwardConfiguration");
  if (store != desired.end() && !store->is_null()) {
    if (!store->is_object()) {
      problems.push_back(
          absl::StrCat("storeAndForwardConfiguration must be an object, not ", store->type_name()));
    } else {
      absl::StatusOr<std::optional<int64_t>> ttl = OptionalInteger(*store, "timeToLiveSecs");
      if (!ttl.ok()) {
        problems.push_back(absl::StrCat("storeAndForwardConfiguration: ", ttl.status().message()));
      } else {
        config.time_to_live_secs = ttl->value_or(kDefaultTimeToLiveSecs);
      }
    }
  }
}

}  // namespace

absl::StatusOr<EdgeHubRoutesConfig> ParseEdgeHubRoutesConfig(const Json& desired) {
  EdgeHubRoutesConfig config;
  std::vector<std::string> problems;
  ReadConfig(desired, config, problems);
  if (!problems.empty()) return Invalid(problems);
  return config;
}

absl::StatusOr<RouteTable> RouteTable::Create(std::vector<RouteSpec> routes,
                                              int64_t time_to_live_secs) {
  RouteTable table;
  std::vector<std::string> problems;
  table.AddRoutes(std::move(routes), time_to_live_secs, problems);
  if (!problems.empty()) return Invalid(problems);
  return table;
}

void RouteTable::AddRoutes(std::vector<RouteSpec> routes, int64_t time_to_live_secs,
                           std::vector<std::string>& problems) {
  RouteTable& table = *this;
  table.time_to_live_secs_ = time_to_live_secs;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_map<std::string, size_t> endpoint_index;
  absl::flat_hash_map<std::string, size_t> source_index;
  for (RouteSpec& spec : routes) {
    const std::string where = absl::StrCat("route '", spec.name, "': ");
    if (spec.name.empty()) {
      problems.push_back("a route has an empty name");
      continue;
    }
    if (!names.insert(spec.name).second) {
      problems.push_back(absl::StrCat(where, "the name is used twice"));
      continue;
    }
    if (spec.priority.has_value() && *spec.priority > 9) {
      problems.push_back(absl::StrCat(where, "priority ", *spec.priority, " is not in 0-9"));
      continue;
    }
    if (spec.time_to_live_secs < 0) {
      problems.push_back(absl::StrCat(where, "timeToLiveSecs is negative"));
      continue;
    }
    absl::StatusOr<Route> route = Route::Compile(spec.route);
    if (!route.ok()) {
      problems.push_back(absl::StrCat(where, route.status().message()));
      continue;
    }
    const std::string& endpoint = route->sink().endpoint;
    auto [it, inserted] = endpoint_index.try_emplace(endpoint, table.endpoints_.size());
    if (inserted) table.endpoints_.push_back(endpoint);
    auto [source, new_source] = source_index.try_emplace(
        absl::AsciiStrToLower(route->source().prefix()), table.source_count_);
    if (new_source) ++table.source_count_;
    const int64_t ttl = spec.time_to_live_secs > 0 ? spec.time_to_live_secs
                        : time_to_live_secs > 0    ? time_to_live_secs
                                                   : 0;
    table.entries_.push_back(Entry{std::move(spec.name), *std::move(route), spec.priority, ttl,
                                   it->second, source->second});
  }
}

absl::StatusOr<RouteTable> RouteTable::FromEdgeHubDesired(const Json& desired) {
  EdgeHubRoutesConfig config;
  std::vector<std::string> problems;
  ReadConfig(desired, config, problems);
  RouteTable table;
  table.AddRoutes(std::move(config.routes), config.time_to_live_secs, problems);
  if (!problems.empty()) return Invalid(problems);
  table.schema_version_ = std::move(config.schema_version);
  return table;
}

absl::StatusOr<RouteTable> RouteTable::FromEdgeHubDesiredJson(absl::string_view json_text) {
  Json desired;
  // nlohmann::json reports malformed input by throwing; the exception stays here.
  try {
    desired = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("the $edgeHub configuration is not valid JSON: ", e.what()));
  }
  return FromEdgeHubDesired(desired);
}

void RouteTable::Merge(const Entry& entry, std::vector<RouteTarget>* targets) const {
  const absl::string_view endpoint = endpoints_[entry.endpoint];
  for (RouteTarget& target : *targets) {
    if (target.endpoint.data() != endpoint.data()) continue;
    if (Better(entry.priority, target.priority)) {
      target.priority = entry.priority;
      target.ttl_seconds = entry.ttl_seconds;
    } else if (entry.priority == target.priority && Longer(entry.ttl_seconds, target.ttl_seconds)) {
      target.ttl_seconds = entry.ttl_seconds;
    }
    return;
  }
  targets->push_back(RouteTarget{endpoint, entry.priority, entry.ttl_seconds});
}

void RouteTable::Evaluate(MessageContext& message, std::vector<RouteTarget>* targets) const {
  targets->clear();
  // Per distinct source: -1 not yet matched, else the answer.
  absl::InlinedVector<int8_t, 16> source_matches(source_count_, -1);
  for (const Entry& entry : entries_) {
    int8_t& matches = source_matches[entry.source];
    if (matches < 0) matches = entry.route.source().Matches(message.source_path()) ? 1 : 0;
    if (matches == 0) continue;
    const Condition* condition = entry.route.condition();
    if (condition == nullptr || condition->Evaluate(message) == Verdict::kTrue) {
      Merge(entry, targets);
    }
  }
}

std::vector<RouteTarget> RouteTable::Evaluate(MessageContext& message) const {
  std::vector<RouteTarget> targets;
  Evaluate(message, &targets);
  return targets;
}

RoutingDecision RouteTable::Explain(MessageContext& message) const {
  RoutingDecision decision;
  for (const Entry& entry : entries_) {
    RouteOutcome outcome = entry.route.Explain(message);
    if (outcome.kind == RouteOutcomeKind::kMatched) Merge(entry, &decision.targets);
    decision.routes.push_back(ExplainedRoute{entry.name, std::move(outcome)});
  }
  return decision;
}

std::vector<std::string> RouteTable::route_names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const Entry& entry : entries_) names.push_back(entry.name);
  return names;
}

}  // namespace edge::route
