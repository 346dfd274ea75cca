#include "services/store/registry.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/str_cat.h"
#include "common/identity_id.h"
#include "common/sas.h"
#include "common/status_macros.h"
#include "services/store/schema.h"
#include "services/store/sqlite_status.h"
#include "services/store/twin_document.h"

namespace edge::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kMaxStateNameLength = 128;
constexpr size_t kMaxStateValueBytes = 1 << 20;
constexpr int64_t kPruneEvery = 100;

// Thrown inside a write transaction to roll it back with a specific status; caught by Write.
struct Abort {
  absl::Status status;
};

[[noreturn]] void Fail(absl::Status status) { throw Abort{std::move(status)}; }

template <typename T>
T ValueOrFail(absl::StatusOr<T> result) {
  if (!result.ok()) Fail(result.status());
  return *std::move(result);
}

absl::Status CheckStateName(absl::string_view value, absl::string_view field) {
  if (value.empty() || value.size() > kMaxStateNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be 1 to 128 characters"));
  }
  for (unsigned char c : value) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": only printable ASCII without spaces is allowed"));
    }
  }
  return absl::OkStatus();
}

std::string ChangeData(const v1::Change& change) { return change.SerializeAsString(); }

v1::Change ChangeFromRow(SQLite::Statement& row) {
  v1::Change change;
  const SQLite::Column data = row.getColumn(1);
  change.ParseFromArray(data.getBlob(), data.getBytes());
  change.set_sequence(static_cast<uint64_t>(row.getColumn(0).getInt64()));
  return change;
}

}  // namespace

bool ChangeFilter::Matches(v1::ChangeKind kind, absl::string_view id) const {
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) return false;
  if (!ids.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) return false;
  return true;
}

// The state of one write transaction: the changes to log when it commits.
struct RegistryWrite {
  SQLite::Database& db;
  int64_t now_ms;
  std::vector<v1::Change> changes;

  std::optional<v1::Identity> LoadIdentity(absl::string_view id) {
    SQLite::Statement q(db, "SELECT data FROM identities WHERE id = ?");
    q.bind(1, std::string(id));
    if (!q.executeStep()) return std::nullopt;
    v1::Identity identity;
    const SQLite::Column data = q.getColumn(0);
    identity.ParseFromArray(data.getBlob(), data.getBytes());
    return identity;
  }

  void StoreIdentity(const v1::Identity& identity, absl::string_view device_id) {
    SQLite::Statement q(db,
                        "INSERT INTO identities (id, device_id, data) VALUES (?, ?, ?) "
                        "ON CONFLICT (id) DO UPDATE SET data = excluded.data");
    q.bind(1, identity.id());
    q.bind(2, std::string(device_id));
    const std::string data = identity.SerializeAsString();
    q.bind(3, data.data(), static_cast<int>(data.size()));
    q.exec();
    v1::Change& change = changes.emplace_back();
    change.set_kind(v1::CHANGE_KIND_IDENTITY);
    change.set_op(v1::CHANGE_OP_UPSERT);
    change.set_id(identity.id());
    change.set_version(identity.version());
    *change.mutable_identity() = identity;
  }

  // Loads a twin; NOT_FOUND when its identity does not exist.
  v1::Twin LoadTwin(absl::string_view id) {
    SQLite::Statement q(db,
                        "SELECT desired, desired_version, desired_upstream_version, reported, "
                        "reported_version FROM twins WHERE id = ?");
    q.bind(1, std::string(id));
    if (!q.executeStep()) {
      Fail(absl::NotFoundError(absl::StrCat("no identity \"", id, "\" (so no twin)")));
    }
    v1::Twin twin;
    twin.set_id(std::string(id));
    twin.mutable_desired()->set_json(q.getColumn(0).getString());
    twin.mutable_desired()->set_version(q.getColumn(1).getInt64());
    twin.mutable_desired()->set_upstream_version(q.getColumn(2).getInt64());
    twin.mutable_reported()->set_json(q.getColumn(3).getString());
    twin.mutable_reported()->set_version(q.getColumn(4).getInt64());
    return twin;
  }

