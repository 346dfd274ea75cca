// IngestJournal: the hub's write-ahead journal of accepted publishes (DESIGN.md "Data flows",
// step 2). The MESSAGE callback appends each telemetry or module message before it returns — the
// broker sends the PUBACK after that — so a message a client has a PUBACK for is in the journal
// even if the hub is killed the next instant. A worker (IngestStreamer) sends the journal to the
// router in order and trims it once the store has committed.
//
// On disk: a directory of segment files `<first sequence, 20 digits>.seg`, each a run of records
// `[u32 length][u32 crc32][u64 sequence][serialized edge.common.v1.Message]` (host byte order), a
// `journal-id` file (random, made at the first open: the store keeps each journal's high-water
// sequence) and an `acked` file (the last trimmed sequence, written when segments are deleted and
// at Close). Appends are plain write(2)s with no fsync: a killed process loses nothing the kernel
// has; a power cut may tear the tail, which the CRC finds and the next open drops. Each open starts
// a new segment; whole segments are deleted once every record in them was acknowledged.
// Unacknowledged records are also kept in memory for the streamer (bounded by `max_bytes`).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<IngestJournal> journal, IngestJournal::Open({.dir = dir}));
//   absl::StatusOr<uint64_t> sequence = journal->Append(message);  // broker thread
//   std::vector<IngestJournal::Entry> next = journal->Read(0, 256, deadline);  // worker
//   journal->Trim(next.back().sequence);  // after the router's ack
//
// Thread-safe: Append from one thread (the broker's); Read, Trim and the accessors from any.
#ifndef EDGE_SERVICES_HUB_PLUGIN_INGEST_JOURNAL_H_
#define EDGE_SERVICES_HUB_PLUGIN_INGEST_JOURNAL_H_

#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "edge/common/v1/message.pb.h"

namespace edge::hub {

class IngestJournal {
 public:
  struct Options {
    std::filesystem::path dir;
    // Unacknowledged record bytes the journal holds at most; beyond it Append refuses.
    uint64_t max_bytes = 256ull << 20;
    // A new segment starts when the current one reaches this size.
    uint64_t segment_bytes = 16ull << 20;
  };

  struct Entry {
    uint64_t sequence = 0;
    std::string message;  // a serialized edge.common.v1.Message
  };

  // What Open found on disk.
  struct Recovery {
    uint64_t replayed = 0;       // unacknowledged records, to be sent again
    uint64_t dropped_bytes = 0;  // torn or corrupt record bytes skipped
  };

  // Opens (creating it when absent) the journal in `options.dir` and loads what was not
  // acknowledged. INTERNAL when the directory or a file cannot be read or written.
  static absl::StatusOr<std::unique_ptr<IngestJournal>> Open(Options options);
  ~IngestJournal();

  IngestJournal(const IngestJournal&) = delete;
  IngestJournal& operator=(const IngestJournal&) = delete;

  const std::string& id() const { return id_; }
  const Recovery& recovery() const { return recovery_; }

  // Appends `message` under the next sequence and returns it. RESOURCE_EXHAUSTED when the
  // unacknowledged bytes would exceed max_bytes (nothing written); INTERNAL when the write failed
  // (nothing kept: the file is cut back).
  absl::StatusOr<uint64_t> Append(const common::v1::Message& message);

  // Up to `max_entries` entries (and about `max_bytes` bytes, at least one entry) with sequences
  // after `after`, in order. Waits until `deadline` for the first one; empty when none came or the
  // journal was closed.
  std::vector<Entry> Read(uint64_t after, size_t max_entries, size_t max_bytes,
                          absl::Time deadline);

  // Everything through `sequence` is committed downstream: forgets it and deletes the segments
  // that hold nothing newer. Sequences already trimmed are ignored.
  void Trim(uint64_t sequence);

  // Wakes every Read and records the acknowledged sequence. Append still works (cleanup order).
  void Close();

  uint64_t pending_bytes() const;
  uint64_t pending_entries() const;
  uint64_t acked_sequence() const;

 private:
  struct Segment {
    uint64_t first_sequence = 0;
    uint64_t last_sequence = 0;  // first_sequence - 1 while empty
    std::filesystem::path path;
  };

  explicit IngestJournal(Options options) : options_(std::move(options)) {}

  absl::Status Load();
  absl::Status StartSegment(uint64_t first_sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteAckedFile(uint64_t sequence);

  const Options options_;
  std::string id_;
  Recovery recovery_;

  // Broker thread only (Append).
  int fd_ = -1;
  uint64_t segment_size_ = 0;
  uint64_t next_sequence_ = 1;

  mutable absl::Mutex mu_;
  absl::CondVar appended_;
  std::deque<Entry> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Segment> segments_ ABSL_GUARDED_BY(mu_);  // oldest first; back() is being written
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_INGEST_JOURNAL_H_
