#include "common/twin_desired_follower.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace edge {
namespace {

nlohmann::json ParseJson(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

class TwinDesiredFollower::Call {
 public:
  Call(TwinDesiredFollower* follower, bool streaming) : follower_(follower) {
    if (!streaming) SetLocalCallDeadline(context_);
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
  TwinDesiredFollower* const follower_;
  grpc::ClientContext context_;
};

TwinDesiredFollower::TwinDesiredFollower(std::shared_ptr<grpc::Channel> store, Options options,
                                         Handler* handler)
    : state_stub_(store::v1::ServiceState::NewStub(store)),
      twin_stub_(store::v1::TwinStore::NewStub(store)),
      watch_stub_(store::v1::ChangeFeed::NewStub(store)),
      options_(std::move(options)),
      handler_(handler),
      backoff_(options_.retry) {}

TwinDesiredFollower::~TwinDesiredFollower() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (grpc::ClientContext* call : calls_) call->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void TwinDesiredFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TwinDesiredFollower::Run() {
  while (true) {
    absl::Status status = loaded_ ? Watch() : LoadState();
    if (status.ok()) {
      backoff_.Reset();
      continue;
    }
    if (!SleepUnlessStopped(backoff_.Next())) return;
  }
}

bool TwinDesiredFollower::SleepUnlessStopped(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
  return !stopping_;
}

absl::Status TwinDesiredFollower::Failed(const char* operation, const grpc::Status& status) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  if (!stopping) {
    spdlog::warn("store call {} for {} failed (retrying): {}", operation, options_.twin_id,
                 status.error_message());
    if (options_.store_errors != nullptr) {
      options_.store_errors->WithLabels({operation}).Increment();
    }
  }
  absl::Status failed = FromGrpcStatus(status);
  return failed.ok() ? absl::UnavailableError(absl::StrCat(operation, " ended")) : failed;
}

absl::Status TwinDesiredFollower::LoadState() {
  Call call(this, /*streaming=*/false);
  store::v1::GetStateRequest request;
  request.set_namespace_(options_.state_namespace);
  request.set_key(options_.state_key);
  store::v1::StateEntry entry;
  grpc::Status status = state_stub_->Get(call.context(), request, &entry);
  std::optional<std::string> persisted;
  if (status.ok()) {
    persisted = entry.value();
  } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    return Failed("state_get", status);
  }
  const Handler::Loaded loaded = handler_->Load(persisted);
  cursor_ = loaded.cursor;
  evaluated_version_ = loaded.evaluated_version;
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status TwinDesiredFollower::Watch() {
  Call call(this, /*streaming=*/true);
  store::v1::WatchRequest request;
  request.add_kinds(store::v1::CHANGE_KIND_TWIN_DESIRED);
  request.add_ids(options_.twin_id);
  request.set_from_sequence(cursor_);
  std::unique_ptr<grpc::ClientReader<store::v1::WatchResponse>> reader =
      watch_stub_->Watch(call.context(), request);
  store::v1::WatchResponse response;
  absl::Status processed;
  while (processed.ok() && reader->Read(&response)) {
    for (const store::v1::Change& change : response.changes()) {
      if (change.id() != options_.twin_id || change.kind() != store::v1::CHANGE_KIND_TWIN_DESIRED) {
        continue;
      }
      processed = UpdateDesired(change);
      // Snapshot entries are settled together at snapshot_end, with the snapshot's cursor.
      if (processed.ok() && !change.snapshot()) {
        processed = Settle(change.sequence(), /*force_evaluate=*/false);
      }
      if (!processed.ok()) break;
    }
    if (processed.ok() && response.snapshot_end()) {
      // A snapshot may stand for changes this service never saw (a new store, a cursor the store
      // no longer keeps): evaluate whatever it holds.
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

absl::Status TwinDesiredFollower::UpdateDesired(const store::v1::Change& change) {
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
      request.set_id(options_.twin_id);
      store::v1::Twin twin;
      grpc::Status status = twin_stub_->GetTwin(call.context(), request, &twin);
      if (!status.ok()) return Failed("twin_get", status);
      desired_ = ParseJson(twin.desired().json());
      desired_version_ = twin.desired().version();
      return absl::OkStatus();
    }
    case store::v1::CHANGE_OP_DELETE:
      spdlog::warn("{} was deleted; the configuration in force stays", options_.twin_id);
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::Status TwinDesiredFollower::Settle(uint64_t cursor, bool force_evaluate) {
  if (desired_version_ != 0 && (force_evaluate || desired_version_ != evaluated_version_)) {
    pending_report_ = handler_->Evaluate(desired_version_, desired_);
    evaluated_version_ = desired_version_;
  }
  if (pending_report_.has_value()) {
    Call call(this, /*streaming=*/false);
    store::v1::PatchTwinRequest request;
    request.set_id(options_.twin_id);
    request.set_patch_json(*pending_report_);
    store::v1::Twin twin;
    grpc::Status status = twin_stub_->PatchReported(call.context(), request, &twin);
    if (!status.ok()) return Failed("report", status);
    pending_report_.reset();
  }
  cursor_ = cursor;
  Call call(this, /*streaming=*/false);
  store::v1::PutStateRequest request;
  request.set_namespace_(options_.state_namespace);
  request.set_key(options_.state_key);
  request.set_value(handler_->State(cursor));
  store::v1::StateEntry entry;
  grpc::Status status = state_stub_->Put(call.context(), request, &entry);
  return status.ok() ? absl::OkStatus() : Failed("state_put", status);
}

}  // namespace edge
