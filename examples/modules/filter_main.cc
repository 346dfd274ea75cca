// edge-sample-filter: the filter module (temperature_filter.h). Readings arriving on input
// `input1` whose machine temperature is above the module twin's TemperatureThreshold go out on
// output `alert` with the application property MessageType=Alert; a `reset` direct method zeroes
// its counts and answers them; it reports its threshold and counts in its reported properties.
// Configured only by the environment edge-agent gives it (module_client.h).
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "examples/modules/module_client.h"
#include "examples/modules/temperature_filter.h"
#include "spdlog/spdlog.h"

namespace edge::examples {
namespace {

constexpr char kInput[] = "input1";
constexpr char kOutput[] = "alert";
constexpr absl::Duration kReportEvery = absl::Seconds(2);

int Main() {
  absl::StatusOr<ModuleClientOptions> options = ModuleClientOptions::FromEnvironment();
  if (!options.ok()) {
    spdlog::error("{}", std::string(options.status().message()));
    return 2;
  }
  TemperatureFilter filter;
  std::vector<std::string> problems;
  bool changed = true;  // since the last report
  ModuleClient* client_ptr = nullptr;
  auto report = [&] {
    nlohmann::json reported = filter.ToReported();
    reported["desiredProblems"] =
        problems.empty() ? nlohmann::json(nullptr) : nlohmann::json(problems);
    if (client_ptr->ReportProperties(reported).ok()) changed = false;
  };
  ModuleClient client(
      *options,
      {.on_desired =
           [&](const nlohmann::json& desired, bool) {
             problems = filter.Apply(desired);
             for (const std::string& problem : problems) spdlog::warn("desired {}", problem);
             spdlog::info("threshold {} C",
                          filter.ToReported()["TemperatureThreshold"].get<double>());
             report();
           },
       .on_input =
           [&](const std::string& input, const std::string& body, const MessageProperties&) {
             if (input != kInput) return;
             changed = true;
             std::optional<std::string> alert = filter.Process(body);
             if (!alert.has_value()) return;
             MessageProperties properties;
             properties.system = {{"contentType", "application/json"},
                                  {"contentEncoding", "utf-8"}};
             properties.application = {{"MessageType", "Alert"}};
             absl::Status sent = client_ptr->SendOutput(kOutput, *alert, properties);
             std::printf("alert%s: %s\n", sent.ok() ? "" : " NOT SENT", alert->c_str());
             std::fflush(stdout);
           },
       .on_method = [&](const std::string& method, const std::string&) -> MethodResult {
         if (method != "reset") {
           return {404, absl::StrCat(R"({"message":"no method \")", method,
                                     R"(\"; this module answers reset"})")};
         }
         nlohmann::json counts = filter.Reset(absl::Now());
         spdlog::info("reset: {}", counts.dump());
         report();
         return {200, counts.dump()};
       }});
  client_ptr = &client;
  absl::Time next_report = absl::InfinitePast();
  client.Run(StopOnSignals(), [&](absl::Time now) {
    if (!changed || !client.connected()) return absl::InfiniteFuture();
    if (now >= next_report) {
      next_report = now + kReportEvery;
      report();
    }
    return next_report;
  });
  return 0;
}

}  // namespace
}  // namespace edge::examples

int main() { return edge::examples::Main(); }
