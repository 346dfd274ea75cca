#include "services/store/registry_grpc_service.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace edge::store {
namespace {

constexpr int kWatchPageSize = 256;

// Finishes a unary call with `result`, copying its value into `response` when OK.
template <typename T>
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context, absl::StatusOr<T> result,
                                T* response) {
  if (result.ok()) *response = *std::move(result);
  return FinishUnary(context, result.status());
}

// The response built from a successful `result` by `convert`, or its error.
template <typename T, typename Convert>
auto Map(absl::StatusOr<T> result, Convert convert)
    -> absl::StatusOr<decltype(convert(std::declval<T&>()))> {
  if (!result.ok()) return result.status();
  return convert(*result);
}

// A Watch: the snapshot (when needed) in pages of identities, then the change log from the cursor.
class WatchSource final : public FollowingStream<v1::WatchResponse>::Source {
 public:
  WatchSource(Registry* registry, ChangeFilter filter, uint64_t cursor, bool snapshot)
      : registry_(registry),
        filter_(std::move(filter)),
        cursor_(cursor),
        in_snapshot_(snapshot),
        waiter_id_(NewWaiterId()) {
    // Changes after this sequence follow the snapshot; whatever the snapshot reads later is newer
    // still, and replaying those changes over it converges on the same state.
    if (in_snapshot_) cursor_ = registry_->LastSequence();
  }

  absl::StatusOr<bool> Next(v1::WatchResponse* response) override {
    if (in_snapshot_) {
      absl::StatusOr<ChangePage> page =
          registry_->ReadSnapshot(filter_, snapshot_after_, cursor_, kWatchPageSize);
      if (!page.ok()) return page.status();
      for (v1::Change& change : page->changes) *response->add_changes() = std::move(change);
      snapshot_after_ = page->next_id;
      if (snapshot_after_.empty()) {
        in_snapshot_ = false;
        response->set_snapshot_end(true);
        response->set_snapshot_sequence(cursor_);
      }
      return true;  // every snapshot page is sent, the last one with its end marker
    }
    // Skip over pages the filter emptied, so that one wake-up sends what matches.
    while (true) {
      absl::StatusOr<ChangePage> page = registry_->ReadChanges(cursor_, filter_, kWatchPageSize);
      if (!page.ok()) return page.status();
      const bool more = page->last_sequence != cursor_;
      cursor_ = page->last_sequence;
      for (v1::Change& change : page->changes) *response->add_changes() = std::move(change);
      if (response->changes_size() > 0) return true;
      if (!more) return false;
    }
  }

  bool Wait(std::function<void()> wake) override {
    return registry_->NotifyAfter(cursor_, waiter_id_, std::move(wake));
  }
  void CancelWait() override { registry_->CancelNotify(waiter_id_); }

 private:
  Registry* const registry_;
  const ChangeFilter filter_;
  uint64_t cursor_;
  bool in_snapshot_;
  std::string snapshot_after_;
  const uint64_t waiter_id_;
};

}  // namespace

// --- TwinStore ---

grpc::ServerUnaryReactor* TwinGrpcService::GetTwin(grpc::CallbackServerContext* context,
                                                   const v1::GetTwinRequest* request,
                                                   v1::Twin* response) {
  return Reply(context, registry_->GetTwin(request->id()), response);
}

grpc::ServerUnaryReactor* TwinGrpcService::ReplaceDesired(grpc::CallbackServerContext* context,
                                                          const v1::ReplaceDesiredRequest* request,
                                                          v1::Twin* response) {
  return Reply(context, registry_->ReplaceDesired(*request), response);
}

grpc::ServerUnaryReactor* TwinGrpcService::PatchDesired(grpc::CallbackServerContext* context,
                                                        const v1::PatchTwinRequest* request,
                                                        v1::Twin* response) {
  return Reply(context, registry_->PatchDesired(*request), response);
}

grpc::ServerUnaryReactor* TwinGrpcService::PatchReported(grpc::CallbackServerContext* context,
                                                         const v1::PatchTwinRequest* request,
                                                         v1::Twin* response) {
  return Reply(context, registry_->PatchReported(*request), response);
}

// --- IdentityRegistry ---

grpc::ServerUnaryReactor* IdentityGrpcService::CreateIdentity(
    grpc::CallbackServerContext* context, const v1::CreateIdentityRequest* request,
    v1::Identity* response) {
  return Reply(context, registry_->CreateIdentity(*request), response);
}

