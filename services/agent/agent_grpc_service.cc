#include "services/agent/agent_grpc_service.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>
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
#include "services/agent/module_environment.h"

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
  ApplyDeploymentCall(store::v1::TwinStore::Stub* twins,
                      store::v1::IdentityRegistry::Stub* identities, AgentMetrics* metrics,
                      std::vector<DesiredWrite> writes, grpc::ServerUnaryReactor* reactor,
                      v1::ApplyDeploymentResponse* response)
      : twins_(twins),
        identities_(identities),
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
    if (!identities_created_) {
      std::vector<std::string> to_create;
      for (size_t i = 0; i < writes_.size(); ++i) {
        if (!twins[i].has_value() && writes_[i].deployed_module) {
          to_create.push_back(writes_[i].twin_id);
        }
      }
      if (!to_create.empty()) {
        // Once: the twins are read again after, so the writes compare against what is there.
        identities_created_ = true;
        CreateIdentity(std::move(to_create), 0);
        return;
      }
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

  // Creates the identity `ids[index]` (an existing one is fine), then the next; after the last,
  // starts again from reading the twins.
  void CreateIdentity(std::vector<std::string> ids, size_t index) {
    if (index == ids.size()) {
      Start();
      return;
    }
    create_ = {};
    create_.mutable_identity()->set_id(ids[index]);
    create_.mutable_identity()->set_auth_type(store::v1::AUTH_TYPE_SAS);
    create_.mutable_identity()->set_managed_by(kAgentManagedBy);
    context_ = NewLocalCallContext(kStoreWait);
    identities_->async()->CreateIdentity(
        context_.get(), &create_, &created_,
        [this, ids = std::move(ids), index](grpc::Status status) mutable {
          if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
            metrics_->store_errors.WithLabels({"CreateIdentity"}).Increment();
            absl::Status error = StoreError("the store", status);
            spdlog::warn("ApplyDeployment: creating identity {}: {}", ids[index],
                         std::string(error.message()));
            Done(absl::Status(error.code(), absl::StrCat("creating the identity ", ids[index], ": ",
                                                         error.message(), "; nothing was written")),
                 "failed");
            return;
          }
          if (status.ok()) spdlog::info("ApplyDeployment: created identity {}", ids[index]);
          CreateIdentity(std::move(ids), index + 1);
        });
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
  store::v1::IdentityRegistry::Stub* const identities_;
  AgentMetrics* const metrics_;
  std::vector<DesiredWrite> writes_;
  bool identities_created_ = false;
  store::v1::CreateIdentityRequest create_;
  store::v1::Identity created_;
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

v1::ModuleHealth ToProto(Health health) {
  switch (health) {
    case Health::kNone:
      return v1::MODULE_HEALTH_UNSPECIFIED;
    case Health::kStarting:
      return v1::MODULE_HEALTH_STARTING;
    case Health::kHealthy:
      return v1::MODULE_HEALTH_HEALTHY;
    case Health::kUnhealthy:
      return v1::MODULE_HEALTH_UNHEALTHY;
  }
  return v1::MODULE_HEALTH_UNSPECIFIED;
}

void RowToProto(const ModuleRow& row, v1::Module* out) {
  const ModuleStatus& status = row.status;
  out->set_name(status.config.name);
  out->set_state(ToProto(status.state));
  out->set_pid(status.pid);
  out->set_exit_code(status.exit_code);
  out->set_signal(status.signal);
  out->set_description(status.description);
  out->set_started_unix_ms(UnixMillisOrZero(status.started_at));
  out->set_finished_unix_ms(UnixMillisOrZero(status.finished_at));
  for (const std::string& arg : status.config.argv) out->add_argv(arg);
  // Health is only what the checker knows of a running module.
  if (row.health.has_value() && status.state == ModuleState::kRunning) {
    out->set_health(ToProto(row.health->health));
    out->set_health_description(row.health->Describe());
  }
  out->set_held_stopped(row.held_stopped && status.state != ModuleState::kRunning);
}

// The module name of a request: INVALID_ARGUMENT when empty or not a module id.
absl::Status CheckModuleArgument(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("name: is required");
  if (absl::Status s = CheckModuleName(name); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("name: ", s.message()));
  }
  return absl::OkStatus();
}

