#include "services/agent/health_checker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace edge::agent {
namespace {

// How much of a failed probe's output its description keeps.
constexpr size_t kFailureOutputBytes = 200;

// Empty when the probe passed, else why it failed.
std::string FailureOf(const absl::StatusOr<ExecResult>& result) {
  if (!result.ok()) return std::string(result.status().message());
  if (result->exit_code == 0) return "";
  std::string output(absl::StripAsciiWhitespace(result->output));
  if (output.size() > kFailureOutputBytes) {
    output = absl::StrCat("…", output.substr(output.size() - kFailureOutputBytes));
  }
  return output.empty() ? absl::StrCat("exit ", result->exit_code)
                        : absl::StrCat("exit ", result->exit_code, ": ", output);
}

}  // namespace

HealthChecker::HealthChecker(ModuleRuntime* runtime, const Clock* clock,
                             std::function<void()> on_change, Counter* became_unhealthy)
    : runtime_(runtime),
      clock_(clock),
      on_change_(std::move(on_change)),
      became_unhealthy_(became_unhealthy) {}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void HealthChecker::Track(const std::map<std::string, Target>& targets) {
  absl::MutexLock lock(&mu_);
  for (auto it = states_.begin(); it != states_.end();) {
    auto target = targets.find(it->first);
    const bool same = target != targets.end() &&
                      target->second.started_at == it->second.started_at() &&
                      target->second.settings == it->second.settings();
    it = same ? std::next(it) : states_.erase(it);
  }
  for (const auto& [name, target] : targets) {
    if (states_.count(name) == 0) {
      states_.emplace(name, HealthState(target.settings, target.started_at));
      changed_ = true;
    }
  }
}

std::optional<HealthReport> HealthChecker::Find(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(name);
  if (it == states_.end()) return std::nullopt;
  return it->second.report();
}

void HealthChecker::Run() {
  while (true) {
    std::string name;
    HealthSettings settings;
    absl::Time started_at;
    {
      absl::MutexLock lock(&mu_);
      absl::Time next = absl::InfiniteFuture();
      for (const auto& [module, state] : states_) next = std::min(next, state.next_probe_at());
      mu_.AwaitWithTimeout(absl::Condition(this, &HealthChecker::Woken),
                           std::max(next - clock_->Now(), absl::ZeroDuration()));
      if (stopping_) return;
      changed_ = false;
      const absl::Time now = clock_->Now();
      for (const auto& [module, state] : states_) {
        if (state.next_probe_at() <= now &&
            (name.empty() || state.next_probe_at() < states_.at(name).next_probe_at())) {
          name = module;
        }
      }
      if (name.empty()) continue;
      settings = states_.at(name).settings();
      started_at = states_.at(name).started_at();
    }
    const absl::Time probe_started = clock_->Now();
    const std::string failure = FailureOf(runtime_->Exec(name, settings.argv, settings.timeout));
    const absl::Time probe_ended = clock_->Now();
    bool changed = false;
    {
      absl::MutexLock lock(&mu_);
      auto it = states_.find(name);
      // Not when the module was forgotten or started again meanwhile.
      if (it != states_.end() && it->second.started_at() == started_at) {
        const HealthReport before = it->second.report();
        it->second.Record(probe_started, probe_ended, failure);
        changed = it->second.health() != before.health;
        if (changed && it->second.health() == Health::kUnhealthy) {
          spdlog::warn("module {}: {}", name, it->second.report().Describe());
          if (became_unhealthy_ != nullptr) became_unhealthy_->Increment();
        } else if (changed) {
          spdlog::info("module {}: {}", name, it->second.report().Describe());
        }
      }
    }
    if (changed) on_change_();
  }
}

}  // namespace edge::agent
