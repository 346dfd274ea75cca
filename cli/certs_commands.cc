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
#include "common/edge_home.h"
#include "common/identity_id.h"
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

int IssueClientCertificate(const CommandContext& context, const std::string& device,
                           const std::string& out_dir, int days) {
  absl::StatusOr<IdentityId> id = IdentityId::Parse(device);
  if (!id.ok()) return ReportError(context, id.status());
  if (id->is_module()) {
    return ReportError(context, absl::InvalidArgumentError(
                                    "client certificates are issued for devices (CN = device id)"));
  }
  const std::filesystem::path dir =
      out_dir.empty() ? CertsDir(context.edge_home) / "clients" : std::filesystem::path(out_dir);
  if (absl::Status s = EnsureDirectory(dir, 0750); !s.ok()) return ReportError(context, s);
  const std::filesystem::path cert = dir / (device + ".pem");
  const std::filesystem::path key = dir / (device + ".key.pem");
  if (absl::Status s =
          CreateClientCertificate(CertsDir(context.edge_home), device, cert, key, days);
      !s.ok()) {
    return ReportError(context, s);
  }
  *context.out << "issued a client certificate for \"" << device
               << "\" signed by the device CA, valid " << days << " days:\n  certificate "
               << cert.string() << "\n  key         " << key.string()
               << "\nthe device's identity needs auth type x509 (edgectl identity add " << device
               << " --auth x509)\n";
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
  CLI::App* client = certs->add_subcommand(
      "client", "issue an X.509 client certificate for a device, signed by the device CA");
  auto device = std::make_shared<std::string>();
  auto out_dir = std::make_shared<std::string>();
  auto days = std::make_shared<int>(365);
  client->add_option("DEVICE", *device, "the device id (the certificate's CN)")->required();
  client->add_option("--out", *out_dir, "where to write DEVICE.pem and DEVICE.key.pem")
      ->default_str("$EDGE_HOME/certs/clients");
  client->add_option("--days", *days, "validity in days")
      ->default_val(365)
      ->check(CLI::Range(1, 36500));
  client->callback([device, out_dir, days, action] {
    *action = [device, out_dir, days](const CommandContext& context) {
      return IssueClientCertificate(context, *device, *out_dir, *days);
    };
  });
  CLI::App* show =
      certs->add_subcommand("show", "print the certificates' paths, subjects, SANs and expiry");
  show->callback(
      [action] { *action = [](const CommandContext& c) { return ShowCertificates(c); }; });
}

}  // namespace edge::cli
