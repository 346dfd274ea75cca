// UpstreamLink: the upstream MQTT link — one MQTT 3.1.1 connection (libmosquitto) from edge-router
// to IoT Hub or a parent edge hub, authenticated as the edge device (DESIGN.md "Upstream link and
// nested edge"), and the UpstreamSink (upstream_sink.h) every `$upstream` queue drains through.
//
// It owns:
// - the connection: client id and username from `[device] connection_string`
//   (`{HostName}/{DeviceId}/?api-version=…`), a SAS token made from its SharedAccessKey (or an
//   X.509 client certificate), TLS with the configured CA (plain only when configured),
//   keep-alive; reconnection with exponential backoff and jitter (`retry`), never a crash: a
//   refused CONNACK is logged at warn, counted and retried like any other failure;
// - SAS renewal: a token lives `sas_lifetime`; once 80% of it has passed, the link stops taking
//   new sends, waits (at most `renew_drain_timeout`) for the PUBACKs of those in flight, and
//   reconnects at once with a fresh token (MQTT 3.1.1 cannot re-authenticate a live connection).
//   A token is reused for every attempt until it is due, so a retried attempt presents the same
//   one;
// - publishing: each message goes to `devices/{DeviceId}/messages/events/{property bag}` at QoS 1
//   (iothub_topic.h encodes the bag); its origin (the device or module that sent it to the edge)
//   is carried as `$.cdid`/`$.cmid` and as the application properties `edge-origin-device`,
//   `edge-origin-module` and `edge-origin-output` (kOrigin* below). `done` is called with
//   kDelivered on the PUBACK, kTransientFailure when the connection ends first (every send in
//   flight), kRejected for a message over kMaxMessageBytes (never sent: IoT Hub would close the
//   connection, and a 3.1.1 PUBACK carries no refusal);
// - its state: online/offline, since when, the last error, counters (LinkStatus and
//   RouterMetrics' `edge_router_upstream_*`).
//
// Each connection is a fresh `struct mosquitto` (its session number is the executor's `session`):
// libmosquitto would otherwise re-send an ended session's publishes on its own, behind the
// executors' backs. The instance is constant (a PUBACK is durable upstream), so a reconnection
// only rewinds each queue to its first unanswered entry.
//
// Threading: Start launches the link's thread, which connects and runs mosquitto_loop; libmosquitto
// calls back on it. Send is called from the executors' threads (mosquitto_publish with
// mosquitto_threaded_set: the loop's thread writes). Every method is thread-safe. Interrupt wakes
// every waiter and makes the thread disconnect; Stop (or the destructor) joins it, answering every
// send still in flight with kTransientFailure.
//
// Example:
//   ASSIGN_OR_RETURN(UpstreamLinkOptions options, UpstreamLinkOptions::FromConfig(device, router));
//   UpstreamLink link(options, &metrics);
//   link.Start();
//   DeliveryManager delivery(store_channel, &hub_link, &link, DeliveryOptions{}, &metrics);
//   ...
//   link.Interrupt();
//   delivery.Stop();
//   link.Stop();
#ifndef EDGE_SERVICES_ROUTER_UPSTREAM_LINK_H_
#define EDGE_SERVICES_ROUTER_UPSTREAM_LINK_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/iothub_topic.h"
#include "common/retry_backoff.h"
#include "services/router/router_metrics.h"
#include "services/router/upstream_sink.h"

struct mosquitto;

namespace edge::router {

// The application properties that say where an upstream message came from.
inline constexpr char kOriginDeviceProperty[] = "edge-origin-device";
inline constexpr char kOriginModuleProperty[] = "edge-origin-module";
inline constexpr char kOriginOutputProperty[] = "edge-origin-output";

// The api-version the username names (docs/iothub-surface.md §1: must be present).
inline constexpr char kUpstreamApiVersion[] = "2021-04-12";

struct UpstreamLinkOptions {
  std::string host;               // where to connect: GatewayHostName, else HostName
  int port = kMqttTlsPort;        // upstream_port
  std::string hub_host_name;      // HostName: the SAS resource and the username name it
  std::string device_id;          // DeviceId = [device] id: the client id
  std::string shared_access_key;  // empty: X.509 (cert_file, key_file)
  bool plain = false;             // upstream_plain: no TLS
  std::string ca_file;            // upstream_ca_file; empty: the system's CAs (/etc/ssl/certs)
  std::string cert_file;          // upstream_cert_file, upstream_key_file: X.509 identity
  std::string key_file;
  absl::Duration keep_alive = absl::Seconds(60);     // upstream_keep_alive_seconds (5-65535)
  absl::Duration sas_lifetime = absl::Hours(1);      // upstream_sas_lifetime_seconds
  RetryPolicy retry = {.initial = absl::Seconds(1),  // upstream_retry_{initial,max}_seconds
                       .max = absl::Seconds(60)};
  absl::Duration connect_timeout = absl::Seconds(10);     // upstream_connect_timeout_seconds
  absl::Duration renew_drain_timeout = absl::Seconds(5);  // not configurable

