// edge-store as a real process over gRPC on a unix socket.
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/support/service_process.h"
#include "tests/support/store_client.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/queue_test_builders.h"

namespace edge::store {
namespace {

using ::edge::store::testing::AppendBuilder;
using ::edge::store::testing::Queue;
using ::edge::testing::BodiesOf;
using ::edge::testing::ReadToEnd;
using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

// Runs edge-store with `home` until it exits (it is expected to fail at start-up); returns its wait
// status and puts its output in `log`.
int RunStoreToExit(const std::filesystem::path& home, std::string* log) {
  TempDir out;
  std::filesystem::path log_file = out.path() / "startup.log";
  auto process = Subprocess::Start(
      {.argv = {(edge::testing::BinDir() / "edge-store").string(), "--edge-home", home.string()},
       .log_file = log_file});
  EXPECT_TRUE(process.ok());
  absl::StatusOr<int> status = process->Wait(absl::Seconds(10));
  std::ifstream in(log_file);
  log->assign(std::istreambuf_iterator<char>(in), {});
  return status.ok() ? *status : -1;
}

bool ExitedWith(int wait_status, int code) {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == code;
}

class StoreServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    stub_ = v1::MessageStore::NewStub(store_.Channel());
  }

  grpc::Status Append(const v1::AppendMessagesRequest& request,
                      v1::AppendMessagesResponse* response = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    v1::AppendMessagesResponse ignored;
    return stub_->AppendMessages(&context, request, response ? response : &ignored);
  }

  grpc::Status Checkpoint(const v1::QueueId& queue, uint64_t offset, uint64_t* result = nullptr) {
    grpc::ClientContext context;
    v1::CheckpointRequest request;
    *request.mutable_queue() = queue;
    request.set_offset(offset);
    v1::CheckpointResponse response;
    grpc::Status status = stub_->Checkpoint(&context, request, &response);
    if (result != nullptr) *result = response.checkpoint();
    return status;
  }

  grpc::Status ReadStatus(const v1::ReadQueueRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    auto reader = stub_->ReadQueue(&context, request);
    v1::ReadQueueResponse page;
    while (reader->Read(&page)) {
    }
    return reader->Finish();
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  std::unique_ptr<v1::MessageStore::Stub> stub_;
};

TEST_F(StoreServiceTest, AppendedMessagesAreReadBackInOrder) {
  v1::AppendMessagesResponse response;
  ASSERT_TRUE(Append(AppendBuilder().Messages(5, "m", {Queue("e", 1)}), &response).ok());
  EXPECT_EQ(response.appended(), 5u);
  EXPECT_THAT(BodiesOf(ReadToEnd(*stub_, Queue("e", 1))),
              ElementsAre("m0", "m1", "m2", "m3", "m4"));
}

TEST_F(StoreServiceTest, ReadWithoutOffsetStartsAfterTheCheckpoint) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(4, "m", {Queue("e")})).ok());
  ASSERT_TRUE(Checkpoint(Queue("e"), 2).ok());
  EXPECT_THAT(BodiesOf(ReadToEnd(*stub_, Queue("e"), /*from=*/0)), ElementsAre("m2", "m3"));
}

TEST_F(StoreServiceTest, FollowingReaderGetsNewAppendsWithoutPolling) {
  grpc::ClientContext context;
  v1::ReadQueueRequest request;
  *request.mutable_queue() = Queue("live");
  request.set_create_if_missing(true);
  auto reader = stub_->ReadQueue(&context, request);
  std::vector<std::string> received;
  std::thread consumer([&] {
    v1::ReadQueueResponse page;
    while (received.size() < 3 && reader->Read(&page)) {
      for (const auto& e : page.entries()) received.push_back(e.message().body());
    }
  });
  // The stream is open and caught up (the queue is empty); appends must reach it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(Append(AppendBuilder().Message("a", {Queue("live")})).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(
      Append(AppendBuilder().Message("b", {Queue("live")}).Message("c", {Queue("live")})).ok());
  consumer.join();
  EXPECT_THAT(received, ElementsAre("a", "b", "c"));
  context.TryCancel();
  reader->Finish();
}

