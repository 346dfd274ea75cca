// Registry: the store's identities, twins, per-service state and the change feed over them.
//
// Every change to an identity or a twin is written, in the same transaction, as a row of the change
// log with a store-wide sequence number; Watch consumers read the log from their cursor, or a
// snapshot of the current state when their cursor is 0 or older than what the log retains.
//
// Threading: every method is thread-safe (one SQLite connection behind a mutex: identities and
// twins are low-volume next to the message queues). NotifyAfter's `wake` runs on the writing
// thread after the commit and must be cheap.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Registry> registry, Registry::Open(options, clock));
//   RETURN_IF_ERROR(registry->EnsureEdgeDevice("edge-1"));
//   ASSIGN_OR_RETURN(v1::Twin twin, registry->PatchReported(request));
#ifndef EDGE_SERVICES_STORE_REGISTRY_H_
#define EDGE_SERVICES_STORE_REGISTRY_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "edge/store/v1/identities.pb.h"
#include "edge/store/v1/state.pb.h"
#include "edge/store/v1/twins.pb.h"
#include "edge/store/v1/watch.pb.h"

namespace edge::store {

// The system modules every edge device has.
inline constexpr const char* kEdgeAgentModule = "$edgeAgent";
inline constexpr const char* kEdgeHubModule = "$edgeHub";

struct RegistryOptions {
  std::filesystem::path database;
  // How many changes the log keeps; a watcher further behind gets a snapshot.
  int64_t change_retention = 10000;
};

// Which changes a watcher wants.
struct ChangeFilter {
  std::vector<v1::ChangeKind> kinds;  // empty: all
  std::vector<std::string> ids;       // empty: all

  bool Matches(v1::ChangeKind kind, absl::string_view id) const;
};

// A page of the change log or of a snapshot.
struct ChangePage {
  std::vector<v1::Change> changes;
  // Change log: the last sequence examined (filtered-out rows included); the next read starts
  // after it. Snapshot: the id to continue after; empty when the snapshot is complete.
  uint64_t last_sequence = 0;
  std::string next_id;
};

class Registry {
 public:
  // Opens (creating and migrating) the database. Errors as QueueStore::Open.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(const RegistryOptions& options,
                                                        const Clock* clock);
  ~Registry();

  // --- Identities (contracts as edge.store.v1.IdentityRegistry) ---
  absl::StatusOr<v1::Identity> CreateIdentity(const v1::CreateIdentityRequest& request);
  absl::StatusOr<v1::Identity> GetIdentity(absl::string_view id);
  absl::StatusOr<std::vector<v1::Identity>> ListIdentities(absl::string_view device_id);
  absl::StatusOr<v1::Identity> UpdateIdentity(const v1::UpdateIdentityRequest& request);
  absl::StatusOr<std::vector<std::string>> DeleteIdentity(absl::string_view id);

  // First start: creates the edge device `device_id`, its `$edgeAgent` and `$edgeHub` modules and
  // their empty twins, each only if missing. The edge device and its system modules cannot be
  // deleted afterwards.
  absl::Status EnsureEdgeDevice(absl::string_view device_id);

  // --- Twins (contracts as edge.store.v1.TwinStore) ---
  absl::StatusOr<v1::Twin> GetTwin(absl::string_view id);
  absl::StatusOr<v1::Twin> ReplaceDesired(const v1::ReplaceDesiredRequest& request);
  absl::StatusOr<v1::Twin> PatchDesired(const v1::PatchTwinRequest& request);
  absl::StatusOr<v1::Twin> PatchReported(const v1::PatchTwinRequest& request);

  // --- Service state (contracts as edge.store.v1.ServiceState) ---
  absl::StatusOr<v1::StateEntry> GetState(absl::string_view ns, absl::string_view key);
  absl::StatusOr<v1::StateEntry> PutState(const v1::PutStateRequest& request);
  absl::StatusOr<bool> DeleteState(absl::string_view ns, absl::string_view key);
  absl::StatusOr<std::vector<v1::StateEntry>> ListState(absl::string_view ns);

  // --- Change feed ---
  // The sequence of the last change committed (0 when there was none).
  uint64_t LastSequence();
  // Whether a watcher whose cursor is `from` needs a snapshot: `from` is 0, older than the log
  // retains, or newer than anything committed (a cursor from another database).
  absl::StatusOr<bool> NeedsSnapshot(uint64_t from);
  // Up to `limit` matching changes with sequence > `after`.
  absl::StatusOr<ChangePage> ReadChanges(uint64_t after, const ChangeFilter& filter, int limit);
  // Up to `limit` current objects with id > `after_id`, as snapshot changes stamped `sequence`.
  absl::StatusOr<ChangePage> ReadSnapshot(const ChangeFilter& filter, absl::string_view after_id,
                                          uint64_t sequence, int limit);
  // As QueueStore::NotifyWhenAppended, for the change log.
  bool NotifyAfter(uint64_t sequence, uint64_t waiter_id, std::function<void()> wake);
  void CancelNotify(uint64_t waiter_id);

 private:
  Registry(const RegistryOptions& options, const Clock* clock);
  absl::Status Init();

  // Runs `fn` in a write transaction; `changes` it appends are logged with new sequence numbers
  // in the same transaction, and waiters are woken after the commit.
  template <typename Fn>
  auto Write(absl::string_view what, Fn&& fn);

  const RegistryOptions options_;
  const Clock* const clock_;

  absl::Mutex mu_;
  std::unique_ptr<SQLite::Database> db_ ABSL_GUARDED_BY(mu_);
  std::string edge_device_ ABSL_GUARDED_BY(mu_);
  int64_t writes_since_prune_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex waiters_mu_;
  uint64_t last_sequence_ ABSL_GUARDED_BY(waiters_mu_) = 0;
  absl::flat_hash_map<uint64_t, std::function<void()>> waiters_ ABSL_GUARDED_BY(waiters_mu_);
};

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_REGISTRY_H_
