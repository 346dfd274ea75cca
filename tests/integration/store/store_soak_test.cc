// Soak: edge-store appends and consumes continuously while expired entries are reclaimed; the
// database and WAL sizes must level off instead of growing. Label `slow`.
//
// EDGE_SOAK_SECONDS sets the run time (default 60).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/service_process.h"
#include "tests/support/store_client.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/queue_test_builders.h"

namespace edge::store {
namespace {

using ::edge::store::testing::AppendBuilder;
using ::edge::store::testing::Queue;
using Clock = std::chrono::steady_clock;

int SoakSeconds() {
  const char* env = std::getenv("EDGE_SOAK_SECONDS");
  return env != nullptr ? std::atoi(env) : 60;
}

uint64_t FileSize(const std::filesystem::path& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

TEST(StoreSoakTest, DatabaseAndWalSizesLevelOff) {
  edge::testing::TempDir home;
  std::ofstream(home.path() / "config.toml")
      << "[store]\nreclaim_interval_seconds = 0.2\ncompact_interval_seconds = 1\n";
  edge::testing::ServiceProcess store("store", home.path());
  ASSERT_TRUE(store.Start().ok()) << store.Log();
  auto stub = v1::MessageStore::NewStub(store.Channel());
  const std::filesystem::path db = home.path() / "data/store.db";
  std::filesystem::path wal = db;
  wal += "-wal";

  const auto end = Clock::now() + std::chrono::seconds(SoakSeconds());
  auto next_sample = Clock::now() + std::chrono::seconds(2);
  std::vector<uint64_t> samples;
  uint64_t consumed = 0;
  uint64_t appended = 0;
  int batch_number = 0;
  while (Clock::now() < end) {
    // 100 messages of 256 B to a consumed queue; every tenth batch also to a queue nobody reads,
    // with a 1 s TTL, which only reclamation can empty.
    AppendBuilder batch;
    const bool also_expiring = ++batch_number % 10 == 0;
    for (int i = 0; i < 100; ++i) {
      std::vector<v1::QueueId> queues = {Queue("consumed")};
      if (also_expiring) queues.push_back(Queue("expiring"));
      batch.Message(std::string(256, 'x'), queues, also_expiring ? 1 : 0);
    }
    grpc::ClientContext context;
    v1::AppendMessagesResponse response;
    grpc::Status status = stub->AppendMessages(&context, batch, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    appended += response.appended();
    // Consume what is there and checkpoint it.
    std::vector<v1::QueueEntry> entries = edge::testing::ReadToEnd(*stub, Queue("consumed"), 0);
    if (!entries.empty()) {
      grpc::ClientContext checkpoint_context;
      v1::CheckpointRequest checkpoint;
      *checkpoint.mutable_queue() = Queue("consumed");
      checkpoint.set_offset(entries.back().offset());
      v1::CheckpointResponse done;
      ASSERT_TRUE(stub->Checkpoint(&checkpoint_context, checkpoint, &done).ok());
      consumed += entries.size();
    }
    if (Clock::now() >= next_sample) {
      next_sample += std::chrono::seconds(2);
      samples.push_back(FileSize(db) + FileSize(wal));
      std::printf("t=%2zus  database %8llu B  wal %8llu B  appended %llu consumed %llu\n",
                  samples.size() * 2, static_cast<unsigned long long>(FileSize(db)),
                  static_cast<unsigned long long>(FileSize(wal)),
                  static_cast<unsigned long long>(appended),
                  static_cast<unsigned long long>(consumed));
    }
  }
  ASSERT_GE(samples.size(), 4u);
  const size_t half = samples.size() / 2;
  const uint64_t first_half_max = *std::max_element(samples.begin(), samples.begin() + half);
  const uint64_t second_half_max = *std::max_element(samples.begin() + half, samples.end());
  std::printf(
      "appended %llu messages; largest database+wal: first half %llu B, second half %llu B\n",
      static_cast<unsigned long long>(appended), static_cast<unsigned long long>(first_half_max),
      static_cast<unsigned long long>(second_half_max));
  // Without reclamation the files would grow with every message appended (tens of MB here).
  EXPECT_LE(second_half_max, first_half_max * 3 / 2 + (1 << 20));
  EXPECT_GT(appended, 10000u);
}

}  // namespace
}  // namespace edge::store
