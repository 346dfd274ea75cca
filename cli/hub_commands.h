// edgectl's commands that reach the hub's connected clients over edge.hub.v1:
//   client list                 who is connected (identity, auth, protocol, since, subscriptions)
//   client kick ID              disconnect a client
//   invoke TARGET METHOD [--payload JSON] [--timeout S]
//                               a direct method; prints the client's status and answer
//   c2d send DEVICE --body TEXT [--prop k=v]... [--sys k=v]...
//                               a cloud-to-device message (queued for an offline device with a
//                               persistent session)
//
// Example (edgectl.cc):
//   AddHubCommands(app, &action);
#ifndef EDGE_CLI_HUB_COMMANDS_H_
#define EDGE_CLI_HUB_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace edge::cli {

// Exit codes: 0 done (invoke: the client answered 2xx), 1 the hub is down, the client answered
// something else, was not there or did not answer; 2 bad arguments.
void AddHubCommands(CLI::App& app, Action* action);

}  // namespace edge::cli

#endif  // EDGE_CLI_HUB_COMMANDS_H_
