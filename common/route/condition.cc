#include "common/route/condition.h"

#include <utility>

#include "common/route/parser.h"
#include "common/status_macros.h"

namespace edge::route {

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kTrue:
      return "True";
    case Verdict::kFalse:
      return "False";
    case Verdict::kUndefined:
      return "Undefined";
  }
  return "?";
}

absl::StatusOr<Condition> Condition::Compile(absl::string_view text,
                                             const CompileOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<AstNode> ast, ParseCondition(text));
  return FromAst(std::string(text), *ast, options);
}

absl::StatusOr<Condition> Condition::FromAst(std::string text, const AstNode& ast,
                                             const CompileOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Expr> root, CompileAst(ast, options));
  return Condition(std::move(text), std::move(root));
}

Verdict Condition::Evaluate(MessageContext& message) const { return Evaluate(message, nullptr); }

Verdict Condition::Evaluate(MessageContext& message, EvalTrace* trace) const {
  EvalState state{message, trace};
  const Value v = root_->Eval(state);
  if (v.is_bool()) return v.boolean() ? Verdict::kTrue : Verdict::kFalse;
  return Verdict::kUndefined;
}

Value Condition::EvaluateValue(MessageContext& message) const {
  EvalState state{message, nullptr};
  return root_->Eval(state);
}

}  // namespace edge::route
