#include "services/store/queue_store.h"

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/store/schema.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/queue_test_builders.h"

namespace edge::store {
namespace {

using ::edge::store::testing::AppendBuilder;
using ::edge::store::testing::Queue;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class QueueStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(absl::Duration busy_timeout = absl::Seconds(5)) {
    store_.reset();
    auto store = QueueStore::Open(
        {.database = dir_.path() / "store.db", .busy_timeout = busy_timeout}, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  v1::AppendMessagesResponse Append(const v1::AppendMessagesRequest& request) {
    auto response = store_->Append(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.value_or(v1::AppendMessagesResponse());
  }

  QueueHandle Find(const v1::QueueId& id) {
    auto queue = store_->FindQueue(id, /*create=*/false);
    EXPECT_TRUE(queue.ok()) << queue.status();
    return queue.value_or(QueueHandle());
  }

  // Bodies of the live entries from `from` on, read in pages of `page`.
  std::vector<std::string> Bodies(const v1::QueueId& id, uint64_t from = 1, uint32_t page = 100) {
    QueueHandle queue = Find(id);
    std::vector<std::string> bodies;
    while (true) {
      auto result = store_->ReadPage(queue, from, page);
      EXPECT_TRUE(result.ok()) << result.status();
      if (!result.ok() || result->entries.empty()) break;
      for (const auto& e : result->entries) bodies.push_back(e.message().body());
      from = result->next_offset;
    }
    return bodies;
  }

  int64_t CountRows(const std::string& table) {
    SQLite::Database db((dir_.path() / "store.db").string(), SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT COUNT(*) FROM " + table).getInt64();
  }

  edge::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<QueueStore> store_;
};

// The store's registry writes to the same database through a connection of its own.
TEST_F(QueueStoreTest, AppendWaitsForAnotherConnectionsWriteInsteadOfFailing) {
  SQLite::Database other((dir_.path() / "store.db").string(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE; INSERT INTO journals (journal_id, high_water) VALUES ('x', 1)");
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(200));
    other.exec("COMMIT");
  });

  absl::StatusOr<v1::AppendMessagesResponse> appended =
      store_->Append(AppendBuilder().Messages(2, "a", {Queue("e")}).Build());
  release.join();

  EXPECT_TRUE(appended.ok()) << appended.status();
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("a0", "a1"));
}

// A write that failed on a busy database must not leave the writer unusable (it once left a
// statement active, and every later commit failed with "SQL statements in progress").
TEST_F(QueueStoreTest, AFailedWriteLeavesTheStoreWritable) {
  Reopen(/*busy_timeout=*/absl::Milliseconds(50));
  Append(AppendBuilder().Journal("j", 1).Messages(2, "a", {Queue("e")}));
  clock_.Advance(absl::Seconds(1));
  SQLite::Database other((dir_.path() / "store.db").string(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE; INSERT INTO journals (journal_id, high_water) VALUES ('x', 1)");

  absl::StatusOr<v1::AppendMessagesResponse> refused =
      store_->Append(AppendBuilder().Journal("j", 3).Messages(2, "b", {Queue("e")}).Build());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_EQ(store_->Checkpoint(Find(Queue("e")), 1).status().code(),
            absl::StatusCode::kUnavailable);
  other.exec("COMMIT");

  Append(AppendBuilder().Journal("j", 3).Messages(2, "b", {Queue("e")}));
  absl::StatusOr<uint64_t> checkpoint = store_->Checkpoint(Find(Queue("e")), 1);
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  absl::StatusOr<ReclaimResult> reclaimed = store_->Reclaim();
  EXPECT_TRUE(reclaimed.ok()) << reclaimed.status();
  EXPECT_THAT(Bodies(Queue("e"), 2), ElementsAre("a1", "b0", "b1"));
}

TEST_F(QueueStoreTest, ReadsMessagesInAppendOrderAcrossBatches) {
  Append(AppendBuilder().Messages(3, "a", {Queue("e")}));
  Append(AppendBuilder().Messages(2, "b", {Queue("e")}));
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("a0", "a1", "a2", "b0", "b1"));
}

TEST_F(QueueStoreTest, PagesRespectTheLimitAndContinueWhereTheyEnded) {
  Append(AppendBuilder().Messages(7, "m", {Queue("e")}));
  auto page = store_->ReadPage(Find(Queue("e")), 1, 3);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 3u);
  EXPECT_EQ(page->entries[0].offset(), 1u);
  EXPECT_EQ(page->next_offset, 4u);
  EXPECT_THAT(Bodies(Queue("e"), 1, 3), ElementsAre("m0", "m1", "m2", "m3", "m4", "m5", "m6"));
}

TEST_F(QueueStoreTest, KeepsPropertiesOfTheMessage) {
  Append(AppendBuilder().Message("x", {Queue("e")}));
  auto page = store_->ReadPage(Find(Queue("e")), 1, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].message().application_properties().at("body"), "x");
  EXPECT_EQ(page->entries[0].appended_unix_ms(), absl::ToUnixMillis(clock_.Now()));
}

TEST_F(QueueStoreTest, StoresABodyOnceForEveryQueueItGoesTo) {
  Append(AppendBuilder().Message("shared", {Queue("a"), Queue("b"), Queue("c", 1)}));
  EXPECT_EQ(CountRows("bodies"), 1);
  EXPECT_EQ(CountRows("entries"), 3);
  EXPECT_THAT(Bodies(Queue("a")), ElementsAre("shared"));
  EXPECT_THAT(Bodies(Queue("c", 1)), ElementsAre("shared"));
}

TEST_F(QueueStoreTest, EachPriorityOfAnEndpointIsItsOwnQueue) {
  Append(AppendBuilder()
             .Message("high", {Queue("e", 0)})
             .Message("default", {Queue("e")})
             .Message("low", {Queue("e", 9)}));
  EXPECT_THAT(Bodies(Queue("e", 0)), ElementsAre("high"));
  EXPECT_THAT(Bodies(Queue("e", 9)), ElementsAre("low"));
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("default"));
  auto queues = store_->ListQueues();
  ASSERT_TRUE(queues.ok());
  ASSERT_EQ(queues->size(), 3u);
  // Ordered by priority, the default last.
  EXPECT_EQ((*queues)[0].queue().priority(), 0u);
  EXPECT_EQ((*queues)[1].queue().priority(), 9u);
  EXPECT_FALSE((*queues)[2].queue().has_priority());
}

TEST_F(QueueStoreTest, SkipsExpiredEntries) {
  Append(AppendBuilder().Message("short", {Queue("e")}, 60).Message("long", {Queue("e")}, 3600));
  clock_.Advance(absl::Seconds(61));
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("long"));
}

