#include "services/hub/plugin/twin_requests.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/local_channel.h"
#include "nlohmann/json.hpp"

namespace edge::hub {
namespace {

nlohmann::json Section(const store::v1::TwinSection& section) {
  nlohmann::json json = nlohmann::json::parse(section.json(), nullptr, false);
  if (!json.is_object()) json = nlohmann::json::object();
  json["$version"] = section.version();
  return json;
}

std::string ErrorBody(const grpc::Status& status) {
  return nlohmann::json{{"message", status.error_message()}}.dump();
}

}  // namespace

std::string TwinResponseTopic(int status, absl::string_view rid, std::optional<int64_t> version) {
  std::string topic = absl::StrCat("$iothub/twin/res/", status, "/?$rid=", rid);
  if (version.has_value()) absl::StrAppend(&topic, "&$version=", *version);
  return topic;
}

std::pair<std::string, std::string> DesiredPush(const store::v1::Change& change) {
  const std::string& text =
      change.op() == store::v1::CHANGE_OP_PATCH ? change.patch_json() : change.document_json();
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (!body.is_object()) body = nlohmann::json::object();
  body["$version"] = change.version();
  return {absl::StrCat("$iothub/twin/PATCH/properties/desired/?$version=", change.version()),
          body.dump()};
}

int TwinErrorStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 413;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return 503;
    default:
      return 500;
  }
}

struct TwinRequests::Call {
  grpc::ClientContext context;
  store::v1::GetTwinRequest get;
  store::v1::PatchTwinRequest patch;
  store::v1::Twin twin;
  std::string client_id;
  std::string rid;
};

TwinRequests::TwinRequests(std::shared_ptr<grpc::Channel> store, Respond respond)
    : stub_(store::v1::TwinStore::NewStub(store)), respond_(std::move(respond)) {}

TwinRequests::~TwinRequests() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (Call* call : calls_) call->context.TryCancel();
  mu_.Await(absl::Condition(
      +[](std::set<Call*>* calls) { return calls->empty(); }, &calls_));
}

void TwinRequests::Started(Call* call) {
  SetLocalCallDeadline(call->context);
  absl::MutexLock lock(&mu_);
  if (stopping_) call->context.TryCancel();
  calls_.insert(call);
}

void TwinRequests::Finished(Call* call, TwinAnswer answer) {
  respond_(std::move(answer));
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
  delete call;
}

void TwinRequests::Get(std::string client_id, std::string twin_id, std::string rid) {
  auto* call = new Call;
  call->client_id = std::move(client_id);
  call->rid = std::move(rid);
  call->get.set_id(std::move(twin_id));
  Started(call);
  stub_->async()->GetTwin(
      &call->context, &call->get, &call->twin, [this, call](grpc::Status status) {
        TwinAnswer answer;
        answer.client_id = call->client_id;
        if (status.ok()) {
          answer.topic = TwinResponseTopic(200, call->rid);
          answer.body = nlohmann::json{{"desired", Section(call->twin.desired())},
                                       {"reported", Section(call->twin.reported())}}
                            .dump();
        } else {
          answer.topic = TwinResponseTopic(TwinErrorStatus(status.error_code()), call->rid);
          answer.body = ErrorBody(status);
        }
        Finished(call, std::move(answer));
      });
}

void TwinRequests::PatchReported(std::string client_id, std::string twin_id, std::string rid,
                                 std::string patch_json) {
  auto* call = new Call;
  call->client_id = std::move(client_id);
  call->rid = std::move(rid);
  call->patch.set_id(std::move(twin_id));
  call->patch.set_patch_json(std::move(patch_json));
  Started(call);
  stub_->async()->PatchReported(
      &call->context, &call->patch, &call->twin, [this, call](grpc::Status status) {
        TwinAnswer answer;
        answer.client_id = call->client_id;
        if (status.ok()) {
          const int64_t version = call->twin.reported().version();
          answer.topic = TwinResponseTopic(204, call->rid, version);
          answer.patched_version = version;
          answer.twin_id = call->patch.id();
          answer.patch_json = call->patch.patch_json();
        } else {
          answer.topic = TwinResponseTopic(TwinErrorStatus(status.error_code()), call->rid);
          answer.body = ErrorBody(status);
        }
        Finished(call, std::move(answer));
      });
}

}  // namespace edge::hub
