#include "services/hub/plugin/ingest_journal.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/edge_home.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace edge::hub {
namespace {

constexpr char kSegmentSuffix[] = ".seg";
constexpr char kIdFile[] = "journal-id";
constexpr char kAckedFile[] = "acked";
constexpr size_t kHeaderBytes = 4 + 4 + 8;
// A record larger than any message the hub accepts (256 KiB plus properties) is corruption.
constexpr uint32_t kMaxRecordBytes = 4u << 20;

uint32_t RecordCrc(uint64_t sequence, absl::string_view message) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(&sequence), sizeof(sequence));
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(message.data()),
                                     static_cast<uInt>(message.size())));
}

std::string EncodeRecord(uint64_t sequence, const std::string& message) {
  const uint32_t length = static_cast<uint32_t>(message.size());
  const uint32_t crc = RecordCrc(sequence, message);
  std::string record(kHeaderBytes, '\0');
  std::memcpy(record.data(), &length, 4);
  std::memcpy(record.data() + 4, &crc, 4);
  std::memcpy(record.data() + 8, &sequence, 8);
  record.append(message);
  return record;
}

absl::Status Errno(absl::string_view doing, const std::filesystem::path& path) {
  return absl::InternalError(absl::StrCat(doing, " ", path.string(), ": ", std::strerror(errno)));
}

absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("cannot read", path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::filesystem::path SegmentPath(const std::filesystem::path& dir, uint64_t first_sequence) {
  return dir / absl::StrFormat("%020u%s", first_sequence, kSegmentSuffix);
}

std::string RandomId() {
  std::random_device random;
  std::string raw;
  for (int i = 0; i < 16; ++i) raw.push_back(static_cast<char>(random() & 0xff));
  return absl::BytesToHexString(raw);
}

}  // namespace

absl::StatusOr<std::unique_ptr<IngestJournal>> IngestJournal::Open(Options options) {
  std::unique_ptr<IngestJournal> journal(new IngestJournal(std::move(options)));
  RETURN_IF_ERROR(journal->Load());
  return journal;
}

IngestJournal::~IngestJournal() {
  Close();
  if (fd_ >= 0) ::close(fd_);
}

absl::Status IngestJournal::Load() {
  const std::filesystem::path& dir = options_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);

  if (std::filesystem::exists(dir / kIdFile)) {
    ASSIGN_OR_RETURN(std::string id, ReadWholeFile(dir / kIdFile));
    id_ = std::string(absl::StripAsciiWhitespace(id));
  }
  if (id_.empty()) {
    id_ = RandomId();
    RETURN_IF_ERROR(WriteFileAtomically(dir / kIdFile, id_ + "\n", 0600));
  }
  uint64_t acked = 0;
  if (std::filesystem::exists(dir / kAckedFile)) {
    ASSIGN_OR_RETURN(std::string text, ReadWholeFile(dir / kAckedFile));
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &acked)) acked = 0;
  }

  std::vector<std::pair<uint64_t, std::filesystem::path>> files;
  for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = file.path().filename().string();
    absl::string_view stem = name;
    uint64_t first = 0;
    if (absl::ConsumeSuffix(&stem, kSegmentSuffix) && absl::SimpleAtoi(stem, &first)) {
      files.emplace_back(first, file.path());
    }
  }
  if (ec)
    return absl::InternalError(absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
  std::sort(files.begin(), files.end());

  uint64_t highest = acked;
  absl::MutexLock lock(&mu_);
  acked_ = acked;
  for (const auto& [first, path] : files) {
    highest = std::max(highest, first - 1);
    ASSIGN_OR_RETURN(std::string contents, ReadWholeFile(path));
    Segment segment{.first_sequence = first, .last_sequence = first - 1, .path = path};
    size_t at = 0;
    while (at + kHeaderBytes <= contents.size()) {
      uint32_t length = 0;
      uint32_t crc = 0;
      uint64_t sequence = 0;
      std::memcpy(&length, contents.data() + at, 4);
      std::memcpy(&crc, contents.data() + at + 4, 4);
      std::memcpy(&sequence, contents.data() + at + 8, 8);
      if (length > kMaxRecordBytes || at + kHeaderBytes + length > contents.size()) break;
      absl::string_view message(contents.data() + at + kHeaderBytes, length);
      if (RecordCrc(sequence, message) != crc || sequence <= segment.last_sequence) break;
      segment.last_sequence = sequence;
      highest = std::max(highest, sequence);
      if (sequence > acked_) {
        pending_.push_back({.sequence = sequence, .message = std::string(message)});
        pending_bytes_ += message.size();
      }
      at += kHeaderBytes + length;
    }
    if (at < contents.size()) {
      recovery_.dropped_bytes += contents.size() - at;
      spdlog::warn("hub journal: {}: {} bytes after offset {} are torn or corrupt; dropped",
                   path.string(), contents.size() - at, at);
    }
    if (segment.last_sequence <= acked_) {
      std::filesystem::remove(path, ec);  // nothing in it is still needed
    } else {
      segments_.push_back(std::move(segment));
    }
  }
  recovery_.replayed = pending_.size();
  next_sequence_ = highest + 1;
  return StartSegment(next_sequence_);
}

