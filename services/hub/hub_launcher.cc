#include "services/hub/hub_launcher.h"

#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/certs.h"
#include "common/edge_home.h"
#include "common/logging.h"
#include "common/procfs.h"
#include "common/status_macros.h"

namespace edge::hub {
namespace {

constexpr char kPluginFile[] = "libedge_hub_plugin.so";
// The broker's per-client queue limit in bytes. `max_queued_messages` (1000 by default) drops
// QoS 1 messages for a slow subscriber, so it is turned off and bytes bound the queue instead.
constexpr int64_t kMaxQueuedBytes = 64 << 20;

absl::Status CheckConfPath(absl::string_view key, const std::filesystem::path& path) {
  // mosquitto.conf splits values on whitespace: a path with spaces cannot be written to it.
  if (path.native().find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": path \"", path.string(), "\" contains whitespace"));
  }
  return absl::OkStatus();
}

absl::Status CheckFile(absl::string_view key, const std::filesystem::path& path, int mode) {
  RETURN_IF_ERROR(CheckConfPath(key, path));
  if (!path.is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": \"", path.string(), "\" must be an absolute path"));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || ::access(path.c_str(), mode) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": ", path.string(), " does not exist or is not usable"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::filesystem::path> DefaultPluginPath() {
  ASSIGN_OR_RETURN(std::filesystem::path self, SelfExecutable());
  return self.parent_path() / kPluginFile;
}

absl::StatusOr<std::string> CurrentUser() {
  passwd* entry = ::getpwuid(::geteuid());
  if (entry == nullptr || entry->pw_name == nullptr) {
    return absl::InternalError(absl::StrCat("no user name for uid ", ::geteuid()));
  }
  return std::string(entry->pw_name);
}

std::string ListenerLine(int port, const std::string& address) {
  return address.empty() ? absl::StrCat("listener ", port, "\n")
                         : absl::StrCat("listener ", port, " ", address, "\n");
}

std::string ListenerAddress(int port, const std::string& address) {
  return absl::StrCat(address.empty() ? "*" : address, ":", port);
}

}  // namespace

