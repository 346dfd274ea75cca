// edge-store's metrics through the real binary: what it counts, read back over gRPC
// (edge.metrics.v1.Metrics), over HTTP (metrics_port) and with `edgectl metrics`.
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "edge/metrics/v1/metrics.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/support/free_port.h"
#include "tests/support/service_process.h"
#include "tests/support/store_client.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/queue_test_builders.h"

namespace edge::store {
namespace {

using ::edge::store::testing::AppendBuilder;
using ::edge::store::testing::Queue;
using ::edge::testing::BinDir;
using ::edge::testing::FreeLoopbackPort;
using ::edge::testing::ReadToEnd;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr char kStore[] = "edge.store.v1.MessageStore";

std::chrono::system_clock::time_point In(std::chrono::seconds d) {
  return std::chrono::system_clock::now() + d;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Each sample line of exposition text as "name{labels}" -> "value".
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return samples;
}

// The series key of edge_grpc_server_handled_total for one store RPC and code.
std::string Handled(absl::string_view method, absl::string_view code) {
  return absl::StrCat("edge_grpc_server_handled_total{grpc_service=\"", kStore, "\",grpc_method=\"",
                      method, "\",grpc_code=\"", code, "\"}");
}

class StoreMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_port_ = FreeLoopbackPort();
    ASSERT_NE(metrics_port_, 0);
    std::ofstream(home_.path() / "config.toml")
        << "[store]\nmetrics_port = " << metrics_port_ << "\n";
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    stub_ = v1::MessageStore::NewStub(store_.Channel());
  }

  grpc::Status Append(const v1::AppendMessagesRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    v1::AppendMessagesResponse response;
    return stub_->AppendMessages(&context, request, &response);
  }

  grpc::Status Checkpoint(const v1::QueueId& queue, uint64_t offset) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    v1::CheckpointRequest request;
    *request.mutable_queue() = queue;
    request.set_offset(offset);
    v1::CheckpointResponse response;
    return stub_->Checkpoint(&context, request, &response);
  }

  metrics::v1::GetMetricsResponse GetMetrics() {
    auto stub = metrics::v1::Metrics::NewStub(store_.Channel());
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    metrics::v1::GetMetricsResponse response;
    grpc::Status status = stub->GetMetrics(&context, metrics::v1::GetMetricsRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::map<std::string, std::string> GrpcSamples() { return Samples(GetMetrics().text()); }

  // Runs `edgectl --edge-home <home> args...`; returns its exit code, its output in `output`.
  int Edgectl(const std::vector<std::string>& args, std::string* output) {
    TempDir out;
    std::vector<std::string> argv = {(BinDir() / "edgectl").string(), "--edge-home",
                                     home_.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<Subprocess> process =
        Subprocess::Start({.argv = argv, .log_file = out.path() / "edgectl.out"});
    if (!process.ok()) {
      ADD_FAILURE() << process.status();
      return -1;
    }
    absl::StatusOr<int> status = process->Wait(absl::Seconds(30));
    *output = ReadFile(out.path() / "edgectl.out");
    if (!status.ok() || !WIFEXITED(*status)) return -1;
    return WEXITSTATUS(*status);
  }

  TempDir home_;
  int metrics_port_ = 0;
  ServiceProcess store_{"store", home_.path()};
  std::unique_ptr<v1::MessageStore::Stub> stub_;
};

TEST_F(StoreMetricsTest, AppendsAreCountedByMessageAndByBatch) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(3, "m", {Queue("a"), Queue("b")})).ok());
  const v1::AppendMessagesRequest journalled =
      AppendBuilder().Journal("hub", 1).Messages(2, "j", {Queue("a")});
  ASSERT_TRUE(Append(journalled).ok());
  ASSERT_TRUE(Append(journalled).ok());  // a replay: both messages are duplicates

  std::map<std::string, std::string> samples = GrpcSamples();
  EXPECT_EQ(samples["edge_store_appended_messages_total"], "5");
  EXPECT_EQ(samples["edge_store_append_batches_total"], "3");
  EXPECT_EQ(samples["edge_store_duplicate_messages_total"], "2");
  EXPECT_EQ(samples[Handled("AppendMessages", "OK")], "3");
  EXPECT_EQ(samples["edge_store_queues"], "2");
  EXPECT_EQ(samples["edge_store_queued_entries"], "8");  // a: 3 + 2, b: 3
}

TEST_F(StoreMetricsTest, StreamedEntriesAndCheckpointsAreCounted) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(4, "m", {Queue("a")})).ok());
  ASSERT_EQ(ReadToEnd(*stub_, Queue("a")).size(), 4u);
  ASSERT_EQ(ReadToEnd(*stub_, Queue("a"), /*from=*/3).size(), 2u);
  ASSERT_TRUE(Checkpoint(Queue("a"), 2).ok());
  ASSERT_TRUE(Checkpoint(Queue("a"), 1).ok());  // behind the checkpoint: accepted, no change

  // A finished stream is torn down on the server just after its client saw the end, so the
  // stream gauge and the handled count settle a moment later.
  std::map<std::string, std::string> samples = GrpcSamples();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (
      (samples["edge_store_read_streams"] != "0" || samples[Handled("ReadQueue", "OK")] != "2") &&
      absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
    samples = GrpcSamples();
  }
  EXPECT_EQ(samples["edge_store_read_entries_total"], "6");
  EXPECT_EQ(samples["edge_store_read_streams"], "0");
  EXPECT_EQ(samples["edge_store_checkpoints_total"], "2");
  EXPECT_EQ(samples["edge_store_queued_entries"], "2");
  EXPECT_EQ(samples[Handled("ReadQueue", "OK")], "2");
  EXPECT_EQ(samples[absl::StrCat("edge_grpc_server_handling_seconds_count{grpc_service=\"", kStore,
                                 "\",grpc_method=\"Checkpoint\"}")],
            "2");
}

