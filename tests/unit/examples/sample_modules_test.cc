// The sample modules' logic without MQTT: the sensor's settings from desired properties and its
// readings, the filter's threshold, alerts, counts and reset, and how a module reads its
// connection from the environment the agent gives it.
#include <string>

#include "absl/time/time.h"
#include "examples/modules/module_client.h"
#include "examples/modules/temperature_filter.h"
#include "examples/modules/temperature_sensor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edge::examples {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

// --- SensorSettings ---------------------------------------------------------------------------

TEST(SensorSettingsTest, DesiredPropertiesSetIntervalCountAndSendData) {
  SensorSettings settings;
  EXPECT_THAT(
      settings.Apply(
          {{"SendInterval", 0.25}, {"MessageCount", 10}, {"SendData", false}, {"$version", 4}}),
      IsEmpty());
  EXPECT_EQ(settings.send_interval, absl::Milliseconds(250));
  EXPECT_EQ(settings.message_count, 10);
  EXPECT_FALSE(settings.send_data);
  EXPECT_EQ(settings.ToJson(),
            Json({{"SendInterval", 0.25}, {"MessageCount", 10}, {"SendData", false}}));
}

TEST(SensorSettingsTest, APatchChangesOnlyWhatItNames) {
  SensorSettings settings;
  settings.Apply({{"SendInterval", 2}, {"MessageCount", 5}});
  EXPECT_THAT(settings.Apply({{"MessageCount", 7}}), IsEmpty());
  EXPECT_EQ(settings.send_interval, absl::Seconds(2));
  EXPECT_EQ(settings.message_count, 7);
}

TEST(SensorSettingsTest, NullGoesBackToTheDefault) {
  SensorSettings settings;
  settings.Apply({{"SendInterval", 2}, {"SendData", false}});
  EXPECT_THAT(settings.Apply({{"SendInterval", nullptr}, {"SendData", nullptr}}), IsEmpty());
  EXPECT_EQ(settings.send_interval, absl::Seconds(1));
  EXPECT_TRUE(settings.send_data);
}

TEST(SensorSettingsTest, BadValuesAreNamedAndKeepTheSetting) {
  SensorSettings settings;
  settings.Apply({{"SendInterval", 3}});
  EXPECT_THAT(
      settings.Apply({{"SendInterval", "fast"}, {"MessageCount", -1}, {"SendData", 1}}),
      ElementsAre(HasSubstr("SendInterval"), HasSubstr("MessageCount"), HasSubstr("SendData")));
  EXPECT_THAT(settings.Apply({{"SendInterval", 0}}), ElementsAre(HasSubstr("0.01 to 86400")));
  EXPECT_THAT(settings.Apply({{"MessageCount", 1.5}}), ElementsAre(HasSubstr("whole number")));
  EXPECT_EQ(settings.send_interval, absl::Seconds(3));
  EXPECT_EQ(settings.message_count, 0);
  EXPECT_TRUE(settings.send_data);
}

// --- TemperatureSimulator ---------------------------------------------------------------------

TEST(TemperatureSimulatorTest, ReadingsHaveTheSamplesShapeAndStayInRange) {
  TemperatureSimulator simulator(7);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  bool wrapped = false;
  double previous = 0;
  for (int i = 0; i < 200; ++i) {
    Json reading = simulator.Next(now);
    const double machine = reading["machine"]["temperature"].get<double>();
    EXPECT_GE(machine, TemperatureSimulator::kMachineMin);
    EXPECT_LE(machine, TemperatureSimulator::kMachineMax);
    EXPECT_GE(reading["machine"]["pressure"].get<double>(), 1);
    EXPECT_LE(reading["machine"]["pressure"].get<double>(), 10);
    EXPECT_NEAR(reading["ambient"]["temperature"].get<double>(), 21, 0.5);
    EXPECT_GE(reading["ambient"]["humidity"].get<int>(), 24);
    EXPECT_LE(reading["ambient"]["humidity"].get<int>(), 27);
    EXPECT_EQ(reading["timeCreated"], "2027-01-15T08:00:00.000Z");
    if (i > 0 && machine < previous) wrapped = true;
    previous = machine;
  }
  EXPECT_TRUE(wrapped) << "the machine never cooled down again";
}

TEST(TemperatureSimulatorTest, TheSameSeedGivesTheSameReadings) {
  TemperatureSimulator a(42);
  TemperatureSimulator b(42);
  const absl::Time now = absl::UnixEpoch();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next(now), b.Next(now));
}

// --- TemperatureFilter ------------------------------------------------------------------------

std::string Reading(double machine_temperature) {
  return Json({{"machine", {{"temperature", machine_temperature}, {"pressure", 1}}}}).dump();
}

TEST(TemperatureFilterTest, ForwardsOnlyReadingsAboveTheThreshold) {
  TemperatureFilter filter;
  EXPECT_THAT(filter.Apply({{"TemperatureThreshold", 60}}), IsEmpty());
  EXPECT_EQ(filter.Process(Reading(60)), std::nullopt);
  EXPECT_EQ(filter.Process(Reading(61.5)), Reading(61.5));
  EXPECT_EQ(filter.ToReported()["received"], 2);
  EXPECT_EQ(filter.ToReported()["alerts"], 1);
}

