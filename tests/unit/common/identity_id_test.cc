#include "common/identity_id.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

TEST(IdentityIdTest, ParsesDevicesAndModules) {
  absl::StatusOr<IdentityId> device = IdentityId::Parse("dev-1");
  ASSERT_TRUE(device.ok());
  EXPECT_FALSE(device->is_module());
  absl::StatusOr<IdentityId> module = IdentityId::Parse("edge-1/$edgeHub");
  ASSERT_TRUE(module.ok());
  EXPECT_EQ(module->device(), "edge-1");
  EXPECT_EQ(module->module(), "$edgeHub");
  EXPECT_EQ(module->ToString(), "edge-1/$edgeHub");
  EXPECT_EQ(module->DeviceOf().ToString(), "edge-1");
}

TEST(IdentityIdTest, AcceptsEveryAllowedCharacter) {
  EXPECT_TRUE(IdentityId::Parse("aZ09-.%_*?!(),:=@$'").ok());
  EXPECT_TRUE(IdentityId::Parse(std::string(128, 'x')).ok());
}

TEST(IdentityIdTest, RejectsMalformedIds) {
  for (const char* bad : {"", "/m", "d/", "d/m/x", "a b", "d#1", "d/m\n"}) {
    EXPECT_EQ(IdentityId::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(std::string(IdentityId::Parse(std::string(129, 'x')).status().message()),
              ::testing::HasSubstr("at most 128"));
}

}  // namespace
}  // namespace edge
