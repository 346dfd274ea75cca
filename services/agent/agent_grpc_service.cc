#include "services/agent/agent_grpc_service.h"

#include <chrono>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"
#include "services/agent/deployment_writes.h"
#include "services/agent/manifest/manifest.h"

namespace edge::agent {
namespace {

// GetLogs sends the text in messages of about this size (whole lines), well under gRPC's 4 MiB.
constexpr size_t kLogChunkBytes = 64 * 1024;
// How long a caller's request waits for the store: long enough for the supervisor to restart it,
// short enough to tell the caller it is down while they still wait for an answer.
constexpr absl::Duration kStoreWait = absl::Seconds(3);

// A failed store call as the agent's caller sees it: the store's code, a message saying what the
// agent was doing (and UNAVAILABLE, "edge-store is unavailable", when the store did not answer in
// time: the caller may try again).
absl::Status StoreError(absl::string_view doing, const grpc::Status& status) {
  const absl::Status error = FromGrpcStatus(status);
  if (absl::IsUnavailable(error) || absl::IsDeadlineExceeded(error)) {
    return absl::UnavailableError(
        absl::StrCat(doing, ": edge-store is unavailable: ", error.message()));
  }
  return absl::Status(error.code(), absl::StrCat(doing, ": ", error.message()));
}

absl::Status MissingSystemTwin(const std::string& twin_id) {
  // Not FAILED_PRECONDITION: ApplyDeployment keeps that code for 412 (a bad schemaVersion).
  return absl::NotFoundError(
      absl::StrCat("the store has no twin ", twin_id,
                   " (the store creates it at its first start from [device] id: do the store and "
                   "the agent use the same config?)"));
}

// Reads the twins `ids` one after another through the store's callback stub and calls `done` once,
// with every twin (nullopt for one whose identity does not exist) or with the first other error.
// Deletes itself after `done`.
class ReadTwinsCall {
 public:
  using Twins = std::vector<std::optional<store::v1::Twin>>;
  using Done = std::function<void(const absl::Status&, Twins)>;

  ReadTwinsCall(store::v1::TwinStore::Stub* twins, AgentMetrics* metrics,
                std::vector<std::string> ids, Done done)
      : stub_(twins), metrics_(metrics), ids_(std::move(ids)), done_(std::move(done)) {}

  void Start() { Next(); }

 private:
  void Next() {
    if (read_.size() == ids_.size()) {
      Finish(absl::OkStatus());
      return;
    }
    request_.set_id(ids_[read_.size()]);
    context_ = NewLocalCallContext(kStoreWait);
    stub_->async()->GetTwin(context_.get(), &request_, &twin_,
                            [this](grpc::Status status) { OnRead(status); });
  }

  void OnRead(const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      read_.emplace_back(std::nullopt);
    } else if (status.ok()) {
      read_.emplace_back(std::move(twin_));
    } else {
      metrics_->store_errors.WithLabels({"GetTwin"}).Increment();
      absl::Status error = StoreError(absl::StrCat("reading ", request_.id()), status);
      spdlog::warn("{}", error.message());
      Finish(error);
      return;
    }
    Next();
  }

  void Finish(const absl::Status& status) {
    done_(status, status.ok() ? std::move(read_) : Twins());
    delete this;
  }

  store::v1::TwinStore::Stub* const stub_;
  AgentMetrics* const metrics_;
  const std::vector<std::string> ids_;
  const Done done_;
  std::unique_ptr<grpc::ClientContext> context_;
  store::v1::GetTwinRequest request_;
  store::v1::Twin twin_;
  Twins read_;
};

// ApplyDeployment after validation: reads every twin to be written, checks expected versions, then
// replaces the desired documents in order (deployment_writes.h). Deletes itself once it has
// finished the server call.
class ApplyDeploymentCall {
 public:
  ApplyDeploymentCall(store::v1::TwinStore::Stub* twins, AgentMetrics* metrics,
                      std::vector<DesiredWrite> writes, grpc::ServerUnaryReactor* reactor,
                      v1::ApplyDeploymentResponse* response)
      : twins_(twins),
        metrics_(metrics),
        writes_(std::move(writes)),
        reactor_(reactor),
        response_(response) {}

