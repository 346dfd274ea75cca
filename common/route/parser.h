// Parser of the route language: route text (`[SELECT *] FROM source [WHERE condition] INTO sink`)
// or a bare condition into a syntax tree, with the precedence of iothub-surface.md §3 (high to
// low): unary `-` and NOT; `* / %`; `+ -` and `||`; `< <= > >=`; `= != <>`; AND; OR; `??`. Binary
// operators associate to the left. Keywords are case-insensitive.
//
// Only syntax is checked here; types, function names and arities are the compiler's business.
//
// Example:
//   absl::StatusOr<ParsedRoute> r =
//       ParseRoute("FROM /messages/* WHERE temp > '3' INTO $upstream");
//   r->source.text;  // "/messages/*"
//   AstDebugString(*r->condition);  // "(> temp '3')"
#ifndef EDGE_COMMON_ROUTE_PARSER_H_
#define EDGE_COMMON_ROUTE_PARSER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/route/ast.h"
#include "common/route/lexer.h"

namespace edge::route {

// The sink as written: `$upstream` or `BrokeredEndpoint("…")`.
struct ParsedSink {
  Position position;
  // kDollarName (`$upstream`, name in text) or kIdentifier (the function, argument in argument).
  bool is_function = false;
  std::string name;
  std::string argument;
  Position argument_position;
};

struct ParsedRoute {
  Token source;                        // kPath; text is the source as written
  std::unique_ptr<AstNode> condition;  // null without WHERE
  std::string condition_text;          // the WHERE clause as written, trimmed
  ParsedSink sink;
};

// Parses a whole condition. kInvalidArgument with line:column for any syntax error, including
// text left over after the expression and nesting deeper than kMaxDepth.
absl::StatusOr<std::unique_ptr<AstNode>> ParseCondition(absl::string_view text);

// Parses a whole route. kInvalidArgument with line:column for any syntax error; positions count
// from the start of the route text.
absl::StatusOr<ParsedRoute> ParseRoute(absl::string_view text);

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_PARSER_H_
