// The syntax tree of a route condition, as the parser builds it and before any type checking.
// Internal to the library (the compiler consumes it); tests print it with AstDebugString to check
// precedence and associativity.
//
// Example:
//   ParseCondition("1 + 2 * 3")  ->  AstDebugString: "(+ 1 (* 2 3))"
#ifndef EDGE_COMMON_ROUTE_AST_H_
#define EDGE_COMMON_ROUTE_AST_H_

#include <memory>
#include <string>
#include <vector>

#include "common/route/lexer.h"
#include "common/route/value.h"

namespace edge::route {

enum class AstKind {
  kLiteral,         // literal
  kProperty,        // `name`: the application property `name`
  kDollarName,      // `$name`: application property `$name` if present, else system property
  kSystemProperty,  // `{$name}`: the system property `name`
  kBodyQuery,       // `$body.a.b[0]` (app property of that name first) or `{$body.a}` (forced)
  kPathArgument,    // the bare path argument of twin_change_includes(properties.reported.x)
  kUnary,           // op, children[0]
  kBinary,          // op, children[0], children[1]
  kCall,            // name, children = arguments
};

enum class AstOp {
  kNone,
  kNegate,
  kNot,
  kMul,
  kDiv,
  kMod,
  kAdd,
  kSub,
  kConcat,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kAnd,
  kOr,
  kCoalesce,
};

// How the operator is written: "-", "NOT", "*", ..., "||", "<>" is written "!=", "??".
const char* AstOpSymbol(AstOp op);

struct AstNode {
  AstKind kind = AstKind::kLiteral;
  // Where the node starts (for operators: where the operator is).
  Position position;
  // kLiteral.
  Value literal;
  // kProperty, kDollarName, kSystemProperty: the property name (without `$`); kCall: the function
  // name as written; kBodyQuery / kPathArgument: unused.
  std::string name;
  // kBodyQuery, kPathArgument: the steps after `$body`.
  std::vector<PathStep> path;
  // kBodyQuery: written `{$body...}`, so an application property of the same name is not looked at.
  bool forced = false;
  // The reference as written in the condition, for messages: `temp`, `$messageId`, `{$to}`,
  // `$body.a[0]`.
  std::string text;
  AstOp op = AstOp::kNone;
  std::vector<std::unique_ptr<AstNode>> children;
  // 1 for a leaf, else 1 + the deepest child; bounded by kMaxDepth.
  int depth = 1;
};

// A compact prefix form: literals as Value::DebugString, references as written, operators as
// "(op a b)", calls as "(name a b)".
std::string AstDebugString(const AstNode& node);

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_AST_H_
