// e2e_bench: module → module through the hub, the router and the store (durable: journal, routes,
// SQLite queue, Attach) next to plain mosquitto QoS 1 pub → sub, in the same run, with the same
// client library (libmosquitto, MQTT 3.1.1), the same TLS certificate and the same 256 B bodies.
//
//   EDGE_BIN_DIR=build/bin e2e_bench [--messages N] [--window W] [--rate R] [--seconds S]
//
// 1. Throughput: N messages with up to W unacknowledged publishes; messages/s from the first
//    publish to the last delivery, the ratio edge/mosquitto, and the CPU time each process spent
//    per message (hub = the broker with our plugin, router, store; mosquitto alone for the anchor).
// 2. Latency at a fixed R msg/s for S seconds: p50 / p99 / max from publish to delivery.
// 3. Idle latency: single messages a while apart, median and max.
#include <mosquitto.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/certs.h"
#include "common/edge_home.h"
#include "common/sas.h"
#include "common/subprocess.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "tests/support/free_port.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBodyBytes = 256;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Client {
  std::string id;
  std::string username;
  std::string password;
};

// Where the publisher and the subscriber connect, and on which topics.
struct Setup {
  std::string name;
  int port = 0;
  std::string cafile;
  Client publisher;
  Client subscriber;
  std::string publish_topic;
  std::string subscribe_filter;
  std::vector<std::pair<std::string, pid_t>> processes;  // whose CPU time is reported
};

// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  // After "pid (comm) ": state is field 3, utime 14 and stime 15 of the whole line.
  if (fields.size() < 13) return 0;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

// A libmosquitto client on its own network thread.
class MqttClient {
 public:
  MqttClient(const Setup& setup, const Client& who) {
    client_ = mosquitto_new(who.id.c_str(), true, this);
    mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(client_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(client_, 0);
    mosquitto_tls_set(client_, setup.cafile.c_str(), nullptr, nullptr, nullptr, nullptr);
    mosquitto_username_pw_set(client_, who.username.c_str(), who.password.c_str());
    mosquitto_connect_callback_set(client_, [](mosquitto*, void* self, int rc) {
      static_cast<MqttClient*>(self)->Signal([&](MqttClient* c) { c->connack_ = rc; });
    });
    mosquitto_subscribe_callback_set(client_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<MqttClient*>(self)->Signal([](MqttClient* c) { c->subscribed_ = true; });
    });
    mosquitto_publish_callback_set(client_, [](mosquitto*, void* self, int) {
      static_cast<MqttClient*>(self)->Signal([](MqttClient* c) { --c->in_flight_; });
    });
    mosquitto_message_callback_set(client_,
                                   [](mosquitto*, void* self, const mosquitto_message* message) {
                                     static_cast<MqttClient*>(self)->OnMessage(message);
                                   });
    ok_ = mosquitto_connect(client_, "127.0.0.1", setup.port, 60) == MOSQ_ERR_SUCCESS &&
          mosquitto_loop_start(client_) == MOSQ_ERR_SUCCESS &&
          Await([this] { return connack_ >= 0; }) && connack_ == 0;
  }
  ~MqttClient() {
    mosquitto_disconnect(client_);
    mosquitto_loop_stop(client_, false);
    mosquitto_destroy(client_);
  }

  bool ok() const { return ok_; }

  bool Subscribe(const std::string& filter) {
    return mosquitto_subscribe(client_, nullptr, filter.c_str(), 1) == MOSQ_ERR_SUCCESS &&
           Await([this] { return subscribed_; });
  }

