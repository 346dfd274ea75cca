// libFuzzer target over the route language: lexer, parser, compiler, evaluator and $edgeHub
// configuration parsing. Built with clang by run_route_fuzz.sh; the unit test
// route_fuzz_replay_test links the same file into the g++ build and replays the corpus.
//
// An input is up to five sections separated by a line holding only "%%":
//   1. what to compile: a route (starts with FROM or SELECT), an $edgeHub configuration (starts
//      with '{'), or else a bare condition;
//   2. the message's source path, e.g. /messages/modules/m/outputs/o or /twinChangeNotifications;
//   3. application properties as name=value&name=value;
//   4. system properties, the same way (contentType=application/json&contentEncoding=utf-8);
//   5. the body, everything that is left.
//
// Besides crashes and sanitizer reports, it traps when evaluation is inconsistent: the verdict
// disagrees with the value, a second evaluation differs from the first, tracing changes the
// result, the body is parsed more than once, or Explain disagrees with Evaluate.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/route/condition.h"
#include "common/route/route_table.h"

namespace {

using edge::route::CompileOptions;
using edge::route::Condition;
using edge::route::EvalTrace;
using edge::route::MessageContext;
using edge::route::MessageView;
using edge::route::Property;
using edge::route::RouteOutcomeKind;
using edge::route::RouteSpec;
using edge::route::RouteTable;
using edge::route::RouteTarget;
using edge::route::SourceKind;
using edge::route::Verdict;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::vector<Property> Properties(absl::string_view text) {
  std::vector<Property> properties;
  if (text.empty()) return properties;
  for (absl::string_view pair : absl::StrSplit(text, '&')) {
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) {
      properties.push_back(Property{pair, ""});
    } else {
      properties.push_back(Property{pair.substr(0, eq), pair.substr(eq + 1)});
    }
  }
  return properties;
}

void SetSource(absl::string_view path, MessageView* view) {
  if (absl::StartsWithIgnoreCase(path, "/twinChangeNotifications")) {
    view->kind = SourceKind::kTwinChangeNotification;
    return;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.size() >= 3) view->module_id = parts[2];
  if (parts.size() >= 5) view->output_name = parts[4];
}

void FuzzCondition(const std::string& text, const MessageView& view) {
  bool lenient_compiled = false;
  std::string lenient_value;
  for (bool twin : {false, true}) {
    CompileOptions options;
    options.twin_change_source = twin;
    options.require_boolean = false;
    absl::StatusOr<Condition> condition = Condition::Compile(text, options);
    if (!condition.ok()) {
      Check(condition.status().code() == absl::StatusCode::kInvalidArgument);
      continue;
    }
    MessageContext first(view);
    const edge::route::Value value = condition->EvaluateValue(first);
    const Verdict verdict = condition->Evaluate(first);
    Check((verdict == Verdict::kTrue) == value.IsTrue());
    Check(verdict != Verdict::kFalse || (value.is_bool() && !value.boolean()));
    MessageContext second(view);
    EvalTrace trace;
    Check(condition->Evaluate(second, &trace) == verdict);
    Check(condition->EvaluateValue(second).DebugString() == value.DebugString());
    Check(first.body_parse_count() <= 1 && second.body_parse_count() <= 1);
    if (!twin) {
      lenient_compiled = true;
      lenient_value = value.DebugString();
    }
  }
  // What a route accepts is a subset of what the lenient mode accepts, and means the same.
  absl::StatusOr<Condition> strict = Condition::Compile(text);
  if (strict.ok()) {
    Check(lenient_compiled);
    MessageContext context(view);
    Check(strict->EvaluateValue(context).DebugString() == lenient_value);
  }
}

void FuzzTable(absl::StatusOr<RouteTable> table, const MessageView& view) {
  if (!table.ok()) {
    Check(table.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  MessageContext context(view);
  std::vector<RouteTarget> targets = table->Evaluate(context);
  const edge::route::RoutingDecision decision = table->Explain(context);
  Check(decision.targets == targets);
  Check(decision.routes.size() == table->size());
  size_t matched = 0;
  for (const auto& route : decision.routes) {
    matched += route.outcome.kind == RouteOutcomeKind::kMatched ? 1 : 0;
  }
  Check(targets.size() <= matched);
  Check((matched == 0) == targets.empty());
  Check(context.body_parse_count() <= 1);
  for (const RouteTarget& target : targets) {
    Check(!target.endpoint.empty());
    Check(!target.priority.has_value() || *target.priority <= 9);
    Check(target.ttl_seconds >= 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> sections = absl::StrSplit(input, absl::MaxSplits("\n%%\n", 4));
  sections.resize(5);
  const std::string text(sections[0]);

  const std::vector<Property> application = Properties(sections[2]);
  const std::vector<Property> system = Properties(sections[3]);
  MessageView view;
  SetSource(sections[1], &view);
  view.application_properties = application;
  view.system_properties = system;
  view.body = sections[4];

  const absl::string_view head = absl::StripLeadingAsciiWhitespace(text);
  if (absl::StartsWith(head, "{")) {
    FuzzTable(RouteTable::FromEdgeHubDesiredJson(text), view);
  } else if (absl::StartsWithIgnoreCase(head, "FROM") ||
             absl::StartsWithIgnoreCase(head, "SELECT")) {
    FuzzTable(RouteTable::Create({RouteSpec{"fuzz", text, 1, 60}, RouteSpec{"plain", text}}), view);
  } else {
    FuzzCondition(text, view);
  }
  return 0;
}
