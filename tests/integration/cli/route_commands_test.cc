// `edgectl route list|set|test` against the real edge-store and edge-router.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/support/run_to_exit.h"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::cli {
namespace {

using ::edge::testing::BinDir;
using ::edge::testing::Finished;
using ::edge::testing::RunToExit;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRoutes[] = R"json({
  "schemaVersion": "1.1",
  "routes": {
    "sensorToFilter": "FROM /messages/modules/sensor/* INTO BrokeredEndpoint(\"/modules/filter/inputs/input1\")",
    "hotAlerts": {"route": "FROM /messages/modules/filter/outputs/alert WHERE $body.temperature > 30 INTO $upstream", "priority": 0}
  },
  "storeAndForwardConfiguration": {"timeToLiveSecs": 3600}
})json";

class RouteCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    ASSERT_TRUE(router_.Start().ok()) << router_.Log();
  }

  Finished Edgectl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {(BinDir() / "edgectl").string(), "--edge-home", home_.path().string()});
    return RunToExit(args, absl::Seconds(30));
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::filesystem::path path = home_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // Sets kRoutes and waits until the router has them in force.
  void SetRoutes() {
    ASSERT_TRUE(Edgectl({"route", "set", WriteFile("routes.json", kRoutes)}).ExitedWith(0));
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!absl::StrContains(Edgectl({"route", "list"}).output, "hotAlerts")) {
      ASSERT_LT(absl::Now(), deadline) << "the routes never came into force";
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  // One message from module sensor through the router's Ingest, as the hub sends it.
  void AppendThroughRouter() { AppendThroughRouter("sensor", "", "{}"); }

  // One JSON message from `module` (on `output`, when not empty) through the router's Ingest.
  void AppendThroughRouter(const std::string& module, const std::string& output,
                           const std::string& body) {
    auto stub = router::v1::Router::NewStub(router_.Channel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto stream = stub->Ingest(&context);
    router::v1::IngestRequest request;
    router::v1::IngestBatch* batch = request.mutable_batch();
    batch->set_journal_id("test");
    batch->set_first_sequence(++sequence_);
    common::v1::Message* message = batch->add_messages();
    message->mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
    message->mutable_source()->set_device_id("edge-device");
    message->mutable_source()->set_module_id(module);
    message->mutable_source()->set_output_name(output);
    (*message->mutable_system_properties())["contentType"] = "application/json";
    (*message->mutable_system_properties())["contentEncoding"] = "utf-8";
    message->set_body(body);
    stream->Write(request);
    router::v1::IngestResponse response;
    stream->Read(&response);
    stream->WritesDone();
    stream->Finish();
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess router_{"router", home_.path()};
  uint64_t sequence_ = 0;
};

TEST_F(RouteCommandsTest, SetListAndTestRoutesAsAUserWould) {
  Finished empty = Edgectl({"route", "list"});
  EXPECT_TRUE(empty.ExitedWith(0)) << empty.output;
  EXPECT_THAT(empty.output, HasSubstr("no routes in force"));

  Finished set = Edgectl({"route", "set", WriteFile("routes.json", kRoutes)});
  ASSERT_TRUE(set.ExitedWith(0)) << set.output;
  EXPECT_THAT(set.output, HasSubstr("wrote the $edgeHub routes as desired version"));

  Finished list;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    list = Edgectl({"route", "list"});
  } while (!absl::StrContains(list.output, "sensorToFilter") && absl::Now() < deadline);
  EXPECT_THAT(list.output, HasSubstr("hotAlerts"));
  EXPECT_THAT(list.output, HasSubstr("3600 s"));

  Finished hot = Edgectl({"route", "test", "--source", "edge-device/filter/alert", "--body",
                          R"({"temperature": 35})"});
  ASSERT_TRUE(hot.ExitedWith(0)) << hot.output;
  EXPECT_THAT(hot.output, HasSubstr("/messages/modules/filter/outputs/alert/"));
  EXPECT_THAT(hot.output, HasSubstr("$upstream"));
  EXPECT_THAT(hot.output, HasSubstr("source mismatch"));

  Finished cold = Edgectl({"route", "test", "--source", "edge-device/filter/alert", "--body",
                           R"({"temperature": 20})"});
  ASSERT_TRUE(cold.ExitedWith(0)) << cold.output;
  EXPECT_THAT(cold.output, HasSubstr("no route matched: the message would be dropped"));
  EXPECT_THAT(cold.output, HasSubstr("condition False"));

  Finished json = Edgectl({"-o", "json", "route", "test", "--source", "edge-device/sensor"});
  ASSERT_TRUE(json.ExitedWith(0)) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"source_path\": \"/messages/modules/sensor/\""));
  EXPECT_THAT(json.output, HasSubstr("BrokeredEndpoint(\\\"/modules/filter/inputs/input1\\\")"));
}

