#include "services/agent/deployment_follower.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace edge::agent {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(10);

nlohmann::json ParseJson(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

class DeploymentFollower::Call {
 public:
  Call(DeploymentFollower* follower, bool streaming) : follower_(follower) {
    if (!streaming) context_.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    absl::MutexLock lock(&follower_->mu_);
    if (follower_->stopping_) context_.TryCancel();
    follower_->calls_.push_back(&context_);
  }
  ~Call() {
    absl::MutexLock lock(&follower_->mu_);
    follower_->calls_.erase(
        std::find(follower_->calls_.begin(), follower_->calls_.end(), &context_));
  }
  grpc::ClientContext* context() { return &context_; }

 private:
  DeploymentFollower* const follower_;
  grpc::ClientContext context_;
};

DeploymentFollower::DeploymentFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id,
                                       RetryPolicy retry, Reconciler* reconciler,
                                       AgentMetrics* metrics)
    : state_stub_(store::v1::ServiceState::NewStub(store)),
      twin_stub_(store::v1::TwinStore::NewStub(store)),
      watch_stub_(store::v1::ChangeFeed::NewStub(store)),
      twin_id_(std::move(twin_id)),
      reconciler_(reconciler),
      metrics_(metrics),
      backoff_(retry) {}

DeploymentFollower::~DeploymentFollower() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (grpc::ClientContext* call : calls_) call->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void DeploymentFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DeploymentFollower::Run() {
  while (true) {
    absl::Status status = loaded_ ? Watch() : LoadState();
    if (status.ok()) {
      backoff_.Reset();
      continue;
    }
    if (!SleepUnlessStopped(backoff_.Next())) return;
  }
}

bool DeploymentFollower::SleepUnlessStopped(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
  return !stopping_;
}

absl::Status DeploymentFollower::Failed(const char* operation, const grpc::Status& status) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  if (!stopping) {
    spdlog::warn("store call {} for {} failed (retrying): {}", operation, twin_id_,
                 status.error_message());
    metrics_->store_errors.WithLabels({operation}).Increment();
  }
  absl::Status failed = FromGrpcStatus(status);
  return failed.ok() ? absl::UnavailableError(absl::StrCat(operation, " ended")) : failed;
}

absl::Status DeploymentFollower::LoadState() {
  Call call(this, /*streaming=*/false);
  store::v1::GetStateRequest request;
  request.set_namespace_(kAgentStateNamespace);
  request.set_key(kAgentStateKey);
  store::v1::StateEntry entry;
  grpc::Status status = state_stub_->Get(call.context(), request, &entry);
  AgentState state;
  if (status.ok()) {
    absl::StatusOr<AgentState> parsed = ParseAgentState(entry.value());
    if (parsed.ok()) {
      state = *std::move(parsed);
    } else {
      // Starting from nothing re-reads the twin from a snapshot: nothing is lost but time.
      spdlog::warn("ignoring the persisted agent state: {}", parsed.status().ToString());
    }
  } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    return Failed("state_get", status);
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
  if (state_.verdict.has_value()) evaluated_version_ = state_.verdict->desired_version;
  spdlog::info("loaded the persisted deployment: {}, watch cursor {}",
               deployment.has_value()
                   ? absl::StrCat("desired version ", state_.deployment->desired_version, " with ",
                                  deployment->modules.size(), " modules")
                   : std::string("none"),
               state_.cursor);
  reconciler_->Update(state_.verdict, std::move(deployment));
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status DeploymentFollower::Watch() {
  Call call(this, /*streaming=*/true);
  store::v1::WatchRequest request;
  request.add_kinds(store::v1::CHANGE_KIND_TWIN_DESIRED);
  request.add_ids(twin_id_);
  request.set_from_sequence(state_.cursor);
  std::unique_ptr<grpc::ClientReader<store::v1::WatchResponse>> reader =
      watch_stub_->Watch(call.context(), request);
  store::v1::WatchResponse response;
  absl::Status processed;
  while (processed.ok() && reader->Read(&response)) {
    for (const store::v1::Change& change : response.changes()) {
      if (change.id() != twin_id_ || change.kind() != store::v1::CHANGE_KIND_TWIN_DESIRED) continue;
      processed = UpdateDesired(change);
      if (processed.ok() && !change.snapshot()) {
        processed = Settle(change.sequence(), /*force_evaluate=*/false);
      }
      if (!processed.ok()) break;
    }
    if (processed.ok() && response.snapshot_end()) {
      processed = Settle(response.snapshot_sequence(), /*force_evaluate=*/true);
    }
    if (processed.ok()) backoff_.Reset();
  }
  if (!processed.ok()) {
    call.context()->TryCancel();
    while (reader->Read(&response)) {
    }
    reader->Finish();
    return processed;
  }
  return Failed("watch", reader->Finish());
}

absl::Status DeploymentFollower::UpdateDesired(const store::v1::Change& change) {
  switch (change.op()) {
    case store::v1::CHANGE_OP_REPLACE:
      if (!change.snapshot() && change.version() <= desired_version_) return absl::OkStatus();
      desired_ = ParseJson(change.document_json());
      desired_version_ = change.version();
      return absl::OkStatus();
    case store::v1::CHANGE_OP_PATCH: {
      if (change.version() <= desired_version_) return absl::OkStatus();
      if (desired_version_ != 0 && change.version() == desired_version_ + 1) {
        desired_.merge_patch(ParseJson(change.patch_json()));
        desired_version_ = change.version();
        return absl::OkStatus();
      }
      Call call(this, /*streaming=*/false);
      store::v1::GetTwinRequest request;
      request.set_id(twin_id_);
      store::v1::Twin twin;
      grpc::Status status = twin_stub_->GetTwin(call.context(), request, &twin);
      if (!status.ok()) return Failed("twin_get", status);
      desired_ = ParseJson(twin.desired().json());
      desired_version_ = twin.desired().version();
      return absl::OkStatus();
    }
    case store::v1::CHANGE_OP_DELETE:
      spdlog::warn("{} was deleted; the deployment in force stays", twin_id_);
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status DeploymentFollower::Settle(uint64_t cursor, bool force_evaluate) {
  if (desired_version_ != 0 && (force_evaluate || desired_version_ != evaluated_version_)) {
    DesiredEvaluation evaluation = EvaluateAgentDesired(desired_version_, desired_);
    evaluated_version_ = desired_version_;
    metrics_->desired_versions.WithLabels({absl::StrCat(evaluation.verdict.code)}).Increment();
    if (evaluation.deployment.has_value()) {
      spdlog::info("{} desired version {} is the deployment in force: {} modules", twin_id_,
                   desired_version_, evaluation.deployment->modules.size());
      state_.deployment = AgentState::Deployment{desired_version_, desired_.dump()};
    } else {
      spdlog::warn("{} desired version {} not applied ({}): {}", twin_id_, desired_version_,
                   evaluation.verdict.code, evaluation.verdict.description);
    }
    state_.verdict = evaluation.verdict;
    reconciler_->Update(state_.verdict, std::move(evaluation.deployment));
  }
  state_.cursor = cursor;
  return Persist();
}

absl::Status DeploymentFollower::Persist() {
  Call call(this, /*streaming=*/false);
  store::v1::PutStateRequest request;
  request.set_namespace_(kAgentStateNamespace);
  request.set_key(kAgentStateKey);
  request.set_value(SerializeAgentState(state_));
  store::v1::StateEntry entry;
  grpc::Status status = state_stub_->Put(call.context(), request, &entry);
  return status.ok() ? absl::OkStatus() : Failed("state_put", status);
}

}  // namespace edge::agent
