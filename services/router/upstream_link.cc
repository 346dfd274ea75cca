#include "services/router/upstream_link.h"

#include <mosquitto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/sas.h"
#include "common/status_macros.h"

namespace edge::router {
namespace {

// The token is renewed once this fraction of its lifetime has passed.
constexpr double kRenewAtLifetimeFraction = 0.8;
// mosquitto_loop's wait when nothing happens; bounds how late a stop or a renewal is noticed.
constexpr int kLoopTimeoutMs = 100;

absl::Status CheckReadable(const std::string& path, absl::string_view key) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream file(path);
  if (!file.good()) {
    return absl::InvalidArgumentError(absl::StrCat("router.", key, ": cannot read ", path));
  }
  return absl::OkStatus();
}

// Equal jitter: each pause somewhere in [delay/2, delay].
constexpr double kJitterSpread = 0.5;

std::string LibraryError(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

void InitLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

absl::StatusOr<std::optional<UpstreamLinkOptions>> UpstreamLinkOptions::FromConfig(
    const DeviceConfig& device, ConfigSection& router) {
  UpstreamLinkOptions options;
  ASSIGN_OR_RETURN(int64_t port, router.GetInt("upstream_port", kMqttTlsPort, 1, 65535));
  options.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(options.plain, router.GetBool("upstream_plain", false));
  ASSIGN_OR_RETURN(options.ca_file, router.GetString("upstream_ca_file", ""));
  ASSIGN_OR_RETURN(options.cert_file, router.GetString("upstream_cert_file", ""));
  ASSIGN_OR_RETURN(options.key_file, router.GetString("upstream_key_file", ""));
  ASSIGN_OR_RETURN(int64_t keep_alive, router.GetInt("upstream_keep_alive_seconds", 60, 5, 65535));
  options.keep_alive = absl::Seconds(keep_alive);
  ASSIGN_OR_RETURN(options.sas_lifetime, router.GetSeconds("upstream_sas_lifetime_seconds",
                                                           absl::Hours(1), absl::Seconds(2)));
  ASSIGN_OR_RETURN(options.retry.initial,
                   router.GetSeconds("upstream_retry_initial_seconds", absl::Seconds(1),
                                     absl::Milliseconds(10)));
  ASSIGN_OR_RETURN(options.retry.max, router.GetSeconds("upstream_retry_max_seconds",
                                                        absl::Seconds(60), absl::Milliseconds(10)));
  if (options.retry.max < options.retry.initial) {
    return absl::InvalidArgumentError(
        "router.upstream_retry_max_seconds: must not be below "
        "router.upstream_retry_initial_seconds");
  }
  ASSIGN_OR_RETURN(options.connect_timeout,
                   router.GetSeconds("upstream_connect_timeout_seconds", absl::Seconds(10),
                                     absl::Milliseconds(100)));
  if (!device.upstream.has_value()) return std::optional<UpstreamLinkOptions>();

  const DeviceConnectionString& upstream = *device.upstream;
  options.hub_host_name = upstream.host_name;
  options.host =
      upstream.gateway_host_name.empty() ? upstream.host_name : upstream.gateway_host_name;
  options.device_id = upstream.device_id;
  options.shared_access_key = upstream.shared_access_key;
  if (!options.shared_access_key.empty()) {
    absl::Status key = ValidateSymmetricKey(options.shared_access_key);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("device.connection_string: SharedAccessKey: ", key.message()));
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "router.upstream_cert_file: upstream_cert_file and upstream_key_file go together");
  }
  if (options.shared_access_key.empty() && options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        "device.connection_string: no SharedAccessKey, and no router.upstream_cert_file for an "
        "X.509 identity");
  }
  if (options.plain && !options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        "router.upstream_plain: an X.509 client certificate needs TLS");
  }
  RETURN_IF_ERROR(CheckReadable(options.ca_file, "upstream_ca_file"));
  RETURN_IF_ERROR(CheckReadable(options.cert_file, "upstream_cert_file"));
  RETURN_IF_ERROR(CheckReadable(options.key_file, "upstream_key_file"));
  return std::optional<UpstreamLinkOptions>(std::move(options));
}

