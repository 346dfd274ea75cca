// Condition: a compiled WHERE clause of the route language. Compile once, evaluate many: the text
// is parsed and type-checked once into an evaluation tree; evaluating a message walks that tree
// against a MessageContext, which parses the body at most once however many conditions query it.
//
// A route fires only when its condition is True. Verdict kUndefined covers every other non-false
// result: a missing property, a failing function, a comparison across types, and also a null or
// non-boolean body value as the whole condition.
//
// Thread-safety: a Condition is immutable; many threads may evaluate it at once, each with its own
// MessageContext.
//
// Example:
//   absl::StatusOr<Condition> c = Condition::Compile("as_number(temp) > 30");
//   Property app[] = {{"temp", "35"}};
//   MessageView view{.application_properties = app};
//   MessageContext context(view);
//   c->Evaluate(context);  // Verdict::kTrue
//   Condition::Compile("temp > 30").status();
//   // kInvalidArgument: "'temp' is a string property compared with a number at 1:6;
//   //                    use as_number(temp)"
#ifndef EDGE_COMMON_ROUTE_CONDITION_H_
#define EDGE_COMMON_ROUTE_CONDITION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/route/compiler.h"
#include "common/route/expr.h"
#include "common/route/message.h"
#include "common/route/value.h"

namespace edge::route {

enum class Verdict { kTrue, kFalse, kUndefined };

// "True", "False" or "Undefined".
absl::string_view VerdictName(Verdict verdict);

class Condition {
 public:
  // Compiles a bare condition; positions in errors count from the start of `text`.
  // kInvalidArgument, with line:column and a human message, for any syntax or type error.
  static absl::StatusOr<Condition> Compile(absl::string_view text,
                                           const CompileOptions& options = {});

  // Compiles an already parsed condition (ParseRoute's); `text` is kept for display only.
  static absl::StatusOr<Condition> FromAst(std::string text, const AstNode& ast,
                                           const CompileOptions& options);

  Condition(Condition&&) noexcept = default;
  Condition& operator=(Condition&&) noexcept = default;

  Verdict Evaluate(MessageContext& message) const;
  // As above; when `trace` is not null it collects why the result is Undefined.
  Verdict Evaluate(MessageContext& message, EvalTrace* trace) const;
  // The condition's value itself (for tests and tools).
  Value EvaluateValue(MessageContext& message) const;

  const std::string& text() const { return text_; }

 private:
  Condition(std::string text, std::unique_ptr<Expr> root)
      : text_(std::move(text)), root_(std::move(root)) {}

  std::string text_;
  std::unique_ptr<Expr> root_;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_CONDITION_H_
