// Delivery to module inputs over Attach, with the real edge-store and edge-router and a test client
// playing the hub. Messages are appended straight to the store's queues (as Ingest would after
// routing), so these tests are about delivery only.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "edge/metrics/v1/metrics.grpc.pb.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/queue_test_builders.h"

namespace edge::router {
namespace {

using ::edge::store::testing::AppendBuilder;
using ::edge::store::testing::Queue;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kInputB[] = R"(BrokeredEndpoint("/modules/B/inputs/in1"))";
constexpr char kInputC[] = R"(BrokeredEndpoint("/modules/C/inputs/data"))";

// The hub's side of Attach: deliveries are collected by a reader thread; the test answers them.
class FakeHub {
 public:
  FakeHub(v1::Router::Stub& router, const std::string& instance_id) {
    stream_ = router.Attach(&context_);
    v1::AttachRequest hello;
    hello.mutable_hello()->set_instance_id(instance_id);
    stream_->Write(hello);
    reader_ = std::thread([this] {
      v1::AttachResponse response;
      while (stream_->Read(&response)) {
        absl::MutexLock lock(&mu_);
        for (const v1::Delivery& delivery : response.deliveries()) received_.push_back(delivery);
      }
      absl::MutexLock lock(&mu_);
      ended_ = true;
    });
  }
  ~FakeHub() {
    context_.TryCancel();
    reader_.join();
  }

  void Present(const std::vector<std::string>& modules) {
    v1::AttachRequest request;
    request.mutable_presence();  // an empty set is a presence too
    for (const std::string& m : modules) request.mutable_presence()->add_modules(m);
    stream_->Write(request);
  }
  void Answer(uint64_t delivery_id, bool delivered) {
    v1::AttachRequest request;
    v1::DeliveryResult* result = request.mutable_results()->add_results();
    result->set_delivery_id(delivery_id);
    result->set_delivered(delivered);
    if (!delivered) result->set_reason("module not connected");
    stream_->Write(request);
  }

