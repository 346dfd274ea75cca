// DirectMethods: invoking a method on a connected client and waiting for its answer
// (docs/iothub-surface.md §2): a targeted publish `$iothub/methods/POST/{method}/?$rid={rid}` to
// that client alone, its answer on `$iothub/methods/res/{status}/?$rid={rid}` matched by request id
// (and by identity: another client cannot answer for it), 504 when no answer came in time, 404 when
// the client is not connected or has not subscribed to `$iothub/methods/POST/#`.
//
// Example (HubPlugin, broker thread):
//   methods.Invoke(gate.FindIdentity("edge-1/filter"), call, absl::Now(), done);
//   methods.Answer(client, rid, 200, R"({"ok":true})");  // MESSAGE on $iothub/methods/res/...
//   methods.ExpireOverdue(absl::Now());                  // TICK
//
// Broker thread only. `done` runs on the broker thread and must not block.
#ifndef EDGE_SERVICES_HUB_PLUGIN_DIRECT_METHODS_H_
#define EDGE_SERVICES_HUB_PLUGIN_DIRECT_METHODS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/hub/plugin/client_gate.h"

namespace edge::hub {

// The QoS of what the hub sends on `$iothub/...` topics (twin responses, desired patches, method
// requests): 0, the QoS IoT Hub SDKs subscribe to them with — MQTT does not allow a delivery above
// the subscription's QoS, and the broker's targeted publish does not lower it. Each is a
// request/response with its own timeout and retry, as at IoT Hub.
inline constexpr int kIotHubQos = 0;

struct MethodCall {
  std::string target = {};  // "device" or "device/module"
  std::string method = {};
  std::string payload_json = {};  // empty means null
  absl::Duration timeout = absl::Seconds(30);
};

struct MethodResult {
  int status = 0;
  std::string payload_json;
};

// §2's limits: method name 1-100 characters without '/', '+', '#'; payload JSON of at most 128 KiB;
// timeout 5-300 s; target a valid identity id. INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateMethodCall(const MethodCall& call);

class DirectMethods {
 public:
  using Done = std::function<void(absl::StatusOr<MethodResult>)>;

  explicit DirectMethods(BrokerApi* broker) : broker_(broker) {}

  // Validates `call` (done with INVALID_ARGUMENT) and publishes it to `client` — done at once with
  // 404 when `client` is null or not subscribed to methods — then waits for its answer.
  void Invoke(const ClientState* client, MethodCall call, absl::Time now, Done done);
  // A client's answer: completes the call waiting for `rid` from this client. False when none
  // waits (late, unknown, or another client's request id).
  bool Answer(const ClientState& client, const std::string& rid, int status,
              std::string payload_json);
  // Completes every call past its deadline with 504.
  void ExpireOverdue(absl::Time now);
  // Completes every waiting call with UNAVAILABLE (the hub is stopping).
  void AbandonAll();

  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::string identity;
    std::string method;
    absl::Time deadline;
    Done done;
  };

  BrokerApi* const broker_;
  uint64_t next_rid_ = 1;
  std::map<std::string, Pending> pending_;  // by request id
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_DIRECT_METHODS_H_
