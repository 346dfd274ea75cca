// MqttTestClient: a libmosquitto MQTT 3.1.1 client on its own network thread, for tests and
// benchmarks that check what arrives at a broker (a subscriber that records every message) or
// publish at QoS 1 themselves. Reconnects on its own (0.1 s to 1 s); a persistent session
// (`clean_session = false`) keeps its subscriptions and queued messages across a broker restart.
//
// Example:
//   MqttTestClient checker({.client_id = "checker", .port = broker.port()});
//   ASSERT_TRUE(checker.Subscribe("devices/#"));
//   ASSERT_TRUE(WaitUntil([&] { return checker.Count() >= 1; }));
//   checker.Messages()[0].topic;
#ifndef EDGE_TESTS_SUPPORT_MQTT_TEST_CLIENT_H_
#define EDGE_TESTS_SUPPORT_MQTT_TEST_CLIENT_H_

#include <mosquitto.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/support/wait_until.h"

namespace edge::testing {

struct MqttTestClientOptions {
  std::string client_id = {};
  int port = 0;  // on 127.0.0.1
  bool clean_session = true;
  std::string cafile = {};  // set: TLS
  std::string username = {};
  std::string password = {};
};

class MqttTestClient {
 public:
  struct Received {
    std::string topic;
    std::string payload;
  };

  explicit MqttTestClient(const MqttTestClientOptions& options) {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
    client_ = mosquitto_new(options.client_id.c_str(), options.clean_session, this);
    mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(client_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(client_, 0);
    mosquitto_reconnect_delay_set(client_, 1, 1, false);
    if (!options.cafile.empty()) {
      mosquitto_tls_set(client_, options.cafile.c_str(), nullptr, nullptr, nullptr, nullptr);
    }
    if (!options.username.empty()) {
      mosquitto_username_pw_set(client_, options.username.c_str(),
                                options.password.empty() ? nullptr : options.password.c_str());
    }
    mosquitto_connect_callback_set(client_, [](mosquitto*, void* self, int rc) {
      auto* me = static_cast<MqttTestClient*>(self);
      absl::MutexLock lock(&me->mu_);
      me->connected_ = rc == 0;
      if (rc == 0) ++me->connects_;
    });
    mosquitto_disconnect_callback_set(client_, [](mosquitto*, void* self, int) {
      auto* me = static_cast<MqttTestClient*>(self);
      absl::MutexLock lock(&me->mu_);
      me->connected_ = false;
    });
    mosquitto_subscribe_callback_set(client_, [](mosquitto*, void* self, int, int, const int*) {
      auto* me = static_cast<MqttTestClient*>(self);
      absl::MutexLock lock(&me->mu_);
      ++me->subacks_;
    });
    mosquitto_publish_callback_set(client_, [](mosquitto*, void* self, int) {
      static_cast<MqttTestClient*>(self)->acked_.fetch_add(1, std::memory_order_relaxed);
    });
    mosquitto_message_callback_set(client_,
                                   [](mosquitto*, void* self, const mosquitto_message* message) {
                                     static_cast<MqttTestClient*>(self)->OnMessage(message);
                                   });
    mosquitto_loop_start(client_);
    mosquitto_connect_async(client_, "127.0.0.1", options.port, 30);
  }
  ~MqttTestClient() {
    mosquitto_disconnect(client_);
    mosquitto_loop_stop(client_, false);
    mosquitto_destroy(client_);
  }
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  bool WaitConnected(absl::Duration timeout = absl::Seconds(10)) {
    return WaitUntil([this] { return Connected(); }, timeout);
  }
  bool Connected() {
    absl::MutexLock lock(&mu_);
    return connected_;
  }
  // Connects (if not yet) and subscribes at QoS 1; true once the SUBACK came.
  bool Subscribe(const std::string& filter, absl::Duration timeout = absl::Seconds(10)) {
    if (!WaitConnected(timeout)) return false;
    int before = 0;
    {
      absl::MutexLock lock(&mu_);
      before = subacks_;
    }
    if (mosquitto_subscribe(client_, nullptr, filter.c_str(), 1) != MOSQ_ERR_SUCCESS) return false;
    return WaitUntil(
        [&] {
          absl::MutexLock lock(&mu_);
          return subacks_ > before;
        },
        timeout);
  }
  // QoS 1; Acked() counts the PUBACKs.
  bool Publish(const std::string& topic, const std::string& payload) {
    return mosquitto_publish(client_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), 1, false) == MOSQ_ERR_SUCCESS;
  }
  uint64_t Acked() const { return acked_.load(std::memory_order_relaxed); }

  // Called on the network thread for each message, before it is recorded (may be empty).
  void OnEachMessage(std::function<void(const mosquitto_message&)> hook) {
    absl::MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }
  // Stop recording bodies (benchmarks count only).
  void CountOnly() {
    absl::MutexLock lock(&mu_);
    count_only_ = true;
  }
  std::vector<Received> Messages() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  size_t Count() {
    absl::MutexLock lock(&mu_);
    return count_;
  }
  int Connects() {
    absl::MutexLock lock(&mu_);
    return connects_;
  }

 private:
  void OnMessage(const mosquitto_message* message) {
    absl::MutexLock lock(&mu_);
    ++count_;
    if (hook_) hook_(*message);
    if (count_only_) return;
    received_.push_back({message->topic, std::string(static_cast<const char*>(message->payload),
                                                     message->payloadlen)});
  }

  mosquitto* client_ = nullptr;
  std::atomic<uint64_t> acked_{0};
  absl::Mutex mu_;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  int connects_ ABSL_GUARDED_BY(mu_) = 0;
  int subacks_ ABSL_GUARDED_BY(mu_) = 0;
  bool count_only_ ABSL_GUARDED_BY(mu_) = false;
  size_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(const mosquitto_message&)> hook_ ABSL_GUARDED_BY(mu_);
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_MQTT_TEST_CLIENT_H_
