// IdentityWatcher: keeps the hub's copy of the store's identities current on its own thread.
//
// It follows the store's change feed (ChangeFeed.Watch, identities only) from its cursor, and after
// every snapshot or batch of changes hands a complete new IdentityTable to `publish` (the plugin
// posts it to the broker thread). Each new state is also written to a cache file (0600: it holds
// keys) that Start() loads first, so a hub started while the store is down still authenticates,
// and the watch resumes from the cached cursor instead of taking a snapshot. While the store is
// unreachable the watch waits for it (wait-for-ready on a channel that reconnects within a second)
// and the last table stays in force; a watch that ends is reopened after 0.2 s, backing off to 1 s.
//
// The same watch (one cursor) also carries twins' desired-property changes when `desired` is given:
// each change after the start (not the snapshot) goes to it, for the hub to push to a connected
// client. Changes made while the hub was down are passed on too when it resumes from its cache.
//
// Example:
//   IdentityWatcher watcher(store_channel, DataDir(home) / "hub-identities.cache",
//                           [&](auto table) { plugin.PostIdentities(std::move(table)); });
//   watcher.Start();
//   ...
//   watcher.Stop();  // cancels the watch and joins the thread
#ifndef EDGE_SERVICES_HUB_PLUGIN_IDENTITY_WATCHER_H_
#define EDGE_SERVICES_HUB_PLUGIN_IDENTITY_WATCHER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "edge/store/v1/identities.pb.h"
#include "edge/store/v1/watch.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "services/hub/plugin/client_auth.h"

namespace edge::hub {

class IdentityWatcher {
 public:
  using Publish = std::function<void(std::shared_ptr<const IdentityTable>)>;
  // A desired-properties change of one twin (CHANGE_KIND_TWIN_DESIRED, PATCH or REPLACE).
  using DesiredChanged = std::function<void(const store::v1::Change& change)>;

  IdentityWatcher(std::shared_ptr<grpc::Channel> store, std::filesystem::path cache_file,
                  Publish publish, DesiredChanged desired = nullptr);
  ~IdentityWatcher();

  // Loads the cache (publishing its table at once when there is one; an unreadable cache is logged
  // and ignored) and starts the watch thread.
  void Start();
  // Cancels the watch and joins the thread. Idempotent.
  void Stop();

  // Builds the table the hub authenticates with from store identities.
  static IdentityTable ToTable(const std::map<std::string, store::v1::Identity>& identities);

 private:
  void Run();
  // One Watch call until it ends; applies and publishes what it receives. False once stopping.
  bool WatchOnce();
  // Applies one response to `identities_`; true when a consistent state was reached (end of
  // snapshot, or changes outside a snapshot).
  bool Apply(const store::v1::WatchResponse& response);
  void PublishAndCache();

  const std::shared_ptr<grpc::Channel> channel_;
  const std::filesystem::path cache_file_;
  const Publish publish_;
  const DesiredChanged desired_;

  // Watch-thread state.
  std::map<std::string, store::v1::Identity> identities_;
  std::map<std::string, store::v1::Identity> snapshot_;  // being received
  bool in_snapshot_ = false;
  uint64_t cursor_ = 0;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_IDENTITY_WATCHER_H_
