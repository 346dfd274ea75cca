// TestRoute: what the routes would do with a message, without storing anything — where it would
// go, and for every route whether it matched and why not (common/route's explanations). For
// `edgectl route test`.
//
// Example:
//   v1::TestRouteRequest request;  // message.source {TELEMETRY, "sensor-1"}, body, properties
//   ASSIGN_OR_RETURN(v1::TestRouteResponse verdict, TestRoute(request, routes.Get().config));
//   verdict.destinations();  // [{BrokeredEndpoint("/modules/filter/inputs/in1"), ttl 7200}]
//   verdict.routes(1).detail();  // "source '/messages/modules/filter/*' does not match ..."
#ifndef EDGE_SERVICES_ROUTER_ROUTE_TESTER_H_
#define EDGE_SERVICES_ROUTER_ROUTE_TESTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "edge/router/v1/router.pb.h"
#include "services/router/routes_config.h"

namespace edge::router {

// Evaluates `request.message` against `request.desired_json` when set, else against `in_force`.
// INVALID_ARGUMENT for a message without source kind or device id, or an invalid desired_json
// (every problem listed; also for an unsupported schemaVersion); FAILED_PRECONDITION when neither
// a configuration is in force nor desired_json is given.
absl::StatusOr<v1::TestRouteResponse> TestRoute(const v1::TestRouteRequest& request,
                                                std::shared_ptr<const RoutesConfig> in_force);

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ROUTE_TESTER_H_
