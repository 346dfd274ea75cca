#include "services/store/registry.h"

#include <memory>
#include <set>
#include <string>

#include "SQLiteCpp/Database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/store/queue_store.h"
#include "services/store/schema.h"
#include "tests/support/temp_dir.h"

namespace edge::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(registry_->EnsureEdgeDevice("edge-1").ok());
  }

  void Reopen() {
    registry_.reset();
    auto registry = Registry::Open({.database = dir_.path() / "store.db"}, &clock_);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
  }

  v1::Identity Create(const std::string& id, const std::string& parent = "") {
    v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    request.mutable_identity()->set_parent_id(parent);
    auto identity = registry_->CreateIdentity(request);
    EXPECT_TRUE(identity.ok()) << identity.status();
    return identity.value_or(v1::Identity());
  }

  absl::StatusOr<v1::Twin> PatchDesired(const std::string& id, const std::string& patch) {
    v1::PatchTwinRequest request;
    request.set_id(id);
    request.set_patch_json(patch);
    return registry_->PatchDesired(request);
  }

  absl::StatusOr<v1::Twin> PatchReported(const std::string& id, const std::string& patch) {
    v1::PatchTwinRequest request;
    request.set_id(id);
    request.set_patch_json(patch);
    return registry_->PatchReported(request);
  }

  absl::StatusOr<v1::Twin> Replace(const std::string& id, const std::string& json,
                                   std::optional<int64_t> expected = {}) {
    v1::ReplaceDesiredRequest request;
    request.set_id(id);
    request.set_json(json);
    if (expected) request.set_expected_version(*expected);
    return registry_->ReplaceDesired(request);
  }

  static Json Desired(const absl::StatusOr<v1::Twin>& twin) {
    return Json::parse(twin->desired().json());
  }

  std::vector<v1::Change> AllChanges(uint64_t after = 0, ChangeFilter filter = {}) {
    std::vector<v1::Change> all;
    while (true) {
      auto page = registry_->ReadChanges(after, filter, 7);
      EXPECT_TRUE(page.ok());
      if (!page.ok() || page->last_sequence == after) break;
      after = page->last_sequence;
      for (auto& c : page->changes) all.push_back(c);
    }
    return all;
  }

  edge::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<Registry> registry_;
};

// --- First start ---

TEST_F(RegistryTest, FirstStartCreatesTheEdgeDeviceItsSystemModulesAndTheirTwins) {
  auto identities = registry_->ListIdentities("");
  ASSERT_TRUE(identities.ok());
  std::vector<std::string> ids;
  for (const auto& i : *identities) ids.push_back(i.id());
  EXPECT_THAT(ids, ElementsAre("edge-1", "edge-1/$edgeAgent", "edge-1/$edgeHub"));
  for (const std::string& id : ids) {
    auto twin = registry_->GetTwin(id);
    ASSERT_TRUE(twin.ok()) << id;
    EXPECT_EQ(twin->desired().json(), "{}");
    EXPECT_EQ(twin->desired().version(), 1);
    EXPECT_EQ(twin->reported().version(), 1);
  }
}

TEST_F(RegistryTest, FirstStartIsIdempotentAndKeepsKeys) {
  std::string key = registry_->GetIdentity("edge-1/$edgeHub")->primary_key();
  Reopen();
  ASSERT_TRUE(registry_->EnsureEdgeDevice("edge-1").ok());
  EXPECT_EQ(registry_->GetIdentity("edge-1/$edgeHub")->primary_key(), key);
  EXPECT_EQ(registry_->ListIdentities("")->size(), 3u);
}

TEST_F(RegistryTest, EdgeDeviceAndSystemModulesCannotBeDeleted) {
  for (const char* id : {"edge-1", "edge-1/$edgeAgent", "edge-1/$edgeHub"}) {
    EXPECT_EQ(registry_->DeleteIdentity(id).status().code(), absl::StatusCode::kFailedPrecondition)
        << id;
  }
}

