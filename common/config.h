// The runtime's one configuration file, `$EDGE_HOME/config.toml`.
//
// Sections: [device], [store], [router], [hub], [agent]. Every key has a default; each service
// reads [device] and its own section, and an unknown key, a value of the wrong type or out of range
// is an INVALID_ARGUMENT whose message names the key ("store.synchronous: ...").
//
// Example:
//   ASSIGN_OR_RETURN(Config config, Config::LoadFile(edge_home / "config.toml"));
//   ConfigSection store = config.Section("store");
//   ASSIGN_OR_RETURN(int64_t page, store.GetInt("page_size", 256, 1, 1000));
//   RETURN_IF_ERROR(store.CheckNoUnknownKeys());
#ifndef EDGE_COMMON_CONFIG_H_
#define EDGE_COMMON_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace edge {

// One section of the file. Remembers which keys were read so that the rest can be reported as
// unknown. Not thread-safe; used at start-up.
class ConfigSection {
 public:
  // `table` may be null (the section is absent: every key takes its default).
  ConfigSection(std::string name, std::shared_ptr<const toml::table> root,
                const toml::table* table);

  absl::StatusOr<std::string> GetString(absl::string_view key, absl::string_view default_value);
  // `value` must be one of `allowed`.
  absl::StatusOr<std::string> GetEnum(absl::string_view key, absl::string_view default_value,
                                      const std::vector<std::string>& allowed);
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t default_value, int64_t min,
                                 int64_t max);
  absl::StatusOr<bool> GetBool(absl::string_view key, bool default_value);
  // A number of seconds (integer or float), at least `min`.
  absl::StatusOr<absl::Duration> GetSeconds(absl::string_view key, absl::Duration default_value,
                                            absl::Duration min);

  // INVALID_ARGUMENT naming the first key present in the file that no Get* asked for.
  absl::Status CheckNoUnknownKeys() const;

  const std::string& name() const { return name_; }

 private:
  std::string Path(absl::string_view key) const;

  std::string name_;
  std::shared_ptr<const toml::table> root_;  // keeps `table_` alive
  const toml::table* table_;
  std::set<std::string, std::less<>> read_;
};

class Config {
 public:
  // NOT_FOUND when the file does not exist; INVALID_ARGUMENT with line:column for a syntax error
  // or an unknown section.
  static absl::StatusOr<Config> LoadFile(const std::filesystem::path& path);
  static absl::StatusOr<Config> Parse(absl::string_view text, absl::string_view origin = "config");

  // The file `edgectl` writes when there is none: every section, keys at their defaults.
  static std::string DefaultText();

  ConfigSection Section(absl::string_view name) const;

 private:
  explicit Config(std::shared_ptr<const toml::table> root) : root_(std::move(root)) {}
  std::shared_ptr<const toml::table> root_;
};

// The fields of an IoT Hub device connection string
// (`HostName=…;DeviceId=…;SharedAccessKey=…[;GatewayHostName=…]`, docs/iothub-surface.md §1): who
// the edge device is upstream and where that is.
struct DeviceConnectionString {
  std::string host_name;          // HostName: the IoT hub; the SAS resource and username name it
  std::string device_id;          // DeviceId
  std::string shared_access_key;  // SharedAccessKey; empty for an X.509 identity
  // GatewayHostName: a parent edge hub to connect to instead of HostName (nested edge); empty:
  // connect to HostName.
  std::string gateway_host_name;
};

// Parses `Key=value;…` (split at the first `=` of each part, as SDKs do). INVALID_ARGUMENT, with a
// message naming the problem, for an empty part, a part without `=`, a key given twice, an unknown
// key (only HostName, DeviceId, SharedAccessKey, GatewayHostName: a ModuleId would make it a
// module's, not the edge device's), or a missing or empty HostName or DeviceId. The key is not
// checked here (see ValidateSymmetricKey in common/sas.h).
absl::StatusOr<DeviceConnectionString> ParseDeviceConnectionString(absl::string_view text);

// MQTT over TLS's port (IANA), the one IoT Hub listens on: the default of `[hub] sas_port` (which
// edge-agent also reads, to tell modules where the hub is) and of `[router] upstream_port`.
inline constexpr int kMqttTlsPort = 8883;

// [device]: who this edge device is. Read by every service.
struct DeviceConfig {
  std::string id;        // device_id: the edge device identity; modules are `{id}/{module}`
  std::string hostname;  // the name clients use as GatewayHostName
  // connection_string: the edge device's identity upstream; absent (the default, "") when the
  // device has no upstream. Its DeviceId must be `id`.
  std::optional<DeviceConnectionString> upstream;

  static absl::StatusOr<DeviceConfig> FromConfig(const Config& config);
};

}  // namespace edge

#endif  // EDGE_COMMON_CONFIG_H_
