// The lexer and the parser: token positions, literal decoding, precedence and associativity as
// syntax trees, route structure and nesting limits.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/route/lexer.h"
#include "common/route/parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::route {
namespace {

using ::testing::HasSubstr;

std::vector<Token> LexAll(absl::string_view text) {
  Lexer lexer(text);
  std::vector<Token> tokens;
  while (true) {
    absl::StatusOr<Token> t = lexer.Next();
    EXPECT_TRUE(t.ok()) << t.status();
    if (!t.ok() || t->kind == TokenKind::kEnd) break;
    tokens.push_back(*t);
  }
  return tokens;
}

TEST(LexerTest, TokensCarryLineAndColumn) {
  const std::vector<Token> tokens = LexAll("a = 'x'\n  AND $body.b[2] >= 0x1F");
  ASSERT_EQ(tokens.size(), 7u);
  EXPECT_EQ(tokens[0].position.line, 1);
  EXPECT_EQ(tokens[0].position.column, 1);
  EXPECT_EQ(tokens[2].kind, TokenKind::kString);
  EXPECT_EQ(tokens[2].position.column, 5);
  EXPECT_EQ(tokens[3].position.line, 2);
  EXPECT_EQ(tokens[3].position.column, 3);
  EXPECT_EQ(tokens[4].kind, TokenKind::kDollarName);
  EXPECT_EQ(tokens[4].position.column, 7);
  EXPECT_EQ(tokens[5].kind, TokenKind::kGe);
  EXPECT_EQ(tokens[5].position.column, 18);
  EXPECT_EQ(tokens[6].number, 31);
}

TEST(LexerTest, ColumnsCountCodePointsNotBytes) {
  const std::vector<Token> tokens = LexAll("'\xc3\xa9\xc3\xa9' = x");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1].position.column, 6);
}

TEST(LexerTest, BodyPathIsScannedIntoSteps) {
  const std::vector<Token> tokens = LexAll("$body.a.b[12]['c d'].e");
  ASSERT_EQ(tokens.size(), 1u);
  const std::vector<PathStep>& path = tokens[0].path;
  ASSERT_EQ(path.size(), 5u);
  EXPECT_EQ(path[0].key, "a");
  EXPECT_EQ(path[1].key, "b");
  EXPECT_TRUE(path[2].is_index);
  EXPECT_EQ(path[2].index, 12u);
  EXPECT_EQ(path[3].key, "c d");
  EXPECT_EQ(path[4].key, "e");
}

TEST(LexerTest, OperatorsAreRecognisedLongestFirst) {
  std::vector<TokenKind> kinds;
  for (const Token& t : LexAll("< <= <> > >= = != || ?? * / % + - ( ) { } ,")) {
    kinds.push_back(t.kind);
  }
  EXPECT_THAT(kinds,
              ::testing::ElementsAre(TokenKind::kLt, TokenKind::kLe, TokenKind::kNe, TokenKind::kGt,
                                     TokenKind::kGe, TokenKind::kEq, TokenKind::kNe,
                                     TokenKind::kConcat, TokenKind::kCoalesce, TokenKind::kStar,
                                     TokenKind::kSlash, TokenKind::kPercent, TokenKind::kPlus,
                                     TokenKind::kMinus, TokenKind::kLParen, TokenKind::kRParen,
                                     TokenKind::kLBrace, TokenKind::kRBrace, TokenKind::kComma));
}

TEST(LexerTest, ErrorsNameTheirPosition) {
  Lexer lexer("a\n  'open");
  ASSERT_TRUE(lexer.Next().ok());
  absl::StatusOr<Token> t = lexer.Next();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("unterminated string at 2:3"));
}

TEST(LexerTest, EndRepeats) {
  Lexer lexer("");
  EXPECT_EQ(lexer.Next()->kind, TokenKind::kEnd);
  EXPECT_EQ(lexer.Next()->kind, TokenKind::kEnd);
}

TEST(LexerTest, NextPathReadsUpToWhitespaceIncludingSlashStar) {
  Lexer lexer("  /* WHERE");
  absl::StatusOr<Token> path = lexer.NextPath();
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->text, "/*");
  EXPECT_EQ(path->position.column, 3);
  EXPECT_EQ(lexer.Next()->text, "WHERE");
}

struct TreeCase {
  const char* text;
  const char* tree;
};

