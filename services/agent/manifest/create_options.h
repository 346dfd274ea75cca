// A module's `createOptions` (docs/iothub-surface.md §5): a Docker `ContainerCreate` body written
// as a JSON string, possibly split into `createOptions`, `createOptions01`, `createOptions02`, …
// The fields a process module uses are read into CreateOptions, with Docker's names and meanings,
// so one parser serves the process runtime and the docker backend.
//
// Read (exact, case-sensitive Docker names): `Cmd`, `Entrypoint` (an array of strings, or one
// string, which Docker's API takes as a one-element array), `Env` (["K=V", …]), `WorkingDir`,
// `User`, `HostConfig.Memory` (bytes) and `HostConfig.NanoCpus` (integers ≥ 0),
// `Healthcheck {Test, Interval, Timeout, StartPeriod, Retries}` (durations in nanoseconds,
// integers ≥ 0). Every other field is kept in `raw` and otherwise ignored: Docker has many.
//
// Example:
//   settings = {"image": "/bin/sh",
//               "createOptions": "{\"Cmd\": [\"-c\", \"echo hi\"], \"HostConfig\": ",
//               "createOptions01": "{\"Memory\": 67108864}}"}
//   ManifestErrors errors;
//   std::optional<CreateOptions> options =
//       ReadSettingsCreateOptions(settings, "$edgeAgent.modules.m.settings", errors);
//   // options->cmd == {"-c", "echo hi"}, options->memory_bytes == 67108864
#ifndef EDGE_SERVICES_AGENT_MANIFEST_CREATE_OPTIONS_H_
#define EDGE_SERVICES_AGENT_MANIFEST_CREATE_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/agent/manifest/manifest_errors.h"

namespace edge::agent {

// Docker's `Healthcheck`. Absent durations and retries take the runtime's defaults (Docker: 30 s
// interval and timeout, 0 start period, 3 retries); 0 means the same, as in Docker.
struct Healthcheck {
  // ["CMD", program, args…], ["CMD-SHELL", "command"], ["NONE"] (no health check), or empty
  // (none given: inherit, which for a process module means none).
  std::vector<std::string> test;
  std::optional<int64_t> interval_ns;
  std::optional<int64_t> timeout_ns;
  std::optional<int64_t> start_period_ns;
  std::optional<int64_t> retries;

  friend bool operator==(const Healthcheck&, const Healthcheck&) = default;
};

struct CreateOptions {
  // nullopt: not given (a docker image's own CMD/ENTRYPOINT apply).
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::vector<std::string>> entrypoint;
  // "NAME=value" each, NAME non-empty; the module's `env` is merged on top by the runtime.
  std::vector<std::string> env;
  std::string working_dir;  // "": the runtime's default
  std::string user;         // "": the agent's user
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> nano_cpus;  // 1e9 = one CPU
  std::optional<Healthcheck> healthcheck;
  // The whole createOptions object, unknown fields included (what the docker backend sends).
  nlohmann::json raw = nlohmann::json::object();

  friend bool operator==(const CreateOptions&, const CreateOptions&) = default;
};

// Reads a parsed createOptions object; errors are added under `path`, e.g.
// "$edgeAgent.modules.m.settings.createOptions.HostConfig.Memory: -1 is negative". nullopt when
// any was added: a non-object `options`, a known field of the wrong type, an `Env` entry without
// `NAME=`, a Healthcheck Test that is not ["NONE"], ["CMD", x, …] or ["CMD-SHELL", "command"].
std::optional<CreateOptions> ReadCreateOptions(const nlohmann::json& options,
                                               const std::string& path, ManifestErrors& errors);

// Concatenates `settings.createOptions` and `createOptions01` … `createOptions99` in numeric order,
// parses the result as JSON and reads it with ReadCreateOptions. Absent or "" means `{}`. On
// success `*text` (when not null) receives the concatenated text. Errors, under `settings_path`:
// a chunk that is not a string; a gap (`createOptions02` without `01`, or chunks without
// `createOptions`); a key starting with `createOptions` that is not one of these names; text that
// is not JSON or has a key twice; a result that is not an object (all at `…createOptions`).
std::optional<CreateOptions> ReadSettingsCreateOptions(const nlohmann::json& settings,
                                                       const std::string& settings_path,
                                                       ManifestErrors& errors,
                                                       std::string* text = nullptr);

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MANIFEST_CREATE_OPTIONS_H_
