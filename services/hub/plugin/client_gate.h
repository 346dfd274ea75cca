// ClientGate: the broker-thread decisions about MQTT clients — who connects (client_auth.h), what
// each may subscribe to and publish (docs/iothub-surface.md §2, DESIGN.md "Authorisation on the
// broker") — and the state of each connection, keyed by the broker's connection pointer (never by
// client id: on a session takeover the new connection authenticates before the old one's
// DISCONNECT). Everything is decided from memory; nothing here blocks.
//
// Example (HubPlugin, on the broker thread):
//   ClientGate gate(&broker, metrics);
//   gate.SetIdentities(table);                      // from the IdentityWatcher, via TICK
//   if (!gate.Connect(conn, attempt)) return MOSQ_ERR_AUTH;
//   gate.AllowAccess(conn, "devices/d1/messages/devicebound/#", AclAccess::kSubscribe);  // true
//   gate.CheckPublish(conn, topic, payload, qos);  // kAccept, or kDisconnect (no PUBACK)
//   gate.Disconnect(conn);
#ifndef EDGE_SERVICES_HUB_PLUGIN_CLIENT_GATE_H_
#define EDGE_SERVICES_HUB_PLUGIN_CLIENT_GATE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity_id.h"
#include "common/iothub_topic.h"
#include "common/metrics.h"
#include "services/hub/plugin/client_auth.h"

namespace edge::hub {

// The broker functions the hub calls, on the broker thread only. plugin_entry.cc implements them
// with mosquitto's; unit tests record the calls.
class BrokerApi {
 public:
  virtual ~BrokerApi() = default;
  // Disconnects the client with this id (no will message).
  virtual void KickClient(const std::string& client_id) = 0;
  // The subscriptions the connection has (a restored session has some without a SUBSCRIBE).
  virtual int SubscriptionCount(const void* connection) = 0;
  // The MQTT protocol version (3, 4 = 3.1.1, 5) and the clean-session flag of a connection.
  virtual int ProtocolVersion(const void* connection) = 0;
  virtual bool CleanSession(const void* connection) = 0;
  // Publishes to that one client at `qos` (no subscription needed, never retained). False when
  // the broker refused it. The broker does not lower `qos` to what the client subscribed with.
  virtual bool Publish(const std::string& client_id, const std::string& topic,
                       absl::string_view payload, int qos) = 0;
};

enum class AclAccess { kRead, kWrite, kSubscribe, kUnsubscribe };

enum class PublishVerdict {
  kAccept,      // let the broker take it (and PUBACK it)
  kDisconnect,  // refuse: the broker disconnects the client without a PUBACK
};

// One authenticated connection.
struct ClientState {
  std::string client_id = {};
  IdentityId identity;
  AuthMethod method = AuthMethod::kSas;
  absl::Time connected_at = {};
  // When its SAS token expires (with the skew allowed); InfiniteFuture for X.509, or once it was
  // disconnected for it.
  absl::Time valid_until = absl::InfiniteFuture();
  // A module subscribed to its inputs (by SUBSCRIBE, or a restored session's subscriptions): it
  // is "present" for the router (DESIGN.md "Attach contract").
  bool inputs_subscribed = false;
  // Subscribed to `$iothub/twin/PATCH/properties/desired/#`: desired changes are pushed to it.
  bool desired_subscribed = false;
  // Subscribed to `$iothub/methods/POST/#`: it can be invoked.
  bool methods_subscribed = false;
  // The filters it subscribed to, in order (a restored session's own are not known).
  std::vector<std::string> subscriptions = {};
  int protocol_version = 4;
  bool clean_session = true;
};

class ClientGate {
 public:
  ClientGate(BrokerApi* broker, MetricsRegistry& metrics);

  // Replaces the identity table. Connected clients whose identity is gone or disabled, or whose
  // authentication type changed, are disconnected.
  void SetIdentities(std::shared_ptr<const IdentityTable> identities);
  bool identities_loaded() const { return identities_ != nullptr; }

