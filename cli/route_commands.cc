#include "cli/route_commands.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/agent_commands.h"
#include "cli/table.h"
#include "common/grpc_status.h"
#include "common/identity_id.h"
#include "common/status_macros.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"

namespace edge::cli {
namespace {

using router::v1::Router;

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::StatusOr<std::unique_ptr<Router::Stub>> RouterStub(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, context.Channel("router"));
  return Router::NewStub(channel);
}

std::string Priority(bool has, uint32_t priority) { return has ? absl::StrCat(priority) : "-"; }

int RouteList(const CommandContext& context) {
  absl::StatusOr<std::unique_ptr<Router::Stub>> stub = RouterStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  absl::StatusOr<router::v1::GetRoutesResponse> routes =
      CallService("router", **stub, &Router::Stub::GetRoutes, router::v1::GetRoutesRequest());
  if (!routes.ok()) return ReportError(context, routes.status());
  if (context.format == OutputFormat::kJson) {
    PrintProtoJson(context, *routes);
    return 0;
  }
  if (!routes->has_config()) {
    *context.out << "no routes in force: every message is dropped (edgectl route set FILE)\n";
  } else {
    const router::v1::RoutesConfig& config = routes->config();
    *context.out << "routes of $edgeHub desired version " << config.desired_version() << " (schema "
                 << config.schema_version() << ", time to live " << config.time_to_live_secs()
                 << " s)\n";
    TextTable table({"NAME", "PRIORITY", "TTL", "ROUTE"});
    for (const router::v1::Route& route : config.routes()) {
      table.AddRow(
          {route.name(), Priority(route.has_priority(), route.priority()),
           route.time_to_live_secs() > 0 ? absl::StrCat(route.time_to_live_secs(), " s") : "-",
           route.route()});
    }
    *context.out << table.Render();
  }
  if (routes->has_status() && routes->status().code() != 200) {
    *context.out << "last desired version " << routes->status().desired_version()
                 << " was not applied (" << routes->status().code()
                 << "): " << routes->status().description() << "\n";
  }
  return 0;
}

int RouteSet(const CommandContext& context, const std::string& file,
             std::optional<int64_t> expected_version) {
  absl::StatusOr<std::string> document = ReadWholeFile(file);
  if (!document.ok()) return ReportError(context, document.status());
  absl::StatusOr<std::unique_ptr<Router::Stub>> stub = RouterStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  router::v1::SetRoutesRequest request;
  request.set_desired_json(*document);
  if (expected_version.has_value()) request.set_expected_version(*expected_version);
  absl::StatusOr<router::v1::SetRoutesResponse> set =
      CallService("router", **stub, &Router::Stub::SetRoutes, request);
  if (!set.ok()) return ReportError(context, set.status());
  if (context.format == OutputFormat::kJson) {
    PrintProtoJson(context, *set);
  } else {
    *context.out << "wrote the $edgeHub routes as desired version " << set->desired_version()
                 << "; the router applies them in a moment (edgectl route list)\n";
  }
  return 0;
}

int RouteTest(const CommandContext& context, const RouteTestFlags& flags) {
  router::v1::TestRouteRequest request;
  absl::StatusOr<common::v1::Message> message = RouteTestMessage(flags);
  if (!message.ok()) return ReportError(context, message.status());
  *request.mutable_message() = *std::move(message);
  if (!flags.config_file.empty()) {
    absl::StatusOr<std::string> document = ReadWholeFile(flags.config_file);
    if (!document.ok()) return ReportError(context, document.status());
    request.set_desired_json(*document);
  }
  absl::StatusOr<std::unique_ptr<Router::Stub>> stub = RouterStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  absl::StatusOr<router::v1::TestRouteResponse> verdict =
      CallService("router", **stub, &Router::Stub::TestRoute, request);
  if (!verdict.ok()) return ReportError(context, verdict.status());
  if (context.format == OutputFormat::kJson) {
    PrintProtoJson(context, *verdict);
    return 0;
  }
  *context.out << "a message from " << flags.source << " has source " << verdict->source_path();
  if (verdict->desired_version() > 0) {
    *context.out << " (routes of desired version " << verdict->desired_version() << ")";
  }
  *context.out << "\n";
  if (verdict->destinations().empty()) {
    *context.out << "no route matched: the message would be dropped (and counted)\n";
  } else {
    TextTable destinations({"GOES TO", "PRIORITY", "TTL"});
    for (const router::v1::Destination& d : verdict->destinations()) {
      destinations.AddRow({d.endpoint(), Priority(d.has_priority(), d.priority()),
                           d.ttl_seconds() > 0 ? absl::StrCat(d.ttl_seconds(), " s") : "forever"});
    }
    *context.out << destinations.Render();
  }
  TextTable routes({"ROUTE", "RESULT", "WHY"});
  for (const router::v1::RouteVerdict& v : verdict->routes()) {
    routes.AddRow({v.name(), v.outcome(), v.detail()});
  }
  *context.out << "\n" << routes.Render();
  return 0;
}

}  // namespace

