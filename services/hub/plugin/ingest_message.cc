#include "services/hub/plugin/ingest_message.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace edge::hub {

common::v1::Message IngestMessage(const ClientState& client, const ClientTopic& topic,
                                  absl::string_view payload, absl::Time enqueued,
                                  std::string edge_message_id) {
  common::v1::Message message;
  message.set_body(std::string(payload));
  auto& system = *message.mutable_system_properties();
  for (const auto& [name, value] : topic.properties.system) system[name] = value;
  auto& application = *message.mutable_application_properties();
  for (const auto& [key, value] : topic.properties.application) application[key] = value;

  common::v1::Source& source = *message.mutable_source();
  source.set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  source.set_device_id(client.identity.device());
  if (client.identity.is_module()) source.set_module_id(client.identity.module());
  if (auto output = topic.properties.system.find("outputName");
      output != topic.properties.system.end()) {
    source.set_output_name(output->second);
  }
  message.set_enqueued_time_unix_ms(absl::ToUnixMillis(enqueued));
  message.set_edge_message_id(std::move(edge_message_id));

  system["connectionAuthMethod"] = absl::StrCat(
      R"({"scope":")", client.identity.is_module() ? "module" : "device", R"(","type":")",
      client.method == AuthMethod::kX509 ? "x509Certificate" : "sasToken",
      R"(","issuer":"iothub"})");
  system["edgeHubOriginInterface"] = client.identity.is_module() ? "internal" : "downstream";
  return message;
}

common::v1::Message TwinChangeNotification(const IdentityId& identity, absl::string_view patch_json,
                                           int64_t version, absl::Time enqueued,
                                           std::string edge_message_id) {
  common::v1::Message message;
  nlohmann::json body = nlohmann::json::parse(patch_json, nullptr, false);
  if (!body.is_object()) body = nlohmann::json::object();
  body["$version"] = version;
  message.set_body(body.dump());
  common::v1::Source& source = *message.mutable_source();
  source.set_kind(common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION);
  source.set_device_id(identity.device());
  if (identity.is_module()) source.set_module_id(identity.module());
  auto& system = *message.mutable_system_properties();
  system["contentType"] = "application/json";
  system["contentEncoding"] = "utf-8";
  message.set_enqueued_time_unix_ms(absl::ToUnixMillis(enqueued));
  message.set_edge_message_id(std::move(edge_message_id));
  return message;
}

absl::StatusOr<std::string> ModuleInputDeliveryTopic(const IdentityId& module,
                                                     absl::string_view input,
                                                     const common::v1::Message& message) {
  MessageProperties properties;
  properties.system.insert(message.system_properties().begin(), message.system_properties().end());
  properties.system["connectionDeviceId"] = message.source().device_id();
  if (!message.source().module_id().empty()) {
    properties.system["connectionModuleId"] = message.source().module_id();
  }
  properties.application.insert(message.application_properties().begin(),
                                message.application_properties().end());
  return ModuleInputTopic(module, input, properties);
}

}  // namespace edge::hub