TEST_F(RouteCommandsTest, BadInputExitsTwoSayingWhatIsWrong) {
  Finished bad_source = Edgectl({"route", "test", "--source", "a/b/c/d"});
  EXPECT_TRUE(bad_source.ExitedWith(2)) << bad_source.output;
  EXPECT_THAT(bad_source.output, HasSubstr("expected DEVICE"));

  Finished bad_document =
      Edgectl({"route", "set",
               WriteFile("bad.json", R"({"schemaVersion": "1.1", "routes": {"r": "FROM"}})")});
  EXPECT_TRUE(bad_document.ExitedWith(2)) << bad_document.output;
  EXPECT_THAT(bad_document.output, HasSubstr("'r'"));

  Finished no_routes = Edgectl({"route", "test", "--source", "d"});
  EXPECT_TRUE(no_routes.ExitedWith(1)) << no_routes.output;
  EXPECT_THAT(no_routes.output, HasSubstr("no routes are configured"));

  Finished missing_file = Edgectl({"route", "set", "/nonexistent/routes.json"});
  EXPECT_FALSE(missing_file.ExitedWith(0)) << missing_file.output;
  EXPECT_THAT(missing_file.output, HasSubstr("cannot read /nonexistent/routes.json"));
}

TEST_F(RouteCommandsTest, EndpointListShowsQueuesAndWhatIsDoneWithThem) {
  Finished none = Edgectl({"endpoint", "list"});
  EXPECT_TRUE(none.ExitedWith(0)) << none.output;
  EXPECT_THAT(none.output, HasSubstr("nothing has been routed"));

  ASSERT_TRUE(Edgectl({"route", "set", WriteFile("routes.json", kRoutes)}).ExitedWith(0));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  Finished list;
  do {
    // The hub is not running here: ingest one message the way it would, through the router.
    list = Edgectl({"endpoint", "list"});
    if (absl::StrContains(list.output, "no hub attached")) break;
    if (!absl::StrContains(list.output, "input1")) AppendThroughRouter();
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);

  EXPECT_TRUE(list.ExitedWith(0)) << list.output;
  EXPECT_THAT(list.output, HasSubstr("BrokeredEndpoint(\"/modules/filter/inputs/input1\")"));
  EXPECT_THAT(list.output, HasSubstr("no hub attached"));
  EXPECT_THAT(list.output, HasSubstr("DEPTH"));
}

TEST_F(RouteCommandsTest, UpstreamQueuesStayQueuedAndSayThereIsNoUpstreamLink) {
  SetRoutes();
  AppendThroughRouter("filter", "alert", R"({"temperature": 35})");
  AppendThroughRouter("filter", "alert", R"({"temperature": 36})");

  Finished list;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    list = Edgectl({"endpoint", "list"});
    if (absl::StrContains(list.output, "no upstream link configured")) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);

  EXPECT_TRUE(list.ExitedWith(0)) << list.output;
  EXPECT_THAT(list.output,
              ::testing::ContainsRegex(
                  R"(\$upstream +0 +2 .* 0 +no upstream link configured +no upstream)"));
}

TEST_F(RouteCommandsTest, MonitorPrintsALinePerMessageRoutedToTheEndpoint) {
  SetRoutes();
  std::atomic<bool> done{false};
  Finished monitor;
  std::thread watcher([&] {
    monitor = Edgectl({"monitor", "--endpoint", "$upstream", "--count", "2", "--timeout", "10"});
    done = true;
  });
  // Traffic until the monitor has seen two messages for $upstream: the sensor's go elsewhere.
  for (int i = 0; !done && i < 200; ++i) {
    AppendThroughRouter("sensor", "", R"({"temperature": 20})");
    AppendThroughRouter("filter", "alert", R"({"temperature": 40})");
    absl::SleepFor(absl::Milliseconds(50));
  }
  watcher.join();

  ASSERT_TRUE(monitor.ExitedWith(0)) << monitor.output;
  std::vector<std::string> lines = absl::StrSplit(monitor.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << monitor.output;
  for (const std::string& line : lines) {
    EXPECT_THAT(line, HasSubstr("edge-device/filter /messages/modules/filter/outputs/alert/ -> "
                                "$upstream priority 0 [hotAlerts]"));
    EXPECT_THAT(line, HasSubstr("$contentType=application/json"));
    EXPECT_THAT(line, HasSubstr(R"("{\"temperature\": 40}")"));
  }
}

TEST_F(RouteCommandsTest, MonitorExitsOneWhenTooFewMessagesCameInTime) {
  Finished monitor = Edgectl({"monitor", "--count", "1", "--timeout", "0.5"});

  EXPECT_TRUE(monitor.ExitedWith(1)) << monitor.output;
  EXPECT_THAT(monitor.output, HasSubstr("only 0 of 1 messages"));
}

TEST_F(RouteCommandsTest, ARouterThatIsDownIsSaidToBeUnreachable) {
  router_.Stop();

  Finished list = Edgectl({"route", "list"});

  EXPECT_TRUE(list.ExitedWith(1)) << list.output;
  EXPECT_THAT(list.output, HasSubstr("edge-router is not reachable"));
  EXPECT_THAT(list.output, Not(HasSubstr("Segmentation")));
}

}  // namespace
}  // namespace edge::cli