TEST_F(QueueStoreTest, TtlZeroNeverExpires) {
  Append(AppendBuilder().Message("forever", {Queue("e")}, 0));
  clock_.Advance(absl::Hours(24 * 365));
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("forever"));
}

TEST_F(QueueStoreTest, CountsExpiredEntriesBeforeAndAfterTheCheckpointPassesThem) {
  Append(AppendBuilder()
             .Message("a", {Queue("e")}, 10)
             .Message("b", {Queue("e")}, 10)
             .Message("c", {Queue("e")}));
  clock_.Advance(absl::Seconds(11));
  auto before = store_->ListQueues();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ((*before)[0].expired(), 2u);
  ASSERT_TRUE(store_->Checkpoint(Find(Queue("e")), 3).ok());
  auto after = store_->ListQueues();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[0].expired(), 2u);
  EXPECT_EQ((*after)[0].depth(), 0u);
}

TEST_F(QueueStoreTest, ReplayedJournalBatchAddsNothing) {
  auto batch = AppendBuilder().Journal("hub-1", 1).Messages(3, "m", {Queue("e")});
  EXPECT_EQ(Append(batch).appended(), 3u);
  v1::AppendMessagesResponse replay = Append(batch);
  EXPECT_EQ(replay.appended(), 0u);
  EXPECT_EQ(replay.duplicates(), 3u);
  EXPECT_EQ(replay.journal_high_water(), 3u);
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("m0", "m1", "m2"));
}