absl::StatusOr<HubConfig> LoadHubConfig(const Config& config,
                                        const std::filesystem::path& edge_home,
                                        absl::string_view log_level) {
  ASSIGN_OR_RETURN(DeviceConfig device, DeviceConfig::FromConfig(config));
  ConfigSection section = config.Section("hub");
  HubConfig hub;
  hub.device_id = device.id;
  hub.edge_home = edge_home;
  hub.log_level = std::string(log_level);
  ASSIGN_OR_RETURN(hub.grpc, ListenAddressFromSection(section, edge_home));
  ASSIGN_OR_RETURN(hub.bind_address, section.GetString("bind_address", ""));
  ASSIGN_OR_RETURN(int64_t sas_port, section.GetInt("sas_port", kMqttTlsPort, 0, 65535));
  hub.sas_port = static_cast<int>(sas_port);
  ASSIGN_OR_RETURN(int64_t x509_port, section.GetInt("x509_port", 8884, 0, 65535));
  hub.x509_port = static_cast<int>(x509_port);
  const std::filesystem::path certs = CertsDir(edge_home);
  ASSIGN_OR_RETURN(std::string server_cert,
                   section.GetString("server_cert", ServerCertPath(certs).string()));
  ASSIGN_OR_RETURN(std::string server_key,
                   section.GetString("server_key", ServerKeyPath(certs).string()));
  ASSIGN_OR_RETURN(std::string client_ca,
                   section.GetString("client_ca", CaCertPath(certs).string()));
  hub.server_cert = server_cert;
  hub.server_key = server_key;
  hub.client_ca = client_ca;
  ASSIGN_OR_RETURN(int64_t plain_port, section.GetInt("plain_port", 0, 0, 65535));
  hub.plain_port = static_cast<int>(plain_port);
  ASSIGN_OR_RETURN(std::string mosquitto, section.GetString("mosquitto", "/usr/sbin/mosquitto"));
  hub.mosquitto = mosquitto;
  ASSIGN_OR_RETURN(std::filesystem::path default_plugin, DefaultPluginPath());
  ASSIGN_OR_RETURN(std::string plugin, section.GetString("plugin", default_plugin.string()));
  hub.plugin = plugin;
  ASSIGN_OR_RETURN(hub.journal_max_bytes,
                   section.GetInt("journal_max_bytes", hub.journal_max_bytes, 1 << 20,
                                  std::numeric_limits<int64_t>::max()));
  RETURN_IF_ERROR(section.CheckNoUnknownKeys());

  if (hub.bind_address.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("hub.bind_address: \"", hub.bind_address, "\" contains whitespace"));
  }
  if (hub.sas_port != 0 && hub.sas_port == hub.x509_port) {
    return absl::InvalidArgumentError(
        absl::StrCat("hub.x509_port: ", hub.x509_port, " is also hub.sas_port"));
  }
  ConfigSection store_section = config.Section("store");
  ASSIGN_OR_RETURN(ListenAddress store, ListenAddressFromSection(store_section, edge_home));
  hub.store_target = store.grpc_target;
  RETURN_IF_ERROR(CheckConfPath("store.listen", hub.store_target));
  ASSIGN_OR_RETURN(ListenAddress router, ServiceListenAddress(config, edge_home, "router"));
  hub.router_target = router.grpc_target;
  RETURN_IF_ERROR(CheckConfPath("router.listen", hub.router_target));
  RETURN_IF_ERROR(CheckFile("hub.mosquitto", hub.mosquitto, X_OK));
  RETURN_IF_ERROR(CheckFile("hub.plugin", hub.plugin, R_OK));
  RETURN_IF_ERROR(CheckConfPath("hub.listen", hub.grpc.grpc_target));
  RETURN_IF_ERROR(CheckConfPath("EDGE_HOME", edge_home));
  hub.wake_socket = RunDir(edge_home) / "hub-wake.sock";
  if (hub.wake_socket.native().size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("hub wake socket ", hub.wake_socket.string(),
                                                   " is too long for a unix socket address"));
  }
  hub.broker_conf = RunDir(edge_home) / "mosquitto.conf";

  if (hub.sas_port != 0 || hub.x509_port != 0) {
    const bool default_certs = hub.server_cert == ServerCertPath(certs) &&
                               hub.server_key == ServerKeyPath(certs) &&
                               hub.client_ca == CaCertPath(certs);
    if (default_certs && !EdgeCertificatesPresent(certs)) {
      ASSIGN_OR_RETURN(DeviceConfig device, DeviceConfig::FromConfig(config));
      RETURN_IF_ERROR(CreateEdgeCertificates(certs, device.hostname, /*force=*/false));
      spdlog::info("hub: created the device CA and the hub server certificate in {}",
                   certs.string());
    }
    RETURN_IF_ERROR(CheckFile("hub.server_cert", hub.server_cert, R_OK));
    RETURN_IF_ERROR(CheckFile("hub.server_key", hub.server_key, R_OK));
    if (hub.x509_port != 0) RETURN_IF_ERROR(CheckFile("hub.client_ca", hub.client_ca, R_OK));
  }
  ASSIGN_OR_RETURN(hub.user, CurrentUser());
  return hub;
}

