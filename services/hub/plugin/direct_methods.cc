#include "services/hub/plugin/direct_methods.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/identity_id.h"
#include "nlohmann/json.hpp"

namespace edge::hub {
namespace {

constexpr size_t kMaxMethodName = 100;
constexpr size_t kMaxPayloadBytes = 128 * 1024;
constexpr absl::Duration kMinTimeout = absl::Seconds(5);
constexpr absl::Duration kMaxTimeout = absl::Seconds(300);

std::string MessageBody(absl::string_view message) {
  return nlohmann::json{{"message", message}}.dump();
}

}  // namespace

absl::Status ValidateMethodCall(const MethodCall& call) {
  if (!IdentityId::Parse(call.target).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("target: \"", call.target, "\" is not a device or device/module id"));
  }
  if (call.method.empty() || call.method.size() > kMaxMethodName ||
      call.method.find_first_of("/+#") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "method: \"", call.method, "\" must be 1-100 characters without '/', '+' or '#'"));
  }
  if (call.payload_json.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("payload: ", call.payload_json.size(),
                                                   " bytes; the limit is ", kMaxPayloadBytes));
  }
  if (!call.payload_json.empty() && !nlohmann::json::accept(call.payload_json)) {
    return absl::InvalidArgumentError("payload: not JSON");
  }
  if (call.timeout < kMinTimeout || call.timeout > kMaxTimeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout: ", absl::FormatDuration(call.timeout), " is outside 5 s to 300 s"));
  }
  return absl::OkStatus();
}

void DirectMethods::Invoke(const ClientState* client, MethodCall call, absl::Time now, Done done) {
  if (absl::Status valid = ValidateMethodCall(call); !valid.ok()) return done(valid);
  if (client == nullptr) {
    return done(
        MethodResult{.status = 404,
                     .payload_json = MessageBody(absl::StrCat(call.target, " is not connected"))});
  }
  if (!client->methods_subscribed) {
    return done(MethodResult{.status = 404,
                             .payload_json = MessageBody(absl::StrCat(
                                 call.target, " has not subscribed to $iothub/methods/POST/#"))});
  }
  const std::string rid = absl::StrCat(absl::Hex(next_rid_++));
  const std::string topic = absl::StrCat("$iothub/methods/POST/", call.method, "/?$rid=", rid);
  if (!broker_->Publish(client->client_id, topic,
                        call.payload_json.empty() ? "null" : call.payload_json, kIotHubQos)) {
    return done(absl::UnavailableError("the broker refused the method request"));
  }
  pending_[rid] = Pending{.identity = client->identity.ToString(),
                          .method = call.method,
                          .deadline = now + call.timeout,
                          .done = std::move(done)};
}

bool DirectMethods::Answer(const ClientState& client, const std::string& rid, int status,
                           std::string payload_json) {
  auto found = pending_.find(rid);
  if (found == pending_.end() || found->second.identity != client.identity.ToString()) return false;
  Done done = std::move(found->second.done);
  pending_.erase(found);
  done(MethodResult{.status = status, .payload_json = std::move(payload_json)});
  return true;
}

void DirectMethods::ExpireOverdue(absl::Time now) {
  std::vector<std::pair<Done, std::string>> overdue;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline <= now) {
      overdue.emplace_back(
          std::move(it->second.done),
          absl::StrCat(it->second.identity, " did not answer ", it->second.method, " in time"));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [done, why] : overdue)
    done(MethodResult{.status = 504, .payload_json = MessageBody(why)});
}

void DirectMethods::AbandonAll() {
  std::map<std::string, Pending> pending = std::move(pending_);
  pending_.clear();
  for (auto& [rid, call] : pending) call.done(absl::UnavailableError("the hub is shutting down"));
}

}  // namespace edge::hub