TEST_F(QueueStoreTest, PartlyReplayedBatchAppendsOnlyTheNewMessages) {
  Append(AppendBuilder().Journal("hub-1", 1).Messages(2, "a", {Queue("e")}));
  v1::AppendMessagesResponse r = Append(
      AppendBuilder().Journal("hub-1", 2).Message("a1", {Queue("e")}).Message("a2", {Queue("e")}));
  EXPECT_EQ(r.appended(), 1u);
  EXPECT_EQ(r.duplicates(), 1u);
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("a0", "a1", "a2"));
}

TEST_F(QueueStoreTest, JournalsAreIndependent) {
  Append(AppendBuilder().Journal("hub-1", 1).Message("x", {Queue("e")}));
  EXPECT_EQ(Append(AppendBuilder().Journal("hub-2", 1).Message("y", {Queue("e")})).appended(), 1u);
}

TEST_F(QueueStoreTest, JournalHighWaterSurvivesReopen) {
  Append(AppendBuilder().Journal("hub-1", 1).Messages(5, "m", {Queue("e")}));
  Reopen();
  EXPECT_EQ(Append(AppendBuilder().Journal("hub-1", 5).Message("m4", {Queue("e")})).appended(), 0u);
  EXPECT_EQ(Bodies(Queue("e")).size(), 5u);
}

TEST_F(QueueStoreTest, OffsetsAndCheckpointsSurviveReopen) {
  Append(AppendBuilder().Messages(3, "a", {Queue("e")}));
  ASSERT_TRUE(store_->Checkpoint(Find(Queue("e")), 2).ok());
  Reopen();
  Append(AppendBuilder().Message("b", {Queue("e")}));
  QueueHandle queue = Find(Queue("e"));
  EXPECT_EQ(store_->FirstUndelivered(queue), 3u);
  auto page = store_->ReadPage(queue, 3, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].message().body(), "a2");
  EXPECT_EQ(page->entries[1].offset(), 4u);
}

TEST_F(QueueStoreTest, CheckpointDeletesDeliveredEntriesAndUnreferencedBodies) {
  Append(AppendBuilder().Message("both", {Queue("a"), Queue("b")}).Message("a-only", {Queue("a")}));
  ASSERT_TRUE(store_->Checkpoint(Find(Queue("a")), 2).ok());
  EXPECT_EQ(CountRows("entries"), 1);
  EXPECT_EQ(CountRows("bodies"), 1);  // "both" is still waiting in b
  EXPECT_THAT(Bodies(Queue("b")), ElementsAre("both"));
  ASSERT_TRUE(store_->Checkpoint(Find(Queue("b")), 1).ok());
  EXPECT_EQ(CountRows("bodies"), 0);
}

TEST_F(QueueStoreTest, CheckpointBehindTheCurrentOneChangesNothing) {
  Append(AppendBuilder().Messages(3, "m", {Queue("e")}));
  ASSERT_TRUE(store_->Checkpoint(Find(Queue("e")), 2).ok());
  auto result = store_->Checkpoint(Find(Queue("e")), 1);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 2u);
}

