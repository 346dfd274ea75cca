// How a module's output is stored: every line the monitor writes to output.log starts with the time
// its first byte arrived, so that `logs --since` can select lines by time (Docker's json-file log
// driver keeps a time per line for the same reason):
//
//   2026-11-26T14:52:11.123456Z hello from the module
//
// The prefix is fixed-width (kLogStampSize bytes, the space included) and removed again when the
// output is read. Lines without a valid prefix (written before it existed) are kept as they are,
// with no time: `since` does not filter them out.
//
// Example:
//   bool at_line_start = true;
//   log.Write(StampLines(chunk, absl::Now(), &at_line_start));                    // the monitor
//   std::string text = UnstampLines(file_text, since, /*mid_line=*/false, &mid);  // the runtime
//
// Pure functions: no I/O.
#ifndef EDGE_SERVICES_AGENT_MONITOR_LOG_LINES_H_
#define EDGE_SERVICES_AGENT_MONITOR_LOG_LINES_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edge::agent {

// "2026-11-26T14:52:11.123456Z " is 28 bytes.
inline constexpr size_t kLogStampSize = 28;

// `chunk` (any piece of output) with the stamp of `now` before every line that starts in it.
// `*at_line_start` says whether the previous chunk ended a line, and is updated.
std::string StampLines(absl::string_view chunk, absl::Time now, bool* at_line_start);

// `text` (stamped output read from a file) without the stamps, keeping only lines stamped at or
// after `since` (and unstamped ones). `mid_line` says that `text` starts inside a line, whose start
// was already read (its rest is kept as it is). `*mid_line_at_end` (when not null) receives whether
// `text` ends inside a line.
std::string UnstampLines(absl::string_view text, absl::Time since, bool mid_line,
                         bool* mid_line_at_end = nullptr);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MONITOR_LOG_LINES_H_
