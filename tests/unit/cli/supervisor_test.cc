// The supervisor's restart schedule and bookkeeping. RestartBackoff is pure arithmetic; Supervisor
// runs tiny /bin/sh children under a FakeClock, so a restart happens exactly when the test moves
// the clock past the backoff delay and no test sleeps through one.
#include "cli/supervisor.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/restart_backoff.h"
#include "cli/runtime_files.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool ProcessGone(pid_t pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t close = stat.rfind(") ");
  return close == std::string::npos || stat[close + 2] == 'Z';
}

// ---- RestartBackoff ----

std::vector<absl::Duration> Delays(RestartBackoff& backoff, int n, absl::Duration ran_for) {
  std::vector<absl::Duration> delays;
  for (int i = 0; i < n; ++i) delays.push_back(backoff.NextDelay(ran_for));
  return delays;
}

TEST(RestartBackoffTest, DoublesFromHalfASecondAndCapsAtThirty) {
  RestartBackoff backoff(BackoffPolicy{});
  EXPECT_THAT(Delays(backoff, 9, absl::Seconds(1)),
              ElementsAre(absl::Milliseconds(500), absl::Seconds(1), absl::Seconds(2),
                          absl::Seconds(4), absl::Seconds(8), absl::Seconds(16), absl::Seconds(30),
                          absl::Seconds(30), absl::Seconds(30)));
}

TEST(RestartBackoffTest, ARunOfSixtySecondsResetsTheSchedule) {
  RestartBackoff backoff(BackoffPolicy{});
  Delays(backoff, 5, absl::Seconds(1));
  EXPECT_EQ(backoff.NextDelay(absl::Seconds(60)), absl::Milliseconds(500));
  EXPECT_EQ(backoff.NextDelay(absl::Seconds(1)), absl::Seconds(1));
}

TEST(RestartBackoffTest, ARunJustUnderSixtySecondsKeepsDoubling) {
  RestartBackoff backoff(BackoffPolicy{});
  Delays(backoff, 2, absl::Seconds(1));
  EXPECT_EQ(backoff.NextDelay(absl::Seconds(59)), absl::Seconds(2));
  EXPECT_EQ(backoff.consecutive_exits(), 3);
}

TEST(RestartBackoffTest, ManyFailuresNeverOverflow) {
  RestartBackoff backoff(BackoffPolicy{});
  absl::Duration last;
  for (int i = 0; i < 10000; ++i) last = backoff.NextDelay(absl::ZeroDuration());
  EXPECT_EQ(last, absl::Seconds(30));
}

TEST(RestartBackoffTest, FollowsACustomPolicy) {
  RestartBackoff backoff(BackoffPolicy{.initial = absl::Milliseconds(100),
                                       .max = absl::Milliseconds(250),
                                       .reset_after = absl::Seconds(5)});
  EXPECT_THAT(Delays(backoff, 4, absl::Seconds(1)),
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(250),
                          absl::Milliseconds(250)));
  EXPECT_EQ(backoff.NextDelay(absl::Seconds(5)), absl::Milliseconds(100));
}

// ---- Supervisor ----

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/edgectl-sv-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A service that runs `script` under /bin/sh in the test directory.
  SupervisedService Shell(const std::string& name, const std::string& script) {
    return {.name = name,
            .argv = {"/bin/sh", "-c", absl::StrCat("cd ", dir_.string(), " && ", script)},
            .log_file = dir_ / absl::StrCat(name, ".log"),
            .pid_file = dir_ / absl::StrCat(name, ".pid"),
            .listen = absl::StrCat("unix:", dir_.string(), "/", name, ".sock")};
  }

  SupervisorOptions Options(std::vector<SupervisedService> services) {
    return {.services = std::move(services),
            .not_installed = {"hub"},
            .state_file = dir_ / "supervisor.json",
            .backoff = BackoffPolicy{},
            .stop_grace = absl::Seconds(5)};
  }

  // Waits for the file a script creates once its traps are installed.
  void WaitForFile(const std::string& name) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!std::filesystem::exists(dir_ / name) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(std::filesystem::exists(dir_ / name)) << name;
  }

  // Reconciles (without moving the fake clock) until service `index` has exited and is waiting
  // to restart; the wait is for a real process to end, never for a backoff.
  static ServiceState WaitForExit(Supervisor& supervisor, size_t index) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      supervisor.Reconcile();
      ServiceState state = supervisor.State().services[index];
      if (state.state == RunState::kRestarting) return state;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "service " << index << " did not exit";
    return supervisor.State().services[index];
  }

  FakeClock clock_{absl::FromUnixSeconds(1'000'000)};
  std::filesystem::path dir_;
};

