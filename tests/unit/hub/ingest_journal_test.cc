#include "services/hub/plugin/ingest_journal.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace edge::hub {
namespace {

using ::edge::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

common::v1::Message Body(const std::string& body) {
  common::v1::Message message;
  message.set_body(body);
  return message;
}

std::vector<std::string> Bodies(const std::vector<IngestJournal::Entry>& entries) {
  std::vector<std::string> bodies;
  for (const auto& entry : entries) {
    common::v1::Message message;
    EXPECT_TRUE(message.ParseFromString(entry.message));
    bodies.push_back(message.body());
  }
  return bodies;
}

std::vector<std::filesystem::path> Segments(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> segments;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.path().extension() == ".seg") segments.push_back(file.path());
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

class IngestJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<IngestJournal> Open(uint64_t max_bytes = 1 << 20, uint64_t segment_bytes = 4096) {
    absl::StatusOr<std::unique_ptr<IngestJournal>> journal =
        IngestJournal::Open({.dir = dir_, .max_bytes = max_bytes, .segment_bytes = segment_bytes});
    EXPECT_TRUE(journal.ok()) << journal.status();
    return journal.ok() ? *std::move(journal) : nullptr;
  }

  std::vector<IngestJournal::Entry> ReadAll(IngestJournal& journal, uint64_t after = 0) {
    return journal.Read(after, 1000, 1 << 30, absl::Now());
  }

  TempDir temp_;
  std::filesystem::path dir_ = temp_.path() / "journal";
};

TEST_F(IngestJournalTest, AppendsInSequenceAndReadsInOrder) {
  auto journal = Open();
  EXPECT_EQ(*journal->Append(Body("a")), 1u);
  EXPECT_EQ(*journal->Append(Body("b")), 2u);
  EXPECT_EQ(*journal->Append(Body("c")), 3u);

  EXPECT_THAT(Bodies(ReadAll(*journal)), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Bodies(ReadAll(*journal, 1)), ElementsAre("b", "c"));
  EXPECT_THAT(Bodies(journal->Read(0, 2, 1 << 30, absl::Now())), ElementsAre("a", "b"));
  EXPECT_THAT(ReadAll(*journal, 3), IsEmpty());
}

TEST_F(IngestJournalTest, AReopenedJournalReplaysWhatWasNotTrimmedAndContinuesTheSequence) {
  std::string id;
  {
    auto journal = Open();
    id = journal->id();
    for (const char* body : {"a", "b", "c"}) ASSERT_TRUE(journal->Append(Body(body)).ok());
    journal->Trim(1);
  }
  auto journal = Open();
  EXPECT_EQ(journal->id(), id);
  EXPECT_EQ(journal->recovery().replayed, 2u);
  EXPECT_THAT(Bodies(ReadAll(*journal)), ElementsAre("b", "c"));
  EXPECT_EQ(*journal->Append(Body("d")), 4u);
}

TEST_F(IngestJournalTest, AJournalNotClosedReplaysEverythingItHeld) {
  {
    auto journal = Open();
    for (const char* body : {"a", "b"}) ASSERT_TRUE(journal->Append(Body(body)).ok());
    // Destroyed without a Trim: as after kill -9, whatever the router did not ack comes back.
  }
  auto journal = Open();
  EXPECT_THAT(Bodies(ReadAll(*journal)), ElementsAre("a", "b"));
}

TEST_F(IngestJournalTest, ATornTailIsDroppedAndTheRestKept) {
  {
    auto journal = Open();
    for (const char* body : {"a", "b"}) ASSERT_TRUE(journal->Append(Body(body)).ok());
  }
  const std::filesystem::path segment = Segments(dir_).back();
  const auto size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 1);  // the last record loses a byte

  auto journal = Open();
  EXPECT_THAT(Bodies(ReadAll(*journal)), ElementsAre("a"));
  EXPECT_GT(journal->recovery().dropped_bytes, 0u);
  EXPECT_EQ(*journal->Append(Body("c")), 2u);
}

TEST_F(IngestJournalTest, ACorruptRecordIsNotReplayed) {
  {
    auto journal = Open();
    ASSERT_TRUE(journal->Append(Body("abcdef")).ok());
  }
  const std::filesystem::path segment = Segments(dir_).back();
  std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(-2, std::ios::end);
  file.put('X');
  file.close();

  auto journal = Open();
  EXPECT_THAT(ReadAll(*journal), IsEmpty());
  EXPECT_GT(journal->recovery().dropped_bytes, 0u);
}

TEST_F(IngestJournalTest, AFullJournalRefusesWithResourceExhaustedUntilTrimmed) {
  auto journal = Open(/*max_bytes=*/100);
  ASSERT_TRUE(journal->Append(Body(std::string(60, 'x'))).ok());
  absl::StatusOr<uint64_t> refused = journal->Append(Body(std::string(60, 'y')));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);

  journal->Trim(1);
  EXPECT_EQ(*journal->Append(Body(std::string(60, 'y'))), 2u);
  EXPECT_THAT(Bodies(ReadAll(*journal)), ElementsAre(std::string(60, 'y')));
}

TEST_F(IngestJournalTest, TrimDeletesSegmentsWholeOnceAcknowledged) {
  auto journal = Open(/*max_bytes=*/1 << 20, /*segment_bytes=*/100);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(journal->Append(Body(std::string(60, 'x'))).ok());
  const size_t before = Segments(dir_).size();
  ASSERT_GT(before, 3u);

  journal->Trim(10);
  EXPECT_THAT(Segments(dir_), SizeIs(1));  // the one being written stays
  EXPECT_EQ(journal->pending_bytes(), 0u);
  journal.reset();
  EXPECT_THAT(ReadAll(*Open()), IsEmpty());
}

TEST_F(IngestJournalTest, ReadWaitsForAnAppendUntilItsDeadline) {
  auto journal = Open();
  const absl::Time start = absl::Now();
  EXPECT_THAT(journal->Read(0, 10, 1 << 20, start + absl::Milliseconds(50)), IsEmpty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));

  std::thread appender([&] {
    absl::SleepFor(absl::Milliseconds(20));
    ASSERT_TRUE(journal->Append(Body("late")).ok());
  });
  EXPECT_THAT(Bodies(journal->Read(0, 10, 1 << 20, absl::Now() + absl::Seconds(10))),
              ElementsAre("late"));
  appender.join();
}

TEST_F(IngestJournalTest, CloseWakesAWaitingRead) {
  auto journal = Open();
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    journal->Close();
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(journal->Read(0, 10, 1 << 20, start + absl::Seconds(10)), IsEmpty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  closer.join();
}

}  // namespace
}  // namespace edge::hub