// `text` from `*offset` on, up to about kLogChunkBytes ending after a newline when there is one
// (a line longer than a chunk is split anyway); advances `*offset`.
std::string NextChunk(const std::string& text, size_t* offset) {
  size_t end = std::min(text.size(), *offset + kLogChunkBytes);
  if (end < text.size()) {
    const size_t newline = text.rfind('\n', end - 1);
    if (newline != std::string::npos && newline >= *offset) end = newline + 1;
  }
  std::string chunk = text.substr(*offset, end - *offset);
  *offset = end;
  return chunk;
}

}  // namespace

// A stream that EndStreams ends; followed logs are also polled.
class StreamBase {
 public:
  virtual ~StreamBase() = default;
  // Finishes the stream OK (the agent is stopping).
  virtual void End() = 0;
  // Called every kPollInterval by the poller (with OpenStreams' lock held).
  virtual void Poll() {}
};

class AgentGrpcService::OpenStreams {
 public:
  static constexpr absl::Duration kPollInterval = absl::Milliseconds(200);

  OpenStreams() : thread_([this] { Run(); }) {}
  ~OpenStreams() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  // Registers `stream`; false (and nothing registered) once EndAll was called.
  bool Add(StreamBase* stream) {
    absl::MutexLock lock(&mu_);
    if (ended_) return false;
    streams_.insert(stream);
    return true;
  }
  void Remove(StreamBase* stream) {
    absl::MutexLock lock(&mu_);
    streams_.erase(stream);
  }
  void EndAll() {
    absl::MutexLock lock(&mu_);
    ended_ = true;
    // Reactions are never run inline (gRPC schedules them), so End may Finish under the lock.
    for (StreamBase* stream : streams_) stream->End();
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), kPollInterval)) {
      for (StreamBase* stream : streams_) stream->Poll();
    }
  }

  absl::Mutex mu_;
  std::set<StreamBase*> streams_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

namespace {

// A server stream that writes one message at a time, as NextLocked gives them, and finishes once:
// when FinishedLocked says so, when the client goes away, or at End (the agent stops). Messages
// come from the gRPC thread that finished the last write, or from whoever calls MaybeWrite (the
// poller, the constructor). Deletes itself in OnDone, after leaving OpenStreams.
template <typename Response>
class StreamWriter : public grpc::ServerWriteReactor<Response>, public StreamBase {
 public:
  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok && !finish_.has_value()) {
        finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      }
    }
    MaybeWrite();
  }

  void OnCancel() override {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
  }

  void OnDone() override {
    Leave();
    if (streams_ != nullptr) streams_->Remove(this);
    delete this;
  }

  void End() override { FinishOnce(grpc::Status::OK); }

 protected:
  // `streams` (null: a stream that ends by itself) is joined by the subclass's Join().
  explicit StreamWriter(AgentGrpcService::OpenStreams* streams) : streams_(streams) {}

  // Registers with OpenStreams; false (and finished OK) when the agent is already stopping.
  bool Join() {
    if (streams_ == nullptr || streams_->Add(this)) return true;
    streams_ = nullptr;
    FinishOnce(grpc::Status::OK);
    return false;
  }

  // Fills `*next` and returns true when there is a message to write now.
  virtual bool NextLocked(Response* next) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // The status to finish with once there is nothing to write; nullopt: more may come.
  virtual std::optional<grpc::Status> FinishedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::nullopt;
  }
  // Called in OnDone before the stream is deleted.
  virtual void Leave() {}

  // True once the stream finished or is about to.
  bool ClosingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return finished_ || finish_.has_value();
  }

  // Finishes now, or after the write in flight.
  void FinishOnce(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || finish_.has_value()) return;
      finish_ = std::move(status);
    }
    MaybeWrite();
  }

  // Starts the next write, or finishes; never with the lock held.
  void MaybeWrite() {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      if (!finish_.has_value()) {
        if (NextLocked(&response_)) {
          writing_ = true;
        } else {
          finish_ = FinishedLocked();
          if (!finish_.has_value()) return;
        }
      }
      if (!writing_) {
        finished_ = true;
        finish = finish_;
      }
    }
    if (finish.has_value()) {
      this->Finish(*finish);
    } else {
      this->StartWrite(&response_);
    }
  }

  absl::Mutex mu_;

 private:
  AgentGrpcService::OpenStreams* streams_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  Response response_;  // the write in flight
};