  void Start() {
    std::vector<std::string> ids;
    for (const DesiredWrite& write : writes_) ids.push_back(write.twin_id);
    (new ReadTwinsCall(
         twins_, metrics_, std::move(ids),
         [this](const absl::Status& status, ReadTwinsCall::Twins twins) { OnRead(status, twins); }))
        ->Start();
  }

 private:
  void OnRead(const absl::Status& status, const ReadTwinsCall::Twins& twins) {
    if (!status.ok()) {
      Done(status, "failed");
      return;
    }
    for (size_t i = 0; i < writes_.size(); ++i) {
      DesiredWrite& write = writes_[i];
      if (!twins[i].has_value()) {
        if (write.system) {
          Done(MissingSystemTwin(write.twin_id), "failed");
          return;
        }
        write.exists = false;
        continue;
      }
      const int64_t current = twins[i]->desired().version();
      if (absl::Status checked = CheckCurrentVersion(write, current); !checked.ok()) {
        Done(checked, "conflict");
        return;
      }
      write.expected_version = current;
    }
    Write(0);
  }

  void Write(size_t index) {
    while (index < writes_.size() && !writes_[index].exists) ++index;
    if (index == writes_.size()) {
      Succeeded();
      return;
    }
    const DesiredWrite& write = writes_[index];
    replace_.set_id(write.twin_id);
    replace_.set_json(write.json);
    replace_.set_expected_version(*write.expected_version);
    context_ = NewLocalCallContext(kStoreWait);
    twins_->async()->ReplaceDesired(
        context_.get(), &replace_, &twin_,
        [this, index](grpc::Status status) { OnWritten(index, status); });
  }

  void OnWritten(size_t index, const grpc::Status& status) {
    if (!status.ok()) {
      metrics_->store_errors.WithLabels({"ReplaceDesired"}).Increment();
      absl::Status error = WriteError(writes_, index, StoreError("the store", status));
      spdlog::warn("ApplyDeployment: {}", error.message());
      Done(error, absl::IsAborted(error) ? "conflict" : "failed");
      return;
    }
    writes_[index].written_version = twin_.desired().version();
    Write(index + 1);
  }

  void Succeeded() {
    for (const DesiredWrite& write : writes_) {
      if (!write.system) {
        if (write.exists) {
          response_->add_module_twins_written(write.twin_id);
        } else {
          metrics_->module_twins_skipped.Increment();
          spdlog::warn(
              "ApplyDeployment: module twin {} not written: the module has no identity yet",
              write.twin_id);
          response_->add_module_twins_skipped(write.twin_id);
        }
      }
    }
    // The plan ends with `$edgeHub`, then `$edgeAgent`.
    response_->set_hub_desired_version(writes_[writes_.size() - 2].written_version);
    response_->set_agent_desired_version(writes_.back().written_version);
    spdlog::info("deployment written: {} desired version {}, {} desired version {}",
                 writes_.back().twin_id, writes_.back().written_version,
                 writes_[writes_.size() - 2].twin_id, writes_[writes_.size() - 2].written_version);
    Done(absl::OkStatus(), "written");
  }

  void Done(const absl::Status& status, absl::string_view outcome) {
    metrics_->deployments.WithLabels({outcome}).Increment();
    reactor_->Finish(ToGrpcStatus(status));
    delete this;
  }

