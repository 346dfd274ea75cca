#include "services/store/schema.h"

#include <functional>
#include <vector>

#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "services/store/sqlite_status.h"

namespace edge::store {
namespace {

// Step N brings a database from version N to N + 1. Never edit a released step; append a new one.
void MigrateToV1(SQLite::Database& db) {
  db.exec(R"sql(
    -- One row per stored message (the serialized edge.common.v1.Message), shared by the queue
    -- entries that reference it; `refs` counts them.
    CREATE TABLE bodies (
      id   INTEGER PRIMARY KEY,
      data BLOB NOT NULL,
      refs INTEGER NOT NULL
    );
    -- A queue is an endpoint at a priority (0-9, or 2000000000 for "default").
    CREATE TABLE queues (
      id            INTEGER PRIMARY KEY,
      endpoint      TEXT NOT NULL,
      priority      INTEGER NOT NULL,
      checkpoint    INTEGER NOT NULL DEFAULT 0,
      last_offset   INTEGER NOT NULL DEFAULT 0,
      expired_count INTEGER NOT NULL DEFAULT 0,
      UNIQUE (endpoint, priority)
    );
    CREATE TABLE entries (
      queue_id    INTEGER NOT NULL,
      offset      INTEGER NOT NULL,
      body_id     INTEGER NOT NULL,
      appended_ms INTEGER NOT NULL,
      expires_ms  INTEGER NOT NULL,  -- 0: never
      PRIMARY KEY (queue_id, offset)
    ) WITHOUT ROWID;
    -- Each producer journal's high-water sequence: what is at or below it is a replay.
    CREATE TABLE journals (
      journal_id TEXT PRIMARY KEY,
      high_water INTEGER NOT NULL
    ) WITHOUT ROWID;
  )sql");
}

void MigrateToV2(SQLite::Database& db) {
  db.exec(R"sql(
    -- Devices and modules: the serialized edge.store.v1.Identity, keyed by "device[/module]".
    CREATE TABLE identities (
      id        TEXT PRIMARY KEY,
      device_id TEXT NOT NULL,
      data      BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX identities_by_device ON identities (device_id);
    -- One twin per identity; sections are JSON objects without $version.
    CREATE TABLE twins (
      id                       TEXT PRIMARY KEY,
      desired                  TEXT NOT NULL,
      desired_version          INTEGER NOT NULL,
      desired_upstream_version INTEGER NOT NULL DEFAULT 0,
      reported                 TEXT NOT NULL,
      reported_version         INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- Each service's own key-value state.
    CREATE TABLE service_state (
      namespace TEXT NOT NULL,
      key       TEXT NOT NULL,
      value     BLOB NOT NULL,
      version   INTEGER NOT NULL,
      PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID;
    -- The change log: AUTOINCREMENT so a sequence is never reused after old rows are pruned.
    CREATE TABLE changes (
      seq  INTEGER PRIMARY KEY AUTOINCREMENT,
      kind INTEGER NOT NULL,
      id   TEXT NOT NULL,
      data BLOB NOT NULL  -- the serialized edge.store.v1.Change without its sequence
    );
    -- Store-wide settings, e.g. which device is the edge device.
    CREATE TABLE settings (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
  )sql");
}

void MigrateToV3(SQLite::Database& db) {
  db.exec(R"sql(
    -- Entries removed by the drop-oldest policy when the store is full.
    ALTER TABLE queues ADD COLUMN dropped_count INTEGER NOT NULL DEFAULT 0;
    -- Reclamation finds expired entries without scanning every queue.
    CREATE INDEX entries_by_expiry ON entries (expires_ms) WHERE expires_ms != 0;
  )sql");
}

const std::vector<std::function<void(SQLite::Database&)>>& Migrations() {
  static const auto* steps = new std::vector<std::function<void(SQLite::Database&)>>{
      MigrateToV1, MigrateToV2, MigrateToV3};
  return *steps;
}

}  // namespace

absl::StatusOr<int> SchemaVersion(SQLite::Database& db) {
  return RunSqlite("reading the schema version",
                   [&] { return db.execAndGet("PRAGMA user_version").getInt(); });
}

absl::Status MigrateSchema(SQLite::Database& db) {
  static_assert(kSchemaVersion >= 1);
  absl::StatusOr<int> version = SchemaVersion(db);
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", db.getFilename(), " has schema version ", *version,
        " but this edge-store supports up to ", kSchemaVersion, "; run a newer edge-store"));
  }
  if (*version == 0) {
    // Must precede the first CREATE TABLE; it cannot be changed afterwards without a VACUUM.
    absl::Status s = RunSqlite("enabling incremental vacuum",
                               [&] { db.exec("PRAGMA auto_vacuum = INCREMENTAL"); });
    if (!s.ok()) return s;
  }
  for (int from = *version; from < kSchemaVersion; ++from) {
    absl::Status s = RunSqlite(absl::StrCat("migrating the schema to version ", from + 1), [&] {
      SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
      Migrations()[from](db);
      db.exec(absl::StrCat("PRAGMA user_version = ", from + 1));
      txn.commit();
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace edge::store