std::string UpstreamTopic(const std::string& device_id, const common::v1::Message& message,
                          MessageProperties* properties_out) {
  MessageProperties properties;
  for (const auto& [name, value] : message.system_properties()) properties.system[name] = value;
  for (const auto& [key, value] : message.application_properties()) {
    properties.application[key] = value;
  }
  const common::v1::Source& source = message.source();
  properties.system["connectionDeviceId"] = source.device_id();
  properties.application[kOriginDeviceProperty] = source.device_id();
  properties.application.erase(kOriginModuleProperty);
  properties.application.erase(kOriginOutputProperty);
  properties.system.erase("connectionModuleId");
  if (!source.module_id().empty()) {
    properties.system["connectionModuleId"] = source.module_id();
    properties.application[kOriginModuleProperty] = source.module_id();
  }
  if (!source.output_name().empty()) {
    properties.application[kOriginOutputProperty] = source.output_name();
  }
  std::string topic =
      absl::StrCat("devices/", device_id, "/messages/events/", EncodeProperties(properties));
  if (properties_out != nullptr) *properties_out = std::move(properties);
  return topic;
}

UpstreamLink::UpstreamLink(UpstreamLinkOptions options, RouterMetrics* metrics)
    : options_(std::move(options)),
      address_(absl::StrCat(options_.host, ":", options_.port)),
      username_(absl::StrCat(options_.hub_host_name, "/", options_.device_id,
                             "/?api-version=", kUpstreamApiVersion)),
      metrics_(metrics) {
  status_.configured = true;
  status_.address = address_;
  status_.device_id = options_.device_id;
  status_.authentication = options_.shared_access_key.empty() ? "x509" : "sas";
  status_.transport = options_.plain ? "plain" : "tls";
}

UpstreamLink::~UpstreamLink() { Stop(); }

void UpstreamLink::Start() {
  InitLibraryOnce();
  thread_ = std::thread([this] { Run(); });
}

void UpstreamLink::Stop() {
  Interrupt();
  if (thread_.joinable()) thread_.join();
}

void UpstreamLink::Interrupt() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  ++version_;
}

bool UpstreamLink::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

QueueSink::State UpstreamLink::Current() const {
  absl::MutexLock lock(&mu_);
  State state;
  state.version = version_;
  state.ready = online_ && !draining_ && !stopping_;
  state.session = session_;
  state.instance = absl::StrCat("mqtt://", address_);
  if (!state.ready) {
    if (online_) {
      state.waiting_for = "renewing the upstream SAS token";
    } else if (status_.last_error.empty()) {
      state.waiting_for = absl::StrCat("connecting to upstream ", address_);
    } else {
      state.waiting_for = absl::StrCat("upstream offline: ", status_.last_error);
      state.fault = status_.last_error;
    }
  }
  return state;
}

void UpstreamLink::WaitForChange(uint64_t version, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, version]()
                     ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != version || stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

UpstreamLinkStatus UpstreamLink::LinkStatus() const {
  absl::MutexLock lock(&mu_);
  UpstreamLinkStatus status = status_;
  status.in_flight = in_flight_.size();
  return status;
}

