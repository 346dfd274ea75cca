// The entry points mosquitto 2.0.11 looks up in libedge_hub_plugin.so, and the broker callbacks.
// Each callback translates the broker's event into HubPlugin's terms (its userdata) and back; all
// run on the broker thread.
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "openssl/x509.h"
#include "services/hub/plugin/hub_plugin.h"

extern "C" {
#include "mosquitto.h"
#include "mosquitto_broker.h"
#include "mosquitto_plugin.h"
}

namespace edge::hub {
namespace {

// Kept for unregistering: mosquitto_callback_unregister needs the identifier.
mosquitto_plugin_id_t* plugin_id = nullptr;

int OnTick(int /*event*/, void* /*event_data*/, void* userdata) {
  static_cast<HubPlugin*>(userdata)->OnTick();
  return MOSQ_ERR_SUCCESS;
}

class MosquittoBroker final : public BrokerApi {
 public:
  void KickClient(const std::string& client_id) override {
    mosquitto_kick_client_by_clientid(client_id.c_str(), /*with_will=*/false);
  }
  int ProtocolVersion(const void* connection) override {
    return mosquitto_client_protocol_version(static_cast<const mosquitto*>(connection));
  }
  bool CleanSession(const void* connection) override {
    return mosquitto_client_clean_session(static_cast<const mosquitto*>(connection));
  }
  int SubscriptionCount(const void* connection) override {
    return mosquitto_client_sub_count(static_cast<const mosquitto*>(connection));
  }
  bool Publish(const std::string& client_id, const std::string& topic, absl::string_view payload,
               int qos) override {
    // The broker takes ownership of the payload, which must come from its own allocator
    // (docs/mosquitto-2.0.11.md): never mosquitto_broker_publish_copy.
    void* copy = nullptr;
    if (!payload.empty()) {
      copy = mosquitto_malloc(payload.size());
      if (copy == nullptr) return false;
      std::memcpy(copy, payload.data(), payload.size());
    }
    return mosquitto_broker_publish(client_id.c_str(), topic.c_str(),
                                    static_cast<int>(payload.size()), copy, qos,
                                    /*retain=*/false, /*properties=*/nullptr) == MOSQ_ERR_SUCCESS;
  }
};
MosquittoBroker broker;

absl::string_view View(const char* text) { return text != nullptr ? text : ""; }

// The subject CN of the client's TLS certificate, if it presented one.
std::optional<std::string> CertificateCommonName(mosquitto* client) {
  auto* certificate = static_cast<X509*>(mosquitto_client_certificate(client));
  if (certificate == nullptr) return std::nullopt;
  std::string cn;
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
              static_cast<size_t>(ASN1_STRING_length(data)));
  }
  X509_free(certificate);  // mosquitto_client_certificate returns a new reference
  return cn;
}

int OnBasicAuth(int /*event*/, void* event_data, void* userdata) {
  auto* auth = static_cast<mosquitto_evt_basic_auth*>(event_data);
  const ConnectAttempt attempt{.client_id = View(mosquitto_client_id(auth->client)),
                               .username = View(auth->username),
                               .password = View(auth->password),
                               .certificate_cn = CertificateCommonName(auth->client),
                               .now = absl::Now()};
  const bool accepted = static_cast<HubPlugin*>(userdata)->OnBasicAuth(auth->client, attempt);
  return accepted ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH;
}

