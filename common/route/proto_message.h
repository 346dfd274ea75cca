// Adapts an edge::common::v1::Message (the runtime's message model) to the route language's
// MessageView. Separate from edge::route (target edge::route_proto) so the language itself depends
// on neither protobuf nor gRPC.
//
// System properties are taken from the message's map by their long names (messageId,
// contentType, ...). Those the hub records elsewhere in the message are added when the map lacks
// them: connectionDeviceId and connectionModuleId from source.device_id / source.module_id,
// outputName from source.output_name, and enqueuedTime (ISO 8601 UTC with milliseconds, e.g.
// 2024-05-01T12:00:00.000Z) from enqueued_time_unix_ms.
//
// The adapter borrows the message: keep the message alive and unchanged while the view is used.
//
// Example:
//   ProtoMessageView adapted(message);
//   MessageContext context(adapted.view());
//   table.Evaluate(context, &targets);
#ifndef EDGE_COMMON_ROUTE_PROTO_MESSAGE_H_
#define EDGE_COMMON_ROUTE_PROTO_MESSAGE_H_

#include <string>
#include <vector>

#include "common/route/message.h"
#include "edge/common/v1/message.pb.h"

namespace edge::route {

class ProtoMessageView {
 public:
  explicit ProtoMessageView(const edge::common::v1::Message& message);
  ProtoMessageView(const ProtoMessageView&) = delete;
  ProtoMessageView& operator=(const ProtoMessageView&) = delete;

  const MessageView& view() const { return view_; }

 private:
  std::vector<Property> application_;
  std::vector<Property> system_;
  std::string enqueued_time_;
  MessageView view_;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_PROTO_MESSAGE_H_
