#include "services/router/router_grpc_service.h"

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/local_channel.h"
#include "common/logging.h"
#include "grpcpp/alarm.h"
#include "grpcpp/client_context.h"
#include "services/router/batch_router.h"
#include "services/router/route_tester.h"

namespace edge::router {
namespace {

int64_t UnixMillisOrZero(absl::Time t) {
  return t == absl::InfinitePast() ? 0 : absl::ToUnixMillis(t);
}

void FillUpstreamStats(const UpstreamLinkStatus& link, v1::UpstreamLinkStats* stats) {
  stats->set_configured(link.configured);
  if (!link.configured) return;
  stats->set_online(link.online);
  stats->set_since_unix_ms(UnixMillisOrZero(link.since));
  stats->set_last_error(link.last_error);
  stats->set_last_error_unix_ms(UnixMillisOrZero(link.last_error_at));
  stats->set_address(link.address);
  stats->set_device_id(link.device_id);
  stats->set_authentication(link.authentication);
  stats->set_transport(link.transport);
  stats->set_token_expires_unix_ms(UnixMillisOrZero(link.token_expires));
  stats->set_connects(link.connects);
  stats->set_connect_failures(link.connect_failures);
  stats->set_published(link.published);
  stats->set_acked(link.acked);
  stats->set_rejected(link.rejected);
  stats->set_in_flight(link.in_flight);
}

// Failures a later attempt may not see: the store restarting, slow, full or briefly broken.
bool IsTransient(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::CANCELLED:
      return true;
    default:
      return false;
  }
}

void ToProto(const RoutesConfig& config, v1::RoutesConfig* out) {
  out->set_desired_version(config.desired_version);
  out->set_schema_version(config.spec.schema_version);
  out->set_time_to_live_secs(config.spec.time_to_live_secs);
  out->set_desired_json(config.desired_json);
  // The table's order (by name), which is the order routes are evaluated in.
  for (const std::string& name : config.table.route_names()) {
    for (const route::RouteSpec& spec : config.spec.routes) {
      if (spec.name != name) continue;
      v1::Route* route = out->add_routes();
      route->set_name(spec.name);
      route->set_route(spec.route);
      if (spec.priority.has_value()) route->set_priority(*spec.priority);
      route->set_time_to_live_secs(spec.time_to_live_secs);
    }
  }
}

}  // namespace