TEST_F(SupervisorTest, StartsServicesAndRecordsThemInTheStateFile) {
  Supervisor supervisor(Options({Shell("a", "exec sleep 30"), Shell("b", "exec sleep 30")}),
                        &clock_);
  supervisor.StartAll();

  absl::StatusOr<SupervisorState> state = ReadStateFile(dir_ / "supervisor.json");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->supervisor_pid, ::getpid());
  EXPECT_THAT(state->not_installed, ElementsAre("hub"));
  ASSERT_EQ(state->services.size(), 2u);
  for (const ServiceState& s : state->services) {
    EXPECT_EQ(s.state, RunState::kRunning) << s.name;
    EXPECT_GT(s.pid, 0);
    EXPECT_EQ(s.started_at, clock_.Now());
    EXPECT_EQ(s.restarts, 0);
    EXPECT_EQ(ReadPidFile(dir_ / absl::StrCat(s.name, ".pid")).value_or(-1), s.pid);
  }
  EXPECT_EQ(state->services[0].name, "a");
  EXPECT_EQ(state->services[0].listen, absl::StrCat("unix:", dir_.string(), "/a.sock"));
  supervisor.StopAll();
}

TEST_F(SupervisorTest, RestartsAnExitedServiceOnlyWhenItsBackoffHasPassed) {
  Supervisor supervisor(Options({Shell("a", "exit 3")}), &clock_);
  supervisor.StartAll();

  ServiceState exited = WaitForExit(supervisor, 0);
  EXPECT_EQ(exited.last_exit, "exited with 3");
  EXPECT_EQ(exited.pid, 0);
  EXPECT_EQ(exited.next_start_at, clock_.Now() + absl::Milliseconds(500));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a.pid"));

  clock_.Advance(absl::Milliseconds(499));
  EXPECT_EQ(supervisor.Reconcile(), exited.next_start_at);
  EXPECT_EQ(supervisor.State().services[0].restarts, 0);

  clock_.Advance(absl::Milliseconds(1));
  supervisor.Reconcile();
  EXPECT_EQ(supervisor.State().services[0].restarts, 1);

  // The second exit in a row waits twice as long.
  ServiceState again = WaitForExit(supervisor, 0);
  EXPECT_EQ(again.next_start_at, clock_.Now() + absl::Seconds(1));
  supervisor.StopAll();
}

TEST_F(SupervisorTest, ALongRunResetsTheBackoff) {
  // Fails at once the first time, then runs until killed.
  Supervisor supervisor(
      Options({Shell("a", "if [ -e ran ]; then exec sleep 30; else touch ran; exit 1; fi")}),
      &clock_);
  supervisor.StartAll();
  WaitForExit(supervisor, 0);
  clock_.Advance(absl::Milliseconds(500));
  supervisor.Reconcile();
  const pid_t pid = supervisor.State().services[0].pid;
  ASSERT_GT(pid, 0);

  clock_.Advance(absl::Seconds(61));
  ::kill(pid, SIGKILL);
  ServiceState killed = WaitForExit(supervisor, 0);

  EXPECT_THAT(killed.last_exit, HasSubstr("killed"));
  EXPECT_EQ(killed.next_start_at, clock_.Now() + absl::Milliseconds(500));
  supervisor.StopAll();
}

TEST_F(SupervisorTest, AServiceThatCannotStartIsRetriedLikeACrash) {
  SupervisedService broken = Shell("a", "exec sleep 30");
  broken.log_file = dir_ / "no-such-dir" / "a.log";
  Supervisor supervisor(Options({broken}), &clock_);
  supervisor.StartAll();

  ServiceState state = supervisor.State().services[0];
  EXPECT_EQ(state.state, RunState::kRestarting);
  EXPECT_THAT(state.last_exit, HasSubstr("could not start"));
  EXPECT_EQ(supervisor.Reconcile(), clock_.Now() + absl::Milliseconds(500));
}

