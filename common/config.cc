#include "common/config.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sas.h"
#include "common/status_macros.h"
#include "toml++/toml.h"

namespace edge {
namespace {

// toml++ speaks std::string_view; Debian's Abseil has its own absl::string_view.
std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

constexpr const char* kSections[] = {"device", "store", "router", "hub", "agent"};

std::string Where(const toml::source_region& region) {
  return absl::StrCat(region.begin.line, ":", region.begin.column);
}

}  // namespace

ConfigSection::ConfigSection(std::string name, std::shared_ptr<const toml::table> root,
                             const toml::table* table)
    : name_(std::move(name)), root_(std::move(root)), table_(table) {}

std::string ConfigSection::Path(absl::string_view key) const {
  return absl::StrCat(name_, ".", key);
}

absl::StatusOr<std::string> ConfigSection::GetString(absl::string_view key,
                                                     absl::string_view default_value) {
  read_.emplace(key);
  const toml::node* node = table_ ? table_->get(Std(key)) : nullptr;
  if (node == nullptr) return std::string(default_value);
  if (const auto* s = node->as_string()) return s->get();
  return absl::InvalidArgumentError(
      absl::StrCat(Path(key), ": expected a string at ", Where(node->source())));
}

absl::StatusOr<std::string> ConfigSection::GetEnum(absl::string_view key,
                                                   absl::string_view default_value,
                                                   const std::vector<std::string>& allowed) {
  ASSIGN_OR_RETURN(std::string value, GetString(key, default_value));
  for (const std::string& a : allowed) {
    if (a == value) return value;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(Path(key), ": \"", value, "\" is not one of ", absl::StrJoin(allowed, ", ")));
}

absl::StatusOr<int64_t> ConfigSection::GetInt(absl::string_view key, int64_t default_value,
                                              int64_t min, int64_t max) {
  read_.emplace(key);
  const toml::node* node = table_ ? table_->get(Std(key)) : nullptr;
  if (node == nullptr) return default_value;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(Path(key), ": expected an integer at ", Where(node->source())));
  }
  if (i->get() < min || i->get() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(Path(key), ": ", i->get(), " is outside [", min, ", ", max, "]"));
  }
  return i->get();
}

absl::StatusOr<bool> ConfigSection::GetBool(absl::string_view key, bool default_value) {
  read_.emplace(key);
  const toml::node* node = table_ ? table_->get(Std(key)) : nullptr;
  if (node == nullptr) return default_value;
  if (const auto* b = node->as_boolean()) return b->get();
  return absl::InvalidArgumentError(
      absl::StrCat(Path(key), ": expected true or false at ", Where(node->source())));
}

absl::StatusOr<absl::Duration> ConfigSection::GetSeconds(absl::string_view key,
                                                         absl::Duration default_value,
                                                         absl::Duration min) {
  read_.emplace(key);
  const toml::node* node = table_ ? table_->get(Std(key)) : nullptr;
  if (node == nullptr) return default_value;
  double seconds;
  if (const auto* i = node->as_integer()) {
    seconds = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    seconds = f->get();
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(Path(key), ": expected a number of seconds at ", Where(node->source())));
  }
  if (!std::isfinite(seconds) || absl::Seconds(seconds) < min) {
    return absl::InvalidArgumentError(absl::StrCat(
        Path(key), ": ", seconds, " s is below the minimum of ", absl::FormatDuration(min)));
  }
  return absl::Seconds(seconds);
}

absl::Status ConfigSection::CheckNoUnknownKeys() const {
  if (table_ == nullptr) return absl::OkStatus();
  for (const auto& [key, node] : *table_) {
    if (!read_.contains(key.str())) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path(Absl(key.str())), ": unknown key at ", Where(node.source())));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> Config::Parse(absl::string_view text, absl::string_view origin) {
  toml::table table;
  try {
    table = toml::parse(Std(text), Std(origin));
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ":", Where(e.source()), ": ", Absl(e.description())));
  }
  for (const auto& [key, node] : table) {
    bool known = false;
    for (const char* s : kSections) known = known || key.str() == s;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", Where(node.source()), ": ", Absl(key.str()),
                       ": unknown section (expected ", absl::StrJoin(kSections, ", "), ")"));
    }
    if (!node.is_table()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ":", Where(node.source()), ": ",
                                                     Absl(key.str()), " must be a section"));
    }
  }
  return Config(std::make_shared<const toml::table>(std::move(table)));
}