  void StoreTwin(const v1::Twin& twin) {
    SQLite::Statement q(db,
                        "INSERT INTO twins (id, desired, desired_version, "
                        "desired_upstream_version, reported, reported_version) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "
                        "desired = ?2, desired_version = ?3, desired_upstream_version = ?4, "
                        "reported = ?5, reported_version = ?6");
    q.bind(1, twin.id());
    q.bind(2, twin.desired().json());
    q.bind(3, twin.desired().version());
    q.bind(4, twin.desired().upstream_version());
    q.bind(5, twin.reported().json());
    q.bind(6, twin.reported().version());
    q.exec();
  }

  void LogTwinChange(const v1::Twin& twin, v1::ChangeKind kind, v1::ChangeOp op,
                     const std::string& json) {
    const v1::TwinSection& section =
        kind == v1::CHANGE_KIND_TWIN_DESIRED ? twin.desired() : twin.reported();
    v1::Change& change = changes.emplace_back();
    change.set_kind(kind);
    change.set_op(op);
    change.set_id(twin.id());
    change.set_version(section.version());
    change.set_upstream_version(section.upstream_version());
    if (op == v1::CHANGE_OP_PATCH) {
      change.set_patch_json(json);
    } else {
      change.set_document_json(json);
    }
  }

  void CreateTwin(const std::string& id) {
    v1::Twin twin;
    twin.set_id(id);
    twin.mutable_desired()->set_json("{}");
    twin.mutable_desired()->set_version(1);
    twin.mutable_reported()->set_json("{}");
    twin.mutable_reported()->set_version(1);
    StoreTwin(twin);
    LogTwinChange(twin, v1::CHANGE_KIND_TWIN_DESIRED, v1::CHANGE_OP_REPLACE, "{}");
    LogTwinChange(twin, v1::CHANGE_KIND_TWIN_REPORTED, v1::CHANGE_OP_REPLACE, "{}");
  }

  void DeleteOne(const std::string& id) {
    for (const char* sql :
         {"DELETE FROM identities WHERE id = ?", "DELETE FROM twins WHERE id = ?"}) {
      SQLite::Statement q(db, sql);
      q.bind(1, id);
      q.exec();
    }
    for (v1::ChangeKind kind :
         {v1::CHANGE_KIND_TWIN_DESIRED, v1::CHANGE_KIND_TWIN_REPORTED, v1::CHANGE_KIND_IDENTITY}) {
      v1::Change& change = changes.emplace_back();
      change.set_kind(kind);
      change.set_op(v1::CHANGE_OP_DELETE);
      change.set_id(id);
    }
  }
};

Registry::Registry(const RegistryOptions& options, const Clock* clock)
    : options_(options), clock_(clock) {}

Registry::~Registry() = default;

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(const RegistryOptions& options,
                                                         const Clock* clock) {
  std::unique_ptr<Registry> registry(new Registry(options, clock));
  RETURN_IF_ERROR(registry->Init());
  return registry;
}

absl::Status Registry::Init() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(RunSqlite(absl::StrCat("opening ", options_.database.string()), [&] {
    db_ = std::make_unique<SQLite::Database>(
        options_.database.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
  }));
  RETURN_IF_ERROR(MigrateSchema(*db_));
  ASSIGN_OR_RETURN(uint64_t last, RunSqlite("reading the change log", [&] {
                     db_->exec("PRAGMA journal_mode = WAL");
                     SQLite::Statement q(*db_, "SELECT seq FROM sqlite_sequence WHERE name = ?");
                     q.bind(1, "changes");
                     return q.executeStep() ? static_cast<uint64_t>(q.getColumn(0).getInt64())
                                            : uint64_t{0};
                   }));
  ASSIGN_OR_RETURN(edge_device_, RunSqlite("reading settings", [&] {
                     SQLite::Statement q(*db_, "SELECT value FROM settings WHERE key = ?");
                     q.bind(1, "edge_device");
                     return q.executeStep() ? q.getColumn(0).getString() : std::string();
                   }));
  absl::MutexLock waiters_lock(&waiters_mu_);
  last_sequence_ = last;
  return absl::OkStatus();
}

