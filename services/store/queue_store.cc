#include "services/store/queue_store.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/store/schema.h"
#include "services/store/sqlite_status.h"
#include "sqlite3.h"

namespace edge::store {
namespace {

constexpr size_t kMaxIdleReaders = 8;

// The validated form of one QueueTarget.
struct Target {
  std::string endpoint;
  uint32_t priority;
  int64_t ttl_ms;
};

absl::StatusOr<uint32_t> ValidatePriority(const v1::QueueId& id, absl::string_view field) {
  if (id.endpoint().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".endpoint: is required"));
  }
  if (!id.has_priority()) return kDefaultPriority;
  if (id.priority() > kMaxPriority) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".priority: ", id.priority(), " is outside 0-", kMaxPriority));
  }
  return id.priority();
}

absl::StatusOr<std::vector<std::vector<Target>>> ValidateAppend(
    const v1::AppendMessagesRequest& request) {
  if (request.messages().empty()) {
    return absl::InvalidArgumentError("messages: the batch is empty");
  }
  if (!request.journal_id().empty() && request.first_sequence() == 0) {
    return absl::InvalidArgumentError(
        "first_sequence: required (at least 1) when journal_id is set");
  }
  std::vector<std::vector<Target>> targets(request.messages_size());
  for (int i = 0; i < request.messages_size(); ++i) {
    const v1::MessageToAppend& m = request.messages(i);
    if (m.queues().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "].queues: none given"));
    }
    for (int q = 0; q < m.queues_size(); ++q) {
      std::string field = absl::StrCat("messages[", i, "].queues[", q, "]");
      const v1::QueueTarget& t = m.queues(q);
      ASSIGN_OR_RETURN(uint32_t priority,
                       ValidatePriority(t.queue(), absl::StrCat(field, ".queue")));
      if (t.ttl_seconds() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".ttl_seconds: ", t.ttl_seconds(), " is negative"));
      }
      for (const Target& seen : targets[i]) {
        if (seen.endpoint == t.queue().endpoint() && seen.priority == priority) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ": the message names this queue twice"));
        }
      }
      targets[i].push_back({t.queue().endpoint(), priority, t.ttl_seconds() * 1000});
    }
  }
  return targets;
}

// What deleting entries gave back.
struct Freed {
  int64_t entries = 0;
  int64_t bytes = 0;  // bodies deleted + kEntryOverheadBytes per entry
};

// Deletes the entries matching `where` (a condition on `entries`, its parameters bound by `bind`)
// and every body no entry references any more. When `count_column` is given (a counter column of
// `queues`), each queue's deleted entries are added to it. Runs inside the caller's transaction.
Freed DeleteEntries(SQLite::Database& db, const std::string& where,
                    const std::function<void(SQLite::Statement&)>& bind, const char* count_column) {
  // Indexed by body, since each body's reference count is looked up in it.
  db.exec(
      "CREATE TEMP TABLE IF NOT EXISTS doomed (queue_id INTEGER, offset INTEGER, body_id "
      "INTEGER); CREATE INDEX IF NOT EXISTS temp.doomed_by_body ON doomed (body_id); "
      "DELETE FROM temp.doomed;");
  SQLite::Statement select(
      db, "INSERT INTO temp.doomed SELECT queue_id, offset, body_id FROM entries WHERE " + where);
  bind(select);
  Freed freed;
  freed.entries = select.exec();
  if (freed.entries == 0) return freed;
  if (count_column != nullptr) {
    db.exec(absl::StrCat("UPDATE queues SET ", count_column, " = ", count_column,
                         " + (SELECT COUNT(*) FROM temp.doomed d WHERE d.queue_id = queues.id) "
                         "WHERE id IN (SELECT queue_id FROM temp.doomed)"));
  }
  db.exec(
      "UPDATE bodies SET refs = refs - (SELECT COUNT(*) FROM temp.doomed d WHERE d.body_id = "
      "bodies.id) WHERE id IN (SELECT body_id FROM temp.doomed)");
  freed.bytes = db.execAndGet(
                      "SELECT COALESCE(SUM(length(data)), 0) FROM bodies WHERE refs <= 0 "
                      "AND id IN (SELECT body_id FROM temp.doomed)")
                    .getInt64() +
                freed.entries * kEntryOverheadBytes;
  db.exec(
      "DELETE FROM bodies WHERE refs <= 0 AND id IN (SELECT body_id FROM temp.doomed);"
      "DELETE FROM entries WHERE (queue_id, offset) IN (SELECT queue_id, offset FROM "
      "temp.doomed);");
  return freed;
}

