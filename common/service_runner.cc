#include "common/service_runner.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/edge_home.h"
#include "common/grpc_metrics.h"
#include "common/logging.h"
#include "common/metrics_grpc_service.h"
#include "common/metrics_http_server.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"

namespace edge {
namespace {

constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

// True when something accepts connections on the socket.
bool UnixSocketAnswers(const std::filesystem::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), kMaxUnixPath);
  bool answers = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return answers;
}

absl::Status PrepareUnixSocket(const std::filesystem::path& path) {
  RETURN_IF_ERROR(EnsureDirectory(path.parent_path(), 0750));
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return absl::OkStatus();
  if (UnixSocketAnswers(path)) {
    return absl::AlreadyExistsError(
        absl::StrCat("another server is already listening on ", path.string()));
  }
  std::filesystem::remove(path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot remove stale socket ", path.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// Counts the calls in flight: gRPC creates one interceptor per call and destroys it when the call
// ends. Shutdown waits for the count to reach zero instead of for the server's own drain, which
// also waits for every idle client connection to close and so always took the whole grace period.
class InFlightInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit InFlightInterceptor(std::atomic<int>* in_flight) : in_flight_(in_flight) {
    in_flight_->fetch_add(1);
  }
  ~InFlightInterceptor() override { in_flight_->fetch_sub(1); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  std::atomic<int>* in_flight_;
};

class InFlightInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InFlightInterceptorFactory(std::atomic<int>* in_flight) : in_flight_(in_flight) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new InFlightInterceptor(in_flight_);
  }

 private:
  std::atomic<int>* in_flight_;
};

}  // namespace

absl::StatusOr<ListenAddress> ParseListen(absl::string_view value,
                                          const std::filesystem::path& edge_home,
                                          absl::string_view service) {
  ListenAddress address;
  if (value.empty()) return absl::InvalidArgumentError("listen address is empty");
  if (value == "unix") {
    address.unix_path = RunDir(edge_home) / absl::StrCat(service, ".sock");
  } else if (absl::StartsWith(value, "unix:")) {
    address.unix_path = std::filesystem::path(std::string(value.substr(5)));
    if (!address.unix_path.is_absolute()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen \"", value, "\": the socket path must be absolute"));
    }
  } else {
    size_t colon = value.rfind(':');
    if (colon == absl::string_view::npos || colon == 0 || colon + 1 == value.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen \"", value, "\": expected \"unix\", \"unix:/absolute/path\" or \"host:port\""));
    }
    address.grpc_target = std::string(value);
    return address;
  }
  const std::string& path = address.unix_path.native();
  if (path.size() > kMaxUnixPath) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix socket path ", path, " is ", path.size(), " bytes; the limit is ",
                     kMaxUnixPath, " (choose a shorter EDGE_HOME or set the listen key)"));
  }
  address.grpc_target = absl::StrCat("unix:", path);
  return address;
}

absl::StatusOr<ListenAddress> ListenAddressFromSection(ConfigSection& section,
                                                       const std::filesystem::path& edge_home) {
  ASSIGN_OR_RETURN(std::string listen, section.GetString("listen", "unix"));
  absl::StatusOr<ListenAddress> address = ParseListen(listen, edge_home, section.name());
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(section.name(), ".listen: ", address.status().message()));
  }
  return address;
}

absl::StatusOr<ListenAddress> ServiceListenAddress(const Config& config,
                                                   const std::filesystem::path& edge_home,
                                                   absl::string_view service) {
  ConfigSection section = config.Section(service);
  return ListenAddressFromSection(section, edge_home);
}

absl::StatusOr<MetricsHttpOptions> MetricsHttpOptionsFromSection(ConfigSection& section) {
  MetricsHttpOptions options;
  ASSIGN_OR_RETURN(int64_t port, section.GetInt("metrics_port", 0, 0, 65535));
  options.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(options.address, section.GetString("metrics_address", options.address));
  if (options.address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(section.name(), ".metrics_address: is empty"));
  }
  return options;
}

ServiceRunner::ServiceRunner(std::string service, ListenAddress address,
                             absl::Duration shutdown_grace)
    : service_(std::move(service)), address_(std::move(address)), shutdown_grace_(shutdown_grace) {}

ServiceRunner::~ServiceRunner() {
  if (server_ != nullptr) Shutdown();
}

void ServiceRunner::SetMetrics(MetricsRegistry* registry, MetricsHttpOptions http) {
  metrics_ = registry;
  metrics_http_ = std::move(http);
}

