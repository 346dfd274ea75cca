// edge-router with the real edge-store, over real gRPC on unix sockets in a temp EDGE_HOME: routes
// from the `$edgeHub` twin, SetRoutes/GetRoutes, and Ingest into the store's queues (replays,
// acks after commit, a router killed mid-stream).
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "edge/metrics/v1/metrics.grpc.pb.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "edge/store/v1/state.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/service_process.h"
#include "tests/support/store_client.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/router/router_test_builders.h"
#include "tests/unit/store/queue_test_builders.h"

namespace edge::router {
namespace {

using ::edge::router::testing::Batch;
using ::edge::router::testing::DesiredBuilder;
using ::edge::router::testing::DeviceMessage;
using ::edge::router::testing::kModuleBInput;
using ::edge::router::testing::ModuleMessage;
using ::edge::router::testing::TwinChange;
using ::edge::store::testing::Queue;
using ::edge::testing::BodiesOf;
using ::edge::testing::ReadToEnd;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTwinId[] = "edge-device/$edgeHub";

std::chrono::system_clock::time_point In(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

// A -> B's input in1, every telemetry message -> $upstream.
std::string ModuleAndUpstreamRoutes() {
  return DesiredBuilder()
      .Route("toB", absl::StrCat("FROM /messages/modules/A/* INTO ", kModuleBInput))
      .Route("up", "FROM /messages/* INTO $upstream")
      .Json();
}

// The hub's side of an Ingest stream, synchronously: send a batch, read its response.
class IngestClient {
 public:
  explicit IngestClient(v1::Router::Stub& stub) {
    context_.set_deadline(In(std::chrono::seconds(60)));
    stream_ = stub.Ingest(&context_);
  }
  ~IngestClient() {
    context_.TryCancel();
    v1::IngestResponse ignored;
    while (stream_->Read(&ignored)) {
    }
    stream_->Finish();
  }

  bool Send(const v1::IngestBatch& batch) {
    v1::IngestRequest request;
    *request.mutable_batch() = batch;
    return stream_->Write(request);
  }
  // False when the stream ended.
  bool Read(v1::IngestResponse* response) { return stream_->Read(response); }

  v1::IngestResponse Exchange(const v1::IngestBatch& batch) {
    v1::IngestResponse response;
    EXPECT_TRUE(Send(batch));
    EXPECT_TRUE(Read(&response));
    return response;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestResponse>> stream_;
};

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Quick retries, so tests that restart the store do not wait for long backoffs.
    std::ofstream(home_.path() / "config.toml")
        << "[router]\nstore_retry_initial_seconds = 0.02\nstore_retry_max_seconds = 0.3\n";
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    StartRouter();
    twins_ = store::v1::TwinStore::NewStub(store_.Channel());
    queues_ = store::v1::MessageStore::NewStub(store_.Channel());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::printf("router log:\n%s\nstore log:\n%s\n", router_.Log().c_str(), store_.Log().c_str());
    }
  }

  void StartRouter() {
    absl::Status started = router_.Start();
    ASSERT_TRUE(started.ok()) << started;
    router_stub_ = v1::Router::NewStub(router_.Channel());
  }

  // Replaces the `$edgeHub` desired properties directly in the store, as the agent would.
  int64_t WriteDesired(const std::string& json) {
    grpc::ClientContext context;
    store::v1::ReplaceDesiredRequest request;
    request.set_id(kTwinId);
    request.set_json(json);
    store::v1::Twin twin;
    grpc::Status status = twins_->ReplaceDesired(&context, request, &twin);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return twin.desired().version();
  }

  store::v1::Twin Twin() {
    grpc::ClientContext context;
    store::v1::GetTwinRequest request;
    request.set_id(kTwinId);
    store::v1::Twin twin;
    grpc::Status status = twins_->GetTwin(&context, request, &twin);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return twin;
  }

  nlohmann::json Reported() { return nlohmann::json::parse(Twin().reported().json()); }

