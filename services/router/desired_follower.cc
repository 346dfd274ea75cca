#include "services/router/desired_follower.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace edge::router {

std::string EdgeHubTwinId(const std::string& device_id) {
  return absl::StrCat(device_id, "/", kEdgeHubModule);
}

DesiredFollower::DesiredFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id,
                                 RetryPolicy retry, ActiveRoutes* routes, RouterMetrics* metrics)
    : twin_id_(twin_id),
      routes_(routes),
      metrics_(metrics),
      follower_(std::move(store),
                {.twin_id = std::move(twin_id),
                 .state_namespace = kStateNamespace,
                 .state_key = kStateKey,
                 .retry = retry,
                 .store_errors = &metrics->store_errors},
                this) {}

TwinDesiredFollower::Handler::Loaded DesiredFollower::Load(
    const std::optional<std::string>& persisted) {
  RouterState state;
  if (persisted.has_value()) {
    absl::StatusOr<RouterState> parsed = ParseRouterState(*persisted);
    if (parsed.ok()) {
      state = *std::move(parsed);
    } else {
      // Starting from nothing re-reads the twin from a snapshot: nothing is lost but time.
      spdlog::warn("ignoring the persisted router state: {}", parsed.status().ToString());
    }
  }
  std::shared_ptr<const RoutesConfig> config;
  if (state.config.has_value()) {
    absl::StatusOr<std::shared_ptr<const RoutesConfig>> compiled =
        CompileRoutesConfig(state.config->desired_version, state.config->desired_json);
    if (compiled.ok()) {
      config = *std::move(compiled);
    } else {
      spdlog::warn("the persisted configuration (desired version {}) no longer compiles: {}",
                   state.config->desired_version, compiled.status().ToString());
      state.config.reset();
    }
  }
  state_ = std::move(state);
  routes_->Load(config, state_.status);
  spdlog::info("loaded the persisted configuration: {}, watch cursor {}",
               config != nullptr ? absl::StrCat("desired version ", config->desired_version,
                                                " with ", config->table.size(), " routes")
                                 : std::string("none"),
               state_.cursor);
  return {.cursor = state_.cursor,
          .evaluated_version = state_.status.has_value() ? state_.status->desired_version : 0};
}

std::optional<std::string> DesiredFollower::Evaluate(int64_t version,
                                                     const nlohmann::json& desired) {
  DesiredOutcome outcome = EvaluateDesired(version, desired.dump());
  routes_->Apply(outcome);  // in force from the next batch on
  metrics_->desired_versions.WithLabels({absl::StrCat(outcome.status.code)}).Increment();
  if (outcome.config != nullptr) {
    spdlog::info("applied {} desired version {}: {} routes", twin_id_, version,
                 outcome.config->table.size());
    state_.config = RouterState::Config{version, outcome.config->desired_json};
  } else {
    spdlog::warn("{} desired version {} not applied ({}): {}", twin_id_, version,
                 outcome.status.code, outcome.status.description);
  }
  state_.status = outcome.status;
  return ReportedPatch(*state_.status);
}

std::string DesiredFollower::State(uint64_t cursor) {
  state_.cursor = cursor;
  return SerializeRouterState(state_);
}

}  // namespace edge::router
