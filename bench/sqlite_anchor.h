// The direct-SQLite anchor the store and router benchmarks print their figures next to: the rows
// edge-store writes for a queue (a body and an entry per message) written and read back straight
// through SQLiteCpp, with the store's pragmas (WAL, synchronous=NORMAL) and prepared statements,
// without gRPC and without the queue bookkeeping.
//
// Example:
//   double append = DirectAppend(dir / "anchor.db", /*batch=*/100, /*total=*/50000);
//   double read = DirectReadAndCheckpoint(dir / "anchor.db", /*batch=*/100, /*total=*/50000);
#ifndef EDGE_BENCH_SQLITE_ANCHOR_H_
#define EDGE_BENCH_SQLITE_ANCHOR_H_

#include <filesystem>

namespace edge::bench {

// Messages per second appending `total` 256-byte messages to a new database at `path`, one
// transaction per `batch` messages (the queue is named by the batch size).
double DirectAppend(const std::filesystem::path& path, int batch, int total);

// Messages per second reading back what DirectAppend(path, batch, ...) wrote, in pages of 256
// (entry joined with its body), each page followed by deleting its entries and bodies in a
// transaction (the checkpoint).
double DirectReadAndCheckpoint(const std::filesystem::path& path, int batch, int total);

}  // namespace edge::bench

#endif  // EDGE_BENCH_SQLITE_ANCHOR_H_