std::string UpstreamLinkLine(const router::v1::UpstreamLinkStats& link, absl::Time now) {
  if (!link.configured()) {
    return "upstream link: not configured ([device] connection_string is empty)";
  }
  std::string since;
  if (link.since_unix_ms() > 0) {
    since = HumanDuration(now - absl::FromUnixMillis(link.since_unix_ms()));
    since[0] = absl::ascii_tolower(since[0]);  // "Less than a second", "About a minute"
    since = absl::StrCat(" for ", since);
  }
  std::string line = absl::StrCat("upstream link: ", link.online() ? "online" : "offline", since,
                                  " (", link.address(), " as ", link.device_id(), ", ",
                                  link.transport(), ", ", link.authentication(), ")");
  if (link.online()) {
    absl::StrAppend(&line, "; ", link.acked(), " acked, ", link.rejected(), " rejected, ",
                    link.in_flight(), " in flight");
  } else if (!link.last_error().empty()) {
    absl::StrAppend(&line, ": ", link.last_error());
  } else {
    absl::StrAppend(&line, ": connecting");
  }
  return line;
}

namespace {

int EndpointList(const CommandContext& context) {
  absl::StatusOr<std::unique_ptr<Router::Stub>> stub = RouterStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  absl::StatusOr<router::v1::EndpointStatsResponse> stats = CallService(
      "router", **stub, &Router::Stub::EndpointStats, router::v1::EndpointStatsRequest());
  if (!stats.ok()) return ReportError(context, stats.status());
  if (context.format == OutputFormat::kJson) {
    PrintProtoJson(context, *stats);
    return 0;
  }
  if (stats->queues().empty()) {
    *context.out << "no endpoint queues yet: nothing has been routed\n"
                 << UpstreamLinkLine(stats->upstream(), absl::Now()) << "\n";
    return 0;
  }
  TextTable table({"ENDPOINT", "PRIORITY", "DEPTH", "OLDEST", "DELIVERED", "STATE", "LAST ERROR"});
  const absl::Time now = absl::Now();
  for (const router::v1::EndpointQueueStats& q : stats->queues()) {
    const std::string oldest =
        q.oldest_appended_unix_ms() > 0
            ? HumanDuration(now - absl::FromUnixMillis(q.oldest_appended_unix_ms()))
            : "-";
    table.AddRow({q.endpoint(), Priority(q.has_priority(), q.priority()), absl::StrCat(q.depth()),
                  oldest, absl::StrCat(q.delivered()), q.state(),
                  q.last_error().empty() ? "-" : q.last_error()});
  }
  *context.out << table.Render() << UpstreamLinkLine(stats->upstream(), now) << "\n";
  return 0;
}

int Monitor(const CommandContext& context, const MonitorFlags& flags) {
  absl::StatusOr<std::unique_ptr<Router::Stub>> stub = RouterStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  grpc::ClientContext call;
  if (flags.timeout_seconds > 0) {
    call.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(flags.timeout_seconds)));
  }
  router::v1::MonitorRequest request;
  request.set_endpoint(flags.endpoint);
  std::unique_ptr<grpc::ClientReader<router::v1::MonitorResponse>> reader =
      (*stub)->Monitor(&call, request);
  int seen = 0;
  router::v1::MonitorResponse response;
  while (reader->Read(&response)) {
    if (context.format == OutputFormat::kJson) {
      std::string json;
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(response, &json, options);
      *context.out << json << std::endl;
    } else if (response.has_dropped()) {
      *context.out << "... " << response.dropped().count()
                   << " messages not shown: this monitor reads slower than the router routes"
                   << std::endl;
    } else {
      *context.out << (flags.brief ? BriefMonitorLine(response.message())
                                   : MonitorLine(response.message()))
                   << std::endl;
    }
    if (response.has_message() && flags.count > 0 && ++seen >= flags.count) {
      call.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (flags.count > 0 && seen >= flags.count) return 0;
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    if (flags.count == 0) return 0;
    return ReportError(context, absl::DeadlineExceededError(
                                    absl::StrCat("only ", seen, " of ", flags.count,
                                                 " messages in ", flags.timeout_seconds, " s")));
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return ReportError(context, absl::UnavailableError(absl::StrCat(
                                    "edge-router is not reachable (start the runtime with "
                                    "`edgectl up`): ",
                                    status.error_message())));
  }
  if (!status.ok()) return ReportError(context, FromGrpcStatus(status));
  return 0;
}

}  // namespace

