// FollowingStream: a server-streaming reactor that sends pages of something that grows (a queue,
// the change log) and, once caught up, waits to be woken instead of polling. StreamWaker owns the
// open streams and the one thread that resumes them.
//
// A stream is driven by a Source:
//   - Next(&response) fills the next page: true if it wrote something, false when caught up;
//   - Wait(wake) registers `wake` for when more may be there, or returns false if more already is
//     (read again); CancelWait() undoes it.
// Every StartWrite and the single Finish are issued under the stream's state machine: at most one
// write in flight, nothing after Finish, and Finish only after the write in flight completed.
//
// Lifetime: reference-counted. gRPC holds one reference until OnDone; whoever resumes a stream
// from outside a reaction (the waker thread, EndAll) takes another under the waker's lock.
//
// Example:
//   auto* stream = new FollowingStream<v1::ReadQueueResponse>(&waker, std::move(source),
//                                                             /*stop_at_end=*/false);
//   stream->Start();
//   return stream;
#ifndef EDGE_SERVICES_STORE_FOLLOWING_STREAM_H_
#define EDGE_SERVICES_STORE_FOLLOWING_STREAM_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "grpcpp/support/server_callback.h"

namespace edge::store {

// A process-wide unique id for a Source to register its wake-up under (QueueStore and Registry
// key their waiters by it).
uint64_t NewWaiterId();

// What StreamWaker needs of a stream, whatever its response type.
class WakeableStream {
 public:
  virtual ~WakeableStream() = default;
  virtual void Ref() = 0;
  virtual void Unref() = 0;
  virtual void Pump() = 0;
  virtual void End(const grpc::Status& status) = 0;
};

// Created before the gRPC server starts; EndAll() before it shuts down; destroyed after it.
class StreamWaker {
 public:
  StreamWaker();
  ~StreamWaker();

  // Registers a stream; returns its id, or 0 when EndAll has been called (refuse the stream).
  uint64_t Register(WakeableStream* stream);
  void Unregister(uint64_t id);
  // Resumes stream `id` on the waker thread. Cheap; callable from any thread.
  void Wake(uint64_t id);
  // Ends every open stream with UNAVAILABLE; later Register calls return 0.
  void EndAll();

 private:
  void Run();

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<uint64_t, WakeableStream*> streams_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> to_wake_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

template <typename Response>
class FollowingStream final : public grpc::ServerWriteReactor<Response>, public WakeableStream {
 public:
  class Source {
   public:
    virtual ~Source() = default;
    virtual absl::StatusOr<bool> Next(Response* response) = 0;
    virtual bool Wait(std::function<void()> wake) = 0;
    virtual void CancelWait() = 0;
  };

  FollowingStream(StreamWaker* waker, std::unique_ptr<Source> source, bool stop_at_end)
      : waker_(waker), source_(std::move(source)), stop_at_end_(stop_at_end) {}

  // Registers with the waker and sends the first page. Call once, from the RPC handler.
  void Start() {
    id_ = waker_->Register(this);
    if (id_ == 0) {
      End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store is shutting down"));
      return;
    }
    Ref();
    Pump();
    Unref();
  }

  void Ref() override { refs_.fetch_add(1); }
  void Unref() override {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void Pump() override {
    while (true) {
      absl::ReleasableMutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (cancelled_ || !end_status_.ok()) {
        FinishLocked(lock, cancelled_ ? grpc::Status::CANCELLED : end_status_);
        return;
      }
      response_.Clear();
      absl::StatusOr<bool> wrote = source_->Next(&response_);
      if (!wrote.ok()) {
        FinishLocked(lock, ToGrpcStatus(wrote.status()));
        return;
      }
      if (*wrote) {
        writing_ = true;
        lock.Release();
        this->StartWrite(&response_);
        return;
      }
      if (stop_at_end_) {
        FinishLocked(lock, grpc::Status::OK);
        return;
      }
      StreamWaker* waker = waker_;
      const uint64_t id = id_;
      if (source_->Wait([waker, id] { waker->Wake(id); })) return;
      // More arrived between the read and the registration: read again.
    }
  }

  void End(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.ok()) end_status_ = status;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;  // the client went away
    }
    Ref();
    Pump();
    Unref();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Ref();
    Pump();
    Unref();
  }

  void OnDone() override {
    source_->CancelWait();
    if (id_ != 0) waker_->Unregister(id_);
    Unref();
  }

 private:
  void FinishLocked(absl::ReleasableMutexLock& lock, const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    lock.Release();
    this->Finish(status);
  }

  StreamWaker* const waker_;
  uint64_t id_ = 0;
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  std::unique_ptr<Source> source_ ABSL_GUARDED_BY(mu_);
  const bool stop_at_end_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  Response response_;
};

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_FOLLOWING_STREAM_H_
