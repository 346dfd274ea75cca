// MetricsHttpServer: serves a MetricsRegistry over HTTP for Prometheus to scrape:
//
//   GET /metrics   200, Content-Type "text/plain; version=0.0.4; charset=utf-8", the registry's
//                  RenderPrometheusText()
//   anything else  404
//
// It runs on threads of its own (an acceptor and two workers: scrapes are rare and small), so a
// slow scraper never holds a gRPC thread. ServiceRunner starts one when the service's section sets
// `metrics_port`.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<MetricsHttpServer> http,
//                    MetricsHttpServer::Start(&registry, "127.0.0.1", 9600));
//   ...
//   http.reset();  // stops and joins
#ifndef EDGE_COMMON_METRICS_HTTP_SERVER_H_
#define EDGE_COMMON_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/metrics.h"

namespace httplib {
class Server;
}

namespace edge {

inline constexpr char kPrometheusTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class MetricsHttpServer {
 public:
  // Binds `address`:`port` (port 0 picks a free one; see port()) and starts serving. `registry`
  // is not owned and must outlive the server. UNAVAILABLE when the address cannot be bound (the
  // message names it); INVALID_ARGUMENT for a port outside 0-65535.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(MetricsRegistry* registry,
                                                                  absl::string_view address,
                                                                  int port);

  // Stops accepting, lets the request in progress finish, and joins the threads.
  ~MetricsHttpServer();

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port actually bound.
  int port() const { return port_; }
  // "address:port", for logs.
  std::string endpoint() const;

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> server, std::string address, int port);

  std::unique_ptr<httplib::Server> server_;
  std::string address_;
  int port_;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace edge

#endif  // EDGE_COMMON_METRICS_HTTP_SERVER_H_
