// WakeClient: makes an idle broker run its main loop (and so TICK) at once.
//
// The broker waits up to 100 ms in epoll_wait when idle, and a plugin cannot add its own fd to
// that epoll. So the hub keeps one MQTT connection to a unix-socket listener that only it uses:
// CONNECT once (with a per-start secret the BASIC_AUTH callback accepts), then a PINGREQ per
// wake-up. Socket activity wakes the loop. CONNACK and PINGRESP are read and discarded without
// blocking on each wake, so the socket's receive buffer never fills.
//
// Example:
//   WakeClient wake("/home/run/hub-wake.sock", "$edge-hub-wake", secret);
//   queue.Post(task);  wake.Wake();
//
// Thread-safe: Wake may be called from any thread, including the broker thread. Never links
// libmosquitto (docs/mosquitto-2.0.11.md): the packets are written by hand.
#ifndef EDGE_SERVICES_HUB_PLUGIN_WAKE_CLIENT_H_
#define EDGE_SERVICES_HUB_PLUGIN_WAKE_CLIENT_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace edge::hub {

class WakeClient {
 public:
  WakeClient(std::filesystem::path socket, std::string client_id, std::string password);
  ~WakeClient();
  WakeClient(const WakeClient&) = delete;
  WakeClient& operator=(const WakeClient&) = delete;

  // Sends a PINGREQ, connecting first (CONNECT) when there is no connection. UNAVAILABLE when the
  // listener cannot be reached or the write fails; the connection is then dropped and the next
  // call reconnects. Never blocks for long: a 2-byte write to a local socket.
  absl::Status Wake();

  // Closes the connection; later Wake calls reconnect.
  void Close();

  // The username the CONNECT carries.
  static constexpr char kUsername[] = "$edge-hub-wake";

  // The MQTT 3.1.1 CONNECT packet (clean session, keep-alive 0, username and password). Public for
  // tests.
  static std::string ConnectPacket(const std::string& client_id, const std::string& username,
                                   const std::string& password);

 private:
  absl::Status ConnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads whatever the broker sent (CONNACK, PINGRESP) without blocking; false on EOF or error.
  bool DiscardInputLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::filesystem::path socket_;
  const std::string client_id_;
  const std::string password_;
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_WAKE_CLIENT_H_
