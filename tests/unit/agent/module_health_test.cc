// The health check state machine (services/agent/module_health.h) on a FakeClock — Docker's rules
// for interval, timeout, retries and start period, without sleeping — its settings from a
// createOptions Healthcheck, and how a module's output is stamped and read back (log_lines.h).
#include "services/agent/module_health.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/agent/monitor/log_lines.h"

namespace edge::agent {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kSecond = 1'000'000'000;

// A Healthcheck of `test` with the given values (nullopt: absent).
CreateOptions WithHealthcheck(std::vector<std::string> test,
                              std::optional<int64_t> interval_ns = std::nullopt,
                              std::optional<int64_t> timeout_ns = std::nullopt,
                              std::optional<int64_t> retries = std::nullopt) {
  CreateOptions options;
  options.healthcheck = Healthcheck{.test = std::move(test),
                                    .interval_ns = interval_ns,
                                    .timeout_ns = timeout_ns,
                                    .start_period_ns = std::nullopt,
                                    .retries = retries};
  return options;
}

// --- Settings
// -------------------------------------------------------------------------------------

TEST(HealthSettingsTest, CmdShellRunsTheCommandWithTheShell) {
  std::optional<HealthSettings> settings =
      HealthSettingsFromSpec(WithHealthcheck({"CMD-SHELL", "test -f /tmp/ok"}, 2 * kSecond));
  ASSERT_TRUE(settings.has_value());
  EXPECT_THAT(settings->argv, ElementsAre("/bin/sh", "-c", "test -f /tmp/ok"));
  EXPECT_EQ(settings->interval, absl::Seconds(2));
}

TEST(HealthSettingsTest, CmdRunsTheProgramWithItsArguments) {
  std::optional<HealthSettings> settings =
      HealthSettingsFromSpec(WithHealthcheck({"CMD", "curl", "-f", "http://x"}));
  ASSERT_TRUE(settings.has_value());
  EXPECT_THAT(settings->argv, ElementsAre("curl", "-f", "http://x"));
}

TEST(HealthSettingsTest, AbsentAndZeroValuesAreDockersDefaults) {
  std::optional<HealthSettings> settings =
      HealthSettingsFromSpec(WithHealthcheck({"CMD", "true"}, 0, std::nullopt, 0));
  ASSERT_TRUE(settings.has_value());
  EXPECT_EQ(settings->interval, absl::Seconds(30));
  EXPECT_EQ(settings->timeout, absl::Seconds(30));
  EXPECT_EQ(settings->start_period, absl::ZeroDuration());
  EXPECT_EQ(settings->retries, 3);
}

TEST(HealthSettingsTest, NoneEmptyOrAbsentMeansNoHealthCheck) {
  EXPECT_EQ(HealthSettingsFromSpec(CreateOptions()), std::nullopt);
  EXPECT_EQ(HealthSettingsFromSpec(WithHealthcheck({"NONE"})), std::nullopt);
  EXPECT_EQ(HealthSettingsFromSpec(WithHealthcheck({})), std::nullopt);
}

// --- The state machine
// ----------------------------------------------------------------------------

class HealthStateTest : public ::testing::Test {
 protected:
  HealthSettings Settings(absl::Duration start_period = absl::ZeroDuration()) {
    return {.argv = {"check"},
            .interval = absl::Seconds(10),
            .timeout = absl::Seconds(2),
            .start_period = start_period,
            .retries = 3};
  }

  // A probe that takes `took` from now and passes (empty failure) or fails.
  void Probe(HealthState& state, const std::string& failure,
             absl::Duration took = absl::Seconds(1)) {
    const absl::Time started = clock_.Now();
    clock_.Advance(took);
    state.Record(started, clock_.Now(), failure);
  }

  // Moves the clock to the next probe.
  void UntilDue(const HealthState& state) {
    ASSERT_GE(state.next_probe_at(), clock_.Now());
    clock_.Advance(state.next_probe_at() - clock_.Now());
  }