template <typename Fn>
auto Registry::Write(absl::string_view what, Fn&& fn) {
  using Result = std::invoke_result_t<Fn, RegistryWrite&>;
  absl::StatusOr<Result> result = absl::InternalError("not run");
  uint64_t last = 0;
  {
    absl::MutexLock lock(&mu_);
    RegistryWrite write{*db_, absl::ToUnixMillis(clock_->Now()), {}};
    try {
      // IMMEDIATE: the write lock is taken at BEGIN, where the busy timeout applies (see
      // queue_store.cc).
      SQLite::Transaction txn(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      Result value = fn(write);
      SQLite::Statement log(*db_, "INSERT INTO changes (kind, id, data) VALUES (?, ?, ?)");
      for (const v1::Change& change : write.changes) {
        log.bind(1, static_cast<int>(change.kind()));
        log.bind(2, change.id());
        const std::string data = ChangeData(change);
        log.bind(3, data.data(), static_cast<int>(data.size()));
        log.exec();
        log.reset();
        last = static_cast<uint64_t>(db_->getLastInsertRowid());
      }
      if (!write.changes.empty() && ++writes_since_prune_ >= kPruneEvery) {
        writes_since_prune_ = 0;
        SQLite::Statement prune(*db_, "DELETE FROM changes WHERE seq <= ?");
        prune.bind(1, static_cast<int64_t>(last) - options_.change_retention);
        prune.exec();
      }
      txn.commit();
      result = std::move(value);
    } catch (const Abort& abort) {
      result = abort.status;
      last = 0;
    } catch (const SQLite::Exception& e) {
      result = SqliteError(what, e);
      last = 0;
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat(what, ": ", e.what()));
      last = 0;
    }
  }
  if (last != 0) {
    std::vector<std::function<void()>> wakes;
    {
      absl::MutexLock lock(&waiters_mu_);
      last_sequence_ = last;
      for (auto& [id, wake] : waiters_) wakes.push_back(std::move(wake));
      waiters_.clear();
    }
    for (auto& wake : wakes) wake();
  }
  return result;
}

// --- Identities ---

absl::StatusOr<v1::Identity> Registry::CreateIdentity(const v1::CreateIdentityRequest& request) {
  ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse(request.identity().id()));
  v1::Identity identity = request.identity();
  identity.set_id(id.ToString());
  if (identity.auth_type() == v1::AUTH_TYPE_UNSPECIFIED) identity.set_auth_type(v1::AUTH_TYPE_SAS);
  for (std::string* key : {identity.mutable_primary_key(), identity.mutable_secondary_key()}) {
    if (key->empty()) {
      *key = GenerateSymmetricKey();
    } else if (absl::Status s = ValidateSymmetricKey(*key); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "identity.", key == identity.mutable_primary_key() ? "primary_key" : "secondary_key",
          ": ", s.message()));
    }
  }
  if (id.is_module() && !identity.parent_id().empty()) {
    return absl::InvalidArgumentError("identity.parent_id: only devices have a parent");
  }
  identity.set_enabled(!request.disabled());
  return Write("creating an identity", [&](RegistryWrite& w) {
    if (w.LoadIdentity(identity.id())) {
      Fail(absl::AlreadyExistsError(absl::StrCat("identity \"", identity.id(), "\" exists")));
    }
    if (id.is_module() && !w.LoadIdentity(id.device())) {
      Fail(absl::NotFoundError(absl::StrCat("device \"", id.device(),
                                            "\" does not exist; create it before its module")));
    }
    if (!identity.parent_id().empty()) {
      IdentityId parent = ValueOrFail(IdentityId::Parse(identity.parent_id()));
      if (parent.is_module() || !w.LoadIdentity(parent.device())) {
        Fail(absl::NotFoundError(
            absl::StrCat("parent device \"", identity.parent_id(), "\" does not exist")));
      }
    }
    identity.set_created_unix_ms(w.now_ms);
    identity.set_version(1);
    w.StoreIdentity(identity, id.device());
    w.CreateTwin(identity.id());
    return identity;
  });
}

