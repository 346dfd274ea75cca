// HubPlugin: everything the hub runs inside the mosquitto broker, and its lifecycle.
//
// Created by mosquitto_plugin_init (plugin_entry.cc) on the broker thread, which then registers the
// broker callbacks with the plugin as their userdata; destroyed by mosquitto_plugin_cleanup, also
// on the broker thread, after the callbacks are unregistered. It owns:
//   - the worker part: a gRPC server (edge.hub.v1.Hub, health, reflection, metrics) on gRPC's own
//     threads, started with the termination signals blocked so that only the broker handles them;
//   - the BrokerWorkQueue that worker threads post to and TICK drains, and the WakeClient that
//     makes an idle broker run TICK at once;
//   - the IdentityWatcher (a worker thread following the store's identities), whose tables reach
//     the ClientGate through that queue;
//   - the ClientGate: who connects and what each client may do (broker thread);
//   - with a router configured, the durable message path: the IngestJournal that MESSAGE appends
//     accepted telemetry and module messages to (before the PUBACK), the IngestStreamer that sends
//     it to the router, and the AttachLink whose deliveries TICK publishes to module clients.
// Broker-thread methods (On*) decide from in-memory state only and never block.
//
// Example (plugin_entry.cc):
//   ASSIGN_OR_RETURN(PluginOptions options, PluginOptions::Parse(opts));
//   ASSIGN_OR_RETURN(std::unique_ptr<HubPlugin> plugin, HubPlugin::Start(options, &broker_api));
//   ... mosquitto_callback_register(id, MOSQ_EVT_TICK, OnTick, nullptr, plugin.get());
#ifndef EDGE_SERVICES_HUB_PLUGIN_HUB_PLUGIN_H_
#define EDGE_SERVICES_HUB_PLUGIN_HUB_PLUGIN_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/service_runner.h"
#include "services/hub/plugin/attach_link.h"
#include "services/hub/plugin/broker_work_queue.h"
#include "services/hub/plugin/client_auth.h"
#include "services/hub/plugin/client_gate.h"
#include "services/hub/plugin/direct_methods.h"
#include "services/hub/plugin/identity_watcher.h"
#include "services/hub/plugin/ingest_journal.h"
#include "services/hub/plugin/ingest_streamer.h"
#include "services/hub/plugin/twin_requests.h"
#include "services/hub/plugin/wake_client.h"

namespace edge::hub {

// The plugin_opt_* lines edge-hub writes into mosquitto.conf.
struct PluginOptions {
  std::filesystem::path edge_home;    // plugin_opt_edge_home (required)
  std::string grpc_listen;            // plugin_opt_grpc_listen: "unix:/path" or "host:port"
  std::filesystem::path wake_socket;  // plugin_opt_wake_socket (required)
  int plain_port = 0;                 // plugin_opt_plain_port
  std::string sas_listener;           // plugin_opt_sas_listener: "host:port" for GetHubInfo
  std::string x509_listener;          // plugin_opt_x509_listener: "host:port" for GetHubInfo
  // plugin_opt_store: the store's gRPC target, whose identities the hub follows; empty: none
  // (nobody but the wake client can connect).
  std::string store_target;
  // plugin_opt_router: the router's gRPC target, which ingest and module inputs go through; empty:
  // none (publishes are accepted and go nowhere).
  std::string router_target;
  // plugin_opt_device_id: the edge device's id (its modules are device_id/module).
  std::string device_id;
  // plugin_opt_journal_max_bytes: the ingest journal's limit of unacknowledged bytes.
  uint64_t journal_max_bytes = 256ull << 20;
  std::string log_level = "info";  // plugin_opt_log_level

  // INVALID_ARGUMENT naming the option for an unknown key, a missing required key or a bad value.
  static absl::StatusOr<PluginOptions> Parse(
      const std::vector<std::pair<std::string, std::string>>& options);
};

// What GetHubInfo reports.
struct HubStatus {
  std::string instance_id;
  int64_t broker_pid = 0;
  std::vector<std::pair<std::string, std::string>> listeners;  // kind, address
  absl::Duration uptime;
  int64_t last_wake_latency_us = -1;
  int64_t ticks = 0;
  int64_t connected_clients = 0;
};

class HubGrpcService;

class HubPlugin {
 public:
  // Starts logging, the gRPC server, the wake client and the identity watcher. UNAVAILABLE /
  // ALREADY_EXISTS when the gRPC address cannot be bound (see ServiceRunner::Start). `broker`
  // must outlive the plugin.
  static absl::StatusOr<std::unique_ptr<HubPlugin>> Start(PluginOptions options, BrokerApi* broker);
  ~HubPlugin();