absl::Status ServiceRunner::Start(const std::vector<grpc::Service*>& services) {
  if (!address_.unix_path.empty()) RETURN_IF_ERROR(PrepareUnixSocket(address_.unix_path));
  if (metrics_ == nullptr) {
    owned_metrics_ = std::make_unique<MetricsRegistry>();
    metrics_ = owned_metrics_.get();
  }
  if (metrics_http_.port != 0) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Start(metrics_, metrics_http_.address, metrics_http_.port);
    if (!http.ok()) {
      return absl::Status(http.status().code(),
                          absl::StrCat(service_, ".metrics_port: ", http.status().message()));
    }
    metrics_http_server_ = *std::move(http);
  }
  metrics_service_ = std::make_unique<MetricsGrpcService>(service_, metrics_);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address_.grpc_target, grpc::InsecureServerCredentials(),
                           address_.unix_path.empty() ? &bound_port_ : nullptr);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.RegisterService(metrics_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counters;
  counters.push_back(std::make_unique<InFlightInterceptorFactory>(&in_flight_));
  counters.push_back(std::make_unique<GrpcServerMetrics>(metrics_));
  builder.experimental().SetInterceptorCreators(std::move(counters));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    metrics_http_server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address_.grpc_target));
  }
  if (!address_.unix_path.empty() && ::chmod(address_.unix_path.c_str(), 0660) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot chmod ", address_.unix_path.string(), ": ", std::strerror(errno)));
  }
  server_->GetHealthCheckService()->SetServingStatus(serving_on_start_);
  spdlog::info("{} listening on {}", service_, target());
  if (metrics_http_server_ != nullptr) {
    spdlog::info("{} serving metrics on http://{}/metrics", service_,
                 metrics_http_server_->endpoint());
  }
  return absl::OkStatus();
}

void ServiceRunner::WaitForTermination() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  const timespec poll = {0, 100'000'000};
  while (!stop_requested_) {
    int signal = ::sigtimedwait(&signals, nullptr, &poll);
    if (signal > 0) {
      spdlog::info("{} received {}, shutting down", service_, ::strsignal(signal));
      return;
    }
  }
}

void ServiceRunner::SetServing(bool serving) {
  if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(serving);
}

void ServiceRunner::Shutdown() {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Calls in flight get the grace period to finish; then the server stops at once, cancelling
  // what is left and closing idle client connections.
  const absl::Time deadline = absl::Now() + shutdown_grace_;
  while (in_flight_.load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  if (in_flight_.load() > 0) {
    spdlog::warn("{}: cancelling {} calls still running after {}", service_, in_flight_.load(),
                 absl::FormatDuration(shutdown_grace_));
  }
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
  if (!address_.unix_path.empty()) {
    std::error_code ec;
    std::filesystem::remove(address_.unix_path, ec);
  }
  // Last, so that the final state of a draining service can still be scraped.
  metrics_http_server_.reset();
  spdlog::info("{} stopped", service_);
}

std::string ServiceRunner::metrics_endpoint() const {
  return metrics_http_server_ != nullptr ? metrics_http_server_->endpoint() : "";
}

std::string ServiceRunner::target() const {
  if (!address_.unix_path.empty() || bound_port_ == 0) return address_.grpc_target;
  return absl::StrCat(address_.grpc_target.substr(0, address_.grpc_target.rfind(':')), ":",
                      bound_port_);
}

void BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int RunServiceMain(int argc, char** argv, absl::string_view service,
                   const std::function<absl::Status(const ServiceContext&)>& run) {
  BlockTerminationSignals();
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles (a debug aid that showed
  // in profiles of the hot path); tests run with it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{absl::StrCat("edge-", service, ": the edge runtime's ", service, " service")};
  std::string edge_home_flag;
  std::string config_flag;
  std::string log_level = "info";
  app.add_option("--edge-home", edge_home_flag, "runtime home (default $EDGE_HOME, $HOME/.edge)");
  app.add_option("--config", config_flag, "config file (default $EDGE_HOME/config.toml)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [&](const absl::Status& status) {
    std::cerr << "edge-" << service << ": " << status.message() << "\n";
    return 2;
  };
  if (absl::Status s = InitLogging(service, log_level); !s.ok()) return fail(s);
  absl::StatusOr<std::filesystem::path> home = ResolveEdgeHome(edge_home_flag);
  if (!home.ok()) return fail(home.status());
  std::filesystem::path config_path =
      config_flag.empty() ? ConfigPath(*home) : std::filesystem::path(config_flag);
  absl::StatusOr<Config> config = Config::LoadFile(config_path);
  if (absl::IsNotFound(config.status()) && config_flag.empty()) config = Config::Parse("");
  if (!config.ok()) return fail(config.status());
  absl::Status status = run(ServiceContext{std::string(service), *home, *std::move(config)});
  if (!status.ok()) {
    spdlog::critical("edge-{} failed: {}", service, status.ToString());
    return absl::IsInvalidArgument(status) ? 2 : 1;
  }
  return 0;
}

}  // namespace edge
