#include "common/service_runner.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

using ::testing::HasSubstr;

TEST(ParseListenTest, UnixMeansTheServiceSocketUnderRun) {
  absl::StatusOr<ListenAddress> a = ParseListen("unix", "/home/e", "store");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->unix_path, "/home/e/run/store.sock");
  EXPECT_EQ(a->grpc_target, "unix:/home/e/run/store.sock");
}

TEST(ParseListenTest, ExplicitSocketPath) {
  absl::StatusOr<ListenAddress> a = ParseListen("unix:/run/x.sock", "/home/e", "store");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->grpc_target, "unix:/run/x.sock");
}

TEST(ParseListenTest, TcpHostAndPort) {
  absl::StatusOr<ListenAddress> a = ParseListen("127.0.0.1:7000", "/home/e", "store");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->unix_path.empty());
  EXPECT_EQ(a->grpc_target, "127.0.0.1:7000");
  EXPECT_TRUE(ParseListen("[::1]:0", "/home/e", "store").ok());
}

TEST(ParseListenTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "unix:relative.sock", "localhost", ":80", "host:"}) {
    EXPECT_EQ(ParseListen(bad, "/home/e", "store").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ParseListenTest, SocketPathOverTheLimitIsAClearError) {
  std::string home = "/" + std::string(100, 'h');
  absl::StatusOr<ListenAddress> a = ParseListen("unix", home, "store");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("116 bytes; the limit is 107"));
}

TEST(ParseListenTest, SocketPathAtTheLimitIsAccepted) {
  // "/" + 92 + "/run/store.sock" (14) = 107 bytes.
  std::string home = "/" + std::string(91, 'h');
  absl::StatusOr<ListenAddress> a = ParseListen("unix", home, "store");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->unix_path.native().size(), 107u);
}

TEST(ServiceListenAddressTest, ErrorNamesTheKey) {
  absl::StatusOr<ListenAddress> a =
      ServiceListenAddress(*Config::Parse("[store]\nlisten = \"nope\"\n"), "/h", "store");
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("store.listen:"));
}

}  // namespace
}  // namespace edge
