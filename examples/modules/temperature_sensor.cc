#include "examples/modules/temperature_sensor.h"

#include <cmath>

namespace edge::examples {
namespace {

constexpr double kMinIntervalSeconds = 0.01;
constexpr double kMaxIntervalSeconds = 86400;
constexpr double kPressureMin = 1;
constexpr double kPressureMax = 10;

double Round2(double value) { return std::round(value * 100) / 100; }

}  // namespace

std::vector<std::string> SensorSettings::Apply(const nlohmann::json& desired) {
  std::vector<std::string> problems;
  if (!desired.is_object()) return {"desired properties must be a JSON object"};
  const SensorSettings defaults;
  if (auto it = desired.find("SendInterval"); it != desired.end()) {
    if (it->is_null()) {
      send_interval = defaults.send_interval;
    } else if (it->is_number() && it->get<double>() >= kMinIntervalSeconds &&
               it->get<double>() <= kMaxIntervalSeconds) {
      send_interval = absl::Seconds(it->get<double>());
    } else {
      problems.push_back("SendInterval: must be a number of seconds from 0.01 to 86400");
    }
  }
  if (auto it = desired.find("MessageCount"); it != desired.end()) {
    if (it->is_null()) {
      message_count = defaults.message_count;
    } else if (it->is_number_integer() && it->get<int64_t>() >= 0) {
      message_count = it->get<int64_t>();
    } else {
      problems.push_back("MessageCount: must be a whole number, 0 or more (0: no limit)");
    }
  }
  if (auto it = desired.find("SendData"); it != desired.end()) {
    if (it->is_null()) {
      send_data = defaults.send_data;
    } else if (it->is_boolean()) {
      send_data = it->get<bool>();
    } else {
      problems.push_back("SendData: must be true or false");
    }
  }
  return problems;
}

nlohmann::json SensorSettings::ToJson() const {
  return {{"SendInterval", absl::ToDoubleSeconds(send_interval)},
          {"MessageCount", message_count},
          {"SendData", send_data}};
}

TemperatureSimulator::TemperatureSimulator(uint32_t seed)
    : random_(seed),
      machine_temperature_(
          std::uniform_real_distribution<double>(kMachineMin, kMachineMax)(random_)) {}

nlohmann::json TemperatureSimulator::Next(absl::Time now) {
  machine_temperature_ += std::uniform_real_distribution<double>(0.5, 2.0)(random_);
  if (machine_temperature_ > kMachineMax) machine_temperature_ = kMachineMin;
  const double pressure = kPressureMin + (machine_temperature_ - kMachineMin) *
                                             (kPressureMax - kPressureMin) /
                                             (kMachineMax - kMachineMin);
  const double ambient = 21 + std::uniform_real_distribution<double>(-0.5, 0.5)(random_);
  const int humidity = std::uniform_int_distribution<int>(24, 27)(random_);
  return {
      {"machine", {{"temperature", Round2(machine_temperature_)}, {"pressure", Round2(pressure)}}},
      {"ambient", {{"temperature", Round2(ambient)}, {"humidity", humidity}}},
      {"timeCreated", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone())}};
}

}  // namespace edge::examples