// One Ingest stream. Exactly one operation is outstanding at a time — a read, a store append, a
// retry alarm or a write — so the flow needs no lock; mu_ only guards what OnCancel (any thread)
// touches. Finish is called once, from the completion of the outstanding operation. Deletes itself
// in OnDone.
class IngestStream final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
 public:
  IngestStream(RouterGrpcService* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context), backoff_(service->retry_) {
    service_->metrics_->ingest_streams.Increment();
    StartRead(&request_);
  }

  // Ends the stream from outside (shutdown).
  void Cancel() { context_->TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the hub closed its side, or the call was cancelled
      Finish(grpc::Status::OK);
      return;
    }
    received_ = absl::Now();
    RouteWhenLoaded();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    StartRead(&request_);
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (append_context_ != nullptr) append_context_->TryCancel();
    if (alarm_ != nullptr) alarm_->Cancel();
  }

  void OnDone() override {
    service_->metrics_->ingest_streams.Decrement();
    service_->Unregister(this);
    delete this;
  }

 private:
  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  void FinishCancelled() {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
  }

  // Routes the batch in request_ once the persisted configuration has been read.
  void RouteWhenLoaded() {
    const v1::IngestBatch& batch = request_.batch();
    journal_id_ = batch.journal_id();
    first_sequence_ = batch.first_sequence();
    last_sequence_ =
        batch.messages().empty()
            ? batch.first_sequence()
            : batch.first_sequence() + static_cast<uint64_t>(batch.messages_size()) - 1;
    ActiveRoutes::Snapshot routes = service_->routes_->Get();
    if (!routes.loaded) {
      RetryLater(&IngestStream::RouteWhenLoaded, "the configuration is not loaded yet");
      return;
    }
    absl::StatusOr<RoutedBatch> routed = RouteBatch(
        std::move(*request_.mutable_batch()), routes.config.get(), service_->monitor_->active());
    if (!routed.ok()) {
      Reject(routed.status());
      return;
    }
    routed_ = *std::move(routed);
    next_append_ = 0;
    duplicates_ = 0;
    AppendNext();
  }

  void AppendNext() {
    if (next_append_ == routed_.appends.size()) {
      Ack();
      return;
    }
    grpc::ClientContext* context = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        append_context_ = NewLocalCallContext();
        context = append_context_.get();
      }
    }
    if (context == nullptr) {
      FinishCancelled();
      return;
    }
    service_->store_stub_->async()->AppendMessages(
        context, &routed_.appends[next_append_], &append_response_,
        [this](grpc::Status status) { OnAppended(std::move(status)); });
  }

  void OnAppended(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      append_context_.reset();
    }
    if (cancelled()) {
      FinishCancelled();
      return;
    }
    if (status.ok()) {
      duplicates_ += append_response_.duplicates();
      if (service_->delivery_ != nullptr) {
        service_->delivery_->OnAppended(routed_.appends[next_append_]);
      }
      ++next_append_;
      backoff_.Reset();
      AppendNext();
      return;
    }
    if (IsTransient(status.error_code())) {
      service_->metrics_->append_retries.Increment();
      RetryLater(&IngestStream::AppendNext,
                 absl::StrCat("the store append failed: ", status.error_message()));
      return;
    }
    Reject(FromGrpcStatus(status));
  }

  // Runs `next` after the next backoff delay, on one of gRPC's threads.
  void RetryLater(void (IngestStream::*next)(), absl::string_view why) {
    const absl::Duration delay = backoff_.Next();
    spdlog::warn("ingest of {} [{}, {}] waits {}: {}", journal_id_, first_sequence_, last_sequence_,
                 absl::FormatDuration(delay), why);
    grpc::Alarm* alarm = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        // A new alarm each time: the previous one may be the one whose callback is running (its
        // implementation is reference-counted, so destroying it here is safe).
        alarm_ = std::make_unique<grpc::Alarm>();
        alarm = alarm_.get();
      }
    }
    if (alarm == nullptr) {
      FinishCancelled();
      return;
    }
    alarm->Set(absl::ToChronoTime(absl::Now() + delay), [this, next](bool fired) {
      if (!fired || cancelled()) {
        FinishCancelled();
        return;
      }
      (this->*next)();
    });
  }

  void Ack() {
    RouterMetrics& metrics = *service_->metrics_;
    metrics.ingest_batches.Increment();
    metrics.ingest_messages.Increment(routed_.routed + routed_.dropped);
    metrics.routed_messages.Increment(routed_.routed);
    metrics.dropped_messages.Increment(routed_.dropped);
    metrics.duplicate_messages.Increment(duplicates_);
    const absl::Time now = absl::Now();
    metrics.append_seconds.ObserveDuration(now - received_);
    service_->monitor_->Publish(routed_, now);
    response_.Clear();
    v1::IngestAck* ack = response_.mutable_ack();
    ack->set_journal_id(journal_id_);
    ack->set_first_sequence(first_sequence_);
    ack->set_last_sequence(last_sequence_);
    ack->set_routed(routed_.routed);
    ack->set_dropped(routed_.dropped);
    ack->set_duplicates(duplicates_);
    StartWrite(&response_);
  }

  void Reject(const absl::Status& status) {
    service_->metrics_->rejected_batches.Increment();
    spdlog::warn("rejected ingest batch of {} [{}, {}]: {}", journal_id_, first_sequence_,
                 last_sequence_, status.ToString());
    response_.Clear();
    v1::IngestRejection* rejected = response_.mutable_rejected();
    rejected->set_journal_id(journal_id_);
    rejected->set_first_sequence(first_sequence_);
    rejected->set_last_sequence(last_sequence_);
    rejected->set_code(static_cast<int32_t>(status.code()));
    rejected->set_message(std::string(status.message()));
    StartWrite(&response_);
  }

  RouterGrpcService* const service_;
  grpc::CallbackServerContext* const context_;
  RetryBackoff backoff_;

  // The batch in progress.
  v1::IngestRequest request_;
  absl::Time received_;
  std::string journal_id_;
  uint64_t first_sequence_ = 0;
  uint64_t last_sequence_ = 0;
  RoutedBatch routed_;
  size_t next_append_ = 0;
  uint32_t duplicates_ = 0;
  store::v1::AppendMessagesResponse append_response_;
  v1::IngestResponse response_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<grpc::ClientContext> append_context_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
};

