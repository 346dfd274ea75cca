#include "cli/store_commands.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/table.h"
#include "common/grpc_status.h"
#include "common/identity_id.h"
#include "common/sas.h"
#include "common/status_macros.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/store.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"

namespace edge::cli {
namespace {

namespace v1 = ::edge::store::v1;

// Stubs of the store's registry services on one channel.
class StoreClient {
 public:
  static absl::StatusOr<StoreClient> Connect(const CommandContext& context) {
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, context.Channel("store"));
    return StoreClient(channel);
  }

  v1::IdentityRegistry::Stub& identities() { return *identities_; }
  v1::TwinStore::Stub& twins() { return *twins_; }
  v1::MessageStore::Stub& queues() { return *queues_; }

 private:
  explicit StoreClient(const std::shared_ptr<grpc::Channel>& channel)
      : identities_(v1::IdentityRegistry::NewStub(channel)),
        twins_(v1::TwinStore::NewStub(channel)),
        queues_(v1::MessageStore::NewStub(channel)) {}

  std::unique_ptr<v1::IdentityRegistry::Stub> identities_;
  std::unique_ptr<v1::TwinStore::Stub> twins_;
  std::unique_ptr<v1::MessageStore::Stub> queues_;
};

std::string ProtoJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// The twin as IoT Hub shows it: sections with their `$version`.
std::string TwinJson(const v1::Twin& twin) {
  absl::StatusOr<IdentityId> id = IdentityId::Parse(twin.id());
  nlohmann::json out;
  out["deviceId"] = id.ok() ? id->device() : twin.id();
  if (id.ok() && id->is_module()) out["moduleId"] = id->module();
  auto section = [](const v1::TwinSection& s) {
    nlohmann::json doc = nlohmann::json::parse(s.json(), nullptr, false);
    if (doc.is_discarded()) doc = nlohmann::json::object();
    doc["$version"] = s.version();
    return doc;
  };
  out["properties"]["desired"] = section(twin.desired());
  out["properties"]["reported"] = section(twin.reported());
  return out.dump(2) + "\n";
}

void PrintIdentities(const CommandContext& context, const std::vector<v1::Identity>& identities) {
  if (context.format == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const v1::Identity& i : identities) out.push_back(nlohmann::json::parse(ProtoJson(i)));
    *context.out << out.dump(2) << "\n";
    return;
  }
  TextTable table({"ID", "AUTH", "ENABLED", "PARENT", "MANAGED BY"});
  for (const v1::Identity& i : identities) {
    table.AddRow({i.id(), i.auth_type() == v1::AUTH_TYPE_X509_CA ? "x509" : "sas",
                  i.enabled() ? "yes" : "no", i.parent_id(), i.managed_by()});
  }
  *context.out << table.Render();
}

absl::StatusOr<DeviceConfig> Device(const CommandContext& context) {
  ASSIGN_OR_RETURN(Config config, context.LoadConfig());
  return DeviceConfig::FromConfig(config);
}

// `HostName=…;DeviceId=…[;ModuleId=…];SharedAccessKey=…;GatewayHostName=…`: the hub on this device
// is both the host and the gateway a client connects to.
std::string ConnectionString(const v1::Identity& identity, const DeviceConfig& device) {
  absl::StatusOr<IdentityId> id = IdentityId::Parse(identity.id());
  std::string s = absl::StrCat("HostName=", device.hostname, ";DeviceId=", id->device());
  if (id->is_module()) absl::StrAppend(&s, ";ModuleId=", id->module());
  absl::StrAppend(&s, ";SharedAccessKey=", identity.primary_key(),
                  ";GatewayHostName=", device.hostname);
  return s;
}

// Runs `body` with a connected client; any error is reported with its exit code.
int WithClient(const CommandContext& context,
               const std::function<absl::Status(StoreClient&)>& body) {
  absl::StatusOr<StoreClient> client = StoreClient::Connect(context);
  absl::Status status = client.ok() ? body(*client) : client.status();
  return status.ok() ? 0 : ReportError(context, status);
}

struct IdentityAddFlags {
  std::string id, parent, auth = "sas", primary_key, secondary_key, managed_by;
  bool disabled = false;
};

int IdentityAdd(const CommandContext& context, const IdentityAddFlags& flags) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    v1::CreateIdentityRequest request;
    v1::Identity* identity = request.mutable_identity();
    identity->set_id(flags.id);
    identity->set_parent_id(flags.parent);
    identity->set_auth_type(flags.auth == "x509" ? v1::AUTH_TYPE_X509_CA : v1::AUTH_TYPE_SAS);
    identity->set_primary_key(flags.primary_key);
    identity->set_secondary_key(flags.secondary_key);
    identity->set_managed_by(flags.managed_by);
    request.set_disabled(flags.disabled);
    ASSIGN_OR_RETURN(v1::Identity created,
                     CallService("store", client.identities(),
                                 &v1::IdentityRegistry::Stub::CreateIdentity, request));
    PrintIdentities(context, {created});
    return absl::OkStatus();
  });
}