  // Publishes a body stamped with the send time, once fewer than `window` are unacknowledged.
  bool Publish(const std::string& topic, int window) {
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return in_flight_ < window; });
      ++in_flight_;
    }
    char body[kBodyBytes] = {};
    const int64_t now = NowNanos();
    std::memcpy(body, &now, sizeof(now));
    return mosquitto_publish(client_, nullptr, topic.c_str(), kBodyBytes, body, 1, false) ==
           MOSQ_ERR_SUCCESS;
  }

  // Subscriber side: waits until `count` messages arrived in all (false after `timeout`).
  bool AwaitReceived(int64_t count, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return received_ >= count; });
  }
  int64_t received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  Clock::time_point last_received_at() {
    std::lock_guard lock(mu_);
    return last_at_;
  }
  // Latencies of the messages received since the last call, in microseconds.
  std::vector<double> TakeLatencies() {
    std::lock_guard lock(mu_);
    return std::exchange(latencies_us_, {});
  }

 private:
  template <typename F>
  void Signal(F change) {
    std::lock_guard lock(mu_);
    change(this);
    changed_.notify_all();
  }
  template <typename P>
  bool Await(P done) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(20), done);
  }
  void OnMessage(const mosquitto_message* message) {
    int64_t sent = 0;
    if (message->payloadlen >= static_cast<int>(sizeof(sent))) {
      std::memcpy(&sent, message->payload, sizeof(sent));
    }
    const int64_t now = NowNanos();
    std::lock_guard lock(mu_);
    ++received_;
    last_at_ = Clock::now();
    latencies_us_.push_back(static_cast<double>(now - sent) / 1000.0);
    changed_.notify_all();
  }

  mosquitto* client_ = nullptr;
  bool ok_ = false;
  std::mutex mu_;
  std::condition_variable changed_;
  int connack_ = -1;
  bool subscribed_ = false;
  int in_flight_ = 0;
  int64_t received_ = 0;
  Clock::time_point last_at_;
  std::vector<double> latencies_us_;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

struct Result {
  double rate = 0;
  std::vector<std::pair<std::string, double>> cpu_us_per_message;
  double p50_us = 0, p99_us = 0, max_us = 0;
  double idle_p50_us = 0, idle_max_us = 0;
  bool ok = false;
};

Result Measure(const Setup& setup, int messages, int window, int rate, int seconds) {
  Result result;
  MqttClient subscriber(setup, setup.subscriber);
  MqttClient publisher(setup, setup.publisher);
  if (!subscriber.ok() || !publisher.ok() || !subscriber.Subscribe(setup.subscribe_filter)) {
    std::fprintf(stderr, "%s: the clients could not connect and subscribe\n", setup.name.c_str());
    return result;
  }
  // Warm-up: the first message also proves the path (routes, presence) is in place.
  publisher.Publish(setup.publish_topic, window);
  if (!subscriber.AwaitReceived(1, std::chrono::seconds(30))) {
    std::fprintf(stderr, "%s: the warm-up message never arrived\n", setup.name.c_str());
    return result;
  }
  int64_t expected = 1;

  // 1. Throughput.
  std::vector<double> cpu_before;
  for (const auto& [name, pid] : setup.processes) cpu_before.push_back(CpuSeconds(pid));
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < messages; ++i) publisher.Publish(setup.publish_topic, window);
  expected += messages;
  if (!subscriber.AwaitReceived(expected, std::chrono::seconds(300))) {
    std::fprintf(stderr, "%s: %lld of %d messages arrived\n", setup.name.c_str(),
                 static_cast<long long>(subscriber.received() - 1), messages);
    return result;
  }
  const double elapsed =
      std::chrono::duration<double>(subscriber.last_received_at() - start).count();
  result.rate = messages / elapsed;
  for (size_t i = 0; i < setup.processes.size(); ++i) {
    const double used = CpuSeconds(setup.processes[i].second) - cpu_before[i];
    result.cpu_us_per_message.emplace_back(setup.processes[i].first, used * 1e6 / messages);
  }

  // 2. Latency at a fixed rate.
  subscriber.TakeLatencies();
  const int count = rate * seconds;
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL / rate);
  Clock::time_point next = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_until(next);
    publisher.Publish(setup.publish_topic, window);
    next += interval;
  }
  expected += count;
  subscriber.AwaitReceived(expected, std::chrono::seconds(60));
  std::vector<double> latencies = subscriber.TakeLatencies();
  result.p50_us = Percentile(latencies, 0.50);
  result.p99_us = Percentile(latencies, 0.99);
  result.max_us = Percentile(latencies, 1.0);

  // 3. Idle: one message at a time, the brokers idle in between.
  std::vector<double> idle;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    publisher.Publish(setup.publish_topic, window);
    subscriber.AwaitReceived(++expected, std::chrono::seconds(10));
    for (double l : subscriber.TakeLatencies()) idle.push_back(l);
  }
  result.idle_p50_us = Percentile(idle, 0.5);
  result.idle_max_us = Percentile(idle, 1.0);
  result.ok = true;
  return result;
}