std::string RenderBrokerConf(const HubConfig& config) {
  std::string text = absl::StrCat(
      "# Written by edge-hub at every start; edit $EDGE_HOME/config.toml [hub] instead.\n",
      // With `true` the plugin is initialised per listener and TICK never fires (2.0.11).
      "per_listener_settings false\n",
      // mosquitto started as root switches to this user; the plugin's threads run as it.
      "user ", config.user, "\n", "allow_anonymous false\n", "persistence false\n",
      "log_dest stderr\n",
      "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
      "max_queued_messages 0\n", "max_queued_bytes ", kMaxQueuedBytes, "\n",
      // Small packets (PUBACK, CONNACK, the end of a TLS handshake) go out at once instead of
      // waiting out the peer's delayed ACK (40 ms).
      "set_tcp_nodelay true\n", "\n# The hub-only listener of the plugin's wake client.\n",
      "listener 0 ", config.wake_socket.string(), "\n");
  if (config.sas_port != 0) {
    absl::StrAppend(&text, "\n# TLS for SAS-token clients (hub.sas_port).\n",
                    ListenerLine(config.sas_port, config.bind_address), "certfile ",
                    config.server_cert.string(), "\nkeyfile ", config.server_key.string(), "\n");
  }
  if (config.x509_port != 0) {
    // mosquitto asks for a client certificate only with require_certificate, and then refuses
    // clients without one: X.509 clients need a listener of their own. BASIC_AUTH still runs (it
    // would not with use_identity_as_username) and reads the certificate's CN.
    absl::StrAppend(&text, "\n# TLS for X.509 clients, certificates signed by hub.client_ca.\n",
                    ListenerLine(config.x509_port, config.bind_address), "certfile ",
                    config.server_cert.string(), "\nkeyfile ", config.server_key.string(),
                    "\ncafile ", config.client_ca.string(),
                    "\nrequire_certificate true\nuse_identity_as_username false\n");
  }
  if (config.plain_port != 0) {
    absl::StrAppend(&text, "\n# Plain MQTT, loopback only (hub.plain_port).\n", "listener ",
                    config.plain_port, " 127.0.0.1\n");
  }
  absl::StrAppend(&text, "\nplugin ", config.plugin.string(), "\n", "plugin_opt_edge_home ",
                  config.edge_home.string(), "\n", "plugin_opt_grpc_listen ",
                  config.grpc.grpc_target, "\n", "plugin_opt_wake_socket ",
                  config.wake_socket.string(), "\n", "plugin_opt_plain_port ", config.plain_port,
                  "\n", "plugin_opt_store ", config.store_target, "\n", "plugin_opt_router ",
                  config.router_target, "\n", "plugin_opt_device_id ", config.device_id, "\n",
                  "plugin_opt_journal_max_bytes ", config.journal_max_bytes, "\n",
                  "plugin_opt_log_level ", config.log_level, "\n");
  if (config.sas_port != 0) {
    absl::StrAppend(&text, "plugin_opt_sas_listener ",
                    ListenerAddress(config.sas_port, config.bind_address), "\n");
  }
  if (config.x509_port != 0) {
    absl::StrAppend(&text, "plugin_opt_x509_listener ",
                    ListenerAddress(config.x509_port, config.bind_address), "\n");
  }
  return text;
}

absl::Status RunHubLauncher(const ServiceContext& context) {
  const pid_t parent = ::getppid();
  ASSIGN_OR_RETURN(HubConfig hub,
                   LoadHubConfig(context.config, context.edge_home,
                                 spdlog::level::to_string_view(spdlog::get_level()).data()));
  RETURN_IF_ERROR(EnsureDirectory(RunDir(context.edge_home), 0750));
  const std::filesystem::path tmp = hub.broker_conf.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << RenderBrokerConf(hub);
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::filesystem::permissions(
      tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::error_code ec;
  std::filesystem::rename(tmp, hub.broker_conf, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot write ", hub.broker_conf.string(), ": ", ec.message()));
  }
  spdlog::info("hub: exec {} -c {}", hub.mosquitto.string(), hub.broker_conf.string());
  spdlog::default_logger()->flush();

  // RunServiceMain blocked the termination signals for sigtimedwait; the broker handles them
  // itself and inherits the mask across exec.
  // The broker runs as a different program (mosquitto -c ...), so edgectl cannot recognise it as a
  // leftover service to stop when the supervisor was killed; it goes with its supervisor instead.
  // The flag survives execve (mosquitto is not set-user-ID).
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) {
    return absl::UnavailableError("the process that started edge-hub has already exited");
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<std::string> args = {hub.mosquitto.string(), "-c", hub.broker_conf.string()};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  return absl::InternalError(
      absl::StrCat("cannot exec ", hub.mosquitto.string(), ": ", std::strerror(errno)));
}

}  // namespace edge::hub
