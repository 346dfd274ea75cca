// The hub's two translations between MQTT and the runtime's message model (edge.common.v1.Message,
// docs/iothub-surface.md §2): a client's accepted publish into the message the ingest journal
// keeps, and a module-input delivery back into the topic the module client receives it on. Pure:
// no broker, no I/O.
//
// Example:
//   ClientTopic topic;  // from ClientGate::CheckPublish
//   common::v1::Message message = IngestMessage(client, topic, payload, absl::Now(), "e1-42");
//   ASSIGN_OR_RETURN(std::string topic, ModuleInputDeliveryTopic(module, "in1", message));
#ifndef EDGE_SERVICES_HUB_PLUGIN_INGEST_MESSAGE_H_
#define EDGE_SERVICES_HUB_PLUGIN_INGEST_MESSAGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity_id.h"
#include "common/iothub_topic.h"
#include "edge/common/v1/message.pb.h"
#include "services/hub/plugin/client_gate.h"

namespace edge::hub {

// The message for a telemetry or module-message publish (`topic.kind` kDeviceTelemetry or
// kModuleMessage): the body; the bag's system properties by name and its application properties;
// the source (kind telemetry, the client's device and module, `outputName` as the output); the
// enqueued time; `edge_message_id`; and the edge-internal system properties
// `connectionAuthMethod` (JSON, as IoT Edge writes it) and `edgeHubOriginInterface` ("internal"
// for a module, "downstream" for a device).
common::v1::Message IngestMessage(const ClientState& client, const ClientTopic& topic,
                                  absl::string_view payload, absl::Time enqueued,
                                  std::string edge_message_id);

// The `/twinChangeNotifications` message for a reported-properties patch that the store applied:
// body the patch with `$version`, source kind twin change notification of `identity`.
common::v1::Message TwinChangeNotification(const IdentityId& identity, absl::string_view patch_json,
                                           int64_t version, absl::Time enqueued,
                                           std::string edge_message_id);

// The topic a module receives `message` on as input `input`:
// devices/{d}/modules/{m}/inputs/{input}/{props}, the props being the message's system properties
// (those §2 knows), `$.cdid`/`$.cmid` (the source's identity) and its application properties.
// INVALID_ARGUMENT as ModuleInputTopic.
absl::StatusOr<std::string> ModuleInputDeliveryTopic(const IdentityId& module,
                                                     absl::string_view input,
                                                     const common::v1::Message& message);

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_INGEST_MESSAGE_H_