  v1::GetRoutesResponse GetRoutes() {
    grpc::ClientContext context;
    v1::GetRoutesResponse response;
    grpc::Status status = router_stub_->GetRoutes(&context, v1::GetRoutesRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The desired version of the status in the router's persisted state (0: none).
  int64_t PersistedStatusVersion() {
    auto stub = store::v1::ServiceState::NewStub(store_.Channel());
    grpc::ClientContext context;
    store::v1::GetStateRequest request;
    request.set_namespace_("router");
    request.set_key("routes");
    store::v1::StateEntry entry;
    if (!stub->Get(&context, request, &entry).ok()) return 0;
    nlohmann::json state = nlohmann::json::parse(entry.value(), nullptr, false);
    if (!state.is_object() || !state.contains("status")) return 0;
    return state["status"].value("desiredVersion", int64_t{0});
  }

  // Waits until the router has processed desired version `version`: in force or rejected,
  // reported, and persisted (its last store write for that version, so later tests' appends do not
  // race it; see the README's note on the store's concurrent writers).
  v1::GetRoutesResponse WaitForStatus(int64_t version) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      v1::GetRoutesResponse routes = GetRoutes();
      nlohmann::json reported = Reported();
      if (routes.status().desired_version() == version &&
          reported.value("lastDesiredVersion", int64_t{0}) == version &&
          PersistedStatusVersion() == version) {
        return routes;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "desired version " << version << " was not processed:\n" << router_.Log();
    return GetRoutes();
  }

  std::vector<std::string> Bodies(const store::v1::QueueId& queue) {
    grpc::Status status;
    std::vector<std::string> bodies = BodiesOf(ReadToEnd(*queues_, queue, 1, &status));
    EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND)
        << status.error_message();
    return bodies;
  }

  std::string RouterMetrics() {
    auto stub = metrics::v1::Metrics::NewStub(router_.Channel());
    grpc::ClientContext context;
    metrics::v1::GetMetricsResponse response;
    EXPECT_TRUE(stub->GetMetrics(&context, metrics::v1::GetMetricsRequest(), &response).ok());
    return response.text();
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  ServiceProcess router_{"router", home_.path()};
  std::unique_ptr<store::v1::TwinStore::Stub> twins_;
  std::unique_ptr<store::v1::MessageStore::Stub> queues_;
  std::unique_ptr<v1::Router::Stub> router_stub_;
};

TEST_F(RouterTest, EmptyTwinIsReportedAsNotConfigured) {
  v1::GetRoutesResponse routes = WaitForStatus(Twin().desired().version());
  EXPECT_FALSE(routes.has_config());
  EXPECT_EQ(routes.status().code(), 417);
  EXPECT_EQ(Reported()["lastDesiredStatus"]["code"], 417);
}

TEST_F(RouterTest, DesiredRoutesTakeEffectWithoutRestart) {
  const int64_t version = WriteDesired(ModuleAndUpstreamRoutes());
  v1::GetRoutesResponse routes = WaitForStatus(version);

  EXPECT_EQ(routes.status().code(), 200);
  ASSERT_TRUE(routes.has_config());
  EXPECT_EQ(routes.config().desired_version(), version);
  ASSERT_EQ(routes.config().routes_size(), 2);
  EXPECT_EQ(routes.config().routes(0).name(), "toB");
  EXPECT_EQ(routes.config().routes(1).route(), "FROM /messages/* INTO $upstream");
  nlohmann::json reported = Reported();
  EXPECT_EQ(reported["lastDesiredVersion"], version);
  EXPECT_EQ(reported["lastDesiredStatus"]["code"], 200);

  IngestClient ingest(*router_stub_);
  v1::IngestResponse response = ingest.Exchange(Batch("j1", 1, {ModuleMessage("A", "o", "m1")}));
  ASSERT_TRUE(response.has_ack()) << response.DebugString();
  EXPECT_EQ(response.ack().routed(), 1u);
  EXPECT_THAT(Bodies(Queue(kModuleBInput)), ElementsAre("m1"));
  EXPECT_THAT(Bodies(Queue("$upstream")), ElementsAre("m1"));
}

TEST_F(RouterTest, InvalidDocumentKeepsOldRoutesAndReports400) {
  const int64_t good = WriteDesired(ModuleAndUpstreamRoutes());
  WaitForStatus(good);
  const int64_t bad = WriteDesired(
      DesiredBuilder().Route("up", "FROM /messages/* WHERE temp > 30 INTO $upstream").Json());
  v1::GetRoutesResponse routes = WaitForStatus(bad);

  EXPECT_EQ(routes.status().code(), 400);
  EXPECT_THAT(routes.status().description(), HasSubstr("as_number"));
  EXPECT_EQ(routes.config().desired_version(), good);
  nlohmann::json reported = Reported();
  EXPECT_EQ(reported["lastDesiredVersion"], bad);
  EXPECT_EQ(reported["lastDesiredStatus"]["code"], 400);
  EXPECT_THAT(reported["lastDesiredStatus"]["description"].get<std::string>(),
              HasSubstr("route 'up'"));
  // The old routes still route.
  IngestClient ingest(*router_stub_);
  ASSERT_TRUE(ingest.Exchange(Batch("j1", 1, {ModuleMessage("A", "o", "m1")})).has_ack());
  EXPECT_THAT(Bodies(Queue(kModuleBInput)), ElementsAre("m1"));
}

TEST_F(RouterTest, OldRoutesStayAfterAnInvalidDocumentAcrossARouterRestart) {
  const int64_t good = WriteDesired(ModuleAndUpstreamRoutes());
  WaitForStatus(good);
  const int64_t bad =
      WriteDesired(DesiredBuilder("9.9").Route("up", "FROM /* INTO $upstream").Json());
  EXPECT_EQ(WaitForStatus(bad).status().code(), 412);

  router_.Kill();
  StartRouter();

  // The restarted router serves from its persisted state: the watch has nothing new to deliver.
  v1::GetRoutesResponse routes = WaitForStatus(bad);
  EXPECT_EQ(routes.status().code(), 412);
  EXPECT_EQ(routes.config().desired_version(), good);
  EXPECT_EQ(Reported()["lastDesiredStatus"]["code"], 412);
  IngestClient ingest(*router_stub_);
  ASSERT_TRUE(ingest.Exchange(Batch("j1", 1, {ModuleMessage("A", "o", "m1")})).has_ack());
  EXPECT_THAT(Bodies(Queue(kModuleBInput)), ElementsAre("m1"));
}

TEST_F(RouterTest, PersistedRoutesAreUsedWhenTheWatchRestartsFromItsCursor) {
  const int64_t good = WriteDesired(ModuleAndUpstreamRoutes());
  WaitForStatus(good);
  router_.Stop();
  // Changed while the router is down: a patch, whose base the restarted router must fetch.
  grpc::ClientContext context;
  store::v1::PatchTwinRequest patch;
  patch.set_id(kTwinId);
  patch.set_patch_json(R"({"routes": {"toB": null}})");
  store::v1::Twin twin;
  ASSERT_TRUE(twins_->PatchDesired(&context, patch, &twin).ok());
  StartRouter();

  v1::GetRoutesResponse routes = WaitForStatus(twin.desired().version());
  EXPECT_EQ(routes.status().code(), 200);
  ASSERT_EQ(routes.config().routes_size(), 1);
  EXPECT_EQ(routes.config().routes(0).name(), "up");
}

TEST_F(RouterTest, SetRoutesWritesTheDesiredDocumentWithCompareAndSet) {
  const int64_t current = Twin().desired().version();
  v1::SetRoutesRequest request;
  request.set_desired_json(ModuleAndUpstreamRoutes());
  request.set_expected_version(current);
  v1::SetRoutesResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = router_stub_->SetRoutes(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(response.desired_version(), current + 1);
  EXPECT_EQ(nlohmann::json::parse(Twin().desired().json()),
            nlohmann::json::parse(ModuleAndUpstreamRoutes()));
  EXPECT_EQ(WaitForStatus(response.desired_version()).config().routes_size(), 2);

  // The same expected version again is stale now.
  grpc::ClientContext context;
  grpc::Status stale = router_stub_->SetRoutes(&context, request, &response);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << stale.error_message();
  EXPECT_EQ(Twin().desired().version(), current + 1);
}

TEST_F(RouterTest, SetRoutesWithoutExpectedVersionReplacesTheCurrentOne) {
  v1::SetRoutesRequest request;
  request.set_desired_json(ModuleAndUpstreamRoutes());
  v1::SetRoutesResponse response;
  grpc::ClientContext context;
  grpc::Status status = router_stub_->SetRoutes(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.desired_version(), Twin().desired().version());
  EXPECT_EQ(WaitForStatus(response.desired_version()).status().code(), 200);
}

TEST_F(RouterTest, SetRoutesRejectsAnInvalidDocumentAndWritesNothing) {
  const int64_t before = Twin().desired().version();
  v1::SetRoutesRequest request;
  request.set_desired_json(DesiredBuilder().Route("r", "FROM /nowhere INTO $upstream").Json());
  v1::SetRoutesResponse response;
  grpc::ClientContext context;
  grpc::Status status = router_stub_->SetRoutes(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("route 'r'"));
  EXPECT_EQ(Twin().desired().version(), before);
}

TEST_F(RouterTest, IngestAppendsToAQueuePerEndpointAndPriorityWithTheRouteTtl) {
  WaitForStatus(WriteDesired(
      DesiredBuilder()
          .Route("toB", absl::StrCat("FROM /messages/modules/A/* INTO ", kModuleBInput), 1, 60)
          .Route("up", "FROM /messages/* INTO $upstream")
          .GlobalTtl(7200)
          .Json()));
  IngestClient ingest(*router_stub_);
  v1::IngestResponse response = ingest.Exchange(Batch(
      "j1", 1, {ModuleMessage("A", "out1", "a"), DeviceMessage("leaf", "d"), TwinChange("leaf")}));

  ASSERT_TRUE(response.has_ack()) << response.DebugString();
  EXPECT_EQ(response.ack().journal_id(), "j1");
  EXPECT_EQ(response.ack().first_sequence(), 1u);
  EXPECT_EQ(response.ack().last_sequence(), 3u);
  EXPECT_EQ(response.ack().routed(), 2u);
  EXPECT_EQ(response.ack().dropped(), 1u);
  std::vector<store::v1::QueueEntry> to_b = ReadToEnd(*queues_, Queue(kModuleBInput, 1));
  ASSERT_EQ(to_b.size(), 1u);
  EXPECT_EQ(to_b[0].message().body(), "a");
  EXPECT_EQ(to_b[0].message().source().module_id(), "A");
  EXPECT_EQ(to_b[0].expires_unix_ms() - to_b[0].appended_unix_ms(), 60'000);
  std::vector<store::v1::QueueEntry> upstream = ReadToEnd(*queues_, Queue("$upstream"));
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(upstream[1].message().body(), "d");
  EXPECT_EQ(upstream[1].expires_unix_ms() - upstream[1].appended_unix_ms(), 7'200'000);
  EXPECT_THAT(RouterMetrics(), HasSubstr("edge_router_dropped_messages_total 1\n"));
}

TEST_F(RouterTest, ReplayedBatchAddsNothing) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  IngestClient ingest(*router_stub_);
  // Unrouted messages in the middle split the batch; the replay must still add nothing.
  v1::IngestBatch batch =
      Batch("j1", 1, {DeviceMessage("leaf", "1"), TwinChange("leaf"), DeviceMessage("leaf", "3")});
  ASSERT_TRUE(ingest.Exchange(batch).has_ack());

  v1::IngestResponse replay = ingest.Exchange(batch);
  ASSERT_TRUE(replay.has_ack());
  EXPECT_EQ(replay.ack().duplicates(), 2u);
  // A batch overlapping what was committed adds only what is new.
  v1::IngestResponse overlap =
      ingest.Exchange(Batch("j1", 3, {DeviceMessage("leaf", "3"), DeviceMessage("leaf", "4")}));
  ASSERT_TRUE(overlap.has_ack());
  EXPECT_EQ(overlap.ack().duplicates(), 1u);

  EXPECT_THAT(Bodies(Queue("$upstream")), ElementsAre("1", "3", "4"));
}

TEST_F(RouterTest, MalformedBatchIsRejectedAndTheStreamGoesOn) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  IngestClient ingest(*router_stub_);
  v1::IngestResponse rejected = ingest.Exchange(Batch("", 1, {DeviceMessage("leaf", "x")}));
  ASSERT_TRUE(rejected.has_rejected()) << rejected.DebugString();
  EXPECT_EQ(rejected.rejected().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(rejected.rejected().message(), HasSubstr("journal_id"));

  v1::IngestResponse ok = ingest.Exchange(Batch("j1", 1, {DeviceMessage("leaf", "y")}));
  ASSERT_TRUE(ok.has_ack()) << ok.DebugString();
  EXPECT_THAT(Bodies(Queue("$upstream")), ElementsAre("y"));
  EXPECT_THAT(RouterMetrics(), HasSubstr("edge_router_rejected_batches_total 1\n"));
}

TEST_F(RouterTest, AckArrivesOnlyAfterTheStoreCommitted) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  IngestClient ingest(*router_stub_);
  ASSERT_TRUE(ingest.Exchange(Batch("j1", 1, {DeviceMessage("leaf", "before")})).has_ack());
  store_.Stop();

  ASSERT_TRUE(ingest.Send(Batch("j1", 2, {DeviceMessage("leaf", "during")})));
  std::promise<v1::IngestResponse> answer;
  std::future<v1::IngestResponse> answered = answer.get_future();
  std::thread reader([&] {
    v1::IngestResponse response;
    ingest.Read(&response);
    answer.set_value(response);
  });
  // No ack while the store is down: the router retries instead.
  EXPECT_EQ(answered.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  ASSERT_TRUE(store_.Start().ok()) << store_.Log();
  ASSERT_EQ(answered.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << router_.Log();
  reader.join();
  v1::IngestResponse response = answered.get();
  ASSERT_TRUE(response.has_ack()) << response.DebugString();
  EXPECT_EQ(response.ack().last_sequence(), 2u);
  queues_ = store::v1::MessageStore::NewStub(store_.Channel());
  EXPECT_THAT(Bodies(Queue("$upstream")), ElementsAre("before", "during"));
}

TEST_F(RouterTest, RoutesFollowTheTwinAfterAStoreRestart) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  store_.Kill();
  ASSERT_TRUE(store_.Start().ok()) << store_.Log();
  twins_ = store::v1::TwinStore::NewStub(store_.Channel());

  const int64_t version =
      WriteDesired(DesiredBuilder().Route("only", "FROM /messages/* INTO $upstream").Json());
  v1::GetRoutesResponse routes = WaitForStatus(version);
  EXPECT_EQ(routes.config().desired_version(), version);
  EXPECT_EQ(routes.config().routes_size(), 1);
}

TEST_F(RouterTest, SigtermStopsTheRouterPromptlyAndCleanly) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  IngestClient ingest(*router_stub_);  // an open stream must not hold the shutdown
  ASSERT_TRUE(ingest.Exchange(Batch("j1", 1, {DeviceMessage("leaf", "x")})).has_ack());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(router_.Stop(absl::Seconds(10)), 0) << router_.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(RouterTest, KillingTheRouterMidStreamLosesNoAckedBatch) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  constexpr int kBatchSize = 5;
  std::mutex mu;
  uint64_t acked_through = 0;  // last sequence acked
  std::atomic<uint64_t> sent_through{0};
  {
    IngestClient ingest(*router_stub_);
    std::thread reader([&] {
      v1::IngestResponse response;
      while (ingest.Read(&response)) {
        ASSERT_TRUE(response.has_ack()) << response.DebugString();
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_EQ(response.ack().first_sequence(), acked_through + 1) << "acks in order";
        acked_through = response.ack().last_sequence();
      }
    });
    // Kill once batches are flowing (the first ack), in the middle of the stream.
    std::thread killer([&] {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < give_up) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (acked_through > 0) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      router_.Kill();
    });
    // Send as fast as the stream takes batches, until it breaks.
    for (uint64_t first = 1;; first += kBatchSize) {
      std::vector<common::v1::Message> messages;
      for (int i = 0; i < kBatchSize; ++i) {
        messages.push_back(DeviceMessage("leaf", absl::StrCat(first + static_cast<uint64_t>(i))));
      }
      if (!ingest.Send(Batch("j1", first, std::move(messages)))) break;
      sent_through = first + kBatchSize - 1;
    }
    killer.join();
    reader.join();
  }
  ASSERT_GT(acked_through, 0u) << "some batches were acked before the kill";

  // Everything acked is in the store, in order, with nothing else but a whole unacked tail.
  std::vector<std::string> stored = Bodies(Queue("$upstream"));
  ASSERT_GE(stored.size(), acked_through);
  for (size_t i = 0; i < stored.size(); ++i) ASSERT_EQ(stored[i], absl::StrCat(i + 1));

  // The hub replays everything it sent from its journal: the store ends with each message once.
  StartRouter();
  IngestClient again(*router_stub_);
  for (uint64_t first = 1; first <= sent_through; first += kBatchSize) {
    std::vector<common::v1::Message> messages;
    for (int i = 0; i < kBatchSize; ++i) {
      messages.push_back(DeviceMessage("leaf", absl::StrCat(first + static_cast<uint64_t>(i))));
    }
    ASSERT_TRUE(again.Exchange(Batch("j1", first, std::move(messages))).has_ack());
  }
  stored = Bodies(Queue("$upstream"));
  ASSERT_EQ(stored.size(), sent_through);
  for (size_t i = 0; i < stored.size(); ++i) ASSERT_EQ(stored[i], absl::StrCat(i + 1));
  std::printf("acked %llu of %llu sent before the kill\n",
              static_cast<unsigned long long>(acked_through),
              static_cast<unsigned long long>(sent_through.load()));
}

// Monitor: a server stream of what is routed, from the moment the stream's initial metadata comes.
class MonitorClient {
 public:
  MonitorClient(v1::Router::Stub& stub, const std::string& endpoint, uint32_t buffer = 0) {
    context_.set_deadline(In(std::chrono::seconds(30)));
    v1::MonitorRequest request;
    request.set_endpoint(endpoint);
    request.set_buffer(buffer);
    reader_ = stub.Monitor(&context_, request);
    reader_->WaitForInitialMetadata();  // subscribed
  }
  ~MonitorClient() {
    context_.TryCancel();
    v1::MonitorResponse ignored;
    while (reader_->Read(&ignored)) {
    }
    reader_->Finish();
  }
  bool Read(v1::MonitorResponse* response) { return reader_->Read(response); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::MonitorResponse>> reader_;
};

TEST_F(RouterTest, MonitorShowsEachRoutedMessageWithItsQueuesAndRoutes) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  MonitorClient monitor(*router_stub_, "");
  IngestClient ingest(*router_stub_);
  common::v1::Message from_a = ModuleMessage("A", "o", "m1");
  (*from_a.mutable_application_properties())["temp"] = "31";
  ASSERT_TRUE(
      ingest.Exchange(Batch("j1", 1, {from_a, TwinChange("leaf"), DeviceMessage("leaf", "d")}))
          .has_ack());

