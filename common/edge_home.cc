#include "common/edge_home.h"

#include <fcntl.h>
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

absl::Status WriteFileAtomically(const std::filesystem::path& path, absl::string_view contents,
                                 mode_t mode) {
  const std::string tmp = absl::StrCat(path.string(), ".tmp.", ::getpid());
  auto os_error = [&](absl::string_view what) {
    return absl::InternalError(absl::StrCat(what, " ", tmp, ": ", std::strerror(errno)));
  };
  ::unlink(tmp.c_str());
  // Created with `mode`, so a key is never readable by others, not even briefly.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return os_error("cannot create");
  auto fail = [&](absl::string_view what) {
    absl::Status s = os_error(what);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    written += static_cast<size_t>(n);
  }
  // The umask may have narrowed `mode`; fchmod sets it exactly.
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) return fail("cannot finish");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = os_error("cannot rename");
    ::unlink(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

}  // namespace edge