int IdentityList(const CommandContext& context, const std::string& device) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    v1::ListIdentitiesRequest request;
    request.set_device_id(device);
    ASSIGN_OR_RETURN(v1::ListIdentitiesResponse response,
                     CallService("store", client.identities(),
                                 &v1::IdentityRegistry::Stub::ListIdentities, request));
    PrintIdentities(context, {response.identities().begin(), response.identities().end()});
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::Identity> FetchIdentity(StoreClient& client, const std::string& id) {
  v1::GetIdentityRequest request;
  request.set_id(id);
  return CallService("store", client.identities(), &v1::IdentityRegistry::Stub::GetIdentity,
                     request);
}

int IdentityShow(const CommandContext& context, const std::string& id, bool connection_string) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Identity identity, FetchIdentity(client, id));
    if (connection_string) {
      if (identity.auth_type() != v1::AUTH_TYPE_SAS) {
        return absl::FailedPreconditionError(
            absl::StrCat("\"", id,
                         "\" uses X.509 authentication; it has no connection string "
                         "with a key"));
      }
      ASSIGN_OR_RETURN(DeviceConfig device, Device(context));
      *context.out << ConnectionString(identity, device) << "\n";
      return absl::OkStatus();
    }
    if (context.format == OutputFormat::kJson) {
      *context.out << nlohmann::json::parse(ProtoJson(identity)).dump(2) << "\n";
      return absl::OkStatus();
    }
    TextTable table({"FIELD", "VALUE"});
    table.AddRow({"id", identity.id()});
    table.AddRow({"auth", identity.auth_type() == v1::AUTH_TYPE_X509_CA ? "x509" : "sas"});
    table.AddRow({"enabled", identity.enabled() ? "yes" : "no"});
    table.AddRow({"primary key", identity.primary_key()});
    table.AddRow({"secondary key", identity.secondary_key()});
    table.AddRow({"parent", identity.parent_id()});
    table.AddRow({"managed by", identity.managed_by()});
    table.AddRow({"created", absl::FormatTime(absl::FromUnixMillis(identity.created_unix_ms()))});
    *context.out << table.Render();
    return absl::OkStatus();
  });
}

int IdentityRm(const CommandContext& context, const std::string& id) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    v1::DeleteIdentityRequest request;
    request.set_id(id);
    ASSIGN_OR_RETURN(v1::DeleteIdentityResponse response,
                     CallService("store", client.identities(),
                                 &v1::IdentityRegistry::Stub::DeleteIdentity, request));
    for (const std::string& deleted : response.deleted_ids()) {
      *context.out << "deleted " << deleted << "\n";
    }
    return absl::OkStatus();
  });
}

int IdentitySas(const CommandContext& context, const std::string& id, int64_t ttl_seconds,
                const std::string& key) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Identity identity, FetchIdentity(client, id));
    ASSIGN_OR_RETURN(DeviceConfig device, Device(context));
    ASSIGN_OR_RETURN(IdentityId parsed, IdentityId::Parse(identity.id()));
    std::string resource = absl::StrCat(device.hostname, "/devices/", parsed.device());
    if (parsed.is_module()) absl::StrAppend(&resource, "/modules/", parsed.module());
    ASSIGN_OR_RETURN(std::string token, MakeSasToken(resource,
                                                     key == "secondary" ? identity.secondary_key()
                                                                        : identity.primary_key(),
                                                     absl::Now() + absl::Seconds(ttl_seconds)));
    *context.out << token << "\n";
    return absl::OkStatus();
  });
}

int TwinGet(const CommandContext& context, const std::string& id) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    v1::GetTwinRequest request;
    request.set_id(id);
    ASSIGN_OR_RETURN(v1::Twin twin,
                     CallService("store", client.twins(), &v1::TwinStore::Stub::GetTwin, request));
    *context.out << TwinJson(twin);
    return absl::OkStatus();
  });
}

