// AttachLink: the hub's end of edge.router.v1 Attach, the stream module-input deliveries come on
// (DESIGN.md "Attach contract").
//
// A worker thread opens the stream, says hello with the broker's instance id, sends the current
// presence (the module clients connected and subscribed to their inputs) and then every change of
// it and the delivery results (batched: every result ready when the writer comes round goes in one
// request). A second thread reads deliveries and hands each batch to `deliver`,
// which must not block (the hub posts it to the broker thread, which publishes it to the module
// client and calls Result). When the stream breaks the link reconnects with a backoff and says
// hello and presence again; results for deliveries of a broken stream are dropped (the router
// sends those again).
//
// Example:
//   AttachLink link(LocalServiceChannel(router), instance_id,
//                   [&](std::vector<router::v1::Delivery> batch, uint64_t session) {
//                     PostToBroker(std::move(batch), session);
//                   },
//                   metrics);
//   link.Start();
//   link.SetPresence({"filter", "sensor"});
//   link.Result(session, delivery_id, /*delivered=*/true, "");  // later, from the broker thread
//   link.Stop();
//
// Thread-safe: SetPresence and Result from any thread. Start once; Stop joins both threads.
#ifndef EDGE_SERVICES_HUB_PLUGIN_ATTACH_LINK_H_
#define EDGE_SERVICES_HUB_PLUGIN_ATTACH_LINK_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "common/retry_backoff.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace edge::hub {

class AttachLink {
 public:
  // A batch of deliveries as the router sent them (in order); `session` identifies the stream
  // they came on, and their results go back with it.
  using DeliverFn =
      std::function<void(std::vector<router::v1::Delivery> deliveries, uint64_t session)>;

  AttachLink(std::shared_ptr<grpc::Channel> router, std::string instance_id, DeliverFn deliver,
             MetricsRegistry& metrics,
             RetryPolicy retry = {.initial = absl::Milliseconds(100), .max = absl::Seconds(2)});
  ~AttachLink();

  void Start();
  void Stop();

  // The whole set of present modules (module ids without the device id), sorted or not.
  void SetPresence(std::vector<std::string> modules);
  // What became of a delivery: handed to the broker for the connected client, or not (`reason`).
  // Dropped when `session` is no longer the open stream.
  void Result(uint64_t session, uint64_t delivery_id, bool delivered, std::string reason);

 private:
  using Stream = grpc::ClientReaderWriter<router::v1::AttachRequest, router::v1::AttachResponse>;

  void Run();
  // One stream's life. True when it worked for a while (the router sent something, or it lasted).
  bool Session();
  void ReadDeliveries(Stream* stream, uint64_t session);

  std::unique_ptr<router::v1::Router::Stub> stub_;
  const std::string instance_id_;
  const DeliverFn deliver_;
  const RetryPolicy retry_;
  Counter& deliveries_;
  Counter& stream_failures_;

  absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool received_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t session_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<std::string> presence_ ABSL_GUARDED_BY(mu_);
  bool presence_changed_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<router::v1::DeliveryResult> results_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_ATTACH_LINK_H_
