#include "services/agent/restart_policy.h"

#include <algorithm>
#include <utility>

namespace edge::agent {

absl::Duration BackoffDelay(const RestartSettings& settings, int restart_count) {
  absl::Duration delay = settings.initial_delay;
  for (int i = 0; i < restart_count && delay < settings.max_delay; ++i) delay *= 2;
  return std::min(delay, settings.max_delay);
}

bool PolicyRestarts(RestartPolicy policy, const ModuleStatus& status) {
  switch (policy) {
    case RestartPolicy::kAlways:
      return true;
    case RestartPolicy::kOnFailure:
    case RestartPolicy::kOnUnhealthy:
      return status.state == ModuleState::kDead || status.exit_code != 0;
    case RestartPolicy::kNever:
      return false;
  }
  return false;
}

bool PolicyRestartsUnhealthy(RestartPolicy policy) {
  return policy == RestartPolicy::kOnUnhealthy || policy == RestartPolicy::kAlways;
}

RestartTracker::RestartTracker(RestartSettings settings, const Clock* clock)
    : settings_(std::move(settings)), clock_(clock) {}

const RestartRecord* RestartTracker::Find(const std::string& name) const {
  auto it = records_.find(name);
  return it == records_.end() ? nullptr : &it->second;
}

RestartDecision RestartTracker::Decide(const std::string& name, RestartPolicy policy,
                                       const ModuleStatus& status) {
  const absl::Time now = clock_->Now();
  auto it = records_.find(name);
  RestartRecord* record = it == records_.end() ? nullptr : &it->second;
  if (status.state == ModuleState::kRunning || status.state == ModuleState::kCreated) {
    if (record != nullptr && status.state == ModuleState::kRunning &&
        now - status.started_at >= settings_.healthy_reset) {
      records_.erase(it);  // healthy for long enough: a fresh count
    }
    return {};
  }
  const bool stopped_unhealthy =
      record != nullptr && !record->unhealthy_stop.empty() && PolicyRestartsUnhealthy(policy);
  if (!stopped_unhealthy && !PolicyRestarts(policy, status)) {
    return {.action = RestartAction::kStayDown};
  }
  if (record == nullptr) record = &records_[name];
  if (!record->gave_up && status.finished_at - status.started_at >= settings_.healthy_reset) {
    record->restart_count = 0;  // it ran healthy for long enough before this exit
  }
  if (record->gave_up || record->restart_count >= settings_.max_restarts) {
    record->gave_up = true;
    return {.action = RestartAction::kGaveUp};
  }
  // A dead module's end was not recorded: restart it without waiting.
  const absl::Time restart_at =
      status.finished_at == absl::InfinitePast()
          ? now
          : status.finished_at + BackoffDelay(settings_, record->restart_count);
  if (now >= restart_at) return {.action = RestartAction::kRestartNow};
  return {.action = RestartAction::kBackoff, .restart_at = restart_at};
}

void RestartTracker::RecordRestart(const std::string& name, const ModuleStatus& ended) {
  RestartRecord& record = records_[name];
  record.last_exit_code = ended.exit_code;
  record.last_exit = ended.finished_at;
  ++record.restart_count;
  record.last_restart = clock_->Now();
  record.unhealthy_stop.clear();
}

void RestartTracker::RecordUnhealthyStop(const std::string& name, std::string why) {
  records_[name].unhealthy_stop = std::move(why);
}

}  // namespace edge::agent
