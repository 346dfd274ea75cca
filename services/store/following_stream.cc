#include "services/store/following_stream.h"

#include <atomic>
#include <vector>

namespace edge::store {

uint64_t NewWaiterId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

StreamWaker::StreamWaker() : thread_([this] { Run(); }) {}

StreamWaker::~StreamWaker() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

uint64_t StreamWaker::Register(WakeableStream* stream) {
  absl::MutexLock lock(&mu_);
  if (ending_) return 0;
  const uint64_t id = next_id_++;
  streams_[id] = stream;
  return id;
}

void StreamWaker::Unregister(uint64_t id) {
  absl::MutexLock lock(&mu_);
  streams_.erase(id);
}

void StreamWaker::Wake(uint64_t id) {
  absl::MutexLock lock(&mu_);
  to_wake_.push_back(id);
}

void StreamWaker::EndAll() {
  std::vector<WakeableStream*> streams;
  {
    absl::MutexLock lock(&mu_);
    ending_ = true;
    for (auto& [id, stream] : streams_) {
      stream->Ref();
      streams.push_back(stream);
    }
  }
  for (WakeableStream* stream : streams) {
    stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store is shutting down"));
    stream->Unref();
  }
}

void StreamWaker::Run() {
  while (true) {
    WakeableStream* stream = nullptr;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](StreamWaker* w)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return w->stopping_ || !w->to_wake_.empty(); },
          this));
      if (stopping_) return;
      const uint64_t id = to_wake_.front();
      to_wake_.pop_front();
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;  // already done
      stream = it->second;
      stream->Ref();
    }
    stream->Pump();
    stream->Unref();
  }
}

}  // namespace edge::store
