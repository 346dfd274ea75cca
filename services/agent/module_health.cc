#include "services/agent/module_health.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace edge::agent {
namespace {

// Docker's defaults for an absent or 0 value.
absl::Duration DurationOr(const std::optional<int64_t>& ns, absl::Duration default_value) {
  return ns.has_value() && *ns > 0 ? absl::Nanoseconds(*ns) : default_value;
}

}  // namespace

std::optional<HealthSettings> HealthSettingsFromSpec(const CreateOptions& options) {
  if (!options.healthcheck.has_value()) return std::nullopt;
  const Healthcheck& check = *options.healthcheck;
  if (check.test.size() < 2) return std::nullopt;  // [] (inherit: none for a process) or ["NONE"]
  HealthSettings settings;
  if (check.test[0] == "CMD-SHELL") {
    settings.argv = {"/bin/sh", "-c", check.test[1]};
  } else if (check.test[0] == "CMD") {
    settings.argv.assign(check.test.begin() + 1, check.test.end());
  } else {
    return std::nullopt;  // the manifest library accepts nothing else
  }
  settings.interval = DurationOr(check.interval_ns, absl::Seconds(30));
  settings.timeout = DurationOr(check.timeout_ns, absl::Seconds(30));
  settings.start_period = DurationOr(check.start_period_ns, absl::ZeroDuration());
  settings.retries =
      check.retries.has_value() && *check.retries > 0 ? static_cast<int>(*check.retries) : 3;
  return settings;
}

absl::string_view ToString(Health health) {
  switch (health) {
    case Health::kNone:
      return "none";
    case Health::kStarting:
      return "starting";
    case Health::kHealthy:
      return "healthy";
    case Health::kUnhealthy:
      return "unhealthy";
  }
  return "none";
}

std::string HealthReport::Describe() const {
  if (health != Health::kUnhealthy) return std::string(ToString(health));
  return absl::StrCat("unhealthy: ", failing_streak,
                      " consecutive health checks failed; the last: ", last_failure);
}

HealthState::HealthState(HealthSettings settings, absl::Time started_at)
    : settings_(std::move(settings)),
      started_at_(started_at),
      next_probe_at_(started_at + settings_.interval) {}

void HealthState::Record(absl::Time started, absl::Time ended, const std::string& failure) {
  next_probe_at_ = ended + settings_.interval;
  std::string why = failure;
  if (ended - started > settings_.timeout) {
    why = absl::StrCat("timed out after ", absl::FormatDuration(settings_.timeout));
  }
  if (why.empty()) {
    ever_passed_ = true;
    report_ = {.health = Health::kHealthy, .failing_streak = 0, .last_failure = {}};
    return;
  }
  report_.last_failure = std::move(why);
  if (!ever_passed_ && started < started_at_ + settings_.start_period) return;  // does not count
  if (++report_.failing_streak >= settings_.retries) report_.health = Health::kUnhealthy;
}

}  // namespace edge::agent
