// ModuleClient: how a module talks to the hub, on libmosquitto, configured only by the
// environment the agent gives every module (docs/iothub-surface.md §5): `EdgeHubConnectionString`
// (HostName, GatewayHostName, DeviceId, ModuleId, SharedAccessKey) and
// `EdgeModuleCACertificateFile`. It is what an IoT Hub SDK's `ModuleClient.fromEnvironment` does,
// reduced to what the sample modules use: outputs, inputs, the module twin and direct methods.
//
// One thread: `Run` connects (MQTT 3.1.1 over TLS, a SAS token signed with the module's key),
// subscribes, asks for the twin, dispatches what arrives to the handlers and calls `on_tick` after
// each wait for traffic, all on the caller's thread; the handlers and `on_tick` may call
// `SendOutput` and `ReportProperties`. When the connection drops (the hub restarts) it connects
// again after 0.5 s, doubling up to 30 s, each wait shortened by up to 30 % at random, and reset
// after a session
// that lasted; every connection uses a fresh token, asks for the twin again (desired properties
// may have changed meanwhile) and reconnects before the token expires.
//
// Example:
//   absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromEnvironment();
//   ModuleClient client(*options, {.on_desired = [&](const nlohmann::json& d, bool full) { … },
//                                  .on_method = [&](const std::string& name, const std::string&)
//                                      { return MethodResult{200, "{}"}; }});
//   client.Run(stop, [&](absl::Time now) {
//     client.SendOutput("out", body, {});
//     return now + absl::Seconds(1);  // when to be called next
//   });
#ifndef EDGE_EXAMPLES_MODULES_MODULE_CLIENT_H_
#define EDGE_EXAMPLES_MODULES_MODULE_CLIENT_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/iothub_topic.h"
#include "nlohmann/json.hpp"

struct mosquitto;
struct mosquitto_message;

namespace edge::examples {

struct ModuleClientOptions {
  std::string host;  // GatewayHostName without its port (HostName when there is none)
  int port = 8883;   // GatewayHostName's `:port`, else 8883
  std::string iothub_hostname;
  std::string device_id;
  std::string module_id;
  std::string shared_access_key;
  std::string ca_certificate_file;
  absl::Duration token_lifetime = absl::Hours(1);

  // From EdgeHubConnectionString and EdgeModuleCACertificateFile. INVALID_ARGUMENT naming the
  // variable or the connection string field that is missing or malformed.
  static absl::StatusOr<ModuleClientOptions> FromEnvironment();
  // From the two values themselves (FromEnvironment's parser).
  static absl::StatusOr<ModuleClientOptions> FromConnectionString(absl::string_view text,
                                                                  std::string ca_file);
};

struct MethodResult {
  int status = 200;
  std::string payload = "{}";  // JSON
};

struct ModuleHandlers {
  // The desired properties: the whole section (`full`, after each GET of the twin) or a patch.
  std::function<void(const nlohmann::json& desired, bool full)> on_desired = {};
  std::function<void(const std::string& input, const std::string& body,
                     const MessageProperties& properties)>
      on_input = {};
  std::function<MethodResult(const std::string& method, const std::string& payload)> on_method = {};
};

// A flag SIGTERM and SIGINT set (the agent stops a module with SIGTERM), for ModuleClient::Run.
const std::atomic<bool>& StopOnSignals();

// Not thread-safe: every call comes from the thread that calls Run.
class ModuleClient {
 public:
  ModuleClient(ModuleClientOptions options, ModuleHandlers handlers);
  ~ModuleClient();
  ModuleClient(const ModuleClient&) = delete;
  ModuleClient& operator=(const ModuleClient&) = delete;

  // Connects and serves until `stop` becomes true, then disconnects. Never returns early: a hub
  // that is down or refuses the login is retried with backoff (each failure logged). `on_tick`
  // runs after every wait for traffic — at the latest 50 ms after the last, and earlier when
  // something arrived — and returns when it next needs to run, which shortens the wait.
  void Run(const std::atomic<bool>& stop, const std::function<absl::Time(absl::Time now)>& on_tick);

  bool connected() const { return connected_; }

  // Publishes `body` on output `output` at QoS 1 (properties in the topic's property bag,
  // `$.on` = output). UNAVAILABLE while disconnected (the caller decides whether to keep it);
  // INVALID_ARGUMENT for an empty output name.
  absl::Status SendOutput(absl::string_view output, absl::string_view body,
                          const MessageProperties& properties);

  // PATCHes the reported properties (JSON merge patch). UNAVAILABLE while disconnected; the
  // caller reports its whole state again on the next connection.
  absl::Status ReportProperties(const nlohmann::json& patch);

 private:
  absl::Status Connect();
  void OnConnect(int rc);
  void OnMessage(const mosquitto_message& message);
  void OnTwinResponse(absl::string_view topic, absl::string_view payload);
  void OnMethod(absl::string_view topic, absl::string_view payload);
  void OnInput(absl::string_view topic, absl::string_view payload);
  absl::Status Publish(const std::string& topic, absl::string_view payload, int qos);

  ModuleClientOptions options_;
  ModuleHandlers handlers_;
  mosquitto* mosq_ = nullptr;
  bool connected_ = false;
  bool refused_ = false;  // the last CONNACK refused the login
  absl::Time token_expiry_ = absl::InfinitePast();
  uint64_t next_rid_ = 1;
  std::string twin_get_rid_;  // the pending GET's request id; "" when none
};

}  // namespace edge::examples

#endif  // EDGE_EXAMPLES_MODULES_MODULE_CLIENT_H_
