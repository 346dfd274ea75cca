#include "common/route/compiler.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/route/builtins.h"
#include "common/route/lexer.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace edge::route {

void EvalTrace::NoteUndefined(std::string what) {
  for (const std::string& known : undefined) {
    if (known == what) return;
  }
  undefined.push_back(std::move(what));
}

namespace {

using ExprPtr = std::unique_ptr<Expr>;

// ---------------------------------------------------------------------------------------------
// Evaluation nodes.

class Constant final : public Expr {
 public:
  explicit Constant(const Value& value) {
    // A literal string is viewed from the node, so evaluating it never copies.
    if (value.is_string()) {
      storage_ = std::string(value.string());
      value_ = Value::StringView(storage_);
    } else {
      value_ = value;
    }
  }
  Value Eval(EvalState&) const override { return value_; }
  bool IsConstant() const override { return true; }
  const Value& value() const { return value_; }

 private:
  std::string storage_;
  Value value_;
};

void NoteUndefined(EvalState& state, const std::string& what) {
  if (state.trace != nullptr) state.trace->NoteUndefined(what);
}

// `name` (an application property) or `{$name}` (a system property): a lookup in one of the
// message's two property lists, chosen at compile time.
class PropertyRef final : public Expr {
 public:
  using List = absl::Span<const Property> MessageView::*;
  PropertyRef(List list, std::string name, std::string text)
      : list_(list), name_(std::move(name)), text_(std::move(text)) {}
  Value Eval(EvalState& state) const override {
    const Property* p = FindProperty(state.message.message().*list_, name_);
    if (p != nullptr) return Value::StringView(p->value);
    NoteUndefined(state, text_);
    return Value::Undefined();
  }

 private:
  List list_;
  std::string name_;
  std::string text_;
};

// `$name`: the application property literally named `$name` if the message has one, else the
// system property `name`.
class DollarProperty final : public Expr {
 public:
  DollarProperty(std::string name, std::string text)
      : app_name_(absl::StrCat("$", name)), system_name_(std::move(name)), text_(std::move(text)) {}
  Value Eval(EvalState& state) const override {
    const MessageView& m = state.message.message();
    const Property* p = FindProperty(m.application_properties, app_name_);
    if (p == nullptr) p = FindProperty(m.system_properties, system_name_);
    if (p != nullptr) return Value::StringView(p->value);
    NoteUndefined(state, text_);
    return Value::Undefined();
  }

