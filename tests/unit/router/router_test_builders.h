// Builders for the router's tests: messages as the hub would send them, ingest batches and
// `$edgeHub` desired documents, so tests say what they route rather than spelling out protos.
#ifndef EDGE_TESTS_UNIT_ROUTER_ROUTER_TEST_BUILDERS_H_
#define EDGE_TESTS_UNIT_ROUTER_ROUTER_TEST_BUILDERS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "edge/common/v1/message.pb.h"
#include "edge/router/v1/router.pb.h"
#include "nlohmann/json.hpp"

namespace edge::router::testing {

// A message module `module` sent on `output` of device `edge-device`.
inline common::v1::Message ModuleMessage(const std::string& module, const std::string& output,
                                         const std::string& body) {
  common::v1::Message message;
  message.set_body(body);
  message.mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  message.mutable_source()->set_device_id("edge-device");
  message.mutable_source()->set_module_id(module);
  message.mutable_source()->set_output_name(output);
  return message;
}

// Telemetry of leaf device `device`.
inline common::v1::Message DeviceMessage(const std::string& device, const std::string& body) {
  common::v1::Message message;
  message.set_body(body);
  message.mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  message.mutable_source()->set_device_id(device);
  return message;
}

// A reported-properties change notification of `device` (no `/messages/*` route matches it).
inline common::v1::Message TwinChange(const std::string& device) {
  common::v1::Message message;
  message.set_body(R"({"properties":{"reported":{"x":1}}})");
  message.mutable_source()->set_kind(common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION);
  message.mutable_source()->set_device_id(device);
  return message;
}

inline v1::IngestBatch Batch(const std::string& journal, uint64_t first_sequence,
                             std::vector<common::v1::Message> messages) {
  v1::IngestBatch batch;
  batch.set_journal_id(journal);
  batch.set_first_sequence(first_sequence);
  for (auto& m : messages) *batch.add_messages() = std::move(m);
  return batch;
}

// `$edgeHub` desired properties; each route is {name, route} or a full object (schema 1.1).
class DesiredBuilder {
 public:
  explicit DesiredBuilder(std::string schema_version = "1.1") {
    json_["schemaVersion"] = std::move(schema_version);
    json_["routes"] = nlohmann::json::object();
  }
  DesiredBuilder& Route(const std::string& name, const std::string& route) {
    json_["routes"][name] = route;
    return *this;
  }
  DesiredBuilder& Route(const std::string& name, const std::string& route, int priority,
                        int64_t ttl_seconds) {
    json_["routes"][name] = {
        {"route", route}, {"priority", priority}, {"timeToLiveSecs", ttl_seconds}};
    return *this;
  }
  DesiredBuilder& GlobalTtl(int64_t seconds) {
    json_["storeAndForwardConfiguration"] = {{"timeToLiveSecs", seconds}};
    return *this;
  }
  std::string Json() const { return json_.dump(); }

 private:
  nlohmann::json json_;
};

inline constexpr const char* kModuleBInput = R"(BrokeredEndpoint("/modules/B/inputs/in1"))";

}  // namespace edge::router::testing

#endif  // EDGE_TESTS_UNIT_ROUTER_ROUTER_TEST_BUILDERS_H_