void PrintTo(const TreeCase& c, std::ostream* os) { *os << c.text; }

class ParseTreeTest : public ::testing::TestWithParam<TreeCase> {};

TEST_P(ParseTreeTest, BuildsTheExpectedTree) {
  absl::StatusOr<std::unique_ptr<AstNode>> ast = ParseCondition(GetParam().text);
  ASSERT_TRUE(ast.ok()) << ast.status();
  EXPECT_EQ(AstDebugString(**ast), GetParam().tree);
}

INSTANTIATE_TEST_SUITE_P(PrecedenceAndAssociativity, ParseTreeTest,
                         ::testing::ValuesIn(std::vector<TreeCase>{
                             {"1 + 2 * 3", "(+ 1 (* 2 3))"},
                             {"1 * 2 + 3", "(+ (* 1 2) 3)"},
                             {"1 - 2 - 3", "(- (- 1 2) 3)"},
                             {"1 / 2 / 3", "(/ (/ 1 2) 3)"},
                             {"1 % 2 * 3", "(* (% 1 2) 3)"},
                             {"a || b || c", "(|| (|| a b) c)"},
                             {"a || b + 1", "(+ (|| a b) 1)"},
                             {"1 + 2 < 3", "(< (+ 1 2) 3)"},
                             {"1 < 2 = true", "(= (< 1 2) true)"},
                             {"a = b = c", "(= (= a b) c)"},
                             {"a <> b != c", "(!= (!= a b) c)"},
                             {"a < b <= c", "(<= (< a b) c)"},
                             {"a = b AND c = d", "(AND (= a b) (= c d))"},
                             {"a AND b OR c", "(OR (AND a b) c)"},
                             {"a OR b AND c", "(OR a (AND b c))"},
                             {"a OR b OR c", "(OR (OR a b) c)"},
                             {"a AND b AND c", "(AND (AND a b) c)"},
                             {"a ?? b OR c", "(?? a (OR b c))"},
                             {"a OR b ?? c", "(?? (OR a b) c)"},
                             {"a ?? b ?? c", "(?? (?? a b) c)"},
                             {"NOT a AND b", "(AND (NOT a) b)"},
                             {"NOT a = b", "(= (NOT a) b)"},
                             {"NOT (a = b)", "(NOT (= a b))"},
                             {"NOT NOT a", "(NOT (NOT a))"},
                             {"-a * b", "(* (- a) b)"},
                             {"- -1", "(- (- 1))"},
                             {"-1", "(- 1)"},
                             {"a - -b", "(- a (- b))"},
                             {"(a OR b) AND c", "(AND (OR a b) c)"},
                             {"f(a, b + 1, (c))", "(f a (+ b 1) c)"},
                             {"f()", "(f)"},
                             {"$body.a[0].b > 1", "(> $body.a[0].b 1)"},
                             {"{$body.a} = {$to}", "(= {$body.a} {$to})"},
                             {"$x = 'y'", "(= $x 'y')"},
                             {"twin_change_includes(properties.reported.a[0])",
                              "(twin_change_includes properties.reported.a[0])"},
                             {"twin_change_includes('tags.x')", "(twin_change_includes 'tags.x')"},
                             {"true AND null OR undefined", "(OR (AND true null) undefined)"},
                             {"select_ = from_", "(= select_ from_)"},
                         }));

TEST(ParserTest, NestingBeyondTheLimitIsAnError) {
  const int depth = kMaxDepth + 5;
  std::string text(depth, '(');
  text += "1";
  text += std::string(depth, ')');
  absl::StatusOr<std::unique_ptr<AstNode>> ast = ParseCondition(text);
  EXPECT_EQ(ast.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ast.status().message()), HasSubstr("nests more than"));
}

TEST(ParserTest, NestingWithinTheLimitParses) {
  const int depth = kMaxDepth / 2;
  std::string text(depth, '(');
  text += "1";
  text += std::string(depth, ')');
  EXPECT_TRUE(ParseCondition(text).ok());
}

TEST(ParserTest, LongOperatorChainsAreBoundedToo) {
  std::string text = "1";
  for (int i = 0; i < kMaxDepth + 5; ++i) text += " + 1";
  EXPECT_THAT(std::string(ParseCondition(text).status().message()), HasSubstr("nests more than"));
}