TEST(TemperatureFilterTest, TheDefaultThresholdIsTheSamples) {
  TemperatureFilter filter;
  EXPECT_EQ(filter.ToReported()["TemperatureThreshold"], 25.0);
  EXPECT_NE(filter.Process(Reading(26)), std::nullopt);
}

TEST(TemperatureFilterTest, ABadThresholdIsNamedAndKeepsTheOld) {
  TemperatureFilter filter;
  filter.Apply({{"TemperatureThreshold", 40}});
  EXPECT_THAT(filter.Apply({{"TemperatureThreshold", "hot"}}),
              ElementsAre(HasSubstr("TemperatureThreshold")));
  EXPECT_EQ(filter.ToReported()["TemperatureThreshold"], 40.0);
  EXPECT_THAT(filter.Apply({{"TemperatureThreshold", nullptr}}), IsEmpty());
  EXPECT_EQ(filter.ToReported()["TemperatureThreshold"], 25.0);
}

TEST(TemperatureFilterTest, WhatIsNotAReadingIsCountedNotForwarded) {
  TemperatureFilter filter;
  EXPECT_EQ(filter.Process("not json"), std::nullopt);
  EXPECT_EQ(filter.Process(R"({"machine":{"temperature":"hot"}})"), std::nullopt);
  EXPECT_EQ(filter.Process(R"([1,2])"), std::nullopt);
  EXPECT_EQ(filter.ToReported()["malformed"], 3);
  EXPECT_EQ(filter.ToReported()["alerts"], 0);
}

TEST(TemperatureFilterTest, ResetAnswersTheCountsAndZeroesThem) {
  TemperatureFilter filter;
  filter.Process(Reading(30));
  filter.Process(Reading(20));
  filter.Process("x");
  EXPECT_EQ(filter.Reset(absl::FromUnixSeconds(1'800'000'000)),
            Json({{"received", 3}, {"alerts", 1}, {"malformed", 1}}));
  Json reported = filter.ToReported();
  EXPECT_EQ(reported["received"], 0);
  EXPECT_EQ(reported["alerts"], 0);
  EXPECT_EQ(reported["lastReset"], "2027-01-15T08:00:00.000Z");
}

// --- ModuleClientOptions ----------------------------------------------------------------------

constexpr char kKey[] = "c2VjcmV0LWtleS1mb3ItdGhlLXNhbXBsZS1tb2R1bGU=";

TEST(ModuleClientOptionsTest, ReadsTheAgentsConnectionString) {
  absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromConnectionString(
      absl::StrCat("HostName=hub.local;GatewayHostName=localhost:18883;DeviceId=edge-device;"
                   "ModuleId=tempSensor;SharedAccessKey=",
                   kKey),
      "/certs/ca.pem");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "localhost");
  EXPECT_EQ(options->port, 18883);
  EXPECT_EQ(options->iothub_hostname, "hub.local");
  EXPECT_EQ(options->device_id, "edge-device");
  EXPECT_EQ(options->module_id, "tempSensor");
  EXPECT_EQ(options->shared_access_key, kKey);
  EXPECT_EQ(options->ca_certificate_file, "/certs/ca.pem");
}

TEST(ModuleClientOptionsTest, WithoutAPortTheGatewayIsOnMqttsPort) {
  absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromConnectionString(
      absl::StrCat("HostName=hub.local;GatewayHostName=gw;DeviceId=d;ModuleId=m;SharedAccessKey=",
                   kKey),
      "ca.pem");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "gw");
  EXPECT_EQ(options->port, 8883);
}

TEST(ModuleClientOptionsTest, WithoutAGatewayTheHostNameIsUsed) {
  absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromConnectionString(
      absl::StrCat("HostName=hub.local;DeviceId=d;ModuleId=m;SharedAccessKey=", kKey), "ca.pem");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "hub.local");
}

TEST(ModuleClientOptionsTest, AMissingFieldIsNamed) {
  absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromConnectionString(
      absl::StrCat("HostName=hub.local;DeviceId=d;SharedAccessKey=", kKey), "ca.pem");
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(options.status().message(), HasSubstr("no ModuleId"));
}

TEST(ModuleClientOptionsTest, ABadPortOrAMalformedStringIsRefused) {
  EXPECT_THAT(
      ModuleClientOptions::FromConnectionString(
          "HostName=h;GatewayHostName=gw:99999;DeviceId=d;ModuleId=m;SharedAccessKey=k", "ca.pem")
          .status()
          .message(),
      HasSubstr("bad port"));
  EXPECT_THAT(ModuleClientOptions::FromConnectionString("HostName=h;;DeviceId=d", "ca.pem")
                  .status()
                  .message(),
              HasSubstr("EdgeHubConnectionString"));
}

}  // namespace
}  // namespace edge::examples