  v1::MonitorResponse first;
  ASSERT_TRUE(monitor.Read(&first));
  ASSERT_TRUE(first.has_message()) << first.DebugString();
  EXPECT_EQ(first.message().source_path(), "/messages/modules/A/outputs/o/");
  EXPECT_EQ(first.message().source().module_id(), "A");
  EXPECT_THAT(first.message().routes(), ElementsAre("toB", "up"));
  ASSERT_EQ(first.message().destinations_size(), 2);
  EXPECT_EQ(first.message().destinations(0).endpoint(), kModuleBInput);
  EXPECT_EQ(first.message().destinations(1).endpoint(), "$upstream");
  EXPECT_EQ(first.message().application_properties().at("temp"), "31");
  EXPECT_EQ(first.message().body_preview(), "m1");
  EXPECT_EQ(first.message().sequence(), 1u);
  EXPECT_GT(first.message().routed_unix_ms(), 0);
  // The twin change matched no route: it is not a routed message.
  v1::MonitorResponse second;
  ASSERT_TRUE(monitor.Read(&second));
  EXPECT_EQ(second.message().body_preview(), "d");
  EXPECT_EQ(second.message().sequence(), 3u);
  EXPECT_THAT(second.message().routes(), ElementsAre("up"));
}

TEST_F(RouterTest, MonitorFilteredByEndpointGetsOnlyWhatWasRoutedThere) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  MonitorClient monitor(*router_stub_, kModuleBInput);
  IngestClient ingest(*router_stub_);
  ASSERT_TRUE(ingest
                  .Exchange(Batch("j1", 1,
                                  {DeviceMessage("leaf", "d1"), ModuleMessage("A", "o", "a1"),
                                   DeviceMessage("leaf", "d2"), ModuleMessage("A", "o", "a2")}))
                  .has_ack());