TEST(ParserTest, LongUnaryChainsAreBounded) {
  std::string text;
  for (int i = 0; i < kMaxDepth + 5; ++i) text += "NOT ";
  text += "true";
  EXPECT_THAT(std::string(ParseCondition(text).status().message()), HasSubstr("nests more than"));
}

TEST(ParseRouteTest, ReadsEveryPart) {
  absl::StatusOr<ParsedRoute> route =
      ParseRoute("SELECT * FROM /messages/* WHERE a = 'b' INTO BrokeredEndpoint(\"/x\")");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->source.text, "/messages/*");
  EXPECT_EQ(route->condition_text, "a = 'b'");
  EXPECT_EQ(AstDebugString(*route->condition), "(= a 'b')");
  EXPECT_TRUE(route->sink.is_function);
  EXPECT_EQ(route->sink.name, "BrokeredEndpoint");
  EXPECT_EQ(route->sink.argument, "/x");
}

TEST(ParseRouteTest, KeywordsAreCaseInsensitive) {
  absl::StatusOr<ParsedRoute> route = ParseRoute("select * from /* where true into $upstream");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->sink.name, "upstream");
}

TEST(ParseRouteTest, WhereIsOptional) {
  absl::StatusOr<ParsedRoute> route = ParseRoute("FROM /messages INTO $upstream");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->condition, nullptr);
}

TEST(ParseRouteTest, ConditionsMaySpanLinesAndErrorsCountFromTheRouteStart) {
  absl::StatusOr<ParsedRoute> route =
      ParseRoute("FROM /messages/*\nWHERE a = 'b'\n  AND (\nINTO $upstream");
  EXPECT_THAT(std::string(route.status().message()),
              HasSubstr("expected an expression, found 'INTO' at 4:1"));
}

struct RouteErrorCase {
  const char* route;
  const char* error;
};

void PrintTo(const RouteErrorCase& c, std::ostream* os) { *os << c.route; }

class ParseRouteErrorTest : public ::testing::TestWithParam<RouteErrorCase> {};

TEST_P(ParseRouteErrorTest, IsRejectedWithAPositionedMessage) {
  absl::StatusOr<ParsedRoute> route = ParseRoute(GetParam().route);
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(route.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseRouteErrorTest,
    ::testing::ValuesIn(std::vector<RouteErrorCase>{
        {"", "expected FROM, found end of input at 1:1"},
        {"INTO $upstream", "expected FROM, found 'INTO' at 1:1"},
        {"/* INTO $upstream", "unterminated comment at 1:1"},
        {"WHERE true INTO $upstream", "expected FROM, found 'WHERE'"},
        {"SELECT FROM /* INTO $upstream", "expected '*' after SELECT, found 'FROM' at 1:8"},
        {"SELECT a FROM /* INTO $upstream", "only SELECT * is supported"},
        {"FROM", "expected a source path after FROM at 1:1"},
        {"FROM   ", "expected a source path after FROM"},
        {"FROM /*", "expected WHERE or INTO, found end of input at 1:8"},
        {"FROM /* WHERE", "expected an expression, found end of input"},
        {"FROM /* WHERE INTO $upstream", "expected an expression, found 'INTO' at 1:15"},
        {"FROM /* WHERE true $upstream", "expected INTO after the condition, found '$upstream'"},
        {"FROM /* WHERE true", "expected INTO after the condition, found end of input"},
        {"FROM /* INTO", "expected a sink after INTO, found end of input at 1:13"},
        {"FROM /* INTO 'x'", "expected a sink after INTO, found string 'x'"},
        {"FROM /* INTO $upstream extra", "unexpected 'extra' after the sink at 1:24"},
        {"FROM /* INTO $upstream INTO", "unexpected 'INTO' after the sink"},
        {"FROM /* INTO BrokeredEndpoint", "expected '(' after BrokeredEndpoint"},
        {"FROM /* INTO BrokeredEndpoint(/modules/m/inputs/i)", "expected a quoted endpoint"},
        {"FROM /* INTO BrokeredEndpoint(\"/modules/m/inputs/i\"",
         "expected ')' after the endpoint"},
        {"FROM /* INTO $upstream.x", "expected a sink after INTO"},
        {"FROM /* INTO AND", "expected a sink after INTO, found 'AND'"},
    }));

}  // namespace
}  // namespace edge::route
