// Small synchronous helpers over an edge.store.v1.MessageStore stub, for integration tests.
#ifndef EDGE_TESTS_SUPPORT_STORE_CLIENT_H_
#define EDGE_TESTS_SUPPORT_STORE_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "edge/store/v1/store.grpc.pb.h"
#include "grpcpp/client_context.h"

namespace edge::testing {

// Reads a queue from `from` to its current end (stop_at_end). On an RPC error, `status` is set.
inline std::vector<store::v1::QueueEntry> ReadToEnd(store::v1::MessageStore::Stub& stub,
                                                    const store::v1::QueueId& queue,
                                                    uint64_t from = 1,
                                                    grpc::Status* status = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  store::v1::ReadQueueRequest request;
  *request.mutable_queue() = queue;
  request.set_from_offset(from);
  request.set_stop_at_end(true);
  auto reader = stub.ReadQueue(&context, request);
  std::vector<store::v1::QueueEntry> entries;
  store::v1::ReadQueueResponse page;
  while (reader->Read(&page)) {
    for (auto& e : *page.mutable_entries()) entries.push_back(std::move(e));
  }
  grpc::Status finished = reader->Finish();
  if (status != nullptr) *status = finished;
  return entries;
}

inline std::vector<std::string> BodiesOf(const std::vector<store::v1::QueueEntry>& entries) {
  std::vector<std::string> bodies;
  for (const auto& e : entries) bodies.push_back(e.message().body());
  return bodies;
}

}  // namespace edge::testing

#endif  // EDGE_TESTS_SUPPORT_STORE_CLIENT_H_
