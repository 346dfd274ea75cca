// edgectl's commands over edge-store: identities, twins, queues and storage.
//
//   edgectl identity add ID [--parent DEVICE] [--auth sas|x509] [--primary-key K]
//                           [--secondary-key K] [--disabled] [--managed-by WHO]
//   edgectl identity list [DEVICE]
//   edgectl identity show ID [--connection-string]
//   edgectl identity rm ID
//   edgectl identity sas ID [--ttl SECONDS] [--key primary|secondary]
//   edgectl twin get ID
//   edgectl twin patch ID --desired JSON | --reported JSON
//   edgectl twin replace ID --desired FILE [--version N]
//   edgectl store stats
//   edgectl queue list
//
// IDs are `device` or `device/module`. Tables by default, `-o json` for JSON; a twin always prints
// as IoT Hub's twin JSON. Errors print the store's message and exit 1 (2 for bad input).
#ifndef EDGE_CLI_STORE_COMMANDS_H_
#define EDGE_CLI_STORE_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace edge::cli {

void AddStoreCommands(CLI::App& app, Action* action);

}  // namespace edge::cli

#endif  // EDGE_CLI_STORE_COMMANDS_H_
