// UpstreamSink: the QueueSink of `$upstream` — the seam where the upstream link (one MQTT
// connection to the cloud or a parent edge, DESIGN.md "Upstream link and nested edge") plugs into
// the router's delivery. The `$upstream` queues get the same QueueExecutor as module inputs: in
// order, a window in flight, checkpoint after the acknowledgement, backoff on transient failures.
//
// Contract for an implementation:
// - `Current().ready` while connected; every (re)connection is a new `session`; `instance` stays
//   the same unless the peer may have lost what it acknowledged (a PUBACK is durable upstream, so
//   an MQTT link keeps it constant);
// - `Send` publishes at QoS 1 without blocking and calls `done` on the PUBACK (kDelivered), when
//   the connection drops first (kTransientFailure), or when the upstream refuses the message for
//   good (kRejected: too large, not authorised for that identity). Many publishes may wait for
//   their PUBACKs at once (the executor's window);
// - `WaitForChange` wakes on connect and disconnect; `Interrupt` wakes every waiter at shutdown;
// - `LinkStatus` says how the link is doing, for EndpointStats and `edgectl status`.
//
// Implementations: UpstreamLink (upstream_link.h), the MQTT link RunRouter installs when
// `[device] connection_string` is set, and NoUpstreamLinkSink when it is not: never ready, so
// `$upstream` queues stay queued until their TTL, and EndpointStats says "no upstream link
// configured". Tests script the seam with a double (upstream_delivery_test.cc).
//
// Example:
//   NoUpstreamLinkSink upstream;
//   DeliveryManager delivery(store_channel, &hub_link, &upstream, DeliveryOptions{});
//   upstream.LinkStatus().configured;  // false
#ifndef EDGE_SERVICES_ROUTER_UPSTREAM_SINK_H_
#define EDGE_SERVICES_ROUTER_UPSTREAM_SINK_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/router/queue_sink.h"

namespace edge::router {

// How the upstream link is doing (EndpointStats' `upstream`, `edgectl status`).
struct UpstreamLinkStatus {
  bool configured = false;                  // false: no link; nothing else is set
  bool online = false;                      // connected, CONNACK accepted
  absl::Time since = absl::InfinitePast();  // when it last went online or offline
  std::string last_error;                   // kept after recovery
  absl::Time last_error_at = absl::InfinitePast();
  std::string address;                              // host:port
  std::string device_id;                            // the identity it connects as
  std::string authentication;                       // "sas" or "x509"
  std::string transport;                            // "tls" or "plain"
  absl::Time token_expires = absl::InfinitePast();  // the SAS token in use; X.509: InfinitePast
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t published = 0;
  uint64_t acked = 0;
  uint64_t rejected = 0;
  uint64_t in_flight = 0;
};

class UpstreamSink : public QueueSink {
 public:
  // Wakes every WaitForChange, now and later (shutdown).
  virtual void Interrupt() = 0;
  // Thread-safe. The default: not configured.
  virtual UpstreamLinkStatus LinkStatus() const { return {}; }
};

// No upstream link is configured: nothing is ever sent. Thread-safe.
class NoUpstreamLinkSink final : public UpstreamSink {
 public:
  static constexpr char kReason[] = "no upstream link configured";

  std::string Describe() const override { return "the upstream link"; }
  State Current() const override;
  void WaitForChange(uint64_t version, absl::Duration timeout) const override;
  bool Send(common::v1::Message message, SendDone done) override;
  void Interrupt() override;

 private:
  mutable absl::Mutex mu_;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_UPSTREAM_SINK_H_
