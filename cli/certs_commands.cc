#include "cli/certs_commands.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "cli/runtime_control.h"
#include "cli/runtime_files.h"
#include "cli/table.h"
#include "common/certs.h"
#include "common/config.h"
#include "nlohmann/json.hpp"

namespace edge::cli {

int InitCertificates(const CommandContext& context, bool force) {
  absl::StatusOr<Config> config = context.LoadConfig();
  if (!config.ok()) return ReportError(context, config.status());
  absl::StatusOr<DeviceConfig> device = DeviceConfig::FromConfig(*config);
  if (!device.ok()) return ReportError(context, device.status());
  const std::filesystem::path dir = CertsDir(context.edge_home);
  if (absl::Status s = CreateEdgeCertificates(dir, device->hostname, force); !s.ok()) {
    return ReportError(context, s);
  }
  *context.out << "created the device CA and the hub server certificate (for " << device->hostname
               << ") in " << dir.string() << "\n";
  return kExitOk;
}

int ShowCertificates(const CommandContext& context) {
  absl::StatusOr<std::vector<CertificateInfo>> certs =
      DescribeCertificates(CertsDir(context.edge_home));
  if (!certs.ok()) return ReportError(context, certs.status());
  if (context.format == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const CertificateInfo& c : *certs) {
      out.push_back({{"name", c.name},
                     {"path", c.path.string()},
                     {"key_path", c.key_path.string()},
                     {"subject", c.subject},
                     {"issuer", c.issuer},
                     {"sans", c.sans},
                     {"is_ca", c.is_ca},
                     {"not_before", FormatTimestamp(c.not_before)},
                     {"not_after", FormatTimestamp(c.not_after)}});
    }
    *context.out << out.dump(2) << "\n";
    return kExitOk;
  }
  TextTable table({"NAME", "SUBJECT", "SANS", "EXPIRES", "PATH", "KEY"});
  for (const CertificateInfo& c : *certs) {
    table.AddRow({c.name, c.subject, c.sans.empty() ? "-" : absl::StrJoin(c.sans, ","),
                  FormatTimestamp(c.not_after), c.path.string(), c.key_path.string()});
  }
  *context.out << table.Render();
  return kExitOk;
}

void AddCertsCommands(CLI::App& app, Action* action) {
  CLI::App* certs =
      app.add_subcommand("certs", "the device CA and the hub's TLS server certificate");
  certs->require_subcommand(1);
  CLI::App* init = certs->add_subcommand(
      "init", "create the device CA and the hub server certificate in $EDGE_HOME/certs");
  auto force = std::make_shared<bool>(false);
  init->add_flag("--force", *force, "replace certificates and keys that already exist");
  init->callback([force, action] {
    *action = [force](const CommandContext& context) { return InitCertificates(context, *force); };
  });
  CLI::App* show =
      certs->add_subcommand("show", "print the certificates' paths, subjects, SANs and expiry");
  show->callback(
      [action] { *action = [](const CommandContext& c) { return ShowCertificates(c); }; });
}

}  // namespace edge::cli
