#include "services/hub/plugin/client_gate.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/iothub_topic.h"
#include "common/logging.h"
#include "common/sas.h"

namespace edge::hub {

ClientGate::ClientGate(BrokerApi* broker, MetricsRegistry& metrics)
    : broker_(broker),
      auth_refused_(metrics.AddCounterFamily<1>(
          "edge_hub_auth_refused_total", "MQTT connections refused, by reason.", {"reason"})),
      publish_refused_(metrics.AddCounterFamily<1>(
          "edge_hub_publish_refused_total",
          "Publishes refused by disconnecting the client (no PUBACK), by reason.", {"reason"})),
      subscribe_refused_(metrics.AddCounter(
          "edge_hub_subscribe_refused_total",
          "SUBSCRIBE filters refused: another identity's topics, wildcards, $SYS, others.")),
      kicked_(metrics.AddCounter(
          "edge_hub_clients_kicked_total",
          "Clients disconnected because their identity was deleted, disabled or changed type, or "
          "their SAS token expired.")),
      connected_(
          metrics.AddGauge("edge_hub_connected_clients", "Authenticated MQTT connections.")) {}

void ClientGate::SetIdentities(std::shared_ptr<const IdentityTable> identities) {
  identities_ = std::move(identities);
  std::vector<std::pair<std::string, std::string>> kicks;  // client id, why
  for (const auto& [connection, client] : clients_) {
    auto found = identities_->find(client.identity.ToString());
    if (found == identities_->end()) {
      kicks.emplace_back(client.client_id, "its identity was deleted");
    } else if (!found->second.enabled) {
      kicks.emplace_back(client.client_id, "its identity was disabled");
    } else if (found->second.x509 != (client.method == AuthMethod::kX509)) {
      kicks.emplace_back(client.client_id, "its identity's authentication type changed");
    }
  }
  for (const auto& [client_id, why] : kicks) {
    spdlog::warn("hub: disconnecting client \"{}\": {}", client_id, why);
    kicked_.Increment();
    broker_->KickClient(client_id);
  }
}

bool ClientGate::Connect(const void* connection, const ConnectAttempt& attempt) {
  AuthResult result = Authenticate(identities_.get(), attempt);
  if (!result.ok()) {
    auth_refused_.WithLabels({AuthFailureLabel(result.failure)}).Increment();
    spdlog::warn("hub: refusing client \"{}\" (username \"{}\"): {}: {}", attempt.client_id,
                 attempt.username, AuthFailureLabel(result.failure), result.reason);
    return false;
  }
  auto [entry, inserted] =
      clients_.insert_or_assign(connection, ClientState{.client_id = std::string(attempt.client_id),
                                                        .identity = *std::move(result.identity),
                                                        .method = result.method,
                                                        .connected_at = attempt.now,
                                                        .valid_until = result.valid_until});
  ClientState& client = entry->second;
  next_expiry_ = std::min(next_expiry_, client.valid_until);
  client.protocol_version = broker_->ProtocolVersion(connection);
  client.clean_session = broker_->CleanSession(connection);
  offline_sessions_.erase(client.client_id);
  newly_connected_.push_back(client.client_id);
  by_identity_.insert_or_assign(client.identity.ToString(), connection);
  if (client.identity.is_module()) {
    presence_changed_ = true;
    restored_unchecked_ = true;
  }
  connected_.Set(static_cast<double>(clients_.size()));
  spdlog::info("hub: client \"{}\" connected ({})", client.client_id,
               AuthMethodName(client.method));
  return true;
}

void ClientGate::Disconnect(const void* connection) {
  auto found = clients_.find(connection);
  if (found == clients_.end()) return;
  spdlog::info("hub: client \"{}\" disconnected", found->second.client_id);
  auto by_identity = by_identity_.find(found->second.identity.ToString());
  const bool newest = by_identity != by_identity_.end() && by_identity->second == connection;
  if (newest) by_identity_.erase(by_identity);
  if (found->second.identity.is_module()) presence_changed_ = true;
  // A takeover's old connection must not mark the client offline: the new one is connected.
  if (!found->second.clean_session && newest) {
    offline_sessions_.insert(found->second.client_id);
  }
  clients_.erase(found);
  connected_.Set(static_cast<double>(clients_.size()));
}

void ClientGate::DisconnectExpired(absl::Time now) {
  if (now <= next_expiry_) return;
  next_expiry_ = absl::InfiniteFuture();
  // Kicked after the loop: a kick runs the client's DISCONNECT, which erases it from clients_.
  std::vector<std::pair<std::string, absl::Time>> expired;  // client id, its token's `se`
  for (auto& [connection, client] : clients_) {
    if (client.valid_until >= now) {  // as ValidateSasToken: valid through se + skew
      next_expiry_ = std::min(next_expiry_, client.valid_until);
      continue;
    }
    expired.emplace_back(client.client_id, client.valid_until - kSasClockSkew);
    client.valid_until = absl::InfiniteFuture();  // once, should its DISCONNECT come later
  }
  for (const auto& [client_id, se] : expired) {
    spdlog::warn(
        "hub: disconnecting client \"{}\": its SAS token expired at {} (se plus {} of skew)",
        client_id, absl::FormatTime(absl::RFC3339_sec, se, absl::UTCTimeZone()),
        absl::FormatDuration(kSasClockSkew));
    kicked_.Increment();
    broker_->KickClient(client_id);
  }
}

const ClientState* ClientGate::Find(const void* connection) const {
  auto found = clients_.find(connection);
  return found == clients_.end() ? nullptr : &found->second;
}

std::vector<const ClientState*> ClientGate::Clients() const {
  std::vector<const ClientState*> clients;
  clients.reserve(clients_.size());
  for (const auto& [connection, client] : clients_) clients.push_back(&client);
  return clients;
}

const ClientState* ClientGate::FindIdentity(absl::string_view identity) const {
  auto found = by_identity_.find(identity);
  return found == by_identity_.end() ? nullptr : Find(found->second);
}

std::vector<std::string> ClientGate::PresentModules(absl::string_view device) const {
  std::vector<std::string> modules;
  for (const auto& [identity, connection] : by_identity_) {
    const ClientState* client = Find(connection);
    if (client != nullptr && client->inputs_subscribed && client->identity.device() == device) {
      modules.push_back(client->identity.module());
    }
  }
  std::sort(modules.begin(), modules.end());
  return modules;
}

void ClientGate::RefreshRestoredSubscriptions() {
  if (!restored_unchecked_) return;
  restored_unchecked_ = false;
  for (auto& [connection, client] : clients_) {
    if (client.identity.is_module() && !client.inputs_subscribed &&
        broker_->SubscriptionCount(connection) > 0) {
      client.inputs_subscribed = true;
      presence_changed_ = true;
    }
  }
}

bool ClientGate::AllowAccess(const void* connection, absl::string_view topic, AclAccess access) {
  auto found = clients_.find(connection);
  if (found == clients_.end()) return false;
  ClientState* client = &found->second;
  switch (access) {
    case AclAccess::kRead:
      return false;
    case AclAccess::kWrite:
      return true;
    case AclAccess::kUnsubscribe:
      std::erase(client->subscriptions, std::string(topic));
      return true;
    case AclAccess::kSubscribe:
      if (IsAllowedSubscription(client->identity, topic)) {
        if (std::find(client->subscriptions.begin(), client->subscriptions.end(), topic) ==
            client->subscriptions.end()) {
          client->subscriptions.emplace_back(topic);
        }
        // Both module filters §2 allows other than $iothub/... cover the module's inputs.
        if (topic == "$iothub/twin/PATCH/properties/desired/#") {
          client->desired_subscribed = true;
        } else if (topic == "$iothub/methods/POST/#") {
          client->methods_subscribed = true;
        } else if (client->identity.is_module() && !absl::StartsWith(topic, "$iothub/") &&
                   !client->inputs_subscribed) {
          client->inputs_subscribed = true;
          presence_changed_ = true;
        }
        return true;
      }
      subscribe_refused_.Increment();
      spdlog::warn("hub: client \"{}\" may not subscribe to \"{}\"", client->client_id, topic);
      return false;
  }
  return false;
}

PublishVerdict ClientGate::CheckPublish(const void* connection, absl::string_view topic,
                                        absl::string_view payload, int qos, ClientTopic* accepted) {
  const ClientState* client = Find(connection);
  if (client == nullptr) {
    publish_refused_.WithLabels({"unknown_connection"}).Increment();
    spdlog::warn("hub: publish to \"{}\" from a connection the hub did not authenticate", topic);
    return PublishVerdict::kDisconnect;
  }
  if (qos > 1) {
    return Refuse(*client, "qos", topic, "QoS 2 is not supported (IoT Hub has QoS 0 and 1)");
  }
  absl::StatusOr<ClientTopic> parsed = ParseClientTopicFor(topic, client->identity);
  if (!parsed.ok()) return Refuse(*client, "topic", topic, parsed.status().message());
  const size_t size = MessageSize(payload, parsed->properties);
  if (size > kMaxMessageBytes) {
    return Refuse(
        *client, "size", topic,
        absl::StrCat(size, " bytes of body and properties; the limit is ", kMaxMessageBytes));
  }
  if (accepted != nullptr) *accepted = *std::move(parsed);
  return PublishVerdict::kAccept;
}

PublishVerdict ClientGate::Refuse(const ClientState& client, absl::string_view reason,
                                  absl::string_view topic, absl::string_view detail) {
  publish_refused_.WithLabels({reason}).Increment();
  spdlog::warn("hub: disconnecting client \"{}\" for its publish to \"{}\": {}", client.client_id,
               topic, detail);
  return PublishVerdict::kDisconnect;
}

}  // namespace edge::hub
