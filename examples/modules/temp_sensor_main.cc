// edge-sample-temp-sensor: the simulated temperature sensor module (temperature_sensor.h). It sends
// a reading on output `temperatureOutput` every SendInterval seconds, MessageCount times (0: for
// ever), as its module twin's desired properties say, and reports the settings it uses and how many
// readings it sent. Configured only by the environment edge-agent gives it (module_client.h).
#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "examples/modules/module_client.h"
#include "examples/modules/temperature_sensor.h"
#include "spdlog/spdlog.h"

namespace edge::examples {
namespace {

constexpr char kOutput[] = "temperatureOutput";
constexpr absl::Duration kReportEvery = absl::Seconds(2);

int Main() {
  absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromEnvironment();
  if (!options.ok()) {
    spdlog::error("{}", std::string(options.status().message()));
    return 2;
  }
  SensorSettings settings;
  std::vector<std::string> problems;
  TemperatureSimulator simulator(static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())));
  int64_t sent = 0;
  int64_t reported_sent = -1;
  absl::Time next_send = absl::InfinitePast();
  absl::Time next_report = absl::InfinitePast();
  ModuleClient* client_ptr = nullptr;
  auto report = [&] {
    nlohmann::json reported = settings.ToJson();
    reported["messagesSent"] = sent;
    reported["desiredProblems"] =
        problems.empty() ? nlohmann::json(nullptr) : nlohmann::json(problems);
    if (client_ptr->ReportProperties(reported).ok()) reported_sent = sent;
  };
  ModuleClient client(
      *options,
      {.on_desired =
           [&](const nlohmann::json& desired, bool full) {
             problems = settings.Apply(desired);
             for (const std::string& problem : problems) spdlog::warn("desired {}", problem);
             spdlog::info("{} desired properties: send every {}, {} readings{}",
                          full ? "twin" : "new", absl::FormatDuration(settings.send_interval),
                          settings.message_count == 0 ? std::string("unlimited")
                                                      : std::to_string(settings.message_count),
                          settings.send_data ? "" : " (paused: SendData false)");
             next_send = std::min(next_send, absl::Now() + settings.send_interval);
             report();
           },
       .on_method = [&](const std::string& method, const std::string&) -> MethodResult {
         return {404, absl::StrCat(R"({"message":"no method \")", method, R"(\" here"})")};
       }});
  client_ptr = &client;
  client.Run(StopOnSignals(), [&](absl::Time now) {
    const bool more = settings.message_count == 0 || sent < settings.message_count;
    const bool sending = client.connected() && settings.send_data && more;
    if (sending && now >= next_send) {
      // On the schedule, unless it fell behind by more than an interval (a reconnection).
      next_send = now - next_send > settings.send_interval ? now + settings.send_interval
                                                           : next_send + settings.send_interval;
      const nlohmann::json reading = simulator.Next(now);
      MessageProperties properties;
      properties.system = {{"contentType", "application/json"}, {"contentEncoding", "utf-8"}};
      if (client.SendOutput(kOutput, reading.dump(), properties).ok()) {
        ++sent;
        std::printf("sent #%lld: machine %.2f C, %.2f bar\n", static_cast<long long>(sent),
                    reading["machine"]["temperature"].get<double>(),
                    reading["machine"]["pressure"].get<double>());
        std::fflush(stdout);
        if (!more || sent == settings.message_count) spdlog::info("sent all {} readings", sent);
      }
    }
    const bool unreported = client.connected() && sent != reported_sent;
    if (unreported && now >= next_report) {
      next_report = now + kReportEvery;
      report();
    }
    absl::Time wake = absl::InfiniteFuture();
    if (sending) wake = std::min(wake, next_send);
    if (unreported) wake = std::min(wake, next_report);
    return wake;
  });
  return 0;
}

}  // namespace
}  // namespace edge::examples

int main() { return edge::examples::Main(); }
