// Lexer of the route language: turns route or condition text into tokens that carry their
// line:column, so every compile error can point at the place it is about.
//
// Tokens: identifiers (property names, function names and the case-insensitive keywords SELECT
// FROM WHERE INTO AND OR NOT true false null undefined), `$name` references (with a `$body` path
// scanned into steps), string literals ('…' or "…" with \' \" \\ \uXXXX, decoded to UTF-8),
// numbers (decimal with fraction and exponent, or 0x hex; all doubles), punctuation and the
// operators * / % + - || < <= > >= = != <> ??. Whitespace and /* comments */ separate tokens.
// A FROM source path is read with NextPath(), since `/*` there is a path, not a comment.
//
// Example:
//   Lexer lexer("$body.a[0] >= 1e3");
//   absl::StatusOr<Token> t = lexer.Next();  // kDollarName "body", path a, [0], at 1:1
//   t = lexer.Next();                         // kGe at 1:12
#ifndef EDGE_COMMON_ROUTE_LEXER_H_
#define EDGE_COMMON_ROUTE_LEXER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edge::route {

// 1-based; columns count code points, not bytes.
struct Position {
  int line = 1;
  int column = 1;
};

// "{message} at {line}:{column}", then "; {hint}" when a hint is given, as kInvalidArgument:
// the one shape of every compile error.
absl::Status CompileError(Position at, absl::string_view message, absl::string_view hint = "");

// One step of a body path: `.name`, `['name']` or `[index]`.
struct PathStep {
  bool is_index = false;
  std::string key;
  uint64_t index = 0;
};

enum class TokenKind {
  kEnd,
  kIdentifier,  // text: the name as written
  kDollarName,  // text: the name after `$`; path: the steps of `$body.a[0]`, else empty
  kPath,        // text: as written; path: the steps (NextPath, ScanPathAt)
  kString,      // text: the decoded value
  kNumber,      // number
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kComma,
  kStar,
  kSlash,
  kPercent,
  kPlus,
  kMinus,
  kConcat,    // ||
  kCoalesce,  // ??
  kEq,        // =
  kNe,        // != or <>
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Position position;
  // Byte offset of the token's first character in the lexed text, and its length in bytes.
  size_t offset = 0;
  size_t length = 0;
  std::string text;
  double number = 0;
  std::vector<PathStep> path;
};

// How a token reads in an error message: 'AND', '>=', "'abc'" (a string), "end of input".
std::string DescribeToken(const Token& token);

// True when `token` is an identifier spelled `keyword` in any case.
bool IsKeyword(const Token& token, absl::string_view keyword);

// The longest nesting (parentheses, unary operators, function calls) and expression depth a
// condition may have; deeper ones are compile errors, which bounds the recursion of the parser,
// the compiler and the evaluator.
inline constexpr int kMaxDepth = 200;

class Lexer {
 public:
  // `text` must outlive the lexer.
  explicit Lexer(absl::string_view text) : text_(text) {}

  // The next token; kEnd at the end (and again on every later call). kInvalidArgument, with the
  // position, for a malformed literal, an unterminated string or comment, or a stray character.
  absl::StatusOr<Token> Next();

  // Skips whitespace only (not comments: `/*` is the catch-all source), then returns everything up
  // to the next whitespace as a kPath token whose text is the path. kInvalidArgument when nothing
  // is left.
  absl::StatusOr<Token> NextPath();

  // Rescans from `start` (a token this lexer returned) as a dotted path `a.b[0]['c d']`, the
  // argument form of twin_change_includes(properties.reported.x); continues after the path.
  absl::StatusOr<Token> ScanPathAt(const Token& start);

 private:
  int Peek(size_t ahead = 0) const {
    return offset_ + ahead < text_.size() ? static_cast<unsigned char>(text_[offset_ + ahead]) : -1;
  }
  void Advance(size_t n = 1);
  absl::Status SkipSpaceAndComments();
  absl::Status LexNumber(Token* token);
  absl::Status LexString(Token* token);
  absl::Status LexDollarName(Token* token);
  // Scans name characters (letters, digits, `_`, bytes >= 0x80); returns them, possibly empty.
  absl::string_view ScanName();
  // As ScanName, `$` allowed too: one key of a path.
  absl::string_view ScanSegment();
  // Scans `.name`, `[digits]` and `['name']` steps while the next character starts one.
  absl::Status ScanSteps(std::vector<PathStep>* steps);

  absl::string_view text_;
  size_t offset_ = 0;
  Position position_;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_LEXER_H_
