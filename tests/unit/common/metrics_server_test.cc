// How a ServiceRunner exports metrics: per-RPC metrics from its interceptor,
// edge.metrics.v1.Metrics, the optional HTTP endpoint and the config keys that turn it on. An
// in-process server on loopback TCP.
#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/health_check.h"
#include "common/metrics.h"
#include "common/metrics_http_server.h"
#include "common/service_runner.h"
#include "edge/metrics/v1/metrics.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/support/free_port.h"

namespace edge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The runner's listen address: TCP on loopback, a port the kernel picks.
ListenAddress Loopback() { return *ParseListen("127.0.0.1:0", "/unused", "test"); }

class MetricsServerTest : public ::testing::Test {
 protected:
  void StartRunner(MetricsHttpOptions http = {}) {
    runner_ = std::make_unique<ServiceRunner>("test", Loopback(), absl::Seconds(1));
    runner_->SetMetrics(&registry_, http);
    ASSERT_TRUE(runner_->Start({}).ok());
    channel_ = grpc::CreateChannel(runner_->target(), grpc::InsecureChannelCredentials());
  }

  metrics::v1::GetMetricsResponse GetMetrics() {
    auto stub = metrics::v1::Metrics::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    metrics::v1::GetMetricsResponse response;
    grpc::Status status = stub->GetMetrics(&context, metrics::v1::GetMetricsRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  MetricsRegistry registry_;  // outlives the runner
  std::unique_ptr<ServiceRunner> runner_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(MetricsServerTest, GetMetricsNamesTheServiceAndRendersTheRegistry) {
  registry_.AddCounter("edge_test_things_total", "Things.").Increment(3);
  StartRunner();
  metrics::v1::GetMetricsResponse response = GetMetrics();
  EXPECT_EQ(response.service(), "test");
  EXPECT_THAT(response.text(), HasSubstr("# TYPE edge_test_things_total counter\n"
                                         "edge_test_things_total 3\n"));
}

TEST_F(MetricsServerTest, EveryCallIsCountedByMethodAndCode) {
  StartRunner();
  GetMetrics();
  // The call that renders has started but not finished.
  const std::string text = GetMetrics().text();
  constexpr char kLabels[] = "{grpc_service=\"edge.metrics.v1.Metrics\",grpc_method=\"GetMetrics\"";
  EXPECT_THAT(text, HasSubstr(absl::StrCat("edge_grpc_server_started_total", kLabels, "} 2\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("edge_grpc_server_handled_total", kLabels,
                                           ",grpc_code=\"OK\"} 1\n")));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("edge_grpc_server_handling_seconds_count", kLabels, "} 1\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("edge_grpc_server_handling_seconds_bucket", kLabels,
                                           ",le=\"+Inf\"} 1\n")));
}

TEST_F(MetricsServerTest, HealthChecksAreLabelledByName) {
  StartRunner();
  ASSERT_TRUE(CheckHealth(runner_->target(), absl::Seconds(5)).ok());
  EXPECT_THAT(GetMetrics().text(),
              HasSubstr("edge_grpc_server_handled_total{grpc_service=\"grpc.health.v1.Health\","
                        "grpc_method=\"Check\",grpc_code=\"OK\"} 1\n"));
}

TEST_F(MetricsServerTest, ErrorCodesAreCountedSeparately) {
  StartRunner();
  // Compiled into this binary but not served here: UNIMPLEMENTED, labelled by its name.
  auto stub = store::v1::MessageStore::NewStub(channel_);
  grpc::ClientContext context;
  store::v1::ListQueuesResponse response;
  EXPECT_EQ(stub->ListQueues(&context, store::v1::ListQueuesRequest(), &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(
      GetMetrics().text(),
      HasSubstr("edge_grpc_server_handled_total{grpc_service=\"edge.store.v1.MessageStore\","
                "grpc_method=\"ListQueues\",grpc_code=\"UNIMPLEMENTED\"} 1\n"));
}

TEST_F(MetricsServerTest, MethodsNotInTheBinaryShareOneUnknownSeries) {
  StartRunner();
  grpc::GenericStub stub(channel_);
  for (const char* method : {"/no.such.Service/A", "/no.such.Service/B", "garbage"}) {
    grpc::ClientContext context;
    grpc::Slice empty("", 0);
    grpc::ByteBuffer request(&empty, 1), response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, {}, &request, &response,
                   [&done](grpc::Status s) { done.set_value(std::move(s)); });
    EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
  }
  const std::string text = GetMetrics().text();
  EXPECT_THAT(text, HasSubstr("edge_grpc_server_handled_total{grpc_service=\"unknown\","
                              "grpc_method=\"unknown\",grpc_code=\"UNIMPLEMENTED\"} 3\n"));
  EXPECT_THAT(text, Not(HasSubstr("no.such")));
}

TEST_F(MetricsServerTest, HttpEndpointServesTheSameText) {
  registry_.AddCounter("edge_test_things_total", "Things.").Increment(3);
  const int port = testing::FreeLoopbackPort();
  ASSERT_NE(port, 0);
  StartRunner({.address = "127.0.0.1", .port = port});
  EXPECT_EQ(runner_->metrics_endpoint(), absl::StrCat("127.0.0.1:", port));
  httplib::Client client("127.0.0.1", port);
  httplib::Result result = client.Get("/metrics");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(result->body, HasSubstr("edge_test_things_total 3\n"));
  EXPECT_EQ(client.Get("/")->status, 404);
}

TEST_F(MetricsServerTest, HttpEndpointStopsWithTheRunner) {
  const int port = testing::FreeLoopbackPort();
  StartRunner({.address = "127.0.0.1", .port = port});
  runner_->Shutdown();
  EXPECT_EQ(runner_->metrics_endpoint(), "");
  httplib::Client client("127.0.0.1", port);
  EXPECT_FALSE(client.Get("/metrics"));
}

TEST_F(MetricsServerTest, MetricsPortInUseFailsStartNamingTheKey) {
  auto taken = MetricsHttpServer::Start(&registry_, "127.0.0.1", 0);
  ASSERT_TRUE(taken.ok());
  ServiceRunner runner("test", Loopback(), absl::Seconds(1));
  runner.SetMetrics(&registry_, {.address = "127.0.0.1", .port = (*taken)->port()});
  absl::Status status = runner.Start({});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("test.metrics_port: "));
}

TEST_F(MetricsServerTest, RunnerWithoutARegistryStillServesRpcMetrics) {
  ServiceRunner runner("test", Loopback(), absl::Seconds(1));
  ASSERT_TRUE(runner.Start({}).ok());
  channel_ = grpc::CreateChannel(runner.target(), grpc::InsecureChannelCredentials());
  GetMetrics();
  EXPECT_THAT(GetMetrics().text(), HasSubstr("edge_grpc_server_handled_total{"));
}

TEST(MetricsHttpServerTest, PortZeroPicksAFreePort) {
  MetricsRegistry registry;
  auto server = MetricsHttpServer::Start(&registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
  httplib::Client client("127.0.0.1", (*server)->port());
  ASSERT_TRUE(client.Get("/metrics"));
}

TEST(MetricsHttpServerTest, BadAddressIsUnavailable) {
  MetricsRegistry registry;
  EXPECT_EQ(MetricsHttpServer::Start(&registry, "192.0.2.1", 0).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(MetricsHttpServer::Start(&registry, "127.0.0.1", 70000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetricsHttpOptionsTest, OffAndOnLoopbackByDefault) {
  ConfigSection section = Config::Parse("")->Section("store");
  absl::StatusOr<MetricsHttpOptions> options = MetricsHttpOptionsFromSection(section);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->port, 0);
  EXPECT_EQ(options->address, "127.0.0.1");
}

TEST(MetricsHttpOptionsTest, KeysAreReadAndSoNotUnknown) {
  ConfigSection section =
      Config::Parse("[store]\nmetrics_port = 9600\nmetrics_address = \"0.0.0.0\"\n")
          ->Section("store");
  absl::StatusOr<MetricsHttpOptions> options = MetricsHttpOptionsFromSection(section);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->port, 9600);
  EXPECT_EQ(options->address, "0.0.0.0");
  EXPECT_TRUE(section.CheckNoUnknownKeys().ok());
}

TEST(MetricsHttpOptionsTest, BadValuesNameTheKey) {
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"[store]\nmetrics_port = 70000\n", "store.metrics_port"},
           {"[store]\nmetrics_port = -1\n", "store.metrics_port"},
           {"[store]\nmetrics_port = \"9600\"\n", "store.metrics_port"},
           {"[store]\nmetrics_address = \"\"\n", "store.metrics_address"}}) {
    ConfigSection section = Config::Parse(text)->Section("store");
    absl::StatusOr<MetricsHttpOptions> options = MetricsHttpOptionsFromSection(section);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(options.status().message()), HasSubstr(key)) << text;
  }
}

}  // namespace
}  // namespace edge
