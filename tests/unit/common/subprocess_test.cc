#include "common/subprocess.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace edge {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SubprocessTest, AppendsOutputToTheLogAndReportsTheExitCode) {
  edge::testing::TempDir dir;
  absl::StatusOr<Subprocess> p = Subprocess::Start(
      {.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, .log_file = dir.path() / "l"});
  ASSERT_TRUE(p.ok());
  absl::StatusOr<int> status = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with 3");
  EXPECT_EQ(ReadFile(dir.path() / "l"), "out\nerr\n");
}

TEST(SubprocessTest, PassesEnvironmentAndWorkingDirectory) {
  edge::testing::TempDir dir;
  absl::StatusOr<Subprocess> p = Subprocess::Start({.argv = {"/bin/sh", "-c", "echo $X; pwd"},
                                                    .env = {{"X", "42"}},
                                                    .log_file = dir.path() / "l",
                                                    .working_directory = dir.path()});
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->Wait(absl::Seconds(10)).ok());
  EXPECT_EQ(ReadFile(dir.path() / "l"), "42\n" + dir.path().string() + "\n");
}

TEST(SubprocessTest, ChildInheritsNoDescriptorBeyondStdio) {
  edge::testing::TempDir dir;
  int leaked = ::open("/dev/null", O_RDONLY);  // deliberately not O_CLOEXEC
  ASSERT_GE(leaked, 3);
  absl::StatusOr<Subprocess> p = Subprocess::Start(
      {.argv = {"/bin/sh", "-c", "ls /proc/self/fd"}, .log_file = dir.path() / "l"});
  ::close(leaked);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->Wait(absl::Seconds(10)).ok());
  // 0, 1, 2 and the directory ls itself opened.
  EXPECT_EQ(ReadFile(dir.path() / "l"), "0\n1\n2\n3\n");
}

TEST(SubprocessTest, StopEscalatesToSigkillAfterTheGrace) {
  absl::StatusOr<Subprocess> p =
      Subprocess::Start({.argv = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"}});
  ASSERT_TRUE(p.ok());
  absl::SleepFor(absl::Milliseconds(100));  // let the shell install its trap
  int status = p->Stop(absl::Milliseconds(200));
  EXPECT_EQ(DescribeWaitStatus(status), "killed by SIGKILL");
  EXPECT_FALSE(p->running());
}

TEST(SubprocessTest, MissingProgramExitsWith127) {
  absl::StatusOr<Subprocess> p = Subprocess::Start({.argv = {"/nonexistent/program"}});
  ASSERT_TRUE(p.ok());
  absl::StatusOr<int> status = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with 127");
}

TEST(SubprocessTest, EmptyArgvIsInvalid) {
  EXPECT_EQ(Subprocess::Start({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edge
