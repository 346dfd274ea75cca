// EndpointScheduler: the window of one endpoint shared by its priority queues.
#include "services/router/endpoint_scheduler.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace edge::router {
namespace {

constexpr absl::Duration kNoWait = absl::ZeroDuration();

TEST(EndpointSchedulerTest, GrantsUpToTheWindowAndNoMore) {
  EndpointScheduler scheduler(/*window=*/2, /*max_passed_over=*/10);
  const int queue = scheduler.Register(0);

  EXPECT_TRUE(scheduler.Acquire(queue, kNoWait));
  EXPECT_TRUE(scheduler.Acquire(queue, kNoWait));
  EXPECT_FALSE(scheduler.Acquire(queue, kNoWait));
  scheduler.Release(queue, 1);
  EXPECT_TRUE(scheduler.Acquire(queue, kNoWait));
  EXPECT_EQ(scheduler.in_use(), 2u);
}

TEST(EndpointSchedulerTest, ALowerPriorityWaitsWhileABetterOneHasABacklog) {
  EndpointScheduler scheduler(/*window=*/5, /*max_passed_over=*/10);
  const int high = scheduler.Register(0);
  const int low = scheduler.Register(std::nullopt);
  scheduler.SetBacklog(high, true);
  scheduler.SetBacklog(low, true);

  EXPECT_FALSE(scheduler.Acquire(low, kNoWait));  // high is about to ask
  EXPECT_TRUE(scheduler.Acquire(high, kNoWait));
  scheduler.SetBacklog(high, false);  // high has nothing more
  EXPECT_TRUE(scheduler.Acquire(low, kNoWait));
}

TEST(EndpointSchedulerTest, AWaitingQueueGetsASlotOnceItWasPassedOverEnoughTimes) {
  EndpointScheduler scheduler(/*window=*/1, /*max_passed_over=*/3);
  const int high = scheduler.Register(1);
  const int low = scheduler.Register(5);
  scheduler.SetBacklog(high, true);
  scheduler.SetBacklog(low, true);
  ASSERT_TRUE(scheduler.Acquire(high, kNoWait));
  std::atomic<bool> low_granted{false};
  std::thread low_waiter([&] { low_granted = scheduler.Acquire(low, absl::Seconds(10)); });
  while (scheduler.waiting() == 0) absl::SleepFor(absl::Milliseconds(1));

  // A steady high-priority load: each result frees the slot and high asks again at once.
  int high_grants = 0;
  while (high_grants < 10) {
    scheduler.Release(high, 1);
    if (!scheduler.Acquire(high, kNoWait)) break;
    ++high_grants;
  }
  low_waiter.join();

  EXPECT_TRUE(low_granted);
  EXPECT_EQ(high_grants, 3);
}

TEST(EndpointSchedulerTest, WakeEndsAWaitingAcquire) {
  EndpointScheduler scheduler(/*window=*/1, /*max_passed_over=*/10);
  const int queue = scheduler.Register(0);
  ASSERT_TRUE(scheduler.Acquire(queue, kNoWait));
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(20));
    scheduler.Wake(queue);
  });
  const absl::Time start = absl::Now();
  EXPECT_FALSE(scheduler.Acquire(queue, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  waker.join();
}

}  // namespace
}  // namespace edge::router
