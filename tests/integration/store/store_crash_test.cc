// Crash test: a client appends batches to the real edge-store while the test SIGKILLs the process
// at random moments. After every restart, every batch the store acknowledged must be present,
// complete and in order, in every queue it went to; a batch in flight at the kill is either all
// there or not at all, and re-sending it (same journal sequence) never duplicates it.
//
// EDGE_CRASH_ROUNDS sets the number of kills (default 25).
#include <chrono>
#include <cstdlib>
#include <random>
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

struct Batch {
  uint64_t first_sequence;
  std::vector<std::string> bodies;
};

int Rounds() {
  const char* env = std::getenv("EDGE_CRASH_ROUNDS");
  return env != nullptr ? std::atoi(env) : 25;
}

v1::AppendMessagesRequest ToRequest(const Batch& batch) {
  AppendBuilder builder;
  builder.Journal("crash-journal", batch.first_sequence);
  for (const std::string& body : batch.bodies) {
    builder.Message(body, {Queue("endpoint-a"), Queue("endpoint-b", 1)});
  }
  return builder.Build();
}

// Everything that was acked, in order, must be exactly what the queue holds, except that the batch
// in flight at the kill may also be there, whole.
void ExpectAckedBatchesIntact(v1::MessageStore::Stub& stub, const v1::QueueId& queue,
                              const std::vector<Batch>& acked, const Batch* in_flight) {
  grpc::Status status;
  std::vector<std::string> stored =
      edge::testing::BodiesOf(edge::testing::ReadToEnd(stub, queue, 1, &status));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> expected;
  for (const Batch& b : acked) expected.insert(expected.end(), b.bodies.begin(), b.bodies.end());
  if (in_flight != nullptr && stored.size() > expected.size()) {
    expected.insert(expected.end(), in_flight->bodies.begin(), in_flight->bodies.end());
  }
  ASSERT_EQ(stored.size(), expected.size()) << "queue " << queue.endpoint();
  for (size_t i = 0; i < stored.size(); ++i) {
    ASSERT_EQ(stored[i], expected[i]) << "queue " << queue.endpoint() << " at " << i;
  }
}

TEST(StoreCrashTest, AckedBatchesSurviveSigkillComplete) {
  edge::testing::TempDir home;
  edge::testing::ServiceProcess store("store", home.path());
  ASSERT_TRUE(store.Start().ok()) << store.Log();
  std::mt19937 random(std::random_device{}());
  std::vector<Batch> acked;
  uint64_t next_sequence = 1;
  int next_body = 0;
  auto make_batch = [&] {
    Batch batch{next_sequence, {}};
    int size = std::uniform_int_distribution<int>(1, 40)(random);
    for (int i = 0; i < size; ++i) batch.bodies.push_back(absl::StrCat("m", next_body++));
    next_sequence += static_cast<uint64_t>(size);
    return batch;
  };
  std::optional<Batch> pending;

  for (int round = 0; round < Rounds(); ++round) {
    auto stub = v1::MessageStore::NewStub(store.Channel());
    // Kill at a random moment while the client appends as fast as it can.
    const auto kill_after =
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(random));
    std::thread killer([&] {
      std::this_thread::sleep_for(kill_after);
      store.Kill();
    });
    size_t acked_this_round = 0;
    while (true) {
      if (!pending.has_value()) pending = make_batch();
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::AppendMessagesResponse response;
      grpc::Status status = stub->AppendMessages(&context, ToRequest(*pending), &response);
      if (!status.ok()) break;  // killed
      ASSERT_EQ(response.appended() + response.duplicates(), pending->bodies.size());
      acked.push_back(*std::move(pending));
      pending.reset();
      ++acked_this_round;
    }
    killer.join();
    ASSERT_TRUE(store.Start().ok()) << "round " << round << ": " << store.Log();
    stub = v1::MessageStore::NewStub(store.Channel());
    for (const v1::QueueId& queue : {Queue("endpoint-a"), Queue("endpoint-b", 1)}) {
      ExpectAckedBatchesIntact(*stub, queue, acked, pending ? &*pending : nullptr);
    }
    // Re-send the batch that was in flight: stored once whether or not it had committed.
    grpc::ClientContext context;
    v1::AppendMessagesResponse response;
    ASSERT_TRUE(stub->AppendMessages(&context, ToRequest(*pending), &response).ok());
    acked.push_back(*std::move(pending));
    pending.reset();
    for (const v1::QueueId& queue : {Queue("endpoint-a"), Queue("endpoint-b", 1)}) {
      ExpectAckedBatchesIntact(*stub, queue, acked, nullptr);
    }
    if (::testing::Test::HasFatalFailure()) return;
    std::printf("round %d: killed after %lld ms, %zu batches acked this round, %zu in all\n", round,
                static_cast<long long>(kill_after.count()), acked_this_round, acked.size());
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(Rounds()));
}

}  // namespace
}  // namespace edge::store
