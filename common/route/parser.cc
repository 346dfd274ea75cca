#include "common/route/parser.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace edge::route {

const char* AstOpSymbol(AstOp op) {
  switch (op) {
    case AstOp::kNone:
      return "?";
    case AstOp::kNegate:
      return "-";
    case AstOp::kNot:
      return "NOT";
    case AstOp::kMul:
      return "*";
    case AstOp::kDiv:
      return "/";
    case AstOp::kMod:
      return "%";
    case AstOp::kAdd:
      return "+";
    case AstOp::kSub:
      return "-";
    case AstOp::kConcat:
      return "||";
    case AstOp::kLt:
      return "<";
    case AstOp::kLe:
      return "<=";
    case AstOp::kGt:
      return ">";
    case AstOp::kGe:
      return ">=";
    case AstOp::kEq:
      return "=";
    case AstOp::kNe:
      return "!=";
    case AstOp::kAnd:
      return "AND";
    case AstOp::kOr:
      return "OR";
    case AstOp::kCoalesce:
      return "??";
  }
  return "?";
}

std::string AstDebugString(const AstNode& node) {
  switch (node.kind) {
    case AstKind::kLiteral:
      return node.literal.DebugString();
    case AstKind::kProperty:
    case AstKind::kDollarName:
    case AstKind::kSystemProperty:
    case AstKind::kBodyQuery:
    case AstKind::kPathArgument:
      return node.text;
    case AstKind::kUnary:
    case AstKind::kBinary:
    case AstKind::kCall: {
      std::vector<std::string> parts;
      parts.push_back(node.kind == AstKind::kCall ? node.name : AstOpSymbol(node.op));
      for (const auto& child : node.children) parts.push_back(AstDebugString(*child));
      return absl::StrCat("(", absl::StrJoin(parts, " "), ")");
    }
  }
  return "?";
}

