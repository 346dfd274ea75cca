// The entry points mosquitto 2.0.11 looks up in libedge_hub_plugin.so, and the broker callbacks.
// Each callback is a one-line hop into HubPlugin (its userdata); all run on the broker thread.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/logging.h"
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

int OnBasicAuth(int /*event*/, void* event_data, void* userdata) {
  auto* auth = static_cast<mosquitto_evt_basic_auth*>(event_data);
  const bool accepted = static_cast<HubPlugin*>(userdata)->OnBasicAuth(
      mosquitto_client_id(auth->client), auth->username, auth->password);
  return accepted ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH;
}

int OnAclCheck(int /*event*/, void* event_data, void* userdata) {
  auto* acl = static_cast<mosquitto_evt_acl_check*>(event_data);
  const bool allowed = static_cast<HubPlugin*>(userdata)->OnAclCheck(
      mosquitto_client_id(acl->client), acl->topic, acl->access);
  return allowed ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

struct Registration {
  int event;
  MOSQ_FUNC_generic_callback callback;
};
constexpr Registration kCallbacks[] = {
    {MOSQ_EVT_TICK, OnTick},
    {MOSQ_EVT_BASIC_AUTH, OnBasicAuth},
    {MOSQ_EVT_ACL_CHECK, OnAclCheck},
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
  absl::StatusOr<std::unique_ptr<HubPlugin>> plugin = HubPlugin::Start(*std::move(parsed));
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