absl::StatusOr<v1::Identity> Registry::GetIdentity(absl::string_view id) {
  ASSIGN_OR_RETURN(IdentityId parsed, IdentityId::Parse(id));
  absl::MutexLock lock(&mu_);
  RegistryWrite read{*db_, 0, {}};
  ASSIGN_OR_RETURN(std::optional<v1::Identity> identity, RunSqlite("reading an identity", [&] {
                     return read.LoadIdentity(parsed.ToString());
                   }));
  if (!identity) return absl::NotFoundError(absl::StrCat("identity \"", id, "\" does not exist"));
  return *identity;
}

absl::StatusOr<std::vector<v1::Identity>> Registry::ListIdentities(absl::string_view device_id) {
  if (!device_id.empty()) RETURN_IF_ERROR(IdentityId::Parse(device_id).status());
  absl::MutexLock lock(&mu_);
  return RunSqlite("listing identities", [&] {
    SQLite::Statement q(*db_, device_id.empty()
                                  ? "SELECT data FROM identities ORDER BY id"
                                  : "SELECT data FROM identities WHERE device_id = ? ORDER BY id");
    if (!device_id.empty()) q.bind(1, std::string(device_id));
    std::vector<v1::Identity> identities;
    while (q.executeStep()) {
      const SQLite::Column data = q.getColumn(0);
      identities.emplace_back().ParseFromArray(data.getBlob(), data.getBytes());
    }
    return identities;
  });
}

absl::StatusOr<v1::Identity> Registry::UpdateIdentity(const v1::UpdateIdentityRequest& request) {
  ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse(request.id()));
  for (const auto& [has, key, regenerate, field] :
       {std::tuple{request.has_primary_key(), request.primary_key(),
                   request.regenerate_primary_key(), "primary_key"},
        std::tuple{request.has_secondary_key(), request.secondary_key(),
                   request.regenerate_secondary_key(), "secondary_key"}}) {
    if (has && regenerate) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": give a key or regenerate it, not both"));
    }
    if (has) {
      if (absl::Status s = ValidateSymmetricKey(key); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
      }
    }
  }
  if (request.has_auth_type() && request.auth_type() == v1::AUTH_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError("auth_type: must be SAS or X509_CA");
  }
  if (id.is_module() && request.has_parent_id() && !request.parent_id().empty()) {
    return absl::InvalidArgumentError("parent_id: only devices have a parent");
  }
  return Write("updating an identity", [&](RegistryWrite& w) {
    std::optional<v1::Identity> found = w.LoadIdentity(id.ToString());
    if (!found)
      Fail(absl::NotFoundError(absl::StrCat("identity \"", request.id(), "\" does not exist")));
    v1::Identity identity = *std::move(found);
    if (request.has_auth_type()) identity.set_auth_type(request.auth_type());
    if (request.has_enabled()) identity.set_enabled(request.enabled());
    if (request.has_managed_by()) identity.set_managed_by(request.managed_by());
    if (request.has_parent_id()) {
      if (!request.parent_id().empty()) {
        IdentityId parent = ValueOrFail(IdentityId::Parse(request.parent_id()));
        if (parent.is_module() || !w.LoadIdentity(parent.device())) {
          Fail(absl::NotFoundError(
              absl::StrCat("parent device \"", request.parent_id(), "\" does not exist")));
        }
        if (parent.device() == id.device()) {
          Fail(absl::InvalidArgumentError("parent_id: a device cannot be its own parent"));
        }
      }
      identity.set_parent_id(request.parent_id());
    }
    if (request.has_primary_key()) identity.set_primary_key(request.primary_key());
    if (request.regenerate_primary_key()) identity.set_primary_key(GenerateSymmetricKey());
    if (request.has_secondary_key()) identity.set_secondary_key(request.secondary_key());
    if (request.regenerate_secondary_key()) identity.set_secondary_key(GenerateSymmetricKey());
    identity.set_version(identity.version() + 1);
    w.StoreIdentity(identity, id.device());
    return identity;
  });
}

