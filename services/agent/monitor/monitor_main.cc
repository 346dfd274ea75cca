// edge-module-monitor: runs one module for edge-agent's process runtime (module_monitor.h).
//
//   edge-module-monitor --state-dir DIR [--workdir DIR] [--grace-seconds N] [--log-max-bytes N]
//                       [--log-files N] [--memory-bytes N] -- PROGRAM [ARGS...]
#include <cstdio>
#include <string>
#include <vector>

#include "services/agent/monitor/module_monitor.h"

int main(int argc, char** argv) {
  absl::StatusOr<edge::agent::MonitorOptions> options =
      edge::agent::MonitorOptions::Parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!options.ok()) {
    std::fprintf(stderr, "edge-module-monitor: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  return edge::agent::ModuleMonitor(*std::move(options)).Run();
}