  // Waits until `count` deliveries have arrived (in total); returns all of them.
  std::vector<v1::Delivery> WaitFor(size_t count, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return received_.size() >= count || ended_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return received_;
  }
  std::vector<v1::Delivery> Received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  // Waits for the stream to end and returns its status.
  grpc::Status Finish() {
    reader_.join();
    reader_ = std::thread([] {});
    return stream_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AttachRequest, v1::AttachResponse>> stream_;
  std::thread reader_;
  absl::Mutex mu_;
  std::vector<v1::Delivery> received_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

// Acknowledges every delivery as it arrives until `count` have come (or 10 s passed); returns
// them all.
std::vector<v1::Delivery> AckUntil(FakeHub& hub, size_t count) {
  size_t answered = 0;
  std::vector<v1::Delivery> got;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (answered < count && absl::Now() < deadline) {
    got = hub.WaitFor(answered + 1, absl::Milliseconds(200));
    for (; answered < got.size(); ++answered) hub.Answer(got[answered].delivery_id(), true);
  }
  return hub.Received();
}

std::vector<std::string> Bodies(const std::vector<v1::Delivery>& deliveries,
                                const std::string& module) {
  std::vector<std::string> bodies;
  for (const v1::Delivery& d : deliveries) {
    if (d.module() == module) bodies.push_back(d.message().body());
  }
  return bodies;
}

class AttachTest : public ::testing::Test {
 protected:
  void Start(const std::string& router_config) {
    std::ofstream(home_.path() / "config.toml")
        << "[router]\ndelivery_retry_initial_seconds = 0.05\ndelivery_retry_max_seconds = 0.2\n"
        << router_config;
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    ASSERT_TRUE(router_.Start().ok()) << router_.Log();
    router_stub_ = v1::Router::NewStub(router_.Channel());
    queues_ = store::v1::MessageStore::NewStub(store_.Channel());
  }

  void TearDown() override {
    if (HasFailure()) std::printf("router log:\n%s\n", router_.Log().c_str());
  }

  void Append(const AppendBuilder& batch) {
    grpc::ClientContext context;
    store::v1::AppendMessagesResponse response;
    grpc::Status status = queues_->AppendMessages(&context, batch.Build(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The queue's depth in the store (entries after its checkpoint).
  uint64_t Depth(const std::string& endpoint) {
    grpc::ClientContext context;
    store::v1::ListQueuesResponse response;
    EXPECT_TRUE(queues_->ListQueues(&context, store::v1::ListQueuesRequest(), &response).ok());
    for (const store::v1::QueueInfo& q : response.queues()) {
      if (q.queue().endpoint() == endpoint) return q.depth();
    }
    return 0;
  }

  // The router's stats of every queue of `endpoint`, by priority (-1: the default priority).
  std::map<int, v1::EndpointQueueStats> Stats(const std::string& endpoint) {
    grpc::ClientContext context;
    v1::EndpointStatsRequest request;
    request.set_endpoint(endpoint);
    v1::EndpointStatsResponse response;
    grpc::Status status = router_stub_->EndpointStats(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<int, v1::EndpointQueueStats> by_priority;
    for (const v1::EndpointQueueStats& q : response.queues()) {
      by_priority[q.has_priority() ? static_cast<int>(q.priority()) : -1] = q;
    }
    return by_priority;
  }

  // Waits until `done(Stats(endpoint))` holds; false after 10 s.
  bool WaitForStats(const std::string& endpoint,
                    const std::function<bool(std::map<int, v1::EndpointQueueStats>&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (true) {
      std::map<int, v1::EndpointQueueStats> stats = Stats(endpoint);
      if (done(stats)) return true;
      if (absl::Now() > deadline) {
        for (const auto& [priority, q] : stats) {
          ADD_FAILURE() << "priority " << priority << ": " << q.DebugString();
        }
        return false;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  // Waits until the store has sent `count` entries on ReadQueue streams in total (the executors
  // hold what they read while their module is absent); false after 10 s.
  bool WaitForStoreReads(int count) {
    auto metrics = metrics::v1::Metrics::NewStub(store_.Channel());
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      grpc::ClientContext context;
      metrics::v1::GetMetricsResponse response;
      if (metrics->GetMetrics(&context, metrics::v1::GetMetricsRequest(), &response).ok()) {
        const std::string key = "edge_store_read_entries_total ";
        const size_t at = response.text().find("\n" + key);
        if (at != std::string::npos &&
            std::stoll(response.text().substr(at + 1 + key.size())) >= count) {
          return true;
        }
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  bool WaitForDepth(const std::string& endpoint, uint64_t depth) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (Depth(endpoint) != depth) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess router_{"router", home_.path()};
  std::unique_ptr<v1::Router::Stub> router_stub_;
  std::unique_ptr<store::v1::MessageStore::Stub> queues_;
};

TEST_F(AttachTest, DeliversInOrderOnlyToPresentModulesAndCheckpointsWhatWasAcked) {
  Start("replay_window_seconds = 0\n");
  Append(AppendBuilder().Messages(5, "b", {Queue(kInputB)}).Messages(3, "c", {Queue(kInputC)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({"B"});

  std::vector<v1::Delivery> got = hub.WaitFor(5);
  absl::SleepFor(absl::Milliseconds(300));  // C is not present: nothing of it may come

  EXPECT_THAT(Bodies(hub.Received(), "B"), ElementsAre("b0", "b1", "b2", "b3", "b4"));
  EXPECT_THAT(Bodies(hub.Received(), "C"), IsEmpty());
  EXPECT_EQ(got[0].input(), "in1");
  for (const v1::Delivery& d : got) hub.Answer(d.delivery_id(), true);
  EXPECT_TRUE(WaitForDepth(kInputB, 0)) << Depth(kInputB);
  EXPECT_EQ(Depth(kInputC), 3u);

  // C appears: its queue drains, in order.
  hub.Present({"B", "C"});
  hub.WaitFor(8);
  EXPECT_THAT(Bodies(hub.Received(), "C"), ElementsAre("c0", "c1", "c2"));
  EXPECT_EQ(hub.Received().back().input(), "data");
}

TEST_F(AttachTest, NotDeliveredRewindsToTheFirstUnackedAndRetriesInOrder) {
  Start("replay_window_seconds = 0\n");
  Append(AppendBuilder().Messages(4, "m", {Queue(kInputB)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({"B"});
  std::vector<v1::Delivery> first = hub.WaitFor(4);
  ASSERT_EQ(first.size(), 4u);

  hub.Answer(first[0].delivery_id(), true);
  hub.Answer(first[1].delivery_id(), false);  // m1 could not be handed to the broker

  std::vector<v1::Delivery> all = hub.WaitFor(7);
  EXPECT_THAT(Bodies(all, "B"), ElementsAre("m0", "m1", "m2", "m3", "m1", "m2", "m3"));
  for (size_t i = 4; i < all.size(); ++i) hub.Answer(all[i].delivery_id(), true);
  EXPECT_TRUE(WaitForDepth(kInputB, 0)) << Depth(kInputB);
}

TEST_F(AttachTest, AtMostTheWindowIsInFlight) {
  Start("replay_window_seconds = 0\ndelivery_window = 2\n");
  Append(AppendBuilder().Messages(5, "m", {Queue(kInputB)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({"B"});

  std::vector<v1::Delivery> got = hub.WaitFor(2);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(hub.Received().size(), 2u);

  hub.Answer(got[0].delivery_id(), true);
  EXPECT_THAT(Bodies(hub.WaitFor(3), "B"), ElementsAre("m0", "m1", "m2"));
}

TEST_F(AttachTest, AHubWithANewInstanceIdGetsTheReplayWindowAgain) {
  Start("replay_window_seconds = 60\n");
  Append(AppendBuilder().Messages(3, "m", {Queue(kInputB)}));
  {
    FakeHub hub(*router_stub_, "hub-1");
    hub.Present({"B"});
    for (const v1::Delivery& d : hub.WaitFor(3)) hub.Answer(d.delivery_id(), true);
    absl::SleepFor(absl::Milliseconds(300));
  }
  // Acked, but within the replay window: not checkpointed yet.
  EXPECT_EQ(Depth(kInputB), 3u);

  // The same broker reattaching does not get them again.
  {
    FakeHub same(*router_stub_, "hub-1");
    same.Present({"B"});
    absl::SleepFor(absl::Milliseconds(500));
    EXPECT_THAT(same.Received(), IsEmpty());
  }
  // A restarted broker (new instance id) does: it may have lost them.
  FakeHub restarted(*router_stub_, "hub-2");
  restarted.Present({"B"});
  EXPECT_THAT(Bodies(restarted.WaitFor(3), "B"), ElementsAre("m0", "m1", "m2"));
}

TEST_F(AttachTest, ANewerAttachReplacesTheOlderOne) {
  Start("");
  FakeHub old_hub(*router_stub_, "hub-1");
  absl::SleepFor(absl::Milliseconds(100));
  FakeHub new_hub(*router_stub_, "hub-1");

  grpc::Status ended = old_hub.Finish();

  EXPECT_EQ(ended.error_code(), grpc::StatusCode::ABORTED) << ended.error_message();
}

TEST_F(AttachTest, EndpointStatsSayWhatEachQueueIsDoing) {
  Start("replay_window_seconds = 0\n");
  Append(AppendBuilder()
             .Messages(2, "b", {Queue(kInputB)})
             .Messages(3, "c", {Queue(kInputC)})
             .Messages(1, "u", {Queue("$upstream")}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({"B"});
  std::vector<v1::Delivery> got = hub.WaitFor(2);
  hub.Answer(got[0].delivery_id(), true);
  hub.Answer(got[1].delivery_id(), false);  // rewinds: b1 comes again
  std::vector<v1::Delivery> again = hub.WaitFor(3);
  hub.Answer(again[2].delivery_id(), true);
  ASSERT_TRUE(WaitForDepth(kInputB, 0));

  grpc::ClientContext context;
  v1::EndpointStatsResponse stats;
  ASSERT_TRUE(router_stub_->EndpointStats(&context, v1::EndpointStatsRequest(), &stats).ok());

  std::map<std::string, v1::EndpointQueueStats> by_endpoint;
  for (const v1::EndpointQueueStats& q : stats.queues()) by_endpoint[q.endpoint()] = q;
  ASSERT_EQ(by_endpoint.size(), 3u);
  EXPECT_EQ(by_endpoint[kInputB].state(), "delivering");
  EXPECT_EQ(by_endpoint[kInputB].delivered(), 2u);
  EXPECT_EQ(by_endpoint[kInputB].depth(), 0u);
  EXPECT_THAT(by_endpoint[kInputB].last_error(),
              ::testing::HasSubstr("not delivered to module B: module not connected"));
  EXPECT_EQ(by_endpoint[kInputB].rejected(), 0u);
  EXPECT_EQ(by_endpoint[kInputC].state(), "waiting for module C");
  EXPECT_EQ(by_endpoint[kInputC].depth(), 3u);
  EXPECT_GT(by_endpoint[kInputC].oldest_appended_unix_ms(), 0);
  EXPECT_EQ(by_endpoint["$upstream"].state(), "no upstream link configured");
  EXPECT_EQ(by_endpoint["$upstream"].depth(), 1u);
}

// kill -9 of the store while deliveries are in progress: nothing acknowledged is lost, everything
// is delivered once the store is back (duplicates allowed), in order per queue.
TEST_F(AttachTest, AStoreKilledMidDeliveryLosesNothing) {
  Start(
      "replay_window_seconds = 0\ndelivery_window = 5\nstore_retry_initial_seconds = 0.02\n"
      "store_retry_max_seconds = 0.2\n");
  Append(AppendBuilder().Messages(20, "m", {Queue(kInputB)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({"B"});
  std::vector<v1::Delivery> first = hub.WaitFor(5);
  for (const v1::Delivery& d : first) hub.Answer(d.delivery_id(), true);

  store_.Kill();
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(store_.Start().ok()) << store_.Log();
  queues_ = store::v1::MessageStore::NewStub(store_.Channel());

  // Acknowledge whatever arrives until every message was seen.
  std::vector<std::string> seen;
  size_t answered = first.size();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    std::vector<v1::Delivery> got = hub.WaitFor(answered + 1, absl::Milliseconds(200));
    for (; answered < got.size(); ++answered) hub.Answer(got[answered].delivery_id(), true);
    seen = Bodies(got, "B");
    if (Depth(kInputB) == 0) break;
  }
  EXPECT_EQ(Depth(kInputB), 0u);
  // Every message arrived (some twice: what was in flight when the store died goes again).
  for (int i = 0; i < 20; ++i) {
    const std::string body = absl::StrCat("m", i);
    EXPECT_NE(std::find(seen.begin(), seen.end(), body), seen.end()) << body;
  }
  std::printf("%zu deliveries for 20 messages across a store kill\n", seen.size());
}

// Priorities: one queue per endpoint × priority, the better one served first.
TEST_F(AttachTest, HigherPriorityIsDeliveredFirstWhenTheModuleAppears) {
  Start("replay_window_seconds = 0\n");
  // The default priority is appended first: store order is not what decides.
  Append(AppendBuilder().Messages(5, "low", {Queue(kInputB)}));
  Append(AppendBuilder().Messages(5, "high", {Queue(kInputB, 0)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({});
  ASSERT_TRUE(WaitForStats(kInputB, [](auto& stats) {
    return stats.size() == 2 && stats[0].state() == "waiting for module B" &&
           stats[-1].state() == "waiting for module B";
  }));
  ASSERT_TRUE(WaitForStoreReads(10));  // both executors hold their queue (they read while waiting)

  hub.Present({"B"});

  EXPECT_THAT(Bodies(AckUntil(hub, 10), "B"),
              ElementsAre("high0", "high1", "high2", "high3", "high4", "low0", "low1", "low2",
                          "low3", "low4"));
}

TEST_F(AttachTest, ALowerPriorityStillProgressesUnderASteadyHigherPriorityLoad) {
  Start("replay_window_seconds = 0\ndelivery_window = 1\npriority_max_passed_over = 5\n");
  Append(AppendBuilder().Messages(3, "low", {Queue(kInputB, 7)}));
  Append(AppendBuilder().Messages(200, "high", {Queue(kInputB, 1)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({});
  ASSERT_TRUE(WaitForStats(kInputB, [](auto& stats) { return stats.size() == 2; }));
  ASSERT_TRUE(WaitForStoreReads(3 + 64));  // the low queue and a first page of the high one

  hub.Present({"B"});
  std::vector<v1::Delivery> got = AckUntil(hub, 40);

  // One slot in every six goes to the waiting lower priority: its three are among the first 40
  // deliveries, long before the 200 of the higher priority are through.
  std::vector<std::string> bodies = Bodies(got, "B");
  ASSERT_GE(bodies.size(), 40u);
  bodies.resize(40);
  EXPECT_EQ(std::count_if(bodies.begin(), bodies.end(),
                          [](const std::string& b) { return b.rfind("low", 0) == 0; }),
            3)
      << ::testing::PrintToString(bodies);
  EXPECT_EQ(bodies.front(), "high0");
}

// TTL: an entry that expires before its module appears is counted and never sent.
TEST_F(AttachTest, AnEntryWhoseTtlPassesWhileItsModuleIsAbsentIsCountedAsExpired) {
  Start("replay_window_seconds = 0\n");
  Append(AppendBuilder()
             .Message("short", {Queue(kInputB)}, /*ttl_seconds=*/1)
             .Message("forever", {Queue(kInputB)}, /*ttl_seconds=*/0));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({});

  ASSERT_TRUE(WaitForStats(kInputB, [](auto& stats) {
    return stats[-1].expired() == 1 && stats[-1].state() == "waiting for module B";
  })) << Stats(kInputB)[-1].DebugString();
  hub.Present({"B"});

  EXPECT_THAT(Bodies(AckUntil(hub, 1), "B"), ElementsAre("forever"));
  EXPECT_TRUE(WaitForDepth(kInputB, 0));
  EXPECT_EQ(Stats(kInputB)[-1].expired(), 1u);
  EXPECT_THAT(Bodies(hub.Received(), "B"), ElementsAre("forever"));
}

// $upstream has an executor too; without an upstream link its queues wait (until their TTL).
TEST_F(AttachTest, UpstreamQueuesWaitForAnUpstreamLinkAndSaySo) {
  Start("");
  Append(AppendBuilder()
             .Messages(2, "up", {Queue("$upstream")})
             .Messages(1, "hot", {Queue("$upstream", 0)}));
  FakeHub hub(*router_stub_, "hub-1");
  hub.Present({"B"});

  ASSERT_TRUE(WaitForStats("$upstream", [](auto& stats) {
    return stats.size() == 2 && stats[-1].state() == "no upstream link configured" &&
           stats[0].state() == "no upstream link configured";
  }));
  std::map<int, v1::EndpointQueueStats> stats = Stats("$upstream");
  EXPECT_EQ(stats[-1].last_error(), "no upstream link configured");
  EXPECT_EQ(stats[-1].depth(), 2u);
  EXPECT_EQ(stats[0].depth(), 1u);
  EXPECT_EQ(stats[-1].delivered(), 0u);
  EXPECT_THAT(hub.Received(), IsEmpty());
}

TEST_F(AttachTest, TheFirstRequestMustBeHello) {
  Start("");
  grpc::ClientContext context;
  auto stream = router_stub_->Attach(&context);
  v1::AttachRequest presence;
  presence.mutable_presence()->add_modules("B");
  stream->Write(presence);
  stream->WritesDone();
  v1::AttachResponse ignored;
  while (stream->Read(&ignored)) {
  }
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("must be hello"));
}

}  // namespace
}  // namespace edge::router