// Drop-oldest: deletes the oldest entries of the lowest-priority queues until `needed` bytes are
// free, counting drops per queue. Returns what it freed (less than `needed` when the store ran
// out of entries to drop).
int64_t DropOldest(SQLite::Database& db, int64_t needed) {
  int64_t freed = 0;
  while (freed < needed) {
    // Entries per round: few enough not to drop much more than needed (assuming entries of at
    // least 512 bytes), many enough not to take a round per entry when much is needed.
    const int64_t chunk = std::clamp<int64_t>((needed - freed) / 512 + 1, 1, 64);
    // The lowest priority first (the default is the highest number); among equals the queue whose
    // head is oldest.
    SQLite::Statement pick(db,
                           "SELECT q.id, (SELECT e.appended_ms FROM entries e WHERE e.queue_id = "
                           "q.id ORDER BY e.offset LIMIT 1) AS head FROM queues q WHERE head IS "
                           "NOT NULL ORDER BY q.priority DESC, head ASC LIMIT 1");
    if (!pick.executeStep()) break;
    const int64_t queue_id = pick.getColumn(0).getInt64();
    pick.reset();
    SQLite::Statement last(db,
                           "SELECT MAX(offset) FROM (SELECT offset FROM entries WHERE queue_id = "
                           "? ORDER BY offset LIMIT ?)");
    last.bind(1, queue_id);
    last.bind(2, chunk);
    last.executeStep();
    const int64_t up_to = last.getColumn(0).getInt64();
    last.reset();
    freed += DeleteEntries(
                 db, "queue_id = ?1 AND offset <= ?2",
                 [&](SQLite::Statement& st) {
                   st.bind(1, queue_id);
                   st.bind(2, up_to);
                 },
                 "dropped_count")
                 .bytes;
  }
  return freed;
}

// Every connection is used by one thread at a time (the writer under write_mu_, a reader while it
// is out of the pool), so SQLite's own per-call mutex is switched off.
std::unique_ptr<SQLite::Database> OpenConnection(const std::filesystem::path& path, int flags,
                                                 absl::Duration busy_timeout) {
  return std::make_unique<SQLite::Database>(path.string(), flags | SQLite::OPEN_NOMUTEX,
                                            absl::ToInt64Milliseconds(busy_timeout));
}

// Write transactions take the write lock at BEGIN, where SQLite's busy timeout applies. A deferred
// transaction that read first and then had to upgrade while the registry's connection wrote would
// fail at once with SQLITE_BUSY (its snapshot is stale), in the middle of a statement.
constexpr SQLite::TransactionBehavior kWrite = SQLite::TransactionBehavior::IMMEDIATE;

}  // namespace

// A read-only connection with its prepared statements; owned by one reader at a time.
class QueueStore::ReadConnection {
 public:
  ReadConnection(const std::filesystem::path& path, absl::Duration busy_timeout)
      : db_(OpenConnection(path, SQLite::OPEN_READONLY, busy_timeout)),
        read_page_(*db_,
                   "SELECT e.offset, e.appended_ms, e.expires_ms, b.data FROM entries e "
                   "JOIN bodies b ON b.id = e.body_id "
                   "WHERE e.queue_id = ?1 AND e.offset >= ?2 AND (e.expires_ms = 0 OR "
                   "e.expires_ms > ?3) ORDER BY e.offset LIMIT ?4") {}

  SQLite::Database& db() { return *db_; }
  SQLite::Statement& read_page() { return read_page_; }

