#include "common/health_check.h"

#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace edge {

absl::Status CheckHealth(const std::string& target, absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::FailedPreconditionError(target + " is not serving");
  }
  return absl::OkStatus();
}

absl::Status WaitUntilHealthy(const std::string& target, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  do {
    last = CheckHealth(target, absl::Milliseconds(500));
    if (last.ok()) return last;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  return last;
}

}  // namespace edge