void Print(const Setup& setup, const Result& r) {
  std::printf(
      "%-10s %9.0f msg/s   latency @fixed rate p50 %7.0f us  p99 %7.0f us  max %7.0f us"
      "   idle p50 %6.0f us  max %6.0f us\n",
      setup.name.c_str(), r.rate, r.p50_us, r.p99_us, r.max_us, r.idle_p50_us, r.idle_max_us);
  std::string cpu;
  double total = 0;
  for (const auto& [name, us] : r.cpu_us_per_message) {
    absl::StrAppend(&cpu, "  ", name, " ", absl::StrFormat("%.1f", us));
    total += us;
  }
  std::printf("%-10s CPU per message (us):%s  total %.1f\n", "", cpu.c_str(), total);
}

std::string ModuleToken(store::v1::IdentityRegistry::Stub& registry, const std::string& id) {
  store::v1::CreateIdentityRequest request;
  request.mutable_identity()->set_id(id);
  grpc::ClientContext context;
  store::v1::Identity created;
  if (!registry.CreateIdentity(&context, request, &created).ok()) return "";
  const std::vector<std::string> parts = absl::StrSplit(id, '/');
  return *MakeSasToken(absl::StrCat("localhost/devices/", parts[0], "/modules/", parts[1]),
                       created.primary_key(), absl::Now() + absl::Hours(2));
}

