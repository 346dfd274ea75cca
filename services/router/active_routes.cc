#include "services/router/active_routes.h"

#include <utility>

namespace edge::router {

ActiveRoutes::Snapshot ActiveRoutes::Get() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void ActiveRoutes::Load(std::shared_ptr<const RoutesConfig> config,
                        std::optional<DesiredStatus> status) {
  absl::MutexLock lock(&mu_);
  current_.loaded = true;
  current_.config = std::move(config);
  current_.status = std::move(status);
  UpdateGauges();
}

void ActiveRoutes::Apply(const DesiredOutcome& outcome) {
  absl::MutexLock lock(&mu_);
  current_.status = outcome.status;
  if (outcome.config != nullptr) current_.config = outcome.config;
  UpdateGauges();
}

void ActiveRoutes::UpdateGauges() {
  if (metrics_ == nullptr) return;
  const RoutesConfig* config = current_.config.get();
  metrics_->routes.Set(config != nullptr ? static_cast<double>(config->table.size()) : 0);
  metrics_->config_desired_version.Set(
      config != nullptr ? static_cast<double>(config->desired_version) : 0);
}

}  // namespace edge::router
