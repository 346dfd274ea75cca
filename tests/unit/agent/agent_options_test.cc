// AgentOptions::FromConfig: where the agent tells its modules the hub and IoT Hub are.
#include <string>

#include "common/config.h"
#include "gtest/gtest.h"
#include "services/agent/agent_server.h"

namespace edge::agent {
namespace {

constexpr char kKey[] = "c2VjcmV0LWtleS1mb3ItdGhlLWVkZ2UtZGV2aWNlLTAwMQ==";

HubEndpoint EndpointFor(const std::string& toml) {
  absl::StatusOr<Config> config = Config::Parse(toml);
  EXPECT_TRUE(config.ok()) << config.status();
  absl::StatusOr<AgentOptions> options = AgentOptions::FromConfig(*config, "/edge");
  EXPECT_TRUE(options.ok()) << options.status();
  return options.ok() ? options->reconciler.hub_endpoint : HubEndpoint{};
}

TEST(AgentOptionsTest, WithoutAnUpstreamTheHubsHostStandsForIotHubs) {
  HubEndpoint hub = EndpointFor("[device]\nhostname = \"gw.local\"\n");
  EXPECT_EQ(hub.iothub_hostname, "gw.local");
  EXPECT_EQ(hub.gateway_hostname, "gw.local");
  EXPECT_EQ(hub.ca_certificate_file, "/edge/certs/ca.pem");
}

TEST(AgentOptionsTest, TheUpstreamConnectionStringNamesIotHub) {
  HubEndpoint hub = EndpointFor(std::string("[device]\nhostname = \"gw.local\"\n") +
                                "connection_string = \"HostName=hub.example.net;DeviceId=" +
                                "edge-device;SharedAccessKey=" + kKey + "\"\n");
  EXPECT_EQ(hub.iothub_hostname, "hub.example.net");
  EXPECT_EQ(hub.gateway_hostname, "gw.local");
}

TEST(AgentOptionsTest, AHubPortOtherThan8883TravelsInTheGatewayHostName) {
  EXPECT_EQ(
      EndpointFor("[device]\nhostname = \"gw.local\"\n[hub]\nsas_port = 18883\n").gateway_hostname,
      "gw.local:18883");
  EXPECT_EQ(EndpointFor("[hub]\nsas_port = 8883\n").gateway_hostname, "localhost");
}

}  // namespace
}  // namespace edge::agent
