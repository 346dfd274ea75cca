// edge-hub as a real process: the launcher execs mosquitto with our plugin, whose gRPC service
// (edge.hub.v1.Hub) answers on $EDGE_HOME/run/hub.sock. No store runs here (hub_auth_test.cc has
// the clients), so every MQTT client is refused.
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "edge/hub/v1/hub.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/support/free_port.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::hub {
namespace {

using ::edge::testing::BinDir;
using ::edge::testing::Finished;
using ::edge::testing::FreeLoopbackPort;
using ::edge::testing::ReadFile;
using ::edge::testing::RunToExit;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

bool ExitedWith(int wait_status, int code) {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == code;
}

class HubTest : public ::testing::Test {
 protected:
  void WriteConfig(const std::string& text) { std::ofstream(home_.path() / "config.toml") << text; }

  // The TLS listeners on loopback ports of the test's own, plus `extra` [hub] lines.
  void WriteHubConfig(const std::string& extra) {
    sas_port_ = FreeLoopbackPort();
    x509_port_ = FreeLoopbackPort();
    WriteConfig(absl::StrCat("[hub]\nbind_address = \"127.0.0.1\"\nsas_port = ", sas_port_,
                             "\nx509_port = ", x509_port_, "\n", extra));
  }

  // Starts edge-hub with a plain loopback listener on a free port too.
  void StartWithPlainListener() {
    plain_port_ = FreeLoopbackPort();
    ASSERT_GT(plain_port_, 0);
    WriteHubConfig(absl::StrCat("plain_port = ", plain_port_, "\n"));
    ASSERT_TRUE(hub_.Start().ok()) << hub_.Log();
  }

  absl::StatusOr<v1::HubInfo> GetHubInfo() {
    auto stub = v1::Hub::NewStub(hub_.Channel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::HubInfo info;
    grpc::Status status = stub->GetHubInfo(&context, v1::GetHubInfoRequest(), &info);
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    return info;
  }

  TempDir home_;
  ServiceProcess hub_{"hub", home_.path()};
  int plain_port_ = 0;
  int sas_port_ = 0;
  int x509_port_ = 0;
};

TEST_F(HubTest, GetHubInfoReportsTheBrokerAndItsListeners) {
  StartWithPlainListener();

  absl::StatusOr<v1::HubInfo> info = GetHubInfo();

  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->instance_id().empty());
  // edge-hub execs mosquitto: the process the supervisor started is the broker.
  EXPECT_EQ(info->broker_pid(), hub_.process()->pid());
  EXPECT_GE(info->uptime_seconds(), 0.0);
  ASSERT_EQ(info->listeners_size(), 4);
  EXPECT_EQ(info->listeners(0).kind(), "wake");
  EXPECT_EQ(info->listeners(0).address(),
            absl::StrCat("unix:", (home_.path() / "run/hub-wake.sock").string()));
  EXPECT_EQ(info->listeners(1).kind(), "sas");
  EXPECT_EQ(info->listeners(1).address(), absl::StrCat("127.0.0.1:", sas_port_));
  EXPECT_EQ(info->listeners(2).kind(), "x509");
  EXPECT_EQ(info->listeners(2).address(), absl::StrCat("127.0.0.1:", x509_port_));
  EXPECT_EQ(info->listeners(3).kind(), "plain");
  EXPECT_EQ(info->listeners(3).address(), absl::StrCat("127.0.0.1:", plain_port_));
  EXPECT_EQ(info->connected_clients(), 0);
}

TEST_F(HubTest, InstanceIdIsNewAtEveryStart) {
  StartWithPlainListener();
  absl::StatusOr<v1::HubInfo> first = GetHubInfo();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(ExitedWith(hub_.Stop(), 0)) << hub_.Log();

  ASSERT_TRUE(hub_.Start().ok()) << hub_.Log();
  absl::StatusOr<v1::HubInfo> second = GetHubInfo();

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->instance_id(), first->instance_id());
}