bool UpstreamLink::Send(common::v1::Message message, SendDone done) {
  MessageProperties properties;
  const std::string topic = UpstreamTopic(options_.device_id, message, &properties);
  const size_t size = MessageSize(message.body(), properties);
  // What to answer now, when not waiting for the PUBACK; `done` is called without locks held.
  std::optional<SendOutcome> outcome;
  std::string reason;
  {
    absl::ReaderMutexLock connection(&conn_mu_);
    uint64_t session = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!online_ || draining_ || stopping_ || mosq_ == nullptr) return false;
      session = session_;
    }
    int rc = MOSQ_ERR_SUCCESS;
    int mid = 0;
    if (size > kMaxMessageBytes) {
      // IoT Hub closes the connection on an oversized publish and a 3.1.1 PUBACK cannot refuse:
      // sending it would only make the link fail over and over on the same message.
      outcome = SendOutcome::kRejected;
      reason = absl::StrCat("message of ", size,
                            " bytes (body and properties) exceeds the upstream limit of ",
                            kMaxMessageBytes, " bytes");
    } else {
      rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(message.body().size()),
                             message.body().data(), 1, false);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      const bool refused = rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET ||
                           rc == MOSQ_ERR_MALFORMED_UTF8 || rc == MOSQ_ERR_INVAL;
      outcome = refused ? SendOutcome::kRejected : SendOutcome::kTransientFailure;
      reason = absl::StrCat("publish failed: ", LibraryError(rc));
    }
    absl::MutexLock lock(&mu_);
    if (outcome == SendOutcome::kRejected) {
      ++status_.rejected;
    } else if (!outcome.has_value()) {
      ++status_.published;
      if (metrics_ != nullptr) metrics_->upstream_published.Increment();
      if (early_acks_.erase(mid) > 0) {
        outcome = SendOutcome::kDelivered;
        ++status_.acked;
        if (metrics_ != nullptr) metrics_->upstream_acked.Increment();
      } else if (session != session_ || !online_) {
        outcome = SendOutcome::kTransientFailure;
        reason = "the upstream connection ended";
      } else {
        in_flight_.emplace(mid, std::move(done));
        if (metrics_ != nullptr) metrics_->upstream_in_flight.Increment();
        return true;
      }
    }
  }
  if (outcome == SendOutcome::kRejected) {
    spdlog::warn("upstream link: {} ({}): dropped", reason, message.edge_message_id());
    if (metrics_ != nullptr) metrics_->upstream_rejected.Increment();
  }
  done(*outcome, reason);
  return true;
}

void UpstreamLink::OnConnect(int rc) {
  absl::MutexLock lock(&mu_);
  connack_ = rc;
}

void UpstreamLink::OnPublish(int mid) {
  SendDone done;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(mid);
    if (it == in_flight_.end()) {
      early_acks_.insert(mid);
      return;
    }
    done = std::move(it->second);
    in_flight_.erase(it);
    ++status_.acked;
  }
  if (metrics_ != nullptr) {
    metrics_->upstream_acked.Increment();
    metrics_->upstream_in_flight.Decrement();
  }
  done(SendOutcome::kDelivered, "");
}

void UpstreamLink::OnLog(int level, const char* text) {
  if (level != MOSQ_LOG_ERR || text == nullptr) return;
  absl::MutexLock lock(&mu_);
  library_error_ = text;
}

void UpstreamLink::RecordFailure(const std::string& error) {
  status_.last_error = error;
  status_.last_error_at = absl::Now();
}

absl::Status UpstreamLink::RefreshTokenIfDue(absl::Time now) {
  if (options_.shared_access_key.empty()) return absl::OkStatus();
  if (!token_.empty() && now < token_renew_at_) return absl::OkStatus();
  const absl::Time expiry = now + options_.sas_lifetime;
  ASSIGN_OR_RETURN(
      token_, MakeSasToken(absl::StrCat(options_.hub_host_name, "/devices/", options_.device_id),
                           options_.shared_access_key, expiry));
  token_renew_at_ = now + options_.sas_lifetime * kRenewAtLifetimeFraction;
  absl::MutexLock lock(&mu_);
  // MakeSasToken writes whole seconds.
  status_.token_expires = absl::FromUnixSeconds(absl::ToUnixSeconds(expiry));
  return absl::OkStatus();
}

void UpstreamLink::Run() {
  RetryBackoff backoff(options_.retry);
  while (true) {
    bool reached_online = false;
    const Ended ended = RunConnection(&reached_online);
    if (ended == Ended::kStopped) return;
    if (ended == Ended::kRenew) continue;  // at once, with the fresh token
    if (reached_online) backoff.Reset();
    const absl::Duration delay = WithJitter(backoff.Next(), kJitterSpread);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
    if (stopping_) return;
  }
}

