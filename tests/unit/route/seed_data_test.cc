// Every case of the shared seed data (../shared/testdata, or the copy kept in testdata/ when the
// shared folder is absent) as its own test.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/route/condition.h"
#include "common/route/route.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/route/test_message.h"

namespace edge::route {
namespace {

using ::edge::route::testing::FromSourcePath;
using ::edge::route::testing::TestMessage;

struct SeedCase {
  int line = 0;
  nlohmann::json json;
};

std::vector<SeedCase> Load(const std::string& file) {
  std::vector<SeedCase> cases;
  std::ifstream in(std::string(EDGE_ROUTE_SEED_DIR) + "/" + file);
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    cases.push_back(SeedCase{line, nlohmann::json::parse(text)});
  }
  return cases;
}

void PrintTo(const SeedCase& c, std::ostream* os) {
  *os << "line " << c.line << ": " << c.json.dump();
}

std::string CaseName(const ::testing::TestParamInfo<SeedCase>& info) {
  return "Line" + std::to_string(info.param.line) + "_" +
         info.param.json.at("expect").get<std::string>();
}

class SeedConditionTest : public ::testing::TestWithParam<SeedCase> {};

TEST_P(SeedConditionTest, BehavesAsTheSeedSays) {
  const nlohmann::json& c = GetParam().json;
  const std::string condition = c.at("condition").get<std::string>();
  const std::string expect = c.at("expect").get<std::string>();
  SCOPED_TRACE(condition + " -> " + expect +
               (c.contains("note") ? " (" + c["note"].get<std::string>() + ")" : ""));

  absl::StatusOr<Condition> compiled = Condition::Compile(condition);
  if (expect == "error") {
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument) << compiled.status();
    return;
  }
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  TestMessage message;
  const nlohmann::json app = c.value("app", nlohmann::json::object());
  const nlohmann::json sys = c.value("sys", nlohmann::json::object());
  for (const auto& [name, value] : app.items()) message.App(name, value.get<std::string>());
  for (const auto& [name, value] : sys.items()) message.Sys(name, value.get<std::string>());
  message.Body(c.value("body", ""));
  MessageContext context(message.view());
  const Verdict verdict = compiled->Evaluate(context);
  if (expect == "match") {
    EXPECT_EQ(verdict, Verdict::kTrue);
  } else {
    ASSERT_EQ(expect, "nomatch");
    EXPECT_NE(verdict, Verdict::kTrue);
  }
}

INSTANTIATE_TEST_SUITE_P(Conditions, SeedConditionTest,
                         ::testing::ValuesIn(Load("route_conditions.jsonl")), CaseName);

class SeedSourceTest : public ::testing::TestWithParam<SeedCase> {};

TEST_P(SeedSourceTest, BehavesAsTheSeedSays) {
  const nlohmann::json& c = GetParam().json;
  const std::string source = c.at("route_source").get<std::string>();
  const std::string message_source = c.at("message_source").get<std::string>();
  SCOPED_TRACE(source + " vs " + message_source);
  absl::StatusOr<Route> route = Route::Compile("FROM " + source + " INTO $upstream");
  ASSERT_TRUE(route.ok()) << route.status();
  TestMessage message = FromSourcePath(message_source);
  MessageContext context(message.view());
  EXPECT_EQ(route->Matches(context), c.at("expect").get<std::string>() == "match");
}

INSTANTIATE_TEST_SUITE_P(Sources, SeedSourceTest, ::testing::ValuesIn(Load("route_sources.jsonl")),
                         CaseName);

TEST(SeedDataTest, FilesAreFoundAndNotEmpty) {
  EXPECT_GE(Load("route_conditions.jsonl").size(), 50u) << EDGE_ROUTE_SEED_DIR;
  EXPECT_GE(Load("route_sources.jsonl").size(), 5u) << EDGE_ROUTE_SEED_DIR;
}

// The copy in testdata/ exists for machines without ../shared; it must not drift from it.
TEST(SeedDataTest, KeptCopyMatchesTheSharedSeed) {
  for (const char* file : {"route_conditions.jsonl", "route_sources.jsonl"}) {
    std::ifstream shared(std::string(EDGE_ROUTE_SHARED_SEED_DIR) + "/" + file);
    if (!shared) GTEST_SKIP() << "no shared seed at " << EDGE_ROUTE_SHARED_SEED_DIR;
    std::ifstream kept(std::string(EDGE_ROUTE_KEPT_SEED_DIR) + "/" + file);
    std::stringstream a, b;
    a << shared.rdbuf();
    b << kept.rdbuf();
    EXPECT_EQ(a.str(), b.str()) << file << ": copy the shared seed into tests/unit/route/testdata";
  }
}

}  // namespace
}  // namespace edge::route