namespace {

struct BinaryInfo {
  AstOp op;
  int precedence;
};

// Precedence from §3, high to low; unary operators bind tighter than all of these.
std::optional<BinaryInfo> BinaryOperator(const Token& token) {
  switch (token.kind) {
    case TokenKind::kStar:
      return BinaryInfo{AstOp::kMul, 6};
    case TokenKind::kSlash:
      return BinaryInfo{AstOp::kDiv, 6};
    case TokenKind::kPercent:
      return BinaryInfo{AstOp::kMod, 6};
    case TokenKind::kPlus:
      return BinaryInfo{AstOp::kAdd, 5};
    case TokenKind::kMinus:
      return BinaryInfo{AstOp::kSub, 5};
    case TokenKind::kConcat:
      return BinaryInfo{AstOp::kConcat, 5};
    case TokenKind::kLt:
      return BinaryInfo{AstOp::kLt, 4};
    case TokenKind::kLe:
      return BinaryInfo{AstOp::kLe, 4};
    case TokenKind::kGt:
      return BinaryInfo{AstOp::kGt, 4};
    case TokenKind::kGe:
      return BinaryInfo{AstOp::kGe, 4};
    case TokenKind::kEq:
      return BinaryInfo{AstOp::kEq, 3};
    case TokenKind::kNe:
      return BinaryInfo{AstOp::kNe, 3};
    case TokenKind::kCoalesce:
      return BinaryInfo{AstOp::kCoalesce, 0};
    case TokenKind::kIdentifier:
      if (IsKeyword(token, "AND")) return BinaryInfo{AstOp::kAnd, 2};
      if (IsKeyword(token, "OR")) return BinaryInfo{AstOp::kOr, 1};
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// Words that cannot name a property because they structure the route or the condition.
bool IsReservedWord(const Token& token) {
  for (absl::string_view word : {"AND", "OR", "NOT", "SELECT", "FROM", "WHERE", "INTO"}) {
    if (IsKeyword(token, word)) return true;
  }
  return false;
}

absl::Status TooDeep(Position at) {
  return CompileError(at,
                      absl::StrCat("the condition nests more than ", kMaxDepth, " levels deep"));
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text), lexer_(text) {}

  absl::Status Start() { return Advance(); }
  const Token& current() const { return current_; }
  Lexer& lexer() { return lexer_; }

  absl::Status Advance() {
    ASSIGN_OR_RETURN(current_, lexer_.Next());
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<AstNode>> ParseExpression(int min_precedence) {
    ASSIGN_OR_RETURN(std::unique_ptr<AstNode> left, ParseUnary());
    while (true) {
      const std::optional<BinaryInfo> info = BinaryOperator(current_);
      if (!info.has_value() || info->precedence < min_precedence) return left;
      const Position at = current_.position;
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(std::unique_ptr<AstNode> right, ParseExpression(info->precedence + 1));
      auto node = std::make_unique<AstNode>();
      node->kind = AstKind::kBinary;
      node->op = info->op;
      node->position = at;
      node->depth = 1 + std::max(left->depth, right->depth);
      if (node->depth > kMaxDepth) return TooDeep(at);
      node->children.push_back(std::move(left));
      node->children.push_back(std::move(right));
      left = std::move(node);
    }
  }

 private:
  // Counts nesting (parentheses, unary operators, calls) while it lives, so recursion stays bounded
  // even where the tree itself does not grow deeper, as in ((((1)))).
  class Nesting {
   public:
    explicit Nesting(int* depth) : depth_(depth) { ++*depth_; }
    ~Nesting() { --*depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    bool too_deep() const { return *depth_ > kMaxDepth; }

   private:
    int* depth_;
  };

  absl::StatusOr<std::unique_ptr<AstNode>> ParseUnary() {
    if (current_.kind != TokenKind::kMinus && !IsKeyword(current_, "NOT")) return ParsePrimary();
    const Token op = current_;
    Nesting nesting(&nesting_);
    if (nesting.too_deep()) return TooDeep(op.position);
    RETURN_IF_ERROR(Advance());
    ASSIGN_OR_RETURN(std::unique_ptr<AstNode> operand, ParseUnary());
    auto node = std::make_unique<AstNode>();
    node->kind = AstKind::kUnary;
    node->op = op.kind == TokenKind::kMinus ? AstOp::kNegate : AstOp::kNot;
    node->position = op.position;
    node->depth = 1 + operand->depth;
    if (node->depth > kMaxDepth) return TooDeep(op.position);
    node->children.push_back(std::move(operand));
    return node;
  }

  absl::StatusOr<std::unique_ptr<AstNode>> ParsePrimary() {
    const Token token = current_;
    auto node = std::make_unique<AstNode>();
    node->position = token.position;
    switch (token.kind) {
      case TokenKind::kNumber:
        node->literal = Value::Number(token.number);
        RETURN_IF_ERROR(Advance());
        return node;
      case TokenKind::kString:
        node->literal = Value::String(token.text);
        RETURN_IF_ERROR(Advance());
        return node;
      case TokenKind::kIdentifier:
        if (IsKeyword(token, "true") || IsKeyword(token, "false")) {
          node->literal = Value::Bool(IsKeyword(token, "true"));
        } else if (IsKeyword(token, "null")) {
          node->literal = Value::Null();
        } else if (IsKeyword(token, "undefined")) {
          node->literal = Value::Undefined();
        } else if (IsReservedWord(token)) {
          return CompileError(token.position,
                              absl::StrCat("expected an expression, found ", DescribeToken(token)));
        } else {
          RETURN_IF_ERROR(Advance());
          if (current_.kind == TokenKind::kLParen) return ParseCall(token);
          node->kind = AstKind::kProperty;
          node->name = token.text;
          node->text = token.text;
          return node;
        }
        RETURN_IF_ERROR(Advance());
        return node;
      case TokenKind::kDollarName:
        RETURN_IF_ERROR(Reference(token, /*braced=*/false, token, node.get()));
        RETURN_IF_ERROR(Advance());
        return node;
      case TokenKind::kLBrace: {
        RETURN_IF_ERROR(Advance());
        const Token name = current_;
        if (name.kind != TokenKind::kDollarName) {
          return CompileError(name.position, absl::StrCat("expected a $name inside '{ }', found ",
                                                          DescribeToken(name)));
        }
        RETURN_IF_ERROR(Advance());
        if (current_.kind != TokenKind::kRBrace) {
          return CompileError(
              current_.position,
              absl::StrCat("expected '}' after {", text_.substr(name.offset, name.length),
                           ", found ", DescribeToken(current_)));
        }
        Token whole = current_;  // for the text: from '{' to '}'
        whole.offset = token.offset;
        whole.length = current_.offset + 1 - token.offset;
        RETURN_IF_ERROR(Reference(name, /*braced=*/true, whole, node.get()));
        node->position = token.position;
        RETURN_IF_ERROR(Advance());
        return node;
      }
      case TokenKind::kLParen: {
        Nesting nesting(&nesting_);
        if (nesting.too_deep()) return TooDeep(token.position);
        RETURN_IF_ERROR(Advance());
        ASSIGN_OR_RETURN(std::unique_ptr<AstNode> inner, ParseExpression(0));
        if (current_.kind != TokenKind::kRParen) {
          return CompileError(
              current_.position,
              absl::StrCat("expected ')' to close the '(' at ", token.position.line, ":",
                           token.position.column, ", found ", DescribeToken(current_)));
        }
        RETURN_IF_ERROR(Advance());
        return inner;
      }
      default:
        return CompileError(token.position,
                            absl::StrCat("expected an expression, found ", DescribeToken(token)));
    }
  }

  // Fills `node` for `$name`, `$body.path`, `{$name}` or `{$body.path}`; `whole` spans the text.
  absl::Status Reference(const Token& name, bool braced, const Token& whole, AstNode* node) {
    node->text = std::string(text_.substr(whole.offset, whole.length));
    if (!name.path.empty()) {
      if (!absl::EqualsIgnoreCase(name.text, "body")) {
        return CompileError(name.position,
                            absl::StrCat("'$", name.text, "' has a path, but only $body does"),
                            "property names cannot contain '.' or '['");
      }
      node->kind = AstKind::kBodyQuery;
      node->path = name.path;
      node->forced = braced;
      node->name = absl::StrCat("$", std::string(text_.substr(name.offset + 1, name.length - 1)));
      return absl::OkStatus();
    }
    node->kind = braced ? AstKind::kSystemProperty : AstKind::kDollarName;
    node->name = name.text;
    return absl::OkStatus();
  }

  // `name` has been consumed and current() is '('.
  absl::StatusOr<std::unique_ptr<AstNode>> ParseCall(const Token& name) {
    Nesting nesting(&nesting_);
    if (nesting.too_deep()) return TooDeep(name.position);
    auto node = std::make_unique<AstNode>();
    node->kind = AstKind::kCall;
    node->name = name.text;
    node->text = name.text;
    node->position = name.position;
    RETURN_IF_ERROR(Advance());
    if (current_.kind != TokenKind::kRParen) {
      while (true) {
        std::unique_ptr<AstNode> argument;
        // IoT Edge takes twin_change_includes' argument as raw path text, unquoted.
        if (node->children.empty() && absl::EqualsIgnoreCase(name.text, "twin_change_includes") &&
            current_.kind == TokenKind::kIdentifier && !IsReservedWord(current_)) {
          ASSIGN_OR_RETURN(Token path, lexer_.ScanPathAt(current_));
          argument = std::make_unique<AstNode>();
          argument->kind = AstKind::kPathArgument;
          argument->position = path.position;
          argument->path = std::move(path.path);
          argument->text = std::move(path.text);
          RETURN_IF_ERROR(Advance());
        } else {
          ASSIGN_OR_RETURN(argument, ParseExpression(0));
        }
        node->depth = std::max(node->depth, 1 + argument->depth);
        if (node->depth > kMaxDepth) return TooDeep(name.position);
        node->children.push_back(std::move(argument));
        if (current_.kind != TokenKind::kComma) break;
        RETURN_IF_ERROR(Advance());
      }
    }
    if (current_.kind != TokenKind::kRParen) {
      return CompileError(current_.position,
                          absl::StrCat("expected ',' or ')' in the call of ", name.text, ", found ",
                                       DescribeToken(current_)));
    }
    RETURN_IF_ERROR(Advance());
    return node;
  }

  absl::string_view text_;
  Lexer lexer_;
  Token current_;
  int nesting_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AstNode>> ParseCondition(absl::string_view text) {
  Parser parser(text);
  RETURN_IF_ERROR(parser.Start());
  ASSIGN_OR_RETURN(std::unique_ptr<AstNode> root, parser.ParseExpression(0));
  if (parser.current().kind != TokenKind::kEnd) {
    return CompileError(
        parser.current().position,
        absl::StrCat("unexpected ", DescribeToken(parser.current()), " after the condition"),
        "expected an operator or the end of the condition");
  }
  return root;
}

absl::StatusOr<ParsedRoute> ParseRoute(absl::string_view text) {
  Parser parser(text);
  RETURN_IF_ERROR(parser.Start());
  ParsedRoute route;
  if (IsKeyword(parser.current(), "SELECT")) {
    RETURN_IF_ERROR(parser.Advance());
    if (parser.current().kind != TokenKind::kStar) {
      return CompileError(
          parser.current().position,
          absl::StrCat("expected '*' after SELECT, found ", DescribeToken(parser.current())),
          "only SELECT * is supported");
    }
    RETURN_IF_ERROR(parser.Advance());
  }
  if (!IsKeyword(parser.current(), "FROM")) {
    return CompileError(parser.current().position,
                        absl::StrCat("expected FROM, found ", DescribeToken(parser.current())),
                        "a route reads [SELECT *] FROM source [WHERE condition] INTO sink");
  }
  // The lexer stands right after FROM: the source is read raw, since `/*` there is a path.
  absl::StatusOr<Token> source = parser.lexer().NextPath();
  if (!source.ok()) {
    return CompileError(parser.current().position, "expected a source path after FROM",
                        "e.g. FROM /messages/*");
  }
  route.source = *std::move(source);
  RETURN_IF_ERROR(parser.Advance());
  if (IsKeyword(parser.current(), "WHERE")) {
    RETURN_IF_ERROR(parser.Advance());
    const size_t start = parser.current().offset;
    ASSIGN_OR_RETURN(route.condition, parser.ParseExpression(0));
    route.condition_text = std::string(
        absl::StripAsciiWhitespace(text.substr(start, parser.current().offset - start)));
  }
  if (!IsKeyword(parser.current(), "INTO")) {
    return CompileError(parser.current().position,
                        absl::StrCat(route.condition ? "expected INTO after the condition, found "
                                                     : "expected WHERE or INTO, found ",
                                     DescribeToken(parser.current())));
  }
  RETURN_IF_ERROR(parser.Advance());
  const Token sink = parser.current();
  route.sink.position = sink.position;
  if (sink.kind == TokenKind::kDollarName && sink.path.empty()) {
    route.sink.name = sink.text;
    RETURN_IF_ERROR(parser.Advance());
  } else if (sink.kind == TokenKind::kIdentifier && !IsReservedWord(sink)) {
    route.sink.is_function = true;
    route.sink.name = sink.text;
    RETURN_IF_ERROR(parser.Advance());
    if (parser.current().kind != TokenKind::kLParen) {
      return CompileError(parser.current().position,
                          absl::StrCat("expected '(' after ", sink.text, ", found ",
                                       DescribeToken(parser.current())));
    }
    RETURN_IF_ERROR(parser.Advance());
    if (parser.current().kind != TokenKind::kString) {
      return CompileError(
          parser.current().position,
          absl::StrCat("expected a quoted endpoint, found ", DescribeToken(parser.current())),
          "e.g. BrokeredEndpoint(\"/modules/filter/inputs/input1\")");
    }
    route.sink.argument = parser.current().text;
    route.sink.argument_position = parser.current().position;
    RETURN_IF_ERROR(parser.Advance());
    if (parser.current().kind != TokenKind::kRParen) {
      return CompileError(
          parser.current().position,
          absl::StrCat("expected ')' after the endpoint, found ", DescribeToken(parser.current())));
    }
    RETURN_IF_ERROR(parser.Advance());
  } else {
    return CompileError(sink.position,
                        absl::StrCat("expected a sink after INTO, found ", DescribeToken(sink)),
                        "sinks are $upstream and BrokeredEndpoint(\"/modules/{m}/inputs/{i}\")");
  }
  if (parser.current().kind != TokenKind::kEnd) {
    return CompileError(
        parser.current().position,
        absl::StrCat("unexpected ", DescribeToken(parser.current()), " after the sink"));
  }
  return route;
}

}  // namespace edge::route
