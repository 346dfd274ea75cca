#include "tests/support/service_process.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/edge_home.h"
#include "common/health_check.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace edge::testing {

std::filesystem::path BinDir() {
  const char* dir = std::getenv("EDGE_BIN_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path("build/bin");
}

ServiceProcess::ServiceProcess(std::string service, std::filesystem::path edge_home)
    : service_(std::move(service)), home_(std::move(edge_home)) {}

ServiceProcess::~ServiceProcess() {
  if (process_.has_value()) process_->Stop(absl::Seconds(5));
}

absl::Status ServiceProcess::Start(absl::Duration timeout) {
  std::filesystem::create_directories(LogDir(home_));
  absl::StatusOr<Subprocess> process =
      Subprocess::Start({.argv = {(BinDir() / absl::StrCat("edge-", service_)).string(),
                                  "--edge-home", home_.string()},
                         .log_file = LogDir(home_) / absl::StrCat(service_, ".log")});
  if (!process.ok()) return process.status();
  process_ = std::move(*process);
  absl::Status healthy = WaitUntilHealthy(target(), timeout);
  if (!healthy.ok()) {
    if (std::optional<int> status = process_->Poll()) {
      return absl::InternalError(
          absl::StrCat("edge-", service_, " ", DescribeWaitStatus(*status), ":\n", Log()));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("edge-", service_, " not healthy: ", healthy.message(), "\n", Log()));
  }
  return absl::OkStatus();
}

void ServiceProcess::Kill() {
  if (process_.has_value()) process_->Stop(absl::ZeroDuration());
}

int ServiceProcess::Stop(absl::Duration grace) {
  return process_.has_value() ? process_->Stop(grace) : 0;
}

std::string ServiceProcess::target() const {
  return absl::StrCat("unix:", (RunDir(home_) / absl::StrCat(service_, ".sock")).string());
}

std::shared_ptr<grpc::Channel> ServiceProcess::Channel() const {
  return grpc::CreateChannel(target(), grpc::InsecureChannelCredentials());
}

std::string ServiceProcess::Log() const {
  std::ifstream in(LogDir(home_) / absl::StrCat(service_, ".log"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace edge::testing