int Run(int messages, int window, int rate, int seconds) {
  testing::TempDir home;
  const int hub_port = testing::FreeLoopbackPort();
  std::ofstream(home.path() / "config.toml")
      << "[hub]\nbind_address = \"127.0.0.1\"\nsas_port = " << hub_port << "\nx509_port = 0\n";
  testing::ServiceProcess store("store", home.path());
  testing::ServiceProcess router("router", home.path());
  testing::ServiceProcess hub("hub", home.path());
  if (!store.Start().ok() || !router.Start().ok() || !hub.Start().ok()) {
    std::fprintf(stderr, "cannot start the runtime:\n%s\n%s\n%s\n", store.Log().c_str(),
                 router.Log().c_str(), hub.Log().c_str());
    return 1;
  }
  const std::string cafile = CaCertPath(CertsDir(home.path())).string();

  // The edge: modules A and B, a route from A's output to B's input.
  auto registry = store::v1::IdentityRegistry::NewStub(store.Channel());
  const std::string token_a = ModuleToken(*registry, "edge-device/A");
  const std::string token_b = ModuleToken(*registry, "edge-device/B");
  {
    auto twins = store::v1::TwinStore::NewStub(store.Channel());
    grpc::ClientContext context;
    store::v1::ReplaceDesiredRequest request;
    request.set_id("edge-device/$edgeHub");
    request.set_json(
        R"json({"schemaVersion": "1.1", "routes": {"AtoB": "FROM /messages/modules/A/outputs/out1 INTO BrokeredEndpoint(\"/modules/B/inputs/in1\")"}})json");
    store::v1::Twin twin;
    if (!twins->ReplaceDesired(&context, request, &twin).ok()) return 1;
    auto router_stub = router::v1::Router::NewStub(router.Channel());
    for (int attempt = 0; attempt < 100; ++attempt) {
      grpc::ClientContext get;
      router::v1::GetRoutesResponse routes;
      if (router_stub->GetRoutes(&get, router::v1::GetRoutesRequest(), &routes).ok() &&
          routes.config().desired_version() == twin.desired().version()) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  Setup edge{
      .name = "edge",
      .port = hub_port,
      .cafile = cafile,
      .publisher = {"edge-device/A", "localhost/edge-device/A/?api-version=2021-04-12", token_a},
      .subscriber = {"edge-device/B", "localhost/edge-device/B/?api-version=2021-04-12", token_b},
      .publish_topic = "devices/edge-device/modules/A/messages/events/%24.on=out1",
      .subscribe_filter = "devices/edge-device/modules/B/inputs/#",
      .processes = {{"hub", hub.process()->pid()},
                    {"router", router.process()->pid()},
                    {"store", store.process()->pid()}}};

  // The anchor: plain mosquitto with the hub's broker settings where they matter, the same TLS
  // certificate, anonymous clients.
  const int anchor_port = testing::FreeLoopbackPort();
  const std::filesystem::path anchor_conf = home.path() / "anchor.conf";
  std::ofstream(anchor_conf) << "per_listener_settings false\nallow_anonymous true\n"
                             << "user " << ::getpwuid(::geteuid())->pw_name
                             << "\nset_tcp_nodelay true\npersistence false\n"
                             << "max_queued_messages 0\nmax_queued_bytes 67108864\n"
                             << "listener " << anchor_port << " 127.0.0.1\ncertfile "
                             << ServerCertPath(CertsDir(home.path())).string() << "\nkeyfile "
                             << ServerKeyPath(CertsDir(home.path())).string() << "\n";
  absl::StatusOr<Subprocess> anchor =
      Subprocess::Start({.argv = {"/usr/sbin/mosquitto", "-c", anchor_conf.string()},
                         .log_file = home.path() / "anchor.log"});
  if (!anchor.ok()) return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Setup plain{.name = "mosquitto",
              .port = anchor_port,
              .cafile = cafile,
              .publisher = {"pub", "", ""},
              .subscriber = {"sub", "", ""},
              .publish_topic = "bench/t",
              .subscribe_filter = "bench/t",
              .processes = {{"mosquitto", anchor->pid()}}};

  std::printf(
      "e2e_bench: %d QoS 1 messages of %zu B, up to %d in flight; then %d msg/s for %d s;"
      " then 20 idle messages\n",
      messages, kBodyBytes, window, rate, seconds);
  const Result anchor_result = Measure(plain, messages, window, rate, seconds);
  const Result edge_result = Measure(edge, messages, window, rate, seconds);
  if (!anchor_result.ok || !edge_result.ok) {
    std::fprintf(stderr, "hub log:\n%s\nrouter log:\n%s\n", hub.Log().c_str(),
                 router.Log().c_str());
    return 1;
  }
  Print(plain, anchor_result);
  Print(edge, edge_result);
  std::printf(
      "ratio edge/mosquitto throughput: %.2f (goal >= 0.5); edge p99 at %d msg/s: %.2f ms"
      " (goal <= 5 ms)\n",
      edge_result.rate / anchor_result.rate, rate, edge_result.p99_us / 1000.0);
  anchor->Stop(absl::Seconds(5));
  return 0;
}

}  // namespace
}  // namespace edge::bench

int main(int argc, char** argv) {
  CLI::App app("module → module through hub, router and store next to plain mosquitto");
  int messages = 20000;
  int window = 500;
  int rate = 1000;
  int seconds = 5;
  app.add_option("--messages", messages, "messages for the throughput run")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--window", window, "unacknowledged publishes at most")
      ->check(CLI::Range(1, 60000));
  app.add_option("--rate", rate, "messages per second for the latency run")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seconds", seconds, "length of the latency run")->check(CLI::Range(1, 600));
  CLI11_PARSE(app, argc, argv);
  mosquitto_lib_init();
  const int rc = edge::bench::Run(messages, window, rate, seconds);
  mosquitto_lib_cleanup();
  return rc;
}
