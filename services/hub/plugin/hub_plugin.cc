#include "services/hub/plugin/hub_plugin.h"

#include <signal.h>
#include <unistd.h>

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/edge_home.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "services/hub/plugin/hub_grpc_service.h"
#include "services/hub/plugin/ingest_message.h"

namespace edge::hub {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(2);
// C2D messages kept for one offline device at most (IoT Hub's per-device queue holds 50).
constexpr size_t kMaxOfflineC2d = 50;

std::string RandomHex(size_t bytes) {
  std::random_device random;
  std::string raw;
  for (size_t i = 0; i < bytes; ++i) raw.push_back(static_cast<char>(random() & 0xff));
  return absl::BytesToHexString(raw);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Blocks the signals the broker handles in the calling thread for this object's life, so that the
// threads started meanwhile (gRPC's, which start more of their own) never take them.
class BrokerSignalsBlocked {
 public:
  BrokerSignalsBlocked() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE}) {
      sigaddset(&signals, signal);
    }
    ::pthread_sigmask(SIG_BLOCK, &signals, &previous_);
  }
  ~BrokerSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

}  // namespace

absl::StatusOr<PluginOptions> PluginOptions::Parse(
    const std::vector<std::pair<std::string, std::string>>& options) {
  PluginOptions parsed;
  for (const auto& [key, value] : options) {
    if (key == "edge_home") {
      parsed.edge_home = value;
    } else if (key == "grpc_listen") {
      parsed.grpc_listen = value;
    } else if (key == "wake_socket") {
      parsed.wake_socket = value;
    } else if (key == "plain_port") {
      if (!absl::SimpleAtoi(value, &parsed.plain_port) || parsed.plain_port < 0 ||
          parsed.plain_port > 65535) {
        return absl::InvalidArgumentError(
            absl::StrCat("plugin_opt_plain_port: \"", value, "\" is not a port"));
      }
    } else if (key == "sas_listener") {
      parsed.sas_listener = value;
    } else if (key == "x509_listener") {
      parsed.x509_listener = value;
    } else if (key == "store") {
      parsed.store_target = value;
    } else if (key == "router") {
      parsed.router_target = value;
    } else if (key == "device_id") {
      parsed.device_id = value;
    } else if (key == "journal_max_bytes") {
      if (!absl::SimpleAtoi(value, &parsed.journal_max_bytes) || parsed.journal_max_bytes == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("plugin_opt_journal_max_bytes: \"", value, "\" is not a positive size"));
      }
    } else if (key == "log_level") {
      parsed.log_level = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("plugin_opt_", key, ": unknown option"));
    }
  }
  if (parsed.edge_home.empty()) return absl::InvalidArgumentError("plugin_opt_edge_home: missing");
  if (parsed.wake_socket.empty()) {
    return absl::InvalidArgumentError("plugin_opt_wake_socket: missing");
  }
  if (parsed.grpc_listen.empty()) parsed.grpc_listen = "unix";
  if (!parsed.router_target.empty() && parsed.device_id.empty()) {
    return absl::InvalidArgumentError(
        "plugin_opt_device_id: missing (needed with plugin_opt_router)");
  }
  return parsed;
}

HubPlugin::HubPlugin(PluginOptions options, BrokerApi* broker)
    : options_(std::move(options)),
      broker_(broker),
      instance_id_(RandomHex(16)),
      wake_password_(RandomHex(32)),
      started_at_(absl::Now()),
      wake_failures_(metrics_.AddCounter(
          "edge_hub_wake_failures_total",
          "Wake-ups that could not reach the broker's wake listener (TICK then waits up to 100 "
          "ms).")),
      queue_(SystemClock::Get()),
      wake_(options_.wake_socket, absl::StrCat("$edge-hub-wake-", instance_id_), wake_password_),
      gate_(broker, metrics_),
      methods_(broker),
      ingest_refused_(metrics_.AddCounterFamily<1>(
          "edge_hub_ingest_refused_total",
          "Publishes the ingest journal could not take (the client was disconnected without a "
          "PUBACK; twin change notifications: dropped), by reason: journal_full, write_error, "
          "twin_notification.",
          {"reason"})),
      ingested_(
          metrics_.AddCounter("edge_hub_ingested_messages_total",
                              "Telemetry and module messages written to the ingest journal.")),
      twin_requests_(metrics_.AddCounter("edge_hub_twin_requests_total",
                                         "Twin GET and reported PATCH requests from clients.")),
      desired_pushed_(
          metrics_.AddCounter("edge_hub_desired_pushes_total",
                              "Desired-property changes pushed to subscribed clients.")),
      delivered_(metrics_.AddCounter("edge_hub_delivered_messages_total",
                                     "Module-input deliveries handed to the broker.")),
      not_delivered_(metrics_.AddCounterFamily<1>(
          "edge_hub_undelivered_messages_total",
          "Module-input deliveries answered 'not delivered', by reason: not_connected, "
          "not_subscribed, bad_topic, broker_refused.",
          {"reason"})) {}

