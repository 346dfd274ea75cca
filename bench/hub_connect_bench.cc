// hub_connect_bench: what a connection costs on the hub (mosquitto with our plugin, SAS tokens
// checked against identities from the store) next to plain mosquitto with a password file, both
// over TLS with the same server certificate, in the same run.
//
//   EDGE_BIN_DIR=build/bin hub_connect_bench [--connections N] [--held M]   (defaults 300, 300)
//
// 1. N sequential connections (TLS handshake, CONNECT, CONNACK, DISCONNECT), one client at a
//    time: latency percentiles and the ratio hub/anchor.
// 2. M connections held open at once: the broker's resident memory (VmRSS) idle and with them
//    all connected, per connection.
// Both use libmosquitto (MQTT 3.1.1) as the client.
#include <mosquitto.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/certs.h"
#include "common/sas.h"
#include "common/subprocess.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "services/hub/plugin/client_auth.h"
#include "tests/support/free_port.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Credentials {
  std::string client_id;
  std::string username;
  std::string password;
};

struct Target {
  int port = 0;
  std::string cafile;
};

// A connected libmosquitto client, or null when the broker refused or did not answer.
mosquitto* Connect(const Target& target, const Credentials& credentials) {
  mosquitto* client = mosquitto_new(credentials.client_id.c_str(), true, nullptr);
  if (client == nullptr) return nullptr;
  int connack = -1;
  mosquitto_user_data_set(client, &connack);
  mosquitto_connect_callback_set(
      client, [](mosquitto*, void* data, int rc) { *static_cast<int*>(data) = rc; });
  mosquitto_int_option(client, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(client, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_tls_set(client, target.cafile.c_str(), nullptr, nullptr, nullptr, nullptr);
  mosquitto_username_pw_set(client, credentials.username.c_str(), credentials.password.c_str());
  if (mosquitto_connect(client, "127.0.0.1", target.port, 60) != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(client);
    return nullptr;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (connack < 0 && Clock::now() < deadline) {
    if (mosquitto_loop(client, 10, 1) != MOSQ_ERR_SUCCESS) break;
  }
  mosquitto_user_data_set(client, nullptr);
  if (connack != 0) {
    mosquitto_destroy(client);
    return nullptr;
  }
  return client;
}

void Close(mosquitto* client) {
  mosquitto_disconnect(client);
  mosquitto_loop(client, 10, 1);
  mosquitto_destroy(client);
}

struct Latency {
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
  int failed = 0;
};

Latency SequentialConnections(const Target& target, const std::vector<Credentials>& clients,
                              int count) {
  std::vector<double> ms;
  Latency latency;
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    mosquitto* client = Connect(target, clients[static_cast<size_t>(i) % clients.size()]);
    const auto took = Clock::now() - start;
    if (client == nullptr) {
      ++latency.failed;
      continue;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(took).count());
    Close(client);
  }
  if (ms.empty()) return latency;
  std::sort(ms.begin(), ms.end());
  latency.p50_ms = ms[ms.size() / 2];
  latency.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  double sum = 0;
  for (double m : ms) sum += m;
  latency.mean_ms = sum / static_cast<double>(ms.size());
  return latency;
}

// VmRSS of `pid` in KiB.
long RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Memory {
  long idle_kib = 0, held_kib = 0;
  int held = 0;
};

Memory HeldConnections(const Target& target, const std::vector<Credentials>& clients, pid_t pid) {
  Memory memory;
  memory.idle_kib = RssKib(pid);
  std::vector<mosquitto*> open;
  for (const Credentials& c : clients) {
    if (mosquitto* client = Connect(target, c)) open.push_back(client);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  memory.held_kib = RssKib(pid);
  memory.held = static_cast<int>(open.size());
  for (mosquitto* client : open) Close(client);
  return memory;
}

// The broker-thread part of a SAS login alone: username rules, table lookup, two HMAC-SHA256.
double AuthenticateMicros(int rounds) {
  hub::IdentityTable table;
  for (int i = 0; i < 1000; ++i) {
    table[absl::StrCat("d", i)] = {.primary_key = GenerateSymmetricKey(),
                                   .secondary_key = GenerateSymmetricKey()};
  }
  const std::string token = *MakeSasToken("localhost/devices/d7", table["d7"].secondary_key,
                                          absl::Now() + absl::Hours(1));
  const std::string username = "localhost/d7/?api-version=2021-04-12";
  int accepted = 0;
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    hub::AuthResult result = hub::Authenticate(
        &table, {.client_id = "d7", .username = username, .password = token, .now = absl::Now()});
    accepted += result.ok() ? 1 : 0;
  }
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  return accepted == rounds ? us / rounds : -1;
}

void Print(const char* name, const Latency& l, const Memory& m) {
  std::printf(
      "%-10s connect p50 %6.2f ms  p99 %6.2f ms  mean %6.2f ms  failed %d | RSS idle %6ld KiB,"
      " %d held %7ld KiB (%.1f KiB each)\n",
      name, l.p50_ms, l.p99_ms, l.mean_ms, l.failed, m.idle_kib, m.held, m.held_kib,
      m.held > 0 ? static_cast<double>(m.held_kib - m.idle_kib) / m.held : 0.0);
}

int Run(int connections, int held) {
  testing::TempDir home;
  const int hub_port = testing::FreeLoopbackPort();
  std::ofstream(home.path() / "config.toml")
      << "[hub]\nbind_address = \"127.0.0.1\"\nsas_port = " << hub_port << "\nx509_port = 0\n";
  testing::ServiceProcess store("store", home.path());
  testing::ServiceProcess hub("hub", home.path());
  if (!store.Start().ok() || !hub.Start().ok()) {
    std::fprintf(stderr, "cannot start the runtime:\n%s\n%s\n", store.Log().c_str(),
                 hub.Log().c_str());
    return 1;
  }
  const std::string cafile = CaCertPath(CertsDir(home.path())).string();

  // Identities on the hub; one shared password-file user on the anchor.
  auto registry = store::v1::IdentityRegistry::NewStub(store.Channel());
  std::vector<Credentials> hub_clients, anchor_clients;
  for (int i = 0; i < std::max(held, 1); ++i) {
    const std::string id = absl::StrCat("bench-", i);
    store::v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    grpc::ClientContext context;
    store::v1::Identity created;
    if (!registry->CreateIdentity(&context, request, &created).ok()) return 1;
    hub_clients.push_back({id, absl::StrCat("localhost/", id, "/?api-version=2021-04-12"),
                           *MakeSasToken(absl::StrCat("localhost/devices/", id),
                                         created.primary_key(), absl::Now() + absl::Hours(1))});
    anchor_clients.push_back({id, "bench", "bench-secret"});
  }
  // The hub learns identities through the store's change feed: wait until the last one works.
  const Target hub_target{hub_port, cafile};
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (mosquitto* c = Connect(hub_target, hub_clients.back())) {
      Close(c);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // The anchor: plain mosquitto, same TLS certificate, a password file.
  const std::filesystem::path passwords = home.path() / "anchor.passwd";
  testing::Finished made = testing::RunToExit(
      {"/usr/bin/mosquitto_passwd", "-c", "-b", passwords.string(), "bench", "bench-secret"});
  const int anchor_port = testing::FreeLoopbackPort();
  const std::filesystem::path anchor_conf = home.path() / "anchor.conf";
  // The same broker settings the hub writes where they matter here: its user (so that it can read
  // the key), TCP_NODELAY.
  std::ofstream(anchor_conf) << "per_listener_settings false\nallow_anonymous false\n"
                             << "user " << ::getpwuid(::geteuid())->pw_name
                             << "\nset_tcp_nodelay true\n"
                             << "password_file " << passwords.string() << "\nlistener "
                             << anchor_port << " 127.0.0.1\ncertfile "
                             << ServerCertPath(CertsDir(home.path())).string() << "\nkeyfile "
                             << ServerKeyPath(CertsDir(home.path())).string() << "\n";
  absl::StatusOr<Subprocess> anchor =
      Subprocess::Start({.argv = {"/usr/sbin/mosquitto", "-c", anchor_conf.string()},
                         .log_file = home.path() / "anchor.log"});
  if (!made.ExitedWith(0) || !anchor.ok()) {
    std::fprintf(stderr, "cannot start the anchor broker: %s\n", made.output.c_str());
    return 1;
  }
  auto anchor_log = [&] { return testing::ReadFile(home.path() / "anchor.log"); };
  const Target anchor_target{anchor_port, cafile};
  bool anchor_up = false;
  for (int attempt = 0; attempt < 100 && !anchor_up; ++attempt) {
    if (mosquitto* c = Connect(anchor_target, anchor_clients.front())) {
      Close(c);
      anchor_up = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!anchor_up) {
    std::fprintf(stderr, "the anchor broker does not accept connections:\n%s\n",
                 anchor_log().c_str());
    return 1;
  }

  std::printf("hub_connect_bench: %d sequential TLS connections, then %d held open\n", connections,
              held);
  const Latency hub_latency = SequentialConnections(hub_target, hub_clients, connections);
  const Latency anchor_latency = SequentialConnections(anchor_target, anchor_clients, connections);
  const std::vector<Credentials> hub_held(hub_clients.begin(), hub_clients.begin() + held);
  const std::vector<Credentials> anchor_held(anchor_clients.begin(), anchor_clients.begin() + held);
  const Memory hub_memory = HeldConnections(hub_target, hub_held, hub.process()->pid());
  const Memory anchor_memory = HeldConnections(anchor_target, anchor_held, anchor->pid());
  Print("hub (SAS)", hub_latency, hub_memory);
  Print("mosquitto", anchor_latency, anchor_memory);
  std::printf("ratio hub/mosquitto: connect p50 %.2f, mean %.2f; RSS held %.2f\n",
              hub_latency.p50_ms / anchor_latency.p50_ms,
              hub_latency.mean_ms / anchor_latency.mean_ms,
              static_cast<double>(hub_memory.held_kib) / anchor_memory.held_kib);
  std::printf("hub SAS decision on the broker thread (no TLS, no I/O): %.1f us per login\n",
              AuthenticateMicros(20000));
  anchor->Stop(absl::Seconds(5));
  return hub_latency.failed == 0 && anchor_latency.failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace edge::bench

int main(int argc, char** argv) {
  CLI::App app("hub connection cost next to plain mosquitto");
  int connections = 300;
  int held = 300;
  app.add_option("--connections", connections, "sequential connections")
      ->check(CLI::Range(1, 100000));
  // mosquitto_loop uses select(), which cannot watch descriptors past 1023 (three per client).
  app.add_option("--held", held, "connections held open at once (at most 320)")
      ->check(CLI::Range(1, 320));
  CLI11_PARSE(app, argc, argv);
  mosquitto_lib_init();
  const int rc = edge::bench::Run(connections, held);
  mosquitto_lib_cleanup();
  return rc;
}
