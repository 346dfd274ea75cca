// RouteTable: the compiled routes of one `$edgeHub` configuration, and what the router appends for
// a message: one (endpoint, priority, TTL) per endpoint that some route hit.
//
// Configuration (iothub-surface.md §3): the `$edgeHub` desired properties with schemaVersion "1.0"
// to "1.3"; `routes` maps a name to a route string or, from 1.1 on, to
// `{"route": …, "priority": 0-9, "timeToLiveSecs": n}`; `storeAndForwardConfiguration.
// timeToLiveSecs` is the global TTL (absent: 7200 s; zero or negative: forever). An invalid
// configuration is rejected as a whole, and the error lists every problem, every bad route
// included, one per line.
//
// Evaluation: a route hits when its source matches and its condition is True. When several
// routes hit one endpoint the message goes there once, with the best priority (0 is best, none is
// worst) and, among routes of that priority, the longest TTL. A route's TTL is its own when
// positive, else the global one; 0 in a RouteTarget means the entry never expires (the store's
// convention).
//
// Thread-safety: immutable after creation; evaluate from any number of threads, one
// MessageContext per message.
//
// Example:
//   ASSIGN_OR_RETURN(RouteTable table, RouteTable::FromEdgeHubDesiredJson(R"({
//       "schemaVersion": "1.1",
//       "routes": {"up": "FROM /messages/* INTO $upstream",
//                  "hot": {"route": "FROM /* WHERE $body.t > 30 INTO $upstream", "priority": 0}},
//       "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}})"));
//   MessageContext context(view);
//   std::vector<RouteTarget> targets = table.Evaluate(context);  // [{$upstream, 0, 7200}] if hot
#ifndef EDGE_COMMON_ROUTE_ROUTE_TABLE_H_
#define EDGE_COMMON_ROUTE_ROUTE_TABLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/route/message.h"
#include "common/route/route.h"
#include "nlohmann/json_fwd.hpp"

namespace edge::route {

// IoT Edge's default when storeAndForwardConfiguration.timeToLiveSecs is absent.
inline constexpr int64_t kDefaultTimeToLiveSecs = 7200;

struct RouteSpec {
  std::string name;
  std::string route;
  // 0-9, 0 highest; absent is the lowest.
  std::optional<uint32_t> priority = std::nullopt;
  // 0: the global TTL.
  int64_t time_to_live_secs = 0;
};

struct RouteTarget {
  // Canonical, e.g. `$upstream`; valid while the table lives.
  absl::string_view endpoint;
  std::optional<uint32_t> priority = std::nullopt;
  // 0: never expires.
  int64_t ttl_seconds = 0;

  friend bool operator==(const RouteTarget& a, const RouteTarget& b) {
    return a.endpoint == b.endpoint && a.priority == b.priority && a.ttl_seconds == b.ttl_seconds;
  }
};

struct ExplainedRoute {
  std::string name;
  RouteOutcome outcome;
};

struct RoutingDecision {
  std::vector<RouteTarget> targets;
  // Every route, in table order.
  std::vector<ExplainedRoute> routes;
};

// The `$edgeHub` desired properties, validated but not compiled.
struct EdgeHubRoutesConfig {
  std::string schema_version;
  std::vector<RouteSpec> routes;
  // As configured; see RouteTable for the meaning of zero and negative values.
  int64_t time_to_live_secs = kDefaultTimeToLiveSecs;
};

// Reads `desired` without compiling the routes. kInvalidArgument listing every problem: not an
// object, schemaVersion missing or not 1.0-1.3, routes missing or not an object, a route that is
// neither a string nor (from 1.1) an object with a string `route`, a priority outside 0-9, a
// negative or non-integer TTL.
absl::StatusOr<EdgeHubRoutesConfig> ParseEdgeHubRoutesConfig(const nlohmann::json& desired);

class RouteTable {
 public:
  // Compiles every route. kInvalidArgument listing every bad route (name and compile error), a
  // duplicate or empty name, or a priority above 9.
  static absl::StatusOr<RouteTable> Create(std::vector<RouteSpec> routes,
                                           int64_t time_to_live_secs = kDefaultTimeToLiveSecs);

  // ParseEdgeHubRoutesConfig + Create, with the problems of both in one error.
  static absl::StatusOr<RouteTable> FromEdgeHubDesired(const nlohmann::json& desired);
  // As above from JSON text; kInvalidArgument when the text is not JSON.
  static absl::StatusOr<RouteTable> FromEdgeHubDesiredJson(absl::string_view json_text);

  RouteTable(RouteTable&&) noexcept = default;
  RouteTable& operator=(RouteTable&&) noexcept = default;

  // Replaces `*targets` with what the message should be appended to, in the order the endpoints
  // were first hit; reuses the vector's storage.
  void Evaluate(MessageContext& message, std::vector<RouteTarget>* targets) const;
  std::vector<RouteTarget> Evaluate(MessageContext& message) const;

  // The same targets, and for every route whether and why it matched or not.
  RoutingDecision Explain(MessageContext& message) const;

  size_t size() const { return entries_.size(); }
  const std::string& schema_version() const { return schema_version_; }
  int64_t time_to_live_secs() const { return time_to_live_secs_; }
  // Route names in table order (sorted by name for a configuration read from JSON).
  std::vector<std::string> route_names() const;

 private:
  struct Entry {
    std::string name;
    Route route;
    std::optional<uint32_t> priority;
    int64_t ttl_seconds;  // resolved: 0 forever
    size_t endpoint;      // index into endpoints_
    size_t source;        // index of the route's source among the table's distinct sources
  };

  RouteTable() = default;
  // Compiles `routes` into this (new, empty) table, adding a line to `problems` for each bad one.
  void AddRoutes(std::vector<RouteSpec> routes, int64_t time_to_live_secs,
                 std::vector<std::string>& problems);
  void Merge(const Entry& entry, std::vector<RouteTarget>* targets) const;

  std::string schema_version_;
  int64_t time_to_live_secs_ = kDefaultTimeToLiveSecs;
  std::vector<Entry> entries_;
  // Distinct canonical endpoints; RouteTarget::endpoint views these. A vector of strings keeps its
  // elements in place when the table is moved.
  std::vector<std::string> endpoints_;
  // How many distinct sources (by lower-cased prefix) the routes have: each is matched once per
  // message, however many routes share it.
  size_t source_count_ = 0;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_ROUTE_TABLE_H_
