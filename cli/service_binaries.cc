#include "cli/service_binaries.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "cli/runtime_files.h"
#include "common/procfs.h"

namespace edge::cli {

absl::StatusOr<std::filesystem::path> DefaultBinDir() {
  if (const char* dir = std::getenv("EDGE_BIN_DIR"); dir != nullptr && *dir != '\0') {
    return std::filesystem::absolute(dir).lexically_normal();
  }
  absl::StatusOr<std::filesystem::path> self = SelfExecutable();
  if (!self.ok()) return self.status();
  return self->parent_path();
}

std::vector<ServiceBinary> FindServiceBinaries(const std::filesystem::path& bin_dir) {
  std::vector<ServiceBinary> binaries;
  for (const char* name : kServiceNames) {
    ServiceBinary binary{name, bin_dir / absl::StrCat("edge-", name)};
    std::error_code ec;
    binary.installed = std::filesystem::is_regular_file(binary.path, ec) &&
                       ::access(binary.path.c_str(), X_OK) == 0;
    binaries.push_back(std::move(binary));
  }
  return binaries;
}

}  // namespace edge::cli
