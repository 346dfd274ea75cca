// The filter module's logic, without MQTT: it reads temperature readings (temperature_sensor.h)
// and picks those whose machine temperature is above a threshold its module twin sets; it counts
// what it saw, and a `reset` direct method zeroes the counts. Pure; filter_main.cc puts it on a
// ModuleClient.
//
// Example:
//   TemperatureFilter filter;
//   filter.Apply({{"TemperatureThreshold", 60}});
//   std::optional<std::string> alert = filter.Process(R"({"machine":{"temperature":75.2}})");
//   // an alert: the reading, forwarded as it came
#ifndef EDGE_EXAMPLES_MODULES_TEMPERATURE_FILTER_H_
#define EDGE_EXAMPLES_MODULES_TEMPERATURE_FILTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace edge::examples {

// Not thread-safe.
class TemperatureFilter {
 public:
  static constexpr double kDefaultThreshold = 25;  // the IoT Edge sample's

  // Applies desired properties (the whole section or a patch): `TemperatureThreshold`, a number
  // (null: back to the default). Returns the problem with a bad value, which keeps the threshold.
  std::vector<std::string> Apply(const nlohmann::json& desired);

  // The reading to forward as an alert when its machine.temperature is above the threshold;
  // nullopt when it is not, or when `body` is not such a reading (counted as malformed).
  std::optional<std::string> Process(absl::string_view body);

  // Zeroes the counts; returns them as they were: {"received": n, "alerts": k, "malformed": m}.
  nlohmann::json Reset(absl::Time now);

  // What the module reports: {"TemperatureThreshold": t, "received": n, "alerts": k,
  // "malformed": m, "lastReset": "…" or null}.
  nlohmann::json ToReported() const;

 private:
  double threshold_ = kDefaultThreshold;
  int64_t received_ = 0;
  int64_t alerts_ = 0;
  int64_t malformed_ = 0;
  std::optional<absl::Time> last_reset_;
};

}  // namespace edge::examples

#endif  // EDGE_EXAMPLES_MODULES_TEMPERATURE_FILTER_H_
