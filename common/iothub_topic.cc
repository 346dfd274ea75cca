#include "common/iothub_topic.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/sas.h"
#include "common/status_macros.h"

namespace edge {
namespace {

struct SystemProperty {
  absl::string_view wire;
  absl::string_view name;
};

// §2's list, in its order, which is also the encoding order.
constexpr SystemProperty kSystemProperties[] = {
    {"$.mid", "messageId"},
    {"$.cid", "correlationId"},
    {"$.uid", "userId"},
    {"$.to", "to"},
    {"$.exp", "expiryTimeUtc"},
    {"$.ct", "contentType"},
    {"$.ce", "contentEncoding"},
    {"$.schema", "messageSchema"},
    {"$.ctime", "creationTime"},
    {"$.on", "outputName"},
    {"$.ifid", "interfaceId"},
    {"$.sub", "componentName"},
    {"iothub-operation", "iothub-operation"},
    {"ack", "ack"},
};

// Set by the hub on delivery only.
constexpr SystemProperty kDeliveryProperties[] = {
    {"$.cdid", "connectionDeviceId"},
    {"$.cmid", "connectionModuleId"},
};

constexpr absl::string_view kOutputName = "outputName";

std::optional<absl::string_view> WireKeyOf(absl::string_view name) {
  for (const SystemProperty& p : kSystemProperties) {
    if (p.name == name) return p.wire;
  }
  for (const SystemProperty& p : kDeliveryProperties) {
    if (p.name == name) return p.wire;
  }
  return std::nullopt;
}

void AppendPair(std::string* out, absl::string_view key, absl::string_view value) {
  if (!out->empty()) out->push_back('&');
  absl::StrAppend(out, UrlEncode(key), "=", UrlEncode(value));
}

absl::Status CheckIdPart(absl::string_view id, absl::string_view topic) {
  absl::StatusOr<IdentityId> parsed = IdentityId::Parse(id);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic \"", topic, "\": ", parsed.status().message()));
  }
  return absl::OkStatus();
}

// Parses `rest`, the part after "messages/events", which is empty or `/` + bag.
absl::StatusOr<MessageProperties> ParseEventsSuffix(absl::string_view rest,
                                                    absl::string_view topic) {
  if (!rest.empty() && rest.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("topic \"", topic, "\" is not a §2 topic"));
  }
  if (!rest.empty()) rest.remove_prefix(1);
  absl::StatusOr<MessageProperties> props = DecodeProperties(rest);
  if (!props.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic \"", topic, "\": bad property bag: ", props.status().message()));
  }
  return props;
}

// `query` is what follows `?`; returns the URL-decoded `$rid`.
absl::StatusOr<std::string> RequestIdOf(absl::string_view query, absl::string_view topic) {
  absl::StatusOr<MessageProperties> bag = DecodeProperties(query);
  if (!bag.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic \"", topic, "\": bad query: ", bag.status().message()));
  }
  auto it = bag->application.find("$rid");
  if (it == bag->application.end() || it->second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("topic \"", topic, "\" has no $rid"));
  }
  return it->second;
}

bool IsTopicSafeName(absl::string_view name) {
  return !name.empty() && name.find_first_of("/+#") == absl::string_view::npos;
}

}  // namespace

std::optional<std::string> SystemPropertyName(absl::string_view wire_key) {
  for (const SystemProperty& p : kSystemProperties) {
    if (p.wire == wire_key) return std::string(p.name);
  }
  return std::nullopt;
}

absl::StatusOr<MessageProperties> DecodeProperties(absl::string_view bag) {
  if (absl::EndsWith(bag, "/")) bag.remove_suffix(1);
  MessageProperties out;
  for (absl::string_view segment : absl::StrSplit(bag, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(segment, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> key = UrlDecode(kv.first);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = UrlDecode(kv.second);
    if (!value.ok()) return value.status();
    if (key->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty key in \"", segment, "\""));
    }
    if (*key == "$.cdid" || *key == "$.cmid") continue;
    if (std::optional<std::string> name = SystemPropertyName(*key)) {
      out.system[*name] = *std::move(value);
    } else {
      out.application[*std::move(key)] = *std::move(value);
    }
  }
  return out;
}

std::string EncodeProperties(const MessageProperties& properties) {
  std::string out;
  auto encode_known = [&](const SystemProperty& p) {
    if (p.name == kOutputName) return;
    auto it = properties.system.find(std::string(p.name));
    if (it != properties.system.end()) AppendPair(&out, p.wire, it->second);
  };
  for (const SystemProperty& p : kSystemProperties) encode_known(p);
  for (const SystemProperty& p : kDeliveryProperties) encode_known(p);
  for (const auto& [key, value] : properties.application) AppendPair(&out, key, value);
  return out;
}

size_t MessageSize(absl::string_view body, const MessageProperties& properties) {
  size_t size = body.size();
  for (const auto& [name, value] : properties.system) {
    std::optional<absl::string_view> wire = WireKeyOf(name);
    size += (wire ? wire->size() : name.size()) + value.size();
  }
  for (const auto& [key, value] : properties.application) size += key.size() + value.size();
  return size;
}