  // Broker thread, on TICK: runs the queued work.
  void OnTick();
  // Broker thread, on BASIC_AUTH: the hub's own wake client (a per-start secret), or a device or
  // module client the ClientGate accepts.
  bool OnBasicAuth(const void* connection, const ConnectAttempt& attempt);
  // Broker thread, on ACL_CHECK, MESSAGE and DISCONNECT: see ClientGate.
  bool OnAclCheck(const void* connection, absl::string_view topic, AclAccess access);
  PublishVerdict OnMessage(const void* connection, absl::string_view topic,
                           absl::string_view payload, int qos);
  void OnDisconnect(const void* connection);

  // Any thread: builds a HubStatus on the broker thread (so the reported latency is this call's
  // own queued → TICK latency) and calls `done` there; with UNAVAILABLE at once if the hub is
  // shutting down. `done` must not block.
  void QueryStatus(std::function<void(absl::StatusOr<HubStatus>)> done);

  // Any thread: the client operations of edge.hub.v1, each run on the broker thread, where `done`
  // is called (it must not block); UNAVAILABLE at once when the hub is shutting down.
  // A direct method on `call.target`'s client (see DirectMethods).
  void InvokeMethod(MethodCall call, std::function<void(absl::StatusOr<MethodResult>)> done);
  // A cloud-to-device message: true when queued in an offline device's persistent session, false
  // when handed to the connected device. INVALID_ARGUMENT for a bad device id, an unknown system
  // property or more than 256 KiB; NOT_FOUND when the device is neither connected nor has a
  // persistent session.
  void SendC2D(std::string device, std::string body, MessageProperties properties,
               std::function<void(absl::StatusOr<bool>)> done);
  void ListClients(std::function<void(absl::StatusOr<std::vector<ClientState>>)> done);
  // NOT_FOUND when no client with that id is connected.
  void DisconnectClient(std::string client_id, std::function<void(absl::Status)> done);

  // Broker thread, from cleanup: runs what is still queued, refuses new work, shuts the gRPC
  // server down (joining its threads) and closes the wake connection. Idempotent.
  void Stop();

 private:
  HubPlugin(PluginOptions options, BrokerApi* broker);

  // Posts `task` and wakes the broker when the queue was empty. False when shutting down.
  bool RunOnBroker(BrokerWorkQueue::Task task);
  // Starts the journal, the streamer and the Attach link (Start, with a router configured).
  absl::Status StartMessagePath();
  // MESSAGE, accepted telemetry or module message: into the journal. kDisconnect when it cannot
  // take it (full, or a write error): no PUBACK, so the client sends it again later.
  PublishVerdict Ingest(const ClientState& client, const ClientTopic& topic,
                        absl::string_view payload);
  // Broker thread: publishes one delivery to its module client and reports the result.
  void Deliver(const router::v1::Delivery& delivery, uint64_t session);
  // Broker thread: a twin answer to its client; a successful reported patch is also routed as a
  // twin change notification.
  void AnswerTwin(const TwinAnswer& answer);
  // Broker thread: a desired change pushed to its client when it subscribed to them.
  void PushDesired(const store::v1::Change& change);
  // Broker thread: appends to the journal (when there is one); the error when it cannot.
  absl::StatusOr<uint64_t> Journal(const common::v1::Message& message);
  std::string NextEdgeMessageId();

  const PluginOptions options_;
  BrokerApi* const broker_;
  const std::string instance_id_;
  const std::string wake_password_;  // the wake client's, random per start; never leaves memory
  const absl::Time started_at_;
  MetricsRegistry metrics_;
  Counter& wake_failures_;
  BrokerWorkQueue queue_;
  WakeClient wake_;
  ClientGate gate_;
  std::unique_ptr<IdentityWatcher> identity_watcher_;
  std::unique_ptr<TwinRequests> twins_;
  DirectMethods methods_;
  // C2D messages (topic, body) for offline devices with a persistent session, published when the
  // device connects again (broker thread).
  absl::flat_hash_map<std::string, std::deque<std::pair<std::string, std::string>>> offline_c2d_;
  CounterFamily<1>& ingest_refused_;
  Counter& ingested_;
  Counter& twin_requests_;
  Counter& desired_pushed_;
  Counter& delivered_;
  CounterFamily<1>& not_delivered_;
  uint64_t messages_accepted_ = 0;  // broker thread: numbers edge message ids
  std::unique_ptr<IngestJournal> journal_;
  std::unique_ptr<IngestStreamer> streamer_;
  std::unique_ptr<AttachLink> attach_;
  CollectHook journal_gauges_;
  std::atomic<int64_t> ticks_{0};
  std::unique_ptr<HubGrpcService> grpc_service_;
  std::unique_ptr<ServiceRunner> runner_;
  bool stopped_ = false;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_HUB_PLUGIN_H_