 private:
  std::unique_ptr<SQLite::Database> db_;
  SQLite::Statement read_page_;
};

// The write connection with the statements of the append path, prepared once.
class QueueStore::WriteConnection {
 public:
  WriteConnection(const std::filesystem::path& path, absl::Duration busy_timeout)
      : db_(OpenConnection(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_timeout)) {}

  // Prepares the statements; the schema must exist.
  void Prepare() {
    get_journal_.emplace(*db_, "SELECT high_water FROM journals WHERE journal_id = ?");
    put_journal_.emplace(*db_,
                         "INSERT INTO journals (journal_id, high_water) VALUES (?1, ?2) "
                         "ON CONFLICT (journal_id) DO UPDATE SET high_water = ?2");
    insert_body_.emplace(*db_, "INSERT INTO bodies (data, refs) VALUES (?, ?)");
    insert_queue_.emplace(*db_, "INSERT INTO queues (endpoint, priority) VALUES (?, ?)");
    insert_entry_.emplace(*db_,
                          "INSERT INTO entries (queue_id, offset, body_id, appended_ms, "
                          "expires_ms) VALUES (?, ?, ?, ?, ?)");
    update_queue_.emplace(*db_, "UPDATE queues SET last_offset = ? WHERE id = ?");
  }

  SQLite::Database& db() { return *db_; }
  // Each returns its statement reset and unbound, ready to bind.
  SQLite::Statement& get_journal() { return Fresh(*get_journal_); }
  SQLite::Statement& put_journal() { return Fresh(*put_journal_); }
  SQLite::Statement& insert_body() { return Fresh(*insert_body_); }
  SQLite::Statement& insert_queue() { return Fresh(*insert_queue_); }
  SQLite::Statement& insert_entry() { return Fresh(*insert_entry_); }
  SQLite::Statement& update_queue() { return Fresh(*update_queue_); }

  // After a failed write: a statement stopped by SQLITE_BUSY stays active until it is reset, and
  // an active write statement makes every later COMMIT on this connection fail ("SQL statements
  // in progress"). Resets them all and ends a transaction left open.
  void Recover() {
    for (auto* s : {&get_journal_, &put_journal_, &insert_body_, &insert_queue_, &insert_entry_,
                    &update_queue_}) {
      if (s->has_value()) (*s)->tryReset();
    }
    if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
      try {
        db_->exec("ROLLBACK");
      } catch (const SQLite::Exception&) {
        // Nothing more to do: the next BEGIN reports it.
      }
    }
  }

 private:
  static SQLite::Statement& Fresh(SQLite::Statement& s) {
    s.tryReset();
    s.clearBindings();
    return s;
  }

  std::unique_ptr<SQLite::Database> db_;
  std::optional<SQLite::Statement> get_journal_, put_journal_, insert_body_, insert_queue_,
      insert_entry_, update_queue_;
};

template <typename Fn>
auto QueueStore::WriteSqlite(absl::string_view what, Fn&& fn) {
  auto result = RunSqlite(what, std::forward<Fn>(fn));
  if (!result.ok()) writer_->Recover();
  return result;
}

QueueStore::QueueStore(const QueueStoreOptions& options, const Clock* clock)
    : options_(options), clock_(clock) {}

QueueStore::~QueueStore() = default;

absl::StatusOr<std::unique_ptr<QueueStore>> QueueStore::Open(const QueueStoreOptions& options,
                                                             const Clock* clock) {
  std::unique_ptr<QueueStore> store(new QueueStore(options, clock));
  RETURN_IF_ERROR(store->Init());
  return store;
}

