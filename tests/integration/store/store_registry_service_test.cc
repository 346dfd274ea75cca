// edge-store's identities, twins, service state and change feed, as a real process over gRPC.
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/state.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "edge/store/v1/watch.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/service_process.h"
#include "tests/support/temp_dir.h"

namespace edge::store {
namespace {

using ::edge::testing::ServiceProcess;
using ::edge::testing::TempDir;
using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

// A watch consumer that keeps its cursor the way a service would persist it.
class Watcher {
 public:
  Watcher(v1::ChangeFeed::Stub& stub, uint64_t from, std::vector<std::string> ids = {}) {
    context_.set_deadline(In(std::chrono::seconds(30)));
    v1::WatchRequest request;
    request.set_from_sequence(from);
    for (auto& id : ids) request.add_ids(id);
    reader_ = stub.Watch(&context_, request);
  }
  ~Watcher() {
    context_.TryCancel();
    v1::WatchResponse ignored;
    while (reader_->Read(&ignored)) {
    }
    reader_->Finish();
  }

  // Reads until `count` changes (snapshot entries excluded) have arrived, or the stream ends.
  // Returns false when it ended first.
  bool ReadChanges(size_t count) {
    v1::WatchResponse response;
    while (changes.size() < count) {
      if (!reader_->Read(&response)) return false;
      if (response.snapshot_end()) {
        saw_snapshot_end = true;
        cursor = response.snapshot_sequence();
      }
      for (const v1::Change& c : response.changes()) {
        if (c.snapshot()) {
          snapshot.push_back(c);
          continue;
        }
        EXPECT_GT(c.sequence(), cursor) << "changes arrive in order, each once";
        cursor = c.sequence();
        changes.push_back(c);
      }
    }
    return true;
  }

  // Reads until the snapshot has ended.
  void ReadSnapshot() {
    v1::WatchResponse response;
    while (!saw_snapshot_end && reader_->Read(&response)) {
      for (const v1::Change& c : response.changes()) snapshot.push_back(c);
      if (response.snapshot_end()) {
        saw_snapshot_end = true;
        cursor = response.snapshot_sequence();
      }
    }
  }

  grpc::Status Finish() { return reader_->Finish(); }

  uint64_t cursor = 0;
  bool saw_snapshot_end = false;
  std::vector<v1::Change> snapshot;
  std::vector<v1::Change> changes;

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader_;
};

class StoreRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  void Start() {
    ASSERT_TRUE(store_.Start().ok()) << store_.Log();
    auto channel = store_.Channel();
    twins_ = v1::TwinStore::NewStub(channel);
    identities_ = v1::IdentityRegistry::NewStub(channel);
    state_ = v1::ServiceState::NewStub(channel);
    feed_ = v1::ChangeFeed::NewStub(channel);
  }

  grpc::Status CreateDevice(const std::string& id) {
    grpc::ClientContext context;
    v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    v1::Identity response;
    return identities_->CreateIdentity(&context, request, &response);
  }

  grpc::Status PatchDesired(const std::string& id, const std::string& patch) {
    grpc::ClientContext context;
    v1::PatchTwinRequest request;
    request.set_id(id);
    request.set_patch_json(patch);
    v1::Twin response;
    return twins_->PatchDesired(&context, request, &response);
  }

  TempDir home_;
  ServiceProcess store_{"store", home_.path()};
  std::unique_ptr<v1::TwinStore::Stub> twins_;
  std::unique_ptr<v1::IdentityRegistry::Stub> identities_;
  std::unique_ptr<v1::ServiceState::Stub> state_;
  std::unique_ptr<v1::ChangeFeed::Stub> feed_;
};

TEST_F(StoreRegistryTest, FirstStartCreatesTheEdgeDeviceAndItsSystemModules) {
  grpc::ClientContext context;
  v1::ListIdentitiesResponse response;
  ASSERT_TRUE(identities_->ListIdentities(&context, {}, &response).ok());
  std::vector<std::string> ids;
  for (const auto& i : response.identities()) ids.push_back(i.id());
  EXPECT_THAT(
      ids, ::testing::ElementsAre("edge-device", "edge-device/$edgeAgent", "edge-device/$edgeHub"));
}

TEST_F(StoreRegistryTest, WatchFromZeroSendsASnapshotThenChanges) {
  Watcher watcher(*feed_, 0);
  watcher.ReadSnapshot();
  ASSERT_TRUE(watcher.saw_snapshot_end);
  EXPECT_EQ(watcher.snapshot.size(), 9u);  // 3 identities x (identity, desired, reported)
  ASSERT_TRUE(PatchDesired("edge-device/$edgeAgent", R"({"modules": {}})").ok());
  ASSERT_TRUE(watcher.ReadChanges(1));
  EXPECT_EQ(watcher.changes[0].id(), "edge-device/$edgeAgent");
  EXPECT_EQ(watcher.changes[0].op(), v1::CHANGE_OP_PATCH);
}

TEST_F(StoreRegistryTest, ACursorSurvivesKillingTheStoreAndNothingIsLost) {
  uint64_t cursor = 0;
  {
    Watcher watcher(*feed_, 0);
    watcher.ReadSnapshot();
    ASSERT_TRUE(CreateDevice("d").ok());  // 3 changes
    ASSERT_TRUE(PatchDesired("d", R"({"n": 1})").ok());
    ASSERT_TRUE(watcher.ReadChanges(4));
    cursor = watcher.cursor;  // what the consumer persisted
    // Acknowledged by the store, then the store dies before the watcher may have seen it.
    ASSERT_TRUE(PatchDesired("d", R"({"n": 2})").ok());
    store_.Kill();
    EXPECT_FALSE(watcher.ReadChanges(6));  // the stream ends with the store
  }
  Start();
  // Changes made while the consumer was away.
  for (int n = 3; n <= 6; ++n)
    ASSERT_TRUE(PatchDesired("d", absl::StrCat(R"({"n": )", n, "}")).ok());
  Watcher resumed(*feed_, cursor);
  ASSERT_TRUE(resumed.ReadChanges(5));
  EXPECT_TRUE(resumed.snapshot.empty());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(resumed.changes[i].sequence(), cursor + 1 + i);
    EXPECT_EQ(nlohmann::json::parse(resumed.changes[i].patch_json())["n"], i + 2);
  }
}

