// Where a runtime instance keeps its state: `$EDGE_HOME` (config.toml, run/, logs/, data/).
// Two instances with different homes and ports run side by side.
//
// Example:
//   ASSIGN_OR_RETURN(std::filesystem::path home, ResolveEdgeHome(flag));
//   RETURN_IF_ERROR(EnsureDirectory(RunDir(home), 0750));
#ifndef EDGE_COMMON_EDGE_HOME_H_
#define EDGE_COMMON_EDGE_HOME_H_

#include <sys/types.h>

#include <filesystem>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edge {

// `explicit_home` when not empty, else $EDGE_HOME, else $HOME/.edge. The result is absolute.
// INVALID_ARGUMENT when none of them is set.
absl::StatusOr<std::filesystem::path> ResolveEdgeHome(absl::string_view explicit_home);

inline std::filesystem::path RunDir(const std::filesystem::path& home) { return home / "run"; }
inline std::filesystem::path LogDir(const std::filesystem::path& home) { return home / "logs"; }
inline std::filesystem::path DataDir(const std::filesystem::path& home) { return home / "data"; }
inline std::filesystem::path ConfigPath(const std::filesystem::path& home) {
  return home / "config.toml";
}

// Creates `dir` and its parents if missing and sets its mode. INTERNAL with the OS error otherwise.
absl::Status EnsureDirectory(const std::filesystem::path& dir, mode_t mode);

// Writes `contents` to `path` atomically: a temporary file created with `mode`, synced, then
// renamed over `path`. INTERNAL with the OS error.
absl::Status WriteFileAtomically(const std::filesystem::path& path, absl::string_view contents,
                                 mode_t mode = 0644);

}  // namespace edge

#endif  // EDGE_COMMON_EDGE_HOME_H_
