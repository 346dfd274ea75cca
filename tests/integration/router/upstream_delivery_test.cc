// `$upstream` delivery through the UpstreamSink seam: the router's DeliveryManager in process with
// the real edge-store, and a scripted upstream link (the test double of UpstreamLink; the real link
// against a real broker is upstream_link_test.cc).
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "services/router/delivery.h"
#include "services/router/hub_link.h"
#include "services/router/upstream_sink.h"
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
using ::testing::HasSubstr;

// A scripted upstream link: ready while connected; records every send; the test answers them.
class FakeUpstreamLink final : public UpstreamSink {
 public:
  std::string Describe() const override { return "the fake upstream"; }

  State Current() const override {
    absl::MutexLock lock(&mu_);
    State state;
    state.version = version_;
    state.ready = connected_;
    state.session = connected_ ? session_ : 0;
    state.instance = "fake-upstream";
    if (!connected_) state.waiting_for = "upstream disconnected";
    return state;
  }

  void WaitForChange(uint64_t version, absl::Duration timeout) const override {
    absl::MutexLock lock(&mu_);
    auto changed = [this, version]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return version_ != version || interrupted_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  }

  bool Send(common::v1::Message message, SendDone done) override {
    absl::MutexLock lock(&mu_);
    if (!connected_) return false;
    sent_.push_back({message.body(), absl::Now()});
    done_.push_back(std::move(done));
    return true;
  }

  void Interrupt() override {
    absl::MutexLock lock(&mu_);
    interrupted_ = true;
  }

  void Connect() {
    absl::MutexLock lock(&mu_);
    connected_ = true;
    ++session_;
    ++version_;
  }

  struct Sent {
    std::string body;
    absl::Time at;
  };
  // Waits until `count` sends were made in total (10 s at most); returns them all.
  std::vector<Sent> WaitForSends(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sent_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return sent_;
  }
  std::vector<std::string> Bodies() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> bodies;
    for (const Sent& s : sent_) bodies.push_back(s.body);
    return bodies;
  }

  // Answers send number `i` (0-based, in send order).
  void Answer(size_t i, SendOutcome outcome, const std::string& reason = "") {
    SendDone done;
    {
      absl::MutexLock lock(&mu_);
      ASSERT_LT(i, done_.size());
      done = std::move(done_[i]);
    }
    ASSERT_TRUE(done) << "send " << i << " was answered already";
    done(outcome, reason);
  }

 private:
  mutable absl::Mutex mu_;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t session_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
  std::deque<SendDone> done_ ABSL_GUARDED_BY(mu_);
};

class UpstreamDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    queues_ = store::v1::MessageStore::NewStub(store_.Channel());
  }

  void TearDown() override {
    upstream_.Interrupt();
    hub_.Interrupt();
    if (delivery_ != nullptr) delivery_->Stop();
  }

  void StartDelivery(DeliveryOptions options,
                     absl::Duration discovery_interval = absl::Milliseconds(50)) {
    options.replay_window = absl::ZeroDuration();
    options.discovery_interval = discovery_interval;
    delivery_ = std::make_unique<DeliveryManager>(store_.Channel(), &hub_, &upstream_, options);
    delivery_->Start();
  }

  void Append(const AppendBuilder& batch) {
    grpc::ClientContext context;
    store::v1::AppendMessagesResponse response;
    grpc::Status status = queues_->AppendMessages(&context, batch.Build(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  uint64_t Depth() {
    grpc::ClientContext context;
    store::v1::ListQueuesResponse response;
    EXPECT_TRUE(queues_->ListQueues(&context, store::v1::ListQueuesRequest(), &response).ok());
    for (const store::v1::QueueInfo& q : response.queues()) {
      if (q.queue().endpoint() == "$upstream") return q.depth();
    }
    return 0;
  }

  bool WaitForDepth(uint64_t depth) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (Depth() != depth) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  ExecutorStatus UpstreamStatus() { return delivery_->Status()["$upstream default priority"]; }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  std::unique_ptr<store::v1::MessageStore::Stub> queues_;
  HubLink hub_;
  FakeUpstreamLink upstream_;
  std::unique_ptr<DeliveryManager> delivery_;
};

TEST_F(UpstreamDeliveryTest, SendsInOrderManyInFlightAndCheckpointsWhatWasAcknowledged) {
  Append(AppendBuilder().Messages(5, "m", {Queue("$upstream")}));
  StartDelivery({});
  upstream_.Connect();

  // All five go out before any PUBACK.
  ASSERT_EQ(upstream_.WaitForSends(5).size(), 5u);
  EXPECT_THAT(upstream_.Bodies(), ElementsAre("m0", "m1", "m2", "m3", "m4"));
  // PUBACKs in any order: the queue is checkpointed once the whole prefix is answered.
  for (size_t i = 5; i-- > 0;) upstream_.Answer(i, SendOutcome::kDelivered);

  EXPECT_TRUE(WaitForDepth(0)) << Depth();
  EXPECT_EQ(UpstreamStatus().delivered, 5u);
  EXPECT_EQ(UpstreamStatus().state, "delivering");
}

TEST_F(UpstreamDeliveryTest, AQueueJustAppendedToIsServedWithoutWaitingForDiscovery) {
  upstream_.Connect();
  StartDelivery({}, /*discovery_interval=*/absl::Hours(1));
  // Let the first discovery run (at start) and find no queue; the next is an hour away.
  absl::SleepFor(absl::Milliseconds(300));
  const AppendBuilder first = AppendBuilder().Messages(1, "first", {Queue("$upstream")});
  Append(first);

  delivery_->OnAppended(first.Build());  // what the router's Ingest does after the store's commit

  EXPECT_EQ(upstream_.WaitForSends(1).size(), 1u);
  EXPECT_THAT(upstream_.Bodies(), ElementsAre("first0"));
}

TEST_F(UpstreamDeliveryTest, WaitsForTheLinkAndSaysWhy) {
  Append(AppendBuilder().Messages(2, "m", {Queue("$upstream")}));
  StartDelivery({});
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (UpstreamStatus().state != "upstream disconnected" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(UpstreamStatus().state, "upstream disconnected");
  EXPECT_TRUE(upstream_.Bodies().empty());

  upstream_.Connect();

  EXPECT_EQ(upstream_.WaitForSends(2).size(), 2u);
}

TEST_F(UpstreamDeliveryTest, ATransientFailureResendsFromThatMessageAfterABackoff) {
  Append(AppendBuilder().Messages(3, "m", {Queue("$upstream")}));
  DeliveryOptions options;
  options.retry = {.initial = absl::Milliseconds(300), .max = absl::Seconds(1)};
  StartDelivery(options);
  upstream_.Connect();
  ASSERT_EQ(upstream_.WaitForSends(3).size(), 3u);

  upstream_.Answer(0, SendOutcome::kDelivered);
  const absl::Time failed = absl::Now();
  upstream_.Answer(1, SendOutcome::kTransientFailure, "connection lost");

  std::vector<FakeUpstreamLink::Sent> sent = upstream_.WaitForSends(5);
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_THAT(upstream_.Bodies(), ElementsAre("m0", "m1", "m2", "m1", "m2"));
  EXPECT_GE(sent[3].at - failed, absl::Milliseconds(250)) << "resent before the backoff";
  EXPECT_THAT(UpstreamStatus().last_error,
              HasSubstr("not delivered to the fake upstream: connection lost"));
  upstream_.Answer(3, SendOutcome::kDelivered);
  upstream_.Answer(4, SendOutcome::kDelivered);
  EXPECT_TRUE(WaitForDepth(0)) << Depth();
}

TEST_F(UpstreamDeliveryTest, ARejectedMessageIsCountedAndDroppedAndTheRestGoOn) {
  Append(AppendBuilder().Messages(3, "m", {Queue("$upstream")}));
  StartDelivery({});
  upstream_.Connect();
  ASSERT_EQ(upstream_.WaitForSends(3).size(), 3u);

  upstream_.Answer(0, SendOutcome::kDelivered);
  upstream_.Answer(1, SendOutcome::kRejected, "message too large");
  upstream_.Answer(2, SendOutcome::kDelivered);

  EXPECT_TRUE(WaitForDepth(0)) << Depth();
  ExecutorStatus status = UpstreamStatus();
  EXPECT_EQ(status.rejected, 1u);
  EXPECT_EQ(status.delivered, 2u);
  EXPECT_THAT(status.last_error,
              HasSubstr("rejected by the fake upstream (dropped): message too large"));
  EXPECT_EQ(upstream_.Bodies().size(), 3u) << "nothing is sent again";
}

}  // namespace
}  // namespace edge::router
