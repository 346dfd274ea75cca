#include "common/route/lexer.h"

#include <charconv>
#include <limits>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/route/unicode.h"
#include "common/status_macros.h"

namespace edge::route {
namespace {

bool IsNameStart(int c) { return c >= 0 && (absl::ascii_isalpha(c) || c == '_' || c >= 0x80); }
bool IsNameChar(int c) { return c >= 0 && (absl::ascii_isalnum(c) || c == '_' || c >= 0x80); }
bool IsDigit(int c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(int c) { return c >= 0 && absl::ascii_isxdigit(c); }
bool IsSpace(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int HexValue(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

std::string DescribeChar(int c) {
  if (c >= 0x20 && c < 0x7F) return absl::StrCat("'", std::string(1, static_cast<char>(c)), "'");
  return absl::StrFormat("byte 0x%02X", c);
}

}  // namespace

absl::Status CompileError(Position at, absl::string_view message, absl::string_view hint) {
  return absl::InvalidArgumentError(
      absl::StrCat(message, " at ", at.line, ":", at.column, hint.empty() ? "" : "; ", hint));
}

std::string DescribeToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kIdentifier:
      return absl::StrCat("'", token.text, "'");
    case TokenKind::kDollarName:
      return absl::StrCat("'$", token.text, token.path.empty() ? "" : "...", "'");
    case TokenKind::kPath:
      return absl::StrCat("'", token.text, "'");
    case TokenKind::kString:
      return absl::StrCat("string '", token.text, "'");
    case TokenKind::kNumber:
      return absl::StrCat("number ", token.number);
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBrace:
      return "'{'";
    case TokenKind::kRBrace:
      return "'}'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kStar:
      return "'*'";
    case TokenKind::kSlash:
      return "'/'";
    case TokenKind::kPercent:
      return "'%'";
    case TokenKind::kPlus:
      return "'+'";
    case TokenKind::kMinus:
      return "'-'";
    case TokenKind::kConcat:
      return "'||'";
    case TokenKind::kCoalesce:
      return "'\?\?'";
    case TokenKind::kEq:
      return "'='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kLt:
      return "'<'";
    case TokenKind::kLe:
      return "'<='";
    case TokenKind::kGt:
      return "'>'";
    case TokenKind::kGe:
      return "'>='";
  }
  return "token";
}

bool IsKeyword(const Token& token, absl::string_view keyword) {
  return token.kind == TokenKind::kIdentifier && absl::EqualsIgnoreCase(token.text, keyword);
}

void Lexer::Advance(size_t n) {
  for (size_t i = 0; i < n && offset_ < text_.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text_[offset_++]);
    if (c == '\n') {
      ++position_.line;
      position_.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++position_.column;
    }
  }
}

absl::Status Lexer::SkipSpaceAndComments() {
  while (true) {
    if (IsSpace(Peek())) {
      Advance();
    } else if (Peek() == '/' && Peek(1) == '*') {
      const Position start = position_;
      const size_t end = text_.find("*/", offset_ + 2);
      if (end == absl::string_view::npos) return CompileError(start, "unterminated comment");
      Advance(end + 2 - offset_);
    } else {
      return absl::OkStatus();
    }
  }
}

absl::StatusOr<Token> Lexer::Next() {
  RETURN_IF_ERROR(SkipSpaceAndComments());
  Token token;
  token.position = position_;
  token.offset = offset_;
  const int c = Peek();
  const auto single = [&](TokenKind kind, size_t length) {
    token.kind = kind;
    Advance(length);
  };
  if (c < 0) {
    token.kind = TokenKind::kEnd;
  } else if (IsNameStart(c)) {
    token.kind = TokenKind::kIdentifier;
    token.text = std::string(ScanName());
  } else if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
    RETURN_IF_ERROR(LexNumber(&token));
  } else if (c == '\'' || c == '"') {
    RETURN_IF_ERROR(LexString(&token));
  } else if (c == '$') {
    RETURN_IF_ERROR(LexDollarName(&token));
  } else {
    switch (c) {
      case '(':
        single(TokenKind::kLParen, 1);
        break;
      case ')':
        single(TokenKind::kRParen, 1);
        break;
      case '{':
        single(TokenKind::kLBrace, 1);
        break;
      case '}':
        single(TokenKind::kRBrace, 1);
        break;
      case ',':
        single(TokenKind::kComma, 1);
        break;
      case '*':
        single(TokenKind::kStar, 1);
        break;
      case '/':
        single(TokenKind::kSlash, 1);
        break;
      case '%':
        single(TokenKind::kPercent, 1);
        break;
      case '+':
        single(TokenKind::kPlus, 1);
        break;
      case '-':
        single(TokenKind::kMinus, 1);
        break;
      case '=':
        if (Peek(1) == '=') {
          return CompileError(position_, "'==' is not an operator", "use '=' to compare");
        }
        single(TokenKind::kEq, 1);
        break;
      case '|':
        if (Peek(1) != '|') {
          return CompileError(position_, "'|' is not an operator",
                              "use '||' to join strings or OR for logic");
        }
        single(TokenKind::kConcat, 2);
        break;
      case '?':
        if (Peek(1) != '?') {
          return CompileError(position_, "'?' is not an operator", "use '\?\?' for a fallback");
        }
        single(TokenKind::kCoalesce, 2);
        break;
      case '!':
        if (Peek(1) != '=') {
          return CompileError(position_, "'!' is not an operator", "use NOT");
        }
        single(TokenKind::kNe, 2);
        break;
      case '&':
        return CompileError(position_, "'&' is not an operator", "use AND");
      case '<':
        if (Peek(1) == '=') {
          single(TokenKind::kLe, 2);
        } else if (Peek(1) == '>') {
          single(TokenKind::kNe, 2);
        } else {
          single(TokenKind::kLt, 1);
        }
        break;
      case '>':
        if (Peek(1) == '=') {
          single(TokenKind::kGe, 2);
        } else {
          single(TokenKind::kGt, 1);
        }
        break;
      default:
        return CompileError(position_, absl::StrCat("unexpected character ", DescribeChar(c)));
    }
  }
  token.length = offset_ - token.offset;
  return token;
}

