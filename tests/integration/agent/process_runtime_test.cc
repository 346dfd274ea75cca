// The process runtime with real processes: edge-module-monitor (from $EDGE_BIN_DIR) runs shell
// modules in temp directories. A "restart of the agent" is a new ProcessRuntime over the same
// directory: everything it knows comes from the files the monitors keep.
#include "services/agent/runtime/process_runtime.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/procfs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::agent {
namespace {

using ::edge::testing::BinDir;
using ::edge::testing::ReadFile;
using ::edge::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class ProcessRuntimeTest : public ::testing::Test {
 protected:
  ~ProcessRuntimeTest() override {
    // Nothing may outlive the test.
    if (absl::StatusOr<std::vector<ModuleStatus>> all = runtime_->List(); all.ok()) {
      for (const ModuleStatus& m : *all) runtime_->Stop(m.config.name).IgnoreError();
    }
  }

  std::unique_ptr<ProcessRuntime> NewRuntime(int64_t log_max_bytes = 1 << 20, int log_files = 2) {
    return std::make_unique<ProcessRuntime>(
        ProcessRuntimeOptions{.modules_dir = dir_.path() / "modules",
                              .monitor = BinDir() / "edge-module-monitor",
                              .log_max_bytes = log_max_bytes,
                              .log_files = log_files});
  }

  // Creates and starts a module running `script` with /bin/sh.
  void Run(const std::string& name, const std::string& script,
           absl::Duration grace = absl::Seconds(10)) {
    ASSERT_TRUE(runtime_
                    ->Create({.name = name,
                              .argv = {"/bin/sh", "-c", script},
                              .env = {{"GREETING", "hello"}},
                              .stop_grace = grace})
                    .ok());
    absl::Status started = runtime_->Start(name);
    ASSERT_TRUE(started.ok()) << started;
  }

  // Waits until the module has exited and returns its status.
  ModuleStatus WaitForExit(const std::string& name, absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<ModuleStatus> status = runtime_->Inspect(name);
    while (status.ok() && status->state != ModuleState::kExited && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
      status = runtime_->Inspect(name);
    }
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : ModuleStatus{};
  }

  // Waits until the module's output contains `text`.
  bool WaitForOutput(const std::string& name, const std::string& text) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::string> logs = runtime_->Logs(name, 0);
      if (logs.ok() && absl::StrContains(*logs, text)) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<ProcessRuntime> runtime_ = NewRuntime();
};

TEST_F(ProcessRuntimeTest, RunsTheModuleWithItsEnvironmentAndLogsItsOutput) {
  Run("greeter",
      "echo \"$GREETING from $(pwd)\"; echo oops >&2; echo \"home=${HOME:-unset}\"; "
      "sleep 30");

  ASSERT_TRUE(WaitForOutput("greeter", "home="));
  absl::StatusOr<ModuleStatus> status = runtime_->Inspect("greeter");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, ModuleState::kRunning);
  EXPECT_GT(status->pid, 0);
  EXPECT_TRUE(ProcessAlive(status->pid));
  absl::StatusOr<std::string> logs = runtime_->Logs("greeter", 0);
  ASSERT_TRUE(logs.ok());
  EXPECT_THAT(*logs, HasSubstr("hello from " + (dir_.path() / "modules/greeter").string()));
  EXPECT_THAT(*logs, HasSubstr("oops\n"));
  // Nothing of the agent's environment leaks into a module.
  EXPECT_THAT(*logs, HasSubstr("home=unset"));
}

TEST_F(ProcessRuntimeTest, ExitCodesAndSignalsAreRecorded) {
  Run("ok", "exit 0");
  Run("fails", "exit 3");
  Run("crashes", "kill -SEGV $$");

  ModuleStatus ok = WaitForExit("ok");
  ModuleStatus fails = WaitForExit("fails");
  ModuleStatus crashes = WaitForExit("crashes");

  EXPECT_EQ(ok.state, ModuleState::kExited);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(fails.exit_code, 3);
  EXPECT_EQ(fails.description, "exited with 3");
  EXPECT_EQ(crashes.signal, SIGSEGV);
  EXPECT_EQ(crashes.exit_code, 128 + SIGSEGV);
  EXPECT_GE(crashes.finished_at, crashes.started_at);
}

