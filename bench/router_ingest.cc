#include "bench/router_ingest.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>

#include "grpcpp/client_context.h"

namespace edge::bench {

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

bool StartServices(std::initializer_list<testing::ServiceProcess*> services) {
  for (testing::ServiceProcess* service : services) {
    if (absl::Status s = service->Start(); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return false;
    }
  }
  return true;
}

common::v1::Message ModuleOutputMessage(const std::string& device, const std::string& module,
                                        const std::string& output, int body_bytes) {
  common::v1::Message message;
  message.set_body(std::string(body_bytes, 'x'));
  message.mutable_source()->set_kind(common::v1::MESSAGE_KIND_TELEMETRY);
  message.mutable_source()->set_device_id(device);
  message.mutable_source()->set_module_id(module);
  message.mutable_source()->set_output_name(output);
  return message;
}

bool SetRoutesAndWait(router::v1::Router::Stub& router, const std::string& desired_json) {
  grpc::ClientContext context;
  router::v1::SetRoutesRequest request;
  request.set_desired_json(desired_json);
  router::v1::SetRoutesResponse response;
  grpc::Status status = router.SetRoutes(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "SetRoutes: %s\n", status.error_message().c_str());
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    grpc::ClientContext get;
    router::v1::GetRoutesResponse routes;
    if (router.GetRoutes(&get, router::v1::GetRoutesRequest(), &routes).ok() &&
        routes.config().desired_version() == response.desired_version()) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "the routes never came into force\n");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return true;
}

bool IngestMessages(router::v1::Router::Stub& router, const std::string& journal,
                    uint64_t first_sequence, int total, int batch, int inflight,
                    const common::v1::Message& message) {
  grpc::ClientContext context;
  auto stream = router.Ingest(&context);
  const int batches = (total + batch - 1) / batch;
  std::mutex mu;
  std::condition_variable acked_cv;
  int acked = 0;
  bool failed = false;
  std::thread reader([&] {
    router::v1::IngestResponse response;
    for (int i = 0; i < batches; ++i) {
      const bool ok = stream->Read(&response) && response.has_ack();
      std::lock_guard<std::mutex> lock(mu);
      if (!ok) {
        failed = true;
        acked_cv.notify_all();
        return;
      }
      ++acked;
      acked_cv.notify_all();
    }
  });
  router::v1::IngestRequest request;
  router::v1::IngestBatch* out = request.mutable_batch();
  out->set_journal_id(journal);
  for (int i = 0; i < batch; ++i) *out->add_messages() = message;
  uint64_t sequence = first_sequence;
  for (int b = 0; b < batches; ++b) {
    {
      std::unique_lock<std::mutex> lock(mu);
      acked_cv.wait(lock, [&] { return failed || b - acked < inflight; });
      if (failed) break;
    }
    out->set_first_sequence(sequence);
    sequence += static_cast<uint64_t>(batch);
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  reader.join();
  stream->Finish();
  return !failed && acked == batches;
}

}  // namespace edge::bench