  v1::MonitorResponse response;
  ASSERT_TRUE(monitor.Read(&response));
  EXPECT_EQ(response.message().body_preview(), "a1");
  ASSERT_TRUE(monitor.Read(&response));
  EXPECT_EQ(response.message().body_preview(), "a2");
}

TEST_F(RouterTest, ASlowMonitorLosesMessagesButNeverSlowsIngest) {
  WaitForStatus(WriteDesired(ModuleAndUpstreamRoutes()));
  MonitorClient monitor(*router_stub_, "", /*buffer=*/5);
  constexpr int kBatches = 20;
  constexpr int kBatchSize = 500;
  const std::string body(1000, 'x');
  {
    // Nobody reads the monitor meanwhile: every batch is still acked.
    IngestClient ingest(*router_stub_);
    for (int b = 0; b < kBatches; ++b) {
      std::vector<common::v1::Message> messages(kBatchSize, DeviceMessage("leaf", body));
      v1::IngestResponse response = ingest.Exchange(
          Batch("j1", 1 + static_cast<uint64_t>(b) * kBatchSize, std::move(messages)));
      ASSERT_TRUE(response.has_ack()) << response.DebugString();
    }
  }

  // What the monitor got and what it was told it missed add up to everything routed.
  uint64_t messages = 0;
  uint64_t dropped = 0;
  v1::MonitorResponse response;
  while (messages + dropped < kBatches * kBatchSize && monitor.Read(&response)) {
    if (response.has_dropped()) {
      dropped += response.dropped().count();
    } else {
      ++messages;
    }
  }
  EXPECT_EQ(messages + dropped, static_cast<uint64_t>(kBatches * kBatchSize));
  EXPECT_GT(dropped, 0u);
  EXPECT_THAT(RouterMetrics(),
              ::testing::ContainsRegex("edge_router_monitor_dropped_messages_total [1-9]"));
}

}  // namespace
}  // namespace edge::router
