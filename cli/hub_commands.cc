#include "cli/hub_commands.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "cli/agent_commands.h"
#include "cli/table.h"
#include "common/status_macros.h"
#include "edge/hub/v1/hub.grpc.pb.h"

namespace edge::cli {
namespace {

using ::edge::hub::v1::Hub;

absl::StatusOr<std::unique_ptr<Hub::Stub>> HubStub(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, context.Channel("hub"));
  return Hub::NewStub(channel);
}

int ClientList(const CommandContext& context) {
  absl::StatusOr<std::unique_ptr<Hub::Stub>> stub = HubStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  absl::StatusOr<hub::v1::ListClientsResponse> clients =
      CallService("hub", **stub, &Hub::Stub::ListClients, hub::v1::ListClientsRequest());
  if (!clients.ok()) return ReportError(context, clients.status());
  if (context.format == OutputFormat::kJson) {
    PrintProtoJson(context, *clients);
    return 0;
  }
  TextTable table({"CLIENT", "AUTH", "MQTT", "CONNECTED", "SESSION", "SUBSCRIPTIONS"});
  for (const hub::v1::Client& client : clients->clients()) {
    const absl::Duration up = absl::Now() - absl::FromUnixMillis(client.connected_since_unix_ms());
    table.AddRow({client.client_id(), client.auth_method(),
                  client.protocol_version() == 5 ? "5" : "3.1.1", HumanDuration(up),
                  client.clean_session() ? "clean" : "persistent",
                  absl::StrJoin(client.subscriptions(), " ")});
  }
  *context.out << table.Render();
  return 0;
}

int ClientKick(const CommandContext& context, const std::string& client_id) {
  absl::StatusOr<std::unique_ptr<Hub::Stub>> stub = HubStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  hub::v1::DisconnectClientRequest request;
  request.set_client_id(client_id);
  absl::StatusOr<hub::v1::DisconnectClientResponse> kicked =
      CallService("hub", **stub, &Hub::Stub::DisconnectClient, request);
  if (!kicked.ok()) return ReportError(context, kicked.status());
  *context.out << "disconnected " << client_id << "\n";
  return 0;
}

struct InvokeFlags {
  std::string target;
  std::string method;
  std::string payload;
  std::string payload_file;
  int timeout_seconds = 30;
};

int Invoke(const CommandContext& context, const InvokeFlags& flags) {
  absl::StatusOr<std::unique_ptr<Hub::Stub>> stub = HubStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  hub::v1::InvokeMethodRequest request;
  request.set_target(flags.target);
  request.set_method(flags.method);
  request.set_payload_json(flags.payload);
  if (!flags.payload_file.empty()) {
    std::ifstream in(flags.payload_file, std::ios::binary);
    if (!in) {
      return ReportError(context, absl::InvalidArgumentError(absl::StrCat(
                                      "--payload-file: cannot read ", flags.payload_file)));
    }
    request.set_payload_json(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  request.set_timeout_seconds(flags.timeout_seconds);
  // The hub waits up to the method's timeout for the client: give the call a little more.
  absl::StatusOr<hub::v1::InvokeMethodResponse> answer = CallService(
      "hub", **stub, &Hub::Stub::InvokeMethod, request, absl::Seconds(flags.timeout_seconds + 10));
  if (!answer.ok()) return ReportError(context, answer.status());
  if (context.format == OutputFormat::kJson) {
    PrintProtoJson(context, *answer);
  } else {
    *context.out << "status " << answer->status() << "\n" << answer->payload_json() << "\n";
  }
  return answer->status() >= 200 && answer->status() < 300 ? 0 : 1;
}

struct C2dFlags {
  std::string device;
  std::string body;
  std::vector<std::string> properties;
  std::vector<std::string> system_properties;
};

int SendC2d(const CommandContext& context, const C2dFlags& flags) {
  hub::v1::SendC2DRequest request;
  request.set_device(flags.device);
  request.set_body(flags.body);
  for (const std::string& p : flags.properties) {
    absl::StatusOr<std::pair<std::string, std::string>> kv = KeyValueFlag("--prop", p);
    if (!kv.ok()) return ReportError(context, kv.status());
    (*request.mutable_properties())[kv->first] = kv->second;
  }
  for (const std::string& p : flags.system_properties) {
    absl::StatusOr<std::pair<std::string, std::string>> kv = KeyValueFlag("--sys", p);
    if (!kv.ok()) return ReportError(context, kv.status());
    (*request.mutable_system_properties())[kv->first] = kv->second;
  }
  absl::StatusOr<std::unique_ptr<Hub::Stub>> stub = HubStub(context);
  if (!stub.ok()) return ReportError(context, stub.status());
  absl::StatusOr<hub::v1::SendC2DResponse> sent =
      CallService("hub", **stub, &Hub::Stub::SendC2D, request);
  if (!sent.ok()) return ReportError(context, sent.status());
  *context.out << (sent->queued() ? "queued for " : "sent to ") << flags.device
               << (sent->queued() ? " (offline; it gets it when it reconnects)\n" : "\n");
  return 0;
}

}  // namespace

void AddHubCommands(CLI::App& app, Action* action) {
  CLI::App* client = app.add_subcommand("client", "the hub's connected MQTT clients");
  client->require_subcommand(1);
  client->add_subcommand("list", "who is connected: identity, auth, since, subscriptions")
      ->callback([action] { *action = [](const CommandContext& c) { return ClientList(c); }; });
  auto kick_id = std::make_shared<std::string>();
  CLI::App* kick = client->add_subcommand("kick", "disconnect a client");
  kick->add_option("ID", *kick_id, "its client id")->required();
  kick->callback(
      [=] { *action = [=](const CommandContext& c) { return ClientKick(c, *kick_id); }; });

  auto invoke_flags = std::make_shared<InvokeFlags>();
  CLI::App* invoke =
      app.add_subcommand("invoke", "call a direct method on a connected device or module");
  invoke->add_option("TARGET", invoke_flags->target, "DEVICE or DEVICE/MODULE")->required();
  invoke->add_option("METHOD", invoke_flags->method, "the method name")->required();
  CLI::Option* payload =
      invoke->add_option("--payload", invoke_flags->payload, "the request, JSON (default null)");
  invoke->add_option("--payload-file", invoke_flags->payload_file, "the request, from a file")
      ->excludes(payload);
  invoke->add_option("--timeout", invoke_flags->timeout_seconds,
                     "seconds to wait for the answer (5-300, default 30)");
  invoke->callback(
      [=] { *action = [=](const CommandContext& c) { return Invoke(c, *invoke_flags); }; });

  CLI::App* c2d = app.add_subcommand("c2d", "cloud-to-device messages");
  c2d->require_subcommand(1);
  auto c2d_flags = std::make_shared<C2dFlags>();
  CLI::App* send = c2d->add_subcommand("send", "send a message to a device");
  send->add_option("DEVICE", c2d_flags->device, "the device id")->required();
  send->add_option("--body", c2d_flags->body, "the message body")->required();
  send->add_option("--prop", c2d_flags->properties, "an application property key=value");
  send->add_option("--sys", c2d_flags->system_properties,
                   "a system property by name, e.g. messageId=m1, contentType=application/json");
  send->callback(
      [=] { *action = [=](const CommandContext& c) { return SendC2d(c, *c2d_flags); }; });
}

}  // namespace edge::cli
