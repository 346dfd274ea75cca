// Turns SQLiteCpp's exceptions into absl::Status at the call site, so no exception leaves the
// storage code.
//
// Example:
//   absl::StatusOr<int> n = RunSqlite("counting queues",
//       [&] { return db.execAndGet("SELECT COUNT(*) FROM queues").getInt(); });
#ifndef EDGE_SERVICES_STORE_SQLITE_STATUS_H_
#define EDGE_SERVICES_STORE_SQLITE_STATUS_H_

#include <type_traits>

#include "SQLiteCpp/Exception.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edge::store {

// The status for a failed SQLite call made while `what`: RESOURCE_EXHAUSTED for a full disk or
// database, UNAVAILABLE for a busy or locked database, DATA_LOSS for corruption, INTERNAL
// otherwise.
absl::Status SqliteError(absl::string_view what, const SQLite::Exception& e);

// Runs `fn`; a thrown SQLite::Exception or std::exception becomes a status naming `what`.
template <typename Fn>
auto RunSqlite(absl::string_view what, Fn&& fn)
    -> std::conditional_t<std::is_void_v<std::invoke_result_t<Fn>>, absl::Status,
                          absl::StatusOr<std::invoke_result_t<Fn>>> {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn>>) {
      fn();
      return absl::OkStatus();
    } else {
      return fn();
    }
  } catch (const SQLite::Exception& e) {
    return SqliteError(what, e);
  } catch (const std::exception& e) {
    return absl::InternalError(std::string(what) + ": " + e.what());
  }
}

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_SQLITE_STATUS_H_
