// `edgectl route list|set|test` against the real edge-store and edge-router.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
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

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess router_{"router", home_.path()};
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

TEST_F(RouteCommandsTest, ARouterThatIsDownIsSaidToBeUnreachable) {
  router_.Stop();

  Finished list = Edgectl({"route", "list"});

  EXPECT_TRUE(list.ExitedWith(1)) << list.output;
  EXPECT_THAT(list.output, HasSubstr("the router is not reachable"));
  EXPECT_THAT(list.output, Not(HasSubstr("Segmentation")));
}

}  // namespace
}  // namespace edge::cli