HubPlugin::~HubPlugin() { Stop(); }

absl::StatusOr<std::unique_ptr<HubPlugin>> HubPlugin::Start(PluginOptions options,
                                                            BrokerApi* broker) {
  RETURN_IF_ERROR(InitLogging("hub", options.log_level));
  ASSIGN_OR_RETURN(ListenAddress address,
                   ParseListen(options.grpc_listen, options.edge_home, "hub"));
  std::unique_ptr<HubPlugin> plugin(new HubPlugin(std::move(options), broker));
  plugin->grpc_service_ = std::make_unique<HubGrpcService>(plugin.get());
  plugin->runner_ = std::make_unique<ServiceRunner>("hub", address, kShutdownGrace);
  plugin->runner_->SetMetrics(&plugin->metrics_, MetricsHttpOptions{});
  // Serving from the first TICK: mosquitto opens its listeners and installs its signal handlers
  // after the plugin initialised, before its main loop runs TICK.
  plugin->runner_->set_serving_on_start(false);
  {
    BrokerSignalsBlocked blocked;
    RETURN_IF_ERROR(plugin->runner_->Start({plugin->grpc_service_.get()}));
    if (!plugin->options_.store_target.empty()) {
      HubPlugin* self = plugin.get();
      std::shared_ptr<grpc::Channel> store = LocalServiceChannel(self->options_.store_target);
      plugin->identity_watcher_ = std::make_unique<IdentityWatcher>(
          store, DataDir(self->options_.edge_home) / "hub-identities.cache",
          [self](std::shared_ptr<const IdentityTable> table) {
            self->RunOnBroker([self, table = std::move(table)](absl::Duration) {
              self->gate_.SetIdentities(table);
            });
          },
          [self](const store::v1::Change& change) {
            self->RunOnBroker([self, change](absl::Duration) { self->PushDesired(change); });
          });
      plugin->twins_ = std::make_unique<TwinRequests>(store, [self](TwinAnswer answer) {
        auto shared = std::make_shared<TwinAnswer>(std::move(answer));
        self->RunOnBroker([self, shared](absl::Duration) { self->AnswerTwin(*shared); });
      });
      plugin->identity_watcher_->Start();
    }
    if (!plugin->options_.router_target.empty()) RETURN_IF_ERROR(plugin->StartMessagePath());
  }
  spdlog::info("hub plugin started (instance {}, broker pid {})", plugin->instance_id_, ::getpid());
  return plugin;
}

absl::Status HubPlugin::StartMessagePath() {
  ASSIGN_OR_RETURN(journal_,
                   IngestJournal::Open({.dir = DataDir(options_.edge_home) / "hub-journal",
                                        .max_bytes = options_.journal_max_bytes}));
  const IngestJournal::Recovery& recovery = journal_->recovery();
  spdlog::info("hub journal {}: {} unacknowledged messages to send again{}", journal_->id(),
               recovery.replayed,
               recovery.dropped_bytes == 0
                   ? ""
                   : absl::StrCat(" (", recovery.dropped_bytes, " torn bytes dropped)"));
  Gauge& pending_bytes = metrics_.AddGauge("edge_hub_journal_pending_bytes",
                                           "Ingest journal bytes the router has not acknowledged.");
  Gauge& pending_messages = metrics_.AddGauge("edge_hub_journal_pending_messages",
                                              "Ingest journal messages not acknowledged yet.");
  journal_gauges_ = metrics_.AddCollectHook([this, &pending_bytes, &pending_messages] {
    pending_bytes.Set(static_cast<double>(journal_->pending_bytes()));
    pending_messages.Set(static_cast<double>(journal_->pending_entries()));
  });
  std::shared_ptr<grpc::Channel> router = LocalServiceChannel(options_.router_target);
  streamer_ =
      std::make_unique<IngestStreamer>(router, journal_.get(), IngestStreamer::Options{}, metrics_);
  attach_ = std::make_unique<AttachLink>(
      router, instance_id_,
      [this](std::vector<router::v1::Delivery> batch, uint64_t session) {
        auto shared = std::make_shared<std::vector<router::v1::Delivery>>(std::move(batch));
        RunOnBroker([this, shared, session](absl::Duration) {
          for (const router::v1::Delivery& delivery : *shared) Deliver(delivery, session);
        });
      },
      metrics_);
  streamer_->Start();
  attach_->Start();
  return absl::OkStatus();
}

