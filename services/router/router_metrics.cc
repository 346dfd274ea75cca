#include "services/router/router_metrics.h"

namespace edge::router {

RouterMetrics::RouterMetrics(MetricsRegistry* registry)
    : ingest_batches(registry->AddCounter(
          "edge_router_ingest_batches_total",
          "Ingest batches acknowledged after the store committed them (replays included).")),
      ingest_messages(registry->AddCounter("edge_router_ingest_messages_total",
                                           "Messages in acknowledged Ingest batches.")),
      routed_messages(registry->AddCounter(
          "edge_router_routed_messages_total",
          "Messages appended to at least one queue (replays the store skipped included).")),
      dropped_messages(registry->AddCounter("edge_router_dropped_messages_total",
                                            "Messages no route matched: not stored.")),
      duplicate_messages(registry->AddCounter(
          "edge_router_duplicate_messages_total",
          "Routed messages the store had already committed (journal replays).")),
      rejected_batches(registry->AddCounter(
          "edge_router_rejected_batches_total",
          "Malformed Ingest batches answered with a rejection (logged at warn).")),
      append_retries(registry->AddCounter(
          "edge_router_append_retries_total",
          "Store appends retried after a transient failure (logged at warn).")),
      ingest_streams(registry->AddGauge("edge_router_ingest_streams", "Ingest streams open now.")),
      append_seconds(registry->AddHistogram(
          "edge_router_append_seconds",
          "Time from receiving an Ingest batch to the store committing it.")),
      desired_versions(registry->AddCounterFamily<1>(
          "edge_router_desired_versions_total",
          "edgeHub desired versions processed, by the lastDesiredStatus code reported.", {"code"})),
      config_desired_version(registry->AddGauge(
          "edge_router_config_desired_version",
          "The edgeHub desired version of the configuration in force (0: none).")),
      routes(registry->AddGauge("edge_router_routes", "Routes in the configuration in force.")),
      store_errors(registry->AddCounterFamily<1>(
          "edge_router_store_errors_total",
          "Failed store calls of the configuration follower, by operation (logged at warn; "
          "retried with backoff).",
          {"operation"})),
      deliveries(registry->AddCounter("edge_router_deliveries_total",
                                      "Queue entries acknowledged by their endpoint.")),
      delivery_failures(registry->AddCounter(
          "edge_router_delivery_failures_total",
          "Deliveries that failed transiently (not delivered): rewound and retried after a "
          "pause.")),
      rejected_deliveries(registry->AddCounter(
          "edge_router_rejected_deliveries_total",
          "Queue entries their endpoint refused for good: dropped (logged at warn).")),
      upstream_connected(
          registry->AddGauge("edge_router_upstream_connected",
                             "1 while the upstream link is connected (CONNACK accepted), else 0.")),
      upstream_connects(registry->AddCounter("edge_router_upstream_connects_total",
                                             "Upstream connections the upstream accepted.")),
      upstream_connect_failures(registry->AddCounter(
          "edge_router_upstream_connect_failures_total",
          "Upstream connection attempts that failed (network, TLS, CONNACK refused; logged at "
          "warn, retried with backoff).")),
      upstream_disconnects(registry->AddCounter(
          "edge_router_upstream_disconnects_total",
          "Upstream connections lost or closed (SAS token renewals included).")),
      upstream_token_renewals(registry->AddCounter(
          "edge_router_upstream_token_renewals_total",
          "Upstream reconnections made to present a fresh SAS token before the old one "
          "expired.")),
      upstream_published(registry->AddCounter("edge_router_upstream_published_total",
                                              "QoS 1 publishes handed to the upstream link.")),
      upstream_acked(registry->AddCounter("edge_router_upstream_acked_total",
                                          "Upstream publishes acknowledged (PUBACK).")),
      upstream_rejected(registry->AddCounter(
          "edge_router_upstream_rejected_total",
          "Messages the upstream link refused for good (larger than 256 KiB): dropped, logged "
          "at warn.")),
      upstream_unacked(registry->AddCounter(
          "edge_router_upstream_unacked_total",
          "Upstream publishes failed as transient because the connection ended before their "
          "PUBACK (sent again; the upstream may see duplicates).")),
      upstream_in_flight(registry->AddGauge("edge_router_upstream_in_flight",
                                            "Upstream publishes waiting for their PUBACK.")),
      monitor_streams(
          registry->AddGauge("edge_router_monitor_streams", "Monitor streams open now.")),
      monitor_dropped_messages(registry->AddCounter(
          "edge_router_monitor_dropped_messages_total",
          "Routed messages not sent to a Monitor stream because its buffer was full.")) {}

}  // namespace edge::router
