// MosquittoBroker: a plain mosquitto (Debian's /usr/sbin/mosquitto, no plugin) on a loopback port
// of its own with a config written into a temp directory — the upstream an edge device's link
// connects to in tests and benchmarks. Optionally TLS, a password file, persistence.
//
// Example:
//   MosquittoBroker upstream({.dir = home.path() / "upstream"});
//   ASSERT_TRUE(upstream.Start().ok()) << upstream.Log();
//   ... connect to 127.0.0.1:upstream.port() ...
//   upstream.Stop();   // SIGTERM (a persistent broker saves its sessions); Start() again later
#ifndef EDGE_TESTS_SUPPORT_MOSQUITTO_BROKER_H_
#define EDGE_TESTS_SUPPORT_MOSQUITTO_BROKER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "tests/support/free_port.h"
#include "tests/support/wait_until.h"

namespace edge::testing {

struct MosquittoBrokerOptions {
  std::filesystem::path dir = {};  // config, log and persistence go here (created)
  int port = 0;                    // 0: a free loopback port, kept across restarts
  // TLS when both are set (the listener then speaks TLS only).
  std::filesystem::path certfile = {};
  std::filesystem::path keyfile = {};
  // With require_certificate: clients must present a certificate signed by `cafile`.
  std::filesystem::path cafile = {};
  bool require_certificate = false;
  // Set: clients must log in with a user/password it holds (mosquitto_passwd format). Unset:
  // anonymous clients are allowed.
  std::filesystem::path password_file = {};
  // Sessions and queued messages survive a restart (saved at SIGTERM).
  bool persistence = false;
};

class MosquittoBroker {
 public:
  static constexpr char kBinary[] = "/usr/sbin/mosquitto";

  explicit MosquittoBroker(MosquittoBrokerOptions options) : options_(std::move(options)) {
    if (options_.port == 0) options_.port = FreeLoopbackPort();
    std::filesystem::create_directories(options_.dir);
  }
  ~MosquittoBroker() {
    if (process_.has_value()) process_->Stop(absl::Seconds(5));
  }

  // Writes the config, starts the broker and waits until its port accepts connections.
  absl::Status Start() {
    const std::filesystem::path conf = options_.dir / "mosquitto.conf";
    std::ofstream out(conf);
    out << "per_listener_settings false\n"
        << "user " << ::getpwuid(::geteuid())->pw_name << "\n"
        << "set_tcp_nodelay true\n"
        // Never drop QoS 1 messages for a slow or absent subscriber (the default drops beyond
        // 1000; docs/mosquitto-2.0.11.md).
        << "max_queued_messages 0\nmax_queued_bytes 0\n"
        << "log_dest stdout\nlog_type error\nlog_type warning\nlog_type notice\n"
        << "persistence " << (options_.persistence ? "true" : "false") << "\n";
    if (options_.persistence) {
      out << "persistence_location " << options_.dir.string() << "/\nautosave_interval 0\n";
    }
    if (options_.password_file.empty()) {
      out << "allow_anonymous true\n";
    } else {
      out << "allow_anonymous false\npassword_file " << options_.password_file.string() << "\n";
    }
    out << "listener " << options_.port << " 127.0.0.1\n";
    if (!options_.certfile.empty()) {
      out << "certfile " << options_.certfile.string() << "\nkeyfile " << options_.keyfile.string()
          << "\n";
    }
    if (!options_.cafile.empty()) out << "cafile " << options_.cafile.string() << "\n";
    if (options_.require_certificate) out << "require_certificate true\n";
    out.close();
    absl::StatusOr<Subprocess> process = Subprocess::Start(
        {.argv = {kBinary, "-c", conf.string()}, .log_file = options_.dir / "mosquitto.log"});
    if (!process.ok()) return process.status();
    process_.emplace(std::move(*process));
    auto exited = [this] { return process_->Poll().has_value(); };
    if (!WaitUntil([&] { return Accepting() || exited(); }, absl::Seconds(10)) || exited()) {
      return absl::UnavailableError(absl::StrCat("mosquitto did not start:\n", Log()));
    }
    return absl::OkStatus();
  }

  // SIGTERM and wait (a persistent broker writes its database first).
  void Stop() {
    if (process_.has_value()) process_->Stop(absl::Seconds(10));
    process_.reset();
  }
  // SIGHUP: mosquitto re-reads its password file.
  void Reload() {
    if (process_.has_value()) process_->Signal(SIGHUP);
  }

  int port() const { return options_.port; }
  pid_t pid() { return process_.has_value() ? process_->pid() : -1; }
  std::string Log() const {
    std::ifstream in(options_.dir / "mosquitto.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  bool Accepting() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(options_.port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
  }

  MosquittoBrokerOptions options_;
  std::optional<Subprocess> process_;
};

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_MOSQUITTO_BROKER_H_
