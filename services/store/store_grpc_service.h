// StoreGrpcService: edge.store.v1.MessageStore over gRPC's callback API, a thin adapter onto
// QueueStore. Unary calls run on gRPC's threads; a ReadQueue stream is a QueueReader reactor that
// pages through the queue and, once caught up, waits for the store to say more was appended.
//
// Lifecycle: created by the store server before the gRPC server starts; EndStreams() before the
// server shuts down (followers would otherwise hold shutdown for its whole grace period); destroyed
// after the server.
#ifndef EDGE_SERVICES_STORE_STORE_GRPC_SERVICE_H_
#define EDGE_SERVICES_STORE_STORE_GRPC_SERVICE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "services/store/queue_store.h"

namespace edge::store {

class QueueReader;

class StoreGrpcService final : public v1::MessageStore::CallbackService {
 public:
  explicit StoreGrpcService(QueueStore* store);
  ~StoreGrpcService() override;

  grpc::ServerUnaryReactor* AppendMessages(grpc::CallbackServerContext* context,
                                           const v1::AppendMessagesRequest* request,
                                           v1::AppendMessagesResponse* response) override;
  grpc::ServerWriteReactor<v1::ReadQueueResponse>* ReadQueue(
      grpc::CallbackServerContext* context, const v1::ReadQueueRequest* request) override;
  grpc::ServerUnaryReactor* Checkpoint(grpc::CallbackServerContext* context,
                                       const v1::CheckpointRequest* request,
                                       v1::CheckpointResponse* response) override;
  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* context,
                                       const v1::ListQueuesRequest* request,
                                       v1::ListQueuesResponse* response) override;

  // Ends every open ReadQueue stream with UNAVAILABLE; new ones are refused from now on.
  void EndStreams();

 private:
  friend class QueueReader;

  // Called by the store on an append (any thread): wakes reader `id` on the wake thread.
  void Wake(uint64_t id);
  void RunWakeThread();
  void Unregister(uint64_t id);

  QueueStore* const store_;

  absl::Mutex mu_;
  uint64_t next_reader_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<uint64_t, QueueReader*> readers_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> to_wake_ ABSL_GUARDED_BY(mu_);
  bool stop_wake_thread_ ABSL_GUARDED_BY(mu_) = false;
  std::thread wake_thread_;
};

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_STORE_GRPC_SERVICE_H_
