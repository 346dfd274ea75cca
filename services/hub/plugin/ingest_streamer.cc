#include "services/hub/plugin/ingest_streamer.h"

#include <utility>
#include <vector>

#include "common/logging.h"

namespace edge::hub {
namespace {

// How long the sender waits in the journal before it looks at its stream again.
constexpr absl::Duration kReadSlice = absl::Milliseconds(100);

}  // namespace

IngestStreamer::IngestStreamer(std::shared_ptr<grpc::Channel> router, IngestJournal* journal,
                               Options options, MetricsRegistry& metrics)
    : stub_(router::v1::Router::NewStub(router)),
      journal_(journal),
      options_(options),
      batches_acked_(metrics.AddCounter(
          "edge_hub_ingest_batches_total",
          "Journal batches the router acknowledged (the store committed them).")),
      batches_rejected_(metrics.AddCounter(
          "edge_hub_ingest_rejected_batches_total",
          "Journal batches the router rejected as malformed (dropped; logged at error).")),
      stream_failures_(metrics.AddCounter(
          "edge_hub_ingest_stream_failures_total",
          "Ingest streams to the router that broke (unacknowledged batches are sent again).")),
      ack_seconds_(metrics.AddHistogram("edge_hub_ingest_ack_seconds",
                                        "Time from sending a batch to the router's ack.")) {}

IngestStreamer::~IngestStreamer() { Stop(); }

void IngestStreamer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void IngestStreamer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
    changed_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void IngestStreamer::Run() {
  RetryBackoff backoff(options_.retry);
  while (true) {
    const bool progressed = Session();
    if (progressed) backoff.Reset();
    if (!SleepUnlessStopped(backoff.Next())) return;
  }
}

bool IngestStreamer::SleepUnlessStopped(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + delay;
  while (!stopping_) {
    if (changed_.WaitWithDeadline(&mu_, until)) break;
  }
  return !stopping_;
}

bool IngestStreamer::Session() {
  grpc::ClientContext context;
  // A router that is restarting: the stream opens when it is back rather than failing at once.
  context.set_wait_for_ready(true);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    call_ = &context;
    broken_ = false;
    peer_closed_ = false;
    acked_any_ = false;
    in_flight_.clear();
  }
  std::unique_ptr<Stream> stream = stub_->Ingest(&context);
  std::thread reader([this, &stream] { ReadAnswers(stream.get()); });

  uint64_t sent = journal_->acked_sequence();
  bool write_failed = false;
  while (true) {
    bool lingering = false;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && !broken_ && in_flight_.size() >= options_.max_batches_in_flight) {
        changed_.Wait(&mu_);
      }
      if (stopping_ || broken_) break;
      lingering = !in_flight_.empty();
    }
    std::vector<IngestJournal::Entry> entries = journal_->Read(
        sent, options_.batch_messages, options_.batch_bytes, absl::Now() + kReadSlice);
    if (entries.empty()) continue;
    if (lingering && entries.size() < options_.batch_messages) {
      // Something is in flight: give the batch a moment to fill, unless the ack comes first.
      {
        absl::MutexLock lock(&mu_);
        const absl::Time until = absl::Now() + options_.linger;
        while (!stopping_ && !broken_ && !in_flight_.empty()) {
          if (changed_.WaitWithDeadline(&mu_, until)) break;
        }
      }
      entries = journal_->Read(sent, options_.batch_messages, options_.batch_bytes, absl::Now());
      if (entries.empty()) continue;
    }

    router::v1::IngestRequest request;
    router::v1::IngestBatch* batch = request.mutable_batch();
    batch->set_journal_id(journal_->id());
    batch->set_first_sequence(entries.front().sequence);
    for (const IngestJournal::Entry& entry : entries) {
      // The journal checked each record's CRC; a message that still fails to parse goes as an
      // empty one, which the router rejects with the batch (logged) instead of stalling here.
      batch->add_messages()->ParseFromString(entry.message);
    }
    {
      absl::MutexLock lock(&mu_);
      in_flight_.push_back({.first_sequence = entries.front().sequence,
                            .last_sequence = entries.back().sequence,
                            .sent_at = absl::Now()});
    }
    if (!stream->Write(request)) {
      write_failed = true;
      break;
    }
    sent = entries.back().sequence;
  }

  {
    // A stream the router ended has its status waiting; cancelling would replace it.
    absl::MutexLock lock(&mu_);
    if (!peer_closed_) context.TryCancel();
  }
  reader.join();
  const grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  call_ = nullptr;
  if (!stopping_) {
    stream_failures_.Increment();
    spdlog::warn("hub: the ingest stream to the router ended ({}{}); {} batches go again",
                 write_failed ? "write failed: " : "", status.error_message(), in_flight_.size());
  }
  return acked_any_;
}

void IngestStreamer::ReadAnswers(Stream* stream) {
  router::v1::IngestResponse response;
  bool read = false;
  while ((read = stream->Read(&response))) {
    InFlight batch;
    {
      absl::MutexLock lock(&mu_);
      if (in_flight_.empty()) {
        spdlog::error("hub: the router answered an ingest batch the hub never sent; reconnecting");
        break;
      }
      batch = in_flight_.front();
      in_flight_.pop_front();
      acked_any_ = true;
    }
    if (response.has_ack()) {
      batches_acked_.Increment();
      ack_seconds_.ObserveDuration(absl::Now() - batch.sent_at);
    } else {
      batches_rejected_.Increment();
      spdlog::error("hub: the router rejected journal entries {}-{} and they are dropped: {}",
                    batch.first_sequence, batch.last_sequence, response.rejected().message());
    }
    journal_->Trim(batch.last_sequence);
    absl::MutexLock lock(&mu_);
    changed_.SignalAll();
  }
  absl::MutexLock lock(&mu_);
  broken_ = true;
  peer_closed_ = !read;
  changed_.SignalAll();
}

}  // namespace edge::hub
