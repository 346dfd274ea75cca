#include "services/agent/monitor/log_lines.h"

#include "absl/strings/ascii.h"

namespace edge::agent {
namespace {

constexpr char kStampFormat[] = "%Y-%m-%dT%H:%M:%E6SZ";

// True, with its time, when `line` starts with a stamp.
bool ParseStamp(absl::string_view line, absl::Time* time) {
  if (line.size() < kLogStampSize || line[kLogStampSize - 1] != ' ' || line[4] != '-' ||
      line[10] != 'T' || line[kLogStampSize - 2] != 'Z' || !absl::ascii_isdigit(line[0])) {
    return false;
  }
  std::string error;
  return absl::ParseTime(kStampFormat, line.substr(0, kLogStampSize - 1), absl::UTCTimeZone(), time,
                         &error);
}

}  // namespace

std::string StampLines(absl::string_view chunk, absl::Time now, bool* at_line_start) {
  const std::string stamp =
      absl::FormatTime(kStampFormat, now, absl::UTCTimeZone()) + std::string(" ");
  std::string out;
  out.reserve(chunk.size() + stamp.size());
  while (!chunk.empty()) {
    if (*at_line_start) out += stamp;
    const size_t newline = chunk.find('\n');
    const size_t end = newline == absl::string_view::npos ? chunk.size() : newline + 1;
    out.append(chunk.data(), end);
    *at_line_start = newline != absl::string_view::npos;
    chunk.remove_prefix(end);
  }
  return out;
}

std::string UnstampLines(absl::string_view text, absl::Time since, bool mid_line,
                         bool* mid_line_at_end) {
  if (mid_line_at_end != nullptr) {
    *mid_line_at_end = text.empty() ? mid_line : text.back() != '\n';
  }
  std::string out;
  out.reserve(text.size());
  bool first = true;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const size_t end = newline == absl::string_view::npos ? text.size() : newline + 1;
    absl::string_view line = text.substr(0, end);
    text.remove_prefix(end);
    if (first && mid_line) {
      // The rest of a line whose start (and stamp) an earlier read had.
      out.append(line.data(), line.size());
      first = false;
      continue;
    }
    first = false;
    absl::Time stamped;
    if (ParseStamp(line, &stamped)) {
      if (stamped < since) continue;
      line.remove_prefix(kLogStampSize);
    }
    out.append(line.data(), line.size());
  }
  return out;
}

}  // namespace edge::agent
