// TwinRequests: a client's twin GET and reported-properties PATCH (docs/iothub-surface.md §2),
// answered from the store.
//
// Started from the broker thread (MESSAGE) without blocking: each request is one asynchronous store
// call (gRPC's callback API) whose completion, on a gRPC thread, hands the answer — a response
// topic `$iothub/twin/res/{status}/?$rid={rid}[&$version={v}]` and its body — to `respond`, which
// the plugin posts back to the broker thread for a targeted publish.
//
// Status codes: GET 200 with {"desired":{…,"$version":n},"reported":{…,"$version":m}}; PATCH 204
// with the new reported `$version`; 400 for a body that is not a JSON object (or that the store
// refuses: a key with `$`, `.` or a space, nesting deeper than 10), 404 for a twin that is gone,
// 413 when a section would exceed 32 KiB, 503 when the store is unavailable, 500 otherwise; every
// error body is {"message": "…"}.
//
// Example:
//   TwinRequests twins(store_channel, [&](TwinAnswer answer) { PostToBroker(answer); });
//   twins.Get("edge-1/filter", "edge-1/filter", "7");
//   twins.PatchReported("edge-1/filter", "edge-1/filter", "8", R"({"state":"ok"})");
//
// Thread-safe. In-flight calls are cancelled and waited for by the destructor.
#ifndef EDGE_SERVICES_HUB_PLUGIN_TWIN_REQUESTS_H_
#define EDGE_SERVICES_HUB_PLUGIN_TWIN_REQUESTS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "edge/store/v1/watch.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace edge::hub {

struct TwinAnswer {
  std::string client_id;  // who asked
  std::string topic;      // $iothub/twin/res/...
  std::string body;
  // A successful PATCH: the twin id, the patch as applied and the new reported version, for the
  // twin change notification.
  std::optional<int64_t> patched_version;
  std::string twin_id;
  std::string patch_json;
};

// `$iothub/twin/res/{status}/?$rid={rid}` and `&$version={version}` when given.
std::string TwinResponseTopic(int status, absl::string_view rid,
                              std::optional<int64_t> version = std::nullopt);

// The HTTP-like status a twin request gets for a failed store call.
int TwinErrorStatus(grpc::StatusCode code);

// What a client subscribed to desired changes receives for `change` (a CHANGE_KIND_TWIN_DESIRED
// change from the store's feed): topic `$iothub/twin/PATCH/properties/desired/?$version={v}` and
// the patch (for a replace, the whole document) with `$version`.
std::pair<std::string, std::string> DesiredPush(const store::v1::Change& change);

class TwinRequests {
 public:
  using Respond = std::function<void(TwinAnswer answer)>;

  TwinRequests(std::shared_ptr<grpc::Channel> store, Respond respond);
  ~TwinRequests();

  void Get(std::string client_id, std::string twin_id, std::string rid);
  void PatchReported(std::string client_id, std::string twin_id, std::string rid,
                     std::string patch_json);

 private:
  struct Call;
  void Started(Call* call);
  void Finished(Call* call, TwinAnswer answer);

  std::unique_ptr<store::v1::TwinStore::Stub> stub_;
  const Respond respond_;
  absl::Mutex mu_;
  std::set<Call*> calls_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_TWIN_REQUESTS_H_
