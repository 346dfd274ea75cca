// Running a program to its end with its output captured, and reading files whole: for integration
// tests that drive command-line clients (mosquitto_pub, python3, the service binaries).
//
// Example:
//   Finished pub = RunToExit({"/usr/bin/mosquitto_pub", "-p", "1883", "-t", "x", "-m", "y"});
//   EXPECT_TRUE(pub.ExitedWith(0)) << pub.output;
#ifndef EDGE_TESTS_SUPPORT_RUN_TO_EXIT_H_
#define EDGE_TESTS_SUPPORT_RUN_TO_EXIT_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace edge::testing {

struct Finished {
  int wait_status = -1;  // as waitpid reports it; -1 when it could not be started or timed out
  std::string output;    // stdout and stderr, interleaved

  bool ExitedWith(int code) const;
};

// Runs `argv` (argv[0] a path) until it exits, killing it after `timeout`.
Finished RunToExit(const std::vector<std::string>& argv,
                   absl::Duration timeout = absl::Seconds(10));

// The whole file; empty when it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_RUN_TO_EXIT_H_
