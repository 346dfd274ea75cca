#include "examples/modules/module_client.h"

#include <mosquitto.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/retry_backoff.h"
#include "common/sas.h"
#include "spdlog/spdlog.h"

namespace edge::examples {
namespace {

constexpr int kKeepAliveSeconds = 60;
// The longest mosquitto_loop waits for traffic: how late a tick may be when it asked for none.
constexpr absl::Duration kLoopTimeout = absl::Milliseconds(50);
// A connection that lasted this long was a success: the next failure starts the backoff again.
constexpr absl::Duration kStableConnection = absl::Seconds(10);
// Reconnect with a fresh token this long before the current one expires.
constexpr absl::Duration kTokenRenewMargin = absl::Minutes(5);
constexpr RetryPolicy kReconnectPolicy = {.initial = absl::Milliseconds(500),
                                          .max = absl::Seconds(30)};

constexpr char kTwinResponsePrefix[] = "$iothub/twin/res/";
constexpr char kDesiredPatchPrefix[] = "$iothub/twin/PATCH/properties/desired/";
constexpr char kMethodPrefix[] = "$iothub/methods/POST/";

// Each pause somewhere in [70 %, 100 %] of the backoff, so that modules restarted together do not
// reconnect in step.
constexpr double kJitterSpread = 0.3;

// The value of `key` in a `?k=v&k=v` query at the end of `topic`; "" when absent.
std::string QueryValue(absl::string_view topic, absl::string_view key) {
  const size_t question = topic.find('?');
  if (question == absl::string_view::npos) return "";
  for (absl::string_view pair : absl::StrSplit(topic.substr(question + 1), '&')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, '=');
    if (kv.first == key) return UrlDecode(kv.second).value_or(std::string(kv.second));
  }
  return "";
}

std::atomic<bool> stop_requested{false};

}  // namespace

const std::atomic<bool>& StopOnSignals() {
  struct sigaction action = {};
  action.sa_handler = [](int) { stop_requested = true; };
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  return stop_requested;
}

absl::StatusOr<ModuleClientOptions> ModuleClientOptions::FromEnvironment() {
  const char* connection_string = std::getenv("EdgeHubConnectionString");
  if (connection_string == nullptr || *connection_string == '\0') {
    return absl::InvalidArgumentError(
        "EdgeHubConnectionString is not set (edge-agent gives it to every module it runs)");
  }
  const char* ca_file = std::getenv("EdgeModuleCACertificateFile");
  if (ca_file == nullptr || *ca_file == '\0') {
    return absl::InvalidArgumentError("EdgeModuleCACertificateFile is not set");
  }
  return FromConnectionString(connection_string, ca_file);
}

absl::StatusOr<ModuleClientOptions> ModuleClientOptions::FromConnectionString(
    absl::string_view text, std::string ca_file) {
  absl::StatusOr<std::map<std::string, std::string>> fields = ParseConnectionString(text);
  if (!fields.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EdgeHubConnectionString: ", fields.status().message()));
  }
  ModuleClientOptions options;
  for (auto [key, member] :
       {std::pair<const char*, std::string*>{"HostName", &options.iothub_hostname},
        {"DeviceId", &options.device_id},
        {"ModuleId", &options.module_id},
        {"SharedAccessKey", &options.shared_access_key}}) {
    auto it = fields->find(key);
    if (it == fields->end() || it->second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("EdgeHubConnectionString has no ", key));
    }
    *member = it->second;
  }
  auto gateway = fields->find("GatewayHostName");
  std::string address = gateway != fields->end() ? gateway->second : options.iothub_hostname;
  options.host = address;
  const size_t colon = address.rfind(':');
  if (colon != std::string::npos && address.find(':') == colon) {  // host:port, not bare IPv6
    options.host = address.substr(0, colon);
    if (!absl::SimpleAtoi(address.substr(colon + 1), &options.port) || options.port <= 0 ||
        options.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("EdgeHubConnectionString: GatewayHostName \"",
                                                     address, "\" has a bad port"));
    }
  }
  options.ca_certificate_file = std::move(ca_file);
  return options;
}

ModuleClient::ModuleClient(ModuleClientOptions options, ModuleHandlers handlers)
    : options_(std::move(options)), handlers_(std::move(handlers)) {
  mosquitto_lib_init();
  const std::string client_id = absl::StrCat(options_.device_id, "/", options_.module_id);
  mosq_ = mosquitto_new(client_id.c_str(), /*clean_session=*/true, this);
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
    static_cast<ModuleClient*>(self)->OnConnect(rc);
  });
  mosquitto_disconnect_callback_set(mosq_, [](mosquitto*, void* self, int) {
    static_cast<ModuleClient*>(self)->connected_ = false;
  });
  mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
    static_cast<ModuleClient*>(self)->OnMessage(*m);
  });
}

