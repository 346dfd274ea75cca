// RouterMetrics: every metric edge-router exports (services/router/README.md, "Metrics"), as
// references into the service's MetricsRegistry, so hot paths update them without a lookup.
//
// Lifecycle: created by RunRouter after the registry and before everything that counts; the
// registry outlives it. Thread-safe (every metric is).
#ifndef EDGE_SERVICES_ROUTER_ROUTER_METRICS_H_
#define EDGE_SERVICES_ROUTER_ROUTER_METRICS_H_

#include "common/metrics.h"

namespace edge::router {

struct RouterMetrics {
  explicit RouterMetrics(MetricsRegistry* registry);

  // Ingest.
  Counter& ingest_batches;      // batches acked
  Counter& ingest_messages;     // messages in acked batches
  Counter& routed_messages;     // appended to at least one queue
  Counter& dropped_messages;    // matched no route
  Counter& duplicate_messages;  // replays the store skipped
  Counter& rejected_batches;    // malformed: IngestRejection sent
  Counter& append_retries;      // store appends retried after a transient failure
  Gauge& ingest_streams;        // Ingest streams open now
  Histogram& append_seconds;    // a batch from receipt to commit (all its appends)

  // Configuration.
  CounterFamily<1>& desired_versions;  // by lastDesiredStatus code
  Gauge& config_desired_version;       // desired version of the configuration in force
  Gauge& routes;                       // routes in force
  CounterFamily<1>& store_errors;      // follower's failed store calls, by operation

  // Delivery (every endpoint's executors).
  Counter& deliveries;           // entries acknowledged by their endpoint
  Counter& delivery_failures;    // transient failures: rewound and retried after a pause
  Counter& rejected_deliveries;  // refused for good by the endpoint: dropped (logged at warn)

  // The upstream link (upstream_link.h).
  Gauge& upstream_connected;           // 1 while the link is connected (CONNACK accepted)
  Counter& upstream_connects;          // connections accepted by the upstream
  Counter& upstream_connect_failures;  // attempts that failed: network, TLS, CONNACK refused
  Counter& upstream_disconnects;       // connections lost or closed (token renewals included)
  Counter& upstream_token_renewals;    // reconnections made to present a fresh SAS token
  Counter& upstream_published;         // QoS 1 publishes handed to the connection
  Counter& upstream_acked;             // publishes the upstream acknowledged (PUBACK)
  Counter& upstream_rejected;          // messages refused for good (too large): dropped
  Counter& upstream_unacked;           // publishes failed as transient when the link dropped
  Gauge& upstream_in_flight;           // publishes waiting for their PUBACK

  // Monitor.
  Gauge& monitor_streams;             // Monitor streams open now
  Counter& monitor_dropped_messages;  // not sent to a Monitor stream whose buffer was full
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_ROUTER_METRICS_H_
