#include "services/agent/deployment_follower.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace edge::agent {
namespace {

nlohmann::json ParseJson(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

DeploymentFollower::DeploymentFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id,
                                       RetryPolicy retry, Reconciler* reconciler,
                                       AgentMetrics* metrics)
    : twin_id_(twin_id),
      reconciler_(reconciler),
      metrics_(metrics),
      follower_(std::move(store),
                {.twin_id = std::move(twin_id),
                 .state_namespace = kAgentStateNamespace,
                 .state_key = kAgentStateKey,
                 .retry = retry,
                 .store_errors = &metrics->store_errors},
                this) {}

TwinDesiredFollower::Handler::Loaded DeploymentFollower::Load(
    const std::optional<std::string>& persisted) {
  AgentState state;
  if (persisted.has_value()) {
    absl::StatusOr<AgentState> parsed = ParseAgentState(*persisted);
    if (parsed.ok()) {
      state = *std::move(parsed);
    } else {
      // Starting from nothing re-reads the twin from a snapshot: nothing is lost but time.
      spdlog::warn("ignoring the persisted agent state: {}", parsed.status().ToString());
    }
  }
  std::optional<EdgeAgentDesired> deployment;
  if (state.deployment.has_value()) {
    DesiredEvaluation evaluation = EvaluateAgentDesired(state.deployment->desired_version,
                                                        ParseJson(state.deployment->desired_json));
    if (evaluation.deployment.has_value()) {
      deployment = std::move(evaluation.deployment);
    } else {
      spdlog::warn("the persisted deployment (desired version {}) is no longer valid: {}",
                   state.deployment->desired_version, evaluation.verdict.description);
      state.deployment.reset();
    }
  }
  state_ = std::move(state);
  spdlog::info("loaded the persisted deployment: {}, watch cursor {}",
               deployment.has_value()
                   ? absl::StrCat("desired version ", state_.deployment->desired_version, " with ",
                                  deployment->modules.size(), " modules")
                   : std::string("none"),
               state_.cursor);
  reconciler_->Update(state_.verdict, std::move(deployment));
  return {.cursor = state_.cursor,
          .evaluated_version = state_.verdict.has_value() ? state_.verdict->desired_version : 0};
}

std::optional<std::string> DeploymentFollower::Evaluate(int64_t version,
                                                        const nlohmann::json& desired) {
  DesiredEvaluation evaluation = EvaluateAgentDesired(version, desired);
  metrics_->desired_versions.WithLabels({absl::StrCat(evaluation.verdict.code)}).Increment();
  if (evaluation.deployment.has_value()) {
    spdlog::info("{} desired version {} is the deployment in force: {} modules", twin_id_, version,
                 evaluation.deployment->modules.size());
    state_.deployment = AgentState::Deployment{version, desired.dump()};
  } else {
    spdlog::warn("{} desired version {} not applied ({}): {}", twin_id_, version,
                 evaluation.verdict.code, evaluation.verdict.description);
  }
  state_.verdict = evaluation.verdict;
  reconciler_->Update(state_.verdict, std::move(evaluation.deployment));
  return std::nullopt;
}

std::string DeploymentFollower::State(uint64_t cursor) {
  state_.cursor = cursor;
  return SerializeAgentState(state_);
}

}  // namespace edge::agent
