// IoT Hub MQTT topics and property bags (docs/iothub-surface.md §2): what a client publishes, what
// it may subscribe to, and the topics the hub delivers on. Pure string work: no broker, no I/O.
//
// Example:
//   ASSIGN_OR_RETURN(IdentityId client, IdentityId::Parse("edge-1/filter"));
//   ASSIGN_OR_RETURN(ClientTopic t, ParseClientTopicFor(
//       "devices/edge-1/modules/filter/messages/events/%24.on=out1&temp=21/", client));
//   // t.kind == ClientTopicKind::kModuleMessage, t.properties.system["outputName"] == "out1",
//   // t.properties.application["temp"] == "21"
//   IsAllowedSubscription(client, "devices/edge-1/modules/filter/inputs/#");  // true
//   ASSIGN_OR_RETURN(std::string deliver_on, ModuleInputTopic(client, "in1", t.properties));
//   // "devices/edge-1/modules/filter/inputs/in1/temp=21" ($.on is inbound only)
#ifndef EDGE_COMMON_IOTHUB_TOPIC_H_
#define EDGE_COMMON_IOTHUB_TOPIC_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity_id.h"

namespace edge {

// §2: body plus every property key and value, at most 256 KiB.
inline constexpr size_t kMaxMessageBytes = 262144;

// The properties of one message. System properties are keyed by their name (`messageId`), never by
// their wire form (`$.mid`); everything else is an application property under its own key.
// std::map so that encoding is deterministic (tests, logs, dedup).
struct MessageProperties {
  std::map<std::string, std::string> system;
  std::map<std::string, std::string> application;

  bool operator==(const MessageProperties& o) const {
    return system == o.system && application == o.application;
  }
};

// The system property name for a wire key (`$.mid` → `messageId`), or nullopt when `wire_key` is
// not one of §2's system properties (including `$.cdid`/`$.cmid`, see DecodeProperties).
// Known: $.mid messageId, $.cid correlationId, $.uid userId, $.to to, $.exp expiryTimeUtc,
// $.ct contentType, $.ce contentEncoding, $.schema messageSchema, $.ctime creationTime,
// $.on outputName, $.ifid interfaceId, $.sub componentName, iothub-operation, ack.
std::optional<std::string> SystemPropertyName(absl::string_view wire_key);

// Decodes a property bag `k=v&k=v` (each key and value URL-decoded; `+` is not a space; one
// trailing `/` optional; empty bag OK; an empty segment such as `a=1&&b=2` is skipped; `k` alone
// means an empty value; a repeated key keeps the last value).
// `$.cdid` and `$.cmid` are dropped: the hub sets them on delivery and a client must not be able to
// spoof another identity's connection ids.
// INVALID_ARGUMENT for a malformed percent-escape or an empty key (`=v`).
absl::StatusOr<MessageProperties> DecodeProperties(absl::string_view bag);

// Encodes for delivery: system properties first, in §2's order and in wire form, then application
// properties by key; keys and values percent-encoded as UrlEncode does (so `$.mid` goes out as
// `%24.mid`, which is what IoT Hub itself sends). `outputName` is not encoded: §2 makes `$.on`
// inbound only (the receiver sees the input name in the topic instead). A system property whose
// name is not known is skipped, except the delivery-only `connectionDeviceId` (`$.cdid`) and
// `connectionModuleId` (`$.cmid`), which the caller adds. No trailing `/`.
std::string EncodeProperties(const MessageProperties& properties);

// Bytes counted against kMaxMessageBytes: body + every key and value, system keys counted in
// their wire form (`$.mid`), i.e. as the client sent them. The caller compares and decides.
size_t MessageSize(absl::string_view body, const MessageProperties& properties);

enum class ClientTopicKind {
  kDeviceTelemetry,    // devices/{d}/messages/events/{props}
  kModuleMessage,      // devices/{d}/modules/{m}/messages/events/{props}
  kTwinGet,            // $iothub/twin/GET/?$rid={rid}
  kTwinReportedPatch,  // $iothub/twin/PATCH/properties/reported/?$rid={rid}
  kMethodResponse,     // $iothub/methods/res/{status}/?$rid={rid}
};

// A parsed client→hub publish topic.
struct ClientTopic {
  ClientTopicKind kind = ClientTopicKind::kDeviceTelemetry;
  // The identity named in a devices/… topic; empty for $iothub/… topics, which always mean the
  // connected client itself.
  std::string device;
  std::string module;
  MessageProperties properties;  // telemetry and module messages only
  std::string request_id;        // `$rid`, twin and method topics only
  // kMethodResponse only. §2: a status that is not an integer becomes 400, it is not an error.
  int status = 0;
};

// Parses any §2 client→hub topic. INVALID_ARGUMENT, with a message naming what is wrong (unknown
// topic, bad device/module id, bad property bag, missing `$rid`), for anything else.
// The identity is not checked here: see CheckTopicIdentity / ParseClientTopicFor.
absl::StatusOr<ClientTopic> ParseClientTopic(absl::string_view topic);

// PERMISSION_DENIED unless a devices/… topic names exactly `client` (a module may not publish as
// its device, nor a device as one of its modules). $iothub/… topics are always OK.
absl::Status CheckTopicIdentity(const ClientTopic& topic, const IdentityId& client);

// ParseClientTopic then CheckTopicIdentity.
absl::StatusOr<ClientTopic> ParseClientTopicFor(absl::string_view topic, const IdentityId& client);

// True when `filter` is exactly one of the SUBSCRIBE filters §2 gives `client`:
//   device: devices/{d}/messages/devicebound/#
//   module: devices/{d}/modules/{m}/#  and  devices/{d}/modules/{m}/inputs/#
//   both:   $iothub/twin/res/#, $iothub/twin/PATCH/properties/desired/#, $iothub/methods/POST/#
// No other wildcard, no other identity's topics.
bool IsAllowedSubscription(const IdentityId& client, absl::string_view filter);

// Hub→client delivery topics.

// devices/{d}/messages/devicebound/{props}
std::string CloudToDeviceTopic(absl::string_view device, const MessageProperties& properties);

// devices/{d}/modules/{m}/inputs/{input}/{props}. INVALID_ARGUMENT when `module` is not a module
// identity, or `input` is empty or contains `/`, `+` or `#` (it would change the topic's shape).
absl::StatusOr<std::string> ModuleInputTopic(const IdentityId& module, absl::string_view input,
                                             const MessageProperties& properties);

// $iothub/twin/res/{status}/?$rid={rid}[&$version={version}]; `rid` URL-encoded.
std::string TwinResponseTopic(int status, absl::string_view rid,
                              std::optional<int64_t> version = std::nullopt);

// $iothub/twin/PATCH/properties/desired/?$version={version}
std::string DesiredPatchTopic(int64_t version);

// $iothub/methods/POST/{method}/?$rid={rid}; `rid` URL-encoded. INVALID_ARGUMENT when `method` is
// empty, longer than 100 characters (§2) or contains `/`, `+`, `#` or `?`.
absl::StatusOr<std::string> MethodRequestTopic(absl::string_view method, absl::string_view rid);

}  // namespace edge

#endif  // EDGE_COMMON_IOTHUB_TOPIC_H_