TEST_F(StoreServiceTest, ListQueuesReportsDepthAndCheckpoint) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(3, "m", {Queue("a"), Queue("b", 0)})).ok());
  ASSERT_TRUE(Checkpoint(Queue("a"), 1).ok());
  grpc::ClientContext context;
  v1::ListQueuesResponse response;
  ASSERT_TRUE(stub_->ListQueues(&context, v1::ListQueuesRequest(), &response).ok());
  ASSERT_EQ(response.queues_size(), 2);
  EXPECT_EQ(response.queues(0).queue().endpoint(), "a");
  EXPECT_EQ(response.queues(0).checkpoint(), 1u);
  EXPECT_EQ(response.queues(0).depth(), 2u);
  EXPECT_EQ(response.queues(1).queue().priority(), 0u);
  EXPECT_EQ(response.queues(1).last_offset(), 3u);
}

TEST_F(StoreServiceTest, DataSurvivesARestart) {
  ASSERT_TRUE(Append(AppendBuilder().Journal("j", 1).Messages(3, "m", {Queue("e")})).ok());
  EXPECT_EQ(store_.Stop(), 0) << store_.Log();
  ASSERT_TRUE(store_.Start().ok()) << store_.Log();
  stub_ = v1::MessageStore::NewStub(store_.Channel());
  v1::AppendMessagesResponse replay;
  ASSERT_TRUE(Append(AppendBuilder().Journal("j", 1).Messages(3, "m", {Queue("e")}), &replay).ok());
  EXPECT_EQ(replay.duplicates(), 3u);
  EXPECT_THAT(BodiesOf(ReadToEnd(*stub_, Queue("e"))), ElementsAre("m0", "m1", "m2"));
}

TEST_F(StoreServiceTest, SigtermEndsFollowingStreamsAndExitsCleanly) {
  grpc::ClientContext context;
  v1::ReadQueueRequest request;
  *request.mutable_queue() = Queue("live");
  request.set_create_if_missing(true);
  auto reader = stub_->ReadQueue(&context, request);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(store_.Stop(), 0) << store_.Log();
  // Well inside the 5 s grace: the follower was ended, not waited for.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3)) << store_.Log();
  v1::ReadQueueResponse page;
  while (reader->Read(&page)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(std::filesystem::exists(home_.path() / "run/store.sock"));
}

TEST_F(StoreServiceTest, SocketAndRunDirectoryArePrivateToTheGroup) {
  struct stat st;
  ASSERT_EQ(::stat((home_.path() / "run/store.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ASSERT_EQ(::stat((home_.path() / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST_F(StoreServiceTest, ASecondInstanceOnTheSameSocketRefusesToStart) {
  std::string log;
  EXPECT_TRUE(ExitedWith(RunStoreToExit(home_.path(), &log), 1)) << log;
  EXPECT_THAT(log, HasSubstr("already listening"));
  // The first instance is unharmed.
  EXPECT_TRUE(Append(AppendBuilder().Message("x", {Queue("e")})).ok());
}

// Asks the server reflection service to list services, with hand-encoded protobuf bytes: the
// reflection descriptors live inside libgrpc++_reflection, so the test cannot compile its own.
std::string ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel) {
  class Lister final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    Lister() {
      // ServerReflectionRequest { list_services (field 7) = "*" }
      const char request[] = {0x3a, 0x01, '*'};
      grpc::Slice slice(request, sizeof(request));
      request_ = grpc::ByteBuffer(&slice, 1);
    }
    void Begin() {
      StartWrite(&request_);
      StartRead(&response_);
      StartCall();
    }
    void OnWriteDone(bool) override { StartWritesDone(); }
    void OnReadDone(bool ok) override {
      if (ok) {
        std::vector<grpc::Slice> slices;
        (void)response_.Dump(&slices);
        for (const auto& slice : slices) text_.append(slice.begin(), slice.end());
      }
    }
    void OnDone(const grpc::Status&) override {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
    std::string Await() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return done_; });
      return text_;
    }
    grpc::ClientContext context;

   private:
    grpc::ByteBuffer request_, response_;
    std::string text_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
  };
  grpc::GenericStub stub(channel);
  Lister lister;
  lister.context.set_deadline(In(std::chrono::seconds(10)));
  stub.PrepareBidiStreamingCall(&lister.context,
                                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                {}, &lister);
  lister.Begin();
  return lister.Await();
}

TEST_F(StoreServiceTest, ReflectionListsTheStoreAndHealthServices) {
  std::string services = ListServicesByReflection(store_.Channel());
  EXPECT_THAT(services, HasSubstr("edge.store.v1.MessageStore"));
  EXPECT_THAT(services, HasSubstr("grpc.health.v1.Health"));
}