UpstreamLink::Ended UpstreamLink::RunConnection(bool* reached_online) {
  if (Stopping()) return Ended::kStopped;
  const absl::Time begin = absl::Now();
  absl::Status token = RefreshTokenIfDue(begin);
  if (!token.ok()) {
    EndConnection(nullptr, absl::StrCat("cannot make a SAS token: ", token.message()));
    return Ended::kFailed;
  }
  {
    absl::MutexLock lock(&mu_);
    connack_ = -1;
    library_error_.clear();
  }
  mosquitto* mosq = mosquitto_new(options_.device_id.c_str(), /*clean_session=*/true, this);
  if (mosq == nullptr) {
    EndConnection(nullptr, absl::StrCat("mosquitto_new: ", std::strerror(errno)));
    return Ended::kFailed;
  }
  mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
  // The executors' window bounds what is in flight; libmosquitto must not hold sends back.
  mosquitto_max_inflight_messages_set(mosq, 0);
  mosquitto_threaded_set(mosq, true);
  mosquitto_connect_callback_set(mosq, [](mosquitto*, void* self, int rc) {
    static_cast<UpstreamLink*>(self)->OnConnect(rc);
  });
  mosquitto_publish_callback_set(mosq, [](mosquitto*, void* self, int mid) {
    static_cast<UpstreamLink*>(self)->OnPublish(mid);
  });
  mosquitto_log_callback_set(mosq, [](mosquitto*, void* self, int level, const char* text) {
    static_cast<UpstreamLink*>(self)->OnLog(level, text);
  });
  int rc =
      mosquitto_username_pw_set(mosq, username_.c_str(), token_.empty() ? nullptr : token_.c_str());
  if (rc == MOSQ_ERR_SUCCESS && !options_.plain) {
    const char* ca_file = options_.ca_file.empty() ? nullptr : options_.ca_file.c_str();
    const char* ca_path = options_.ca_file.empty() ? "/etc/ssl/certs" : nullptr;
    rc = mosquitto_tls_set(
        mosq, ca_file, ca_path, options_.cert_file.empty() ? nullptr : options_.cert_file.c_str(),
        options_.key_file.empty() ? nullptr : options_.key_file.c_str(), nullptr);
    // Peer verification on; no tls_version: libmosquitto's default, TLS 1.2 or later.
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_opts_set(mosq, 1, nullptr, nullptr);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    EndConnection(mosq, absl::StrCat("configuring the connection: ", LibraryError(rc)));
    return Ended::kFailed;
  }
  {
    absl::WriterMutexLock connection(&conn_mu_);
    mosq_ = mosq;
  }
  rc = mosquitto_connect_async(mosq, options_.host.c_str(), options_.port,
                               static_cast<int>(absl::ToInt64Seconds(options_.keep_alive)));
  if (rc != MOSQ_ERR_SUCCESS) {
    EndConnection(mosq, absl::StrCat("cannot connect to ", address_, ": ", LibraryError(rc)));
    return Ended::kFailed;
  }
  const absl::Time connack_deadline = begin + options_.connect_timeout;
  absl::Time drain_deadline = absl::InfiniteFuture();
  while (true) {
    rc = mosquitto_loop(mosq, kLoopTimeoutMs, 1);
    const absl::Time now = absl::Now();
    int connack = -1;
    bool online = false;
    bool stopping = false;
    bool drained = false;
    std::string library_error;
    {
      absl::MutexLock lock(&mu_);
      connack = connack_;
      online = online_;
      stopping = stopping_;
      drained = in_flight_.empty();
      library_error = library_error_;
    }
    if (connack > 0) {
      EndConnection(mosq, absl::StrCat("CONNACK refused: ", mosquitto_connack_string(connack)));
      return stopping ? Ended::kStopped : Ended::kFailed;
    }
    if (connack == 0 && !online) {
      *reached_online = true;
      {
        absl::MutexLock lock(&mu_);
        online_ = true;
        draining_ = false;
        ++session_;
        ++version_;
        ++status_.connects;
        status_.online = true;
        status_.since = now;
      }
      if (metrics_ != nullptr) {
        metrics_->upstream_connects.Increment();
        metrics_->upstream_connected.Set(1);
      }
      spdlog::info("upstream link: connected to {} as {} ({}, {})", address_, options_.device_id,
                   options_.plain ? "plain" : "tls",
                   options_.shared_access_key.empty() ? "x509" : "sas");
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      std::string error =
          absl::StrCat(online ? "connection lost: " : "cannot connect to ",
                       online ? "" : absl::StrCat(address_, ": "), LibraryError(rc));
      if (!library_error.empty()) absl::StrAppend(&error, " (", library_error, ")");
      EndConnection(mosq, error);
      return stopping ? Ended::kStopped : Ended::kFailed;
    }
    if (stopping) {
      mosquitto_disconnect(mosq);
      mosquitto_loop(mosq, kLoopTimeoutMs, 1);  // writes the DISCONNECT
      EndConnection(mosq, "");
      return Ended::kStopped;
    }
    if (connack < 0 && now > connack_deadline) {
      EndConnection(mosq, absl::StrCat("no CONNACK from ", address_, " within ",
                                       absl::FormatDuration(options_.connect_timeout)));
      return Ended::kFailed;
    }
    if (online && now >= token_renew_at_ && !options_.shared_access_key.empty()) {
      if (drain_deadline == absl::InfiniteFuture()) {
        drain_deadline = now + options_.renew_drain_timeout;
        absl::MutexLock lock(&mu_);
        draining_ = true;
        ++version_;
      }
      if (drained || now >= drain_deadline) {
        spdlog::info("upstream link: reconnecting with a fresh SAS token");
        if (metrics_ != nullptr) metrics_->upstream_token_renewals.Increment();
        mosquitto_disconnect(mosq);
        mosquitto_loop(mosq, kLoopTimeoutMs, 1);  // writes the DISCONNECT
        EndConnection(mosq, "");
        return Ended::kRenew;
      }
    }
  }
}

