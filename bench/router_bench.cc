// router_bench: module -> module throughput through the router and the store (durable), over gRPC
// on unix sockets, next to the direct-SQLite anchor of store_bench measured in the same run, with
// the ratio and the CPU each process spent per message.
//
//   EDGE_BIN_DIR=build/bin router_bench [--messages N] [--batch B] [--inflight K]
//
// Work: the bench starts the real edge-store and edge-router on a temp EDGE_HOME, sets one route
// (FROM /messages/modules/A/* INTO BrokeredEndpoint("/modules/B/inputs/in1")) and plays the hub:
// it streams N messages of 256 B from module A into Ingest in batches of B (K batches waiting for
// their acks at most), and on Attach says module B is present and acknowledges every delivery as
// it arrives. The figure is messages/s from the first Ingest batch to the last delivery
// acknowledged. The router runs with replay_window_seconds = 0, so checkpoints (which delete what
// they cover) are part of the work, as they are in a steady state.
//
// Anchor: the same N messages appended to SQLite directly in transactions of B, then read back
// and deleted page by page (bench/sqlite_anchor.h); "both" is N over the sum of the two times.
// CPU per message is utime+stime from /proc/<pid>/stat over the measured interval.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "bench/router_ingest.h"
#include "bench/sqlite_anchor.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kRoutes[] = R"json({
  "schemaVersion": "1.1",
  "routes": {"toB": "FROM /messages/modules/A/* INTO BrokeredEndpoint(\"/modules/B/inputs/in1\")"}
})json";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The hub's side of Attach: module B present, every delivery acknowledged at once.
class AckingHub {
 public:
  explicit AckingHub(router::v1::Router::Stub& router) {
    stream_ = router.Attach(&context_);
    router::v1::AttachRequest request;
    request.mutable_hello()->set_instance_id("router-bench");
    stream_->Write(request);
    request.Clear();
    request.mutable_presence()->add_modules("B");
    stream_->Write(request);
    reader_ = std::thread([this] {
      router::v1::AttachResponse response;
      while (stream_->Read(&response)) {
        router::v1::AttachRequest results;
        for (const router::v1::Delivery& delivery : response.deliveries()) {
          router::v1::DeliveryResult* result = results.mutable_results()->add_results();
          result->set_delivery_id(delivery.delivery_id());
          result->set_delivered(true);
        }
        stream_->Write(results);
        std::lock_guard<std::mutex> lock(mu_);
        delivered_ += response.deliveries_size();
        changed_.notify_all();
      }
    });
  }
  ~AckingHub() {
    context_.TryCancel();
    reader_.join();
  }

  // Waits until `count` deliveries were acknowledged in total; false after `timeout`.
  bool WaitFor(uint64_t count, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return delivered_ >= count; });
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<router::v1::AttachRequest, router::v1::AttachResponse>>
      stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t delivered_ = 0;
};

int Main(int argc, char** argv) {
  CLI::App app{"module -> module through edge-router and edge-store, against direct SQLite"};
  int total = 100000;
  int batch = 100;
  int inflight = 4;
  app.add_option("--messages", total, "messages measured (default 100000)");
  app.add_option("--batch", batch, "messages per Ingest batch (default 100)");
  app.add_option("--inflight", inflight, "Ingest batches waiting for their ack (default 4)");
  CLI11_PARSE(app, argc, argv);
  total = (total + batch - 1) / batch * batch;

  edge::testing::TempDir home;
  std::ofstream(home.path() / "config.toml") << "[router]\nreplay_window_seconds = 0\n";
  edge::testing::ServiceProcess store("store", home.path());
  edge::testing::ServiceProcess router("router", home.path());
  if (!StartServices({&store, &router})) return 1;
  auto stub = router::v1::Router::NewStub(router.Channel());
  if (!SetRoutesAndWait(*stub, kRoutes)) return 1;

  AckingHub hub(*stub);
  // Warm-up: the router discovers B's queue (within a second) and delivery starts.
  const int warmup = batch * 10;
  const common::v1::Message message = ModuleOutputMessage("edge-device", "A", "out1", 256);
  if (!IngestMessages(*stub, "router-bench", 1, warmup, batch, inflight, message) ||
      !hub.WaitFor(static_cast<uint64_t>(warmup), std::chrono::seconds(30))) {
    std::fprintf(stderr, "warm-up failed:\n%s\n", router.Log().c_str());
    return 1;
  }

  const double router_cpu = CpuSeconds(router.process()->pid());
  const double store_cpu = CpuSeconds(store.process()->pid());
  const double client_cpu = CpuSeconds(getpid());
  const auto start = Clock::now();
  if (!IngestMessages(*stub, "router-bench", static_cast<uint64_t>(warmup) + 1, total, batch,
                      inflight, message)) {
    std::fprintf(stderr, "ingest failed:\n%s\n", router.Log().c_str());
    return 1;
  }
  const double ingest_seconds = Seconds(Clock::now() - start);
  if (!hub.WaitFor(static_cast<uint64_t>(warmup + total), std::chrono::seconds(120))) {
    std::fprintf(stderr, "not every message was delivered:\n%s\n", router.Log().c_str());
    return 1;
  }
  const double seconds = Seconds(Clock::now() - start);
  const double router_us = (CpuSeconds(router.process()->pid()) - router_cpu) / total * 1e6;
  const double store_us = (CpuSeconds(store.process()->pid()) - store_cpu) / total * 1e6;
  const double client_us = (CpuSeconds(getpid()) - client_cpu) / total * 1e6;
  const double through = total / seconds;

  const std::filesystem::path anchor = home.path() / "anchor.db";
  const double append = DirectAppend(anchor, batch, total);
  const double read = DirectReadAndCheckpoint(anchor, batch, total);
  const double both = 1.0 / (1.0 / append + 1.0 / read);

  std::printf(
      "router_bench: %d messages of 256 B, Ingest batches of %d (%d in flight), one route "
      "to one module input, hub acks at once\n\n",
      total, batch, inflight);
  std::printf("%-52s %12.0f msg/s\n", "ingest -> store -> Attach, delivered and acked", through);
  std::printf("%-52s %12.0f msg/s\n", "  of which Ingest acked (stored)", total / ingest_seconds);
  std::printf("%-52s %12.0f msg/s\n", "direct SQLite anchor: append (store_bench)", append);
  std::printf("%-52s %12.0f msg/s\n", "direct SQLite anchor: read + checkpoint", read);
  std::printf("%-52s %12.0f msg/s\n", "direct SQLite anchor: both", both);
  std::printf("%-52s %12.2f\n", "ratio (through the router / anchor both)", through / both);
  std::printf(
      "\nCPU per message: edge-router %.1f us, edge-store %.1f us, bench client (the hub) "
      "%.1f us\n",
      router_us, store_us, client_us);
  return 0;
}

}  // namespace
}  // namespace edge::bench

int main(int argc, char** argv) { return edge::bench::Main(argc, argv); }
