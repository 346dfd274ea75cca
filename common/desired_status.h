// The `lastDesiredStatus.code` values a service reports for a desired document it follows (the
// agent for `$edgeAgent`, the router for `$edgeHub`; docs/iothub-surface.md §5).
#ifndef EDGE_COMMON_DESIRED_STATUS_H_
#define EDGE_COMMON_DESIRED_STATUS_H_

#include <cstdint>
#include <string>

namespace edge {

inline constexpr int kDesiredApplied = 200;           // applied
inline constexpr int kDesiredInvalid = 400;           // malformed or invalid: not applied
inline constexpr int kDesiredBadSchemaVersion = 412;  // unsupported schemaVersion: not applied
inline constexpr int kDesiredNotConfigured = 417;     // nothing set yet
inline constexpr int kDesiredRuntimeError = 500;      // valid, but applying it failed

// What a service made of one desired version: reported as lastDesiredVersion and
// lastDesiredStatus {code, description}.
struct DesiredStatus {
  int64_t desired_version = 0;
  int code = 0;
  // Empty for 200; otherwise why the version was not applied (every problem, one per line).
  std::string description;

  friend bool operator==(const DesiredStatus&, const DesiredStatus&) = default;
};

}  // namespace edge

#endif  // EDGE_COMMON_DESIRED_STATUS_H_
