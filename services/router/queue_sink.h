// QueueSink: where a QueueExecutor (delivery.h) sends the entries of its queue — the seam between
// the executor's logic (order, window, checkpoint, retries, TTL) and an endpoint's transport.
//
// Implementations: BrokeredSink (brokered_sink.h, a module input through the hub's Attach stream)
// and the upstream sinks (upstream_sink.h). One sink per endpoint, shared by the executors of its
// priority queues. A sink never blocks in Send: it queues the message and answers later, many
// sends may be waiting for their answers at once.
//
// Example (an executor):
//   QueueSink::State state = sink->Current();
//   if (!state.ready) { sink->WaitForChange(state.version, absl::Milliseconds(200)); return; }
//   sink->Send(std::move(message), [](SendOutcome outcome, const std::string& reason) { ... });
#ifndef EDGE_SERVICES_ROUTER_QUEUE_SINK_H_
#define EDGE_SERVICES_ROUTER_QUEUE_SINK_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "edge/common/v1/message.pb.h"

namespace edge::router {

enum class SendOutcome {
  // Acknowledged by the endpoint (the hub handed it to the broker; the upstream PUBACK came).
  kDelivered,
  // Not delivered this time (not connected, the session ended, a timeout): the executor rewinds
  // to it and tries again after a backoff.
  kTransientFailure,
  // The endpoint will never take this message (invalid): the executor counts it, logs it at warn
  // and goes on with the next entry.
  kRejected,
};

class QueueSink {
 public:
  // Called exactly once per accepted Send, on any thread, without the sink's locks held.
  using SendDone = std::function<void(SendOutcome outcome, const std::string& reason)>;

  struct State {
    uint64_t version = 0;  // changes whenever anything below does
    bool ready = false;    // Send may be called now
    // The connection sends belong to (0: none). A send of an earlier session is answered (not
    // delivered) when that session ends.
    uint64_t session = 0;
    // The peer's memory: when a new session comes with a different instance, what earlier sessions
    // had acknowledged may be lost with it, and the executor sends again from the store's
    // checkpoint (the hub's instance id; DESIGN.md "Attach contract").
    std::string instance;
    // While not ready: what the executor is waiting for, for EndpointStats ("waiting for module
    // B", "no hub attached", "no upstream link configured").
    std::string waiting_for;
    // While not ready: set when the wait is a fault the operator should see as the last error,
    // empty when it is the normal course of things (a module not connected yet).
    std::string fault;
  };

  virtual ~QueueSink() = default;

  // What it delivers to, for messages: "module B", "the upstream link".
  virtual std::string Describe() const = 0;
  virtual State Current() const = 0;
  // Blocks until the state's version differs from `version`, `timeout` passes, or the sink is
  // interrupted (shutdown).
  virtual void WaitForChange(uint64_t version, absl::Duration timeout) const = 0;
  // Sends `message` in the current session. False (and `done` is never called) when the sink is
  // not ready or the session is closing; otherwise `done` is called exactly once.
  virtual bool Send(common::v1::Message message, SendDone done) = 0;
};

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_QUEUE_SINK_H_