TEST_F(StoreMetricsTest, RejectedRequestsAreCountedByRpcAndCode) {
  ASSERT_EQ(Append(v1::AppendMessagesRequest()).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // an empty batch
  ASSERT_EQ(Append(AppendBuilder().Message("m", {Queue("a", 10)})).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // priority above 9
  ASSERT_EQ(Checkpoint(Queue("missing"), 1).error_code(), grpc::StatusCode::NOT_FOUND);

  std::map<std::string, std::string> samples = GrpcSamples();
  EXPECT_EQ(samples[Handled("AppendMessages", "INVALID_ARGUMENT")], "2");
  EXPECT_EQ(samples[Handled("Checkpoint", "NOT_FOUND")], "1");
  EXPECT_EQ(samples.count(Handled("AppendMessages", "OK")), 0u);
  EXPECT_EQ(samples["edge_store_append_batches_total"], "0");
  EXPECT_EQ(samples["edge_store_checkpoints_total"], "0");
}

TEST_F(StoreMetricsTest, ExpiredEntriesAreCounted) {
  ASSERT_TRUE(Append(AppendBuilder()
                         .Message("short", {Queue("a")}, /*ttl_seconds=*/1)
                         .Message("short", {Queue("b")}, /*ttl_seconds=*/1)
                         .Message("long", {Queue("a")}))
                  .ok());
  EXPECT_EQ(GrpcSamples()["edge_store_expired_entries_total"], "0");
  // The store's own clock decides; wait for it rather than for a fixed time.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string expired;
  while ((expired = GrpcSamples()["edge_store_expired_entries_total"]) != "2" &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(expired, "2");
  // A checkpoint deletes expired entries; the count stays.
  ASSERT_TRUE(Checkpoint(Queue("a"), 2).ok());
  EXPECT_EQ(GrpcSamples()["edge_store_expired_entries_total"], "2");
}

TEST_F(StoreMetricsTest, GetMetricsNamesTheService) {
  metrics::v1::GetMetricsResponse response = GetMetrics();
  EXPECT_EQ(response.service(), "store");
  EXPECT_THAT(response.text(), HasSubstr("# TYPE edge_store_appended_messages_total counter\n"));
  EXPECT_THAT(response.text(), HasSubstr("# TYPE edge_grpc_server_handling_seconds histogram\n"));
}

TEST_F(StoreMetricsTest, HttpEndpointServesTheSameCounts) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(2, "m", {Queue("a")})).ok());
  httplib::Client client("127.0.0.1", metrics_port_);
  httplib::Result result = client.Get("/metrics");
  ASSERT_TRUE(result) << httplib::to_string(result.error()) << "\n" << store_.Log();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::map<std::string, std::string> http = Samples(result->body);
  EXPECT_EQ(http["edge_store_appended_messages_total"], "2");
  EXPECT_EQ(http[Handled("AppendMessages", "OK")], "1");
  std::map<std::string, std::string> grpc = GrpcSamples();
  EXPECT_EQ(grpc["edge_store_appended_messages_total"], "2");
  EXPECT_EQ(grpc[Handled("AppendMessages", "OK")], "1");
}

TEST_F(StoreMetricsTest, EdgectlPrintsTheStoresMetrics) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(3, "m", {Queue("a")})).ok());
  std::string output;
  ASSERT_EQ(Edgectl({"metrics", "store"}, &output), 0) << output;
  EXPECT_THAT(output, StartsWith("# service: store\n"));
  EXPECT_THAT(Samples(output), Contains(Pair("edge_store_appended_messages_total", "3")));
}

TEST_F(StoreMetricsTest, EdgectlWithoutAServicePrintsEveryRunningOne) {
  // Only the store runs (no supervisor): the services that are not listening are left out.
  std::string output;
  ASSERT_EQ(Edgectl({"metrics"}, &output), 0) << output;
  EXPECT_THAT(output, StartsWith("# service: store\n"));
  EXPECT_THAT(output, Not(HasSubstr("# service: router")));
}

TEST_F(StoreMetricsTest, EdgectlNamesAServiceThatIsNotReachable) {
  std::string output;
  EXPECT_EQ(Edgectl({"metrics", "router"}, &output), 1);
  EXPECT_THAT(output, HasSubstr("edge-router is not reachable"));
}

TEST(StoreMetricsConfigTest, BadMetricsPortStopsTheStoreNamingTheKey) {
  TempDir home;
  std::ofstream(home.path() / "config.toml") << "[store]\nmetrics_port = 123456\n";
  TempDir out;
  auto process = Subprocess::Start(
      {.argv = {(BinDir() / "edge-store").string(), "--edge-home", home.path().string()},
       .log_file = out.path() / "store.log"});
  ASSERT_TRUE(process.ok());
  absl::StatusOr<int> status = process->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2);
  EXPECT_THAT(ReadFile(out.path() / "store.log"), HasSubstr("store.metrics_port"));
}

}  // namespace
}  // namespace edge::store
