// store_bench: append throughput of edge-store over gRPC (unix socket) next to the same work done
// directly on SQLite in the same run, with the ratio.
//
//   EDGE_BIN_DIR=build/bin store_bench [--messages N] [--batches 1 10 100 1000]
//
// Work: 256-byte bodies, each message to one queue, batches of 1, 10, 100 and 1000 messages, one
// transaction per batch; then each queue read back in pages of 256 with a checkpoint after each
// page (which deletes what it covers). The anchor writes the same rows (a body and an entry per
// message) with the same pragmas (WAL, synchronous=NORMAL) and prepared statements, without gRPC
// and without the queue bookkeeping.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/sqlite_anchor.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Messages per second appending `total` messages in batches of `batch` through gRPC.
double GrpcAppend(store::v1::MessageStore::Stub& stub, int batch, int total) {
  store::v1::AppendMessagesRequest request;
  request.set_journal_id("bench-" + std::to_string(batch));
  for (int i = 0; i < batch; ++i) {
    store::v1::MessageToAppend* m = request.add_messages();
    m->mutable_message()->set_body(std::string(256, 'x'));
    m->add_queues()->mutable_queue()->set_endpoint("bench-" + std::to_string(batch));
  }
  uint64_t sequence = 1;
  const auto start = Clock::now();
  for (int sent = 0; sent < total; sent += batch) {
    request.set_first_sequence(sequence);
    sequence += static_cast<uint64_t>(batch);
    grpc::ClientContext context;
    store::v1::AppendMessagesResponse response;
    grpc::Status status = stub.AppendMessages(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "append failed: %s\n", status.error_message().c_str());
      return 0;
    }
  }
  return total / Seconds(Clock::now() - start);
}

// Messages per second reading `total` messages back through ReadQueue (pages of 256) and
// checkpointing after each page, from a queue GrpcAppend filled.
double GrpcReadAndCheckpoint(store::v1::MessageStore::Stub& stub, const std::string& endpoint,
                             int total) {
  store::v1::QueueId queue;
  queue.set_endpoint(endpoint);
  const auto start = Clock::now();
  int read = 0;
  while (read < total) {
    grpc::ClientContext context;
    store::v1::ReadQueueRequest request;
    *request.mutable_queue() = queue;
    request.set_stop_at_end(true);
    auto reader = stub.ReadQueue(&context, request);
    store::v1::ReadQueueResponse page;
    while (reader->Read(&page)) {
      if (page.entries().empty()) continue;
      read += page.entries_size();
      grpc::ClientContext checkpoint_context;
      store::v1::CheckpointRequest checkpoint;
      *checkpoint.mutable_queue() = queue;
      checkpoint.set_offset(page.entries(page.entries_size() - 1).offset());
      store::v1::CheckpointResponse done;
      if (!stub.Checkpoint(&checkpoint_context, checkpoint, &done).ok()) return 0;
    }
    if (!reader->Finish().ok()) return 0;
  }
  return read / Seconds(Clock::now() - start);
}

// Calls per second of the gRPC health check on the same channel: the floor any unary RPC pays.
double HealthChecks(const std::shared_ptr<grpc::Channel>& channel, int total) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  const auto start = Clock::now();
  for (int i = 0; i < total; ++i) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckResponse response;
    if (!stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok()) return 0;
  }
  return total / Seconds(Clock::now() - start);
}

int Main(int argc, char** argv) {
  CLI::App app{"edge-store append throughput against direct SQLite"};
  int total = 20000;
  std::vector<int> batches = {1, 10, 100, 1000};
  app.add_option("--messages", total, "messages per batch size (default 20000)");
  app.add_option("--batches", batches, "batch sizes (default 1 10 100 1000)");
  CLI11_PARSE(app, argc, argv);

  edge::testing::TempDir home;
  edge::testing::ServiceProcess store("store", home.path());
  if (absl::Status s = store.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::shared_ptr<grpc::Channel> channel = store.Channel();
  auto stub = store::v1::MessageStore::NewStub(channel);
  std::printf("gRPC floor: %.0f empty health-check calls/s on the same socket\n\n",
              HealthChecks(channel, 5000));
  std::printf("append, 256 B bodies, %d messages per row\n", total);
  std::printf("%8s %16s %16s %8s\n", "batch", "edge-store msg/s", "sqlite msg/s", "ratio");
  int run = 0;
  std::vector<std::pair<std::filesystem::path, int>> anchors;  // filled databases, for reading
  for (int batch : batches) {
    int n = batch == 1 ? std::min(total, 5000) : total;
    double via_store = GrpcAppend(*stub, batch, n);
    std::filesystem::path anchor = home.path() / ("anchor-" + std::to_string(run++) + ".db");
    double direct = DirectAppend(anchor, batch, n);
    anchors.emplace_back(anchor, batch);
    std::printf("%8d %16.0f %16.0f %7.2f\n", batch, via_store, direct, via_store / direct);
  }
  std::printf("\nread then checkpoint, pages of 256, the queues appended above\n");
  std::printf("%8s %16s %16s %8s\n", "queue", "edge-store msg/s", "sqlite msg/s", "ratio");
  for (size_t i = 0; i < batches.size(); ++i) {
    const int batch = batches[i];
    const int n = batch == 1 ? std::min(total, 5000) : total;
    double via_store = GrpcReadAndCheckpoint(*stub, "bench-" + std::to_string(batch), n);
    double direct = DirectReadAndCheckpoint(anchors[i].first, batch, n);
    std::printf("%8s %16.0f %16.0f %7.2f\n", ("bench-" + std::to_string(batch)).c_str(), via_store,
                direct, via_store / direct);
  }
  return 0;
}

}  // namespace
}  // namespace edge::bench

int main(int argc, char** argv) { return edge::bench::Main(argc, argv); }