void UpstreamLink::EndConnection(mosquitto* mosq, const std::string& error) {
  bool was_online = false;
  {
    absl::MutexLock lock(&mu_);
    was_online = online_;
    online_ = false;
    draining_ = false;
    ++version_;
    status_.online = false;
    if (was_online || status_.since == absl::InfinitePast()) status_.since = absl::Now();
    if (!error.empty()) RecordFailure(error);
  }
  if (metrics_ != nullptr) {
    metrics_->upstream_connected.Set(0);
    if (was_online) metrics_->upstream_disconnects.Increment();
    if (!was_online && !error.empty()) metrics_->upstream_connect_failures.Increment();
  }
  if (!error.empty()) {
    if (was_online) {
      spdlog::warn("upstream link to {}: {}; reconnecting", address_, error);
    } else {
      absl::MutexLock lock(&mu_);
      ++status_.connect_failures;
      spdlog::warn("upstream link to {}: {}; retrying with backoff", address_, error);
    }
  }
  // Every Send holding the handle has finished its bookkeeping once the writer lock is ours.
  {
    absl::WriterMutexLock connection(&conn_mu_);
    mosq_ = nullptr;
  }
  std::map<int, SendDone> unanswered;
  {
    absl::MutexLock lock(&mu_);
    unanswered.swap(in_flight_);
    early_acks_.clear();
  }
  if (mosq != nullptr) mosquitto_destroy(mosq);
  if (metrics_ != nullptr && !unanswered.empty()) {
    metrics_->upstream_unacked.Increment(unanswered.size());
    metrics_->upstream_in_flight.Add(-static_cast<double>(unanswered.size()));
  }
  const std::string reason =
      error.empty() ? "the upstream connection was closed" : absl::StrCat("upstream: ", error);
  for (auto& [mid, done] : unanswered) done(SendOutcome::kTransientFailure, reason);
}

}  // namespace edge::router