  store::v1::TwinStore::Stub* const twins_;
  AgentMetrics* const metrics_;
  std::vector<DesiredWrite> writes_;
  grpc::ServerUnaryReactor* const reactor_;
  v1::ApplyDeploymentResponse* const response_;
  std::unique_ptr<grpc::ClientContext> context_;
  store::v1::ReplaceDesiredRequest replace_;
  store::v1::Twin twin_;
};

void ToProto(const store::v1::TwinSection& section, v1::DesiredDocument* out) {
  out->set_json(section.json());
  out->set_version(section.version());
}

// `lastDesiredVersion`/`lastDesiredStatus` of the `$edgeAgent` reported properties, when there.
void LastDesiredStatusToProto(const std::string& reported_json, v1::GetDeploymentResponse* out) {
  const nlohmann::json reported = nlohmann::json::parse(reported_json, nullptr, false);
  if (!reported.is_object()) return;
  auto status = reported.find("lastDesiredStatus");
  if (status == reported.end() || !status->is_object()) return;
  auto code = status->find("code");
  if (code == status->end() || !code->is_number_integer()) return;
  v1::DesiredStatus* last = out->mutable_last_desired_status();
  last->set_code(code->get<int32_t>());
  auto description = status->find("description");
  if (description != status->end() && description->is_string()) {
    last->set_description(description->get<std::string>());
  }
  auto version = reported.find("lastDesiredVersion");
  if (version != reported.end() && version->is_number_integer()) {
    last->set_desired_version(version->get<int64_t>());
  }
}

int64_t UnixMillisOrZero(absl::Time time) {
  return time == absl::InfinitePast() ? 0 : absl::ToUnixMillis(time);
}

v1::ModuleState ToProto(ModuleState state) {
  switch (state) {
    case ModuleState::kCreated:
      return v1::MODULE_STATE_CREATED;
    case ModuleState::kRunning:
      return v1::MODULE_STATE_RUNNING;
    case ModuleState::kExited:
      return v1::MODULE_STATE_EXITED;
    case ModuleState::kDead:
      return v1::MODULE_STATE_DEAD;
  }
  return v1::MODULE_STATE_UNSPECIFIED;
}

void ToProto(const ModuleStatus& status, v1::Module* out) {
  out->set_name(status.config.name);
  out->set_state(ToProto(status.state));
  out->set_pid(status.pid);
  out->set_exit_code(status.exit_code);
  out->set_signal(status.signal);
  out->set_description(status.description);
  out->set_started_unix_ms(UnixMillisOrZero(status.started_at));
  out->set_finished_unix_ms(UnixMillisOrZero(status.finished_at));
  for (const std::string& arg : status.config.argv) out->add_argv(arg);
}

// The module name of a GetModule/GetLogs request: INVALID_ARGUMENT when empty or not a module id.
absl::Status CheckModuleArgument(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("name: is required");
  if (absl::Status s = CheckModuleName(name); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("name: ", s.message()));
  }
  return absl::OkStatus();
}

// Writes `text` in chunks of whole lines, then finishes. Deletes itself in OnDone.
class LogsWriter final : public grpc::ServerWriteReactor<v1::LogChunk> {
 public:
  explicit LogsWriter(std::string text) : text_(std::move(text)) { WriteNext(); }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (offset_ >= text_.size()) {
      Finish(grpc::Status::OK);
      return;
    }
    size_t end = std::min(text_.size(), offset_ + kLogChunkBytes);
    if (end < text_.size()) {
      // Split after the last newline in the chunk; a line longer than a chunk is split anyway.
      const size_t newline = text_.rfind('\n', end - 1);
      if (newline != std::string::npos && newline >= offset_) end = newline + 1;
    }
    chunk_.set_text(text_.substr(offset_, end - offset_));
    offset_ = end;
    StartWrite(&chunk_);
  }

  const std::string text_;
  size_t offset_ = 0;
  v1::LogChunk chunk_;
};

}  // namespace

AgentGrpcService::AgentGrpcService(std::shared_ptr<grpc::Channel> store, std::string device_id,
                                   ModuleRuntime* runtime, AgentMetrics* metrics)
    : twins_(store::v1::TwinStore::NewStub(store)),
      device_id_(std::move(device_id)),
      runtime_(runtime),
      metrics_(metrics) {}

