// Counters, gauges and histograms, rendered in the Prometheus text exposition format (version
// 0.0.4) for `GET /metrics`, edge.metrics.v1.Metrics and `edgectl metrics`.
//
// A MetricsRegistry holds metric families. A family has a name, a help text and a fixed list of
// label names — their number is a template argument, so passing the wrong number of label values
// does not compile — and each distinct set of label values is one series. Registering, and the
// first use of a set of label values, take a mutex; updating a metric is one relaxed atomic
// operation, so hot paths keep the reference they were given and never lock.
//
// There is no process-wide registry: a service creates one in its Run function and hands it to its
// gRPC services and to ServiceRunner, which records per-RPC metrics into it and serves it. Tests
// create their own.
//
// Label values must come from a small, bounded set (RPC names, status codes): every distinct value
// is a series kept for the life of the registry.
//
// Example:
//   MetricsRegistry registry;
//   Counter& appended = registry.AddCounter("edge_store_appended_messages_total", "Messages.");
//   CounterFamily<2>& rejected =
//       registry.AddCounterFamily<2>("edge_rejected_total", "Rejected calls.", {"rpc", "code"});
//   Histogram& latency = registry.AddHistogram("edge_append_seconds", "Time to append.");
//   appended.Increment(5);
//   rejected.WithLabels({"AppendMessages", "INVALID_ARGUMENT"}).Increment();
//   latency.Observe(0.0012);
//   std::string text = registry.RenderPrometheusText();
#ifndef EDGE_COMMON_METRICS_H_
#define EDGE_COMMON_METRICS_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace edge {

// A count of events. It only goes up, from 0 when the process starts. Thread-safe and lock-free.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  // For a counter whose total is kept elsewhere (a count persisted in a database) and copied in by
  // a collect hook (MetricsRegistry::AddCollectHook). Not to be mixed with Increment.
  void SetTotal(uint64_t total) { value_.store(total, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down: queues, open streams. Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  // `delta` may be negative.
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets by upper bound (the `le` label) and keeps their sum: latencies
// in seconds, sizes in bytes. Thread-safe and lock-free.
class Histogram {
 public:
  // `bounds`: strictly increasing, finite; a +Inf bucket is always added after them.
  explicit Histogram(std::vector<double> bounds);

  // A value lands in the first bucket whose bound is >= it. NaN is ignored.
  void Observe(double value);
  void ObserveDuration(absl::Duration duration) { Observe(absl::ToDoubleSeconds(duration)); }

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then the +Inf bucket
    uint64_t count = 0;                       // equals the +Inf bucket
    double sum = 0;
  };
  // Taken while observations continue, the buckets are each exact but not one instant; `count`
  // is derived from them so that it always equals the +Inf bucket, as the format requires.
  Snapshot TakeSnapshot() const;

  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative); bounds + 1
  std::atomic<double> sum_{0};
};

// Upper bounds for latencies in seconds, 50 µs to 10 s: 5e-05, 0.0001, 0.00025, 0.0005, 0.001, ...,
// 2.5, 5, 10. The default of every histogram.
const std::vector<double>& LatencyBuckets();

namespace metrics_internal {

enum class MetricType { kCounter, kGauge, kHistogram };

template <typename Metric>
constexpr MetricType TypeOf() {
  if constexpr (std::is_same_v<Metric, Counter>) return MetricType::kCounter;
  if constexpr (std::is_same_v<Metric, Gauge>) return MetricType::kGauge;
  static_assert(std::is_same_v<Metric, Counter> || std::is_same_v<Metric, Gauge> ||
                std::is_same_v<Metric, Histogram>);
  return MetricType::kHistogram;
}

// The part of a family that does not depend on its metric type or label count.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }  // histograms only

  // Appends the HELP and TYPE lines and every series; nothing while the family has no series.
  virtual void Render(std::string* out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  void RenderHeader(std::string* out) const;
  void RenderSeries(std::string* out, absl::Span<const std::string> label_values,
                    const Counter& counter) const;
  void RenderSeries(std::string* out, absl::Span<const std::string> label_values,
                    const Gauge& gauge) const;
  void RenderSeries(std::string* out, absl::Span<const std::string> label_values,
                    const Histogram& histogram) const;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
};

}  // namespace metrics_internal

// One metric name with N labels; a series per distinct set of label values. Created by
// MetricsRegistry, which owns it; references stay valid for the registry's lifetime.
template <typename Metric, size_t N>
class MetricFamily final : public metrics_internal::FamilyBase {
 public:
  // The series for `values` (in the order of the label names), created at 0 on first use. Takes a
  // reader lock (a writer lock the first time): on hot paths, keep the reference.
  Metric& WithLabels(const std::array<absl::string_view, N>& values) {
    Key key;
    for (size_t i = 0; i < N; ++i) key[i] = std::string(values[i]);
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = series_.find(key);
      if (it != series_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Metric>& slot = series_[key];
    if (slot == nullptr) {
      if constexpr (std::is_same_v<Metric, Histogram>) {
        slot = std::make_unique<Histogram>(bounds());
      } else {
        slot = std::make_unique<Metric>();
      }
    }
    return *slot;
  }

  void Render(std::string* out) const override {
    absl::ReaderMutexLock lock(&mu_);
    if (series_.empty()) return;
    std::vector<const typename Map::value_type*> sorted;
    sorted.reserve(series_.size());
    for (const auto& entry : series_) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      return a->first < b->first;  // stable output: scrapes and tests can compare text
    });
    RenderHeader(out);
    for (const auto* entry : sorted) {
      RenderSeries(out, absl::MakeConstSpan(entry->first.data(), N), *entry->second);
    }
  }

 private:
  friend class MetricsRegistry;
  using Key = std::array<std::string, N>;
  using Map = absl::flat_hash_map<Key, std::unique_ptr<Metric>>;

  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
               std::vector<double> bounds)
      : FamilyBase(std::move(name), std::move(help), metrics_internal::TypeOf<Metric>(),
                   std::move(label_names), std::move(bounds)) {}

  mutable absl::Mutex mu_;
  Map series_ ABSL_GUARDED_BY(mu_);
};

