// Route: one compiled route of the language `[SELECT *] FROM source [WHERE condition] INTO sink`.
//
// Source: a path such as `/messages/*`, `/messages/modules/{m}/outputs/{o}` or
// `/twinChangeNotifications`. It matches a message when the message's source path (with its
// trailing `/`, see SourcePath) starts, case-insensitively, with the route source stripped of a
// trailing `*` and `/` plus `/`. So `/*` matches everything, `/messages/*` all telemetry, and
// `/messages/modules/m/outputs/o` exactly output `o` of module `m` (not `o2`). A source no message
// path can ever match (`/foo`, `/messages/bar`) is a compile error.
//
// Sink: `$upstream` or `BrokeredEndpoint("/modules/{m}/inputs/{i}")` (names case-insensitive);
// anything else is a compile error. endpoint() is the canonical spelling the store's queues use.
//
// Thread-safety: immutable after Compile.
//
// Example:
//   absl::StatusOr<Route> r = Route::Compile(
//       R"(FROM /messages/modules/sensor/* WHERE temp = 'hot'
//          INTO BrokeredEndpoint("/modules/filter/inputs/in1"))");
//   r->sink().endpoint;        // BrokeredEndpoint("/modules/filter/inputs/in1")
//   r->Matches(context);       // source matches and condition True
//   r->Explain(context).kind;  // e.g. RouteOutcomeKind::kConditionUndefined
#ifndef EDGE_COMMON_ROUTE_ROUTE_H_
#define EDGE_COMMON_ROUTE_ROUTE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/route/condition.h"
#include "common/route/lexer.h"
#include "common/route/message.h"

namespace edge::route {

class RouteSource {
 public:
  // kInvalidArgument (positioned at `at`) for a path that does not start with '/', has an empty
  // segment, a '*' that is not the whole last segment, or can never match a message path.
  static absl::StatusOr<RouteSource> Parse(absl::string_view text, Position at = {});

  // As written.
  const std::string& text() const { return text_; }
  // What a message path must start with: the text without a trailing `*` and `/`, plus `/`.
  const std::string& prefix() const { return prefix_; }
  // FROM /twinChangeNotifications: the only source twin_change_includes() is valid for.
  bool is_twin_change_notifications() const;

  // `source_path` is a message's path as SourcePath() builds it.
  bool Matches(absl::string_view source_path) const;

 private:
  std::string text_;
  std::string prefix_;
};

struct Sink {
  enum class Kind { kUpstream, kModuleInput };
  Kind kind = Kind::kUpstream;
  // kModuleInput only.
  std::string module;
  std::string input;
  // `$upstream` or `BrokeredEndpoint("/modules/{module}/inputs/{input}")`.
  std::string endpoint;
};

enum class RouteOutcomeKind {
  kMatched,
  kSourceMismatch,
  kConditionFalse,
  // The condition was Undefined (or not a boolean): undefined_references says what was missing.
  kConditionUndefined,
  // The condition was Undefined because a body query met a body it could not read (no JSON
  // content type, an unsupported encoding, or invalid JSON).
  kBodyNotJson,
};

// "matched", "source mismatch", "condition False", "condition Undefined", "body not JSON".
absl::string_view RouteOutcomeKindName(RouteOutcomeKind kind);

struct RouteOutcome {
  RouteOutcomeKind kind = RouteOutcomeKind::kMatched;
  // A sentence for people, e.g. "source '/messages/modules/a/*' does not match
  // '/messages/modules/b/'".
  std::string detail;
  // kConditionUndefined / kBodyNotJson: the references (as written) that were Undefined.
  std::vector<std::string> undefined_references;
};

class Route {
 public:
  // kInvalidArgument with line:column (counted from the start of `text`) for any syntax error,
  // invalid source or sink, or type error in the condition.
  static absl::StatusOr<Route> Compile(absl::string_view text);

  Route(Route&&) noexcept = default;
  Route& operator=(Route&&) noexcept = default;

  const std::string& text() const { return text_; }
  const RouteSource& source() const { return source_; }
  const Sink& sink() const { return sink_; }
  // nullptr for a route without WHERE.
  const Condition* condition() const { return condition_ ? &*condition_ : nullptr; }

  // The source matches and the condition (if any) is True.
  bool Matches(MessageContext& message) const;
  // Why the route did or did not match; slower than Matches (it traces the evaluation).
  RouteOutcome Explain(MessageContext& message) const;

 private:
  Route() = default;

  std::string text_;
  RouteSource source_;
  std::optional<Condition> condition_;
  Sink sink_;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_ROUTE_H_
