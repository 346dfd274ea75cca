// QueueStore: the store's message queues on SQLite.
//
// A queue is an endpoint at a priority. AppendMessages stores each message once and adds an entry
// to every queue it names, in one transaction; readers page through a queue in offset order and
// are told (NotifyWhenAppended) when more arrives, so nobody polls; Checkpoint records delivery and
// deletes what it covers.
//
// Threading: every method is thread-safe. Writes are serialised on one connection; reads use a pool
// of read-only connections and never keep a read transaction open between calls (an open reader
// would stop WAL checkpoints).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<QueueStore> store, QueueStore::Open(options, clock));
//   ASSIGN_OR_RETURN(auto response, store->Append(request));
//   ASSIGN_OR_RETURN(QueueHandle q, store->FindQueue(id, /*create=*/false));
//   ASSIGN_OR_RETURN(QueuePage page, store->ReadPage(q, /*from=*/1, /*limit=*/100));
#ifndef EDGE_SERVICES_STORE_QUEUE_STORE_H_
#define EDGE_SERVICES_STORE_QUEUE_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "edge/store/v1/store.pb.h"

namespace edge::store {

// Priority of a queue whose route gave none: after 0-9 (the value IoT Edge uses).
inline constexpr uint32_t kDefaultPriority = 2'000'000'000;
inline constexpr uint32_t kMaxPriority = 9;

// What an append does when the store is at its byte cap.
enum class FullPolicy {
  kReject,      // the append fails with RESOURCE_EXHAUSTED; nothing stored is lost
  kDropOldest,  // the oldest entries of the lowest-priority queues make room, counted per queue
};

struct QueueStoreOptions {
  std::filesystem::path database;
  // SQLite `synchronous`: NORMAL survives a process crash; FULL also survives power loss.
  bool synchronous_full = false;
  // The cap on used bytes (message bytes + kEntryOverheadBytes per entry); 0: none.
  int64_t max_bytes = 0;
  FullPolicy full_policy = FullPolicy::kReject;
  // Reclaim() truncates the WAL and returns free pages to the OS at most this often.
  absl::Duration compact_interval = absl::Seconds(10);
  // SQLite's `max_page_count`: a hard limit on the file, as a full disk would be; 0: none.
  int64_t max_page_count = 0;
  // How long a write waits for another connection's write (the registry's) before it fails
  // UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
};

// What the byte cap counts for each queue entry besides its message's bytes.
inline constexpr int64_t kEntryOverheadBytes = 32;

// What one Reclaim() pass did.
struct ReclaimResult {
  int64_t expired_entries = 0;
  int64_t freed_bytes = 0;
  bool compacted = false;
};

// A queue resolved by FindQueue; cheap to copy.
struct QueueHandle {
  int64_t id = 0;
  std::string endpoint;
  uint32_t priority = kDefaultPriority;
};

struct QueuePage {
  std::vector<v1::QueueEntry> entries;  // live entries, offset order
  uint64_t next_offset = 0;             // where the next read starts
};

class QueueStore {
 public:
  // Opens (creating and migrating) the database. FAILED_PRECONDITION for a database newer than
  // this binary; INTERNAL or DATA_LOSS when it cannot be opened. `clock` must outlive the store.
  static absl::StatusOr<std::unique_ptr<QueueStore>> Open(const QueueStoreOptions& options,
                                                          const Clock* clock);
  ~QueueStore();

  // Validates and appends a batch in one transaction; see edge.store.v1.MessageStore for the
  // contract and the INVALID_ARGUMENT cases. RESOURCE_EXHAUSTED when the disk is full (nothing of
  // the batch is stored).
  absl::StatusOr<v1::AppendMessagesResponse> Append(const v1::AppendMessagesRequest& request);

  // INVALID_ARGUMENT for a bad id; NOT_FOUND for an unknown queue unless `create`.
  absl::StatusOr<QueueHandle> FindQueue(const v1::QueueId& id, bool create);

  // Up to `limit` live entries with offset >= `from`, skipping expired ones.
  absl::StatusOr<QueuePage> ReadPage(const QueueHandle& queue, uint64_t from, uint32_t limit);

  // The offset after the queue's checkpoint (where a reader with no position starts).
  uint64_t FirstUndelivered(const QueueHandle& queue);

  // Records delivery up to `offset` and deletes the entries it covers (and bodies no queue still
  // references). Returns the checkpoint now in force. OUT_OF_RANGE beyond the last appended offset.
  absl::StatusOr<uint64_t> Checkpoint(const QueueHandle& queue, uint64_t offset);

  absl::StatusOr<std::vector<v1::QueueInfo>> ListQueues();
  absl::StatusOr<v1::StoreStats> GetStats();

  // Deletes expired entries (counted per queue) and the bodies nobody references any more; at most
  // every `compact_interval` also truncates the WAL and runs an incremental vacuum. The store
  // server calls it every second or so; tests call it with an injected clock.
  absl::StatusOr<ReclaimResult> Reclaim();

  // Used bytes as the cap counts them.
  int64_t used_bytes();

  // Calls `wake` once, from the appending thread, after an append puts an entry beyond
  // `after_offset` into the queue — unless one is already there, in which case nothing is
  // registered and false is returned (read again). A waiter is identified by `waiter_id`;
  // registering again replaces it. `wake` must be cheap and must not call back into the store.
  bool NotifyWhenAppended(const QueueHandle& queue, uint64_t after_offset, uint64_t waiter_id,
                          std::function<void()> wake);
  void CancelNotify(const QueueHandle& queue, uint64_t waiter_id);

 private:
  struct QueueState {
    int64_t id = 0;
    uint64_t last_offset = 0;
    uint64_t checkpoint = 0;
  };
  struct QueueKey {
    std::string endpoint;
    uint32_t priority;
    bool operator==(const QueueKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const QueueKey& k) {
      return H::combine(std::move(h), k.endpoint, k.priority);
    }
  };
  class ReadConnection;
  class WriteConnection;
  // RunSqlite (sqlite_status.h) for the write connection; after a failure the connection is made
  // usable again (WriteConnection::Recover). Called with write_mu_ held.
  template <typename Fn>
  auto WriteSqlite(absl::string_view what, Fn&& fn);

  QueueStore(const QueueStoreOptions& options, const Clock* clock);
  absl::Status Init();
  std::unique_ptr<ReadConnection> AcquireReader();
  void ReleaseReader(std::unique_ptr<ReadConnection> reader);
  int64_t NowMs() const;

  const QueueStoreOptions options_;
  const Clock* const clock_;

  // Serialises writers; the write connection and its statements are used only under it.
  absl::Mutex write_mu_;
  std::unique_ptr<WriteConnection> writer_ ABSL_GUARDED_BY(write_mu_);
  int64_t used_bytes_ ABSL_GUARDED_BY(write_mu_) = 0;
  absl::Time last_compact_ ABSL_GUARDED_BY(write_mu_) = absl::InfinitePast();

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<ReadConnection>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);

  // Committed state of every queue, and who waits for appends. Updated only after a commit.
  absl::Mutex state_mu_;
  absl::flat_hash_map<QueueKey, QueueState> queues_ ABSL_GUARDED_BY(state_mu_);
  absl::flat_hash_map<int64_t, absl::flat_hash_map<uint64_t, std::function<void()>>> waiters_
      ABSL_GUARDED_BY(state_mu_);
};

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_QUEUE_STORE_H_