absl::StatusOr<Config> Config::LoadFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("config file ", path.string(), " does not exist"));
  }
  std::ifstream in(path);
  if (!in) return absl::PermissionDeniedError(absl::StrCat("cannot read ", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path.string());
}

ConfigSection Config::Section(absl::string_view name) const {
  const toml::table* table = root_->get_as<toml::table>(Std(name));
  return ConfigSection(std::string(name), root_, table);
}

std::string Config::DefaultText() {
  return R"(# Edge runtime configuration. Every key is optional; the values below are the defaults.
# Each service's README.md documents its keys.

[device]
# The edge device's identity; its modules are "{id}/{module}".
id = "edge-device"
# The name clients use as GatewayHostName and that the hub's certificate names.
hostname = "localhost"
# The edge device's identity upstream (IoT Hub or a parent edge), as IoT Hub gives it:
# "HostName=…;DeviceId=…;SharedAccessKey=…[;GatewayHostName=parent]". Empty: no upstream link;
# messages routed to $upstream stay queued. The link's own keys are in [router] (upstream_*).
connection_string = ""

[store]
# "unix" listens on $EDGE_HOME/run/store.sock; also "unix:/path" or "127.0.0.1:port".
listen = "unix"
# The database file, relative to $EDGE_HOME.
database = "data/store.db"
# "normal" (WAL, durable across a service crash) or "full" (also across power loss).
synchronous = "normal"
# The byte cap on stored messages (0: none) and what an append does when it is reached:
# "reject" (nothing stored is ever dropped) or "drop-oldest" (lowest priority, oldest first).
max_bytes = 1073741824
full_policy = "reject"
# Changes the change log keeps; a watcher further behind gets a snapshot.
change_retention = 10000
# Prometheus text over HTTP on this port (0: off; always available through `edgectl metrics`).
metrics_port = 0

[router]
# "unix" listens on $EDGE_HOME/run/router.sock; also "unix:/path" or "127.0.0.1:port".
listen = "unix"
# Store calls that fail transiently are retried after this delay, doubling up to the maximum.
store_retry_initial_seconds = 0.05
store_retry_max_seconds = 5
# Delivery: deliveries in flight per endpoint (shared by its priority queues, better priorities
# first; a worse queue passed over this many times gets the next slot); how long an acknowledged
# delivery stays re-deliverable to a restarted hub; the pause after a failed delivery, doubling.
delivery_window = 100
priority_max_passed_over = 10
replay_window_seconds = 10
delivery_retry_initial_seconds = 1
delivery_retry_max_seconds = 60
# The upstream link (when [device] connection_string is set): the upstream's MQTT port; TLS unless
# upstream_plain (tests, loopback); the CA its certificate must chain to ("" = the system's); an
# X.509 client certificate instead of the connection string's SharedAccessKey; keep-alive; how long
# a SAS token lives (renewed at 80%); the pause after a failed connection, doubling, with jitter.
upstream_port = 8883
upstream_plain = false
upstream_ca_file = ""
# upstream_cert_file = "/path/to/edge-device.pem"
# upstream_key_file = "/path/to/edge-device.key.pem"
upstream_keep_alive_seconds = 60
upstream_sas_lifetime_seconds = 3600
upstream_retry_initial_seconds = 1
upstream_retry_max_seconds = 60
upstream_connect_timeout_seconds = 10
# Prometheus text over HTTP on this port (0: off; always available through `edgectl metrics`).
metrics_port = 0

[hub]
# The hub's gRPC service: "unix" listens on $EDGE_HOME/run/hub.sock.
listen = "unix"
# MQTT over TLS, on bind_address ("" = every interface): SAS-token clients on sas_port, X.509
# clients (a certificate signed by client_ca, CN = device id) on x509_port. 0 turns one off.
bind_address = ""
sas_port = 8883
x509_port = 8884
# Absolute paths; by default the files `edgectl certs init` writes under $EDGE_HOME/certs/:
# server_cert = "/path/to/server.pem"
# server_key = "/path/to/server.key.pem"
# client_ca = "/path/to/ca.pem"
# Plain MQTT on 127.0.0.1 only (0: off): for local tools and tests, never for devices.
plain_port = 0
# The ingest journal ($EDGE_HOME/data/hub-journal) holds at most this many bytes the router has
# not acknowledged; beyond it publishers are disconnected without a PUBACK (nothing is lost).
journal_max_bytes = 268435456

[agent]
# "unix" listens on $EDGE_HOME/run/agent.sock; also "unix:/path" or "127.0.0.1:port".
listen = "unix"
# One directory per module (its config, output logs, exit status), relative to $EDGE_HOME.
modules_dir = "data/modules"
# Prometheus text over HTTP on this port (0: off; always available through `edgectl metrics`).
metrics_port = 0
# The reconciler runs the deployment on every desired change and at least this often.
reconcile_interval_seconds = 5
# Restart policy: the n-th restart waits min(initial * 2^n, max) after the exit; after
# restart_max_count restarts without restart_healthy_seconds of running, the module is failed.
restart_initial_delay_seconds = 10
restart_max_delay_seconds = 300
restart_max_count = 20
restart_healthy_seconds = 600
)";
}