absl::Status QueueStore::Init() {
  absl::MutexLock write_lock(&write_mu_);
  RETURN_IF_ERROR(RunSqlite(absl::StrCat("opening ", options_.database.string()), [&] {
    writer_ = std::make_unique<WriteConnection>(options_.database, options_.busy_timeout);
  }));
  RETURN_IF_ERROR(MigrateSchema(writer_->db()));
  RETURN_IF_ERROR(RunSqlite("configuring the database", [&] {
    std::string mode = writer_->db().execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") throw std::runtime_error("WAL journal mode is not available: " + mode);
    writer_->db().exec(options_.synchronous_full ? "PRAGMA synchronous = FULL"
                                                 : "PRAGMA synchronous = NORMAL");
    writer_->db().exec("PRAGMA temp_store = MEMORY");
    if (options_.max_page_count > 0) {
      writer_->db().exec(absl::StrCat("PRAGMA max_page_count = ", options_.max_page_count));
    }
    writer_->Prepare();
    used_bytes_ =
        writer_->db().execAndGet("SELECT COALESCE(SUM(length(data)), 0) FROM bodies").getInt64() +
        writer_->db().execAndGet("SELECT COUNT(*) FROM entries").getInt64() * kEntryOverheadBytes;
  }));
  absl::MutexLock state_lock(&state_mu_);
  return RunSqlite("loading queues", [&] {
    SQLite::Statement q(writer_->db(),
                        "SELECT id, endpoint, priority, checkpoint, last_offset FROM queues");
    while (q.executeStep()) {
      QueueKey key{q.getColumn(1).getString(), static_cast<uint32_t>(q.getColumn(2).getInt64())};
      queues_[key] =
          QueueState{q.getColumn(0).getInt64(), static_cast<uint64_t>(q.getColumn(4).getInt64()),
                     static_cast<uint64_t>(q.getColumn(3).getInt64())};
    }
  });
}

int64_t QueueStore::NowMs() const { return absl::ToUnixMillis(clock_->Now()); }

