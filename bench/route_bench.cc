// route_bench: single-threaded route evaluation throughput, next to an anchor measured in the same
// run, with the ratio.
//
//   build/bin/route_bench [--messages N] [--repeat R] [--variant all|properties|body]
//
// Work: a RouteTable of 20 routes, every message evaluated against all 20 (one MessageContext per
// message, as the router does), two variants:
//   1. WHERE clauses over application properties:
//        sensor = 'sensor-i' AND as_number(level) > i
//      anchor: a hand-written C++ predicate doing the same 20 look-ups and comparisons (exact-case
//      linear property search, std::from_chars) with no language in between;
//   2. the same clauses as body queries:
//        $body.sensor = 'sensor-i' AND $body.level > i
//      anchor: nlohmann::json::parse of the body alone, once per message; the ratio shows what
//      evaluating 20 routes adds to the one parse they share.
// Messages cycle through 1000 variants; each number is the best of --repeat runs.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "common/route/route_table.h"
#include "nlohmann/json.hpp"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;
using route::MessageContext;
using route::MessageView;
using route::Property;
using route::RouteSpec;
using route::RouteTable;
using route::RouteTarget;

constexpr int kRoutes = 20;
constexpr int kVariants = 1000;

struct Sample {
  std::string sensor;
  std::string level;
  std::string body;
  std::vector<Property> app;
  std::vector<Property> sys;
};

std::vector<Sample> MakeSamples() {
  std::vector<Sample> samples(kVariants);
  for (int k = 0; k < kVariants; ++k) {
    Sample& s = samples[k];
    s.sensor = absl::StrCat("sensor-", k % kRoutes);
    s.level = absl::StrCat(k % (2 * kRoutes));
    s.body = absl::StrCat(R"({"sensor":")", s.sensor, R"(","level":)", s.level,
                          R"(,"site":"plant-1","readings":{"temperature":21.5,"humidity":40},)",
                          R"("tags":["a","b"],"ok":true})");
  }
  // Property views point into the strings above, which no longer move.
  for (Sample& s : samples) {
    s.app = {{"site", "plant-1"},
             {"kind", "telemetry"},
             {"unit", "celsius"},
             {"sensor", s.sensor},
             {"level", s.level}};
    s.sys = {{"messageId", "m-1"},
             {"contentType", "application/json"},
             {"contentEncoding", "utf-8"},
             {"connectionDeviceId", "edge-1"},
             {"connectionModuleId", "sensor"}};
  }
  return samples;
}

RouteTable MakeTable(bool body) {
  std::vector<RouteSpec> specs;
  for (int i = 0; i < kRoutes; ++i) {
    const std::string where =
        body ? absl::StrCat("$body.sensor = 'sensor-", i, "' AND $body.level > ", i)
             : absl::StrCat("sensor = 'sensor-", i, "' AND as_number(level) > ", i);
    specs.push_back(
        RouteSpec{absl::StrCat("r", i),
                  absl::StrCat("FROM /messages/* WHERE ", where,
                               " INTO BrokeredEndpoint(\"/modules/m", i, "/inputs/in\")")});
  }
  absl::StatusOr<RouteTable> table = RouteTable::Create(std::move(specs));
  if (!table.ok()) {
    std::fprintf(stderr, "route_bench: %s\n", std::string(table.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(table);
}

MessageView View(const Sample& s) {
  MessageView view;
  view.module_id = "sensor";
  view.output_name = "out1";
  view.application_properties = s.app;
  view.system_properties = s.sys;
  view.body = s.body;
  return view;
}

// Messages per second of `work(sample)` over `messages` messages, best of `repeat`.
template <typename Work>
double Rate(const std::vector<Sample>& samples, int messages, int repeat, Work work,
            long* checksum) {
  double best = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto start = Clock::now();
    for (int m = 0; m < messages; ++m) *checksum += work(samples[m % kVariants]);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, messages / seconds);
  }
  return best;
}

absl::string_view Lookup(const std::vector<Property>& properties, absl::string_view name) {
  for (const Property& p : properties) {
    if (p.name == name) return p.value;
  }
  return absl::string_view();
}

// The anchor for variant 1: the same 20 predicates, written by hand, their constants ready.
long HandWritten(const Sample& s) {
  static const std::vector<std::string> expected = [] {
    std::vector<std::string> names;
    for (int i = 0; i < kRoutes; ++i) names.push_back(absl::StrCat("sensor-", i));
    return names;
  }();
  long hits = 0;
  for (int i = 0; i < kRoutes; ++i) {
    if (Lookup(s.app, "sensor") != expected[i]) continue;
    const absl::string_view level = Lookup(s.app, "level");
    double value = 0;
    const auto parsed = std::from_chars(level.data(), level.data() + level.size(), value);
    if (parsed.ec == std::errc() && value > i) ++hits;
  }
  return hits;
}

void Report(const char* what, double routes_rate, const char* anchor, double anchor_rate) {
  std::printf("%-22s %12.0f messages/s  (%6.2f M route evaluations/s)\n", what, routes_rate,
              routes_rate * kRoutes / 1e6);
  std::printf("  anchor: %-33s %12.0f messages/s\n", anchor, anchor_rate);
  std::printf("  ratio (routes / anchor): %.2f\n", routes_rate / anchor_rate);
}

}  // namespace
}  // namespace edge::bench

int main(int argc, char** argv) {
  using namespace edge::bench;
  CLI::App app{"route_bench: route evaluation throughput against same-run anchors"};
  int messages = 200000;
  int repeat = 3;
  std::string variant = "all";
  app.add_option("--messages", messages, "messages per measurement")->check(CLI::PositiveNumber);
  app.add_option("--repeat", repeat, "measurements per number; the best is kept")
      ->check(CLI::PositiveNumber);
  app.add_option("--variant", variant, "which half to run")
      ->check(CLI::IsMember({"all", "properties", "body"}));
  CLI11_PARSE(app, argc, argv);

  const std::vector<Sample> samples = MakeSamples();
  const RouteTable property_table = MakeTable(/*body=*/false);
  const RouteTable body_table = MakeTable(/*body=*/true);
  long checksum = 0;
  std::vector<RouteTarget> targets;

  const auto evaluate = [&](const RouteTable& table) {
    return [&table, &targets](const Sample& s) {
      const MessageView view = View(s);
      MessageContext context(view);
      table.Evaluate(context, &targets);
      return static_cast<long>(targets.size());
    };
  };

  std::printf("route_bench: %d routes, %d messages per measurement, best of %d, 1 thread\n\n",
              kRoutes, messages, repeat);
  if (variant != "body") {
    const double properties = Rate(samples, messages, repeat, evaluate(property_table), &checksum);
    const double hand = Rate(samples, messages, repeat, HandWritten, &checksum);
    Report("application properties", properties, "hand-written C++ predicates", hand);
    std::printf("\n");
  }
  if (variant != "properties") {
    const double body = Rate(samples, messages, repeat, evaluate(body_table), &checksum);
    const double parse = Rate(
        samples, messages, repeat,
        [](const Sample& s) { return static_cast<long>(nlohmann::json::parse(s.body).size()); },
        &checksum);
    Report("body queries", body, "nlohmann::json::parse of the body", parse);
    std::printf("\n");
  }
  std::printf("(checksum %ld)\n", checksum);
  return 0;
}