absl::string_view Lexer::ScanName() {
  const size_t start = offset_;
  while (IsNameChar(Peek())) Advance();
  return text_.substr(start, offset_ - start);
}

absl::string_view Lexer::ScanSegment() {
  const size_t start = offset_;
  // JSON keys such as $metadata start with '$'; inside a path that cannot be misread.
  while (IsNameChar(Peek()) || Peek() == '$') Advance();
  return text_.substr(start, offset_ - start);
}

absl::Status Lexer::LexNumber(Token* token) {
  token->kind = TokenKind::kNumber;
  const size_t start = offset_;
  if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X')) {
    Advance(2);
    if (!IsHexDigit(Peek())) {
      return CompileError(token->position, "expected hex digits after '0x'");
    }
    uint64_t value = 0;
    while (IsHexDigit(Peek())) {
      if (value > (std::numeric_limits<uint64_t>::max() >> 4)) {
        return CompileError(token->position, "hex number too large for 64 bits");
      }
      value = (value << 4) | static_cast<uint64_t>(HexValue(Peek()));
      Advance();
    }
    token->number = static_cast<double>(value);
  } else {
    while (IsDigit(Peek())) Advance();
    if (Peek() == '.') {
      if (!IsDigit(Peek(1))) {
        return CompileError(position_, "expected a digit after the decimal point");
      }
      Advance();
      while (IsDigit(Peek())) Advance();
    }
    if (Peek() == 'e' || Peek() == 'E') {
      Advance();
      if (Peek() == '+' || Peek() == '-') Advance();
      if (!IsDigit(Peek())) return CompileError(position_, "expected digits in the exponent");
      while (IsDigit(Peek())) Advance();
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + offset_;
    const std::from_chars_result result = std::from_chars(first, last, token->number);
    if (result.ec == std::errc::result_out_of_range) {
      return CompileError(token->position, "number out of range");
    }
    if (result.ec != std::errc() || result.ptr != last) {
      return CompileError(token->position, "malformed number");
    }
  }
  if (IsNameChar(Peek()) || Peek() == '.') {
    while (IsNameChar(Peek()) || Peek() == '.') Advance();
    return CompileError(token->position, absl::StrCat("malformed number '",
                                                      text_.substr(start, offset_ - start), "'"));
  }
  return absl::OkStatus();
}

