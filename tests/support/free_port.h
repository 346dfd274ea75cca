// A TCP port on the loopback interface that nothing listens on, for a test to configure. The
// kernel picks it (bind to port 0) and the socket is closed again, so another process could take
// it in between; the window is short and ports are not reused at once.
#ifndef EDGE_TESTS_SUPPORT_FREE_PORT_H_
#define EDGE_TESTS_SUPPORT_FREE_PORT_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace edge::testing {

// 0 when no port could be had.
inline int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_FREE_PORT_H_
