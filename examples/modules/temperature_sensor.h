// The simulated temperature sensor's logic, without MQTT: readings shaped like the well-known IoT
// Edge SimulatedTemperatureSensor's, and the settings its module twin's desired properties give.
// Pure (the randomness is seeded by the caller); temp_sensor_main.cc puts it on a ModuleClient.
//
// A reading:
//   {"machine": {"temperature": 34.6, "pressure": 2.47},
//    "ambient": {"temperature": 20.8, "humidity": 25},
//    "timeCreated": "2026-11-26T17:40:01.25Z"}
// The machine warms by 0.5–2 °C a reading until it passes 100 °C, then starts again at 21 (so a
// filter's threshold splits the readings); its first reading is anywhere in that cycle, so that a
// short run sees hot readings too. Pressure follows its temperature from 1 to 10; the ambient air
// stays about 21 °C and 24–27 % humidity.
//
// Example:
//   SensorSettings settings;
//   std::vector<std::string> problems = settings.Apply({{"SendInterval", 0.5}});
//   TemperatureSimulator simulator(/*seed=*/1);
//   nlohmann::json reading = simulator.Next(absl::Now());
#ifndef EDGE_EXAMPLES_MODULES_TEMPERATURE_SENSOR_H_
#define EDGE_EXAMPLES_MODULES_TEMPERATURE_SENSOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace edge::examples {

// What the module twin's desired properties set (names as in the IoT Edge sample).
struct SensorSettings {
  absl::Duration send_interval = absl::Seconds(1);  // SendInterval: seconds, 0.01 to 86400
  int64_t message_count = 0;                        // MessageCount: stop after this many; 0: never
  bool send_data = true;                            // SendData: false pauses the readings

  // Applies the desired properties (the whole section or a patch): each known key with a good
  // value replaces the setting; a key set to null goes back to its default. Returns one problem per
  // bad value ("SendInterval: must be a number of seconds from 0.01 to 86400"), which keeps the
  // setting it had. Unknown keys (`$version` included) are ignored.
  std::vector<std::string> Apply(const nlohmann::json& desired);

  // {"SendInterval": 1.0, "MessageCount": 0, "SendData": true}: what the module reports it uses.
  nlohmann::json ToJson() const;
};

// Not thread-safe.
class TemperatureSimulator {
 public:
  static constexpr double kMachineMin = 21;
  static constexpr double kMachineMax = 100;

  explicit TemperatureSimulator(uint32_t seed);

  // The next reading, time-stamped `now`.
  nlohmann::json Next(absl::Time now);

 private:
  std::mt19937 random_;
  double machine_temperature_;
};

}  // namespace edge::examples

#endif  // EDGE_EXAMPLES_MODULES_TEMPERATURE_SENSOR_H_