absl::Status Lexer::LexString(Token* token) {
  token->kind = TokenKind::kString;
  const Position start = position_;
  const int quote = Peek();
  Advance();
  std::string value;
  // Reads the four hex digits of a \u escape whose `\` is at `at`.
  const auto read_hex4 = [&](Position at, uint32_t* out) -> absl::Status {
    *out = 0;
    for (int i = 0; i < 4; ++i) {
      if (!IsHexDigit(Peek())) {
        return CompileError(at, "expected four hex digits after \\u");
      }
      *out = (*out << 4) | static_cast<uint32_t>(HexValue(Peek()));
      Advance();
    }
    return absl::OkStatus();
  };
  while (true) {
    const int c = Peek();
    if (c < 0) return CompileError(start, "unterminated string");
    if (c == quote) {
      Advance();
      break;
    }
    if (c != '\\') {
      value.push_back(static_cast<char>(c));
      Advance();
      continue;
    }
    const Position escape = position_;
    Advance();
    const int e = Peek();
    if (e == '\'' || e == '"' || e == '\\') {
      value.push_back(static_cast<char>(e));
      Advance();
    } else if (e == 'u' || e == 'U') {
      Advance();
      uint32_t unit = 0;
      RETURN_IF_ERROR(read_hex4(escape, &unit));
      if (unit >= 0xDC00 && unit <= 0xDFFF) {
        return CompileError(escape, "unpaired low surrogate in \\u escape");
      }
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (Peek() != '\\' || (Peek(1) != 'u' && Peek(1) != 'U')) {
          return CompileError(escape, "unpaired high surrogate in \\u escape",
                              "follow it with its low surrogate, e.g. \\uD83D\\uDE00");
        }
        const Position low_escape = position_;
        Advance(2);
        uint32_t low = 0;
        RETURN_IF_ERROR(read_hex4(low_escape, &low));
        if (low < 0xDC00 || low > 0xDFFF) {
          return CompileError(escape, "unpaired high surrogate in \\u escape");
        }
        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      }
      AppendUtf8(static_cast<char32_t>(unit), &value);
    } else {
      return CompileError(escape, absl::StrCat("unknown escape \\", e < 0 ? "" : DescribeChar(e)),
                          "strings allow \\' \\\" \\\\ and \\uXXXX");
    }
  }
  token->text = std::move(value);
  return absl::OkStatus();
}

absl::Status Lexer::LexDollarName(Token* token) {
  token->kind = TokenKind::kDollarName;
  Advance();  // $
  absl::string_view name = ScanName();
  if (name.empty()) return CompileError(token->position, "expected a name after '$'");
  token->text = std::string(name);
  return ScanSteps(&token->path);
}

absl::Status Lexer::ScanSteps(std::vector<PathStep>* steps) {
  while (Peek() == '.' || Peek() == '[') {
    const Position at = position_;
    PathStep step;
    if (Peek() == '.') {
      Advance();
      absl::string_view name = ScanSegment();
      if (name.empty()) return CompileError(at, "expected a name after '.' in a path");
      step.key = std::string(name);
    } else {
      Advance();
      if (IsDigit(Peek())) {
        step.is_index = true;
        while (IsDigit(Peek())) {
          const uint64_t digit = static_cast<uint64_t>(Peek() - '0');
          // An index past any real array simply finds nothing; saturating keeps it that way.
          step.index = step.index > (std::numeric_limits<uint64_t>::max() - digit) / 10
                           ? std::numeric_limits<uint64_t>::max()
                           : step.index * 10 + digit;
          Advance();
        }
      } else if (Peek() == '\'' || Peek() == '"') {
        Token quoted;
        RETURN_IF_ERROR(LexString(&quoted));
        step.key = std::move(quoted.text);
      } else {
        return CompileError(at, "expected an index or a quoted name after '['");
      }
      if (Peek() != ']') return CompileError(position_, "expected ']' in a path");
      Advance();
    }
    steps->push_back(std::move(step));
  }
  return absl::OkStatus();
}

absl::StatusOr<Token> Lexer::NextPath() {
  while (IsSpace(Peek())) Advance();
  Token token;
  token.kind = TokenKind::kPath;
  token.position = position_;
  token.offset = offset_;
  while (Peek() >= 0 && !IsSpace(Peek())) Advance();
  token.length = offset_ - token.offset;
  token.text = std::string(text_.substr(token.offset, token.length));
  if (token.text.empty()) return CompileError(token.position, "expected a source path");
  return token;
}

absl::StatusOr<Token> Lexer::ScanPathAt(const Token& start) {
  offset_ = start.offset;
  position_ = start.position;
  Token token;
  token.kind = TokenKind::kPath;
  token.position = position_;
  token.offset = offset_;
  absl::string_view first = ScanSegment();
  if (first.empty()) return CompileError(token.position, "expected a path such as a.b[0]");
  token.path.push_back(PathStep{.key = std::string(first)});
  RETURN_IF_ERROR(ScanSteps(&token.path));
  token.length = offset_ - token.offset;
  token.text = std::string(text_.substr(token.offset, token.length));
  return token;
}

}  // namespace edge::route
