#include "services/router/desired_follower.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace edge::router {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(10);

nlohmann::json ParseJson(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

std::string EdgeHubTwinId(const std::string& device_id) {
  return absl::StrCat(device_id, "/", kEdgeHubModule);
}

class DesiredFollower::Call {
 public:
  Call(DesiredFollower* follower, bool streaming) : follower_(follower) {
    if (!streaming) context_.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    absl::MutexLock lock(&follower_->mu_);
    // A context cancelled before its call starts cancels the call as soon as it does.
    if (follower_->stopping_) context_.TryCancel();
    follower_->calls_.push_back(&context_);
  }
  ~Call() {
    absl::MutexLock lock(&follower_->mu_);
    // Calls nest (a GetTwin or a Put while the watch is open): remove exactly this one.
    follower_->calls_.erase(
        std::find(follower_->calls_.begin(), follower_->calls_.end(), &context_));
  }
  grpc::ClientContext* context() { return &context_; }

 private:
  DesiredFollower* const follower_;
  grpc::ClientContext context_;
};

DesiredFollower::DesiredFollower(std::shared_ptr<grpc::Channel> store, std::string twin_id,
                                 RetryPolicy retry, ActiveRoutes* routes, RouterMetrics* metrics)
    : state_stub_(store::v1::ServiceState::NewStub(store)),
      twin_stub_(store::v1::TwinStore::NewStub(store)),
      watch_stub_(store::v1::ChangeFeed::NewStub(store)),
      twin_id_(std::move(twin_id)),
      routes_(routes),
      metrics_(metrics),
      backoff_(retry) {}

DesiredFollower::~DesiredFollower() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (grpc::ClientContext* call : calls_) call->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void DesiredFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DesiredFollower::Run() {
  while (true) {
    absl::Status status = loaded_ ? Watch() : LoadState();
    if (status.ok()) {
      backoff_.Reset();
      continue;
    }
    if (!SleepUnlessStopped(backoff_.Next())) return;
  }
}

bool DesiredFollower::SleepUnlessStopped(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
  return !stopping_;
}

absl::Status DesiredFollower::Failed(const char* operation, const grpc::Status& status) {
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

absl::Status DesiredFollower::LoadState() {
  Call call(this, /*streaming=*/false);
  store::v1::GetStateRequest request;
  request.set_namespace_(kStateNamespace);
  request.set_key(kStateKey);
  store::v1::StateEntry entry;
  grpc::Status status = state_stub_->Get(call.context(), request, &entry);
  RouterState state;
  if (status.ok()) {
    absl::StatusOr<RouterState> parsed = ParseRouterState(entry.value());
    if (parsed.ok()) {
      state = *std::move(parsed);
    } else {
      // Starting from nothing re-reads the twin from a snapshot: nothing is lost but time.
      spdlog::warn("ignoring the persisted router state: {}", parsed.status().ToString());
    }
  } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    return Failed("state_get", status);
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
  if (state_.status.has_value()) evaluated_version_ = state_.status->desired_version;
  routes_->Load(config, state_.status);
  loaded_ = true;
  spdlog::info("loaded the persisted configuration: {}, watch cursor {}",
               config != nullptr ? absl::StrCat("desired version ", config->desired_version,
                                                " with ", config->table.size(), " routes")
                                 : std::string("none"),
               state_.cursor);
  return absl::OkStatus();
}

absl::Status DesiredFollower::Watch() {
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
      // Snapshot entries are settled together at snapshot_end, with the snapshot's cursor.
      if (processed.ok() && !change.snapshot()) {
        processed = Settle(change.sequence(), /*force_evaluate=*/false);
      }
      if (!processed.ok()) break;
    }
    if (processed.ok() && response.snapshot_end()) {
      // A snapshot may stand for changes this router never saw (a new store, a cursor the store no
      // longer keeps): evaluate whatever it holds.
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

absl::Status DesiredFollower::UpdateDesired(const store::v1::Change& change) {
  switch (change.op()) {
    case store::v1::CHANGE_OP_REPLACE:
      if (!change.snapshot() && change.version() <= desired_version_) return absl::OkStatus();
      desired_ = ParseJson(change.document_json());
      desired_version_ = change.version();
      return absl::OkStatus();
    case store::v1::CHANGE_OP_PATCH: {
      if (change.version() <= desired_version_) return absl::OkStatus();  // already included
      if (desired_version_ != 0 && change.version() == desired_version_ + 1) {
        desired_.merge_patch(ParseJson(change.patch_json()));
        desired_version_ = change.version();
        return absl::OkStatus();
      }
      // The patch's base is unknown (a restart resumed from the cursor): read the whole document.
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
      spdlog::warn("{} was deleted; the configuration in force stays", twin_id_);
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status DesiredFollower::Settle(uint64_t cursor, bool force_evaluate) {
  if (desired_version_ != 0 && (force_evaluate || desired_version_ != evaluated_version_)) {
    DesiredOutcome outcome = EvaluateDesired(desired_version_, desired_.dump());
    routes_->Apply(outcome);  // in force from the next batch on
    evaluated_version_ = desired_version_;
    metrics_->desired_versions.WithLabels({absl::StrCat(outcome.status.code)}).Increment();
    if (outcome.config != nullptr) {
      spdlog::info("applied {} desired version {}: {} routes", twin_id_, desired_version_,
                   outcome.config->table.size());
      state_.config = RouterState::Config{desired_version_, outcome.config->desired_json};
    } else {
      spdlog::warn("{} desired version {} not applied ({}): {}", twin_id_, desired_version_,
                   outcome.status.code, outcome.status.description);
    }
    state_.status = outcome.status;
    report_pending_ = true;
  }
  if (report_pending_) {
    RETURN_IF_ERROR(Report());
    report_pending_ = false;
  }
  state_.cursor = cursor;
  return Persist();
}

absl::Status DesiredFollower::Report() {
  Call call(this, /*streaming=*/false);
  store::v1::PatchTwinRequest request;
  request.set_id(twin_id_);
  request.set_patch_json(ReportedPatch(*state_.status));
  store::v1::Twin twin;
  grpc::Status status = twin_stub_->PatchReported(call.context(), request, &twin);
  return status.ok() ? absl::OkStatus() : Failed("report", status);
}

absl::Status DesiredFollower::Persist() {
  Call call(this, /*streaming=*/false);
  store::v1::PutStateRequest request;
  request.set_namespace_(kStateNamespace);
  request.set_key(kStateKey);
  request.set_value(SerializeRouterState(state_));
  store::v1::StateEntry entry;
  grpc::Status status = state_stub_->Put(call.context(), request, &entry);
  return status.ok() ? absl::OkStatus() : Failed("state_put", status);
}

}  // namespace edge::router