TEST_F(QueueStoreTest, CheckpointBeyondTheLastOffsetIsOutOfRange) {
  Append(AppendBuilder().Messages(2, "m", {Queue("e")}));
  EXPECT_EQ(store_->Checkpoint(Find(Queue("e")), 3).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(QueueStoreTest, UnknownQueueIsNotFoundUnlessCreated) {
  EXPECT_EQ(store_->FindQueue(Queue("nope"), false).status().code(), absl::StatusCode::kNotFound);
  auto created = store_->FindQueue(Queue("nope", 3), true);
  ASSERT_TRUE(created.ok());
  auto page = store_->ReadPage(*created, 1, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(page->entries, IsEmpty());
  EXPECT_EQ(page->next_offset, 1u);
}

TEST_F(QueueStoreTest, NotifiesAWaiterOnAppendOnce) {
  QueueHandle queue = *store_->FindQueue(Queue("e"), true);
  std::atomic<int> wakes = 0;
  EXPECT_TRUE(store_->NotifyWhenAppended(queue, 0, 1, [&] { ++wakes; }));
  Append(AppendBuilder().Message("x", {Queue("e")}));
  Append(AppendBuilder().Message("y", {Queue("e")}));
  EXPECT_EQ(wakes, 1);
}

TEST_F(QueueStoreTest, DoesNotRegisterAWaiterWhenEntriesAreAlreadyThere) {
  Append(AppendBuilder().Message("x", {Queue("e")}));
  EXPECT_FALSE(store_->NotifyWhenAppended(Find(Queue("e")), 0, 1, [] {}));
}

TEST_F(QueueStoreTest, CancelledWaiterIsNotWoken) {
  QueueHandle queue = *store_->FindQueue(Queue("e"), true);
  std::atomic<int> wakes = 0;
  store_->NotifyWhenAppended(queue, 0, 7, [&] { ++wakes; });
  store_->CancelNotify(queue, 7);
  Append(AppendBuilder().Message("x", {Queue("e")}));
  EXPECT_EQ(wakes, 0);
}

// Bad input: each case is INVALID_ARGUMENT and stores nothing.
struct BadAppend {
  std::string name;
  std::function<v1::AppendMessagesRequest()> build;
  std::string message_part;
  friend void PrintTo(const BadAppend& b, std::ostream* os) { *os << b.name; }
};

class QueueStoreBadAppendTest : public QueueStoreTest,
                                public ::testing::WithParamInterface<BadAppend> {};

TEST_P(QueueStoreBadAppendTest, IsRejectedWithInvalidArgumentAndStoresNothing) {
  Append(AppendBuilder().Message("existing", {Queue("e")}));
  auto result = store_->Append(GetParam().build());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              ::testing::HasSubstr(GetParam().message_part));
  EXPECT_EQ(CountRows("bodies"), 1);
  EXPECT_THAT(Bodies(Queue("e")), ElementsAre("existing"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QueueStoreBadAppendTest,
    ::testing::Values(
        BadAppend{"EmptyBatch", [] { return v1::AppendMessagesRequest(); }, "batch is empty"},
        BadAppend{
            "NoQueue",
            [] { return AppendBuilder().Message("x", {Queue("e")}).Message("y", {}).Build(); },
            "messages[1].queues"},
        BadAppend{"EmptyEndpoint", [] { return AppendBuilder().Message("x", {Queue("")}).Build(); },
                  "endpoint"},
        BadAppend{"PriorityTen",
                  [] { return AppendBuilder().Message("x", {Queue("e", 10)}).Build(); },
                  "priority: 10"},
        BadAppend{"NegativeTtl",
                  [] { return AppendBuilder().Message("x", {Queue("e")}, -1).Build(); },
                  "ttl_seconds: -1"},
        BadAppend{"JournalWithoutSequence",
                  [] { return AppendBuilder().Journal("j", 0).Message("x", {Queue("e")}).Build(); },
                  "first_sequence"},
        BadAppend{"SameQueueTwice",
                  [] {
                    return AppendBuilder().Message("x", {Queue("e"), Queue("e")}).Build();
                  },
                  "twice"}),
    [](const ::testing::TestParamInfo<BadAppend>& info) { return info.param.name; });

TEST(SchemaTest, NewDatabaseIsAtTheCurrentVersionWithIncrementalVacuum) {
  edge::testing::TempDir dir;
  FakeClock clock(absl::UnixEpoch());
  ASSERT_TRUE(QueueStore::Open({.database = dir.path() / "s.db"}, &clock).ok());
  SQLite::Database db((dir.path() / "s.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);
  EXPECT_EQ(db.execAndGet("PRAGMA auto_vacuum").getInt(), 2);  // INCREMENTAL
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST(SchemaTest, MigratingTwiceIsHarmless) {
  edge::testing::TempDir dir;
  SQLite::Database db((dir.path() / "s.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  ASSERT_TRUE(MigrateSchema(db).ok());
  ASSERT_TRUE(MigrateSchema(db).ok());
  EXPECT_EQ(*SchemaVersion(db), kSchemaVersion);
}

TEST(SchemaTest, RefusesADatabaseFromANewerBinary) {
  edge::testing::TempDir dir;
  {
    SQLite::Database db((dir.path() / "s.db").string(),
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version = 99");
  }
  FakeClock clock(absl::UnixEpoch());
  auto store = QueueStore::Open({.database = dir.path() / "s.db"}, &clock);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("schema version 99"));
}

TEST(SchemaTest, RefusesAFileThatIsNotADatabase) {
  edge::testing::TempDir dir;
  {
    std::ofstream out(dir.path() / "s.db");
    out << std::string(4096, 'x');
  }
  FakeClock clock(absl::UnixEpoch());
  auto store = QueueStore::Open({.database = dir.path() / "s.db"}, &clock);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace edge::store

namespace edge::store {
namespace {

using ::edge::store::testing::AppendBuilder;
using ::edge::store::testing::Queue;

// A store with a small byte cap; each test message is ~200 bytes with its entry overhead.
class QueueStoreCapTest : public ::testing::Test {
 protected:
  void Open(FullPolicy policy, int64_t max_bytes) {
    store_.reset();
    auto store = QueueStore::Open(
        {.database = dir_.path() / "store.db", .max_bytes = max_bytes, .full_policy = policy},
        &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  absl::Status Append(const std::string& body, const v1::QueueId& queue) {
    return store_->Append(AppendBuilder().Message(body, {queue})).status();
  }

  std::vector<std::string> Bodies(const v1::QueueId& id) {
    auto queue = store_->FindQueue(id, false);
    if (!queue.ok()) return {};
    auto page = store_->ReadPage(*queue, 1, 1000);
    std::vector<std::string> bodies;
    for (const auto& e : page->entries) bodies.push_back(e.message().body());
    return bodies;
  }

  v1::QueueInfo Info(const v1::QueueId& id) {
    absl::StatusOr<std::vector<v1::QueueInfo>> queues = store_->ListQueues();
    EXPECT_TRUE(queues.ok());
    for (const auto& q : queues.value_or(std::vector<v1::QueueInfo>())) {
      if (q.queue().endpoint() == id.endpoint() && q.queue().priority() == id.priority() &&
          q.queue().has_priority() == id.has_priority()) {
        return q;
      }
    }
    return {};
  }

  edge::testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<QueueStore> store_;
  const std::string body_ = std::string(64, 'b');
};

TEST_F(QueueStoreCapTest, RejectPolicyRefusesAppendsWhenFullAndKeepsEverything) {
  Open(FullPolicy::kReject, 1000);
  int stored = 0;
  absl::Status status;
  while ((status = Append(body_ + std::to_string(stored), Queue("e"))).ok()) ++stored;
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("the store is full"));
  EXPECT_GE(stored, 3);
  EXPECT_LE(store_->used_bytes(), 1000);
  EXPECT_EQ(Bodies(Queue("e")).size(), static_cast<size_t>(stored));
  // Delivering makes room again.
  ASSERT_TRUE(store_->Checkpoint(*store_->FindQueue(Queue("e"), false), 3).ok());
  EXPECT_TRUE(Append(body_, Queue("e")).ok());
}

TEST_F(QueueStoreCapTest, DropOldestDropsTheLowestPriorityOldestEntriesFirst) {
  Open(FullPolicy::kDropOldest, 2500);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(Append("high" + std::to_string(i) + body_, Queue("e", 0)).ok());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(Append("low" + std::to_string(i) + body_, Queue("e")).ok());
  // Full now: more appends push out the default-priority queue's oldest entries, never priority 0.
  for (int i = 5; i < 9; ++i)
    ASSERT_TRUE(Append("high" + std::to_string(i) + body_, Queue("e", 0)).ok());
  EXPECT_LE(store_->used_bytes(), 2500);
  std::vector<std::string> high = Bodies(Queue("e", 0));
  ASSERT_EQ(high.size(), 9u);
  std::vector<std::string> low = Bodies(Queue("e"));
  ASSERT_FALSE(low.empty());
  ASSERT_LT(low.size(), 5u);
  // What a consumer sees: the newest low-priority entries, still in order, oldest gone.
  const size_t dropped = 5 - low.size();
  for (size_t i = 0; i < low.size(); ++i) {
    EXPECT_EQ(low[i], "low" + std::to_string(dropped + i) + body_);
  }
  EXPECT_EQ(Info(Queue("e")).dropped(), dropped);
  EXPECT_EQ(Info(Queue("e", 0)).dropped(), 0u);
}

TEST_F(QueueStoreCapTest, DropOldestStillRejectsABatchLargerThanTheCap) {
  Open(FullPolicy::kDropOldest, 300);
  ASSERT_TRUE(Append(body_, Queue("e")).ok());
  absl::Status status = Append(std::string(400, 'x'), Queue("e"));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  // The failed append dropped nothing.
  EXPECT_EQ(Bodies(Queue("e")).size(), 1u);
  EXPECT_EQ(Info(Queue("e")).dropped(), 0u);
}

TEST_F(QueueStoreCapTest, UsedBytesSurviveReopen) {
  Open(FullPolicy::kReject, 0);
  ASSERT_TRUE(Append(body_, Queue("a")).ok());
  ASSERT_TRUE(Append(body_, Queue("b")).ok());
  const int64_t used = store_->used_bytes();
  EXPECT_GT(used, 128);
  Open(FullPolicy::kReject, 0);
  EXPECT_EQ(store_->used_bytes(), used);
}

TEST_F(QueueStoreCapTest, AFullDiskIsResourceExhaustedAndLosesNothing) {
  store_.reset();
  // max_page_count stands in for the disk: SQLite answers SQLITE_FULL exactly as for ENOSPC.
  auto store =
      QueueStore::Open({.database = dir_.path() / "store.db", .max_page_count = 40}, &clock_);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  const std::string big(2000, 'x');
  int stored = 0;
  absl::Status status;
  while ((status = Append(big + std::to_string(stored), Queue("e"))).ok() && stored < 1000)
    ++stored;
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("disk is full"));
  std::vector<std::string> bodies = Bodies(Queue("e"));
  ASSERT_EQ(bodies.size(), static_cast<size_t>(stored));
  EXPECT_EQ(bodies.back(), big + std::to_string(stored - 1));
}

TEST_F(QueueStoreCapTest, ReclaimDeletesExpiredEntriesAndTheirBodiesAndCountsThem) {
  Open(FullPolicy::kReject, 0);
  ASSERT_TRUE(store_->Append(AppendBuilder().Message("short", {Queue("e"), Queue("f")}, 10)).ok());
  ASSERT_TRUE(store_->Append(AppendBuilder().Message("long", {Queue("e")}, 1000)).ok());
  const int64_t before = store_->used_bytes();
  auto nothing = store_->Reclaim();
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->expired_entries, 0);
  clock_.Advance(absl::Seconds(11));
  auto reclaimed = store_->Reclaim();
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.status();
  EXPECT_EQ(reclaimed->expired_entries, 2);
  EXPECT_LT(store_->used_bytes(), before);
  EXPECT_EQ(store_->used_bytes(), before - reclaimed->freed_bytes);
  auto stats = store_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->entries(), 1u);
  EXPECT_EQ(stats->messages(), 1u);
  EXPECT_EQ(Info(Queue("e")).expired(), 1u);
  EXPECT_EQ(Info(Queue("f")).expired(), 1u);
  EXPECT_EQ(Info(Queue("e")).depth(), 1u);
}

TEST_F(QueueStoreCapTest, CompactsAtMostOncePerInterval) {
  Open(FullPolicy::kReject, 0);
  EXPECT_TRUE(store_->Reclaim()->compacted);
  EXPECT_FALSE(store_->Reclaim()->compacted);
  clock_.Advance(absl::Seconds(11));
  EXPECT_TRUE(store_->Reclaim()->compacted);
}

TEST_F(QueueStoreCapTest, ListQueuesReportsBytesAndTheOldestEntry) {
  Open(FullPolicy::kReject, 0);
  const int64_t first = absl::ToUnixMillis(clock_.Now());
  ASSERT_TRUE(Append(body_, Queue("e")).ok());
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(Append(body_, Queue("e")).ok());
  v1::QueueInfo info = Info(Queue("e"));
  EXPECT_EQ(info.depth(), 2u);
  EXPECT_EQ(info.oldest_appended_unix_ms(), first);
  EXPECT_GT(info.bytes(), 2u * 64u);
}

}  // namespace
}  // namespace edge::store