absl::StatusOr<std::vector<std::string>> Registry::DeleteIdentity(absl::string_view id_text) {
  ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse(id_text));
  return Write("deleting an identity", [&](RegistryWrite& w) {
    if (!w.LoadIdentity(id.ToString())) {
      Fail(absl::NotFoundError(absl::StrCat("identity \"", id_text, "\" does not exist")));
    }
    if (id.device() == edge_device_ &&
        (!id.is_module() || id.module() == kEdgeAgentModule || id.module() == kEdgeHubModule)) {
      Fail(absl::FailedPreconditionError(absl::StrCat(
          "\"", id.ToString(), "\" is this edge device or one of its system modules")));
    }
    std::vector<std::string> deleted;
    if (!id.is_module()) {
      SQLite::Statement children(w.db, "SELECT id FROM identities WHERE device_id = ? AND id != ?");
      children.bind(1, id.device());
      children.bind(2, id.device());
      while (children.executeStep()) deleted.push_back(children.getColumn(0).getString());
    }
    deleted.push_back(id.ToString());
    for (const std::string& d : deleted) w.DeleteOne(d);
    return deleted;
  });
}

absl::Status Registry::EnsureEdgeDevice(absl::string_view device_id) {
  ASSIGN_OR_RETURN(IdentityId device, IdentityId::Parse(device_id));
  if (device.is_module()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device.id: \"", device_id, "\" is a module id"));
  }
  absl::StatusOr<bool> done = Write("creating the edge device", [&](RegistryWrite& w) {
    for (const std::string& id :
         {device.ToString(), absl::StrCat(device.device(), "/", kEdgeAgentModule),
          absl::StrCat(device.device(), "/", kEdgeHubModule)}) {
      if (w.LoadIdentity(id)) continue;
      v1::Identity identity;
      identity.set_id(id);
      identity.set_auth_type(v1::AUTH_TYPE_SAS);
      identity.set_primary_key(GenerateSymmetricKey());
      identity.set_secondary_key(GenerateSymmetricKey());
      identity.set_enabled(true);
      identity.set_managed_by(id == device.ToString() ? "" : "edge-store");
      identity.set_created_unix_ms(w.now_ms);
      identity.set_version(1);
      w.StoreIdentity(identity, device.device());
      w.CreateTwin(id);
    }
    SQLite::Statement setting(w.db,
                              "INSERT INTO settings (key, value) VALUES ('edge_device', ?1) "
                              "ON CONFLICT (key) DO UPDATE SET value = ?1");
    setting.bind(1, device.device());
    setting.exec();
    return true;
  });
  if (!done.ok()) return done.status();
  absl::MutexLock lock(&mu_);
  edge_device_ = device.device();
  return absl::OkStatus();
}

// --- Twins ---

absl::StatusOr<v1::Twin> Registry::GetTwin(absl::string_view id) {
  ASSIGN_OR_RETURN(IdentityId parsed, IdentityId::Parse(id));
  absl::MutexLock lock(&mu_);
  RegistryWrite read{*db_, 0, {}};
  try {
    return read.LoadTwin(parsed.ToString());
  } catch (const Abort& abort) {
    return abort.status;
  } catch (const SQLite::Exception& e) {
    return SqliteError("reading a twin", e);
  }
}