// One Attach stream: requests go to HubLink; deliveries are written in order, one response at a
// time, each carrying every delivery that came while the previous one was being written.
class AttachStream final : public grpc::ServerBidiReactor<v1::AttachRequest, v1::AttachResponse>,
                           public DeliverySink {
 public:
  AttachStream(RouterGrpcService* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    StartRead(&request_);
  }

  void Cancel() { context_->TryCancel(); }

  // DeliverySink, called under HubLink's lock: queue or cancel only.
  bool Write(v1::Delivery delivery) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;
    *next_.add_deliveries() = std::move(delivery);
    if (!writing_) {
      writing_ = true;
      writing_response_.Swap(&next_);
      StartWrite(&writing_response_);
    }
    return true;
  }
  void Replace() override {
    FinishOnce(grpc::Status(grpc::StatusCode::ABORTED, "a newer Attach stream replaced this one"));
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status::OK);
      return;
    }
    HubLink* hub = service_->hub_;
    switch (request_.kind_case()) {
      case v1::AttachRequest::kHello:
        if (request_.hello().instance_id().empty()) {
          FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "hello.instance_id: must not be empty"));
          return;
        }
        hub->Attach(this, request_.hello().instance_id());
        hello_seen_ = true;
        spdlog::info("router: hub attached (instance {})", request_.hello().instance_id());
        break;
      case v1::AttachRequest::kPresence:
      case v1::AttachRequest::kResults:
        if (!hello_seen_) {
          FinishOnce(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "the first request of an Attach stream must be hello"));
          return;
        }
        if (request_.has_presence()) {
          hub->SetPresence(
              this, {request_.presence().modules().begin(), request_.presence().modules().end()});
        } else {
          for (const v1::DeliveryResult& result : request_.results().results()) {
            hub->OnResult(this, result);
          }
        }
        break;
      default:
        FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "an Attach request must be hello, presence or results"));
        return;
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_response_.Clear();
    if (!ok) {
      writing_ = false;
      return;  // the stream is ending; OnReadDone(false) finishes it
    }
    if (next_.deliveries().empty() || finished_) {
      writing_ = false;
    } else {
      writing_response_.Swap(&next_);
      StartWrite(&writing_response_);
    }
  }

  void OnDone() override {
    service_->hub_->Detach(this);
    service_->Unregister(this);
    delete this;
  }

 private:
  void FinishOnce(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  RouterGrpcService* const service_;
  grpc::CallbackServerContext* const context_;
  v1::AttachRequest request_;
  bool hello_seen_ = false;  // reactor callbacks for reads are serialized
  absl::Mutex mu_;
  v1::AttachResponse writing_response_ ABSL_GUARDED_BY(mu_);  // being written
  v1::AttachResponse next_ ABSL_GUARDED_BY(mu_);              // gathering deliveries
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// One Monitor stream: writes its subscription's responses one at a time. The subscription's
// callback and the write completions both call WriteNext; `writing_` makes sure only one write is
// outstanding. Deletes itself in OnDone, after unsubscribing (no callback runs after that).
class MonitorStream final : public grpc::ServerWriteReactor<v1::MonitorResponse> {
 public:
  MonitorStream(RouterGrpcService* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {}

  // Subscribes (or refuses the request); called once, after the service registered the stream.
  void Start(const v1::MonitorRequest& request) {
    if (request.buffer() > RoutedMessageMonitor::kMaxBuffer) {
      FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("buffer: at most ", RoutedMessageMonitor::kMaxBuffer)));
      return;
    }
    const size_t buffer =
        request.buffer() == 0 ? RoutedMessageMonitor::kDefaultBuffer : request.buffer();
    {
      absl::MutexLock lock(&mu_);
      subscription_ =
          service_->monitor_->Subscribe(request.endpoint(), buffer, [this] { WriteNext(); });
    }
    // Tells the client it is subscribed: what is routed from now on reaches it. Writes wait for
    // it (the first may already be waiting).
    StartSendInitialMetadata();
    {
      absl::MutexLock lock(&mu_);
      metadata_started_ = true;
    }
    WriteNext();
  }

  void Cancel() { context_->TryCancel(); }

  void OnWriteDone(bool ok) override {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      finish.swap(deferred_finish_);
    }
    if (finish.has_value()) {
      Finish(*std::move(finish));
      return;
    }
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    WriteNext();
  }

  void OnCancel() override {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the monitor was cancelled"));
  }

  void OnDone() override {
    std::shared_ptr<RoutedMessageMonitor::Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      subscription = subscription_;
    }
    if (subscription != nullptr) service_->monitor_->Unsubscribe(subscription.get());
    service_->Unregister(this);
    delete this;
  }

 private:
  // Starts the next write unless one is outstanding or the stream is finishing.
  void WriteNext() {
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_ || !metadata_started_) return;
      std::optional<v1::MonitorResponse> next = subscription_->Next();
      if (!next.has_value()) return;
      response_ = *std::move(next);
      writing_ = true;
    }
    StartWrite(&response_);
  }

  // Finishes once; while a write is outstanding, when it completes (Finish must not overtake a
  // StartWrite that was decided on).
  void FinishOnce(grpc::Status status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      if (writing_) {
        deferred_finish_ = std::move(status);
        return;
      }
    }
    Finish(std::move(status));
  }

  RouterGrpcService* const service_;
  grpc::CallbackServerContext* const context_;
  v1::MonitorResponse response_;  // the write in flight; only touched by who set writing_
  absl::Mutex mu_;
  std::shared_ptr<RoutedMessageMonitor::Subscription> subscription_ ABSL_GUARDED_BY(mu_);
  bool metadata_started_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> deferred_finish_ ABSL_GUARDED_BY(mu_);
};

