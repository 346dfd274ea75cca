// MetricsRegistry: counting, registration rules and the exact Prometheus text format 0.0.4.
#include "common/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CounterTest, AddsIncrements) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("c_total", "help");
  EXPECT_EQ(counter.value(), 0u);
  counter.Increment();
  counter.Increment(4);
  EXPECT_EQ(counter.value(), 5u);
}

TEST(CounterTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("c_total", "help");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10000; ++i) counter.Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40000u);
}

TEST(GaugeTest, GoesUpAndDown) {
  MetricsRegistry registry;
  Gauge& gauge = registry.AddGauge("g", "help");
  gauge.Increment();
  gauge.Increment();
  gauge.Decrement();
  gauge.Add(0.5);
  EXPECT_DOUBLE_EQ(gauge.value(), 1.5);
  gauge.Set(-3);
  EXPECT_DOUBLE_EQ(gauge.value(), -3);
}

TEST(HistogramTest, ValueOnABoundCountsInThatBucket) {
  Histogram histogram({1, 2});
  histogram.Observe(1);    // le="1"
  histogram.Observe(1.5);  // le="2"
  histogram.Observe(7);    // le="+Inf"
  Histogram::Snapshot s = histogram.TakeSnapshot();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.sum, 9.5);
}

TEST(HistogramTest, NanIsIgnored) {
  Histogram histogram({1});
  histogram.Observe(std::nan(""));
  histogram.Observe(0.5);
  EXPECT_EQ(histogram.TakeSnapshot().count, 1u);
  EXPECT_DOUBLE_EQ(histogram.TakeSnapshot().sum, 0.5);
}

TEST(HistogramTest, ObserveDurationIsInSeconds) {
  Histogram histogram({0.001, 0.01});
  histogram.ObserveDuration(absl::Milliseconds(5));
  EXPECT_EQ(histogram.TakeSnapshot().cumulative_counts, (std::vector<uint64_t>{0, 1, 1}));
  EXPECT_DOUBLE_EQ(histogram.TakeSnapshot().sum, 0.005);
}

TEST(RenderTest, UnlabelledCounter) {
  MetricsRegistry registry;
  registry.AddCounter("edge_things_total", "Things done.").Increment(3);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP edge_things_total Things done.\n"
            "# TYPE edge_things_total counter\n"
            "edge_things_total 3\n");
}

TEST(RenderTest, GaugeValues) {
  MetricsRegistry registry;
  GaugeFamily<1>& g = registry.AddGaugeFamily<1>("g", "A gauge.", {"k"});
  g.WithLabels({"a"}).Set(2);
  g.WithLabels({"b"}).Set(0.25);
  g.WithLabels({"c"}).Set(-1e-05);
  g.WithLabels({"d"}).Set(std::numeric_limits<double>::infinity());
  g.WithLabels({"e"}).Set(-std::numeric_limits<double>::infinity());
  g.WithLabels({"f"}).Set(std::nan(""));
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP g A gauge.\n"
            "# TYPE g gauge\n"
            "g{k=\"a\"} 2\n"
            "g{k=\"b\"} 0.25\n"
            "g{k=\"c\"} -1e-05\n"
            "g{k=\"d\"} +Inf\n"
            "g{k=\"e\"} -Inf\n"
            "g{k=\"f\"} NaN\n");
}

TEST(RenderTest, LabelledSeriesAreSortedByLabelValues) {
  MetricsRegistry registry;
  CounterFamily<2>& calls =
      registry.AddCounterFamily<2>("edge_calls_total", "Calls.", {"rpc", "code"});
  calls.WithLabels({"Read", "OK"}).Increment(2);
  calls.WithLabels({"Append", "OK"}).Increment(5);
  calls.WithLabels({"Append", "INVALID_ARGUMENT"}).Increment();
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP edge_calls_total Calls.\n"
            "# TYPE edge_calls_total counter\n"
            "edge_calls_total{rpc=\"Append\",code=\"INVALID_ARGUMENT\"} 1\n"
            "edge_calls_total{rpc=\"Append\",code=\"OK\"} 5\n"
            "edge_calls_total{rpc=\"Read\",code=\"OK\"} 2\n");
}

TEST(RenderTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsRegistry registry;
  HistogramFamily<1>& latency =
      registry.AddHistogramFamily<1>("edge_rpc_seconds", "Latency.", {"rpc"}, {0.001, 0.01, 0.1});
  Histogram& append = latency.WithLabels({"Append"});
  // Binary fractions, so that the sum is exact.
  append.Observe(0.0009765625);
  append.Observe(0.0078125);
  append.Observe(0.0078125);
  append.Observe(2);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP edge_rpc_seconds Latency.\n"
            "# TYPE edge_rpc_seconds histogram\n"
            "edge_rpc_seconds_bucket{rpc=\"Append\",le=\"0.001\"} 1\n"
            "edge_rpc_seconds_bucket{rpc=\"Append\",le=\"0.01\"} 3\n"
            "edge_rpc_seconds_bucket{rpc=\"Append\",le=\"0.1\"} 3\n"
            "edge_rpc_seconds_bucket{rpc=\"Append\",le=\"+Inf\"} 4\n"
            "edge_rpc_seconds_sum{rpc=\"Append\"} 2.0166015625\n"
            "edge_rpc_seconds_count{rpc=\"Append\"} 4\n");
}

TEST(RenderTest, UnlabelledHistogramHasOnlyTheLeLabel) {
  MetricsRegistry registry;
  registry.AddHistogram("h_seconds", "H.", {1}).Observe(0.5);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"1\"} 1\n"
            "h_seconds_bucket{le=\"+Inf\"} 1\n"
            "h_seconds_sum 0.5\n"
            "h_seconds_count 1\n");
}

