// The one conversion between absl::Status (domain code) and grpc::Status (the wire).
//
// Example:
//   reactor->Finish(edge::ToGrpcStatus(store_->Checkpoint(queue, offset).status()));
#ifndef EDGE_COMMON_GRPC_STATUS_H_
#define EDGE_COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace edge {

// Same canonical code, same message. Payloads are not carried.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// Finishes a callback-API unary call with `status`; returns the reactor to hand back to gRPC.
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const absl::Status& status);

// A server-streaming reactor that only reports `status`: the request was rejected before any
// message was sent. It deletes itself when done.
template <typename Response>
grpc::ServerWriteReactor<Response>* FailedStream(const absl::Status& status) {
  class Failed final : public grpc::ServerWriteReactor<Response> {
   public:
    explicit Failed(const absl::Status& s) { this->Finish(ToGrpcStatus(s)); }
    void OnDone() override { delete this; }
  };
  return new Failed(status);
}

}  // namespace edge

#endif  // EDGE_COMMON_GRPC_STATUS_H_
