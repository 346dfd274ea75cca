// A module's health check (docs/iothub-surface.md §5: createOptions `Healthcheck` in Docker's
// shape) as a state machine over time, with Docker's rules:
//   - the first probe runs `interval` after the module started, each next one `interval` after the
//     previous one ended; a probe that runs longer than `timeout` has failed;
//   - `starting` until the first probe passes; a pass makes it `healthy` and clears the count;
//   - `retries` consecutive failures make it `unhealthy` (and a pass healthy again);
//   - failures of probes that start within `start_period` of the start do not count, unless a
//     probe already passed.
// Durations come in nanoseconds, as Docker writes them; 0 or absent means Docker's default
// (interval and timeout 30 s, start period 0, 3 retries).
//
// Example:
//   std::optional<HealthSettings> settings = HealthSettingsFromSpec(spec.create_options);
//   HealthState state(*settings, status.started_at);
//   if (clock.Now() >= state.next_probe_at()) {
//     const absl::Time started = clock.Now();
//     std::string failure = RunProbe(settings->argv, settings->timeout);  // "" when it passed
//     state.Record(started, clock.Now(), failure);
//   }
//   if (state.health() == Health::kUnhealthy) …
//
// Pure: no I/O, no clock of its own (times are passed in). Not thread-safe.
#ifndef EDGE_SERVICES_AGENT_MODULE_HEALTH_H_
#define EDGE_SERVICES_AGENT_MODULE_HEALTH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/agent/manifest/create_options.h"

namespace edge::agent {

struct HealthSettings {
  std::vector<std::string> argv;  // CMD: the program and arguments; CMD-SHELL: /bin/sh -c command
  absl::Duration interval = absl::Seconds(30);
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration start_period = absl::ZeroDuration();
  int retries = 3;

  friend bool operator==(const HealthSettings&, const HealthSettings&) = default;
};

// The settings of `options.healthcheck`; nullopt when the module has none (no Healthcheck, an
// empty Test, or ["NONE"]).
std::optional<HealthSettings> HealthSettingsFromSpec(const CreateOptions& options);

enum class Health {
  kNone,  // no health check
  kStarting,
  kHealthy,
  kUnhealthy,
};

// "none", "starting", "healthy", "unhealthy".
absl::string_view ToString(Health health);

// What is known of a module's health, for reporting.
struct HealthReport {
  Health health = Health::kNone;
  int failing_streak = 0;  // consecutive failures that counted
  // The last failure: "exit 1: <output>", "timed out after 2s", "\"x\" is not in the module's
  // PATH"; empty when the last probe passed.
  std::string last_failure = {};

  // "healthy", "starting", "unhealthy: 3 consecutive health checks failed; the last: exit 1: …".
  std::string Describe() const;

  friend bool operator==(const HealthReport&, const HealthReport&) = default;
};

class HealthState {
 public:
  HealthState(HealthSettings settings, absl::Time started_at);

  const HealthSettings& settings() const { return settings_; }
  absl::Time started_at() const { return started_at_; }
  absl::Time next_probe_at() const { return next_probe_at_; }

  // A probe that started at `started` ended at `ended`; `failure` is empty when it passed, else
  // why it failed. A probe longer than the timeout fails whatever it returned.
  void Record(absl::Time started, absl::Time ended, const std::string& failure);

  const HealthReport& report() const { return report_; }
  Health health() const { return report_.health; }

 private:
  const HealthSettings settings_;
  const absl::Time started_at_;
  absl::Time next_probe_at_;
  bool ever_passed_ = false;
  HealthReport report_{.health = Health::kStarting, .failing_streak = 0, .last_failure = {}};
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_MODULE_HEALTH_H_
