#include "services/store/sqlite_status.h"

#include "absl/strings/str_cat.h"
#include "sqlite3.h"

namespace edge::store {

absl::Status SqliteError(absl::string_view what, const SQLite::Exception& e) {
  std::string message = absl::StrCat(what, ": ", e.what());
  switch (e.getErrorCode() & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(absl::StrCat(message, " (the disk is full)"));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace edge::store