// --- Identities ---

TEST_F(RegistryTest, GeneratesDistinctKeysWhenNoneAreGiven) {
  v1::Identity a = Create("a");
  v1::Identity b = Create("b");
  std::set<std::string> keys = {a.primary_key(), a.secondary_key(), b.primary_key(),
                                b.secondary_key()};
  EXPECT_EQ(keys.size(), 4u);
  EXPECT_EQ(a.auth_type(), v1::AUTH_TYPE_SAS);
  EXPECT_TRUE(a.enabled());
  EXPECT_EQ(a.created_unix_ms(), absl::ToUnixMillis(clock_.Now()));
}

TEST_F(RegistryTest, KeepsGivenKeys) {
  v1::CreateIdentityRequest request;
  request.mutable_identity()->set_id("k");
  request.mutable_identity()->set_primary_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  auto identity = registry_->CreateIdentity(request);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->primary_key(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
}

TEST_F(RegistryTest, CreateRejectsBadInputWithExactCodes) {
  auto create = [&](const std::string& id, const std::string& key = "",
                    const std::string& parent = "") {
    v1::CreateIdentityRequest request;
    request.mutable_identity()->set_id(id);
    request.mutable_identity()->set_primary_key(key);
    request.mutable_identity()->set_parent_id(parent);
    return registry_->CreateIdentity(request).status().code();
  };
  EXPECT_EQ(create(""), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(create("bad id"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(create("d", "not-a-key"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(create("edge-1"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(create("ghost/module"), absl::StatusCode::kNotFound);
  EXPECT_EQ(create("leaf", "", "no-such-parent"), absl::StatusCode::kNotFound);
  EXPECT_EQ(create("edge-1/m", "", "edge-1"), absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, ModulesAndLeafDevicesHangOffTheirDevices) {
  Create("leaf", "edge-1");
  Create("leaf/m1");
  EXPECT_EQ(registry_->GetIdentity("leaf")->parent_id(), "edge-1");
  auto mine = registry_->ListIdentities("leaf");
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), 2u);
}

TEST_F(RegistryTest, DeletingADeviceDeletesItsModulesAndTwins) {
  Create("d");
  Create("d/m");
  auto deleted = registry_->DeleteIdentity("d");
  ASSERT_TRUE(deleted.ok());
  EXPECT_THAT(*deleted, ElementsAre("d/m", "d"));
  EXPECT_EQ(registry_->GetTwin("d/m").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetIdentity("d").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->DeleteIdentity("d").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, UpdateChangesOnlyWhatItNamesAndRotatesKeysWhenAsked) {
  v1::Identity before = Create("d");
  v1::UpdateIdentityRequest request;
  request.set_id("d");
  request.set_enabled(false);
  request.set_regenerate_secondary_key(true);
  auto after = registry_->UpdateIdentity(request);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->enabled());
  EXPECT_EQ(after->primary_key(), before.primary_key());
  EXPECT_NE(after->secondary_key(), before.secondary_key());
  EXPECT_EQ(after->version(), 2);
}

TEST_F(RegistryTest, UpdateRejectsBadInput) {
  Create("d");
  v1::UpdateIdentityRequest request;
  request.set_id("d");
  request.set_primary_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  request.set_regenerate_primary_key(true);
  EXPECT_EQ(registry_->UpdateIdentity(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.Clear();
  request.set_id("d");
  request.set_parent_id("d");
  EXPECT_EQ(registry_->UpdateIdentity(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_id("nobody");
  request.clear_parent_id();
  EXPECT_EQ(registry_->UpdateIdentity(request).status().code(), absl::StatusCode::kNotFound);
}

// --- Twins ---

TEST_F(RegistryTest, MergePatchMergesNestedObjectsDeletesNullsAndReplacesArrays) {
  Create("d");
  ASSERT_TRUE(
      PatchDesired("d", R"({"a": {"x": 1, "y": 2}, "list": [1, 2, 3], "gone": true})").ok());
  auto twin = PatchDesired("d", R"({"a": {"y": null, "z": 3}, "list": [9], "gone": null})");
  ASSERT_TRUE(twin.ok()) << twin.status();
  EXPECT_EQ(Desired(twin), Json::parse(R"({"a": {"x": 1, "z": 3}, "list": [9]})"));
}

TEST_F(RegistryTest, EveryChangeIncrementsTheSectionVersion) {
  Create("d");
  EXPECT_EQ(PatchDesired("d", R"({"a": 1})")->desired().version(), 2);
  EXPECT_EQ(PatchDesired("d", R"({"a": 1})")->desired().version(), 3);
  auto twin = PatchReported("d", R"({"b": 1})");
  EXPECT_EQ(twin->reported().version(), 2);
  EXPECT_EQ(twin->desired().version(), 3);
}

TEST_F(RegistryTest, ReplaceWithTheExpectedVersionSucceedsAndAStaleOneFails) {
  Create("d");
  auto replaced = Replace("d", R"({"x": 1})", 1);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->desired().version(), 2);
  auto stale = Replace("d", R"({"x": 2})", 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(stale.status().message()), HasSubstr("at version 2"));
  EXPECT_EQ(Desired(registry_->GetTwin("d")), Json::parse(R"({"x": 1})"));
}

TEST_F(RegistryTest, ReplaceDropsVersionAndMetadataTheClientSentBack) {
  Create("d");
  auto twin = Replace("d", R"({"$version": 7, "$metadata": {}, "x": 1})");
  ASSERT_TRUE(twin.ok());
  EXPECT_EQ(Desired(twin), Json::parse(R"({"x": 1})"));
}

TEST_F(RegistryTest, UpstreamVersionIsKeptApartFromTheLocalOne) {
  Create("d");
  v1::ReplaceDesiredRequest request;
  request.set_id("d");
  request.set_json(R"({"x": 1})");
  request.set_upstream_version(42);
  auto twin = registry_->ReplaceDesired(request);
  ASSERT_TRUE(twin.ok());
  EXPECT_EQ(twin->desired().version(), 2);
  EXPECT_EQ(twin->desired().upstream_version(), 42);
  EXPECT_EQ(PatchDesired("d", R"({"y": 1})")->desired().upstream_version(), 0);
}

TEST_F(RegistryTest, SectionsOver32KiBAreRejectedAndNothingChanges) {
  Create("d");
  std::string big = std::string(R"({"blob": ")") + std::string(33 * 1024, 'x') + "\"}";
  EXPECT_EQ(Replace("d", big).status().code(), absl::StatusCode::kResourceExhausted);
  std::string half = std::string(R"({"a": ")") + std::string(20 * 1024, 'x') + "\"}";
  ASSERT_TRUE(PatchReported("d", half).ok());
  std::string other = std::string(R"({"b": ")") + std::string(20 * 1024, 'x') + "\"}";
  auto over = PatchReported("d", other);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(over.status().message()), HasSubstr("the limit is 32768"));
  EXPECT_EQ(registry_->GetTwin("d")->reported().version(), 2);
}

TEST_F(RegistryTest, MalformedTwinJsonIsInvalidArgument) {
  Create("d");
  for (const char* bad : {"not json", "[1,2]", "42", R"({"a.b": 1})", R"({"$x": 1})",
                          R"({"a b": 1})", R"({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h":
                          {"i": {"j": {"k": 1}}}}}}}}}}})"}) {
    EXPECT_EQ(PatchDesired("d", bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(PatchDesired("nobody", "{}").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(PatchDesired("bad id", "{}").status().code(), absl::StatusCode::kInvalidArgument);
}

// --- Service state ---

TEST_F(RegistryTest, StatePutGetListDeleteWithCompareAndSet) {
  v1::PutStateRequest put;
  put.set_namespace_("router");
  put.set_key("config");
  put.set_value("v1");
  put.set_expected_version(0);  // must not exist yet
  ASSERT_EQ(registry_->PutState(put)->version(), 1);
  EXPECT_EQ(registry_->PutState(put).status().code(), absl::StatusCode::kFailedPrecondition);
  put.set_value("v2");
  put.set_expected_version(1);
  ASSERT_EQ(registry_->PutState(put)->version(), 2);
  EXPECT_EQ(registry_->GetState("router", "config")->value(), "v2");
  EXPECT_EQ(registry_->ListState("router")->size(), 1u);
  EXPECT_TRUE(*registry_->DeleteState("router", "config"));
  EXPECT_FALSE(*registry_->DeleteState("router", "config"));
  EXPECT_EQ(registry_->GetState("router", "config").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, StateRejectsBadNamesAndHugeValues) {
  EXPECT_EQ(registry_->GetState("", "k").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->GetState("ns", "has space").status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::PutStateRequest put;
  put.set_namespace_("ns");
  put.set_key("k");
  put.set_value(std::string((1 << 20) + 1, 'x'));
  EXPECT_EQ(registry_->PutState(put).status().code(), absl::StatusCode::kInvalidArgument);
}

// --- Change feed ---

TEST_F(RegistryTest, EveryChangeGetsTheNextSequenceInOrder) {
  const uint64_t start = registry_->LastSequence();
  Create("d");                       // identity + two twin sections
  PatchDesired("d", R"({"a": 1})");  // one
  std::vector<v1::Change> changes = AllChanges(start);
  ASSERT_EQ(changes.size(), 4u);
  for (size_t i = 0; i < changes.size(); ++i) EXPECT_EQ(changes[i].sequence(), start + 1 + i);
  EXPECT_EQ(changes[0].kind(), v1::CHANGE_KIND_IDENTITY);
  EXPECT_EQ(changes[3].kind(), v1::CHANGE_KIND_TWIN_DESIRED);
  EXPECT_EQ(changes[3].op(), v1::CHANGE_OP_PATCH);
  EXPECT_EQ(Json::parse(changes[3].patch_json()), Json::parse(R"({"a": 1})"));
  EXPECT_EQ(changes[3].version(), 2);
  EXPECT_EQ(registry_->LastSequence(), start + 4);
}

TEST_F(RegistryTest, FilterSelectsKindsAndIds) {
  const uint64_t start = registry_->LastSequence();
  Create("d");
  Create("e");
  PatchReported("d", R"({"r": 1})");
  ChangeFilter filter{.kinds = {v1::CHANGE_KIND_TWIN_REPORTED}, .ids = {"d"}};
  std::vector<v1::Change> changes = AllChanges(start, filter);
  ASSERT_EQ(changes.size(), 2u);  // the new twin's empty section, then the patch
  EXPECT_EQ(changes[1].op(), v1::CHANGE_OP_PATCH);
}

TEST_F(RegistryTest, FailedWritesLogNothing) {
  const uint64_t start = registry_->LastSequence();
  Create("d");
  const uint64_t after_create = registry_->LastSequence();
  EXPECT_FALSE(Replace("d", "{}", 99).ok());
  EXPECT_EQ(registry_->LastSequence(), after_create);
  EXPECT_EQ(AllChanges(start).size(), 3u);
}

TEST_F(RegistryTest, SequencesContinueAfterReopen) {
  Create("d");
  const uint64_t before = registry_->LastSequence();
  Reopen();
  EXPECT_EQ(registry_->LastSequence(), before);
  PatchDesired("d", "{}");
  EXPECT_EQ(registry_->LastSequence(), before + 1);
}

TEST_F(RegistryTest, SnapshotIsNeededFromZeroFromTheFutureAndPastRetention) {
  EXPECT_TRUE(*registry_->NeedsSnapshot(0));
  EXPECT_FALSE(*registry_->NeedsSnapshot(registry_->LastSequence()));
  EXPECT_FALSE(*registry_->NeedsSnapshot(1));
  EXPECT_TRUE(*registry_->NeedsSnapshot(registry_->LastSequence() + 1));
  // A small retention: after enough writes the oldest changes are pruned.
  registry_.reset();
  registry_ =
      *Registry::Open({.database = dir_.path() / "store.db", .change_retention = 10}, &clock_);
  Create("d");
  for (int i = 0; i < 150; ++i) PatchDesired("d", R"({"i": 1})");
  EXPECT_TRUE(*registry_->NeedsSnapshot(1));
  EXPECT_FALSE(*registry_->NeedsSnapshot(registry_->LastSequence() - 5));
}

TEST_F(RegistryTest, SnapshotPagesThroughEveryIdentityAndBothSections) {
  Create("d");
  PatchDesired("d", R"({"a": 1})");
  std::vector<v1::Change> all;
  std::string after;
  do {
    auto page = registry_->ReadSnapshot({}, after, 77, 2);
    ASSERT_TRUE(page.ok());
    for (auto& c : page->changes) all.push_back(c);
    after = page->next_id;
  } while (!after.empty());
  ASSERT_EQ(all.size(), 4u * 3u);  // 4 identities: identity, desired, reported each
  for (const auto& c : all) {
    EXPECT_TRUE(c.snapshot());
    EXPECT_EQ(c.sequence(), 77u);
  }
  const v1::Change& desired = all[1];
  EXPECT_EQ(desired.id(), "d");
  EXPECT_EQ(desired.kind(), v1::CHANGE_KIND_TWIN_DESIRED);
  EXPECT_EQ(Json::parse(desired.document_json()), Json::parse(R"({"a": 1})"));
}

TEST_F(RegistryTest, NotifiesWaitersAfterTheCommit) {
  int wakes = 0;
  EXPECT_TRUE(registry_->NotifyAfter(registry_->LastSequence(), 1, [&] { ++wakes; }));
  Create("d");
  EXPECT_EQ(wakes, 1);
  EXPECT_FALSE(registry_->NotifyAfter(registry_->LastSequence() - 1, 1, [&] { ++wakes; }));
}

TEST(RegistrySchemaTest, AVersionOneDatabaseKeepsItsQueuesWhenMigrated) {
  edge::testing::TempDir dir;
  const std::filesystem::path path = dir.path() / "s.db";
  {
    // A database as the version-1 binary left it, with a queue entry.
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    db.exec(
        "CREATE TABLE bodies (id INTEGER PRIMARY KEY, data BLOB NOT NULL, refs INTEGER NOT NULL);"
        "CREATE TABLE queues (id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, priority INTEGER "
        "NOT NULL, checkpoint INTEGER NOT NULL DEFAULT 0, last_offset INTEGER NOT NULL DEFAULT "
        "0, expired_count INTEGER NOT NULL DEFAULT 0, UNIQUE (endpoint, priority));"
        "CREATE TABLE entries (queue_id INTEGER NOT NULL, offset INTEGER NOT NULL, body_id "
        "INTEGER NOT NULL, appended_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY "
        "KEY (queue_id, offset)) WITHOUT ROWID;"
        "CREATE TABLE journals (journal_id TEXT PRIMARY KEY, high_water INTEGER NOT NULL) "
        "WITHOUT ROWID;"
        "INSERT INTO bodies VALUES (1, x'', 1);"
        "INSERT INTO queues (id, endpoint, priority, last_offset) VALUES (1, 'e', 2000000000, 1);"
        "INSERT INTO entries VALUES (1, 1, 1, 0, 0);"
        "PRAGMA user_version = 1;");
  }
  FakeClock clock(absl::UnixEpoch());
  auto registry = Registry::Open({.database = path}, &clock);
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto queues = QueueStore::Open({.database = path}, &clock);
  ASSERT_TRUE(queues.ok());
  auto listed = (*queues)->ListQueues();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].last_offset(), 1u);
  SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);
}

}  // namespace
}  // namespace edge::store