 private:
  std::string app_name_;
  std::string system_name_;
  std::string text_;
};

// Follows `path` from `root`; nullptr when a step finds nothing (a missing key, an index past the
// end, a key into a non-object or an index into a non-array).
const nlohmann::json* Walk(const nlohmann::json& root, const std::vector<PathStep>& path) {
  const nlohmann::json* node = &root;
  for (const PathStep& step : path) {
    if (step.is_index) {
      if (!node->is_array() || step.index >= node->size()) return nullptr;
      node = &(*node)[static_cast<size_t>(step.index)];
    } else {
      if (!node->is_object()) return nullptr;
      const auto it = node->find(step.key);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

class BodyQuery final : public Expr {
 public:
  // `app_name` empty: `{$body...}`, no application property is looked at.
  BodyQuery(std::string app_name, std::vector<PathStep> path, std::string text,
            bool keep_containers)
      : app_name_(std::move(app_name)),
        path_(std::move(path)),
        text_(std::move(text)),
        keep_containers_(keep_containers) {}

  Value Eval(EvalState& state) const override {
    if (!app_name_.empty()) {
      const Property* p = FindProperty(state.message.message().application_properties, app_name_);
      if (p != nullptr) return Value::StringView(p->value);
    }
    const nlohmann::json* body = state.message.JsonBody();
    if (body == nullptr) {
      if (state.trace != nullptr) {
        state.trace->body_problem = std::string(state.message.body_problem());
        state.trace->NoteUndefined(text_);
      }
      return Value::Undefined();
    }
    // A path that leads nowhere in a valid body is null (§3: a missing leaf is null).
    const nlohmann::json* node = Walk(*body, path_);
    if (node == nullptr) return Value::Null();
    switch (node->type()) {
      case nlohmann::json::value_t::null:
        return Value::Null();
      case nlohmann::json::value_t::boolean:
        return Value::Bool(node->get<bool>());
      case nlohmann::json::value_t::number_integer:
      case nlohmann::json::value_t::number_unsigned:
      case nlohmann::json::value_t::number_float:
        return Value::Number(node->get<double>());
      case nlohmann::json::value_t::string:
        return Value::StringView(node->get_ref<const std::string&>());
      case nlohmann::json::value_t::object:
        if (keep_containers_) return Value::Object();
        NoteUndefined(state, absl::StrCat(text_, " (an object)"));
        return Value::Undefined();
      case nlohmann::json::value_t::array:
        if (keep_containers_) return Value::Array();
        NoteUndefined(state, absl::StrCat(text_, " (an array)"));
        return Value::Undefined();
      default:
        return Value::Undefined();
    }
  }

 private:
  std::string app_name_;
  std::vector<PathStep> path_;
  std::string text_;
  bool keep_containers_;
};

// True when the twin change (the body) includes `path` with a non-null value, False when it does
// not, Undefined when the body is not JSON.
class TwinChangeIncludes final : public Expr {
 public:
  TwinChangeIncludes(std::vector<PathStep> path, std::string text)
      : path_(std::move(path)), text_(std::move(text)) {}
  Value Eval(EvalState& state) const override {
    const nlohmann::json* body = state.message.JsonBodyIgnoringContentType();
    if (body == nullptr) {
      if (state.trace != nullptr) {
        state.trace->body_problem = std::string(state.message.body_problem());
        state.trace->NoteUndefined(text_);
      }
      return Value::Undefined();
    }
    const nlohmann::json* node = Walk(*body, path_);
    return Value::Bool(node != nullptr && !node->is_null());
  }

 private:
  std::vector<PathStep> path_;
  std::string text_;
};

class Negate final : public Expr {
 public:
  explicit Negate(ExprPtr operand) : operand_(std::move(operand)) {}
  Value Eval(EvalState& state) const override {
    const Value v = operand_->Eval(state);
    return v.is_number() ? Value::Number(-v.number()) : Value::Undefined();
  }

 private:
  ExprPtr operand_;
};

class Not final : public Expr {
 public:
  explicit Not(ExprPtr operand) : operand_(std::move(operand)) {}
  Value Eval(EvalState& state) const override {
    const Value v = operand_->Eval(state);
    return v.is_bool() ? Value::Bool(!v.boolean()) : Value::Undefined();
  }

 private:
  ExprPtr operand_;
};

// The two operands every binary node evaluates.
class BinaryExpr : public Expr {
 protected:
  BinaryExpr(ExprPtr left, ExprPtr right) : left_(std::move(left)), right_(std::move(right)) {}
  ExprPtr left_;
  ExprPtr right_;
};

class Arithmetic final : public BinaryExpr {
 public:
  Arithmetic(AstOp op, ExprPtr left, ExprPtr right)
      : BinaryExpr(std::move(left), std::move(right)), op_(op) {}
  Value Eval(EvalState& state) const override {
    const Value l = left_->Eval(state);
    if (!l.is_number()) return Value::Undefined();
    const Value r = right_->Eval(state);
    if (!r.is_number()) return Value::Undefined();
    const double a = l.number();
    const double b = r.number();
    // Value::Number turns the infinities and NaNs of x/0, x%0 and overflows into Undefined.
    switch (op_) {
      case AstOp::kMul:
        return Value::Number(a * b);
      case AstOp::kDiv:
        return Value::Number(a / b);
      case AstOp::kMod:
        return Value::Number(std::fmod(a, b));
      case AstOp::kAdd:
        return Value::Number(a + b);
      case AstOp::kSub:
        return Value::Number(a - b);
      default:
        return Value::Undefined();
    }
  }

 private:
  AstOp op_;
};

class Concat final : public BinaryExpr {
 public:
  Concat(ExprPtr left, ExprPtr right) : BinaryExpr(std::move(left), std::move(right)) {}
  Value Eval(EvalState& state) const override {
    const Value l = left_->Eval(state);
    if (!l.is_string()) return Value::Undefined();
    const Value r = right_->Eval(state);
    if (!r.is_string()) return Value::Undefined();
    return Value::String(absl::StrCat(l.string(), r.string()));
  }
};

// Values of different kinds do not compare (Undefined), as in IoT Hub; null equals null; false
// sorts before true; numbers compare as doubles; strings ordinally, byte by byte.
Value CompareValues(AstOp op, const Value& a, const Value& b) {
  if (!a.is_primitive() || a.kind() != b.kind()) return Value::Undefined();
  int c = 0;
  switch (a.kind()) {
    case ValueKind::kBool:
      c = static_cast<int>(a.boolean()) - static_cast<int>(b.boolean());
      break;
    case ValueKind::kNumber:
      c = a.number() < b.number() ? -1 : (a.number() > b.number() ? 1 : 0);
      break;
    case ValueKind::kString:
      // Equality needs no order, and differing lengths settle it without reading the bytes.
      if (op == AstOp::kEq) return Value::Bool(a.string() == b.string());
      if (op == AstOp::kNe) return Value::Bool(a.string() != b.string());
      c = a.string().compare(b.string());
      break;
    default:
      break;
  }
  switch (op) {
    case AstOp::kEq:
      return Value::Bool(c == 0);
    case AstOp::kNe:
      return Value::Bool(c != 0);
    case AstOp::kLt:
      return Value::Bool(c < 0);
    case AstOp::kLe:
      return Value::Bool(c <= 0);
    case AstOp::kGt:
      return Value::Bool(c > 0);
    case AstOp::kGe:
      return Value::Bool(c >= 0);
    default:
      return Value::Undefined();
  }
}

class Compare final : public BinaryExpr {
 public:
  Compare(AstOp op, ExprPtr left, ExprPtr right)
      : BinaryExpr(std::move(left), std::move(right)), op_(op) {}
  Value Eval(EvalState& state) const override {
    const Value l = left_->Eval(state);
    if (!l.is_primitive()) return Value::Undefined();
    return CompareValues(op_, l, right_->Eval(state));
  }

 private:
  AstOp op_;
};

// The common shape `reference op literal`: the literal is held here, not evaluated.
class CompareWithConstant final : public Expr {
 public:
  CompareWithConstant(AstOp op, ExprPtr left, const Value& constant)
      : op_(op), left_(std::move(left)), constant_(constant) {}
  Value Eval(EvalState& state) const override {
    return CompareValues(op_, left_->Eval(state), constant_.value());
  }

 private:
  AstOp op_;
  ExprPtr left_;
  Constant constant_;
};

// `a op b` is `b op' a` with op' the mirror image (< becomes >).
AstOp Mirror(AstOp op) {
  switch (op) {
    case AstOp::kLt:
      return AstOp::kGt;
    case AstOp::kLe:
      return AstOp::kGe;
    case AstOp::kGt:
      return AstOp::kLt;
    case AstOp::kGe:
      return AstOp::kLe;
    default:
      return op;
  }
}

// Three-valued: False wins over Undefined, so `Undefined AND False` is False.
class And final : public BinaryExpr {
 public:
  And(ExprPtr left, ExprPtr right) : BinaryExpr(std::move(left), std::move(right)) {}
  Value Eval(EvalState& state) const override {
    const Value l = left_->Eval(state);
    if (l.is_bool() && !l.boolean()) return Value::Bool(false);
    const Value r = right_->Eval(state);
    if (r.is_bool() && !r.boolean()) return Value::Bool(false);
    if (l.IsTrue() && r.IsTrue()) return Value::Bool(true);
    return Value::Undefined();
  }
};

// Three-valued: True wins over Undefined, so `Undefined OR True` is True.
class Or final : public BinaryExpr {
 public:
  Or(ExprPtr left, ExprPtr right) : BinaryExpr(std::move(left), std::move(right)) {}
  Value Eval(EvalState& state) const override {
    const Value l = left_->Eval(state);
    if (l.IsTrue()) return Value::Bool(true);
    const Value r = right_->Eval(state);
    if (r.IsTrue()) return Value::Bool(true);
    if (l.is_bool() && r.is_bool()) return Value::Bool(false);
    return Value::Undefined();
  }
};

class Coalesce final : public BinaryExpr {
 public:
  Coalesce(ExprPtr left, ExprPtr right) : BinaryExpr(std::move(left), std::move(right)) {}
  Value Eval(EvalState& state) const override {
    Value l = left_->Eval(state);
    if (!l.is_undefined()) return l;
    return right_->Eval(state);
  }
};

class Call final : public Expr {
 public:
  Call(const Builtin* builtin, std::vector<ExprPtr> args, std::string where)
      : builtin_(builtin), args_(std::move(args)), where_(std::move(where)) {}
  Value Eval(EvalState& state) const override {
    absl::InlinedVector<Value, 3> values;
    for (size_t i = 0; i < args_.size(); ++i) {
      Value v = args_[i]->Eval(state);
      if (!builtin_->is_type_predicate && !Accepts(builtin_->params[i < 2 ? i : 2], v)) {
        // An Undefined argument was noted by its reference; a defined one of the wrong kind is
        // this call's failure.
        if (state.trace != nullptr && !v.is_undefined()) {
          state.trace->NoteUndefined(
              absl::StrCat(where_, ": argument ", i + 1, " is ", ValueKindName(v.kind())));
        }
        return Value::Undefined();
      }
      values.push_back(std::move(v));
    }
    Value result = builtin_->function(values);
    if (result.is_undefined() && state.trace != nullptr) {
      state.trace->NoteUndefined(absl::StrCat(where_, " has no value for its arguments"));
    }
    return result;
  }

 private:
  const Builtin* builtin_;
  std::vector<ExprPtr> args_;
  std::string where_;
};

// ---------------------------------------------------------------------------------------------
// Type checking.

struct Compiled {
  ExprPtr expr;
  StaticType type;
};

StaticType TypeOf(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      return StaticType::kNull;
    case ValueKind::kBool:
      return StaticType::kBool;
    case ValueKind::kNumber:
      return StaticType::kNumber;
    case ValueKind::kString:
      return StaticType::kString;
    default:
      return StaticType::kUndefined;
  }
}

bool IsPropertyReference(const AstNode& node) {
  return node.kind == AstKind::kProperty || node.kind == AstKind::kDollarName ||
         node.kind == AstKind::kSystemProperty;
}

bool IsKnownPrimitive(StaticType t) {
  return t == StaticType::kBool || t == StaticType::kNumber || t == StaticType::kString;
}

// "the string property 'temp'" or "a number", for messages.
std::string Describe(const AstNode& node, StaticType type) {
  if (IsPropertyReference(node)) return absl::StrCat("the string property '", node.text, "'");
  return std::string(StaticTypeDescription(type));
}

std::string WhereText(const AstNode& node) {
  return absl::StrCat(node.name, "() at ", node.position.line, ":", node.position.column);
}

class Compiler {
 public:
  explicit Compiler(const CompileOptions& options) : options_(options) {}

  absl::StatusOr<Compiled> Compile(const AstNode& node, bool keep_containers) {
    switch (node.kind) {
      case AstKind::kLiteral:
        return Compiled{std::make_unique<Constant>(node.literal), TypeOf(node.literal)};
      case AstKind::kProperty:
        return Compiled{std::make_unique<PropertyRef>(&MessageView::application_properties,
                                                      node.name, node.text),
                        StaticType::kString};
      case AstKind::kDollarName:
        return Compiled{std::make_unique<DollarProperty>(node.name, node.text),
                        StaticType::kString};
      case AstKind::kSystemProperty:
        return Compiled{
            std::make_unique<PropertyRef>(&MessageView::system_properties, node.name, node.text),
            StaticType::kString};
      case AstKind::kBodyQuery:
        return Compiled{std::make_unique<BodyQuery>(node.forced ? std::string() : node.name,
                                                    node.path, node.text, keep_containers),
                        StaticType::kDynamic};
      case AstKind::kPathArgument:
        return CompileError(node.position,
                            "a bare path is only an argument of "
                            "twin_change_includes");
      case AstKind::kUnary:
        return CompileUnary(node);
      case AstKind::kBinary:
        return CompileBinary(node);
      case AstKind::kCall:
        return CompileCall(node);
    }
    return absl::InternalError("unknown syntax node");
  }

 private:
  // Replaces a subtree whose operands are all constants by its value.
  static Compiled Fold(Compiled compiled, bool operands_constant) {
    if (!operands_constant) return compiled;
    MessageView empty;
    MessageContext context(empty);
    EvalState state{context, nullptr};
    return Compiled{std::make_unique<Constant>(compiled.expr->Eval(state)), compiled.type};
  }

  absl::StatusOr<Compiled> CompileUnary(const AstNode& node) {
    const AstNode& child = *node.children[0];
    ASSIGN_OR_RETURN(Compiled operand, Compile(child, false));
    const StaticType t = operand.type;
    const bool constant = operand.expr->IsConstant();
    if (node.op == AstOp::kNegate) {
      if (t != StaticType::kNumber && t != StaticType::kUndefined && t != StaticType::kDynamic) {
        if (IsPropertyReference(child)) {
          return CompileError(
              node.position,
              absl::StrCat("'", child.text, "' is a string property negated with '-'"),
              absl::StrCat("use -as_number(", child.text, ")"));
        }
        return CompileError(node.position,
                            absl::StrCat("'-' needs a number, not ", Describe(child, t)));
      }
      return Fold({std::make_unique<Negate>(std::move(operand.expr)), StaticType::kNumber},
                  constant);
    }
    if (t == StaticType::kString || t == StaticType::kNumber) {
      return CompileError(node.position,
                          absl::StrCat("NOT needs a boolean, not ", Describe(child, t)),
                          "NOT binds tighter than comparisons: write NOT (a = b)");
    }
    return Fold({std::make_unique<Not>(std::move(operand.expr)), StaticType::kBool}, constant);
  }

  absl::StatusOr<Compiled> CompileBinary(const AstNode& node) {
    const AstNode& left_node = *node.children[0];
    const AstNode& right_node = *node.children[1];
    ASSIGN_OR_RETURN(Compiled left, Compile(left_node, false));
    ASSIGN_OR_RETURN(Compiled right, Compile(right_node, false));
    const StaticType l = left.type;
    const StaticType r = right.type;
    const bool constant = left.expr->IsConstant() && right.expr->IsConstant();
    const std::string op = AstOpSymbol(node.op);
    switch (node.op) {
      case AstOp::kMul:
      case AstOp::kDiv:
      case AstOp::kMod:
      case AstOp::kAdd:
      case AstOp::kSub: {
        for (const auto& [side, type] : {std::pair<const AstNode*, StaticType>{&left_node, l},
                                         std::pair<const AstNode*, StaticType>{&right_node, r}}) {
          if (type == StaticType::kNumber || type == StaticType::kUndefined ||
              type == StaticType::kDynamic) {
            continue;
          }
          if (IsPropertyReference(*side)) {
            return CompileError(
                node.position,
                absl::StrCat("'", side->text, "' is a string property used in arithmetic ('", op,
                             "')"),
                absl::StrCat("use as_number(", side->text, ")"));
          }
          return CompileError(node.position,
                              absl::StrCat("'", op, "' needs numbers, not ", Describe(*side, type)),
                              node.op == AstOp::kAdd && type == StaticType::kString
                                  ? "use || or concat() to join strings"
                                  : "");
        }
        return Fold(
            {std::make_unique<Arithmetic>(node.op, std::move(left.expr), std::move(right.expr)),
             StaticType::kNumber},
            constant);
      }
      case AstOp::kConcat:
        for (const auto& [side, type] : {std::pair<const AstNode*, StaticType>{&left_node, l},
                                         std::pair<const AstNode*, StaticType>{&right_node, r}}) {
          if (type != StaticType::kString && type != StaticType::kUndefined &&
              type != StaticType::kDynamic) {
            return CompileError(node.position,
                                absl::StrCat("'||' joins strings, not ", Describe(*side, type)),
                                "use OR for logic");
          }
        }
        return Fold({std::make_unique<Concat>(std::move(left.expr), std::move(right.expr)),
                     StaticType::kString},
                    constant);
      case AstOp::kLt:
      case AstOp::kLe:
      case AstOp::kGt:
      case AstOp::kGe:
      case AstOp::kEq:
      case AstOp::kNe:
        if (IsKnownPrimitive(l) && IsKnownPrimitive(r) && l != r) {
          for (const auto& [property, other] :
               {std::pair<const AstNode*, StaticType>{&left_node, r},
                std::pair<const AstNode*, StaticType>{&right_node, l}}) {
            if (IsPropertyReference(*property) && other == StaticType::kNumber) {
              return CompileError(node.position,
                                  absl::StrCat("'", property->text,
                                               "' is a string property compared with a number"),
                                  absl::StrCat("use as_number(", property->text, ")"));
            }
          }
          return CompileError(node.position,
                              absl::StrCat("cannot compare ", Describe(left_node, l), " with ",
                                           Describe(right_node, r), " using '", op, "'"),
                              "values of different types never compare");
        }
        if (!constant && right.expr->IsConstant()) {
          const Value literal = static_cast<const Constant&>(*right.expr).value();
          return Compiled{
              std::make_unique<CompareWithConstant>(node.op, std::move(left.expr), literal),
              StaticType::kBool};
        }
        if (!constant && left.expr->IsConstant()) {
          const Value literal = static_cast<const Constant&>(*left.expr).value();
          return Compiled{std::make_unique<CompareWithConstant>(Mirror(node.op),
                                                                std::move(right.expr), literal),
                          StaticType::kBool};
        }
        return Fold(
            {std::make_unique<Compare>(node.op, std::move(left.expr), std::move(right.expr)),
             StaticType::kBool},
            constant);
      case AstOp::kAnd:
      case AstOp::kOr:
        for (const auto& [side, type] : {std::pair<const AstNode*, StaticType>{&left_node, l},
                                         std::pair<const AstNode*, StaticType>{&right_node, r}}) {
          if (type == StaticType::kString || type == StaticType::kNumber) {
            return CompileError(node.position,
                                absl::StrCat(op, " needs booleans, not ", Describe(*side, type)),
                                IsPropertyReference(*side)
                                    ? absl::StrCat("compare it, e.g. ", side->text, " = 'true'")
                                    : "");
          }
        }
        if (node.op == AstOp::kAnd) {
          return Fold({std::make_unique<And>(std::move(left.expr), std::move(right.expr)),
                       StaticType::kBool},
                      constant);
        }
        return Fold(
            {std::make_unique<Or>(std::move(left.expr), std::move(right.expr)), StaticType::kBool},
            constant);
      case AstOp::kCoalesce: {
        if (IsKnownPrimitive(l) && IsKnownPrimitive(r) && l != r) {
          return CompileError(
              node.position,
              absl::StrCat("'\?\?' needs one type on both sides, not ", Describe(left_node, l),
                           " and ", Describe(right_node, r)));
        }
        StaticType type = StaticType::kDynamic;
        if (l == r || r == StaticType::kUndefined) {
          type = l;
        } else if (l == StaticType::kUndefined) {
          type = r;
        }
        return Fold({std::make_unique<Coalesce>(std::move(left.expr), std::move(right.expr)), type},
                    constant);
      }
      default:
        return absl::InternalError("unknown binary operator");
    }
  }

  absl::StatusOr<Compiled> CompileTwinChangeIncludes(const AstNode& node) {
    if (!options_.twin_change_source) {
      return CompileError(node.position,
                          "twin_change_includes is only valid in routes FROM "
                          "/twinChangeNotifications");
    }
    if (node.children.size() != 1) {
      return CompileError(node.position, absl::StrCat("twin_change_includes takes 1 argument, got ",
                                                      node.children.size()));
    }
    const AstNode& arg = *node.children[0];
    std::vector<PathStep> path;
    if (arg.kind == AstKind::kPathArgument) {
      path = arg.path;
    } else if (arg.kind == AstKind::kLiteral && arg.literal.is_string()) {
      Lexer lexer(arg.literal.string());
      absl::StatusOr<Token> scanned = lexer.ScanPathAt(Token{});
      absl::StatusOr<Token> rest = scanned.ok() ? lexer.Next() : scanned;
      if (!scanned.ok() || !rest.ok() || rest->kind != TokenKind::kEnd) {
        return CompileError(arg.position,
                            absl::StrCat("'", arg.literal.string(), "' is not a path"),
                            "e.g. twin_change_includes(properties.reported.temperature)");
      }
      path = std::move(scanned->path);
    } else {
      return CompileError(arg.position, "twin_change_includes takes a path",
                          "e.g. twin_change_includes(properties.reported.temperature)");
    }
    // IoT Edge allows these prefixes only, each followed by at least one more step.
    const auto key = [&](size_t i, absl::string_view name) {
      return i < path.size() && !path[i].is_index && absl::EqualsIgnoreCase(path[i].key, name);
    };
    const bool valid =
        (key(0, "properties") && (key(1, "reported") || key(1, "desired")) && path.size() > 2) ||
        (key(0, "tags") && path.size() > 1);
    if (!valid) {
      return CompileError(
          arg.position,
          absl::StrCat("twin_change_includes path '",
                       arg.text.empty() ? std::string(arg.literal.string()) : arg.text,
                       "' is not supported"),
          "it starts with properties.reported., properties.desired. or tags.");
    }
    return Compiled{
        std::make_unique<TwinChangeIncludes>(
            std::move(path), absl::StrCat("twin_change_includes at ", node.position.line, ":",
                                          node.position.column)),
        StaticType::kBool};
  }

  absl::StatusOr<Compiled> CompileCall(const AstNode& node) {
    if (absl::EqualsIgnoreCase(node.name, "twin_change_includes")) {
      return CompileTwinChangeIncludes(node);
    }
    const Builtin* builtin = FindBuiltin(node.name);
    if (builtin == nullptr) {
      return CompileError(node.position, absl::StrCat("unknown function '", node.name, "'"),
                          "the built-ins are listed in common/route/README.md");
    }
    const int count = static_cast<int>(node.children.size());
    if (count < builtin->min_args || (builtin->max_args >= 0 && count > builtin->max_args)) {
      std::string expected;
      if (builtin->max_args < 0) {
        expected = absl::StrCat("at least ", builtin->min_args);
      } else if (builtin->min_args == builtin->max_args) {
        expected = absl::StrCat(builtin->min_args);
      } else {
        expected = absl::StrCat(builtin->min_args, " or ", builtin->max_args);
      }
      return CompileError(node.position,
                          absl::StrCat(builtin->name, " takes ", expected, " argument",
                                       expected == "1" ? "" : "s", ", got ", count));
    }
    std::vector<ExprPtr> args;
    bool constant = true;
    for (int i = 0; i < count; ++i) {
      const AstNode& arg_node = *node.children[i];
      ASSIGN_OR_RETURN(Compiled arg, Compile(arg_node, builtin->sees_containers));
      const ParamType param = builtin->params[i < 2 ? i : 2];
      const StaticType t = arg.type;
      const bool fits = t == StaticType::kDynamic || t == StaticType::kUndefined ||
                        param == ParamType::kAny ||
                        (param == ParamType::kNumber && t == StaticType::kNumber) ||
                        (param == ParamType::kString && t == StaticType::kString) ||
                        (param == ParamType::kStringOrNumber &&
                         (t == StaticType::kString || t == StaticType::kNumber));
      if (!fits) {
        const char* wanted = param == ParamType::kNumber   ? "a number"
                             : param == ParamType::kString ? "a string"
                                                           : "a string or a number";
        return CompileError(arg_node.position,
                            absl::StrCat(builtin->name, " needs ", wanted, " as argument ", i + 1,
                                         ", not ", Describe(arg_node, t)),
                            IsPropertyReference(arg_node) && param == ParamType::kNumber
                                ? absl::StrCat("use as_number(", arg_node.text, ")")
                                : "");
      }
      constant = constant && arg.expr->IsConstant();
      args.push_back(std::move(arg.expr));
    }
    return Fold(
        {std::make_unique<Call>(builtin, std::move(args), WhereText(node)), builtin->result},
        constant);
  }

  CompileOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Expr>> CompileAst(const AstNode& root,
                                                 const CompileOptions& options) {
  Compiler compiler(options);
  ASSIGN_OR_RETURN(Compiled compiled, compiler.Compile(root, false));
  if (options.require_boolean &&
      (compiled.type == StaticType::kString || compiled.type == StaticType::kNumber)) {
    return CompileError(
        root.position,
        absl::StrCat("the condition is ", Describe(root, compiled.type), ", not a boolean"),
        IsPropertyReference(root) ? absl::StrCat("compare it, e.g. ", root.text, " = 'value'")
                                  : "compare it with something");
  }
  return std::move(compiled.expr);
}

}  // namespace edge::route
