#include "bench/sqlite_anchor.h"

#include <chrono>
#include <cstdint>
#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"

namespace edge::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

double DirectAppend(const std::filesystem::path& path, int batch, int total) {
  SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  db.exec(
      "CREATE TABLE bodies (id INTEGER PRIMARY KEY, data BLOB NOT NULL, refs "
      "INTEGER NOT NULL);"
      "CREATE TABLE entries (queue_id INTEGER NOT NULL, offset INTEGER NOT NULL, "
      "body_id INTEGER NOT NULL, appended_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, "
      "PRIMARY KEY (queue_id, offset)) WITHOUT ROWID;");
  SQLite::Statement body(db, "INSERT INTO bodies (data, refs) VALUES (?, 1)");
  SQLite::Statement entry(db, "INSERT INTO entries VALUES (?, ?, ?, 0, 0)");
  const std::string data(256, 'x');
  int64_t offset = 0;
  const auto start = Clock::now();
  for (int sent = 0; sent < total; sent += batch) {
    SQLite::Transaction txn(db);
    for (int i = 0; i < batch; ++i) {
      body.bind(1, data.data(), static_cast<int>(data.size()));
      body.exec();
      body.reset();
      entry.bind(1, static_cast<int64_t>(batch));
      entry.bind(2, ++offset);
      entry.bind(3, db.getLastInsertRowid());
      entry.exec();
      entry.reset();
    }
    txn.commit();
  }
  return total / Seconds(Clock::now() - start);
}

double DirectReadAndCheckpoint(const std::filesystem::path& path, int batch, int total) {
  SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
  db.exec("PRAGMA synchronous = NORMAL;");
  SQLite::Statement page(db,
                         "SELECT e.offset, e.body_id, b.data FROM entries e JOIN bodies b ON "
                         "b.id = e.body_id WHERE e.queue_id = ? AND e.offset > ? ORDER BY "
                         "e.offset LIMIT 256");
  SQLite::Statement delete_bodies(
      db,
      "DELETE FROM bodies WHERE id IN (SELECT body_id FROM entries WHERE queue_id = ?1 AND "
      "offset <= ?2)");
  SQLite::Statement delete_entries(db, "DELETE FROM entries WHERE queue_id = ?1 AND offset <= ?2");
  int64_t after = 0;
  int read = 0;
  size_t bytes = 0;
  const auto start = Clock::now();
  while (read < total) {
    page.bind(1, static_cast<int64_t>(batch));
    page.bind(2, after);
    int in_page = 0;
    while (page.executeStep()) {
      after = page.getColumn(0).getInt64();
      bytes += static_cast<size_t>(page.getColumn(2).getBytes());
      ++in_page;
    }
    page.reset();
    if (in_page == 0) break;
    read += in_page;
    SQLite::Transaction txn(db);
    for (SQLite::Statement* s : {&delete_bodies, &delete_entries}) {
      s->bind(1, static_cast<int64_t>(batch));
      s->bind(2, after);
      s->exec();
      s->reset();
    }
    txn.commit();
  }
  (void)bytes;
  return read / Seconds(Clock::now() - start);
}

}  // namespace edge::bench
