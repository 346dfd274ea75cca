#include "services/agent/module_table.h"

#include <utility>

namespace edge::agent {

bool SameRow(const ModuleRow& a, const ModuleRow& b) {
  const ModuleStatus& x = a.status;
  const ModuleStatus& y = b.status;
  return x.state == y.state && x.pid == y.pid && x.exit_code == y.exit_code &&
         x.signal == y.signal && x.description == y.description && x.started_at == y.started_at &&
         x.finished_at == y.finished_at && x.config.argv == y.config.argv && a.health == b.health &&
         a.held_stopped == b.held_stopped;
}

void ModuleTable::Publish(std::vector<ModuleRow> rows) {
  std::map<std::string, ModuleRow> next;
  for (ModuleRow& row : rows) {
    std::string name = row.status.config.name;
    next.emplace(std::move(name), std::move(row));
  }
  absl::MutexLock lock(&mu_);
  Change change;
  for (const auto& [name, row] : rows_) {
    if (next.count(name) == 0) change.removed.push_back(name);
  }
  for (const auto& [name, row] : next) {
    auto old = rows_.find(name);
    if (old == rows_.end() || !SameRow(old->second, row)) change.changed.push_back(row);
  }
  rows_ = std::move(next);
  if (change.changed.empty() && change.removed.empty()) return;
  for (const auto& [id, listener] : listeners_) listener(change);
}

uint64_t ModuleTable::Subscribe(Listener listener, std::vector<ModuleRow>* snapshot) {
  absl::MutexLock lock(&mu_);
  snapshot->clear();
  for (const auto& [name, row] : rows_) snapshot->push_back(row);
  const uint64_t id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

bool ModuleTable::HeldStopped(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = rows_.find(name);
  return it != rows_.end() && it->second.held_stopped;
}

void ModuleTable::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(id);
}

}  // namespace edge::agent