absl::StatusOr<v1::AppendMessagesResponse> QueueStore::Append(
    const v1::AppendMessagesRequest& request) {
  ASSIGN_OR_RETURN(std::vector<std::vector<Target>> targets, ValidateAppend(request));
  const bool journaled = !request.journal_id().empty();
  const uint64_t count = static_cast<uint64_t>(request.messages_size());
  const uint64_t last_sequence = request.first_sequence() + count - 1;
  const int64_t now_ms = NowMs();

  v1::AppendMessagesResponse response;
  int64_t added_bytes = 0;
  int64_t freed_bytes = 0;
  absl::Status cap_error;
  // What the transaction changed, applied to the in-memory state only once it committed.
  absl::flat_hash_map<QueueKey, QueueState> touched;
  std::vector<std::function<void()>> wakes;

  absl::ReleasableMutexLock write_lock(&write_mu_);
  {
    absl::MutexLock state_lock(&state_mu_);
    for (const auto& message_targets : targets) {
      for (const Target& t : message_targets) {
        QueueKey key{t.endpoint, t.priority};
        if (auto it = queues_.find(key); it != queues_.end()) touched.emplace(key, it->second);
      }
    }
  }
  absl::Status status = WriteSqlite("appending messages", [&] {
    SQLite::Database& db = writer_->db();
    SQLite::Transaction txn(db, kWrite);
    uint64_t high_water = 0;
    if (journaled) {
      SQLite::Statement& get = writer_->get_journal();
      get.bind(1, request.journal_id());
      if (get.executeStep()) high_water = static_cast<uint64_t>(get.getColumn(0).getInt64());
      get.reset();
    }
    // Messages at or below the high-water mark were stored by an earlier delivery of this batch.
    uint64_t skip = 0;
    if (journaled && high_water >= request.first_sequence()) {
      skip = std::min(count, high_water - request.first_sequence() + 1);
    }
    for (uint64_t i = skip; i < count; ++i) {
      added_bytes +=
          static_cast<int64_t>(request.messages(static_cast<int>(i)).message().ByteSizeLong()) +
          static_cast<int64_t>(targets[i].size()) * kEntryOverheadBytes;
    }
    if (options_.max_bytes > 0 && used_bytes_ + added_bytes > options_.max_bytes) {
      const int64_t needed = used_bytes_ + added_bytes - options_.max_bytes;
      if (options_.full_policy == FullPolicy::kDropOldest) {
        freed_bytes = DropOldest(db, needed);
      }
      if (freed_bytes < needed) {
        cap_error = absl::ResourceExhaustedError(absl::StrCat(
            "the store is full: ", used_bytes_ - freed_bytes, " of ", options_.max_bytes,
            " bytes used and this batch needs ", added_bytes,
            options_.full_policy == FullPolicy::kReject
                ? " (policy reject: deliver or expire messages, or raise store.max_bytes)"
                : " (policy drop-oldest: the batch is larger than everything that can be "
                  "dropped)"));
        return;  // rolled back: nothing of the batch, and nothing dropped
      }
    }
    std::string data;
    for (uint64_t i = skip; i < count; ++i) {
      const std::vector<Target>& message_targets = targets[i];
      request.messages(static_cast<int>(i)).message().SerializeToString(&data);
      SQLite::Statement& insert_body = writer_->insert_body();
      insert_body.bind(1, data.data(), static_cast<int>(data.size()));
      insert_body.bind(2, static_cast<int64_t>(message_targets.size()));
      insert_body.exec();
      const int64_t body_id = db.getLastInsertRowid();
      for (const Target& t : message_targets) {
        auto [it, created] = touched.try_emplace(QueueKey{t.endpoint, t.priority});
        QueueState& queue = it->second;
        if (created) {
          SQLite::Statement& insert_queue = writer_->insert_queue();
          insert_queue.bind(1, t.endpoint);
          insert_queue.bind(2, static_cast<int64_t>(t.priority));
          insert_queue.exec();
          queue.id = db.getLastInsertRowid();
        }
        ++queue.last_offset;
        SQLite::Statement& insert_entry = writer_->insert_entry();
        insert_entry.bind(1, queue.id);
        insert_entry.bind(2, static_cast<int64_t>(queue.last_offset));
        insert_entry.bind(3, body_id);
        insert_entry.bind(4, now_ms);
        insert_entry.bind(5, t.ttl_ms == 0 ? int64_t{0} : now_ms + t.ttl_ms);
        insert_entry.exec();
      }
    }
    for (const auto& [key, queue] : touched) {
      SQLite::Statement& update_queue = writer_->update_queue();
      update_queue.bind(1, static_cast<int64_t>(queue.last_offset));
      update_queue.bind(2, queue.id);
      update_queue.exec();
    }
    if (journaled && last_sequence > high_water) {
      SQLite::Statement& put = writer_->put_journal();
      put.bind(1, request.journal_id());
      put.bind(2, static_cast<int64_t>(last_sequence));
      put.exec();
      high_water = last_sequence;
    }
    txn.commit();
    response.set_appended(static_cast<uint32_t>(count - skip));
    response.set_duplicates(static_cast<uint32_t>(skip));
    response.set_journal_high_water(journaled ? high_water : 0);
  });
  if (!status.ok()) return status;
  if (!cap_error.ok()) return cap_error;
  used_bytes_ += added_bytes - freed_bytes;

  {
    absl::MutexLock state_lock(&state_mu_);
    for (const auto& [key, queue] : touched) {
      queues_[key] = queue;
      auto waiting = waiters_.find(queue.id);
      if (waiting == waiters_.end()) continue;
      for (auto& [id, wake] : waiting->second) wakes.push_back(std::move(wake));
      waiters_.erase(waiting);
    }
  }
  write_lock.Release();
  for (auto& wake : wakes) wake();
  return response;
}

