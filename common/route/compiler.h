// Compiler of the route language: type-checks a condition's syntax tree and turns it into the
// evaluation tree of expr.h, folding constant subtrees on the way.
//
// Type rules (iothub-surface.md §3, and IoT Hub where §3 is silent):
//   - properties (`name`, `$name`, `{$name}`) are strings; body queries are dynamic;
//   - comparing a string with a number, a bool with a string, etc. is a compile error when both
//     sides' types are known; `temp > 30` gets the hint "use as_number(temp)";
//   - arithmetic takes numbers, `||` strings, AND/OR/NOT booleans (null, undefined and body
//     values are accepted everywhere and checked at run time);
//   - function arity and argument types are checked against builtins.h;
//   - the whole condition must be a boolean (or null, undefined, a body value).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<AstNode> ast, ParseCondition("as_number(temp) > 30"));
//   ASSIGN_OR_RETURN(std::unique_ptr<Expr> root, CompileAst(*ast, CompileOptions{}));
#ifndef EDGE_COMMON_ROUTE_COMPILER_H_
#define EDGE_COMMON_ROUTE_COMPILER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/route/ast.h"
#include "common/route/expr.h"

namespace edge::route {

struct CompileOptions {
  // The route reads FROM /twinChangeNotifications: twin_change_includes() is allowed only then.
  bool twin_change_source = false;
  // A route's condition must be a boolean (or null, undefined, a body value). Tools and tests that
  // evaluate arbitrary expressions, such as abs(-3), turn this off.
  bool require_boolean = true;
};

// kInvalidArgument with line:column and a human message for a type error, an unknown function, a
// wrong number or type of arguments, an invalid twin_change_includes path, or a condition that is
// not boolean.
absl::StatusOr<std::unique_ptr<Expr>> CompileAst(const AstNode& root,
                                                 const CompileOptions& options);

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_COMPILER_H_
