// HealthChecker: runs the health checks of running modules (module_health.h) on its own thread,
// through ModuleRuntime::Exec — the module's environment and working directory, as a container's
// health check runs inside the container — and keeps each module's HealthState.
//
// The reconciler tells it, every pass, which modules to check (Track); a module that started again
// (another start time) or whose check changed starts over as `starting`. Probes run one at a time,
// earliest due first, each bounded by its timeout: a slow probe delays the others by at most that.
// On every change of a module's health `on_change` is called (from the checker's thread, no lock
// held) so that the reconciler acts on it — an unhealthy module restarted by its restart policy —
// and reports it without waiting for its next pass.
//
// Example:
//   HealthChecker checker(&runtime, SystemClock::Get(), [&] { reconciler.Wake(); });
//   checker.Start();
//   checker.Track({{"sensor", {.settings = *settings, .started_at = status.started_at}}});
//   std::optional<HealthReport> report = checker.Find("sensor");  // starting, healthy, unhealthy
//
// Lifecycle: created by RunAgent before the Reconciler, Start()ed once; Stop() (or the destructor)
// stops and joins the thread (waiting for a probe in progress, at most its timeout). The runtime
// and the clock outlive it. Thread-safe.
#ifndef EDGE_SERVICES_AGENT_HEALTH_CHECKER_H_
#define EDGE_SERVICES_AGENT_HEALTH_CHECKER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "services/agent/module_health.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

class HealthChecker {
 public:
  struct Target {
    HealthSettings settings;
    absl::Time started_at;  // of the module's current run
  };

  // `became_unhealthy` (may be null) counts modules turning unhealthy (each also logged at warn).
  HealthChecker(ModuleRuntime* runtime, const Clock* clock, std::function<void()> on_change,
                Counter* became_unhealthy = nullptr);
  ~HealthChecker();

  void Start();
  // Stops and joins the thread (waiting for a probe in progress); no `on_change` after it returns.
  void Stop();

  // The modules to check from now on, by name; the others are forgotten.
  void Track(const std::map<std::string, Target>& targets);
  // nullopt for a module that is not checked.
  std::optional<HealthReport> Find(const std::string& name) const;

 private:
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || changed_; }
  void Run();

  ModuleRuntime* const runtime_;
  const Clock* const clock_;
  const std::function<void()> on_change_;
  Counter* const became_unhealthy_;

  mutable absl::Mutex mu_;
  std::map<std::string, HealthState> states_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_HEALTH_CHECKER_H_