void HubPlugin::OnTick() {
  if (ticks_.fetch_add(1, std::memory_order_relaxed) == 0) runner_->SetServing(true);
  queue_.Drain();
  const absl::Time now = absl::Now();
  if (methods_.pending() > 0) methods_.ExpireOverdue(now);
  gate_.DisconnectExpired(now);
  for (const std::string& client_id : gate_.TakeNewlyConnected()) {
    auto waiting = offline_c2d_.find(client_id);
    if (waiting == offline_c2d_.end()) continue;
    for (const auto& [topic, body] : waiting->second) {
      broker_->Publish(client_id, topic, body, /*qos=*/1);
    }
    spdlog::info("hub: {} C2D messages kept while \"{}\" was offline sent", waiting->second.size(),
                 client_id);
    offline_c2d_.erase(waiting);
  }
  if (attach_ != nullptr) {
    gate_.RefreshRestoredSubscriptions();
    if (gate_.TakePresenceChanged()) attach_->SetPresence(gate_.PresentModules(options_.device_id));
  }
}

bool HubPlugin::OnBasicAuth(const void* connection, const ConnectAttempt& attempt) {
  if (attempt.username == WakeClient::kUsername && !attempt.certificate_cn.has_value() &&
      ConstantTimeEquals(attempt.password, wake_password_)) {
    return true;
  }
  return gate_.Connect(connection, attempt);
}

bool HubPlugin::OnAclCheck(const void* connection, absl::string_view topic, AclAccess access) {
  return gate_.AllowAccess(connection, topic, access);
}

PublishVerdict HubPlugin::OnMessage(const void* connection, absl::string_view topic,
                                    absl::string_view payload, int qos) {
  ClientTopic accepted;
  if (gate_.CheckPublish(connection, topic, payload, qos, &accepted) != PublishVerdict::kAccept) {
    return PublishVerdict::kDisconnect;
  }
  const ClientState& client = *gate_.Find(connection);
  switch (accepted.kind) {
    case ClientTopicKind::kDeviceTelemetry:
    case ClientTopicKind::kModuleMessage:
      return journal_ == nullptr ? PublishVerdict::kAccept : Ingest(client, accepted, payload);
    case ClientTopicKind::kTwinGet:
      if (twins_ != nullptr) {
        twin_requests_.Increment();
        twins_->Get(client.client_id, client.identity.ToString(), accepted.request_id);
      }
      return PublishVerdict::kAccept;
    case ClientTopicKind::kTwinReportedPatch:
      if (twins_ != nullptr) {
        twin_requests_.Increment();
        twins_->PatchReported(client.client_id, client.identity.ToString(), accepted.request_id,
                              std::string(payload));
      }
      return PublishVerdict::kAccept;
    case ClientTopicKind::kMethodResponse:
      if (!methods_.Answer(client, accepted.request_id, accepted.status, std::string(payload))) {
        spdlog::info("hub: client \"{}\" answered method request {}, which no call waits for",
                     client.client_id, accepted.request_id);
      }
      return PublishVerdict::kAccept;
  }
  return PublishVerdict::kAccept;
}

absl::StatusOr<uint64_t> HubPlugin::Journal(const common::v1::Message& message) {
  if (journal_ == nullptr) return absl::FailedPreconditionError("no router configured");
  return journal_->Append(message);
}

std::string HubPlugin::NextEdgeMessageId() {
  return absl::StrCat(instance_id_.substr(0, 12), "-", ++messages_accepted_);
}

void HubPlugin::AnswerTwin(const TwinAnswer& answer) {
  if (!broker_->Publish(answer.client_id, answer.topic, answer.body, kIotHubQos)) {
    spdlog::warn("hub: the broker refused the twin answer to \"{}\"", answer.client_id);
  }
  if (!answer.patched_version.has_value()) return;
  absl::StatusOr<IdentityId> identity = IdentityId::Parse(answer.twin_id);
  if (!identity.ok()) return;
  absl::StatusOr<uint64_t> journaled = Journal(TwinChangeNotification(
      *identity, answer.patch_json, *answer.patched_version, absl::Now(), NextEdgeMessageId()));
  if (!journaled.ok() && journal_ != nullptr) {
    ingest_refused_.WithLabels({"twin_notification"}).Increment();
    spdlog::warn("hub: the twin change notification of {} version {} is dropped: {}",
                 answer.twin_id, *answer.patched_version, journaled.status().message());
  }
}