absl::StatusOr<QueueHandle> QueueStore::FindQueue(const v1::QueueId& id, bool create) {
  ASSIGN_OR_RETURN(uint32_t priority, ValidatePriority(id, "queue"));
  QueueKey key{id.endpoint(), priority};
  {
    absl::MutexLock state_lock(&state_mu_);
    if (auto it = queues_.find(key); it != queues_.end()) {
      return QueueHandle{it->second.id, key.endpoint, priority};
    }
  }
  if (!create) {
    return absl::NotFoundError(absl::StrCat("queue ", id.endpoint(), " at priority ",
                                            id.has_priority() ? absl::StrCat(priority) : "default",
                                            " does not exist"));
  }
  absl::MutexLock write_lock(&write_mu_);
  {
    absl::MutexLock state_lock(&state_mu_);  // created meanwhile by an append?
    if (auto it = queues_.find(key); it != queues_.end()) {
      return QueueHandle{it->second.id, key.endpoint, priority};
    }
  }
  ASSIGN_OR_RETURN(int64_t queue_id, WriteSqlite("creating a queue", [&] {
                     SQLite::Statement& insert = writer_->insert_queue();
                     insert.bind(1, key.endpoint);
                     insert.bind(2, static_cast<int64_t>(priority));
                     insert.exec();
                     return writer_->db().getLastInsertRowid();
                   }));
  absl::MutexLock state_lock(&state_mu_);
  queues_[key] = QueueState{queue_id, 0, 0};
  return QueueHandle{queue_id, key.endpoint, priority};
}

