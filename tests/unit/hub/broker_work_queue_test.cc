#include "services/hub/plugin/broker_work_queue.h"

#include <vector>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::hub {
namespace {

using ::testing::ElementsAre;
using PostResult = BrokerWorkQueue::PostResult;

class BrokerWorkQueueTest : public ::testing::Test {
 protected:
  FakeClock clock_{absl::FromUnixSeconds(1000)};
  BrokerWorkQueue queue_{&clock_};
};

TEST_F(BrokerWorkQueueTest, OnlyThePostIntoAnEmptyQueueAsksForAWakeUp) {
  EXPECT_EQ(queue_.Post([](absl::Duration) {}), PostResult::kFirst);
  EXPECT_EQ(queue_.Post([](absl::Duration) {}), PostResult::kQueued);
  queue_.Drain();
  EXPECT_EQ(queue_.Post([](absl::Duration) {}), PostResult::kFirst);
}

TEST_F(BrokerWorkQueueTest, DrainRunsTasksInOrderWithHowLongEachWaited) {
  std::vector<int> ran;
  std::vector<absl::Duration> waited;
  queue_.Post([&](absl::Duration d) { ran.push_back(1), waited.push_back(d); });
  clock_.Advance(absl::Milliseconds(3));
  queue_.Post([&](absl::Duration d) { ran.push_back(2), waited.push_back(d); });
  clock_.Advance(absl::Microseconds(250));

  EXPECT_EQ(queue_.Drain(), 2);

  EXPECT_THAT(ran, ElementsAre(1, 2));
  EXPECT_THAT(waited, ElementsAre(absl::Microseconds(3250), absl::Microseconds(250)));
  EXPECT_EQ(queue_.last_latency_us(), 250);
}

TEST_F(BrokerWorkQueueTest, LatencyIsUnknownBeforeTheFirstTask) {
  EXPECT_EQ(queue_.last_latency_us(), -1);
}

TEST_F(BrokerWorkQueueTest, ATaskPostedByATaskRunsAtTheNextDrain) {
  int inner_runs = 0;
  queue_.Post([&](absl::Duration) { queue_.Post([&](absl::Duration) { ++inner_runs; }); });

  EXPECT_EQ(queue_.Drain(), 1);
  EXPECT_EQ(inner_runs, 0);
  EXPECT_EQ(queue_.Drain(), 1);
  EXPECT_EQ(inner_runs, 1);
}

TEST_F(BrokerWorkQueueTest, RunAndCloseRunsWhatIsQueuedAndRefusesMore) {
  int runs = 0;
  queue_.Post([&](absl::Duration) { ++runs; });

  EXPECT_EQ(queue_.RunAndClose(), 1);

  EXPECT_EQ(runs, 1);
  EXPECT_EQ(queue_.Post([&](absl::Duration) { ++runs; }), PostResult::kClosed);
  EXPECT_EQ(queue_.Drain(), 0);
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace edge::hub