// GetLogs: writes the selected text in chunks of whole lines, then finishes — or, following, reads
// on from where the text ended each time the poller asks, until the module is gone (OK), the
// client cancels or the agent stops.
class LogsWriter final : public StreamWriter<v1::LogChunk> {
 public:
  // `streams` is null when not following.
  LogsWriter(LogText logs, ModuleRuntime* runtime, std::string name,
             AgentGrpcService::OpenStreams* streams)
      : StreamWriter(streams),
        runtime_(runtime),
        name_(std::move(name)),
        following_(streams != nullptr),
        text_(std::move(logs.text)),
        cursor_(logs.end) {
    if (Join()) MaybeWrite();
  }

  void Poll() override {
    {
      absl::MutexLock lock(&mu_);
      if (ClosingLocked() || offset_ < text_.size()) return;  // done, or still writing
    }
    absl::StatusOr<LogText> more = runtime_->ReadLogsAfter(name_, cursor_);
    if (absl::IsNotFound(more.status())) {
      FinishOnce(grpc::Status::OK);  // the module was removed
      return;
    }
    if (!more.ok()) {
      FinishOnce(ToGrpcStatus(more.status()));
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      cursor_ = more->end;
      if (more->text.empty()) return;
      text_ = std::move(more->text);
      offset_ = 0;
    }
    MaybeWrite();
  }

 private:
  bool NextLocked(v1::LogChunk* next) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (offset_ >= text_.size()) return false;
    next->set_text(NextChunk(text_, &offset_));
    return true;
  }

  std::optional<grpc::Status> FinishedLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (following_) return std::nullopt;  // the poller reads on
    return grpc::Status::OK;              // all written
  }

  ModuleRuntime* const runtime_;
  const std::string name_;
  const bool following_;
  std::string text_ ABSL_GUARDED_BY(mu_);
  size_t offset_ ABSL_GUARDED_BY(mu_) = 0;
  LogCursor cursor_;  // the poller's thread only
};

// WatchModules: the table as a snapshot, then the changes the ModuleTable reports, merged while a
// write is in flight (a slow client gets the latest state of each module, not every step). The
// table's listener only queues (it runs under the table's lock); the poller sends.
class ModuleWatcher final : public StreamWriter<v1::WatchModulesResponse> {
 public:
  ModuleWatcher(ModuleTable* table, AgentGrpcService::OpenStreams* streams)
      : StreamWriter(streams), table_(table) {
    if (!Join()) return;
    std::vector<ModuleRow> snapshot;
    // The listener may run before `snapshot` is stored; the snapshot is written first anyway.
    subscription_ = table_->Subscribe(
        [this](const ModuleTable::Change& change) {
          absl::MutexLock lock(&mu_);
          for (const ModuleRow& row : change.changed) {
            v1::Module module;
            RowToProto(row, &module);
            pending_[row.status.config.name] = std::move(module);
          }
          for (const std::string& name : change.removed) pending_[name] = std::nullopt;
        },
        &snapshot);
    {
      absl::MutexLock lock(&mu_);
      snapshot_.emplace();
      snapshot_->set_snapshot(true);
      for (const ModuleRow& row : snapshot) RowToProto(row, snapshot_->add_modules());
    }
    MaybeWrite();
  }

  void Poll() override { MaybeWrite(); }

 private:
  bool NextLocked(v1::WatchModulesResponse* next) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!snapshot_sent_) {
      if (!snapshot_.has_value()) return false;  // not taken yet
      *next = *std::move(snapshot_);
      snapshot_sent_ = true;
      return true;
    }
    if (pending_.empty()) return false;
    next->Clear();
    for (auto& [name, module] : pending_) {
      if (module.has_value()) {
        *next->add_modules() = *std::move(module);
      } else {
        next->add_removed(name);
      }
    }
    pending_.clear();
    return true;
  }

  void Leave() override {
    if (subscription_ != 0) table_->Unsubscribe(subscription_);
  }

  ModuleTable* const table_;
  uint64_t subscription_ = 0;
  std::optional<v1::WatchModulesResponse> snapshot_ ABSL_GUARDED_BY(mu_);
  bool snapshot_sent_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::optional<v1::Module>> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

