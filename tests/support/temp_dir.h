// A temporary directory under /tmp, removed with its contents when the object is destroyed. Paths
// stay short so unix sockets under it fit the 107-byte limit.
#ifndef EDGE_TESTS_SUPPORT_TEMP_DIR_H_
#define EDGE_TESTS_SUPPORT_TEMP_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace edge::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/edge-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_TEMP_DIR_H_
