// `edgectl route` and `edgectl endpoint`: the routes of the `$edgeHub` twin and the queues they
// fill, over edge-router.
//
//   edgectl route list                     the configuration in force and the last desired status
//   edgectl route set FILE [--expected-version N]
//                                          FILE is the $edgeHub desired document (schemaVersion,
//                                          routes, storeAndForwardConfiguration); the router
//                                          applies it when its watch sees it
//   edgectl route test --source S [--prop k=v]... [--sys k=v]... [--body TEXT] [--config FILE]
//                                          where a message would go, and why each route did or
//                                          did not match. S: DEVICE (device telemetry),
//                                          DEVICE/MODULE (a module message without output),
//                                          DEVICE/MODULE/OUTPUT (a module output), or
//                                          twin:DEVICE[/MODULE] (a twin change notification)
//
//   edgectl endpoint list                  every endpoint queue: depth, age of its oldest entry,
//                                          deliveries acknowledged, what the router is doing with
//                                          it (delivering, waiting for module M, no hub attached,
//                                          retrying, upstream offline, no upstream link
//                                          configured), last error; then the upstream link's
//                                          line (UpstreamLinkLine; also in `edgectl status`)
//
//   edgectl monitor [--endpoint E] [--count N] [--timeout S]
//                                          one line per message as it is routed (time, sender,
//                                          source path, queues, routes, properties, body
//                                          preview), until Ctrl-C, N messages or S seconds (1
//                                          when S passes before N messages)
//
// Exit codes: 0; 1 when the router cannot be reached or refuses; 2 for bad input (a malformed
// source or property, an invalid document). `-o json` prints the router's answer as JSON.
//
// Example:
//   Action action;
//   AddRouteCommands(app, &action);
#ifndef EDGE_CLI_ROUTE_COMMANDS_H_
#define EDGE_CLI_ROUTE_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "cli/command.h"
#include "edge/common/v1/message.pb.h"
#include "edge/router/v1/router.pb.h"

namespace edge::cli {

void AddRouteCommands(CLI::App& app, Action* action);

struct RouteTestFlags {
  std::string source;
  std::vector<std::string> properties;         // k=v, application properties
  std::vector<std::string> system_properties;  // k=v, by long name (contentType, messageId, ...)
  std::string body;
  std::string config_file;  // test against this document instead of the routes in force
};

struct MonitorFlags {
  std::string endpoint;        // only messages routed to it; empty: all
  int count = 0;               // stop after this many messages; 0: never
  double timeout_seconds = 0;  // stop after this long; 0: never
  bool brief = false;          // BriefMonitorLine: for a person watching
};

// "upstream link: online for 5 minutes (127.0.0.1:8883 as edge-1, tls, sas); 120 acked, 0
// rejected, 3 in flight", "upstream link: offline for 10 seconds (…): CONNACK refused: …" or
// "upstream link: not configured ([device] connection_string is empty)". No trailing newline.
std::string UpstreamLinkLine(const router::v1::UpstreamLinkStats& link, absl::Time now);

// One line of `edgectl monitor` for a routed message (no trailing newline): UTC time, source
// identity and path, destinations, [routes], {every property}, size and the escaped body preview.
std::string MonitorLine(const router::v1::RoutedMessage& message);

// `edgectl monitor --brief`: time of day (UTC), source identity and output, destinations,
// [routes], application properties and the body preview as it is (escaped only when it is not
// printable text), e.g.
//   17:49:17.263 edge-device/tempSensor:temperatureOutput -> $upstream [toCloud] {"t":21.5}
std::string BriefMonitorLine(const router::v1::RoutedMessage& message);

// The message `edgectl route test` sends. When a body is given and --sys sets neither
// contentType nor contentEncoding, they default to application/json and utf-8 so that `$body`
// queries work (IoT Hub would need the sender to set them). INVALID_ARGUMENT for a malformed
// source or property.
absl::StatusOr<common::v1::Message> RouteTestMessage(const RouteTestFlags& flags);

}  // namespace edge::cli

#endif  // EDGE_CLI_ROUTE_COMMANDS_H_
