// backlog: how fast the upstream link drains a backlog queued while the upstream was down, next to
// plain mosquitto QoS 1 pub → sub measured in the same run, and what the store's files do on the
// way (space reclaimed).
//
//   EDGE_BIN_DIR=build/bin backlog [--messages N] [--window W] [--anchor-messages A]
//
// Work: the bench starts the real edge-store and edge-router on a temp EDGE_HOME, the router's
// upstream link pointed at a plain mosquitto that is not running, sets the route
// `FROM /messages/* INTO $upstream` and plays the hub: N messages of 256 B from module A (output
// out1) through Ingest, in batches of 1000. The `$upstream` queue then holds N messages. It starts
// the upstream mosquitto (a persistent subscriber session already waits there, so nothing
// published before the subscriber reconnects is missed) and times the drain: from the upstream's
// start, and from the first to the last message the subscriber gets. The router runs with
// `replay_window_seconds = 0`, so each PUBACK'd entry is checkpointed (deleted) as it goes, and
// with `delivery_window = W` publishes in flight.
//
// Anchor: a second plain mosquitto, one libmosquitto publisher keeping W QoS 1 publishes of the
// same size and topic in flight and one subscriber, A messages; messages/s from the first publish
// to the last arrival. Store files: the database and its WAL after queueing (before), at half
// drained and their peak (during), when drained, and after the store's next compaction (after).
// CPU per message is utime+stime of each process over the drain.
#include <mosquitto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "bench/router_ingest.h"
#include "common/sas.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "services/router/upstream_link.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;
using ::edge::testing::MosquittoBroker;
using ::edge::testing::MqttTestClient;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;

constexpr char kDevice[] = "edge-bench";
constexpr char kRoutes[] = R"json({
  "schemaVersion": "1.1",
  "routes": {"up": "FROM /messages/* INTO $upstream"}
})json";
constexpr int kBodyBytes = 256;
constexpr int kIngestBatch = 1000;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct StoreFiles {
  uint64_t db = 0;
  uint64_t wal = 0;
  uint64_t total() const { return db + wal; }
};

StoreFiles SizesOf(const std::filesystem::path& home) {
  StoreFiles files;
  std::error_code ignored;
  const std::filesystem::path db = home / "data" / "store.db";
  files.db = std::filesystem::file_size(db, ignored);
  if (ignored) files.db = 0;
  files.wal = std::filesystem::file_size(db.string() + "-wal", ignored);
  if (ignored) files.wal = 0;
  return files;
}

std::string Mib(const StoreFiles& files) {
  return absl::StrFormat("db %8.1f MiB + WAL %7.1f MiB = %8.1f MiB", files.db / 1048576.0,
                         files.wal / 1048576.0, files.total() / 1048576.0);
}

uint64_t UpstreamDepth(router::v1::Router::Stub& router) {
  grpc::ClientContext context;
  router::v1::EndpointStatsRequest request;
  request.set_endpoint("$upstream");
  router::v1::EndpointStatsResponse response;
  if (!router.EndpointStats(&context, request, &response).ok()) return UINT64_MAX;
  uint64_t depth = 0;
  for (const router::v1::EndpointQueueStats& q : response.queues()) depth += q.depth();
  return depth;
}

// Plain mosquitto QoS 1 pub → sub: `messages` of `topic` with a 256 B body, `window` in flight.
double AnchorRate(const std::filesystem::path& dir, const std::string& topic, int messages,
                  int window) {
  MosquittoBroker anchor({.dir = dir});
  if (!anchor.Start().ok()) return 0;
  MqttTestClient subscriber({.client_id = "anchor-sub", .port = anchor.port()});
  subscriber.CountOnly();
  MqttTestClient publisher({.client_id = "anchor-pub", .port = anchor.port()});
  if (!subscriber.Subscribe("devices/#") || !publisher.WaitConnected()) return 0;
  const std::string body(kBodyBytes, 'x');
  const auto start = Clock::now();
  for (int sent = 0; sent < messages; ++sent) {
    while (sent - static_cast<int64_t>(publisher.Acked()) >= window) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    publisher.Publish(topic, body);
  }
  testing::WaitUntil([&] { return subscriber.Count() >= static_cast<size_t>(messages); },
                     absl::Seconds(120), absl::Milliseconds(1));
  return messages / Seconds(Clock::now() - start);
}