std::string MonitorLine(const router::v1::RoutedMessage& message) {
  std::string line = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(message.routed_unix_ms()), absl::UTCTimeZone());
  const common::v1::Source& source = message.source();
  absl::StrAppend(&line, " ", source.device_id(), source.module_id().empty() ? "" : "/",
                  source.module_id(), " ", message.source_path(), " ->");
  for (int i = 0; i < message.destinations_size(); ++i) {
    const router::v1::Destination& d = message.destinations(i);
    absl::StrAppend(&line, i == 0 ? " " : ", ", d.endpoint());
    if (d.has_priority()) absl::StrAppend(&line, " priority ", d.priority());
  }
  absl::StrAppend(&line, " [", absl::StrJoin(message.routes(), ", "), "]");
  std::vector<std::string> properties;
  for (const auto& [key, value] : message.system_properties()) {
    properties.push_back(absl::StrCat("$", key, "=", value));
  }
  for (const auto& [key, value] : message.application_properties()) {
    properties.push_back(absl::StrCat(key, "=", value));
  }
  std::sort(properties.begin(), properties.end());
  if (!properties.empty()) absl::StrAppend(&line, " {", absl::StrJoin(properties, " "), "}");
  absl::StrAppend(&line, " ", message.body_size(), " B \"", absl::CEscape(message.body_preview()),
                  message.body_size() > message.body_preview().size() ? "..." : "", "\"");
  return line;
}

std::string BriefMonitorLine(const router::v1::RoutedMessage& message) {
  std::string line = absl::FormatTime("%H:%M:%E3S", absl::FromUnixMillis(message.routed_unix_ms()),
                                      absl::UTCTimeZone());
  const common::v1::Source& source = message.source();
  absl::StrAppend(&line, " ", source.device_id(), source.module_id().empty() ? "" : "/",
                  source.module_id(), source.output_name().empty() ? "" : ":", source.output_name(),
                  " ->");
  for (int i = 0; i < message.destinations_size(); ++i) {
    absl::StrAppend(&line, i == 0 ? " " : ", ", message.destinations(i).endpoint());
  }
  absl::StrAppend(&line, " [", absl::StrJoin(message.routes(), ", "), "]");
  std::vector<std::string> properties;
  for (const auto& [key, value] : message.application_properties()) {
    properties.push_back(absl::StrCat(key, "=", value));
  }
  std::sort(properties.begin(), properties.end());
  if (!properties.empty()) absl::StrAppend(&line, " ", absl::StrJoin(properties, " "));
  const std::string& body = message.body_preview();
  const bool printable = std::all_of(body.begin(), body.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;  // UTF-8 bytes included
  });
  absl::StrAppend(&line, " ", printable ? body : absl::CEscape(body),
                  message.body_size() > body.size() ? "..." : "");
  return line;
}