grpc::ServerUnaryReactor* IdentityGrpcService::GetIdentity(grpc::CallbackServerContext* context,
                                                           const v1::GetIdentityRequest* request,
                                                           v1::Identity* response) {
  return Reply(context, registry_->GetIdentity(request->id()), response);
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListIdentities(
    grpc::CallbackServerContext* context, const v1::ListIdentitiesRequest* request,
    v1::ListIdentitiesResponse* response) {
  return Reply(context,
               Map(registry_->ListIdentities(request->device_id()),
                   [](std::vector<v1::Identity>& identities) {
                     v1::ListIdentitiesResponse r;
                     for (v1::Identity& i : identities) *r.add_identities() = std::move(i);
                     return r;
                   }),
               response);
}

grpc::ServerUnaryReactor* IdentityGrpcService::UpdateIdentity(
    grpc::CallbackServerContext* context, const v1::UpdateIdentityRequest* request,
    v1::Identity* response) {
  return Reply(context, registry_->UpdateIdentity(*request), response);
}

grpc::ServerUnaryReactor* IdentityGrpcService::DeleteIdentity(
    grpc::CallbackServerContext* context, const v1::DeleteIdentityRequest* request,
    v1::DeleteIdentityResponse* response) {
  return Reply(context,
               Map(registry_->DeleteIdentity(request->id()),
                   [](std::vector<std::string>& deleted) {
                     v1::DeleteIdentityResponse r;
                     for (std::string& id : deleted) r.add_deleted_ids(std::move(id));
                     return r;
                   }),
               response);
}

// --- ServiceState ---

grpc::ServerUnaryReactor* StateGrpcService::Get(grpc::CallbackServerContext* context,
                                                const v1::GetStateRequest* request,
                                                v1::StateEntry* response) {
  return Reply(context, registry_->GetState(request->namespace_(), request->key()), response);
}

grpc::ServerUnaryReactor* StateGrpcService::Put(grpc::CallbackServerContext* context,
                                                const v1::PutStateRequest* request,
                                                v1::StateEntry* response) {
  return Reply(context, registry_->PutState(*request), response);
}

grpc::ServerUnaryReactor* StateGrpcService::Delete(grpc::CallbackServerContext* context,
                                                   const v1::DeleteStateRequest* request,
                                                   v1::DeleteStateResponse* response) {
  return Reply(context,
               Map(registry_->DeleteState(request->namespace_(), request->key()),
                   [](bool deleted) {
                     v1::DeleteStateResponse r;
                     r.set_deleted(deleted);
                     return r;
                   }),
               response);
}

grpc::ServerUnaryReactor* StateGrpcService::List(grpc::CallbackServerContext* context,
                                                 const v1::ListStateRequest* request,
                                                 v1::ListStateResponse* response) {
  return Reply(context,
               Map(registry_->ListState(request->namespace_()),
                   [](std::vector<v1::StateEntry>& entries) {
                     v1::ListStateResponse r;
                     for (v1::StateEntry& e : entries) *r.add_entries() = std::move(e);
                     return r;
                   }),
               response);
}

// --- ChangeFeed ---

grpc::ServerWriteReactor<v1::WatchResponse>* ChangeFeedGrpcService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  (void)context;
  ChangeFilter filter;
  for (int kind : request->kinds()) {
    if (!v1::ChangeKind_IsValid(kind) || kind == v1::CHANGE_KIND_UNSPECIFIED) {
      return FailedStream<v1::WatchResponse>(
          absl::InvalidArgumentError(absl::StrCat("kinds: ", kind, " is not a change kind")));
    }
    filter.kinds.push_back(static_cast<v1::ChangeKind>(kind));
  }
  filter.ids.assign(request->ids().begin(), request->ids().end());
  absl::StatusOr<bool> snapshot = registry_->NeedsSnapshot(request->from_sequence());
  if (!snapshot.ok()) return FailedStream<v1::WatchResponse>(snapshot.status());
  auto* stream = new FollowingStream<v1::WatchResponse>(
      waker_,
      std::make_unique<WatchSource>(registry_, std::move(filter), request->from_sequence(),
                                    *snapshot),
      /*stop_at_end=*/false);
  stream->Start();
  return stream;
}

}  // namespace edge::store