  FakeClock clock_{absl::FromUnixSeconds(1'000'000)};
};

TEST_F(HealthStateTest, StartsAsStartingWithTheFirstProbeAnIntervalAfterTheStart) {
  HealthState state(Settings(), clock_.Now());
  EXPECT_EQ(state.health(), Health::kStarting);
  EXPECT_EQ(state.next_probe_at(), clock_.Now() + absl::Seconds(10));
}

TEST_F(HealthStateTest, APassMakesItHealthyAndTheNextProbeIsAnIntervalAfterTheLastEnded) {
  HealthState state(Settings(), clock_.Now());
  UntilDue(state);
  Probe(state, "");
  EXPECT_EQ(state.health(), Health::kHealthy);
  EXPECT_EQ(state.report().Describe(), "healthy");
  EXPECT_EQ(state.next_probe_at(), clock_.Now() + absl::Seconds(10));
}

TEST_F(HealthStateTest, RetriesConsecutiveFailuresMakeItUnhealthy) {
  HealthState state(Settings(), clock_.Now());
  UntilDue(state);
  Probe(state, "");
  for (int i = 1; i <= 2; ++i) {
    UntilDue(state);
    Probe(state, "exit 1: no file");
    EXPECT_EQ(state.health(), Health::kHealthy) << "after " << i << " failures";
    EXPECT_EQ(state.report().failing_streak, i);
  }
  UntilDue(state);
  Probe(state, "exit 1: no file");
  EXPECT_EQ(state.health(), Health::kUnhealthy);
  EXPECT_EQ(state.report().Describe(),
            "unhealthy: 3 consecutive health checks failed; the last: exit 1: no file");
}

TEST_F(HealthStateTest, APassClearsTheCountAndMakesAnUnhealthyModuleHealthyAgain) {
  HealthState state(Settings(), clock_.Now());
  for (int i = 0; i < 2; ++i) {
    UntilDue(state);
    Probe(state, "exit 1");
  }
  UntilDue(state);
  Probe(state, "");
  EXPECT_EQ(state.report().failing_streak, 0);
  for (int i = 0; i < 3; ++i) {
    UntilDue(state);
    Probe(state, "exit 1");
  }
  EXPECT_EQ(state.health(), Health::kUnhealthy);
  UntilDue(state);
  Probe(state, "");
  EXPECT_EQ(state.health(), Health::kHealthy);
  EXPECT_EQ(state.report().last_failure, "");
}

TEST_F(HealthStateTest, AProbeLongerThanTheTimeoutFailsWhateverItReturned) {
  HealthState state(Settings(), clock_.Now());
  UntilDue(state);
  Probe(state, "", absl::Seconds(3));
  EXPECT_EQ(state.health(), Health::kStarting);
  EXPECT_EQ(state.report().failing_streak, 1);
  EXPECT_EQ(state.report().last_failure, "timed out after 2s");
}

TEST_F(HealthStateTest, FailuresInTheStartPeriodDoNotCount) {
  HealthState state(Settings(/*start_period=*/absl::Seconds(35)), clock_.Now());
  for (int i = 0; i < 3; ++i) {  // probes at 10, 21, 32 s: all within the start period
    UntilDue(state);
    Probe(state, "exit 1");
  }
  EXPECT_EQ(state.health(), Health::kStarting);
  EXPECT_EQ(state.report().failing_streak, 0);
  EXPECT_EQ(state.report().last_failure, "exit 1");
  for (int i = 0; i < 3; ++i) {  // after it: they count
    UntilDue(state);
    Probe(state, "exit 1");
  }
  EXPECT_EQ(state.health(), Health::kUnhealthy);
}

TEST_F(HealthStateTest, AfterAPassInTheStartPeriodFailuresCount) {
  HealthState state(Settings(/*start_period=*/absl::Minutes(5)), clock_.Now());
  UntilDue(state);
  Probe(state, "");
  for (int i = 0; i < 3; ++i) {
    UntilDue(state);
    Probe(state, "exit 1");
  }
  EXPECT_EQ(state.health(), Health::kUnhealthy);
}

// --- Output lines stamped with their time
// -------------------------------------------------------------

const absl::Time kT0 = absl::FromUnixMicros(1'800'000'000'123'456);

TEST(LogLinesTest, EveryLineIsStampedOnceEvenAcrossChunks) {
  bool at_line_start = true;
  std::string stored = StampLines("one\ntw", kT0, &at_line_start);
  EXPECT_FALSE(at_line_start);
  stored += StampLines("o\nthree\n", kT0 + absl::Seconds(1), &at_line_start);
  EXPECT_TRUE(at_line_start);
  EXPECT_EQ(stored,
            "2027-01-15T08:00:00.123456Z one\n"
            "2027-01-15T08:00:00.123456Z two\n"
            "2027-01-15T08:00:01.123456Z three\n");
  EXPECT_EQ(UnstampLines(stored, absl::InfinitePast(), false), "one\ntwo\nthree\n");
}

TEST(LogLinesTest, SinceKeepsLinesStampedAtOrAfterIt) {
  bool at_line_start = true;
  std::string stored = StampLines("old\n", kT0, &at_line_start) +
                       StampLines("new\n", kT0 + absl::Minutes(5), &at_line_start);
  EXPECT_EQ(UnstampLines(stored, kT0 + absl::Minutes(1), false), "new\n");
  EXPECT_EQ(UnstampLines(stored, kT0 + absl::Minutes(5), false), "new\n");
  EXPECT_EQ(UnstampLines(stored, kT0 + absl::Minutes(6), false), "");
}

TEST(LogLinesTest, UnstampedLinesAreKeptAsTheyAre) {
  EXPECT_EQ(UnstampLines("written before stamps\n", kT0, false), "written before stamps\n");
}

TEST(LogLinesTest, ARestReadInTheMiddleOfALineIsKeptAndTheEndIsReported) {
  bool at_line_start = true;
  const std::string stored = StampLines("partial", kT0, &at_line_start);
  bool mid_line = false;
  EXPECT_EQ(UnstampLines(stored, absl::InfinitePast(), false, &mid_line), "partial");
  EXPECT_TRUE(mid_line);
  const std::string rest = StampLines(" line\nnext\n", kT0, &at_line_start);
  EXPECT_EQ(UnstampLines(rest, absl::InfinitePast(), true, &mid_line), " line\nnext\n");
  EXPECT_FALSE(mid_line);
}

}  // namespace
}  // namespace edge::agent