// An idle broker waits up to 100 ms in epoll_wait; the wake client makes it run TICK at once.
// GetHubInfo queues its own work for TICK and reports how long that took.
TEST_F(HubTest, IdleBrokerRunsQueuedWorkWithinMilliseconds) {
  StartWithPlainListener();
  std::vector<int64_t> latencies_us;
  for (int i = 0; i < 20; ++i) {
    absl::SleepFor(absl::Milliseconds(20));  // idle: the broker is back in epoll_wait
    absl::StatusOr<v1::HubInfo> info = GetHubInfo();
    ASSERT_TRUE(info.ok()) << info.status();
    latencies_us.push_back(info->last_wake_latency_us());
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  std::cout << "idle wake latency (us): min " << latencies_us.front() << ", median "
            << latencies_us[latencies_us.size() / 2] << ", max " << latencies_us.back() << "\n";
  RecordProperty("idle_wake_latency_median_us",
                 static_cast<int>(latencies_us[latencies_us.size() / 2]));

  EXPECT_GE(latencies_us.front(), 0);
  EXPECT_LT(latencies_us[latencies_us.size() / 2], 3000);
  // Without a wake-up, work would wait for the broker's 100 ms idle timeout.
  EXPECT_LT(latencies_us.back(), 50000);
}

// No store has ever answered and there is no identity cache: nobody can be authenticated.
TEST_F(HubTest, WithoutIdentitiesEveryClientIsRefused) {
  StartWithPlainListener();

  Finished pub =
      RunToExit({"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(plain_port_),
                 "-i", "d1", "-t", "x", "-m", "y", "-u", "h/d1/?api-version=1", "-P", "p"});

  EXPECT_FALSE(pub.ExitedWith(0)) << pub.output;
  EXPECT_THAT(pub.output, HasSubstr("not authorised"));
  EXPECT_THAT(hub_.Log(), HasSubstr("refusing client \"d1\""));
  EXPECT_THAT(hub_.Log(), HasSubstr("identities_not_loaded"));
}

TEST_F(HubTest, NoPlainListenerUnlessConfigured) {
  WriteHubConfig("");
  ASSERT_TRUE(hub_.Start().ok()) << hub_.Log();

  absl::StatusOr<v1::HubInfo> info = GetHubInfo();

  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->listeners_size(), 3);
  EXPECT_EQ(info->listeners(0).kind(), "wake");
  EXPECT_EQ(info->listeners(1).kind(), "sas");
  EXPECT_EQ(info->listeners(2).kind(), "x509");
  const std::string conf = ReadFile(home_.path() / "run/mosquitto.conf");
  EXPECT_THAT(conf, HasSubstr("per_listener_settings false\n"));
  EXPECT_THAT(conf, HasSubstr("allow_anonymous false\n"));
  EXPECT_THAT(conf, HasSubstr("max_queued_bytes "));
  EXPECT_THAT(
      conf, HasSubstr(absl::StrCat("listener 0 ", home_.path().string(), "/run/hub-wake.sock\n")));
  EXPECT_THAT(conf, Not(HasSubstr("Plain MQTT")));
}

TEST_F(HubTest, SigtermStopsTheBrokerAndEveryThreadPromptly) {
  StartWithPlainListener();
  ASSERT_TRUE(GetHubInfo().ok());

  const absl::Time start = absl::Now();
  const int wait_status = hub_.Stop(absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;

  EXPECT_TRUE(ExitedWith(wait_status, 0)) << DescribeWaitStatus(wait_status) << "\n" << hub_.Log();
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_THAT(hub_.Log(), HasSubstr("hub plugin stopped"));
  EXPECT_FALSE(std::filesystem::exists(home_.path() / "run/hub.sock"));
}

// Calls waiting for TICK when the broker stops are answered (run, or UNAVAILABLE) rather than
// left hanging, and cleanup still joins every thread.
TEST_F(HubTest, SigtermWhileCallsAreInFlightStillExitsCleanly) {
  StartWithPlainListener();
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      auto stub = v1::Hub::NewStub(hub_.Channel());
      while (!stop.load()) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        v1::HubInfo info;
        if (stub->GetHubInfo(&context, v1::GetHubInfoRequest(), &info).ok()) answered.fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(100));

  const absl::Time start = absl::Now();
  const int wait_status = hub_.Stop(absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;
  stop = true;
  for (std::thread& caller : callers) caller.join();

  std::cout << "stopped in " << absl::FormatDuration(took) << " with calls in flight\n";
  EXPECT_GT(answered.load(), 0);
  EXPECT_TRUE(ExitedWith(wait_status, 0)) << DescribeWaitStatus(wait_status) << "\n" << hub_.Log();
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(HubTest, UnknownHubKeyExitsTwoNamingTheKey) {
  WriteConfig("[hub]\nbogus = 1\n");

  Finished hub =
      RunToExit({(BinDir() / "edge-hub").string(), "--edge-home", home_.path().string()});

  EXPECT_TRUE(hub.ExitedWith(2)) << hub.output;
  EXPECT_THAT(hub.output, HasSubstr("hub.bogus"));
  EXPECT_FALSE(std::filesystem::exists(home_.path() / "run/mosquitto.conf"));
}

TEST_F(HubTest, MissingPluginExitsTwoNamingTheKey) {
  WriteConfig("[hub]\nplugin = \"/nonexistent/libedge_hub_plugin.so\"\n");

  Finished hub =
      RunToExit({(BinDir() / "edge-hub").string(), "--edge-home", home_.path().string()});

  EXPECT_TRUE(hub.ExitedWith(2)) << hub.output;
  EXPECT_THAT(hub.output, HasSubstr("hub.plugin"));
}

}  // namespace
}  // namespace edge::hub