absl::StatusOr<ClientTopic> ParseClientTopic(absl::string_view topic) {
  const absl::Status unknown = absl::InvalidArgumentError(
      absl::StrCat("topic \"", topic, "\" is not a §2 client-to-hub topic"));
  ClientTopic out;
  absl::string_view rest = topic;

  if (absl::ConsumePrefix(&rest, "devices/")) {
    size_t slash = rest.find('/');
    if (slash == absl::string_view::npos) return unknown;
    out.device = std::string(rest.substr(0, slash));
    RETURN_IF_ERROR(CheckIdPart(out.device, topic));
    rest.remove_prefix(slash + 1);
    out.kind = ClientTopicKind::kDeviceTelemetry;
    if (absl::ConsumePrefix(&rest, "modules/")) {
      slash = rest.find('/');
      if (slash == absl::string_view::npos) return unknown;
      out.module = std::string(rest.substr(0, slash));
      // Parsed together so the message says "module id", not "device id".
      RETURN_IF_ERROR(CheckIdPart(absl::StrCat(out.device, "/", out.module), topic));
      rest.remove_prefix(slash + 1);
      out.kind = ClientTopicKind::kModuleMessage;
    }
    if (!absl::ConsumePrefix(&rest, "messages/events")) return unknown;
    ASSIGN_OR_RETURN(out.properties, ParseEventsSuffix(rest, topic));
    return out;
  }

  if (absl::ConsumePrefix(&rest, "$iothub/twin/GET/?")) {
    out.kind = ClientTopicKind::kTwinGet;
    ASSIGN_OR_RETURN(out.request_id, RequestIdOf(rest, topic));
    return out;
  }
  if (absl::ConsumePrefix(&rest, "$iothub/twin/PATCH/properties/reported/?")) {
    out.kind = ClientTopicKind::kTwinReportedPatch;
    ASSIGN_OR_RETURN(out.request_id, RequestIdOf(rest, topic));
    return out;
  }
  if (absl::ConsumePrefix(&rest, "$iothub/methods/res/")) {
    size_t end = rest.find("/?");
    if (end == absl::string_view::npos || end == 0) return unknown;
    absl::string_view status = rest.substr(0, end);
    if (status.find('/') != absl::string_view::npos) return unknown;
    out.kind = ClientTopicKind::kMethodResponse;
    if (!absl::SimpleAtoi(status, &out.status)) out.status = 400;
    ASSIGN_OR_RETURN(out.request_id, RequestIdOf(rest.substr(end + 2), topic));
    return out;
  }
  return unknown;
}

absl::Status CheckTopicIdentity(const ClientTopic& topic, const IdentityId& client) {
  if (topic.kind != ClientTopicKind::kDeviceTelemetry &&
      topic.kind != ClientTopicKind::kModuleMessage) {
    return absl::OkStatus();
  }
  if (topic.device != client.device() || topic.module != client.module()) {
    const std::string named =
        topic.module.empty() ? topic.device : absl::StrCat(topic.device, "/", topic.module);
    return absl::PermissionDeniedError(
        absl::StrCat("client \"", client.ToString(), "\" may not publish as \"", named, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<ClientTopic> ParseClientTopicFor(absl::string_view topic, const IdentityId& client) {
  ASSIGN_OR_RETURN(ClientTopic parsed, ParseClientTopic(topic));
  RETURN_IF_ERROR(CheckTopicIdentity(parsed, client));
  return parsed;
}

bool IsAllowedSubscription(const IdentityId& client, absl::string_view filter) {
  if (filter == "$iothub/twin/res/#" || filter == "$iothub/twin/PATCH/properties/desired/#" ||
      filter == "$iothub/methods/POST/#") {
    return true;
  }
  if (!client.is_module()) {
    return filter == absl::StrCat("devices/", client.device(), "/messages/devicebound/#");
  }
  const std::string module_root =
      absl::StrCat("devices/", client.device(), "/modules/", client.module(), "/");
  return filter == absl::StrCat(module_root, "#") ||
         filter == absl::StrCat(module_root, "inputs/#");
}

std::string CloudToDeviceTopic(absl::string_view device, const MessageProperties& properties) {
  return absl::StrCat("devices/", device, "/messages/devicebound/", EncodeProperties(properties));
}

absl::StatusOr<std::string> ModuleInputTopic(const IdentityId& module, absl::string_view input,
                                             const MessageProperties& properties) {
  if (!module.is_module()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", module.ToString(), "\" is a device; only modules have inputs"));
  }
  if (!IsTopicSafeName(input)) {
    return absl::InvalidArgumentError(
        absl::StrCat("input name \"", input, "\" is empty or contains / + #"));
  }
  return absl::StrCat("devices/", module.device(), "/modules/", module.module(), "/inputs/", input,
                      "/", EncodeProperties(properties));
}

std::string TwinResponseTopic(int status, absl::string_view rid, std::optional<int64_t> version) {
  std::string topic = absl::StrCat("$iothub/twin/res/", status, "/?$rid=", UrlEncode(rid));
  if (version) absl::StrAppend(&topic, "&$version=", *version);
  return topic;
}

std::string DesiredPatchTopic(int64_t version) {
  return absl::StrCat("$iothub/twin/PATCH/properties/desired/?$version=", version);
}

absl::StatusOr<std::string> MethodRequestTopic(absl::string_view method, absl::string_view rid) {
  if (!IsTopicSafeName(method) || method.find('?') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("method name \"", method, "\" is empty or contains / + # ?"));
  }
  if (method.size() > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("method name is ", method.size(), " characters; at most 100"));
  }
  return absl::StrCat("$iothub/methods/POST/", method, "/?$rid=", UrlEncode(rid));
}

}  // namespace edge
