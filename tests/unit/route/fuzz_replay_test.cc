// Replays the fuzz corpus and every kept regression input through the fuzz target compiled by the
// project's own compiler, so a fix stays fixed even where clang and libFuzzer are not run.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace edge::route {
namespace {

// Runs every file of `dir`; returns how many.
int ReplayDirectory(const std::filesystem::path& dir) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string input = bytes.str();
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size()),
              0);
    ++count;
  }
  return count;
}

TEST(RouteFuzzReplayTest, SeedCorpusRunsCleanly) {
  EXPECT_GE(ReplayDirectory(EDGE_ROUTE_FUZZ_CORPUS_DIR), 100);
}

TEST(RouteFuzzReplayTest, RegressionsRunCleanly) {
  EXPECT_GE(ReplayDirectory(EDGE_ROUTE_FUZZ_REGRESSIONS_DIR), 1);
}

}  // namespace
}  // namespace edge::route
