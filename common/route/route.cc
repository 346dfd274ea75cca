#include "common/route/route.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/route/parser.h"
#include "common/status_macros.h"

namespace edge::route {
namespace {

// Whether a prefix made of `segments` can start some message path: `/`, `/messages/`,
// `/messages/modules/{m}/`, `/messages/modules/{m}/outputs/{o}/` (and the steps in between), or
// `/twinChangeNotifications/`.
bool CanMatchSomeMessage(const std::vector<absl::string_view>& segments) {
  const auto is = [&](size_t i, absl::string_view word) {
    return absl::EqualsIgnoreCase(segments[i], word);
  };
  if (segments.empty()) return true;
  if (is(0, "twinChangeNotifications")) return segments.size() == 1;
  if (!is(0, "messages")) return false;
  if (segments.size() >= 2 && !is(1, "modules")) return false;
  if (segments.size() >= 4 && !is(3, "outputs")) return false;
  return segments.size() <= 5;
}

}  // namespace

absl::string_view RouteOutcomeKindName(RouteOutcomeKind kind) {
  switch (kind) {
    case RouteOutcomeKind::kMatched:
      return "matched";
    case RouteOutcomeKind::kSourceMismatch:
      return "source mismatch";
    case RouteOutcomeKind::kConditionFalse:
      return "condition False";
    case RouteOutcomeKind::kConditionUndefined:
      return "condition Undefined";
    case RouteOutcomeKind::kBodyNotJson:
      return "body not JSON";
  }
  return "?";
}

absl::StatusOr<RouteSource> RouteSource::Parse(absl::string_view text, Position at) {
  const std::string hint =
      "sources are /*, /messages/*, /messages/modules/{m}/*, /messages/modules/{m}/outputs/{o} "
      "and /twinChangeNotifications";
  if (!absl::StartsWith(text, "/")) {
    return CompileError(at, absl::StrCat("the source '", text, "' does not start with '/'"), hint);
  }
  absl::string_view trimmed = text;
  if (absl::EndsWith(trimmed, "/*")) {
    trimmed.remove_suffix(2);
  } else if (absl::EndsWith(trimmed, "/")) {
    trimmed.remove_suffix(1);
  }
  std::vector<absl::string_view> segments;
  if (!trimmed.empty()) {
    segments = absl::StrSplit(trimmed.substr(1), '/');
  }
  for (absl::string_view segment : segments) {
    if (segment.empty()) {
      return CompileError(at, absl::StrCat("the source '", text, "' has an empty segment"), hint);
    }
    if (segment == "*") {
      return CompileError(at,
                          absl::StrCat("the source '", text, "' has '*' before its last segment"),
                          "a wildcard ends the source, e.g. /messages/modules/m/*");
    }
  }
  if (!CanMatchSomeMessage(segments)) {
    return CompileError(at, absl::StrCat("the source '", text, "' never matches a message"), hint);
  }
  RouteSource source;
  source.text_ = std::string(text);
  source.prefix_ = segments.empty() ? "/" : absl::StrCat("/", absl::StrJoin(segments, "/"), "/");
  return source;
}

bool RouteSource::is_twin_change_notifications() const {
  return absl::EqualsIgnoreCase(prefix_, "/twinChangeNotifications/");
}

bool RouteSource::Matches(absl::string_view source_path) const {
  return absl::StartsWith(source_path, prefix_) || absl::StartsWithIgnoreCase(source_path, prefix_);
}

absl::StatusOr<Route> Route::Compile(absl::string_view text) {
  ASSIGN_OR_RETURN(ParsedRoute parsed, ParseRoute(text));
  Route route;
  route.text_ = std::string(text);
  ASSIGN_OR_RETURN(route.source_, RouteSource::Parse(parsed.source.text, parsed.source.position));

  const ParsedSink& sink = parsed.sink;
  if (!sink.is_function) {
    if (!absl::EqualsIgnoreCase(sink.name, "upstream")) {
      return CompileError(sink.position, absl::StrCat("unknown sink '$", sink.name, "'"),
                          "sinks are $upstream and BrokeredEndpoint(\"/modules/{m}/inputs/{i}\")");
    }
    route.sink_.kind = Sink::Kind::kUpstream;
    route.sink_.endpoint = "$upstream";
  } else {
    if (!absl::EqualsIgnoreCase(sink.name, "BrokeredEndpoint")) {
      return CompileError(sink.position, absl::StrCat("unknown sink '", sink.name, "'"),
                          "sinks are $upstream and BrokeredEndpoint(\"/modules/{m}/inputs/{i}\")");
    }
    const std::vector<absl::string_view> parts = absl::StrSplit(sink.argument, '/');
    if (parts.size() != 5 || !parts[0].empty() || !absl::EqualsIgnoreCase(parts[1], "modules") ||
        parts[2].empty() || !absl::EqualsIgnoreCase(parts[3], "inputs") || parts[4].empty()) {
      return CompileError(sink.argument_position,
                          absl::StrCat("the endpoint '", sink.argument,
                                       "' is not \"/modules/{module}/inputs/{input}\""));
    }
    route.sink_.kind = Sink::Kind::kModuleInput;
    route.sink_.module = std::string(parts[2]);
    route.sink_.input = std::string(parts[4]);
    route.sink_.endpoint =
        absl::StrCat("BrokeredEndpoint(\"/modules/", parts[2], "/inputs/", parts[4], "\")");
  }

  if (parsed.condition != nullptr) {
    CompileOptions options;
    options.twin_change_source = route.source_.is_twin_change_notifications();
    ASSIGN_OR_RETURN(Condition condition,
                     Condition::FromAst(parsed.condition_text, *parsed.condition, options));
    route.condition_.emplace(std::move(condition));
  }
  return route;
}

bool Route::Matches(MessageContext& message) const {
  if (!source_.Matches(message.source_path())) return false;
  return !condition_.has_value() || condition_->Evaluate(message) == Verdict::kTrue;
}

RouteOutcome Route::Explain(MessageContext& message) const {
  RouteOutcome outcome;
  if (!source_.Matches(message.source_path())) {
    outcome.kind = RouteOutcomeKind::kSourceMismatch;
    outcome.detail = absl::StrCat("the source '", source_.text(),
                                  "' does not match the message's '", message.source_path(), "'");
    return outcome;
  }
  if (!condition_.has_value()) {
    outcome.detail = "the source matches and the route has no condition";
    return outcome;
  }
  EvalTrace trace;
  switch (condition_->Evaluate(message, &trace)) {
    case Verdict::kTrue:
      outcome.detail = "the condition is True";
      return outcome;
    case Verdict::kFalse:
      outcome.kind = RouteOutcomeKind::kConditionFalse;
      outcome.detail = "the condition is False";
      return outcome;
    case Verdict::kUndefined:
      break;
  }
  outcome.undefined_references = std::move(trace.undefined);
  if (!trace.body_problem.empty()) {
    outcome.kind = RouteOutcomeKind::kBodyNotJson;
    outcome.detail = absl::StrCat("the condition is Undefined: ", trace.body_problem);
  } else {
    outcome.kind = RouteOutcomeKind::kConditionUndefined;
    outcome.detail = outcome.undefined_references.empty()
                         ? "the condition is Undefined (or not a boolean)"
                         : absl::StrCat("the condition is Undefined: undefined ",
                                        absl::StrJoin(outcome.undefined_references, ", "));
  }
  return outcome;
}

}  // namespace edge::route