absl::Status IngestJournal::StartSegment(uint64_t first_sequence) {
  const std::filesystem::path path = SegmentPath(options_.dir, first_sequence);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_size_ = 0;
  segments_.push_back(
      {.first_sequence = first_sequence, .last_sequence = first_sequence - 1, .path = path});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> IngestJournal::Append(const common::v1::Message& message) {
  std::string serialized;
  message.SerializeToString(&serialized);
  {
    absl::MutexLock lock(&mu_);
    if (pending_bytes_ + serialized.size() > options_.max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat("the ingest journal holds ", pending_bytes_,
                                                       " unacknowledged bytes; its limit is ",
                                                       options_.max_bytes));
    }
    if (segment_size_ >= options_.segment_bytes) RETURN_IF_ERROR(StartSegment(next_sequence_));
  }
  const uint64_t sequence = next_sequence_;
  const std::string record = EncodeRecord(sequence, serialized);
  const ssize_t written = ::write(fd_, record.data(), record.size());
  if (written != static_cast<ssize_t>(record.size())) {
    const absl::Status error =
        written < 0 ? Errno("cannot append to", options_.dir)
                    : absl::InternalError(absl::StrCat("short write to the journal in ",
                                                       options_.dir.string(), " (disk full?)"));
    // Cut a partial record back so that the next one starts on a record boundary.
    if (written > 0 && ::ftruncate(fd_, static_cast<off_t>(segment_size_)) != 0) {
      spdlog::error("hub journal: cannot cut a partial record: {}", std::strerror(errno));
    }
    return error;
  }
  segment_size_ += record.size();
  ++next_sequence_;
  absl::MutexLock lock(&mu_);
  segments_.back().last_sequence = sequence;
  pending_bytes_ += serialized.size();
  pending_.push_back({.sequence = sequence, .message = std::move(serialized)});
  appended_.SignalAll();
  return sequence;
}

std::vector<IngestJournal::Entry> IngestJournal::Read(uint64_t after, size_t max_entries,
                                                      size_t max_bytes, absl::Time deadline) {
  std::vector<Entry> entries;
  absl::MutexLock lock(&mu_);
  const auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || (!pending_.empty() && pending_.back().sequence > after);
  };
  while (!ready()) {
    if (appended_.WaitWithDeadline(&mu_, deadline)) break;
  }
  if (closed_ || pending_.empty() || pending_.back().sequence <= after) return entries;
  const uint64_t front = pending_.front().sequence;
  size_t index = after < front ? 0 : static_cast<size_t>(after - front + 1);
  size_t bytes = 0;
  for (; index < pending_.size() && entries.size() < max_entries; ++index) {
    if (!entries.empty() && bytes + pending_[index].message.size() > max_bytes) break;
    bytes += pending_[index].message.size();
    entries.push_back(pending_[index]);
  }
  return entries;
}

void IngestJournal::Trim(uint64_t sequence) {
  std::vector<std::filesystem::path> deleted;
  {
    absl::MutexLock lock(&mu_);
    if (sequence <= acked_) return;
    acked_ = sequence;
    while (!pending_.empty() && pending_.front().sequence <= sequence) {
      pending_bytes_ -= pending_.front().message.size();
      pending_.pop_front();
    }
    while (segments_.size() > 1 && segments_.front().last_sequence <= sequence) {
      deleted.push_back(segments_.front().path);
      segments_.pop_front();
    }
  }
  if (deleted.empty()) return;
  // Written before the deletion, so that an open after a crash never replays from a segment that
  // is gone (it would only replay more, never lose, but keep it tidy).
  WriteAckedFile(sequence);
  std::error_code ec;
  for (const auto& path : deleted) std::filesystem::remove(path, ec);
}

void IngestJournal::Close() {
  uint64_t acked = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    appended_.SignalAll();
    acked = acked_;
  }
  WriteAckedFile(acked);
}

void IngestJournal::WriteAckedFile(uint64_t sequence) {
  absl::Status written =
      WriteFileAtomically(options_.dir / kAckedFile, absl::StrCat(sequence, "\n"), 0600);
  if (!written.ok()) spdlog::warn("hub journal: {}", written.message());
}

uint64_t IngestJournal::pending_bytes() const {
  absl::MutexLock lock(&mu_);
  return pending_bytes_;
}

uint64_t IngestJournal::pending_entries() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

uint64_t IngestJournal::acked_sequence() const {
  absl::MutexLock lock(&mu_);
  return acked_;
}

}  // namespace edge::hub
