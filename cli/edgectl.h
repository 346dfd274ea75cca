// edgectl's command line: global flags, the subcommands, and the mapping of their results to exit
// codes. Kept out of main so that tests and other front ends reuse all of it.
//
//   edgectl [--edge-home DIR] up [--timeout SECONDS] [--log-level LEVEL]
//   edgectl [--edge-home DIR] down [--timeout SECONDS]
//   edgectl [--edge-home DIR] [-o table|json] status
//   edgectl ... identity add|list|show|rm|sas ...      (cli/store_commands.h)
//   edgectl ... twin get|patch|replace ...             (cli/store_commands.h)
//   edgectl ... metrics [SERVICE]                      (cli/metrics_commands.h)
//   edgectl [--edge-home DIR] supervise --bin-dir DIR   (internal: what `up` starts)
//
// Example:
//   int main(int argc, char** argv) { return edge::cli::RunEdgectl(argc, argv); }
#ifndef EDGE_CLI_EDGECTL_H_
#define EDGE_CLI_EDGECTL_H_

namespace edge::cli {

// Parses the command line, runs the command and returns the process exit code (see
// runtime_control.h; 2 for a usage error, with CLI11's message on stderr).
int RunEdgectl(int argc, char** argv);

}  // namespace edge::cli

#endif  // EDGE_CLI_EDGECTL_H_