ModuleClient::~ModuleClient() {
  mosquitto_destroy(mosq_);
  mosquitto_lib_cleanup();
}

absl::Status ModuleClient::Connect() {
  const absl::Time expiry = absl::Now() + options_.token_lifetime;
  absl::StatusOr<std::string> token =
      MakeSasToken(absl::StrCat(options_.iothub_hostname, "/devices/", options_.device_id,
                                "/modules/", options_.module_id),
                   options_.shared_access_key, expiry);
  if (!token.ok()) return token.status();
  const std::string username =
      absl::StrCat(options_.iothub_hostname, "/", options_.device_id, "/", options_.module_id,
                   "/?api-version=2021-04-12&DeviceClientType=edge-sample-module");
  mosquitto_username_pw_set(mosq_, username.c_str(), token->c_str());
  int rc = mosquitto_tls_set(mosq_, options_.ca_certificate_file.c_str(), nullptr, nullptr, nullptr,
                             nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("CA file ", options_.ca_certificate_file, ": ", mosquitto_strerror(rc)));
  }
  rc = mosquitto_connect(mosq_, options_.host.c_str(), options_.port, kKeepAliveSeconds);
  if (rc != MOSQ_ERR_SUCCESS) {
    return absl::UnavailableError(absl::StrCat("connecting to ", options_.host, ":", options_.port,
                                               ": ", mosquitto_strerror(rc)));
  }
  token_expiry_ = expiry;
  return absl::OkStatus();
}

void ModuleClient::Run(const std::atomic<bool>& stop,
                       const std::function<absl::Time(absl::Time now)>& on_tick) {
  RetryBackoff backoff(kReconnectPolicy);
  absl::Time retry_at = absl::InfinitePast();
  absl::Time connected_since = absl::InfiniteFuture();
  bool socket_open = false;
  absl::Time next_tick = absl::InfinitePast();
  while (!stop) {
    const absl::Time now = absl::Now();
    // Wait for traffic until the next tick is due, at most kLoopTimeout.
    const int timeout_ms = static_cast<int>(
        absl::ToInt64Milliseconds(std::clamp(next_tick - now, absl::ZeroDuration(), kLoopTimeout)));
    if (!socket_open && now >= retry_at) {
      refused_ = false;
      absl::Status status = Connect();
      if (status.ok()) {
        socket_open = true;
        connected_since = now;
      } else {
        const absl::Duration delay = WithJitter(backoff.Next(), kJitterSpread);
        spdlog::warn("{}; trying again in {}", std::string(status.message()),
                     absl::FormatDuration(delay));
        retry_at = now + delay;
      }
    }
    if (socket_open) {
      int rc = mosquitto_loop(mosq_, timeout_ms, 1);
      if (connected_ && now > token_expiry_ - kTokenRenewMargin) {
        spdlog::info("renewing the SAS token: reconnecting");
        mosquitto_disconnect(mosq_);
        rc = MOSQ_ERR_CONN_LOST;
        backoff.Reset();
      }
      if (rc != MOSQ_ERR_SUCCESS || refused_) {
        connected_ = false;
        socket_open = false;
        twin_get_rid_.clear();
        if (now - connected_since >= kStableConnection) backoff.Reset();
        const absl::Duration delay = WithJitter(backoff.Next(), kJitterSpread);
        if (!refused_) {
          spdlog::warn("connection to the hub lost ({}); reconnecting in {}",
                       mosquitto_strerror(rc), absl::FormatDuration(delay));
        }
        mosquitto_disconnect(mosq_);
        retry_at = now + delay;
      }
    } else {
      absl::SleepFor(absl::Milliseconds(timeout_ms));
    }
    const absl::Time after = absl::Now();  // `now` may be 50 ms old
    if (on_tick) next_tick = on_tick(after);
  }
  if (socket_open) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop(mosq_, static_cast<int>(absl::ToInt64Milliseconds(kLoopTimeout)), 1);
  }
}

void ModuleClient::OnConnect(int rc) {
  if (rc != 0) {
    // The hub refuses the login (a removed identity, a rotated key): the agent gives the module
    // the new key by restarting it, so until then keep trying, slowly.
    spdlog::warn("the hub refused the connection: {}", mosquitto_connack_string(rc));
    refused_ = true;
    return;
  }
  connected_ = true;
  spdlog::info("connected to the hub at {}:{} as {}/{}", options_.host, options_.port,
               options_.device_id, options_.module_id);
  const std::string inputs =
      absl::StrCat("devices/", options_.device_id, "/modules/", options_.module_id, "/inputs/#");
  for (const std::string& filter : {inputs, std::string("$iothub/twin/res/#"),
                                    std::string("$iothub/twin/PATCH/properties/desired/#"),
                                    std::string("$iothub/methods/POST/#")}) {
    mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 1);
  }
  // Asks for the whole twin on every connection: desired properties may have changed meanwhile.
  twin_get_rid_ = absl::StrCat(next_rid_++);
  (void)Publish(absl::StrCat("$iothub/twin/GET/?$rid=", twin_get_rid_), "", 0);
}

