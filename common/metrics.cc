#include "common/metrics.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace edge {
namespace {

using metrics_internal::FamilyBase;
using metrics_internal::MetricType;

constexpr char kRegistrationErrors[] = "edge_metrics_registration_errors_total";

// Values as Prometheus' own clients print them: the shortest text that reads back as the same
// double ("0.00025", "5e-05", "1"), and +Inf, -Inf, NaN spelled as the format requires.
std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// Label values may hold anything; the format escapes backslash, double quote and line feed.
void AppendLabelValue(std::string* out, absl::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

// HELP text escapes backslash and line feed (a double quote stays as it is).
void AppendHelp(std::string* out, absl::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// `{a="x",b="y"}`, with `le` last for histogram buckets; nothing when there are no labels.
void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  absl::Span<const std::string> values, absl::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, names[i], "=\"");
    AppendLabelValue(out, values[i]);
    out->push_back('"');
  }
  if (!le.empty()) {
    if (!names.empty()) out->push_back(',');
    absl::StrAppend(out, "le=\"", le, "\"");
  }
  out->push_back('}');
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// Why `family` cannot be registered on its own, or "" when it can.
std::string Invalid(const FamilyBase& family) {
  if (!IsValidName(family.name(), /*allow_colon=*/true)) {
    return "the name is not [a-zA-Z_:][a-zA-Z0-9_:]*";
  }
  const std::vector<std::string>& labels = family.label_names();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!IsValidName(labels[i], /*allow_colon=*/false) || labels[i].rfind("__", 0) == 0) {
      return absl::StrCat("label \"", labels[i], "\" is not [a-zA-Z_][a-zA-Z0-9_]* without __");
    }
    if (family.type() == MetricType::kHistogram && labels[i] == "le") {
      return "a histogram cannot have a label named le";
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[j] == labels[i]) return absl::StrCat("label \"", labels[i], "\" appears twice");
    }
  }
  const std::vector<double>& bounds = family.bounds();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return "histogram bounds must be finite and strictly increasing";
    }
  }
  return "";
}

bool SameShape(const FamilyBase& a, const FamilyBase& b) {
  return a.type() == b.type() && a.label_names() == b.label_names() && a.bounds() == b.bounds();
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;  // it would turn the sum into NaN for good
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::TakeSnapshot() const {
  Snapshot snapshot;
  snapshot.cumulative_counts.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* const kBuckets =
      new std::vector<double>{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return *kBuckets;
}

namespace metrics_internal {

void FamilyBase::RenderHeader(std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ");
  AppendHelp(out, help_);
  absl::StrAppend(out, "\n# TYPE ", name_, " ", TypeName(type_), "\n");
}

void FamilyBase::RenderSeries(std::string* out, absl::Span<const std::string> label_values,
                              const Counter& counter) const {
  out->append(name_);
  AppendLabels(out, label_names_, label_values);
  absl::StrAppend(out, " ", counter.value(), "\n");
}

void FamilyBase::RenderSeries(std::string* out, absl::Span<const std::string> label_values,
                              const Gauge& gauge) const {
  out->append(name_);
  AppendLabels(out, label_names_, label_values);
  absl::StrAppend(out, " ", FormatDouble(gauge.value()), "\n");
}

void FamilyBase::RenderSeries(std::string* out, absl::Span<const std::string> label_values,
                              const Histogram& histogram) const {
  const Histogram::Snapshot snapshot = histogram.TakeSnapshot();
  for (size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    const std::string le = i < bounds_.size() ? FormatDouble(bounds_[i]) : "+Inf";
    absl::StrAppend(out, name_, "_bucket");
    AppendLabels(out, label_names_, label_values, le);
    absl::StrAppend(out, " ", snapshot.cumulative_counts[i], "\n");
  }
  absl::StrAppend(out, name_, "_sum");
  AppendLabels(out, label_names_, label_values);
  absl::StrAppend(out, " ", FormatDouble(snapshot.sum), "\n");
  absl::StrAppend(out, name_, "_count");
  AppendLabels(out, label_names_, label_values);
  absl::StrAppend(out, " ", snapshot.count, "\n");
}

}  // namespace metrics_internal

CollectHook::CollectHook(CollectHook&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(std::exchange(other.id_, 0)) {}

CollectHook& CollectHook::operator=(CollectHook&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void CollectHook::Reset() {
  if (registry_ != nullptr) registry_->RemoveCollectHook(id_);
  registry_ = nullptr;
  id_ = 0;
}

FamilyBase* MetricsRegistry::Register(std::unique_ptr<FamilyBase> family) {
  absl::MutexLock lock(&families_mu_);
  std::string problem = Invalid(*family);
  if (problem.empty()) {
    auto it = families_.find(family->name());
    if (it == families_.end()) {
      FamilyBase* added = family.get();
      families_.emplace(family->name(), std::move(family));
      return added;
    }
    if (SameShape(*it->second, *family)) return it->second.get();
    problem = absl::StrCat("it was registered before as a ", TypeName(it->second->type()),
                           " with other labels or buckets");
  }
  // A metric missing from the scrape is better than a service that does not start.
  spdlog::error("metric {} is not exported: {}", family->name(), problem);
  if (registration_errors_ == nullptr) {
    auto errors = std::unique_ptr<CounterFamily<0>>(
        new CounterFamily<0>(kRegistrationErrors,
                             "Metric registrations refused (bad name or a conflicting earlier "
                             "registration); the metric is not exported.",
                             {}, {}));
    auto existing = families_.find(kRegistrationErrors);
    if (existing == families_.end()) {
      registration_errors_ = &errors->WithLabels({});
      families_.emplace(kRegistrationErrors, std::move(errors));
    } else if (SameShape(*existing->second, *errors)) {
      registration_errors_ = &static_cast<CounterFamily<0>&>(*existing->second).WithLabels({});
    } else {
      registration_errors_ = &errors->WithLabels({});
      detached_.push_back(std::move(errors));
    }
  }
  registration_errors_->Increment();
  detached_.push_back(std::move(family));
  return detached_.back().get();
}

CollectHook MetricsRegistry::AddCollectHook(std::function<void()> collect) {
  absl::MutexLock lock(&hooks_mu_);
  const uint64_t id = next_hook_id_++;
  hooks_.emplace(id, std::move(collect));
  return CollectHook(this, id);
}

void MetricsRegistry::RemoveCollectHook(uint64_t id) {
  absl::MutexLock lock(&hooks_mu_);
  hooks_.erase(id);
}

std::string MetricsRegistry::RenderPrometheusText() {
  {
    absl::MutexLock lock(&hooks_mu_);
    for (auto& [id, collect] : hooks_) collect();
  }
  std::string out;
  absl::ReaderMutexLock lock(&families_mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

}  // namespace edge
