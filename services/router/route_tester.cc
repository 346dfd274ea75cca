#include "services/router/route_tester.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/route/message.h"
#include "common/route/proto_message.h"

namespace edge::router {

absl::StatusOr<v1::TestRouteResponse> TestRoute(const v1::TestRouteRequest& request,
                                                std::shared_ptr<const RoutesConfig> in_force) {
  const common::v1::Message& message = request.message();
  if (message.source().kind() == common::v1::MESSAGE_KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "message.source.kind: say what produced the message (telemetry or a twin change "
        "notification)");
  }
  if (message.source().device_id().empty()) {
    return absl::InvalidArgumentError("message.source.device_id: the sender's device id is empty");
  }
  std::shared_ptr<const RoutesConfig> config = std::move(in_force);
  if (!request.desired_json().empty()) {
    absl::StatusOr<std::shared_ptr<const RoutesConfig>> candidate =
        CompileRoutesConfig(0, request.desired_json());
    if (!candidate.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("desired_json: ", candidate.status().message()));
    }
    config = *std::move(candidate);
  }
  if (config == nullptr) {
    return absl::FailedPreconditionError(
        "no routes are configured: set the $edgeHub routes first (edgectl route set FILE), or "
        "test against a document (--config FILE)");
  }
  route::ProtoMessageView view(message);
  route::MessageContext context(view.view());
  route::RoutingDecision decision = config->table.Explain(context);

  v1::TestRouteResponse response;
  response.set_source_path(std::string(context.source_path()));
  response.set_desired_version(config->desired_version);
  for (const route::RouteTarget& target : decision.targets) {
    v1::Destination* destination = response.add_destinations();
    destination->set_endpoint(std::string(target.endpoint));
    if (target.priority.has_value()) destination->set_priority(*target.priority);
    destination->set_ttl_seconds(target.ttl_seconds);
  }
  absl::flat_hash_map<std::string, const route::RouteSpec*> specs;
  for (const route::RouteSpec& spec : config->spec.routes) specs[spec.name] = &spec;
  for (const route::ExplainedRoute& explained : decision.routes) {
    v1::RouteVerdict* verdict = response.add_routes();
    verdict->set_name(explained.name);
    if (auto it = specs.find(explained.name); it != specs.end()) {
      verdict->set_route(it->second->route);
    }
    verdict->set_outcome(std::string(route::RouteOutcomeKindName(explained.outcome.kind)));
    verdict->set_detail(explained.outcome.detail);
    for (const std::string& reference : explained.outcome.undefined_references) {
      verdict->add_undefined_references(reference);
    }
  }
  return response;
}

}  // namespace edge::router
