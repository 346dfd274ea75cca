#include "common/metrics_http_server.h"

#include <sys/socket.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace edge {
namespace {

// A scrape is one small request every few seconds; two workers leave room for a second scraper
// (or an operator's curl) without the eight-plus idle threads httplib starts by default.
constexpr size_t kWorkerThreads = 2;
// An idle keep-alive connection holds a worker, and stopping waits for it: keep it short.
constexpr time_t kKeepAliveSeconds = 1;

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    MetricsRegistry* registry, absl::string_view address, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", port, " is outside 0-65535"));
  }
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server->set_keep_alive_timeout(kKeepAliveSeconds);
  // httplib's default adds SO_REUSEPORT, which lets a second process bind a port in use and take
  // half of its scrapes. SO_REUSEADDR alone still allows a restart while old connections linger.
  server->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->Get("/metrics", [registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry->RenderPrometheusText(), kPrometheusTextContentType);
  });
  const std::string host(address);
  int bound = port;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
    if (bound < 0) bound = 0;
  } else if (!server->bind_to_port(host, port)) {
    bound = 0;
  }
  if (bound == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on ", host, ":", port,
                     " (the address is not local or the port is in use)"));
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(server), host, bound));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> server, std::string address,
                                     int port)
    : server_(std::move(server)), address_(std::move(address)), port_(port) {
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // stop() does nothing until the listening loop runs, so a server stopped at once would never
  // return from it: wait for the loop (it starts at once; this is a few microseconds).
  while (!server_->is_running() && !listen_returned_) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

MetricsHttpServer::~MetricsHttpServer() {
  server_->stop();
  thread_.join();
}

std::string MetricsHttpServer::endpoint() const {
  const bool ipv6 = address_.find(':') != std::string::npos;
  return ipv6 ? absl::StrCat("[", address_, "]:", port_) : absl::StrCat(address_, ":", port_);
}

}  // namespace edge