  // Nullopt when `device.upstream` is absent (no connection string: no link). Otherwise the link's
  // options from the connection string and [router]'s upstream_* keys (which it reads, so that
  // the section's CheckNoUnknownKeys knows them; they are read even without a connection string).
  // INVALID_ARGUMENT naming the key for: a bad SharedAccessKey; neither a key nor
  // upstream_cert_file; only one of upstream_cert_file/upstream_key_file; a file that cannot be
  // read; upstream_plain with a certificate; a value out of range.
  static absl::StatusOr<std::optional<UpstreamLinkOptions>> FromConfig(const DeviceConfig& device,
                                                                       ConfigSection& router);
};

// The topic and property bag a message goes upstream with (see the banner). Pure.
std::string UpstreamTopic(const std::string& device_id, const common::v1::Message& message,
                          MessageProperties* properties_out = nullptr);

class UpstreamLink final : public UpstreamSink {
 public:
  // `metrics` may be null and outlives the link.
  UpstreamLink(UpstreamLinkOptions options, RouterMetrics* metrics);
  ~UpstreamLink() override;
  UpstreamLink(const UpstreamLink&) = delete;
  UpstreamLink& operator=(const UpstreamLink&) = delete;

  void Start();
  // Interrupt, then joins the thread (the connection is closed, sends in flight are answered
  // kTransientFailure).
  void Stop();

  std::string Describe() const override { return "the upstream link"; }
  State Current() const override;
  void WaitForChange(uint64_t version, absl::Duration timeout) const override;
  bool Send(common::v1::Message message, SendDone done) override;
  void Interrupt() override;
  UpstreamLinkStatus LinkStatus() const override;

 private:
  enum class Ended { kStopped, kFailed, kRenew };

  void Run();
  // One connection from connect to its end. `reached_online` says whether the CONNACK accepted it.
  Ended RunConnection(bool* reached_online);
  // Makes a fresh SAS token when none is in use or the one in use is due for renewal.
  absl::Status RefreshTokenIfDue(absl::Time now);
  // The connection ended (or never came up): offline, new sends refused, every send in flight
  // answered kTransientFailure, the handle destroyed.
  void EndConnection(mosquitto* mosq, const std::string& error);
  void RecordFailure(const std::string& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Stopping() const;

  // libmosquitto callbacks (the link's thread).
  void OnConnect(int rc);
  void OnPublish(int mid);
  void OnLog(int level, const char* text);

  const UpstreamLinkOptions options_;
  const std::string address_;  // host:port
  const std::string username_;
  RouterMetrics* const metrics_;
  std::thread thread_;

  // Guards the handle Send publishes on: readers publish, the link's thread swaps it as writer.
  // Always taken before mu_.
  mutable absl::Mutex conn_mu_;
  mosquitto* mosq_ ABSL_GUARDED_BY(conn_mu_) = nullptr;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t session_ ABSL_GUARDED_BY(mu_) = 0;
  bool online_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;              // renewing the token: no new sends
  int connack_ ABSL_GUARDED_BY(mu_) = -1;                   // the CONNACK's code; -1 before it came
  std::map<int, SendDone> in_flight_ ABSL_GUARDED_BY(mu_);  // by mid
  std::set<int> early_acks_ ABSL_GUARDED_BY(mu_);   // PUBACKs that beat their Send's bookkeeping
  std::string library_error_ ABSL_GUARDED_BY(mu_);  // libmosquitto's last error log line
  UpstreamLinkStatus status_ ABSL_GUARDED_BY(mu_);
  // The SAS token in use (the link's thread only).
  std::string token_;
  absl::Time token_renew_at_ = absl::InfinitePast();
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_UPSTREAM_LINK_H_
