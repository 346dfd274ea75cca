// The one conversion between absl::Status (domain code) and grpc::Status (the wire).
//
// Example:
//   reactor->Finish(edge::ToGrpcStatus(store_->Checkpoint(queue, offset).status()));
#ifndef EDGE_COMMON_GRPC_STATUS_H_
#define EDGE_COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace edge {

// Same canonical code, same message. Payloads are not carried.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace edge

#endif  // EDGE_COMMON_GRPC_STATUS_H_