void HubPlugin::PushDesired(const store::v1::Change& change) {
  const ClientState* client = gate_.FindIdentity(change.id());
  if (client == nullptr || !client->desired_subscribed) return;
  auto [topic, body] = DesiredPush(change);
  if (broker_->Publish(client->client_id, topic, body, kIotHubQos)) desired_pushed_.Increment();
}

PublishVerdict HubPlugin::Ingest(const ClientState& client, const ClientTopic& topic,
                                 absl::string_view payload) {
  absl::StatusOr<uint64_t> sequence =
      Journal(IngestMessage(client, topic, payload, absl::Now(), NextEdgeMessageId()));
  if (sequence.ok()) {
    ingested_.Increment();
    return PublishVerdict::kAccept;
  }
  const bool full = absl::IsResourceExhausted(sequence.status());
  ingest_refused_.WithLabels({full ? "journal_full" : "write_error"}).Increment();
  spdlog::warn("hub: disconnecting client \"{}\" without a PUBACK: {}", client.client_id,
               sequence.status().message());
  return PublishVerdict::kDisconnect;
}

void HubPlugin::Deliver(const router::v1::Delivery& delivery, uint64_t session) {
  const auto fail = [&](absl::string_view reason, std::string why) {
    not_delivered_.WithLabels({reason}).Increment();
    attach_->Result(session, delivery.delivery_id(), false, std::move(why));
  };
  const std::string identity = absl::StrCat(options_.device_id, "/", delivery.module());
  const ClientState* client = gate_.FindIdentity(identity);
  if (client == nullptr) return fail("not_connected", absl::StrCat(identity, " is not connected"));
  if (!client->inputs_subscribed) {
    return fail("not_subscribed", absl::StrCat(identity, " has not subscribed to its inputs"));
  }
  absl::StatusOr<std::string> topic =
      ModuleInputDeliveryTopic(client->identity, delivery.input(), delivery.message());
  if (!topic.ok()) return fail("bad_topic", std::string(topic.status().message()));
  if (!broker_->Publish(client->client_id, *topic, delivery.message().body(), /*qos=*/1)) {
    return fail("broker_refused", absl::StrCat("the broker refused the publish to ", identity));
  }
  delivered_.Increment();
  attach_->Result(session, delivery.delivery_id(), true, "");
}

void HubPlugin::OnDisconnect(const void* connection) { gate_.Disconnect(connection); }

void HubPlugin::InvokeMethod(MethodCall call,
                             std::function<void(absl::StatusOr<MethodResult>)> done) {
  auto task = [this, call = std::move(call), done](absl::Duration) mutable {
    const ClientState* client = gate_.FindIdentity(call.target);
    methods_.Invoke(client, std::move(call), absl::Now(), done);
  };
  if (!RunOnBroker(std::move(task))) done(absl::UnavailableError("the hub is shutting down"));
}

void HubPlugin::SendC2D(std::string device, std::string body, MessageProperties properties,
                        std::function<void(absl::StatusOr<bool>)> done) {
  auto task = [this, device = std::move(device), body = std::move(body),
               properties = std::move(properties), done](absl::Duration) {
    absl::StatusOr<IdentityId> id = IdentityId::Parse(device);
    if (!id.ok() || id->is_module()) {
      return done(absl::InvalidArgumentError(
          absl::StrCat("device: \"", device, "\" is not a device id (C2D goes to devices)")));
    }
    // Encoding drops the system properties §2 does not know: name them instead of losing them.
    const std::string bag = EncodeProperties(properties);
    absl::StatusOr<MessageProperties> encoded = DecodeProperties(bag);
    for (const auto& [name, value] : properties.system) {
      if (encoded.ok() && !encoded->system.contains(name)) {
        return done(absl::InvalidArgumentError(
            absl::StrCat("system property \"", name, "\" is not one IoT Hub knows")));
      }
    }
    if (const size_t size = MessageSize(body, properties); size > kMaxMessageBytes) {
      return done(absl::InvalidArgumentError(
          absl::StrCat(size, " bytes of body and properties; the limit is ", kMaxMessageBytes)));
    }
    std::string topic = CloudToDeviceTopic(device, properties);
    if (gate_.FindIdentity(device) != nullptr) {
      if (!broker_->Publish(device, topic, body, /*qos=*/1)) {
        return done(absl::UnavailableError("the broker refused the message"));
      }
      return done(false);
    }
    if (!gate_.HasOfflineSession(device)) {
      return done(absl::NotFoundError(absl::StrCat(
          "device ", device, " is not connected and has no persistent session; not sent")));
    }
    // Kept by the hub and published when the device is back: handed to mosquitto 2.0.11 for the
    // offline session, the message never reached the device when it reconnected (tested).
    auto& waiting = offline_c2d_[device];
    if (waiting.size() >= kMaxOfflineC2d) {
      return done(absl::ResourceExhaustedError(absl::StrCat(
          "device ", device, " already has ", kMaxOfflineC2d, " messages waiting; not sent")));
    }
    waiting.emplace_back(std::move(topic), body);
    done(true);
  };
  if (!RunOnBroker(std::move(task))) done(absl::UnavailableError("the hub is shutting down"));
}

