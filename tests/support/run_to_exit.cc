#include "tests/support/run_to_exit.h"

#include <sys/wait.h>

#include <fstream>
#include <iterator>

#include "absl/status/statusor.h"
#include "common/subprocess.h"
#include "tests/support/temp_dir.h"

namespace edge::testing {

bool Finished::ExitedWith(int code) const {
  return wait_status != -1 && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == code;
}

Finished RunToExit(const std::vector<std::string>& argv, absl::Duration timeout) {
  TempDir out;
  const std::filesystem::path log = out.path() / "output.log";
  Finished finished;
  absl::StatusOr<Subprocess> process = Subprocess::Start({.argv = argv, .log_file = log});
  if (!process.ok()) {
    finished.output = std::string(process.status().message());
    return finished;
  }
  absl::StatusOr<int> status = process->Wait(timeout);
  if (status.ok()) {
    finished.wait_status = *status;
  } else {
    process->Stop(absl::ZeroDuration());
  }
  finished.output = ReadFile(log);
  return finished;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace edge::testing