std::unique_ptr<QueueStore::ReadConnection> QueueStore::AcquireReader() {
  {
    absl::MutexLock lock(&readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<ReadConnection> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  return std::make_unique<ReadConnection>(options_.database, options_.busy_timeout);
}

void QueueStore::ReleaseReader(std::unique_ptr<ReadConnection> reader) {
  absl::MutexLock lock(&readers_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(reader));
}

absl::StatusOr<QueuePage> QueueStore::ReadPage(const QueueHandle& queue, uint64_t from,
                                               uint32_t limit) {
  // Everything up to `committed` is visible to the query below, which may also see later appends.
  uint64_t committed = 0;
  {
    absl::MutexLock state_lock(&state_mu_);
    auto it = queues_.find(QueueKey{queue.endpoint, queue.priority});
    if (it != queues_.end()) committed = it->second.last_offset;
  }
  QueuePage page;
  std::unique_ptr<ReadConnection> reader;
  absl::Status status = RunSqlite("reading a queue", [&] {
    if (reader == nullptr) reader = AcquireReader();
    SQLite::Statement& read = reader->read_page();
    read.bind(1, queue.id);
    read.bind(2, static_cast<int64_t>(from));
    read.bind(3, NowMs());
    read.bind(4, static_cast<int64_t>(limit));
    uint64_t last = 0;
    while (read.executeStep()) {
      v1::QueueEntry& entry = page.entries.emplace_back();
      last = static_cast<uint64_t>(read.getColumn(0).getInt64());
      entry.set_offset(last);
      entry.set_appended_unix_ms(read.getColumn(1).getInt64());
      entry.set_expires_unix_ms(read.getColumn(2).getInt64());
      const SQLite::Column data = read.getColumn(3);
      if (!entry.mutable_message()->ParseFromArray(data.getBlob(), data.getBytes())) {
        throw std::runtime_error(absl::StrCat("entry ", last, " has an unreadable message"));
      }
    }
    read.reset();  // ends the read transaction now
    if (page.entries.size() == limit) {
      page.next_offset = last + 1;
    } else {
      // A short page means every live entry up to what is committed was returned.
      page.next_offset = std::max({from, last + 1, committed + 1});
    }
  });
  if (reader != nullptr) {
    if (status.ok()) {
      ReleaseReader(std::move(reader));
    } else {
      reader.reset();  // a connection that failed mid-statement is not reused
    }
  }
  if (!status.ok()) return status;
  return page;
}

uint64_t QueueStore::FirstUndelivered(const QueueHandle& queue) {
  absl::MutexLock state_lock(&state_mu_);
  auto it = queues_.find(QueueKey{queue.endpoint, queue.priority});
  return it == queues_.end() ? 1 : it->second.checkpoint + 1;
}

absl::StatusOr<uint64_t> QueueStore::Checkpoint(const QueueHandle& queue, uint64_t offset) {
  const QueueKey key{queue.endpoint, queue.priority};
  absl::MutexLock write_lock(&write_mu_);
  QueueState state;
  {
    absl::MutexLock state_lock(&state_mu_);
    auto it = queues_.find(key);
    if (it == queues_.end()) return absl::NotFoundError("queue does not exist");
    state = it->second;
  }
  if (offset > state.last_offset) {
    return absl::OutOfRangeError(absl::StrCat("checkpoint ", offset, " is beyond the last offset ",
                                              state.last_offset, " of ", queue.endpoint));
  }
  if (offset <= state.checkpoint) return state.checkpoint;
  Freed freed;
  RETURN_IF_ERROR(WriteSqlite("checkpointing a queue", [&] {
    SQLite::Database& db = writer_->db();
    SQLite::Transaction txn(db, kWrite);
    // Entries the checkpoint covers that had expired were never delivered: count them as expired.
    SQLite::Statement expired(db,
                              "SELECT COUNT(*) FROM entries WHERE queue_id = ?1 AND offset > ?2 "
                              "AND offset <= ?3 AND expires_ms != 0 AND expires_ms <= ?4");
    expired.bind(1, state.id);
    expired.bind(2, static_cast<int64_t>(state.checkpoint));
    expired.bind(3, static_cast<int64_t>(offset));
    expired.bind(4, NowMs());
    expired.executeStep();
    const int64_t expired_count = expired.getColumn(0).getInt64();
    expired.reset();
    freed = DeleteEntries(
        db, "queue_id = ?1 AND offset > ?2 AND offset <= ?3",
        [&](SQLite::Statement& st) {
          st.bind(1, state.id);
          st.bind(2, static_cast<int64_t>(state.checkpoint));
          st.bind(3, static_cast<int64_t>(offset));
        },
        nullptr);
    SQLite::Statement update(
        db, "UPDATE queues SET checkpoint = ?, expired_count = expired_count + ? WHERE id = ?");
    update.bind(1, static_cast<int64_t>(offset));
    update.bind(2, expired_count);
    update.bind(3, state.id);
    update.exec();
    txn.commit();
  }));
  used_bytes_ -= freed.bytes;
  absl::MutexLock state_lock(&state_mu_);
  queues_[key].checkpoint = offset;
  return offset;
}

absl::StatusOr<std::vector<v1::QueueInfo>> QueueStore::ListQueues() {
  std::unique_ptr<ReadConnection> reader = AcquireReader();
  std::vector<v1::QueueInfo> queues;
  RETURN_IF_ERROR(RunSqlite("listing queues", [&] {
    SQLite::Statement list(
        reader->db(),
        "SELECT q.endpoint, q.priority, q.checkpoint, q.last_offset, q.expired_count + "
        "(SELECT COUNT(*) FROM entries e WHERE e.queue_id = q.id AND e.expires_ms != 0 AND "
        "e.expires_ms <= ?1), "
        "(SELECT COUNT(*) FROM entries e WHERE e.queue_id = q.id), "
        "(SELECT COALESCE(SUM(length(b.data)), 0) FROM entries e JOIN bodies b ON b.id = "
        "e.body_id WHERE e.queue_id = q.id), "
        "(SELECT e.appended_ms FROM entries e WHERE e.queue_id = q.id ORDER BY e.offset LIMIT 1), "
        "q.dropped_count FROM queues q ORDER BY q.endpoint, q.priority");
    list.bind(1, NowMs());
    while (list.executeStep()) {
      v1::QueueInfo& info = queues.emplace_back();
      info.mutable_queue()->set_endpoint(list.getColumn(0).getString());
      const auto priority = static_cast<uint32_t>(list.getColumn(1).getInt64());
      if (priority != kDefaultPriority) info.mutable_queue()->set_priority(priority);
      info.set_checkpoint(static_cast<uint64_t>(list.getColumn(2).getInt64()));
      info.set_last_offset(static_cast<uint64_t>(list.getColumn(3).getInt64()));
      info.set_expired(static_cast<uint64_t>(list.getColumn(4).getInt64()));
      info.set_depth(static_cast<uint64_t>(list.getColumn(5).getInt64()));
      info.set_bytes(static_cast<uint64_t>(list.getColumn(6).getInt64()));
      if (!list.getColumn(7).isNull())
        info.set_oldest_appended_unix_ms(list.getColumn(7).getInt64());
      info.set_dropped(static_cast<uint64_t>(list.getColumn(8).getInt64()));
    }
  }));
  ReleaseReader(std::move(reader));
  return queues;
}

absl::StatusOr<v1::StoreStats> QueueStore::GetStats() {
  v1::StoreStats stats;
  std::error_code ec;
  const uintmax_t db_size = std::filesystem::file_size(options_.database, ec);
  stats.set_database_file_bytes(ec ? 0 : db_size);
  std::filesystem::path wal = options_.database;
  wal += "-wal";
  const uintmax_t wal_size = std::filesystem::file_size(wal, ec);
  stats.set_wal_file_bytes(ec ? 0 : wal_size);
  stats.set_used_bytes(static_cast<uint64_t>(used_bytes()));
  stats.set_max_bytes(static_cast<uint64_t>(options_.max_bytes));
  stats.set_full_policy(options_.full_policy == FullPolicy::kReject ? "reject" : "drop-oldest");
  std::unique_ptr<ReadConnection> reader = AcquireReader();
  RETURN_IF_ERROR(RunSqlite("reading store statistics", [&] {
    stats.set_queues(
        static_cast<uint64_t>(reader->db().execAndGet("SELECT COUNT(*) FROM queues").getInt64()));
    stats.set_entries(
        static_cast<uint64_t>(reader->db().execAndGet("SELECT COUNT(*) FROM entries").getInt64()));
    stats.set_messages(
        static_cast<uint64_t>(reader->db().execAndGet("SELECT COUNT(*) FROM bodies").getInt64()));
  }));
  ReleaseReader(std::move(reader));
  return stats;
}

int64_t QueueStore::used_bytes() {
  absl::MutexLock write_lock(&write_mu_);
  return used_bytes_;
}

absl::StatusOr<ReclaimResult> QueueStore::Reclaim() {
  ReclaimResult result;
  const int64_t now_ms = NowMs();
  absl::MutexLock write_lock(&write_mu_);
  Freed freed;
  RETURN_IF_ERROR(WriteSqlite("deleting expired entries", [&] {
    SQLite::Transaction txn(writer_->db(), kWrite);
    freed = DeleteEntries(
        // At most 10,000 per pass, so that appends never wait long on a big expiry.
        writer_->db(),
        "(queue_id, offset) IN (SELECT queue_id, offset FROM entries WHERE expires_ms != 0 AND "
        "expires_ms <= ?1 LIMIT 10000)",
        [&](SQLite::Statement& st) { st.bind(1, now_ms); }, "expired_count");
    txn.commit();
  }));
  used_bytes_ -= freed.bytes;
  result.expired_entries = freed.entries;
  result.freed_bytes = freed.bytes;
  if (clock_->Now() - last_compact_ >= options_.compact_interval) {
    last_compact_ = clock_->Now();
    // Both are best effort: a reader in the middle of a page makes the checkpoint stop short
    // (SQLITE_BUSY is reported in its result row, not thrown), and the next pass catches up.
    RETURN_IF_ERROR(WriteSqlite("compacting the database", [&] {
      writer_->db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
      writer_->db().exec("PRAGMA incremental_vacuum");
    }));
    result.compacted = true;
  }
  return result;
}

bool QueueStore::NotifyWhenAppended(const QueueHandle& queue, uint64_t after_offset,
                                    uint64_t waiter_id, std::function<void()> wake) {
  absl::MutexLock state_lock(&state_mu_);
  auto it = queues_.find(QueueKey{queue.endpoint, queue.priority});
  if (it != queues_.end() && it->second.last_offset > after_offset) return false;
  waiters_[queue.id][waiter_id] = std::move(wake);
  return true;
}

void QueueStore::CancelNotify(const QueueHandle& queue, uint64_t waiter_id) {
  absl::MutexLock state_lock(&state_mu_);
  auto it = waiters_.find(queue.id);
  if (it == waiters_.end()) return;
  it->second.erase(waiter_id);
  if (it->second.empty()) waiters_.erase(it);
}

}  // namespace edge::store