absl::StatusOr<v1::Twin> Registry::ReplaceDesired(const v1::ReplaceDesiredRequest& request) {
  ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse(request.id()));
  ASSIGN_OR_RETURN(nlohmann::json document, ParseTwinJson(request.json(), "desired properties"));
  RETURN_IF_ERROR(CheckTwinSize(document, "desired properties"));
  if (request.upstream_version() < 0) {
    return absl::InvalidArgumentError("upstream_version: must not be negative");
  }
  const std::string json = document.dump();
  return Write("replacing desired properties", [&](RegistryWrite& w) {
    v1::Twin twin = w.LoadTwin(id.ToString());
    if (request.has_expected_version() && request.expected_version() != twin.desired().version()) {
      Fail(absl::FailedPreconditionError(absl::StrCat(
          "desired properties of \"", twin.id(), "\" are at version ", twin.desired().version(),
          ", not the expected ", request.expected_version(), "; read them again and retry")));
    }
    twin.mutable_desired()->set_json(json);
    twin.mutable_desired()->set_version(twin.desired().version() + 1);
    twin.mutable_desired()->set_upstream_version(request.upstream_version());
    w.StoreTwin(twin);
    w.LogTwinChange(twin, v1::CHANGE_KIND_TWIN_DESIRED, v1::CHANGE_OP_REPLACE, json);
    return twin;
  });
}

namespace {

// Applies a patch request to one section of a twin inside a write.
v1::Twin PatchSection(RegistryWrite& w, const IdentityId& id, const nlohmann::json& patch,
                      bool desired, int64_t upstream_version) {
  v1::Twin twin = w.LoadTwin(id.ToString());
  v1::TwinSection* section = desired ? twin.mutable_desired() : twin.mutable_reported();
  nlohmann::json document = nlohmann::json::parse(section->json(), nullptr, false);
  if (document.is_discarded()) document = nlohmann::json::object();
  absl::Status merged = ApplyMergePatch(patch, &document);
  if (!merged.ok()) {
    Fail(absl::Status(merged.code(),
                      absl::StrCat(desired ? "desired" : "reported", " properties of \"", twin.id(),
                                   "\": ", merged.message())));
  }
  section->set_json(document.dump());
  section->set_version(section->version() + 1);
  if (desired) section->set_upstream_version(upstream_version);
  w.StoreTwin(twin);
  w.LogTwinChange(twin, desired ? v1::CHANGE_KIND_TWIN_DESIRED : v1::CHANGE_KIND_TWIN_REPORTED,
                  v1::CHANGE_OP_PATCH, patch.dump());
  return twin;
}

}  // namespace

absl::StatusOr<v1::Twin> Registry::PatchDesired(const v1::PatchTwinRequest& request) {
  ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse(request.id()));
  ASSIGN_OR_RETURN(nlohmann::json patch, ParseTwinJson(request.patch_json(), "desired patch"));
  if (request.upstream_version() < 0) {
    return absl::InvalidArgumentError("upstream_version: must not be negative");
  }
  return Write("patching desired properties", [&](RegistryWrite& w) {
    return PatchSection(w, id, patch, /*desired=*/true, request.upstream_version());
  });
}

absl::StatusOr<v1::Twin> Registry::PatchReported(const v1::PatchTwinRequest& request) {
  ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse(request.id()));
  ASSIGN_OR_RETURN(nlohmann::json patch, ParseTwinJson(request.patch_json(), "reported patch"));
  if (request.upstream_version() != 0) {
    return absl::InvalidArgumentError("upstream_version: only desired properties have one");
  }
  return Write("patching reported properties",
               [&](RegistryWrite& w) { return PatchSection(w, id, patch, /*desired=*/false, 0); });
}

// --- Service state ---

absl::StatusOr<v1::StateEntry> Registry::GetState(absl::string_view ns, absl::string_view key) {
  RETURN_IF_ERROR(CheckStateName(ns, "namespace"));
  RETURN_IF_ERROR(CheckStateName(key, "key"));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::optional<v1::StateEntry> entry, RunSqlite("reading state", [&] {
                     SQLite::Statement q(*db_,
                                         "SELECT value, version FROM service_state "
                                         "WHERE namespace = ? AND key = ?");
                     q.bind(1, std::string(ns));
                     q.bind(2, std::string(key));
                     std::optional<v1::StateEntry> found;
                     if (q.executeStep()) {
                       found.emplace();
                       found->set_namespace_(std::string(ns));
                       found->set_key(std::string(key));
                       const SQLite::Column value = q.getColumn(0);
                       found->set_value(value.getBlob(), static_cast<size_t>(value.getBytes()));
                       found->set_version(q.getColumn(1).getInt64());
                     }
                     return found;
                   }));
  if (!entry) return absl::NotFoundError(absl::StrCat("no state \"", key, "\" in \"", ns, "\""));
  return *entry;
}

