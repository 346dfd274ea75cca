// Process-wide logging on spdlog: one line per event on stderr, tagged with the service name.
// The supervisor redirects each service's stderr into $EDGE_HOME/logs/<service>.log.
//
// Example:
//   RETURN_IF_ERROR(edge::InitLogging("store", "info"));
//   spdlog::warn("queue {} expired {} entries", queue, n);
//
// Include this header (not spdlog's alone) where an absl::string_view is logged.
#ifndef EDGE_COMMON_LOGGING_H_
#define EDGE_COMMON_LOGGING_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

namespace edge {

// `level` is one of trace, debug, info, warn, error, critical, off; anything else is
// INVALID_ARGUMENT.
absl::Status InitLogging(absl::string_view service, absl::string_view level);

}  // namespace edge

// Debian's Abseil has its own absl::string_view (not std::string_view): teach fmt to print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

#endif  // EDGE_COMMON_LOGGING_H_