TEST(RenderTest, LatencyBucketsAreWrittenAsPrometheusClientsWriteThem) {
  MetricsRegistry registry;
  registry.AddHistogram("l_seconds", "L.");
  const std::string text = registry.RenderPrometheusText();
  for (const char* le : {"5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
                         "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("l_seconds_bucket{le=\"", le, "\"} 0\n")));
  }
}

TEST(RenderTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.AddCounterFamily<1>("c_total", "C.", {"path"})
      .WithLabels({"a\\b \"quoted\"\nnext"})
      .Increment();
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr("c_total{path=\"a\\\\b \\\"quoted\\\"\\nnext\"} 1\n"));
}

TEST(RenderTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  MetricsRegistry registry;
  registry.AddCounter("c_total", "a \"b\" c\\d\ne").Increment();
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("# HELP c_total a \"b\" c\\\\d\\ne\n"));
}

TEST(RenderTest, FamiliesAreSortedByNameAndEmptyOnesOmitted) {
  MetricsRegistry registry;
  registry.AddCounter("b_total", "B.");
  registry.AddCounterFamily<1>("c_total", "C.", {"k"});  // no series yet
  registry.AddGauge("a", "A.");
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP a A.\n"
            "# TYPE a gauge\n"
            "a 0\n"
            "# HELP b_total B.\n"
            "# TYPE b_total counter\n"
            "b_total 0\n");
}

TEST(RegistrationTest, SameNameAndShapeReturnsTheSameMetric) {
  MetricsRegistry registry;
  Counter& first = registry.AddCounter("c_total", "C.");
  Counter& second = registry.AddCounter("c_total", "C.");
  EXPECT_EQ(&first, &second);
  auto& family = registry.AddCounterFamily<1>("f_total", "F.", {"k"});
  EXPECT_EQ(&family, &registry.AddCounterFamily<1>("f_total", "F.", {"k"}));
  EXPECT_EQ(&family.WithLabels({"x"}), &family.WithLabels({"x"}));
}

TEST(RegistrationTest, ConflictingShapeIsNotExportedAndIsCounted) {
  MetricsRegistry registry;
  registry.AddCounter("m", "As a counter.").Increment(7);
  Gauge& conflicting = registry.AddGauge("m", "As a gauge.");
  conflicting.Set(99);  // usable, but not exported
  auto& other_labels = registry.AddCounterFamily<1>("m", "Labelled.", {"k"});
  other_labels.WithLabels({"v"}).Increment();
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP edge_metrics_registration_errors_total Metric registrations refused (bad name "
            "or a conflicting earlier registration); the metric is not exported.\n"
            "# TYPE edge_metrics_registration_errors_total counter\n"
            "edge_metrics_registration_errors_total 2\n"
            "# HELP m As a counter.\n"
            "# TYPE m counter\n"
            "m 7\n");
}

TEST(RegistrationTest, OtherHistogramBoundsConflict) {
  MetricsRegistry registry;
  registry.AddHistogram("h", "H.", {1, 2});
  Histogram& other = registry.AddHistogram("h", "H.", {1, 3});
  EXPECT_EQ(other.bounds(), (std::vector<double>{1, 3}));
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr("edge_metrics_registration_errors_total 1\n"));
}

TEST(RegistrationTest, InvalidNamesAreNotExported) {
  MetricsRegistry registry;
  registry.AddCounter("1starts_with_digit", "x").Increment();
  registry.AddCounter("has-dash", "x").Increment();
  registry.AddCounterFamily<1>("bad_label_total", "x", {"a:b"}).WithLabels({"v"}).Increment();
  registry.AddCounterFamily<1>("reserved_label_total", "x", {"__k"}).WithLabels({"v"}).Increment();
  registry.AddCounterFamily<2>("twice_total", "x", {"k", "k"}).WithLabels({"v", "w"}).Increment();
  registry.AddHistogramFamily<1>("le_label", "x", {"le"}).WithLabels({"v"}).Observe(1);
  registry.AddHistogram("unsorted", "x", {2, 1}).Observe(1);
  registry.AddHistogram("infinite", "x", {1, std::numeric_limits<double>::infinity()});
  registry.AddCounter("ns:ok_total", "colons are allowed in names").Increment();
  const std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("edge_metrics_registration_errors_total 8\n"));
  EXPECT_THAT(text, HasSubstr("ns:ok_total 1\n"));
  for (const char* name : {"starts_with_digit", "has-dash", "bad_label", "reserved_label",
                           "twice_total", "le_label", "unsorted", "infinite"}) {
    EXPECT_THAT(text, Not(HasSubstr(name)));
  }
}

TEST(CollectHookTest, RunsBeforeEachRender) {
  MetricsRegistry registry;
  Gauge& depth = registry.AddGauge("depth", "D.");
  int calls = 0;
  CollectHook hook = registry.AddCollectHook([&] { depth.Set(++calls * 10); });
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("depth 10\n"));
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("depth 20\n"));
}

TEST(CollectHookTest, CounterTotalCanBeCopiedIn) {
  MetricsRegistry registry;
  Counter& expired = registry.AddCounter("expired_total", "E.");
  CollectHook hook = registry.AddCollectHook([&] { expired.SetTotal(42); });
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("expired_total 42\n"));
}

TEST(CollectHookTest, DestroyingTheHandleRemovesTheHook) {
  MetricsRegistry registry;
  registry.AddGauge("g", "G.");
  int calls = 0;
  {
    CollectHook hook = registry.AddCollectHook([&] { ++calls; });
    CollectHook moved = std::move(hook);
    registry.RenderPrometheusText();
  }
  registry.RenderPrometheusText();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace edge