int TwinPatch(const CommandContext& context, const std::string& id, const std::string& desired,
              const std::string& reported) {
  if (desired.empty() == reported.empty()) {
    return ReportError(context, absl::InvalidArgumentError("give --desired or --reported"));
  }
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    v1::PatchTwinRequest request;
    request.set_id(id);
    request.set_patch_json(desired.empty() ? reported : desired);
    ASSIGN_OR_RETURN(v1::Twin twin,
                     CallService("store", client.twins(),
                                 desired.empty() ? &v1::TwinStore::Stub::PatchReported
                                                 : &v1::TwinStore::Stub::PatchDesired,
                                 request));
    *context.out << TwinJson(twin);
    return absl::OkStatus();
  });
}

int TwinReplace(const CommandContext& context, const std::string& id, const std::string& file,
                int64_t version) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    std::ifstream in(file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", file));
    std::stringstream text;
    text << in.rdbuf();
    v1::ReplaceDesiredRequest request;
    request.set_id(id);
    request.set_json(text.str());
    if (version > 0) request.set_expected_version(version);
    ASSIGN_OR_RETURN(v1::Twin twin, CallService("store", client.twins(),
                                                &v1::TwinStore::Stub::ReplaceDesired, request));
    *context.out << TwinJson(twin);
    return absl::OkStatus();
  });
}

std::string Bytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < 1024ull * 1024 * 1024) return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
  return absl::StrFormat("%.2f GiB", bytes / 1073741824.0);
}

int QueueList(const CommandContext& context) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    ASSIGN_OR_RETURN(v1::ListQueuesResponse response,
                     CallService("store", client.queues(), &v1::MessageStore::Stub::ListQueues,
                                 v1::ListQueuesRequest()));
    if (context.format == OutputFormat::kJson) {
      *context.out << nlohmann::json::parse(ProtoJson(response)).dump(2) << "\n";
      return absl::OkStatus();
    }
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    TextTable table(
        {"ENDPOINT", "PRIORITY", "DEPTH", "BYTES", "OLDEST", "CHECKPOINT", "EXPIRED", "DROPPED"});
    for (const v1::QueueInfo& q : response.queues()) {
      table.AddRow(
          {q.queue().endpoint(),
           q.queue().has_priority() ? absl::StrCat(q.queue().priority()) : "default",
           absl::StrCat(q.depth()), Bytes(q.bytes()),
           q.oldest_appended_unix_ms() == 0
               ? "-"
               : absl::StrCat(absl::FormatDuration(
                                  absl::Seconds((now_ms - q.oldest_appended_unix_ms()) / 1000)),
                              " ago"),
           absl::StrCat(q.checkpoint()), absl::StrCat(q.expired()), absl::StrCat(q.dropped())});
    }
    *context.out << table.Render();
    return absl::OkStatus();
  });
}

int StoreStats(const CommandContext& context) {
  return WithClient(context, [&](StoreClient& client) -> absl::Status {
    ASSIGN_OR_RETURN(v1::StoreStats stats,
                     CallService("store", client.queues(), &v1::MessageStore::Stub::GetStoreStats,
                                 v1::GetStoreStatsRequest()));
    if (context.format == OutputFormat::kJson) {
      *context.out << nlohmann::json::parse(ProtoJson(stats)).dump(2) << "\n";
      return absl::OkStatus();
    }
    TextTable table({"FIELD", "VALUE"});
    table.AddRow({"used", stats.max_bytes() == 0
                              ? Bytes(stats.used_bytes()) + " (no cap)"
                              : absl::StrFormat("%s of %s (%.1f%%)", Bytes(stats.used_bytes()),
                                                Bytes(stats.max_bytes()),
                                                100.0 * stats.used_bytes() / stats.max_bytes())});
    table.AddRow({"when full", stats.full_policy()});
    table.AddRow({"database file", Bytes(stats.database_file_bytes())});
    table.AddRow({"write-ahead log", Bytes(stats.wal_file_bytes())});
    table.AddRow({"queues", absl::StrCat(stats.queues())});
    table.AddRow({"queued entries", absl::StrCat(stats.entries())});
    table.AddRow({"stored messages", absl::StrCat(stats.messages())});
    *context.out << table.Render();
    return absl::OkStatus();
  });
}

}  // namespace

