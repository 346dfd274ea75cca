#include "services/hub/plugin/wake_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace edge::hub {
namespace {

using ::edge::testing::TempDir;

// A unix-socket listener that stands in for the broker's wake listener.
class FakeWakeListener {
 public:
  explicit FakeWakeListener(const std::filesystem::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
  }
  ~FakeWakeListener() {
    CloseConnection();
    ::close(fd_);
  }

  void Accept() { conn_ = ::accept(fd_, nullptr, nullptr); }
  // Reads exactly `n` bytes from the accepted connection.
  std::string Read(size_t n) {
    std::string bytes(n, '\0');
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::read(conn_, bytes.data() + done, n - done);
      if (got <= 0) break;
      done += static_cast<size_t>(got);
    }
    bytes.resize(done);
    return bytes;
  }
  void Write(const std::string& bytes) {
    EXPECT_EQ(::write(conn_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void CloseConnection() {
    if (conn_ >= 0) ::close(conn_);
    conn_ = -1;
  }

 private:
  int fd_ = -1;
  int conn_ = -1;
};

const std::string kPingReq("\xC0\x00", 2);

TEST(WakeClientTest, ConnectPacketIsMqtt311WithCredentialsAndNoKeepAlive) {
  const std::string packet = WakeClient::ConnectPacket("id", "u", "pw");

  const std::string expected = std::string("\x10\x15", 2) + std::string("\x00\x04MQTT", 6) +
                               std::string("\x04\xC2\x00\x00", 4) + std::string("\x00\x02id", 4) +
                               std::string("\x00\x01u", 3) + std::string("\x00\x02pw", 4);
  EXPECT_EQ(packet, expected);
}

TEST(WakeClientTest, ConnectPacketEncodesLongRemainingLengths) {
  const std::string packet = WakeClient::ConnectPacket("id", "u", std::string(200, 'p'));

  // 10 (variable header) + 4 + 3 + 202 = 219 = 0xDB 0x01 as a varint.
  EXPECT_EQ(packet.substr(0, 3), std::string("\x10\xDB\x01", 3));
  EXPECT_EQ(packet.size(), 3u + 219u);
}

TEST(WakeClientTest, ConnectsOnceThenSendsAPingPerWake) {
  TempDir dir;
  FakeWakeListener listener(dir.path() / "wake.sock");
  WakeClient wake(dir.path() / "wake.sock", "id", "secret");

  ASSERT_TRUE(wake.Wake().ok());
  listener.Accept();
  const std::string connect = WakeClient::ConnectPacket("id", WakeClient::kUsername, "secret");
  EXPECT_EQ(listener.Read(connect.size()), connect);
  EXPECT_EQ(listener.Read(2), kPingReq);

  listener.Write(std::string("\x20\x02\x00\x00\xD0\x00", 6));  // CONNACK, PINGRESP: discarded
  ASSERT_TRUE(wake.Wake().ok());
  EXPECT_EQ(listener.Read(2), kPingReq);
}

TEST(WakeClientTest, ReconnectsAfterTheBrokerClosedTheConnection) {
  TempDir dir;
  FakeWakeListener listener(dir.path() / "wake.sock");
  WakeClient wake(dir.path() / "wake.sock", "id", "secret");
  ASSERT_TRUE(wake.Wake().ok());
  listener.Accept();
  listener.CloseConnection();

  ASSERT_TRUE(wake.Wake().ok());

  listener.Accept();
  const std::string connect = WakeClient::ConnectPacket("id", WakeClient::kUsername, "secret");
  EXPECT_EQ(listener.Read(connect.size()), connect);
  EXPECT_EQ(listener.Read(2), kPingReq);
}

TEST(WakeClientTest, UnreachableListenerIsUnavailable) {
  TempDir dir;
  WakeClient wake(dir.path() / "nothing.sock", "id", "secret");

  absl::Status status = wake.Wake();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("nothing.sock"));
}

}  // namespace
}  // namespace edge::hub