grpc::ServerUnaryReactor* AgentGrpcService::ApplyDeployment(
    grpc::CallbackServerContext* context, const v1::ApplyDeploymentRequest* request,
    v1::ApplyDeploymentResponse* response) {
  Parsed<Deployment> parsed = ParseDeploymentJson(request->deployment_json());
  if (!parsed.ok()) {
    metrics_->deployments.WithLabels({std::to_string(parsed.code())}).Increment();
    return FinishUnary(context, parsed.errors.ToStatus());
  }
  ExpectedVersions expected;
  if (request->has_expected_agent_version()) expected.agent = request->expected_agent_version();
  if (request->has_expected_hub_version()) expected.hub = request->expected_hub_version();
  absl::StatusOr<std::vector<DesiredWrite>> writes =
      PlanDesiredWrites(device_id_, *parsed.value, expected);
  if (!writes.ok()) {
    metrics_->deployments.WithLabels({"400"}).Increment();
    return FinishUnary(context, writes.status());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  (new ApplyDeploymentCall(twins_.get(), metrics_, *std::move(writes), reactor, response))->Start();
  return reactor;
}

grpc::ServerUnaryReactor* AgentGrpcService::GetDeployment(grpc::CallbackServerContext* context,
                                                          const v1::GetDeploymentRequest*,
                                                          v1::GetDeploymentResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<std::string> ids = {EdgeAgentTwinId(device_id_), EdgeHubTwinId(device_id_)};
  (new ReadTwinsCall(
       twins_.get(), metrics_, ids,
       [reactor, response, ids](const absl::Status& status, ReadTwinsCall::Twins twins) {
         if (!status.ok()) {
           reactor->Finish(ToGrpcStatus(status));
           return;
         }
         for (size_t i = 0; i < ids.size(); ++i) {
           if (!twins[i].has_value()) {
             reactor->Finish(ToGrpcStatus(MissingSystemTwin(ids[i])));
             return;
           }
         }
         ToProto(twins[0]->desired(), response->mutable_agent_desired());
         ToProto(twins[1]->desired(), response->mutable_hub_desired());
         LastDesiredStatusToProto(twins[0]->reported().json(), response);
         reactor->Finish(grpc::Status::OK);
       }))
      ->Start();
  return reactor;
}

grpc::ServerUnaryReactor* AgentGrpcService::ListModules(grpc::CallbackServerContext* context,
                                                        const v1::ListModulesRequest*,
                                                        v1::ListModulesResponse* response) {
  absl::StatusOr<std::vector<ModuleStatus>> modules = runtime_->List();
  if (modules.ok()) {
    for (const ModuleStatus& module : *modules) ToProto(module, response->add_modules());
  }
  return FinishUnary(context, modules.status());
}

grpc::ServerUnaryReactor* AgentGrpcService::GetModule(grpc::CallbackServerContext* context,
                                                      const v1::GetModuleRequest* request,
                                                      v1::Module* response) {
  if (absl::Status s = CheckModuleArgument(request->name()); !s.ok()) {
    return FinishUnary(context, s);
  }
  absl::StatusOr<ModuleStatus> module = runtime_->Inspect(request->name());
  if (module.ok()) ToProto(*module, response);
  return FinishUnary(context, module.status());
}

grpc::ServerWriteReactor<v1::LogChunk>* AgentGrpcService::GetLogs(
    grpc::CallbackServerContext* /*context*/, const v1::GetLogsRequest* request) {
  if (absl::Status s = CheckModuleArgument(request->name()); !s.ok()) {
    return FailedStream<v1::LogChunk>(s);
  }
  if (request->tail() < 0) {
    return FailedStream<v1::LogChunk>(absl::InvalidArgumentError(
        absl::StrCat("tail: ", request->tail(), " is negative (0 means every line kept)")));
  }
  absl::StatusOr<std::string> text = runtime_->Logs(request->name(), request->tail());
  if (!text.ok()) return FailedStream<v1::LogChunk>(text.status());
  return new LogsWriter(*std::move(text));
}

}  // namespace edge::agent
