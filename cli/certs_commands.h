// `edgectl certs`: the device CA and the hub's TLS server certificate under $EDGE_HOME/certs/
// (common/certs.h).
//
//   edgectl certs init [--force]   create them; the server certificate names DNS:localhost,
//                                  IP:127.0.0.1 and the [device] hostname of config.toml
//   edgectl certs show [-o json]   paths, subjects, SANs and expiry of both
//   edgectl certs client DEVICE [--out DIR] [--days N]
//                                  an X.509 client certificate for DEVICE (CN = DEVICE) signed by
//                                  the device CA: DIR/DEVICE.pem and DIR/DEVICE.key.pem (0600),
//                                  DIR defaulting to $EDGE_HOME/certs/clients
//
// `edgectl up` runs `certs init` itself when the files are absent. Neither needs the runtime up.
// Exit codes: 0; 1 when a file already exists without --force (the message says so), a
// certificate is missing for `show`, or OpenSSL or the file system fails; 2 for a bad config file
// or a [device] hostname that is neither a DNS name nor an IP address.
//
// Example:
//   Action action;
//   AddCertsCommands(app, &action);
#ifndef EDGE_CLI_CERTS_COMMANDS_H_
#define EDGE_CLI_CERTS_COMMANDS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace edge::cli {

void AddCertsCommands(CLI::App& app, Action* action);

// The commands themselves. Return the exit code.
int InitCertificates(const CommandContext& context, bool force);
int ShowCertificates(const CommandContext& context);
int IssueClientCertificate(const CommandContext& context, const std::string& device,
                           const std::string& out_dir, int days);

}  // namespace edge::cli

#endif  // EDGE_CLI_CERTS_COMMANDS_H_