void ModuleClient::OnMessage(const mosquitto_message& message) {
  const absl::string_view topic(message.topic);
  const absl::string_view payload(static_cast<const char*>(message.payload),
                                  static_cast<size_t>(message.payloadlen));
  if (absl::StartsWith(topic, kTwinResponsePrefix)) {
    OnTwinResponse(topic, payload);
  } else if (absl::StartsWith(topic, kDesiredPatchPrefix)) {
    nlohmann::json patch = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (patch.is_object() && handlers_.on_desired) handlers_.on_desired(patch, /*full=*/false);
  } else if (absl::StartsWith(topic, kMethodPrefix)) {
    OnMethod(topic, payload);
  } else {
    OnInput(topic, payload);
  }
}

void ModuleClient::OnTwinResponse(absl::string_view topic, absl::string_view payload) {
  const std::string rid = QueryValue(topic, "$rid");
  if (rid.empty() || rid != twin_get_rid_) return;  // a reported PATCH's answer, or a stale GET
  twin_get_rid_.clear();
  const absl::string_view status = topic.substr(sizeof(kTwinResponsePrefix) - 1, 3);
  nlohmann::json twin = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (status != "200" || !twin.is_object()) {
    spdlog::warn("twin GET answered {}: {}", std::string(status), std::string(payload));
    return;
  }
  if (handlers_.on_desired) {
    handlers_.on_desired(twin.value("desired", nlohmann::json::object()), /*full=*/true);
  }
}

void ModuleClient::OnMethod(absl::string_view topic, absl::string_view payload) {
  // $iothub/methods/POST/{method}/?$rid={rid}
  const absl::string_view rest = topic.substr(sizeof(kMethodPrefix) - 1);
  const std::string method(rest.substr(0, rest.find('/')));
  const std::string rid = QueryValue(topic, "$rid");
  MethodResult result{404, R"({"message":"no such method"})"};
  if (handlers_.on_method) result = handlers_.on_method(method, std::string(payload));
  (void)Publish(absl::StrCat("$iothub/methods/res/", result.status, "/?$rid=", rid), result.payload,
                0);
}

void ModuleClient::OnInput(absl::string_view topic, absl::string_view payload) {
  // devices/{d}/modules/{m}/inputs/{input}/{props}
  const std::string prefix =
      absl::StrCat("devices/", options_.device_id, "/modules/", options_.module_id, "/inputs/");
  if (!absl::StartsWith(topic, prefix)) return;
  const absl::string_view rest = topic.substr(prefix.size());
  const size_t slash = rest.find('/');
  const std::string input(rest.substr(0, slash));
  absl::StatusOr<MessageProperties> properties =
      DecodeProperties(slash == absl::string_view::npos ? "" : rest.substr(slash + 1));
  if (!properties.ok()) {
    spdlog::warn("input {}: {}", input, std::string(properties.status().message()));
    return;
  }
  if (handlers_.on_input) handlers_.on_input(input, std::string(payload), *properties);
}

absl::Status ModuleClient::SendOutput(absl::string_view output, absl::string_view body,
                                      const MessageProperties& properties) {
  if (output.empty()) return absl::InvalidArgumentError("an output needs a name");
  std::string topic = absl::StrCat("devices/", options_.device_id, "/modules/", options_.module_id,
                                   "/messages/events/");
  const std::string bag = EncodeProperties(properties);
  absl::StrAppend(&topic, bag, bag.empty() ? "" : "&", "%24.on=", UrlEncode(output));
  return Publish(topic, body, 1);
}

absl::Status ModuleClient::ReportProperties(const nlohmann::json& patch) {
  return Publish(absl::StrCat("$iothub/twin/PATCH/properties/reported/?$rid=", next_rid_++),
                 patch.dump(), 0);
}

absl::Status ModuleClient::Publish(const std::string& topic, absl::string_view payload, int qos) {
  if (!connected_) return absl::UnavailableError("not connected to the hub");
  const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    return absl::UnavailableError(absl::StrCat("publish: ", mosquitto_strerror(rc)));
  }
  return absl::OkStatus();
}

}  // namespace edge::examples
