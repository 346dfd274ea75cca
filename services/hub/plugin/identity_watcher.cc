#include "services/hub/plugin/identity_watcher.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>

#include "common/edge_home.h"
#include "common/logging.h"
#include "common/retry_backoff.h"
#include "edge/hub/v1/identity_cache.pb.h"
#include "edge/store/v1/watch.grpc.pb.h"

namespace edge::hub {
namespace {

constexpr RetryPolicy kRetry{.initial = absl::Milliseconds(200), .max = absl::Seconds(1)};

}  // namespace

IdentityWatcher::IdentityWatcher(std::shared_ptr<grpc::Channel> store,
                                 std::filesystem::path cache_file, Publish publish,
                                 DesiredChanged desired)
    : channel_(std::move(store)),
      cache_file_(std::move(cache_file)),
      publish_(std::move(publish)),
      desired_(std::move(desired)) {}

IdentityWatcher::~IdentityWatcher() { Stop(); }

IdentityTable IdentityWatcher::ToTable(
    const std::map<std::string, store::v1::Identity>& identities) {
  IdentityTable table;
  table.reserve(identities.size());
  for (const auto& [id, identity] : identities) {
    IdentityRecord& record = table[id];
    record.x509 = identity.auth_type() == store::v1::AUTH_TYPE_X509_CA;
    record.primary_key = identity.primary_key();
    record.secondary_key = identity.secondary_key();
    record.enabled = identity.enabled();
  }
  return table;
}

void IdentityWatcher::Start() {
  std::ifstream in(cache_file_, std::ios::binary);
  if (in) {
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    v1::IdentityCache cache;
    if (cache.ParseFromString(bytes)) {
      for (store::v1::Identity& identity : *cache.mutable_identities()) {
        std::string id = identity.id();
        identities_[id] = std::move(identity);
      }
      cursor_ = cache.sequence();
      spdlog::info("hub: {} identities from {} (change sequence {})", identities_.size(),
                   cache_file_.string(), cursor_);
      publish_(std::make_shared<const IdentityTable>(ToTable(identities_)));
    } else {
      spdlog::warn("hub: ignoring unreadable identity cache {}", cache_file_.string());
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void IdentityWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void IdentityWatcher::Run() {
  RetryBackoff backoff(kRetry);
  bool reported_outage = false;
  while (true) {
    const uint64_t cursor_before = cursor_;
    if (!WatchOnce()) return;
    if (cursor_ != cursor_before) {
      backoff.Reset();
      reported_outage = false;
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff.Next())) return;
    if (!reported_outage) {
      reported_outage = true;
      spdlog::warn(
          "hub: the store's identity feed is unavailable; authenticating with the {} identities "
          "held, retrying",
          identities_.size());
    }
  }
}

bool IdentityWatcher::WatchOnce() {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    active_ = &context;
  }
  // Waits for the store to be reachable (the channel reconnects within a second, see
  // LocalServiceChannel) instead of failing at once; Stop() cancels the wait.
  context.set_wait_for_ready(true);
  store::v1::WatchRequest request;
  request.add_kinds(store::v1::CHANGE_KIND_IDENTITY);
  if (desired_ != nullptr) request.add_kinds(store::v1::CHANGE_KIND_TWIN_DESIRED);
  request.set_from_sequence(cursor_);
  in_snapshot_ = false;
  snapshot_.clear();
  auto stub = store::v1::ChangeFeed::NewStub(channel_);
  std::unique_ptr<grpc::ClientReader<store::v1::WatchResponse>> reader =
      stub->Watch(&context, request);
  store::v1::WatchResponse response;
  while (reader->Read(&response)) {
    if (Apply(response)) PublishAndCache();
  }
  grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mu_);
  active_ = nullptr;
  if (stopping_) return false;
  spdlog::debug("hub: identity watch ended: {}", status.error_message());
  return true;
}

bool IdentityWatcher::Apply(const store::v1::WatchResponse& response) {
  bool identities_changed = false;
  for (const store::v1::Change& change : response.changes()) {
    if (change.kind() == store::v1::CHANGE_KIND_TWIN_DESIRED) {
      if (!change.snapshot() && desired_ != nullptr) {
        desired_(change);
        cursor_ = std::max(cursor_, change.sequence());
      }
      continue;
    }
    if (change.kind() != store::v1::CHANGE_KIND_IDENTITY) continue;
    if (change.snapshot()) {
      in_snapshot_ = true;
      snapshot_[change.id()] = change.identity();
      continue;
    }
    if (change.op() == store::v1::CHANGE_OP_DELETE) {
      identities_.erase(change.id());
    } else {
      identities_[change.id()] = change.identity();
    }
    identities_changed = true;
    cursor_ = std::max(cursor_, change.sequence());
  }
  if (response.snapshot_end()) {
    identities_ = std::move(snapshot_);
    snapshot_.clear();
    in_snapshot_ = false;
    cursor_ = response.snapshot_sequence();
    return true;
  }
  return !in_snapshot_ && identities_changed;
}

void IdentityWatcher::PublishAndCache() {
  publish_(std::make_shared<const IdentityTable>(ToTable(identities_)));
  v1::IdentityCache cache;
  cache.set_sequence(cursor_);
  for (const auto& [id, identity] : identities_) *cache.add_identities() = identity;
  if (absl::Status written = WriteFileAtomically(cache_file_, cache.SerializeAsString(), 0600);
      !written.ok()) {
    spdlog::warn("hub: cannot cache identities: {}", written.message());
  }
}

}  // namespace edge::hub
