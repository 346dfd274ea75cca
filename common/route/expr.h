// The compiled form of a condition: a tree of immutable expression nodes that evaluates one
// message without re-parsing anything. Internal to the library; the compiler builds it, Condition
// owns it.
//
// Evaluation is pure apart from the MessageContext cache (the body is parsed at most once) and the
// optional trace, which collects why a condition came out Undefined. Nodes are immutable after
// compilation, so one tree may evaluate many messages on many threads, each with its own context.
//
// Example:
//   EvalState state{context, /*trace=*/nullptr};
//   Value v = root->Eval(state);
#ifndef EDGE_COMMON_ROUTE_EXPR_H_
#define EDGE_COMMON_ROUTE_EXPR_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/route/message.h"
#include "common/route/value.h"

namespace edge::route {

// Why an evaluation came out Undefined: every reference that was Undefined (as written in the
// condition, with a reason where there is one) and, when a body query or twin_change_includes met
// a body it could not read, why.
struct EvalTrace {
  std::vector<std::string> undefined;
  std::string body_problem;

  // Records `what` once.
  void NoteUndefined(std::string what);
};

struct EvalState {
  MessageContext& message;
  // Null unless an explanation was asked for: the fast path pays one branch per reference.
  EvalTrace* trace;
};

class Expr {
 public:
  virtual ~Expr() = default;
  virtual Value Eval(EvalState& state) const = 0;
  // True for a literal or a folded constant subtree.
  virtual bool IsConstant() const { return false; }
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_EXPR_H_