void HubPlugin::ListClients(std::function<void(absl::StatusOr<std::vector<ClientState>>)> done) {
  auto task = [this, done](absl::Duration) {
    std::vector<ClientState> clients;
    for (const ClientState* client : gate_.Clients()) clients.push_back(*client);
    done(std::move(clients));
  };
  if (!RunOnBroker(std::move(task))) done(absl::UnavailableError("the hub is shutting down"));
}

void HubPlugin::DisconnectClient(std::string client_id, std::function<void(absl::Status)> done) {
  auto task = [this, client_id = std::move(client_id), done](absl::Duration) {
    for (const ClientState* client : gate_.Clients()) {
      if (client->client_id == client_id) {
        spdlog::info("hub: disconnecting client \"{}\" on request", client_id);
        broker_->KickClient(client_id);
        return done(absl::OkStatus());
      }
    }
    done(absl::NotFoundError(absl::StrCat("no client \"", client_id, "\" is connected")));
  };
  if (!RunOnBroker(std::move(task))) done(absl::UnavailableError("the hub is shutting down"));
}

void HubPlugin::QueryStatus(std::function<void(absl::StatusOr<HubStatus>)> done) {
  auto task = [this, done](absl::Duration queued_for) {
    HubStatus status;
    status.instance_id = instance_id_;
    status.broker_pid = ::getpid();
    status.listeners.emplace_back("wake", absl::StrCat("unix:", options_.wake_socket.string()));
    if (!options_.sas_listener.empty()) status.listeners.emplace_back("sas", options_.sas_listener);
    if (!options_.x509_listener.empty()) {
      status.listeners.emplace_back("x509", options_.x509_listener);
    }
    if (options_.plain_port != 0) {
      status.listeners.emplace_back("plain", absl::StrCat("127.0.0.1:", options_.plain_port));
    }
    status.connected_clients = static_cast<int64_t>(gate_.connected());
    status.uptime = absl::Now() - started_at_;
    status.last_wake_latency_us = absl::ToInt64Microseconds(queued_for);
    status.ticks = ticks_.load(std::memory_order_relaxed);
    done(std::move(status));
  };
  if (!RunOnBroker(std::move(task))) done(absl::UnavailableError("the hub is shutting down"));
}

bool HubPlugin::RunOnBroker(BrokerWorkQueue::Task task) {
  switch (queue_.Post(std::move(task))) {
    case BrokerWorkQueue::PostResult::kClosed:
      return false;
    case BrokerWorkQueue::PostResult::kQueued:
      return true;
    case BrokerWorkQueue::PostResult::kFirst:
      break;
  }
  if (absl::Status woken = wake_.Wake(); !woken.ok()) {
    wake_failures_.Increment();
    spdlog::warn("hub: {}; queued work waits for the next TICK", woken.message());
  }
  return true;
}

void HubPlugin::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // The watcher, the twin calls and the Attach link post to the queue: stopped first, so nothing
  // arrives after it closed.
  if (identity_watcher_ != nullptr) identity_watcher_->Stop();
  twins_.reset();
  if (attach_ != nullptr) attach_->Stop();
  queue_.RunAndClose();
  methods_.AbandonAll();  // after the queue: no Invoke can come after it
  if (streamer_ != nullptr) streamer_->Stop();
  journal_gauges_.Reset();
  if (journal_ != nullptr) journal_->Close();
  if (runner_ != nullptr) runner_->Shutdown();
  wake_.Close();
  spdlog::info("hub plugin stopped");
}

}  // namespace edge::hub
