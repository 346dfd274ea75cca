// Test fixtures for the route language: TestMessage builds a MessageView with owned storage, so a
// test states only the properties and body that matter.
//
// Example:
//   TestMessage m = TestMessage().App("temp", "35").Json(R"({"t": 1})").FromModule("s", "out1");
//   MessageContext context(m.view());
#ifndef EDGE_TESTS_UNIT_ROUTE_TEST_MESSAGE_H_
#define EDGE_TESTS_UNIT_ROUTE_TEST_MESSAGE_H_

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/route/message.h"

namespace edge::route::testing {

class TestMessage {
 public:
  TestMessage& App(std::string name, std::string value) {
    app_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  TestMessage& Sys(std::string name, std::string value) {
    sys_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  TestMessage& Body(std::string body) {
    body_ = std::move(body);
    return *this;
  }
  // A JSON body with contentType application/json and contentEncoding utf-8.
  TestMessage& Json(std::string body) {
    return Sys("contentType", "application/json").Sys("contentEncoding", "utf-8").Body(body);
  }
  TestMessage& FromModule(std::string module, std::string output = "") {
    module_ = std::move(module);
    output_ = std::move(output);
    return *this;
  }
  TestMessage& TwinChange() {
    kind_ = SourceKind::kTwinChangeNotification;
    return *this;
  }

  // Valid until the next change to this TestMessage.
  MessageView view() {
    app_view_.clear();
    for (const auto& [name, value] : app_) app_view_.push_back(Property{name, value});
    sys_view_.clear();
    for (const auto& [name, value] : sys_) sys_view_.push_back(Property{name, value});
    MessageView view;
    view.kind = kind_;
    view.module_id = module_;
    view.output_name = output_;
    view.application_properties = app_view_;
    view.system_properties = sys_view_;
    view.body = body_;
    return view;
  }

 private:
  // A deque keeps earlier strings in place as more are added.
  std::deque<std::pair<std::string, std::string>> app_;
  std::deque<std::pair<std::string, std::string>> sys_;
  std::vector<Property> app_view_;
  std::vector<Property> sys_view_;
  std::string body_;
  std::string module_;
  std::string output_;
  SourceKind kind_ = SourceKind::kTelemetry;
};

// A message from a source path as written in the seed data: `/messages/`,
// `/messages/modules/{m}/`, `/messages/modules/{m}/outputs/{o}` or `/twinChangeNotifications`.
inline TestMessage FromSourcePath(std::string path) {
  TestMessage m;
  if (path.rfind("/twinChangeNotifications", 0) == 0) return std::move(m.TwinChange());
  std::vector<std::string> parts;
  std::string part;
  for (char c : path) {
    if (c == '/') {
      if (!part.empty()) parts.push_back(part);
      part.clear();
    } else {
      part.push_back(c);
    }
  }
  if (!part.empty()) parts.push_back(part);
  if (parts.size() >= 3) m.FromModule(parts[2], parts.size() >= 5 ? parts[4] : "");
  return m;
}

}  // namespace edge::route::testing

#endif  // EDGE_TESTS_UNIT_ROUTE_TEST_MESSAGE_H_
