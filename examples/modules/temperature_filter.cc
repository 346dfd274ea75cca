#include "examples/modules/temperature_filter.h"

namespace edge::examples {

std::vector<std::string> TemperatureFilter::Apply(const nlohmann::json& desired) {
  if (!desired.is_object()) return {"desired properties must be a JSON object"};
  auto it = desired.find("TemperatureThreshold");
  if (it == desired.end()) return {};
  if (it->is_null()) {
    threshold_ = kDefaultThreshold;
  } else if (it->is_number()) {
    threshold_ = it->get<double>();
  } else {
    return {"TemperatureThreshold: must be a number (degrees Celsius)"};
  }
  return {};
}

std::optional<std::string> TemperatureFilter::Process(absl::string_view body) {
  ++received_;
  const nlohmann::json reading = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* temperature = nullptr;
  if (reading.is_object() && reading.contains("machine") && reading["machine"].is_object()) {
    auto it = reading["machine"].find("temperature");
    if (it != reading["machine"].end() && it->is_number()) temperature = &*it;
  }
  if (temperature == nullptr) {
    ++malformed_;
    return std::nullopt;
  }
  if (temperature->get<double>() <= threshold_) return std::nullopt;
  ++alerts_;
  return std::string(body);
}

nlohmann::json TemperatureFilter::Reset(absl::Time now) {
  nlohmann::json counts = {{"received", received_}, {"alerts", alerts_}, {"malformed", malformed_}};
  received_ = alerts_ = malformed_ = 0;
  last_reset_ = now;
  return counts;
}

nlohmann::json TemperatureFilter::ToReported() const {
  return {{"TemperatureThreshold", threshold_},
          {"received", received_},
          {"alerts", alerts_},
          {"malformed", malformed_},
          {"lastReset", last_reset_.has_value()
                            ? nlohmann::json(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", *last_reset_,
                                                              absl::UTCTimeZone()))
                            : nlohmann::json(nullptr)}};
}

}  // namespace edge::examples