TEST_F(StoreRegistryTest, ACursorSurvivesTheConsumerRestarting) {
  uint64_t cursor = 0;
  {
    Watcher watcher(*feed_, 0, {"d"});
    watcher.ReadSnapshot();
    ASSERT_TRUE(CreateDevice("d").ok());
    ASSERT_TRUE(watcher.ReadChanges(3));
    cursor = watcher.cursor;
  }                                         // the consumer goes away
  ASSERT_TRUE(CreateDevice("other").ok());  // filtered out
  ASSERT_TRUE(PatchDesired("d", R"({"x": 1})").ok());
  Watcher resumed(*feed_, cursor, {"d"});
  ASSERT_TRUE(resumed.ReadChanges(1));
  EXPECT_EQ(resumed.changes[0].id(), "d");
  EXPECT_EQ(resumed.changes[0].op(), v1::CHANGE_OP_PATCH);
}

TEST_F(StoreRegistryTest, ACursorOlderThanTheLogGetsASnapshot) {
  store_.Stop();
  std::ofstream(home_.path() / "config.toml") << "[store]\nchange_retention = 100\n";
  Start();
  ASSERT_TRUE(CreateDevice("d").ok());
  for (int i = 0; i < 250; ++i) ASSERT_TRUE(PatchDesired("d", R"({"i": 1})").ok());
  Watcher watcher(*feed_, 1);
  watcher.ReadSnapshot();
  EXPECT_TRUE(watcher.saw_snapshot_end);
  EXPECT_EQ(watcher.snapshot.size(), 12u);
}

TEST_F(StoreRegistryTest, WatchRejectsAnUnknownKind) {
  grpc::ClientContext context;
  v1::WatchRequest request;
  request.add_kinds(static_cast<v1::ChangeKind>(99));
  auto reader = feed_->Watch(&context, request);
  v1::WatchResponse response;
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StoreRegistryTest, TwinRpcsReturnExactCodesForBadInput) {
  ASSERT_TRUE(CreateDevice("d").ok());
  EXPECT_EQ(PatchDesired("", "{}").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(PatchDesired("nobody", "{}").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(PatchDesired("d", "{").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      PatchDesired("d", std::string(R"({"a":")") + std::string(40000, 'x') + "\"}").error_code(),
      grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::ClientContext context;
  v1::ReplaceDesiredRequest replace;
  replace.set_id("d");
  replace.set_json("{}");
  replace.set_expected_version(5);
  v1::Twin twin;
  grpc::Status stale = twins_->ReplaceDesired(&context, replace, &twin);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(stale.error_message(), HasSubstr("not the expected 5"));
  grpc::ClientContext get_context;
  v1::GetTwinRequest get;
  get.set_id("d/x/y");
  EXPECT_EQ(twins_->GetTwin(&get_context, get, &twin).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StoreRegistryTest, IdentityRpcsReturnExactCodesForBadInput) {
  EXPECT_EQ(CreateDevice("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CreateDevice("edge-device").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(CreateDevice("ghost/m").error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext get_context;
  v1::GetIdentityRequest get;
  get.set_id("nobody");
  v1::Identity identity;
  EXPECT_EQ(identities_->GetIdentity(&get_context, get, &identity).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext delete_context;
  v1::DeleteIdentityRequest del;
  del.set_id("edge-device/$edgeHub");
  v1::DeleteIdentityResponse deleted;
  EXPECT_EQ(identities_->DeleteIdentity(&delete_context, del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  grpc::ClientContext update_context;
  v1::UpdateIdentityRequest update;
  update.set_id("edge-device");
  update.set_primary_key("short");
  EXPECT_EQ(identities_->UpdateIdentity(&update_context, update, &identity).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StoreRegistryTest, StateRpcsRoundTripAndReturnExactCodesForBadInput) {
  grpc::ClientContext put_context;
  v1::PutStateRequest put;
  put.set_namespace_("agent");
  put.set_key("last-valid");
  put.set_value("{}");
  v1::StateEntry entry;
  ASSERT_TRUE(state_->Put(&put_context, put, &entry).ok());
  EXPECT_EQ(entry.version(), 1);
  grpc::ClientContext get_context;
  v1::GetStateRequest get;
  get.set_namespace_("agent");
  get.set_key("last-valid");
  ASSERT_TRUE(state_->Get(&get_context, get, &entry).ok());
  EXPECT_EQ(entry.value(), "{}");
  grpc::ClientContext missing_context;
  get.set_key("missing");
  EXPECT_EQ(state_->Get(&missing_context, get, &entry).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext bad_context;
  get.set_namespace_("");
  EXPECT_EQ(state_->Get(&bad_context, get, &entry).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext cas_context;
  put.set_expected_version(7);
  EXPECT_EQ(state_->Put(&cas_context, put, &entry).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace edge::store