TEST_F(SupervisorTest, StopAllStopsInReverseOrderAndRemovesPidFiles) {
  // Each service notes its name in `order` when SIGTERM arrives.
  auto trapping = [&](const std::string& name) {
    return Shell(name, absl::StrCat("trap 'echo ", name, " >> order; exit 0' TERM; touch ready-",
                                    name, "; while :; do sleep 0.02; done"));
  };
  Supervisor supervisor(Options({trapping("a"), trapping("b"), trapping("c")}), &clock_);
  supervisor.StartAll();
  std::vector<pid_t> pids;
  for (const ServiceState& s : supervisor.State().services) pids.push_back(s.pid);
  for (const char* name : {"ready-a", "ready-b", "ready-c"}) WaitForFile(name);

  supervisor.StopAll();

  EXPECT_EQ(ReadFile(dir_ / "order"), "c\nb\na\n");
  for (pid_t pid : pids) EXPECT_TRUE(ProcessGone(pid)) << pid;
  absl::StatusOr<SupervisorState> state = ReadStateFile(dir_ / "supervisor.json");
  ASSERT_TRUE(state.ok()) << state.status();
  for (const ServiceState& s : state->services) {
    EXPECT_EQ(s.state, RunState::kStopped) << s.name;
    EXPECT_EQ(s.pid, 0);
    EXPECT_FALSE(std::filesystem::exists(dir_ / absl::StrCat(s.name, ".pid")));
  }
  EXPECT_EQ(supervisor.Reconcile(), absl::InfiniteFuture()) << "nothing restarts after a stop";
}

TEST_F(SupervisorTest, StopAllKillsAServiceThatIgnoresSigterm) {
  SupervisorOptions options =
      Options({Shell("a", "trap '' TERM; touch ready; while :; do sleep 0.02; done")});
  options.stop_grace = absl::Milliseconds(200);
  Supervisor supervisor(std::move(options), &clock_);
  supervisor.StartAll();
  const pid_t pid = supervisor.State().services[0].pid;
  WaitForFile("ready");

  supervisor.StopAll();

  EXPECT_TRUE(ProcessGone(pid));
}

// ---- The state file ----

TEST(SupervisorStateTest, RoundTripsThroughJson) {
  SupervisorState state;
  state.supervisor_pid = 42;
  state.started_at = absl::FromUnixMillis(1'700'000'000'123);
  state.updated_at = absl::FromUnixMillis(1'700'000'001'000);
  state.not_installed = {"router"};
  ServiceState store{.name = "store",
                     .binary = "/bin/edge-store",
                     .listen = "unix:/x/run/store.sock",
                     .state = RunState::kRestarting,
                     .pid = 0,
                     .started_at = absl::FromUnixSeconds(1'700'000'000),
                     .restarts = 2,
                     .last_exit = "killed by SIGKILL",
                     .last_exit_at = absl::FromUnixSeconds(1'700'000'005),
                     .next_start_at = absl::FromUnixSeconds(1'700'000'006)};
  state.services.push_back(store);

  absl::StatusOr<SupervisorState> parsed = StateFromJson(StateToJson(state));

  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->supervisor_pid, 42);
  EXPECT_EQ(parsed->started_at, state.started_at);
  EXPECT_THAT(parsed->not_installed, ElementsAre("router"));
  ASSERT_EQ(parsed->services.size(), 1u);
  const ServiceState& s = parsed->services[0];
  EXPECT_EQ(s.name, "store");
  EXPECT_EQ(s.state, RunState::kRestarting);
  EXPECT_EQ(s.restarts, 2);
  EXPECT_EQ(s.last_exit, "killed by SIGKILL");
  EXPECT_EQ(s.next_start_at, store.next_start_at);
}

TEST(SupervisorStateTest, NeverHappenedTimesStayUnset) {
  SupervisorState state;
  ServiceState store;
  store.name = "store";
  state.services.push_back(store);
  absl::StatusOr<SupervisorState> parsed = StateFromJson(StateToJson(state));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->services[0].last_exit_at, absl::InfinitePast());
}

TEST(SupervisorStateTest, MalformedJsonIsDataLoss) {
  EXPECT_EQ(StateFromJson("{not json").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(StateFromJson(R"({"version": 1, "services": 3})").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(StateFromJson(R"({"version": 99})").status().code(), absl::StatusCode::kDataLoss);
}

TEST(SupervisorStateTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadStateFile("/nonexistent/supervisor.json").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadPidFile("/nonexistent/x.pid").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace edge::cli
