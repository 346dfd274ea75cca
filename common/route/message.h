// The route language's view of a message, and the per-message evaluation context.
//
// MessageView is a borrowed, allocation-free description of one message: its source, its
// application and system properties and its body. The library defines it instead of depending on
// edge::common::v1::Message so that it stays free of protobuf and gRPC; proto_message.h adapts the
// proto (target edge::route_proto). Property names are matched case-insensitively; when a message
// carries two names that differ only in case, the one spelled exactly as in the condition wins,
// otherwise the first.
//
// MessageContext wraps one MessageView while routes are evaluated: it computes the source path
// once and parses the body as JSON at most once, however many routes and body queries ask. Create
// one per message and share it across every route of a configuration. Not thread-safe (one
// message, one thread); the MessageView and the storage it points to must outlive it.
//
// Example:
//   Property app[] = {{"alert", "true"}};
//   Property sys[] = {{"contentType", "application/json"}, {"contentEncoding", "utf-8"}};
//   MessageView view{.module_id = "sensor", .output_name = "out1",
//                    .application_properties = app, .system_properties = sys,
//                    .body = R"({"temp": 35})"};
//   MessageContext context(view);
//   context.source_path();   // "/messages/modules/sensor/outputs/out1/"
//   context.JsonBody();      // parsed once, cached
#ifndef EDGE_COMMON_ROUTE_MESSAGE_H_
#define EDGE_COMMON_ROUTE_MESSAGE_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "nlohmann/json_fwd.hpp"

namespace edge::route {

struct Property {
  absl::string_view name;
  absl::string_view value;
};

enum class SourceKind {
  // Device telemetry or a module output: `/messages/...`.
  kTelemetry,
  // A reported-properties change: `/twinChangeNotifications/`.
  kTwinChangeNotification,
};

struct MessageView {
  SourceKind kind = SourceKind::kTelemetry;
  // The sending module; empty for a device (leaf telemetry).
  absl::string_view module_id = {};
  // The module output (`$.on`); empty when the module sent without one.
  absl::string_view output_name = {};
  // As the sender set them.
  absl::Span<const Property> application_properties = {};
  // By the names the condition language uses without the `$`: messageId, correlationId, userId,
  // to, contentType, contentEncoding, connectionDeviceId, connectionModuleId, enqueuedTime, ...
  absl::Span<const Property> system_properties = {};
  absl::string_view body = {};
};

// The message's source path with its trailing `/`: `/messages/` for leaf telemetry,
// `/messages/modules/{m}/outputs/{o}/`, `/messages/modules/{m}/` without an output, and
// `/twinChangeNotifications/`.
std::string SourcePath(const MessageView& message);

// The property named `name` (ASCII case-insensitive; an exact-case match wins), or nullptr.
const Property* FindProperty(absl::Span<const Property> properties, absl::string_view name);

class MessageContext {
 public:
  explicit MessageContext(const MessageView& message);
  ~MessageContext();
  MessageContext(const MessageContext&) = delete;
  MessageContext& operator=(const MessageContext&) = delete;

  const MessageView& message() const { return message_; }

  // SourcePath(message()), computed on first use.
  absl::string_view source_path();

  // The body for `$body` queries, or nullptr when it cannot be queried: contentType must be
  // application/json (parameters after `;` ignored) and contentEncoding utf-8, utf-16 or utf-32
  // (utf-16be/le, utf-32be/le too; without a byte-order mark utf-16/utf-32 are little-endian, as
  // in .NET), and the decoded body must be valid JSON. body_problem() says why when nullptr.
  const nlohmann::json* JsonBody();

  // The body parsed as JSON whatever its contentType (twin change notifications are produced by
  // the runtime and always JSON): contentEncoding still selects the decoding, utf-8 when absent.
  const nlohmann::json* JsonBodyIgnoringContentType();

  // Why the last JsonBody*() call returned nullptr; empty otherwise.
  absl::string_view body_problem() const { return body_problem_; }

  // How many times the body was parsed: 0 or 1, whatever was asked. Tests use it.
  int body_parse_count() const { return body_parse_count_; }

 private:
  const nlohmann::json* ParseOnce();

  MessageView message_;
  bool source_path_computed_ = false;
  std::string source_path_;
  // Content-type and encoding checks, made once: empty when they pass.
  bool gate_checked_ = false;
  std::string gate_problem_;
  std::string encoding_problem_;
  bool parse_attempted_ = false;
  int body_parse_count_ = 0;
  std::unique_ptr<nlohmann::json> json_;
  std::string parse_problem_;
  // Points into one of the problem strings above.
  absl::string_view body_problem_;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_MESSAGE_H_