  // BASIC_AUTH: authenticates and, when accepted, records the connection. A refusal is logged with
  // its reason and counted (edge_hub_auth_refused_total{reason}).
  bool Connect(const void* connection, const ConnectAttempt& attempt);
  // DISCONNECT (may come twice for a persistent session, or for a connection never accepted).
  void Disconnect(const void* connection);
  // Disconnects the clients whose SAS token has expired by `now` (its `se` plus kSasClockSkew),
  // as IoT Hub does: each is logged at warn and counted (edge_hub_clients_kicked_total), once.
  // Cheap when none is due; call it from TICK.
  void DisconnectExpired(absl::Time now);

  // ACL_CHECK: SUBSCRIBE only to the client's own §2 filters; WRITE passes (CheckPublish decides,
  // so that a refusal is a disconnect rather than a silent PUBACK); READ never (every delivery is a
  // targeted publish); UNSUBSCRIBE always. Unknown connections get nothing.
  bool AllowAccess(const void* connection, absl::string_view topic, AclAccess access);

  // MESSAGE: the topic must be one of §2's client topics naming this client, QoS at most 1, and
  // body plus properties at most 256 KiB. Refusals are logged and counted
  // (edge_hub_publish_refused_total{reason}). An accepted topic goes to `accepted` when given.
  PublishVerdict CheckPublish(const void* connection, absl::string_view topic,
                              absl::string_view payload, int qos, ClientTopic* accepted = nullptr);

  const ClientState* Find(const void* connection) const;
  // Every connected client (unordered).
  std::vector<const ClientState*> Clients() const;
  // True when `client_id` disconnected with a persistent session (clean session off) and has not
  // come back: the broker keeps its session, and what is published to it waits there.
  bool HasOfflineSession(const std::string& client_id) const {
    return offline_sessions_.contains(client_id);
  }
  // The connection of the client authenticated as `identity` ("device/module"); nullptr if none.
  const ClientState* FindIdentity(absl::string_view identity) const;

  // Module ids (without the device id) of `device`'s present modules, sorted.
  std::vector<std::string> PresentModules(absl::string_view device) const;
  // The client ids authenticated since the last call, in order.
  std::vector<std::string> TakeNewlyConnected() { return std::exchange(newly_connected_, {}); }
  // True once after presence may have changed (a connection, a disconnection, a subscription).
  bool TakePresenceChanged() { return std::exchange(presence_changed_, false); }
  // Marks present the module connections whose restored sessions have subscriptions (the broker
  // restores them after authentication, without a SUBSCRIBE). Cheap; call it from TICK.
  void RefreshRestoredSubscriptions();
  size_t connected() const { return clients_.size(); }

 private:
  PublishVerdict Refuse(const ClientState& client, absl::string_view reason,
                        absl::string_view topic, absl::string_view detail);

  BrokerApi* const broker_;
  std::shared_ptr<const IdentityTable> identities_;
  absl::flat_hash_map<const void*, ClientState> clients_;
  // Identity → its newest connection (a session takeover authenticates the new connection before
  // the old one's DISCONNECT).
  absl::flat_hash_map<std::string, const void*> by_identity_;
  absl::flat_hash_set<std::string> offline_sessions_;  // client ids
  std::vector<std::string> newly_connected_;           // client ids
  bool presence_changed_ = false;
  // The earliest valid_until of the connected clients (a lower bound: disconnections do not
  // raise it), so that DisconnectExpired is one comparison on most ticks.
  absl::Time next_expiry_ = absl::InfiniteFuture();
  bool restored_unchecked_ = false;  // a module connected since the last refresh
  CounterFamily<1>& auth_refused_;
  CounterFamily<1>& publish_refused_;
  Counter& subscribe_refused_;
  Counter& kicked_;
  Gauge& connected_;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_CLIENT_GATE_H_