// Bad input, one RPC at a time, each with its exact status code.
TEST_F(StoreServiceTest, AppendRejectsBadBatchesWithInvalidArgument) {
  EXPECT_EQ(Append(v1::AppendMessagesRequest()).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Append(AppendBuilder().Message("x", {Queue("")})).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Append(AppendBuilder().Message("x", {Queue("e", 10)})).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Append(AppendBuilder().Message("x", {Queue("e")}, -5)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Append(AppendBuilder().Message("x", {})).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status status = Append(AppendBuilder().Message("x", {Queue("e", 10)}));
  EXPECT_THAT(status.error_message(), HasSubstr("priority: 10 is outside 0-9"));
  // Nothing of the rejected batches was stored.
  grpc::ClientContext context;
  v1::ListQueuesResponse queues;
  ASSERT_TRUE(stub_->ListQueues(&context, v1::ListQueuesRequest(), &queues).ok());
  EXPECT_EQ(queues.queues_size(), 0);
}

TEST_F(StoreServiceTest, ReadQueueRejectsUnknownAndInvalidQueues) {
  v1::ReadQueueRequest request;
  *request.mutable_queue() = Queue("never-appended");
  EXPECT_EQ(ReadStatus(request).error_code(), grpc::StatusCode::NOT_FOUND);
  *request.mutable_queue() = Queue("");
  EXPECT_EQ(ReadStatus(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  *request.mutable_queue() = Queue("e", 10);
  request.set_create_if_missing(true);
  EXPECT_EQ(ReadStatus(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  *request.mutable_queue() = Queue("e");
  request.set_page_size(5000);
  EXPECT_EQ(ReadStatus(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StoreServiceTest, CheckpointRejectsUnknownQueuesAndOffsetsBeyondTheEnd) {
  ASSERT_TRUE(Append(AppendBuilder().Messages(2, "m", {Queue("e")})).ok());
  EXPECT_EQ(Checkpoint(Queue("unknown"), 1).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Checkpoint(Queue(""), 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Checkpoint(Queue("e", 10), 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Checkpoint(Queue("e"), 3).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  uint64_t checkpoint = 0;
  ASSERT_TRUE(Checkpoint(Queue("e"), 2, &checkpoint).ok());
  EXPECT_EQ(checkpoint, 2u);
}

TEST(StoreCapTest, AFullStoreRejectsAppendsOverGrpcAndKeepsWhatItHas) {
  TempDir home;
  std::ofstream(home.path() / "config.toml") << "[store]\nmax_bytes = 4096\n";
  ServiceProcess store("store", home.path());
  ASSERT_TRUE(store.Start().ok()) << store.Log();
  auto stub = v1::MessageStore::NewStub(store.Channel());
  int stored = 0;
  grpc::Status status;
  while (stored < 1000) {
    grpc::ClientContext context;
    v1::AppendMessagesResponse response;
    status = stub->AppendMessages(
        &context,
        AppendBuilder().Message(std::to_string(stored) + std::string(200, 'x'), {Queue("e")}),
        &response);
    if (!status.ok()) break;
    ++stored;
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("the store is full"));
  EXPECT_EQ(BodiesOf(ReadToEnd(*stub, Queue("e"))).size(), static_cast<size_t>(stored));
}

// Start-up errors: the process exits with a message that says what to fix.
class StoreStartupTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(StoreStartupTest, SocketPathOverTheLimitIsAClearError) {
  std::filesystem::path home = dir_.path() / std::string(100, 'h');
  std::filesystem::create_directories(home);
  std::string log;
  int status = RunStoreToExit(home, &log);
  EXPECT_TRUE(ExitedWith(status, 2)) << log;
  EXPECT_THAT(log, HasSubstr("the limit is 107"));
}

TEST_F(StoreStartupTest, UnknownConfigKeyIsNamed) {
  std::ofstream(dir_.path() / "config.toml") << "[store]\nsynchronous = \"normal\"\nbogus = 1\n";
  std::string log;
  int status = RunStoreToExit(dir_.path(), &log);
  EXPECT_TRUE(ExitedWith(status, 2)) << log;
  EXPECT_THAT(log, HasSubstr("store.bogus: unknown key"));
}

TEST_F(StoreStartupTest, BadValueIsNamed) {
  std::ofstream(dir_.path() / "config.toml") << "[store]\nsynchronous = \"sometimes\"\n";
  std::string log;
  int status = RunStoreToExit(dir_.path(), &log);
  EXPECT_TRUE(ExitedWith(status, 2)) << log;
  EXPECT_THAT(log, HasSubstr("store.synchronous: \"sometimes\" is not one of normal, full"));
}

}  // namespace
}  // namespace edge::store