void AddStoreCommands(CLI::App& app, Action* action) {
  CLI::App* store = app.add_subcommand("store", "edge-store's storage");
  store->require_subcommand(1);
  store->add_subcommand("stats", "bytes used against the cap, file sizes, counts")->callback([=] {
    *action = [](const CommandContext& c) { return StoreStats(c); };
  });
  CLI::App* queue = app.add_subcommand("queue", "the store's message queues");
  queue->require_subcommand(1);
  queue->add_subcommand("list", "every queue: depth, bytes, oldest entry, drops")->callback([=] {
    *action = [](const CommandContext& c) { return QueueList(c); };
  });

  CLI::App* identity = app.add_subcommand("identity", "device and module identities");
  identity->require_subcommand(1);

  auto add_flags = std::make_shared<IdentityAddFlags>();
  CLI::App* add = identity->add_subcommand("add", "create a device or DEVICE/MODULE identity");
  add->add_option("ID", add_flags->id, "device or device/module")->required();
  add->add_option("--parent", add_flags->parent, "parent device (leaf device or child edge)");
  add->add_option("--auth", add_flags->auth, "sas or x509")->check(CLI::IsMember({"sas", "x509"}));
  add->add_option("--primary-key", add_flags->primary_key, "base64; generated when absent");
  add->add_option("--secondary-key", add_flags->secondary_key, "base64; generated when absent");
  add->add_option("--managed-by", add_flags->managed_by, "who manages the identity");
  add->add_flag("--disabled", add_flags->disabled, "create it disabled");
  add->callback(
      [=] { *action = [=](const CommandContext& c) { return IdentityAdd(c, *add_flags); }; });

  auto list_device = std::make_shared<std::string>();
  CLI::App* list = identity->add_subcommand("list", "list identities (of one DEVICE)");
  list->add_option("DEVICE", *list_device, "only this device and its modules");
  list->callback(
      [=] { *action = [=](const CommandContext& c) { return IdentityList(c, *list_device); }; });

  auto show_id = std::make_shared<std::string>();
  auto show_connection = std::make_shared<bool>(false);
  CLI::App* show = identity->add_subcommand("show", "show an identity");
  show->add_option("ID", *show_id)->required();
  show->add_flag("--connection-string", *show_connection,
                 "print the connection string an IoT Hub SDK client uses to reach this hub");
  show->callback([=] {
    *action = [=](const CommandContext& c) { return IdentityShow(c, *show_id, *show_connection); };
  });

  auto rm_id = std::make_shared<std::string>();
  CLI::App* rm = identity->add_subcommand("rm", "delete an identity (a device with its modules)");
  rm->add_option("ID", *rm_id)->required();
  rm->callback([=] { *action = [=](const CommandContext& c) { return IdentityRm(c, *rm_id); }; });

  auto sas_id = std::make_shared<std::string>();
  auto sas_ttl = std::make_shared<int64_t>(3600);
  auto sas_key = std::make_shared<std::string>("primary");
  CLI::App* sas = identity->add_subcommand("sas", "print a SAS token for an identity");
  sas->add_option("ID", *sas_id)->required();
  sas->add_option("--ttl", *sas_ttl, "seconds the token is valid (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{365} * 24 * 3600));
  sas->add_option("--key", *sas_key, "primary or secondary")
      ->check(CLI::IsMember({"primary", "secondary"}));
  sas->callback([=] {
    *action = [=](const CommandContext& c) { return IdentitySas(c, *sas_id, *sas_ttl, *sas_key); };
  });

  CLI::App* twin = app.add_subcommand("twin", "device and module twins");
  twin->require_subcommand(1);

  auto get_id = std::make_shared<std::string>();
  CLI::App* get = twin->add_subcommand("get", "print a twin");
  get->add_option("ID", *get_id)->required();
  get->callback([=] { *action = [=](const CommandContext& c) { return TwinGet(c, *get_id); }; });

  auto patch_id = std::make_shared<std::string>();
  auto patch_desired = std::make_shared<std::string>();
  auto patch_reported = std::make_shared<std::string>();
  CLI::App* patch = twin->add_subcommand("patch", "merge-patch desired or reported properties");
  patch->add_option("ID", *patch_id)->required();
  CLI::Option* desired = patch->add_option("--desired", *patch_desired, "a JSON merge patch");
  CLI::Option* reported = patch->add_option("--reported", *patch_reported, "a JSON merge patch");
  desired->excludes(reported);
  patch->callback([=] {
    *action = [=](const CommandContext& c) {
      return TwinPatch(c, *patch_id, *patch_desired, *patch_reported);
    };
  });

  auto replace_id = std::make_shared<std::string>();
  auto replace_file = std::make_shared<std::string>();
  auto replace_version = std::make_shared<int64_t>(0);
  CLI::App* replace = twin->add_subcommand("replace", "replace the desired properties");
  replace->add_option("ID", *replace_id)->required();
  replace->add_option("--desired", *replace_file, "a file holding the JSON object")->required();
  replace->add_option("--version", *replace_version,
                      "fail unless the desired properties are at this version");
  replace->callback([=] {
    *action = [=](const CommandContext& c) {
      return TwinReplace(c, *replace_id, *replace_file, *replace_version);
    };
  });
}

}  // namespace edge::cli