int Main(int argc, char** argv) {
  CLI::App app{"drain of a $upstream backlog over the upstream link, next to plain mosquitto"};
  int total = 1000000;
  int window = 1000;
  int anchor_messages = 200000;
  app.add_option("--messages", total, "messages queued while the upstream is down (1000000)");
  app.add_option("--window", window,
                 "publishes in flight: the router's delivery_window and the anchor's (1000)");
  app.add_option("--anchor-messages", anchor_messages, "messages of the mosquitto anchor (200000)");
  CLI11_PARSE(app, argc, argv);
  total = (total + kIngestBatch - 1) / kIngestBatch * kIngestBatch;

  TempDir home;
  MosquittoBroker upstream({.dir = home.path() / "upstream", .persistence = true});
  // The subscriber's persistent session, made before the outage.
  if (!upstream.Start().ok()) {
    std::fprintf(stderr, "mosquitto: %s\n", upstream.Log().c_str());
    return 1;
  }
  {
    MqttTestClient checker(
        {.client_id = "backlog-checker", .port = upstream.port(), .clean_session = false});
    if (!checker.Subscribe("devices/#")) return 1;
  }
  upstream.Stop();

  std::ofstream(home.path() / "config.toml")
      << "[device]\nid = \"" << kDevice << "\"\nconnection_string = \"HostName=bench.example;"
      << "DeviceId=" << kDevice << ";SharedAccessKey=" << GenerateSymmetricKey()
      << ";GatewayHostName=127.0.0.1\"\n"
      << "[store]\nmax_bytes = 0\n"
      << "[router]\nreplay_window_seconds = 0\ndelivery_window = " << window
      << "\nupstream_port = " << upstream.port()
      << "\nupstream_plain = true\nupstream_retry_initial_seconds = 0.1\n"
      << "upstream_retry_max_seconds = 0.2\n";
  ServiceProcess store("store", home.path());
  ServiceProcess router("router", home.path());
  if (!StartServices({&store, &router})) return 1;
  auto stub = router::v1::Router::NewStub(router.Channel());
  if (!SetRoutesAndWait(*stub, kRoutes)) return 1;

  const common::v1::Message message = ModuleOutputMessage(kDevice, "A", "out1", kBodyBytes);
  const std::string topic = router::UpstreamTopic(kDevice, message);

  std::printf("backlog: queueing %d messages of %d B for $upstream (upstream down)...\n", total,
              kBodyBytes);
  std::fflush(stdout);
  const auto ingest_start = Clock::now();
  if (!IngestMessages(*stub, "backlog", 1, total, kIngestBatch, 4, message)) {
    std::fprintf(stderr, "ingest failed:\n%s\n", router.Log().c_str());
    return 1;
  }
  const double ingest_seconds = Seconds(Clock::now() - ingest_start);
  if (!testing::WaitUntil([&] { return UpstreamDepth(*stub) == static_cast<uint64_t>(total); },
                          absl::Seconds(30))) {
    std::fprintf(stderr, "the $upstream queue does not hold %d messages\n", total);
    return 1;
  }
  const StoreFiles before = SizesOf(home.path());

  const double router_cpu = CpuSeconds(router.process()->pid());
  const double store_cpu = CpuSeconds(store.process()->pid());
  const auto drain_start = Clock::now();
  if (!upstream.Start().ok()) {
    std::fprintf(stderr, "mosquitto: %s\n", upstream.Log().c_str());
    return 1;
  }
  const double broker_cpu_start = CpuSeconds(upstream.pid());
  MqttTestClient checker(
      {.client_id = "backlog-checker", .port = upstream.port(), .clean_session = false});
  checker.CountOnly();
  std::atomic<int64_t> first_arrival_ns{0};
  std::atomic<int64_t> last_arrival_ns{0};
  checker.OnEachMessage([&](const mosquitto_message&) {
    const int64_t now = Clock::now().time_since_epoch().count();
    int64_t unset = 0;
    first_arrival_ns.compare_exchange_strong(unset, now);
    last_arrival_ns = now;
  });

  StoreFiles half, peak;
  bool half_seen = false;
  while (checker.Count() < static_cast<size_t>(total)) {
    const StoreFiles now = SizesOf(home.path());
    if (now.total() > peak.total()) peak = now;
    if (!half_seen && checker.Count() >= static_cast<size_t>(total / 2)) {
      half = now;
      half_seen = true;
    }
    if (Seconds(Clock::now() - drain_start) > 1200) {
      std::fprintf(stderr, "the drain did not finish in 20 minutes (%zu of %d)\n", checker.Count(),
                   total);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double drain_seconds = Seconds(Clock::now() - drain_start);
  const double arrivals_seconds = static_cast<double>(last_arrival_ns - first_arrival_ns) / 1e9;
  const double router_us = (CpuSeconds(router.process()->pid()) - router_cpu) / total * 1e6;
  const double store_us = (CpuSeconds(store.process()->pid()) - store_cpu) / total * 1e6;
  const double broker_us = (CpuSeconds(upstream.pid()) - broker_cpu_start) / total * 1e6;
  testing::WaitUntil([&] { return UpstreamDepth(*stub) == 0; }, absl::Seconds(30));
  const StoreFiles drained = SizesOf(home.path());
  // The store truncates its WAL and returns free pages every compact_interval_seconds (10).
  std::this_thread::sleep_for(std::chrono::seconds(12));
  const StoreFiles after = SizesOf(home.path());
  const size_t received = checker.Count();

  const double anchor =
      AnchorRate(home.path() / "anchor", topic, std::min(anchor_messages, total), window);
  const double drain_rate = total / drain_seconds;
  const double arrival_rate = arrivals_seconds > 0 ? (total - 1) / arrivals_seconds : 0;

  std::printf(
      "\nbacklog: %d messages of %d B queued for $upstream while the upstream was down "
      "(Ingest: %.0f msg/s), then drained over the upstream link (MQTT 3.1.1, QoS 1, %d in "
      "flight, plain TCP on loopback) to one subscriber; anchor: plain mosquitto pub -> sub, "
      "QoS 1, %d in flight, same topic and body, %d messages\n\n",
      total, kBodyBytes, total / ingest_seconds, window, window, std::min(anchor_messages, total));
  std::printf("%-56s %12.0f msg/s\n", "drain, upstream start -> last arrival", drain_rate);
  std::printf("%-56s %12.0f msg/s\n", "drain, first -> last arrival", arrival_rate);
  std::printf("%-56s %12.0f msg/s\n", "plain mosquitto QoS 1 pub -> sub (anchor)", anchor);
  std::printf("%-56s %12.2f\n", "ratio (drain first -> last / anchor)",
              anchor > 0 ? arrival_rate / anchor : 0);
  std::printf("%-56s %12zu (%zu duplicates)\n", "messages received", received,
              received - static_cast<size_t>(total));
  std::printf("\nstore files (data/store.db and its WAL):\n");
  std::printf("  %-22s %s\n", "before (queued)", Mib(before).c_str());
  std::printf("  %-22s %s\n", "during (half drained)", Mib(half).c_str());
  std::printf("  %-22s %s\n", "during (peak)", Mib(peak).c_str());
  std::printf("  %-22s %s\n", "drained", Mib(drained).c_str());
  std::printf("  %-22s %s\n", "after compaction", Mib(after).c_str());
  std::printf(
      "\nCPU per message during the drain: edge-router %.1f us, edge-store %.1f us, upstream "
      "mosquitto %.1f us\n",
      router_us, store_us, broker_us);
  return 0;
}

}  // namespace
}  // namespace edge::bench

int main(int argc, char** argv) {
  mosquitto_lib_init();
  const int rc = edge::bench::Main(argc, argv);
  mosquitto_lib_cleanup();
  return rc;
}
