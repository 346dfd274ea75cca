#include "common/edge_home.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace edge {

absl::StatusOr<std::filesystem::path> ResolveEdgeHome(absl::string_view explicit_home) {
  std::filesystem::path home;
  if (!explicit_home.empty()) {
    home = std::filesystem::path(std::string(explicit_home));
  } else if (const char* env = std::getenv("EDGE_HOME"); env != nullptr && *env != '\0') {
    home = env;
  } else if (const char* user_home = std::getenv("HOME"); user_home != nullptr && *user_home) {
    home = std::filesystem::path(user_home) / ".edge";
  } else {
    return absl::InvalidArgumentError("set EDGE_HOME (or HOME) to choose where the runtime lives");
  }
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(home, ec);
  if (ec)
    return absl::InvalidArgumentError(
        absl::StrCat("EDGE_HOME ", home.string(), ": ", ec.message()));
  return absolute.lexically_normal();
}

absl::Status EnsureDirectory(const std::filesystem::path& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  if (::chmod(dir.c_str(), mode) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot chmod ", dir.string(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::filesystem::path& path, absl::string_view contents) {
  std::filesystem::path tmp = path;
  tmp += absl::StrCat(".tmp.", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::InternalError(absl::StrCat("cannot write ", path.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace edge