absl::StatusOr<v1::StateEntry> Registry::PutState(const v1::PutStateRequest& request) {
  RETURN_IF_ERROR(CheckStateName(request.namespace_(), "namespace"));
  RETURN_IF_ERROR(CheckStateName(request.key(), "key"));
  if (request.value().size() > kMaxStateValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("value: ", request.value().size(), " bytes; at most 1 MiB"));
  }
  return Write("writing state", [&](RegistryWrite& w) {
    SQLite::Statement get(w.db,
                          "SELECT version FROM service_state WHERE namespace = ? AND key = ?");
    get.bind(1, request.namespace_());
    get.bind(2, request.key());
    const int64_t version = get.executeStep() ? get.getColumn(0).getInt64() : 0;
    get.reset();
    if (request.has_expected_version() && request.expected_version() != version) {
      Fail(absl::FailedPreconditionError(absl::StrCat(
          "state \"", request.key(), "\" in \"", request.namespace_(), "\" is at version ", version,
          ", not the expected ", request.expected_version())));
    }
    SQLite::Statement put(w.db,
                          "INSERT INTO service_state (namespace, key, value, version) "
                          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (namespace, key) DO UPDATE SET "
                          "value = ?3, version = ?4");
    put.bind(1, request.namespace_());
    put.bind(2, request.key());
    put.bind(3, request.value().data(), static_cast<int>(request.value().size()));
    put.bind(4, version + 1);
    put.exec();
    v1::StateEntry entry;
    entry.set_namespace_(request.namespace_());
    entry.set_key(request.key());
    entry.set_value(request.value());
    entry.set_version(version + 1);
    return entry;
  });
}

absl::StatusOr<bool> Registry::DeleteState(absl::string_view ns, absl::string_view key) {
  RETURN_IF_ERROR(CheckStateName(ns, "namespace"));
  RETURN_IF_ERROR(CheckStateName(key, "key"));
  return Write("deleting state", [&](RegistryWrite& w) {
    SQLite::Statement q(w.db, "DELETE FROM service_state WHERE namespace = ? AND key = ?");
    q.bind(1, std::string(ns));
    q.bind(2, std::string(key));
    return q.exec() > 0;
  });
}

absl::StatusOr<std::vector<v1::StateEntry>> Registry::ListState(absl::string_view ns) {
  RETURN_IF_ERROR(CheckStateName(ns, "namespace"));
  absl::MutexLock lock(&mu_);
  return RunSqlite("listing state", [&] {
    SQLite::Statement q(*db_,
                        "SELECT key, value, version FROM service_state WHERE namespace = ? "
                        "ORDER BY key");
    q.bind(1, std::string(ns));
    std::vector<v1::StateEntry> entries;
    while (q.executeStep()) {
      v1::StateEntry& entry = entries.emplace_back();
      entry.set_namespace_(std::string(ns));
      entry.set_key(q.getColumn(0).getString());
      const SQLite::Column value = q.getColumn(1);
      entry.set_value(value.getBlob(), static_cast<size_t>(value.getBytes()));
      entry.set_version(q.getColumn(2).getInt64());
    }
    return entries;
  });
}

// --- Change feed ---

uint64_t Registry::LastSequence() {
  absl::MutexLock lock(&waiters_mu_);
  return last_sequence_;
}

