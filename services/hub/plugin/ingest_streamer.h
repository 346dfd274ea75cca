// IngestStreamer: sends the ingest journal to the router (edge.router.v1 Ingest) and trims it as
// the router acknowledges — an ack means the store committed the batch (DESIGN.md "Data flows",
// steps 3–4).
//
// One worker thread sends batches of consecutive journal entries: a batch goes out at once when
// nothing is in flight, otherwise when `batch_messages` entries are waiting or the oldest waited
// `linger`; at most `max_batches_in_flight` unacknowledged. A second thread reads the router's
// answers (one per batch, in order): an ack or a rejection trims the journal through the batch (a
// rejected batch is malformed and can never be stored: logged and counted). When the stream
// breaks (router restarting), everything not acknowledged is sent again on a new stream after a
// backoff; the store's journal high-water mark makes the replay harmless.
//
// Example:
//   IngestStreamer streamer(LocalServiceChannel(router_target), journal.get(), {}, metrics);
//   streamer.Start();
//   ...
//   streamer.Stop();  // before the journal is destroyed
//
// Thread-safe. Start once; Stop joins both threads (also from the destructor).
#ifndef EDGE_SERVICES_HUB_PLUGIN_INGEST_STREAMER_H_
#define EDGE_SERVICES_HUB_PLUGIN_INGEST_STREAMER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/retry_backoff.h"
#include "edge/router/v1/router.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "services/hub/plugin/ingest_journal.h"

namespace edge::hub {

class IngestStreamer {
 public:
  struct Options {
    size_t batch_messages = 256;
    size_t batch_bytes = 1 << 20;
    absl::Duration linger = absl::Milliseconds(1);
    size_t max_batches_in_flight = 16;
    RetryPolicy retry = {.initial = absl::Milliseconds(100), .max = absl::Seconds(2)};
  };

  // `journal` (not owned) outlives the streamer. Metrics are registered in `metrics`.
  IngestStreamer(std::shared_ptr<grpc::Channel> router, IngestJournal* journal, Options options,
                 MetricsRegistry& metrics);
  ~IngestStreamer();

  void Start();
  void Stop();

 private:
  struct InFlight {
    uint64_t first_sequence;
    uint64_t last_sequence;
    absl::Time sent_at;
  };
  using Stream = grpc::ClientReaderWriter<router::v1::IngestRequest, router::v1::IngestResponse>;

  void Run();
  // One stream's life: sends until it breaks or Stop. Returns true when something was acked.
  bool Session();
  void ReadAnswers(Stream* stream);
  bool SleepUnlessStopped(absl::Duration delay);

  std::unique_ptr<router::v1::Router::Stub> stub_;
  IngestJournal* const journal_;
  const Options options_;
  Counter& batches_acked_;
  Counter& batches_rejected_;
  Counter& stream_failures_;
  Histogram& ack_seconds_;

  absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;       // the current stream's reader saw it end
  bool peer_closed_ ABSL_GUARDED_BY(mu_) = false;  // ... because the router ended it
  bool acked_any_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::deque<InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_INGEST_STREAMER_H_
