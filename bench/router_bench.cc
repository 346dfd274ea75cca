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

// utime + stime of `pid` in seconds; 0 when it cannot be read.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

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

// Streams `total` messages from module A into Ingest in batches of `batch` (journal sequences
// from `first_sequence`), at most `inflight` batches unacknowledged. Returns false on a failure.
bool Ingest(router::v1::Router::Stub& router, uint64_t first_sequence, int total, int batch,
            int inflight) {
  grpc::ClientContext context;
  auto stream = router.Ingest(&context);
  const int batches = (total + batch - 1) / batch;
  std::mutex mu;
  std::condition_variable acked_cv;
  int acked = 0;
  bool failed = false;
  std::thread reader([&] {
    router::v1::IngestResponse response;
    for (int i = 0; i < batches; ++i) {
      const bool ok = stream->Read(&response) && response.has_ack();
      std::lock_guard<std::mutex> lock(mu);
      if (!ok) {
        failed = true;
        acked_cv.notify_all();
        return;
      }
      ++acked;
      acked_cv.notify_all();
    }
  });
  router::v1::IngestRequest request;
  router::v1::IngestBatch* out = request.mutable_batch();
  out->set_journal_id("router-bench");
  common::v1::Message message;
  message.set_body(std::string(256, 'x'));
  message.mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  message.mutable_source()->set_device_id("edge-device");
  message.mutable_source()->set_module_id("A");
  message.mutable_source()->set_output_name("out1");
  for (int i = 0; i < batch; ++i) *out->add_messages() = message;
  uint64_t sequence = first_sequence;
  for (int b = 0; b < batches; ++b) {
    {
      std::unique_lock<std::mutex> lock(mu);
      acked_cv.wait(lock, [&] { return failed || b - acked < inflight; });
      if (failed) break;
    }
    out->set_first_sequence(sequence);
    sequence += static_cast<uint64_t>(batch);
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  reader.join();
  stream->Finish();
  return !failed && acked == batches;
}

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
  for (auto* service : {&store, &router}) {
    if (absl::Status s = service->Start(); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  auto stub = router::v1::Router::NewStub(router.Channel());
  {
    grpc::ClientContext context;
    router::v1::SetRoutesRequest request;
    request.set_desired_json(kRoutes);
    router::v1::SetRoutesResponse response;
    grpc::Status status = stub->SetRoutes(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "SetRoutes: %s\n", status.error_message().c_str());
      return 1;
    }
    // In force once GetRoutes shows that version (the router then persists it; give it a moment
    // so the measurement does not start with the router's own store writes).
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (true) {
      grpc::ClientContext get;
      router::v1::GetRoutesResponse routes;
      if (stub->GetRoutes(&get, router::v1::GetRoutesRequest(), &routes).ok() &&
          routes.config().desired_version() == response.desired_version()) {
        break;
      }
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "the routes never came into force\n");
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  AckingHub hub(*stub);
  // Warm-up: the router discovers B's queue (within a second) and delivery starts.
  const int warmup = batch * 10;
  if (!Ingest(*stub, 1, warmup, batch, inflight) ||
      !hub.WaitFor(static_cast<uint64_t>(warmup), std::chrono::seconds(30))) {
    std::fprintf(stderr, "warm-up failed:\n%s\n", router.Log().c_str());
    return 1;
  }

  const double router_cpu = CpuSeconds(router.process()->pid());
  const double store_cpu = CpuSeconds(store.process()->pid());
  const double client_cpu = CpuSeconds(getpid());
  const auto start = Clock::now();
  if (!Ingest(*stub, static_cast<uint64_t>(warmup) + 1, total, batch, inflight)) {
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
