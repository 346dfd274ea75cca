// How `edgectl list` words a module's state and age (cli/agent_commands.h). Pure: fixed times.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/agent_commands.h"
#include "gtest/gtest.h"

namespace edge::cli {
namespace {

namespace v1 = ::edge::agent::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::Module Module(v1::ModuleState state) {
  v1::Module module;
  module.set_name("m");
  module.set_state(state);
  return module;
}

TEST(HumanDurationTest, WordsDurationsAsDockerDoes) {
  EXPECT_EQ(HumanDuration(absl::Milliseconds(400)), "Less than a second");
  EXPECT_EQ(HumanDuration(absl::Seconds(-5)), "Less than a second");
  EXPECT_EQ(HumanDuration(absl::Seconds(1)), "1 second");
  EXPECT_EQ(HumanDuration(absl::Seconds(59)), "59 seconds");
  EXPECT_EQ(HumanDuration(absl::Seconds(60)), "About a minute");
  EXPECT_EQ(HumanDuration(absl::Seconds(119)), "About a minute");
  EXPECT_EQ(HumanDuration(absl::Minutes(3)), "3 minutes");
  EXPECT_EQ(HumanDuration(absl::Minutes(59)), "59 minutes");
  EXPECT_EQ(HumanDuration(absl::Minutes(60)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Minutes(89)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Minutes(90)), "2 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(47)), "47 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(48)), "2 days");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 13)), "13 days");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 14)), "2 weeks");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 60)), "2 months");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 365 * 2)), "2 years");
}

TEST(ModuleStatusTextTest, NamesTheStateWithTheExitCode) {
  EXPECT_EQ(ModuleStatusText(Module(v1::MODULE_STATE_CREATED)), "created");
  EXPECT_EQ(ModuleStatusText(Module(v1::MODULE_STATE_RUNNING)), "running");
  v1::Module exited = Module(v1::MODULE_STATE_EXITED);
  exited.set_exit_code(3);
  EXPECT_EQ(ModuleStatusText(exited), "exited (3)");
  EXPECT_EQ(ModuleStatusText(Module(v1::MODULE_STATE_DEAD)), "dead");
}

TEST(ModuleDescriptionTest, ARunningModuleIsUpSinceItStarted) {
  v1::Module running = Module(v1::MODULE_STATE_RUNNING);
  running.set_started_unix_ms(absl::ToUnixMillis(kNow - absl::Minutes(3)));
  EXPECT_EQ(ModuleDescription(running, kNow), "Up 3 minutes");
}

TEST(ModuleDescriptionTest, AnExitedModuleSaysWhenItExited) {
  v1::Module exited = Module(v1::MODULE_STATE_EXITED);
  exited.set_exit_code(3);
  exited.set_description("exited with 3");
  exited.set_finished_unix_ms(absl::ToUnixMillis(kNow - absl::Minutes(2)));
  EXPECT_EQ(ModuleDescription(exited, kNow), "Exited 2 minutes ago");
}

TEST(ModuleDescriptionTest, AKilledModuleNamesTheSignal) {
  v1::Module killed = Module(v1::MODULE_STATE_EXITED);
  killed.set_exit_code(137);
  killed.set_signal(9);
  killed.set_description("killed by SIGKILL");
  killed.set_finished_unix_ms(absl::ToUnixMillis(kNow - absl::Seconds(5)));
  EXPECT_EQ(ModuleDescription(killed, kNow), "Exited 5 seconds ago (killed by SIGKILL)");
}

TEST(ModuleDescriptionTest, CreatedAndDeadModules) {
  EXPECT_EQ(ModuleDescription(Module(v1::MODULE_STATE_CREATED), kNow), "Created");
  v1::Module dead = Module(v1::MODULE_STATE_DEAD);
  dead.set_started_unix_ms(absl::ToUnixMillis(kNow - absl::Hours(5)));
  EXPECT_EQ(ModuleDescription(dead, kNow),
            "Dead (its monitor ended without recording an exit; started 5 hours ago)");
}

TEST(ModuleDescriptionTest, ARunningModuleShowsItsHealthAsDockerDoes) {
  v1::Module running = Module(v1::MODULE_STATE_RUNNING);
  running.set_started_unix_ms(absl::ToUnixMillis(kNow - absl::Minutes(3)));
  running.set_health(v1::MODULE_HEALTH_HEALTHY);
  EXPECT_EQ(ModuleDescription(running, kNow), "Up 3 minutes (healthy)");
  running.set_health(v1::MODULE_HEALTH_UNHEALTHY);
  EXPECT_EQ(ModuleDescription(running, kNow), "Up 3 minutes (unhealthy)");
  running.set_health(v1::MODULE_HEALTH_STARTING);
  EXPECT_EQ(ModuleDescription(running, kNow), "Up 3 minutes (health: starting)");
}

TEST(ModuleDescriptionTest, AHeldModuleSaysItWasStopped) {
  v1::Module held = Module(v1::MODULE_STATE_EXITED);
  held.set_exit_code(143);
  held.set_signal(15);
  held.set_description("killed by SIGTERM");
  held.set_held_stopped(true);
  held.set_finished_unix_ms(absl::ToUnixMillis(kNow - absl::Seconds(5)));
  EXPECT_EQ(ModuleDescription(held, kNow),
            "Exited 5 seconds ago (killed by SIGTERM) (stopped by edgectl stop)");
}

TEST(ParseSinceTest, ADurationCountsBackFromNow) {
  EXPECT_EQ(*ParseSince("10m", kNow), kNow - absl::Minutes(10));
  EXPECT_EQ(*ParseSince("1h30m", kNow), kNow - absl::Minutes(90));
  EXPECT_EQ(*ParseSince("45s", kNow), kNow - absl::Seconds(45));
  EXPECT_EQ(*ParseSince("0", kNow), kNow);
}

TEST(ParseSinceTest, AnRfc3339TimeIsThatTime) {
  EXPECT_EQ(*ParseSince("2027-01-15T08:00:00Z", kNow), kNow);
  EXPECT_EQ(*ParseSince("2027-01-15T09:00:00.5+01:00", kNow), kNow + absl::Milliseconds(500));
}

TEST(ParseSinceTest, AnythingElseIsInvalid) {
  for (const char* bad : {"yesterday", "", "10", "2027-01-15", "2027-01-15 08:00:00Z", "1d"}) {
    absl::StatusOr<absl::Time> since = ParseSince(bad, kNow);
    EXPECT_EQ(since.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(since.status().message(),
              absl::StrCat("--since: \"", bad,
                           "\" is neither a duration (10m, 1h30m) nor an RFC 3339 time "
                           "(2026-01-02T15:04:05Z)"))
        << bad;
  }
  EXPECT_EQ(ParseSince("-5m", kNow).status().message(),
            "--since: \"-5m\" is negative; give how long ago, like 10m");
}

}  // namespace
}  // namespace edge::cli