RouterGrpcService::RouterGrpcService(std::shared_ptr<grpc::Channel> store, std::string twin_id,
                                     RetryPolicy retry, ActiveRoutes* routes,
                                     RouterMetrics* metrics, HubLink* hub,
                                     DeliveryManager* delivery, RoutedMessageMonitor* monitor,
                                     const UpstreamSink* upstream)
    : store_stub_(store::v1::MessageStore::NewStub(store)),
      twin_stub_(store::v1::TwinStore::NewStub(store)),
      twin_id_(std::move(twin_id)),
      retry_(retry),
      routes_(routes),
      metrics_(metrics),
      hub_(hub),
      delivery_(delivery),
      monitor_(monitor),
      upstream_(upstream) {}

RouterGrpcService::~RouterGrpcService() = default;

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* RouterGrpcService::Ingest(
    grpc::CallbackServerContext* context) {
  auto* stream = new IngestStream(this, context);
  absl::MutexLock lock(&streams_mu_);
  streams_.insert(stream);
  return stream;
}

void RouterGrpcService::Unregister(IngestStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

grpc::ServerUnaryReactor* RouterGrpcService::EndpointStats(grpc::CallbackServerContext* context,
                                                           const v1::EndpointStatsRequest* request,
                                                           v1::EndpointStatsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_shared<grpc::ClientContext>();
  SetLocalCallDeadline(*call);
  auto queues = std::make_shared<store::v1::ListQueuesResponse>();
  auto list = std::make_shared<store::v1::ListQueuesRequest>();
  const std::string endpoint = request->endpoint();
  store_stub_->async()->ListQueues(
      call.get(), list.get(), queues.get(),
      [this, reactor, response, call, queues, list, endpoint](grpc::Status status) {
        if (!status.ok()) {
          reactor->Finish(
              grpc::Status(status.error_code(),
                           absl::StrCat("listing the store's queues: ", status.error_message())));
          return;
        }
        const std::map<std::string, ExecutorStatus> executors = delivery_->Status();
        for (const store::v1::QueueInfo& info : queues->queues()) {
          if (!endpoint.empty() && info.queue().endpoint() != endpoint) continue;
          v1::EndpointQueueStats* stats = response->add_queues();
          stats->set_endpoint(info.queue().endpoint());
          if (info.queue().has_priority()) stats->set_priority(info.queue().priority());
          stats->set_depth(info.depth());
          stats->set_oldest_appended_unix_ms(info.oldest_appended_unix_ms());
          stats->set_expired(info.expired());
          stats->set_dropped(info.dropped());
          auto it = executors.find(QueueName(info.queue()));
          if (it == executors.end()) {
            stats->set_state("starting");
            continue;
          }
          stats->set_state(it->second.state);
          stats->set_last_error(it->second.last_error);
          if (it->second.last_error_at != absl::InfinitePast()) {
            stats->set_last_error_unix_ms(absl::ToUnixMillis(it->second.last_error_at));
          }
          stats->set_delivered(it->second.delivered);
          stats->set_rejected(it->second.rejected);
          stats->set_in_flight(it->second.in_flight);
        }
        FillUpstreamStats(upstream_->LinkStatus(), response->mutable_upstream());
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerBidiReactor<v1::AttachRequest, v1::AttachResponse>* RouterGrpcService::Attach(
    grpc::CallbackServerContext* context) {
  auto* stream = new AttachStream(this, context);
  absl::MutexLock lock(&streams_mu_);
  attach_streams_.insert(stream);
  return stream;
}

void RouterGrpcService::Unregister(AttachStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  attach_streams_.erase(stream);
}

grpc::ServerWriteReactor<v1::MonitorResponse>* RouterGrpcService::Monitor(
    grpc::CallbackServerContext* context, const v1::MonitorRequest* request) {
  auto* stream = new MonitorStream(this, context);
  {
    // Registered before it can finish (and unregister itself in OnDone).
    absl::MutexLock lock(&streams_mu_);
    monitor_streams_.insert(stream);
  }
  stream->Start(*request);
  return stream;
}

void RouterGrpcService::Unregister(MonitorStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  monitor_streams_.erase(stream);
}

void RouterGrpcService::EndStreams() {
  absl::MutexLock lock(&streams_mu_);
  for (IngestStream* stream : streams_) stream->Cancel();
  for (AttachStream* stream : attach_streams_) stream->Cancel();
  for (MonitorStream* stream : monitor_streams_) stream->Cancel();
}

grpc::ServerUnaryReactor* RouterGrpcService::GetRoutes(grpc::CallbackServerContext* context,
                                                       const v1::GetRoutesRequest* /*request*/,
                                                       v1::GetRoutesResponse* response) {
  ActiveRoutes::Snapshot routes = routes_->Get();
  if (routes.config != nullptr) ToProto(*routes.config, response->mutable_config());
  if (routes.status.has_value()) {
    v1::DesiredStatus* status = response->mutable_status();
    status->set_desired_version(routes.status->desired_version);
    status->set_code(routes.status->code);
    status->set_description(routes.status->description);
  }
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* RouterGrpcService::TestRoute(grpc::CallbackServerContext* context,
                                                       const v1::TestRouteRequest* request,
                                                       v1::TestRouteResponse* response) {
  absl::StatusOr<v1::TestRouteResponse> verdict =
      router::TestRoute(*request, routes_->Get().config);
  if (verdict.ok()) *response = *std::move(verdict);
  return FinishUnary(context, verdict.status());
}

namespace {

// SetRoutes after validation: (GetTwin for the current version, then) ReplaceDesired with
// compare-and-set, asynchronously. Deletes itself once it has finished the server call.
class SetRoutesCall {
 public:
  SetRoutesCall(store::v1::TwinStore::Stub* twins, std::string twin_id, std::string json,
                grpc::ServerUnaryReactor* reactor, v1::SetRoutesResponse* response)
      : twins_(twins), reactor_(reactor), response_(response) {
    twin_request_.set_id(twin_id);
    replace_request_.set_id(std::move(twin_id));
    replace_request_.set_json(std::move(json));
  }

  void Start(std::optional<int64_t> expected_version) {
    if (expected_version.has_value()) {
      Replace(*expected_version);
      return;
    }
    context_ = NewLocalCallContext();
    twins_->async()->GetTwin(context_.get(), &twin_request_, &twin_, [this](grpc::Status status) {
      if (!status.ok()) {
        Done(status);
        return;
      }
      Replace(twin_.desired().version());
    });
  }

 private:
  void Replace(int64_t expected_version) {
    replace_request_.set_expected_version(expected_version);
    context_ = NewLocalCallContext();
    twins_->async()->ReplaceDesired(context_.get(), &replace_request_, &twin_,
                                    [this](grpc::Status status) {
                                      if (status.ok()) {
                                        response_->set_desired_version(twin_.desired().version());
                                      }
                                      Done(status);
                                    });
  }

  void Done(const grpc::Status& status) {
    reactor_->Finish(status);
    delete this;
  }

  store::v1::TwinStore::Stub* const twins_;
  grpc::ServerUnaryReactor* const reactor_;
  v1::SetRoutesResponse* const response_;
  std::unique_ptr<grpc::ClientContext> context_;
  store::v1::GetTwinRequest twin_request_;
  store::v1::ReplaceDesiredRequest replace_request_;
  store::v1::Twin twin_;
};

}  // namespace

grpc::ServerUnaryReactor* RouterGrpcService::SetRoutes(grpc::CallbackServerContext* context,
                                                       const v1::SetRoutesRequest* request,
                                                       v1::SetRoutesResponse* response) {
  absl::StatusOr<std::shared_ptr<const RoutesConfig>> valid =
      CompileRoutesConfig(0, request->desired_json());
  if (!valid.ok()) {
    // Here FAILED_PRECONDITION means a stale expected_version; a bad schemaVersion is bad input.
    return FinishUnary(context, absl::InvalidArgumentError(valid.status().message()));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto* call =
      new SetRoutesCall(twin_stub_.get(), twin_id_, request->desired_json(), reactor, response);
  call->Start(request->has_expected_version() ? std::optional<int64_t>(request->expected_version())
                                              : std::nullopt);
  return reactor;
}

}  // namespace edge::router