absl::StatusOr<bool> Registry::NeedsSnapshot(uint64_t from) {
  if (from == 0) return true;
  const uint64_t last = LastSequence();
  if (from > last) return true;
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(int64_t oldest, RunSqlite("reading the change log", [&] {
                     SQLite::Statement q(*db_, "SELECT MIN(seq) FROM changes");
                     q.executeStep();
                     return q.getColumn(0).isNull() ? static_cast<int64_t>(last) + 1
                                                    : q.getColumn(0).getInt64();
                   }));
  return from + 1 < static_cast<uint64_t>(oldest);
}

absl::StatusOr<ChangePage> Registry::ReadChanges(uint64_t after, const ChangeFilter& filter,
                                                 int limit) {
  absl::MutexLock lock(&mu_);
  return RunSqlite("reading the change log", [&] {
    ChangePage page;
    page.last_sequence = after;
    SQLite::Statement q(
        *db_, "SELECT seq, data, kind, id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?");
    q.bind(1, static_cast<int64_t>(after));
    q.bind(2, limit);
    while (q.executeStep()) {
      page.last_sequence = static_cast<uint64_t>(q.getColumn(0).getInt64());
      if (!filter.Matches(static_cast<v1::ChangeKind>(q.getColumn(2).getInt()),
                          q.getColumn(3).getString())) {
        continue;
      }
      page.changes.push_back(ChangeFromRow(q));
    }
    return page;
  });
}

absl::StatusOr<ChangePage> Registry::ReadSnapshot(const ChangeFilter& filter,
                                                  absl::string_view after_id, uint64_t sequence,
                                                  int limit) {
  absl::MutexLock lock(&mu_);
  return RunSqlite("reading a snapshot", [&] {
    ChangePage page;
    page.last_sequence = sequence;
    SQLite::Statement q(*db_,
                        "SELECT i.id, i.data, t.desired, t.desired_version, "
                        "t.desired_upstream_version, t.reported, t.reported_version "
                        "FROM identities i JOIN twins t ON t.id = i.id WHERE i.id > ? "
                        "ORDER BY i.id LIMIT ?");
    q.bind(1, std::string(after_id));
    q.bind(2, limit);
    int rows = 0;
    while (q.executeStep()) {
      ++rows;
      const std::string id = q.getColumn(0).getString();
      page.next_id = id;
      auto add = [&](v1::ChangeKind kind) -> v1::Change* {
        if (!filter.Matches(kind, id)) return nullptr;
        v1::Change& change = page.changes.emplace_back();
        change.set_sequence(sequence);
        change.set_kind(kind);
        change.set_id(id);
        change.set_snapshot(true);
        return &change;
      };
      if (v1::Change* c = add(v1::CHANGE_KIND_IDENTITY)) {
        c->set_op(v1::CHANGE_OP_UPSERT);
        const SQLite::Column data = q.getColumn(1);
        c->mutable_identity()->ParseFromArray(data.getBlob(), data.getBytes());
        c->set_version(c->identity().version());
      }
      if (v1::Change* c = add(v1::CHANGE_KIND_TWIN_DESIRED)) {
        c->set_op(v1::CHANGE_OP_REPLACE);
        c->set_document_json(q.getColumn(2).getString());
        c->set_version(q.getColumn(3).getInt64());
        c->set_upstream_version(q.getColumn(4).getInt64());
      }
      if (v1::Change* c = add(v1::CHANGE_KIND_TWIN_REPORTED)) {
        c->set_op(v1::CHANGE_OP_REPLACE);
        c->set_document_json(q.getColumn(5).getString());
        c->set_version(q.getColumn(6).getInt64());
      }
    }
    if (rows < limit) page.next_id.clear();
    return page;
  });
}

bool Registry::NotifyAfter(uint64_t sequence, uint64_t waiter_id, std::function<void()> wake) {
  absl::MutexLock lock(&waiters_mu_);
  if (last_sequence_ > sequence) return false;
  waiters_[waiter_id] = std::move(wake);
  return true;
}

void Registry::CancelNotify(uint64_t waiter_id) {
  absl::MutexLock lock(&waiters_mu_);
  waiters_.erase(waiter_id);
}

}  // namespace edge::store