int OnAclCheck(int /*event*/, void* event_data, void* userdata) {
  auto* acl = static_cast<mosquitto_evt_acl_check*>(event_data);
  AclAccess access = AclAccess::kRead;
  switch (acl->access) {
    case MOSQ_ACL_WRITE:
      access = AclAccess::kWrite;
      break;
    case MOSQ_ACL_SUBSCRIBE:
      access = AclAccess::kSubscribe;
      break;
    case MOSQ_ACL_UNSUBSCRIBE:
      access = AclAccess::kUnsubscribe;
      break;
    default:
      break;
  }
  const bool allowed =
      static_cast<HubPlugin*>(userdata)->OnAclCheck(acl->client, View(acl->topic), access);
  return allowed ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

int OnMessage(int /*event*/, void* event_data, void* userdata) {
  auto* message = static_cast<mosquitto_evt_message*>(event_data);
  const absl::string_view payload(static_cast<const char*>(message->payload), message->payloadlen);
  const PublishVerdict verdict = static_cast<HubPlugin*>(userdata)->OnMessage(
      message->client, View(message->topic), payload, message->qos);
  if (verdict == PublishVerdict::kDisconnect) {
    // Not ACL_DENIED: a 3.1.1 client would get an ordinary PUBACK for a dropped message. Any other
    // error makes the broker disconnect the client without one (docs/mosquitto-2.0.11.md).
    return MOSQ_ERR_AUTH;
  }
  // IoT Hub has no retained messages; the broker must not keep any.
  message->retain = false;
  return MOSQ_ERR_SUCCESS;
}

int OnDisconnect(int /*event*/, void* event_data, void* userdata) {
  auto* disconnect = static_cast<mosquitto_evt_disconnect*>(event_data);
  static_cast<HubPlugin*>(userdata)->OnDisconnect(disconnect->client);
  return MOSQ_ERR_SUCCESS;
}

struct Registration {
  int event;
  MOSQ_FUNC_generic_callback callback;
};
constexpr Registration kCallbacks[] = {
    {MOSQ_EVT_TICK, OnTick},
    {MOSQ_EVT_BASIC_AUTH, OnBasicAuth},
    {MOSQ_EVT_ACL_CHECK, OnAclCheck},
    {MOSQ_EVT_MESSAGE, OnMessage},
    {MOSQ_EVT_DISCONNECT, OnDisconnect},
};

void UnregisterAll() {
  for (const Registration& r : kCallbacks) {
    mosquitto_callback_unregister(plugin_id, r.event, r.callback, nullptr);
  }
}

}  // namespace
}  // namespace edge::hub

extern "C" {

__attribute__((visibility("default"))) int mosquitto_plugin_version(
    int /*supported_version_count*/, const int* /*supported_versions*/) {
  return 5;
}

__attribute__((visibility("default"))) int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier,
                                                                 void** userdata,
                                                                 struct mosquitto_opt* options,
                                                                 int option_count) {
  using edge::hub::HubPlugin;
  using edge::hub::PluginOptions;
  std::vector<std::pair<std::string, std::string>> opts;
  for (int i = 0; i < option_count; ++i) {
    opts.emplace_back(options[i].key != nullptr ? options[i].key : "",
                      options[i].value != nullptr ? options[i].value : "");
  }
  absl::StatusOr<PluginOptions> parsed = PluginOptions::Parse(opts);
  if (!parsed.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "edge hub plugin: %s",
                         std::string(parsed.status().message()).c_str());
    return MOSQ_ERR_INVAL;
  }
  absl::StatusOr<std::unique_ptr<HubPlugin>> plugin =
      HubPlugin::Start(*std::move(parsed), &edge::hub::broker);
  if (!plugin.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "edge hub plugin: %s",
                         std::string(plugin.status().message()).c_str());
    return MOSQ_ERR_UNKNOWN;
  }
  edge::hub::plugin_id = identifier;
  for (const edge::hub::Registration& r : edge::hub::kCallbacks) {
    int rc = mosquitto_callback_register(identifier, r.event, r.callback, nullptr, plugin->get());
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "edge hub plugin: cannot register callback %d: %d",
                           r.event, rc);
      edge::hub::UnregisterAll();
      return rc;
    }
  }
  *userdata = plugin->release();
  return MOSQ_ERR_SUCCESS;
}

__attribute__((visibility("default"))) int mosquitto_plugin_cleanup(
    void* userdata, struct mosquitto_opt* /*options*/, int /*option_count*/) {
  edge::hub::UnregisterAll();
  std::unique_ptr<edge::hub::HubPlugin> plugin(static_cast<edge::hub::HubPlugin*>(userdata));
  if (plugin != nullptr) plugin->Stop();
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
