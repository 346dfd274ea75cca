#include "common/grpc_metrics.h"

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"

namespace edge {

// Counters for the 17 canonical codes are looked up once each and then kept, so that finishing a
// call is a few atomic operations.
class GrpcServerMetrics::Method {
 public:
  Method(GrpcServerMetrics* owner, std::string service, std::string method)
      : owner_(owner),
        service_(std::move(service)),
        method_(std::move(method)),
        started_(owner->started_.WithLabels({service_, method_})),
        handling_(owner->handling_.WithLabels({service_, method_})) {}

  void Started() { started_.Increment(); }

  void Handled(grpc::StatusCode code, std::chrono::steady_clock::duration elapsed) {
    int index = static_cast<int>(code);
    if (index < 0 || index >= kCodes) index = static_cast<int>(grpc::StatusCode::UNKNOWN);
    Counter* counter = by_code_[index].load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Two calls may race here; both get the same series from the family.
      const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(index));
      counter = &owner_->handled_.WithLabels({service_, method_, name});
      by_code_[index].store(counter, std::memory_order_release);
    }
    counter->Increment();
    handling_.Observe(std::chrono::duration<double>(elapsed).count());
  }

 private:
  static constexpr int kCodes = 17;  // OK .. UNAUTHENTICATED

  GrpcServerMetrics* const owner_;
  const std::string service_;
  const std::string method_;
  Counter& started_;
  Histogram& handling_;
  std::array<std::atomic<Counter*>, kCodes> by_code_{};
};

namespace {

// One per call: gRPC creates it when the call starts and destroys it when the call is over.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit MetricsInterceptor(GrpcServerMetrics::Method* method)
      : method_(method), start_(std::chrono::steady_clock::now()) {
    method_->Started();
  }
  ~MetricsInterceptor() override {
    // A call that ends without sending a status was cancelled (the server was stopped under it).
    if (!handled_) method_->Handled(grpc::StatusCode::CANCELLED, Elapsed());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS) &&
        !handled_) {
      handled_ = true;
      method_->Handled(methods->GetSendStatus().error_code(), Elapsed());
    }
    methods->Proceed();
  }

 private:
  std::chrono::steady_clock::duration Elapsed() const {
    return std::chrono::steady_clock::now() - start_;
  }

  GrpcServerMetrics::Method* const method_;
  const std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

// True when "/package.Service/Method" names a method of a service compiled into this binary.
bool IsKnownMethod(absl::string_view service, absl::string_view method) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  return descriptor != nullptr && descriptor->FindMethodByName(std::string(method)) != nullptr;
}

}  // namespace

GrpcServerMetrics::GrpcServerMetrics(MetricsRegistry* registry)
    : started_(registry->AddCounterFamily<2>("edge_grpc_server_started_total",
                                             "gRPC calls started by the server.",
                                             {"grpc_service", "grpc_method"})),
      handled_(registry->AddCounterFamily<3>(
          "edge_grpc_server_handled_total",
          "gRPC calls finished by the server, by status code (not OK: rejected or failed).",
          {"grpc_service", "grpc_method", "grpc_code"})),
      handling_(registry->AddHistogramFamily<2>(
          "edge_grpc_server_handling_seconds",
          "Seconds from the start of a gRPC call to its status (a stream's whole life).",
          {"grpc_service", "grpc_method"})) {
  // The health service is gRPC's own, built on another proto library; referencing our generated
  // copy of its messages links their descriptors in, so that health checks are labelled by name.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
}

GrpcServerMetrics::~GrpcServerMetrics() = default;

grpc::experimental::Interceptor* GrpcServerMetrics::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(Resolve(info->method()));
}

GrpcServerMetrics::Method* GrpcServerMetrics::Unknown() {
  absl::MutexLock lock(&mu_);
  if (unknown_ == nullptr) unknown_ = std::make_unique<Method>(this, "unknown", "unknown");
  return unknown_.get();
}

GrpcServerMetrics::Method* GrpcServerMetrics::Resolve(const char* full_method) {
  if (full_method == nullptr) return Unknown();
  const absl::string_view path(full_method);
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = methods_.find(path);
    if (it != methods_.end()) return it->second.get();
  }
  // "/edge.store.v1.MessageStore/AppendMessages"
  const size_t slash = path.rfind('/');
  if (path.size() < 4 || path[0] != '/' || slash == 0 || slash + 1 == path.size()) {
    return Unknown();
  }
  const absl::string_view service = path.substr(1, slash - 1);
  const absl::string_view method = path.substr(slash + 1);
  if (!IsKnownMethod(service, method)) return Unknown();
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Method>& slot = methods_[path];
  if (slot == nullptr) {
    slot = std::make_unique<Method>(this, std::string(service), std::string(method));
  }
  return slot.get();
}

}  // namespace edge
