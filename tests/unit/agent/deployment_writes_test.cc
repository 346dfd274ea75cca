// What ApplyDeployment writes for a valid deployment, in which order, and the errors around it
// (services/agent/deployment_writes.h). Pure: no store.
#include "services/agent/deployment_writes.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edge::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

// A valid deployment with module twins `module_twins` (each with desired {"n": 1}).
Deployment ValidDeployment(const std::vector<std::string>& module_twins = {}) {
  nlohmann::json content = {
      {"$edgeAgent",
       {{"properties.desired",
         {{"schemaVersion", "1.1"}, {"runtime", {{"type", "process"}}}, {"modules", {}}}}}},
      {"$edgeHub",
       {{"properties.desired",
         {{"schemaVersion", "1.1"}, {"routes", {{"r", "FROM /messages/* INTO $upstream"}}}}}}}};
  for (const std::string& name : module_twins) {
    content[name] = {{"properties.desired", {{"n", 1}}}};
  }
  Parsed<Deployment> parsed = ParseDeployment({{"modulesContent", content}});
  EXPECT_TRUE(parsed.ok()) << parsed.errors.ToStatus();
  return *parsed.value;
}

TEST(DeploymentWritesTest, WritesModuleTwinsThenEdgeHubThenEdgeAgent) {
  absl::StatusOr<std::vector<DesiredWrite>> writes =
      PlanDesiredWrites("dev", ValidDeployment({"zeta", "alpha"}), {});
  ASSERT_TRUE(writes.ok()) << writes.status();
  EXPECT_THAT(*writes, ElementsAre(Field(&DesiredWrite::twin_id, "dev/alpha"),
                                   Field(&DesiredWrite::twin_id, "dev/zeta"),
                                   Field(&DesiredWrite::twin_id, "dev/$edgeHub"),
                                   Field(&DesiredWrite::twin_id, "dev/$edgeAgent")));
  EXPECT_FALSE((*writes)[0].system);
  EXPECT_TRUE((*writes)[3].system);
  EXPECT_EQ(nlohmann::json::parse((*writes)[0].json), nlohmann::json({{"n", 1}}));
  EXPECT_EQ(nlohmann::json::parse((*writes)[3].json)["schemaVersion"], "1.1");
}

TEST(DeploymentWritesTest, CarriesTheExpectedVersionsOfTheSystemTwins) {
  absl::StatusOr<std::vector<DesiredWrite>> writes =
      PlanDesiredWrites("dev", ValidDeployment(), {.agent = 7, .hub = 3});
  ASSERT_TRUE(writes.ok()) << writes.status();
  ASSERT_EQ(writes->size(), 2u);
  EXPECT_EQ((*writes)[0].expected_version, 3);
  EXPECT_EQ((*writes)[1].expected_version, 7);
}

TEST(DeploymentWritesTest, RejectsAnExpectedVersionBelowOne) {
  absl::StatusOr<std::vector<DesiredWrite>> writes =
      PlanDesiredWrites("dev", ValidDeployment(), {.agent = 0});
  EXPECT_EQ(writes.status(),
            absl::InvalidArgumentError(
                "expected_agent_version: 0 is not a desired version (they start at 1)"));
  writes = PlanDesiredWrites("dev", ValidDeployment(), {.hub = -2});
  EXPECT_EQ(writes.status(),
            absl::InvalidArgumentError(
                "expected_hub_version: -2 is not a desired version (they start at 1)"));
}

TEST(DeploymentWritesTest, RejectsAModuleTwinNameThatIsNotAModuleId) {
  absl::StatusOr<std::vector<DesiredWrite>> writes =
      PlanDesiredWrites("dev", ValidDeployment({"ok", "bad/name"}), {});
  EXPECT_EQ(writes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(writes.status().message(), HasSubstr("deployment.modulesContent.bad/name: "));
}

TEST(DeploymentWritesTest, AcceptsTheCurrentVersionOrNoExpectation) {
  EXPECT_TRUE(CheckCurrentVersion({.twin_id = "dev/$edgeAgent"}, 4).ok());
  EXPECT_TRUE(CheckCurrentVersion({.twin_id = "dev/$edgeAgent", .expected_version = 4}, 4).ok());
}

TEST(DeploymentWritesTest, AStaleExpectedVersionIsAborted) {
  EXPECT_EQ(CheckCurrentVersion({.twin_id = "dev/$edgeAgent", .expected_version = 2}, 5),
            absl::AbortedError("dev/$edgeAgent: the desired properties are at version 5, not the "
                               "expected 2; nothing was written"));
}

TEST(DeploymentWritesTest, AFirstFailedWriteSaysNothingWasWritten) {
  std::vector<DesiredWrite> writes = {{.twin_id = "dev/$edgeHub"}, {.twin_id = "dev/$edgeAgent"}};
  EXPECT_EQ(WriteError(writes, 0, absl::UnavailableError("the store: down")),
            absl::UnavailableError("writing dev/$edgeHub: the store: down; nothing was written"));
}

TEST(DeploymentWritesTest, ALaterFailedWriteNamesWhatWasAndWasNotWritten) {
  std::vector<DesiredWrite> writes = {{.twin_id = "dev/m", .written_version = 2},
                                      {.twin_id = "dev/gone", .exists = false},
                                      {.twin_id = "dev/$edgeHub", .written_version = 9},
                                      {.twin_id = "dev/$edgeAgent"}};
  EXPECT_EQ(WriteError(writes, 3, absl::FailedPreconditionError("version is 4, not 3")),
            absl::AbortedError("writing dev/$edgeAgent: version is 4, not 3; already written: "
                               "dev/m (version 2), dev/$edgeHub (version 9); not written: "
                               "dev/$edgeAgent"));
}

}  // namespace
}  // namespace edge::agent
