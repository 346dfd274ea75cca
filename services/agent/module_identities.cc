#include "services/agent/module_identities.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/local_channel.h"
#include "services/agent/module_environment.h"

namespace edge::agent {
namespace {

ModuleIdentity FromProto(std::string module_id, const store::v1::Identity& identity) {
  return {.module_id = std::move(module_id),
          .primary_key = identity.primary_key(),
          .managed_by_agent = identity.managed_by() == kAgentManagedBy,
          .sas = identity.auth_type() != store::v1::AUTH_TYPE_X509_CA,
          .created = absl::FromUnixMillis(identity.created_unix_ms())};
}

}  // namespace

ModuleIdentities::ModuleIdentities(std::shared_ptr<grpc::Channel> store, std::string device_id,
                                   absl::Duration call_timeout)
    : device_id_(std::move(device_id)),
      call_timeout_(call_timeout),
      stub_(store::v1::IdentityRegistry::NewStub(std::move(store))) {}

void ModuleIdentities::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (call_ != nullptr) call_->TryCancel();
}

template <typename Invoke>
absl::Status ModuleIdentities::Call(Invoke&& invoke) {
  grpc::ClientContext context;
  SetLocalCallDeadline(context, call_timeout_);
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return absl::CancelledError("edge-agent is shutting down");
    call_ = &context;
  }
  grpc::Status status = invoke(&context);
  absl::MutexLock lock(&mu_);
  call_ = nullptr;
  return FromGrpcStatus(status);
}

absl::StatusOr<std::map<std::string, ModuleIdentity>> ModuleIdentities::List() {
  store::v1::ListIdentitiesRequest request;
  request.set_device_id(device_id_);
  store::v1::ListIdentitiesResponse response;
  absl::Status status = Call([&](grpc::ClientContext* context) {
    return stub_->ListIdentities(context, request, &response);
  });
  if (!status.ok()) return status;
  const std::string prefix = absl::StrCat(device_id_, "/");
  std::map<std::string, ModuleIdentity> modules;
  for (const store::v1::Identity& identity : response.identities()) {
    if (!absl::StartsWith(identity.id(), prefix)) continue;  // the device itself
    std::string module = identity.id().substr(prefix.size());
    if (module.empty() || module[0] == '$') continue;  // $edgeAgent, $edgeHub
    modules.emplace(module, FromProto(module, identity));
  }
  return modules;
}

absl::StatusOr<ModuleIdentity> ModuleIdentities::Create(const std::string& module) {
  store::v1::CreateIdentityRequest request;
  store::v1::Identity* wanted = request.mutable_identity();
  wanted->set_id(absl::StrCat(device_id_, "/", module));
  wanted->set_auth_type(store::v1::AUTH_TYPE_SAS);
  wanted->set_managed_by(kAgentManagedBy);
  store::v1::Identity created;
  absl::Status status = Call([&](grpc::ClientContext* context) {
    return stub_->CreateIdentity(context, request, &created);
  });
  if (status.ok()) return FromProto(module, created);
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  store::v1::GetIdentityRequest get;
  get.set_id(wanted->id());
  store::v1::Identity existing;
  status = Call(
      [&](grpc::ClientContext* context) { return stub_->GetIdentity(context, get, &existing); });
  if (!status.ok()) return status;
  return FromProto(module, existing);
}

absl::Status ModuleIdentities::Delete(const std::string& module) {
  store::v1::DeleteIdentityRequest request;
  request.set_id(absl::StrCat(device_id_, "/", module));
  store::v1::DeleteIdentityResponse response;
  absl::Status status = Call([&](grpc::ClientContext* context) {
    return stub_->DeleteIdentity(context, request, &response);
  });
  if (status.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return status;
}

}  // namespace edge::agent