absl::StatusOr<common::v1::Message> RouteTestMessage(const RouteTestFlags& flags) {
  common::v1::Message message;
  common::v1::Source* source = message.mutable_source();
  absl::string_view sender = flags.source;
  source->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  if (absl::ConsumePrefix(&sender, "twin:")) {
    source->set_kind(common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION);
  }
  std::vector<std::string> parts = absl::StrSplit(sender, '/');
  const bool twin = source->kind() == common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION;
  if (parts.size() > (twin ? 2u : 3u)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--source \"", flags.source,
        "\": expected DEVICE, DEVICE/MODULE, DEVICE/MODULE/OUTPUT or twin:DEVICE[/MODULE]"));
  }
  const std::string identity =
      absl::StrJoin(parts.begin(), parts.begin() + std::min<size_t>(2, parts.size()), "/");
  absl::StatusOr<IdentityId> id = IdentityId::Parse(identity);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--source: ", id.status().message()));
  }
  source->set_device_id(id->device());
  source->set_module_id(id->module());
  if (parts.size() == 3) {
    if (parts[2].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--source \"", flags.source, "\": the output name is empty"));
    }
    source->set_output_name(parts[2]);
  }
  for (const std::string& p : flags.properties) {
    ASSIGN_OR_RETURN(auto kv, KeyValueFlag("--prop", p));
    (*message.mutable_application_properties())[kv.first] = kv.second;
  }
  for (const std::string& p : flags.system_properties) {
    ASSIGN_OR_RETURN(auto kv, KeyValueFlag("--sys", p));
    (*message.mutable_system_properties())[kv.first] = kv.second;
  }
  message.set_body(flags.body);
  auto& system = *message.mutable_system_properties();
  if (!flags.body.empty() && !system.contains("contentType") &&
      !system.contains("contentEncoding")) {
    system["contentType"] = "application/json";
    system["contentEncoding"] = "utf-8";
  }
  return message;
}

void AddRouteCommands(CLI::App& app, Action* action) {
  CLI::App* endpoint =
      app.add_subcommand("endpoint", "the router's endpoint queues, over edge-router");
  endpoint->require_subcommand(1);
  CLI::App* endpoints = endpoint->add_subcommand(
      "list", "each queue's depth, oldest entry, deliveries, state and last error");
  endpoints->callback(
      [action] { *action = [](const CommandContext& c) { return EndpointList(c); }; });

  CLI::App* monitor = app.add_subcommand(
      "monitor", "print each message as it is routed, until Ctrl-C (over edge-router)");
  auto monitor_flags = std::make_shared<MonitorFlags>();
  monitor->add_option("--endpoint", monitor_flags->endpoint,
                      "only messages routed to this endpoint, e.g. '$upstream'");
  monitor->add_option("--count", monitor_flags->count, "stop after N messages")
      ->check(CLI::PositiveNumber);
  monitor->add_option("--timeout", monitor_flags->timeout_seconds, "stop after S seconds")
      ->check(CLI::PositiveNumber);
  monitor->add_flag("--brief", monitor_flags->brief,
                    "shorter lines: time of day, source, destinations, routes, application "
                    "properties and the body");
  monitor->callback([monitor_flags, action] {
    *action = [monitor_flags](const CommandContext& c) { return Monitor(c, *monitor_flags); };
  });

  CLI::App* route = app.add_subcommand("route", "the $edgeHub routes, over edge-router");
  route->require_subcommand(1);

  CLI::App* list = route->add_subcommand("list", "the routes in force and the last status");
  list->callback([action] { *action = [](const CommandContext& c) { return RouteList(c); }; });

  CLI::App* set = route->add_subcommand("set", "write FILE as the $edgeHub desired properties");
  auto file = std::make_shared<std::string>();
  auto expected = std::make_shared<int64_t>(-1);
  set->add_option("FILE", *file, "the $edgeHub desired document (JSON)")->required();
  set->add_option("--expected-version", *expected,
                  "compare-and-set: the desired version this replaces");
  set->callback([file, expected, action] {
    *action = [file, expected](const CommandContext& c) {
      return RouteSet(c, *file, *expected >= 0 ? std::optional<int64_t>(*expected) : std::nullopt);
    };
  });

  CLI::App* test =
      route->add_subcommand("test", "where a message would go, and why each route matched or not");
  auto flags = std::make_shared<RouteTestFlags>();
  test->add_option("--source", flags->source,
                   "DEVICE, DEVICE/MODULE, DEVICE/MODULE/OUTPUT or twin:DEVICE[/MODULE]")
      ->required();
  test->add_option("--prop", flags->properties, "an application property key=value");
  test->add_option("--sys", flags->system_properties,
                   "a system property key=value (contentType, messageId, ...)");
  test->add_option("--body", flags->body, "the message body (JSON for $body queries)");
  test->add_option("--config", flags->config_file,
                   "test against this $edgeHub document instead of the routes in force");
  test->callback([flags, action] {
    *action = [flags](const CommandContext& c) { return RouteTest(c, *flags); };
  });
}

}  // namespace edge::cli
