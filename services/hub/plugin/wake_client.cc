#include "services/hub/plugin/wake_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace edge::hub {
namespace {

void AppendString(std::string* out, const std::string& s) {
  out->push_back(static_cast<char>((s.size() >> 8) & 0xff));
  out->push_back(static_cast<char>(s.size() & 0xff));
  out->append(s);
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

WakeClient::WakeClient(std::filesystem::path socket, std::string client_id, std::string password)
    : socket_(std::move(socket)),
      client_id_(std::move(client_id)),
      password_(std::move(password)) {}

WakeClient::~WakeClient() { Close(); }

std::string WakeClient::ConnectPacket(const std::string& client_id, const std::string& username,
                                      const std::string& password) {
  std::string body;
  AppendString(&body, "MQTT");
  body.push_back(0x04);                     // protocol level: 3.1.1
  body.push_back(static_cast<char>(0xC2));  // username, password, clean session
  body.push_back(0x00);                     // keep-alive 0: the broker never times us out
  body.push_back(0x00);
  AppendString(&body, client_id);
  AppendString(&body, username);
  AppendString(&body, password);
  std::string packet(1, static_cast<char>(0x10));
  size_t remaining = body.size();
  do {
    uint8_t byte = remaining % 128;
    remaining /= 128;
    if (remaining > 0) byte |= 0x80;
    packet.push_back(static_cast<char>(byte));
  } while (remaining > 0);
  return packet + body;
}

absl::Status WakeClient::Wake() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0 && !DiscardInputLocked()) CloseLocked();
  if (fd_ < 0) {
    absl::Status connected = ConnectLocked();
    if (!connected.ok()) return connected;
  }
  static const std::string kPingReq("\xC0\x00", 2);
  if (!WriteAll(fd_, kPingReq)) {
    const int error = errno;
    CloseLocked();
    return absl::UnavailableError(
        absl::StrCat("wake: PINGREQ to ", socket_.string(), " failed: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

void WakeClient::Close() {
  absl::MutexLock lock(&mu_);
  CloseLocked();
}

absl::Status WakeClient::ConnectLocked() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("wake: socket: ", std::strerror(errno)));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("wake: cannot connect to ", socket_.string(), ": ", std::strerror(error)));
  }
  if (!WriteAll(fd, ConnectPacket(client_id_, kUsername, password_))) {
    const int error = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("wake: CONNECT to ", socket_.string(), " failed: ", std::strerror(error)));
  }
  fd_ = fd;
  return absl::OkStatus();
}

void WakeClient::CloseLocked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool WakeClient::DiscardInputLocked() {
  char buffer[256];
  while (true) {
    ssize_t n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0) return false;  // the broker closed the connection
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

}  // namespace edge::hub