AgentGrpcService::AgentGrpcService(std::shared_ptr<grpc::Channel> store, std::string device_id,
                                   ModuleRuntime* runtime, Reconciler* reconciler,
                                   const HealthChecker* health, ModuleTable* table,
                                   AgentMetrics* metrics)
    : twins_(store::v1::TwinStore::NewStub(store)),
      identities_(store::v1::IdentityRegistry::NewStub(store)),
      device_id_(std::move(device_id)),
      runtime_(runtime),
      reconciler_(reconciler),
      health_(health),
      table_(table),
      metrics_(metrics),
      streams_(std::make_unique<OpenStreams>()) {}

AgentGrpcService::~AgentGrpcService() = default;

void AgentGrpcService::EndStreams() { streams_->EndAll(); }

void AgentGrpcService::ModuleToProto(const ModuleStatus& status, v1::Module* out) const {
  ModuleRow row{.status = status, .health = std::nullopt, .held_stopped = false};
  if (health_ != nullptr) row.health = health_->Find(status.config.name);
  if (table_ != nullptr) row.held_stopped = table_->HeldStopped(status.config.name);
  RowToProto(row, out);
}

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
  (new ApplyDeploymentCall(twins_.get(), identities_.get(), metrics_, *std::move(writes), reactor,
                           response))
      ->Start();
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
    for (const ModuleStatus& module : *modules) ModuleToProto(module, response->add_modules());
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
  if (module.ok()) ModuleToProto(*module, response);
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
  if (request->since_unix_ms() < 0) {
    return FailedStream<v1::LogChunk>(absl::InvalidArgumentError(absl::StrCat(
        "since_unix_ms: ", request->since_unix_ms(), " is negative (0 means from the start)")));
  }
  LogQuery query{.tail_lines = request->tail()};
  if (request->since_unix_ms() > 0) query.since = absl::FromUnixMillis(request->since_unix_ms());
  absl::StatusOr<LogText> logs = runtime_->ReadLogs(request->name(), query);
  if (!logs.ok()) return FailedStream<v1::LogChunk>(logs.status());
  return new LogsWriter(*std::move(logs), runtime_, request->name(),
                        request->follow() ? streams_.get() : nullptr);
}

grpc::ServerUnaryReactor* AgentGrpcService::Command(grpc::CallbackServerContext* context,
                                                    ModuleCommand command, const std::string& name,
                                                    v1::Module* response) {
  if (absl::Status s = CheckModuleArgument(name); !s.ok()) return FinishUnary(context, s);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reconciler_->Submit(command, name, [this, reactor, response, name](absl::Status status) {
    if (status.ok()) {
      absl::StatusOr<ModuleStatus> module = runtime_->Inspect(name);
      if (module.ok()) ModuleToProto(*module, response);
      status = module.status();
    }
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* AgentGrpcService::StartModule(grpc::CallbackServerContext* context,
                                                        const v1::StartModuleRequest* request,
                                                        v1::Module* response) {
  return Command(context, ModuleCommand::kStart, request->name(), response);
}

grpc::ServerUnaryReactor* AgentGrpcService::StopModule(grpc::CallbackServerContext* context,
                                                       const v1::StopModuleRequest* request,
                                                       v1::Module* response) {
  return Command(context, ModuleCommand::kStop, request->name(), response);
}

grpc::ServerUnaryReactor* AgentGrpcService::RestartModule(grpc::CallbackServerContext* context,
                                                          const v1::RestartModuleRequest* request,
                                                          v1::Module* response) {
  return Command(context, ModuleCommand::kRestart, request->name(), response);
}

grpc::ServerWriteReactor<v1::WatchModulesResponse>* AgentGrpcService::WatchModules(
    grpc::CallbackServerContext* /*context*/, const v1::WatchModulesRequest* /*request*/) {
  return new ModuleWatcher(table_, streams_.get());
}

}  // namespace edge::agent