template <size_t N>
using CounterFamily = MetricFamily<Counter, N>;
template <size_t N>
using GaugeFamily = MetricFamily<Gauge, N>;
template <size_t N>
using HistogramFamily = MetricFamily<Histogram, N>;

class MetricsRegistry;

// Keeps a collect hook registered; destroying it (or Reset) removes the hook, waiting for a render
// that is running it to finish. Move-only.
class CollectHook {
 public:
  CollectHook() = default;
  CollectHook(CollectHook&& other) noexcept;
  CollectHook& operator=(CollectHook&& other) noexcept;
  CollectHook(const CollectHook&) = delete;
  CollectHook& operator=(const CollectHook&) = delete;
  ~CollectHook() { Reset(); }

  void Reset();

 private:
  friend class MetricsRegistry;
  CollectHook(MetricsRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}

  MetricsRegistry* registry_ = nullptr;
  uint64_t id_ = 0;
};

// Every metric of one service. Thread-safe. Outlives everything that holds one of its metrics.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registration returns the family registered under `name`, creating it. Registering a name again
  // with the same type, label names and bounds returns the same family (components may each ask
  // for what they share). A name or label name the format does not allow (names:
  // [a-zA-Z_:][a-zA-Z0-9_:]*; labels: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", and not "le"
  // for a histogram), or a name registered before with another shape, is a programming error that
  // must not take a service down: it is logged, counted in
  // edge_metrics_registration_errors_total, and the family returned works but is not rendered.

  Counter& AddCounter(absl::string_view name, absl::string_view help) {
    return AddCounterFamily<0>(name, help, {}).WithLabels({});
  }
  Gauge& AddGauge(absl::string_view name, absl::string_view help) {
    return AddGaugeFamily<0>(name, help, {}).WithLabels({});
  }
  // `bounds`: strictly increasing and finite (else a registration error, as above).
  Histogram& AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> bounds = LatencyBuckets()) {
    return AddHistogramFamily<0>(name, help, {}, std::move(bounds)).WithLabels({});
  }

  template <size_t N>
  CounterFamily<N>& AddCounterFamily(absl::string_view name, absl::string_view help,
                                     const std::array<absl::string_view, N>& label_names) {
    return AddFamily<Counter, N>(name, help, label_names, {});
  }
  template <size_t N>
  GaugeFamily<N>& AddGaugeFamily(absl::string_view name, absl::string_view help,
                                 const std::array<absl::string_view, N>& label_names) {
    return AddFamily<Gauge, N>(name, help, label_names, {});
  }
  template <size_t N>
  HistogramFamily<N>& AddHistogramFamily(absl::string_view name, absl::string_view help,
                                         const std::array<absl::string_view, N>& label_names,
                                         std::vector<double> bounds = LatencyBuckets()) {
    return AddFamily<Histogram, N>(name, help, label_names, std::move(bounds));
  }

  // Runs `collect` at the start of every RenderPrometheusText — never two renders' hooks at once —
  // so that values cheaper to read on demand than to track as they change (a count kept in a
  // database) are fresh in each scrape. `collect` sets gauges (or counters with SetTotal); it must
  // not call back into the registry's rendering. It stays registered while the returned handle
  // lives: destroy the handle before whatever `collect` uses.
  [[nodiscard]] CollectHook AddCollectHook(std::function<void()> collect);

  // Every family with at least one series, sorted by name, in the text exposition format 0.0.4:
  // "# HELP", "# TYPE", then one line per sample (histograms: _bucket{le=...} cumulative up to
  // le="+Inf", _sum, _count), series sorted by label values.
  std::string RenderPrometheusText();

 private:
  friend class CollectHook;

  template <typename Metric, size_t N>
  MetricFamily<Metric, N>& AddFamily(absl::string_view name, absl::string_view help,
                                     const std::array<absl::string_view, N>& label_names,
                                     std::vector<double> bounds) {
    std::vector<std::string> labels(label_names.begin(), label_names.end());
    std::unique_ptr<MetricFamily<Metric, N>> family(new MetricFamily<Metric, N>(
        std::string(name), std::string(help), std::move(labels), std::move(bounds)));
    // Register hands back either `family` or an earlier one of the same type and label count, so
    // the cast is to the family's real type.
    return static_cast<MetricFamily<Metric, N>&>(*Register(std::move(family)));
  }
  metrics_internal::FamilyBase* Register(std::unique_ptr<metrics_internal::FamilyBase> family);
  void RemoveCollectHook(uint64_t id);

  absl::Mutex families_mu_;
  std::map<std::string, std::unique_ptr<metrics_internal::FamilyBase>, std::less<>> families_
      ABSL_GUARDED_BY(families_mu_);
  // Families refused by Register: kept so references to them stay valid, never rendered.
  std::vector<std::unique_ptr<metrics_internal::FamilyBase>> detached_
      ABSL_GUARDED_BY(families_mu_);
  Counter* registration_errors_ ABSL_GUARDED_BY(families_mu_) = nullptr;

  // Held while hooks run, so that removing a hook waits for a render that is running it.
  absl::Mutex hooks_mu_;
  uint64_t next_hook_id_ ABSL_GUARDED_BY(hooks_mu_) = 1;
  std::map<uint64_t, std::function<void()>> hooks_ ABSL_GUARDED_BY(hooks_mu_);
};

}  // namespace edge

#endif  // EDGE_COMMON_METRICS_H_
