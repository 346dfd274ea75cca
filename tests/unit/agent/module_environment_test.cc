// The environment the agent gives every module (module_environment.h): the connection string, the
// IOTEDGE_* variables, and the connection string's parser.
#include "services/agent/module_environment.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/sas.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kKey[] = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy0wMTIzNDU2Nzg=";

ModuleConnection Sensor() {
  return ConnectionOf({.iothub_hostname = "hub.azure-devices.net",
                       .gateway_hostname = "gw.local",
                       .ca_certificate_file = "/edge/certs/ca.pem"},
                      "edge-device", "sensor", kKey);
}

TEST(ModuleEnvironmentTest, ConnectionStringHasEveryFieldInIoTEdgesOrder) {
  EXPECT_EQ(EdgeHubConnectionString(Sensor()),
            absl::StrCat("HostName=hub.azure-devices.net;GatewayHostName=gw.local;"
                         "DeviceId=edge-device;ModuleId=sensor;SharedAccessKey=",
                         kKey));
}

TEST(ModuleEnvironmentTest, ConnectionStringParsesBackWithTheKeysPadding) {
  absl::StatusOr<std::map<std::string, std::string>> fields =
      ParseConnectionString(EdgeHubConnectionString(Sensor()));
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_THAT(*fields,
              ElementsAre(Pair("DeviceId", "edge-device"), Pair("GatewayHostName", "gw.local"),
                          Pair("HostName", "hub.azure-devices.net"), Pair("ModuleId", "sensor"),
                          Pair("SharedAccessKey", kKey)));
}

TEST(ModuleEnvironmentTest, EveryVariableInOrder) {
  EXPECT_THAT(
      ModuleEnvironment(Sensor()),
      ElementsAre(Pair("EdgeHubConnectionString", EdgeHubConnectionString(Sensor())),
                  Pair("EdgeModuleCACertificateFile", "/edge/certs/ca.pem"),
                  Pair("IOTEDGE_DEVICEID", "edge-device"), Pair("IOTEDGE_MODULEID", "sensor"),
                  Pair("IOTEDGE_IOTHUBHOSTNAME", "hub.azure-devices.net"),
                  Pair("IOTEDGE_GATEWAYHOSTNAME", "gw.local"),
                  Pair("IOTEDGE_AUTHSCHEME", "sasToken")));
}

TEST(ModuleEnvironmentTest, TheSameConnectionGivesTheSameEnvironment) {
  EXPECT_EQ(ModuleEnvironment(Sensor()), ModuleEnvironment(Sensor()));
}

TEST(ModuleEnvironmentTest, AgentVariablesAreExactlyTheOnesSet) {
  for (const auto& [name, value] : ModuleEnvironment(Sensor())) {
    EXPECT_TRUE(IsAgentVariable(name)) << name;
  }
  EXPECT_FALSE(IsAgentVariable("IOTEDGE_WORKLOADURI"));
  EXPECT_FALSE(IsAgentVariable("iotedge_moduleid"));  // names are case-sensitive
  EXPECT_FALSE(IsAgentVariable("PATH"));
}

TEST(ModuleEnvironmentTest, MalformedConnectionStringsAreInvalidArgument) {
  for (const char* text : {"", "HostName=a;;DeviceId=b", "HostName", "=x", "A=1;A=2"}) {
    EXPECT_EQ(ParseConnectionString(text).status().code(), absl::StatusCode::kInvalidArgument)
        << text;
  }
}

}  // namespace
}  // namespace edge::agent