TEST_F(ProcessRuntimeTest, StopIsSigtermThenSigkillAfterTheGrace) {
  Run("polite", "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.05; done");
  Run("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.05; done", absl::Seconds(1));
  // Both have set their traps (a SIGTERM before that would take the default action).
  ASSERT_TRUE(WaitForOutput("polite", "ready"));
  ASSERT_TRUE(WaitForOutput("stubborn", "ready"));

  const absl::Time start = absl::Now();
  ASSERT_TRUE(runtime_->Stop("polite").ok());
  ASSERT_TRUE(runtime_->Stop("stubborn").ok());
  const absl::Duration took = absl::Now() - start;

  absl::StatusOr<ModuleStatus> polite = runtime_->Inspect("polite");
  absl::StatusOr<ModuleStatus> stubborn = runtime_->Inspect("stubborn");
  EXPECT_EQ(polite->exit_code, 0);
  EXPECT_EQ(stubborn->signal, SIGKILL);
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(ProcessRuntimeTest, WhatTheModuleLeftInItsGroupEndsWithIt) {
  Run("parent", "sleep 300 & echo \"child $!\"; exit 0");
  ASSERT_TRUE(WaitForOutput("parent", "child "));
  absl::StatusOr<std::string> logs = runtime_->Logs("parent", 1);
  const pid_t child = std::stoi(logs->substr(logs->find("child ") + 6));

  WaitForExit("parent");

  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (ProcessAlive(child) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(ProcessAlive(child));
}

TEST_F(ProcessRuntimeTest, FloodedOutputIsCappedAndRotated) {
  runtime_ = NewRuntime(/*log_max_bytes=*/64 << 10, /*log_files=*/2);
  Run("flood", "i=0; while [ $i -lt 20000 ]; do echo \"line $i of the flood\"; i=$((i+1)); done");

  ModuleStatus status = WaitForExit("flood", absl::Seconds(30));

  EXPECT_EQ(status.exit_code, 0);
  const std::filesystem::path dir = dir_.path() / "modules/flood";
  EXPECT_TRUE(std::filesystem::exists(dir / "output.log.1"));
  EXPECT_TRUE(std::filesystem::exists(dir / "output.log.2"));
  EXPECT_FALSE(std::filesystem::exists(dir / "output.log.3"));
  for (const char* file : {"output.log", "output.log.1", "output.log.2"}) {
    EXPECT_LE(std::filesystem::file_size(dir / file), 64u << 10) << file;
  }
  // The newest lines are kept, in order.
  absl::StatusOr<std::string> tail = runtime_->Logs("flood", 2);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "line 19998 of the flood\nline 19999 of the flood\n");
}

TEST_F(ProcessRuntimeTest, ARestartedAgentAdoptsRunningModulesAndLearnsHowOthersEnded) {
  Run("long", "echo up; sleep 300");
  Run("short", "sleep 0.3; exit 4");
  ASSERT_TRUE(WaitForOutput("long", "up"));
  const pid_t pid = runtime_->Inspect("long")->pid;

  runtime_ = NewRuntime();  // the agent restarted: all it has is the modules directory
  WaitForExit("short");

  absl::StatusOr<ModuleStatus> long_running = runtime_->Inspect("long");
  ASSERT_TRUE(long_running.ok());
  EXPECT_EQ(long_running->state, ModuleState::kRunning);
  EXPECT_EQ(long_running->pid, pid);
  EXPECT_EQ(runtime_->Inspect("short")->exit_code, 4);
  ASSERT_TRUE(runtime_->Stop("long").ok());
  EXPECT_EQ(runtime_->Inspect("long")->signal, SIGTERM);
  EXPECT_FALSE(ProcessAlive(pid));
}

TEST_F(ProcessRuntimeTest, AModuleWhoseMonitorWasKilledIsDead) {
  Run("orphan", "sleep 300");
  absl::StatusOr<std::vector<ModuleStatus>> all = runtime_->List();
  ASSERT_TRUE(all.ok());
  const pid_t pid = (*all)[0].pid;
  // The monitor, from the module's own state file, killed hard.
  const nlohmann::json running =
      nlohmann::json::parse(ReadFile(dir_.path() / "modules/orphan/running.json"), nullptr, false);
  const pid_t monitor = running.value("monitor_pid", 0);
  ASSERT_GT(monitor, 0);
  ::kill(monitor, SIGKILL);
  ::kill(-pid, SIGKILL);

  absl::StatusOr<ModuleStatus> status;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    status = runtime_->Inspect("orphan");
  } while (status.ok() && status->state != ModuleState::kDead && absl::Now() < deadline);
  EXPECT_EQ(status->state, ModuleState::kDead);
  // It can be started again.
  ASSERT_TRUE(runtime_->Start("orphan").ok());
  EXPECT_EQ(runtime_->Inspect("orphan")->state, ModuleState::kRunning);
}