absl::StatusOr<DeviceConfig> DeviceConfig::FromConfig(const Config& config) {
  ConfigSection section = config.Section("device");
  DeviceConfig device;
  ASSIGN_OR_RETURN(device.id, section.GetString("id", "edge-device"));
  ASSIGN_OR_RETURN(device.hostname, section.GetString("hostname", "localhost"));
  ASSIGN_OR_RETURN(std::string connection_string, section.GetString("connection_string", ""));
  RETURN_IF_ERROR(section.CheckNoUnknownKeys());
  if (device.id.empty()) return absl::InvalidArgumentError("device.id: must not be empty");
  if (!connection_string.empty()) {
    absl::StatusOr<DeviceConnectionString> upstream =
        ParseDeviceConnectionString(connection_string);
    if (!upstream.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("device.connection_string: ", upstream.status().message()));
    }
    if (upstream->device_id != device.id) {
      return absl::InvalidArgumentError(
          absl::StrCat("device.connection_string: DeviceId \"", upstream->device_id,
                       "\" is not this device (device.id \"", device.id, "\")"));
    }
    device.upstream = std::move(*upstream);
  }
  return device;
}

absl::StatusOr<DeviceConnectionString> ParseDeviceConnectionString(absl::string_view text) {
  ASSIGN_OR_RETURN(auto fields, ParseConnectionString(text));
  DeviceConnectionString parsed;
  const std::map<std::string, std::string*> known = {
      {"HostName", &parsed.host_name},
      {"DeviceId", &parsed.device_id},
      {"SharedAccessKey", &parsed.shared_access_key},
      {"GatewayHostName", &parsed.gateway_host_name}};
  for (auto& [key, value] : fields) {
    auto field = known.find(key);
    if (field == known.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("connection string key ", key,
                       " is not one of HostName, DeviceId, SharedAccessKey, GatewayHostName"));
    }
    *field->second = std::move(value);
  }
  if (parsed.host_name.empty()) {
    return absl::InvalidArgumentError("connection string has no HostName");
  }
  if (parsed.device_id.empty()) {
    return absl::InvalidArgumentError("connection string has no DeviceId");
  }
  return parsed;
}

}  // namespace edge
