// The store's SQLite schema and its forward migrations.
//
// The schema version lives in `PRAGMA user_version`. A database at an older version is migrated at
// start-up, one step at a time, each step in its own transaction; a database written by a newer
// binary is refused. Version 1: the message queues, with `auto_vacuum=INCREMENTAL` (SQLite accepts
// it only before the first table exists). Version 2: identities, twins, service state, the change
// log. Version 3: per-queue drop counts and the expiry index.
//
// Example:
//   SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
//   RETURN_IF_ERROR(MigrateSchema(db));
#ifndef EDGE_SERVICES_STORE_SCHEMA_H_
#define EDGE_SERVICES_STORE_SCHEMA_H_

#include "SQLiteCpp/Database.h"
#include "absl/status/statusor.h"

namespace edge::store {

inline constexpr int kSchemaVersion = 3;

// The version the database is at (0 for a new file).
absl::StatusOr<int> SchemaVersion(SQLite::Database& db);

// Brings `db` to kSchemaVersion. FAILED_PRECONDITION when the database is newer than this binary;
// INTERNAL when a migration step fails (the step is rolled back).
absl::Status MigrateSchema(SQLite::Database& db);

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_SCHEMA_H_