TEST_F(ProcessRuntimeTest, BadRequestsGetClearErrors) {
  EXPECT_EQ(runtime_->Start("nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Stop("nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Logs("nobody", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Inspect("../etc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Create({.name = "bad/name", .argv = {"/bin/true"}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime_->Create({.name = "..", .argv = {"/bin/true"}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime_->Create({.name = "empty"}).code(), absl::StatusCode::kInvalidArgument);
  // Any module id is a name, IoT Hub's odd characters included.
  EXPECT_TRUE(runtime_->Create({.name = "temp(1):a@b", .argv = {"/bin/true"}}).ok());
  Run("twice", "sleep 30");
  EXPECT_EQ(runtime_->Create({.name = "twice", .argv = {"/bin/true"}}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(runtime_->Start("twice").code(), absl::StatusCode::kFailedPrecondition);

  // A program that does not exist runs and ends with 127, saying why in its log.
  ASSERT_TRUE(runtime_->Create({.name = "missing", .argv = {"/nonexistent/program"}}).ok());
  ASSERT_TRUE(runtime_->Start("missing").ok());
  EXPECT_EQ(WaitForExit("missing").exit_code, 127);
  EXPECT_THAT(*runtime_->Logs("missing", 0), HasSubstr("cannot run /nonexistent/program"));
}

TEST_F(ProcessRuntimeTest, RemoveStopsAndForgetsTheModule) {
  Run("gone", "sleep 300");
  const pid_t pid = runtime_->Inspect("gone")->pid;

  ASSERT_TRUE(runtime_->Remove("gone").ok());

  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_EQ(runtime_->Inspect("gone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "modules/gone"));
  EXPECT_THAT(*runtime_->List(), ::testing::IsEmpty());
}

TEST_F(ProcessRuntimeTest, MemoryLimitIsTheModulesAddressSpaceLimit) {
  ASSERT_TRUE(runtime_
                  ->Create({.name = "limited",
                            .argv = {"/bin/sh", "-c", "ulimit -v"},
                            .memory_bytes = 256 << 20})
                  .ok());
  ASSERT_TRUE(runtime_->Start("limited").ok());
  WaitForExit("limited");
  EXPECT_EQ(*runtime_->Logs("limited", 0), "262144\n");  // KiB
}

TEST_F(ProcessRuntimeTest, ExecRunsACommandInTheModulesEnvironmentAndDirectory) {
  Run("host", "exec sleep 30");
  absl::StatusOr<ExecResult> result =
      runtime_->Exec("host", {"sh", "-c", "echo $GREETING in $(pwd); exit 4"}, absl::Seconds(5));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 4);
  EXPECT_EQ(result->output,
            absl::StrCat("hello in ", (dir_.path() / "modules/host").string(), "\n"));
  // Its output file is gone again.
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "modules/host")) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr("exec-")));
  }
}

TEST_F(ProcessRuntimeTest, ExecKillsACommandThatOutlivesItsTimeout) {
  Run("host", "exec sleep 30");
  const absl::Time started = absl::Now();
  absl::StatusOr<ExecResult> result =
      runtime_->Exec("host", {"/bin/sh", "-c", "sleep 20 & sleep 20"}, absl::Milliseconds(300));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result.status().message(), "timed out after 300ms");
  EXPECT_LT(absl::Now() - started, absl::Seconds(3));
}

TEST_F(ProcessRuntimeTest, ExecErrors) {
  Run("host", "exec sleep 30");
  EXPECT_EQ(runtime_->Exec("nobody", {"true"}, absl::Seconds(1)).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<ExecResult> missing = runtime_->Exec("host", {"no-such-check"}, absl::Seconds(1));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "exec: \"no-such-check\" is not in the module's PATH");
  EXPECT_EQ(runtime_->Exec("host", {}, absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ProcessRuntimeTest, ReadingOnFromACursorGetsEveryLineOnceAcrossRotations) {
  // About 11 KiB of output (with the time stamps), 2 KiB a second, through 1 KiB files.
  runtime_ = NewRuntime(/*log_max_bytes=*/1024, /*log_files=*/3);
  Run("counter",
      "i=0; while [ $i -lt 300 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.005; done; sleep 30");
  absl::StatusOr<LogText> logs = runtime_->ReadLogs("counter", {.tail_lines = 1});
  ASSERT_TRUE(logs.ok()) << logs.status();
  std::string text = logs->text;
  LogCursor cursor = logs->end;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(text, "line 299\n") && absl::Now() < deadline) {
    absl::StatusOr<LogText> more = runtime_->ReadLogsAfter("counter", cursor);
    ASSERT_TRUE(more.ok()) << more.status();
    text += more->text;
    cursor = more->end;
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  int first = 0;
  ASSERT_EQ(std::sscanf(lines[0].c_str(), "line %d", &first), 1) << lines[0];
  ASSERT_EQ(lines.back(), "line 299");
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], absl::StrCat("line ", first + static_cast<int>(i)));
  }
  ASSERT_TRUE(runtime_->Remove("counter").ok());
  EXPECT_EQ(runtime_->ReadLogsAfter("counter", cursor).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ProcessRuntimeTest, LinesAreSelectedByTheTimeTheyWereWritten) {
  Run("clock", "echo early; sleep 1; echo late");
  ASSERT_TRUE(WaitForOutput("clock", "early"));
  const absl::Time between = absl::Now() + absl::Milliseconds(300);
  WaitForExit("clock");
  absl::StatusOr<LogText> logs = runtime_->ReadLogs("clock", {.since = between});
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->text, "late\n");
  // On disk every line carries its time.
  EXPECT_THAT(ReadFile(dir_.path() / "modules/clock/output.log"),
              ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z early\n20[0-9-]+T[0-9:.]+Z late\n"));
}

}  // namespace
}  // namespace edge::agent
