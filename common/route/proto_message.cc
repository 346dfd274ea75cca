#include "common/route/proto_message.h"

#include "absl/time/time.h"

namespace edge::route {

ProtoMessageView::ProtoMessageView(const edge::common::v1::Message& message) {
  application_.reserve(message.application_properties_size());
  for (const auto& [name, value] : message.application_properties()) {
    application_.push_back(Property{name, value});
  }
  system_.reserve(message.system_properties_size() + 4);
  for (const auto& [name, value] : message.system_properties()) {
    system_.push_back(Property{name, value});
  }
  const auto add_if_absent = [&](absl::string_view name, absl::string_view value) {
    if (!value.empty() && FindProperty(system_, name) == nullptr) {
      system_.push_back(Property{name, value});
    }
  };
  const edge::common::v1::Source& source = message.source();
  add_if_absent("connectionDeviceId", source.device_id());
  add_if_absent("connectionModuleId", source.module_id());
  add_if_absent("outputName", source.output_name());
  if (message.enqueued_time_unix_ms() > 0) {
    enqueued_time_ = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                      absl::FromUnixMillis(message.enqueued_time_unix_ms()),
                                      absl::UTCTimeZone());
    add_if_absent("enqueuedTime", enqueued_time_);
  }

  view_.kind = source.kind() == edge::common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION
                   ? SourceKind::kTwinChangeNotification
                   : SourceKind::kTelemetry;
  view_.module_id = source.module_id();
  view_.output_name = source.output_name();
  view_.application_properties = application_;
  view_.system_properties = system_;
  view_.body = message.body();
}

}  // namespace edge::route
