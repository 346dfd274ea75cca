// Which of the runtime's services are installed: `edge-<service>` in the binary directory.
//
// The binary directory is $EDGE_BIN_DIR when set (tests, unusual installs), otherwise the
// directory edgectl itself runs from, so an install is one directory of binaries that find each
// other without PATH. A service whose binary is absent is skipped rather than an error, so the
// runtime works while only some services exist.
//
// Example:
//   ASSIGN_OR_RETURN(std::filesystem::path bin_dir, DefaultBinDir());
//   for (const ServiceBinary& b : FindServiceBinaries(bin_dir)) if (b.installed) ...
#ifndef EDGE_CLI_SERVICE_BINARIES_H_
#define EDGE_CLI_SERVICE_BINARIES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace edge::cli {

struct ServiceBinary {
  std::string name;            // "store", ...
  std::filesystem::path path;  // <bin_dir>/edge-<name>, whether or not it exists
  bool installed = false;      // an executable regular file is there
};

// $EDGE_BIN_DIR if set and not empty, else the directory of /proc/self/exe. INTERNAL when
// /proc/self/exe cannot be read.
absl::StatusOr<std::filesystem::path> DefaultBinDir();

// One entry per known service, in start order.
std::vector<ServiceBinary> FindServiceBinaries(const std::filesystem::path& bin_dir);

}  // namespace edge::cli

#endif  // EDGE_CLI_SERVICE_BINARIES_H_
