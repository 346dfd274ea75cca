#include "services/agent/manifest/create_options.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/agent/manifest/json_fields.h"

namespace edge::agent {
namespace {

using manifest_internal::AsNonNegativeInteger;
using manifest_internal::AsString;
using manifest_internal::AsStringArray;
using manifest_internal::Child;
using manifest_internal::Describe;
using manifest_internal::ExpectObject;
using manifest_internal::Json;
using manifest_internal::Member;

constexpr absl::string_view kChunkPrefix = "createOptions";
constexpr int kMaxChunk = 99;

// The value of `object[key]` when it is an integer ≥ 0; nullopt when absent or invalid (an error).
std::optional<int64_t> OptionalCount(const Json& object, absl::string_view key,
                                     const std::string& path, ManifestErrors& errors) {
  const Json* value = Member(object, key);
  if (value == nullptr) return std::nullopt;
  return AsNonNegativeInteger(*value, Child(path, key), errors);
}

// Docker's strslice: an array of strings, or one string taken as a one-element array.
std::optional<std::vector<std::string>> ReadStringOrArray(const Json& object, absl::string_view key,
                                                          const std::string& path,
                                                          ManifestErrors& errors) {
  const Json* value = Member(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_string()) return std::vector<std::string>{value->get<std::string>()};
  return AsStringArray(*value, Child(path, key), errors);
}

void ReadEnv(const Json& options, const std::string& path, CreateOptions& out,
             ManifestErrors& errors) {
  const Json* value = Member(options, "Env");
  if (value == nullptr) return;
  const std::string where = Child(path, "Env");
  std::optional<std::vector<std::string>> env = AsStringArray(*value, where, errors);
  if (!env.has_value()) return;
  for (size_t i = 0; i < env->size(); ++i) {
    const size_t equals = (*env)[i].find('=');
    if (equals == std::string::npos || equals == 0) {
      errors.Add(absl::StrCat(where, "[", i, "]"),
                 absl::StrCat(Describe((*value)[i]), " is not NAME=value"));
    }
  }
  out.env = *std::move(env);
}

// Docker's rules: [] inherits, ["NONE"] disables, ["CMD", program, args…], ["CMD-SHELL", command].
void CheckHealthcheckTest(const std::vector<std::string>& test, const std::string& path,
                          ManifestErrors& errors) {
  if (test.empty()) return;
  const std::string& kind = test.front();
  if ((kind == "NONE" && test.size() == 1) || (kind == "CMD" && test.size() >= 2) ||
      (kind == "CMD-SHELL" && test.size() == 2)) {
    return;
  }
  errors.Add(path,
             "must be [\"NONE\"], [\"CMD\", program, args…] or [\"CMD-SHELL\", \"command\"], not " +
                 Json(test).dump());
}

void ReadHealthcheck(const Json& options, const std::string& path, CreateOptions& out,
                     ManifestErrors& errors) {
  const Json* value = manifest_internal::ObjectMember(options, "Healthcheck", path, errors);
  if (value == nullptr) return;
  const std::string where = Child(path, "Healthcheck");
  Healthcheck check;
  if (const Json* test = Member(*value, "Test"); test != nullptr) {
    const std::string test_path = Child(where, "Test");
    std::optional<std::vector<std::string>> strings = AsStringArray(*test, test_path, errors);
    if (strings.has_value()) {
      CheckHealthcheckTest(*strings, test_path, errors);
      check.test = *std::move(strings);
    }
  }
  check.interval_ns = OptionalCount(*value, "Interval", where, errors);
  check.timeout_ns = OptionalCount(*value, "Timeout", where, errors);
  check.start_period_ns = OptionalCount(*value, "StartPeriod", where, errors);
  check.retries = OptionalCount(*value, "Retries", where, errors);
  out.healthcheck = std::move(check);
}

std::string ChunkName(int n) {
  return n == 0 ? std::string(kChunkPrefix) : absl::StrFormat("%s%02d", kChunkPrefix, n);
}

// 0 for `createOptions`, 1-99 for `createOptions01`…`99`; nullopt for any other suffix.
std::optional<int> ChunkNumber(absl::string_view key) {
  absl::string_view suffix = key.substr(kChunkPrefix.size());
  if (suffix.empty()) return 0;
  if (suffix.size() != 2 || !absl::ascii_isdigit(suffix[0]) || !absl::ascii_isdigit(suffix[1])) {
    return std::nullopt;
  }
  const int n = (suffix[0] - '0') * 10 + (suffix[1] - '0');
  if (n == 0) return std::nullopt;
  return n;
}

// The concatenated chunks, or nullopt after adding every chunk problem to `errors`.
std::optional<std::string> ConcatenateChunks(const Json& settings, const std::string& settings_path,
                                             ManifestErrors& errors) {
  std::map<int, const Json*> chunks;
  bool ok = true;
  for (const auto& [key, value] : settings.items()) {
    if (!absl::StartsWith(key, kChunkPrefix) || value.is_null()) continue;
    std::optional<int> n = ChunkNumber(key);
    if (!n.has_value()) {
      errors.Add(Child(settings_path, key),
                 absl::StrCat("is not a createOptions chunk; chunks are named ", ChunkName(1),
                              " to ", ChunkName(kMaxChunk)));
      ok = false;
      continue;
    }
    chunks[*n] = &value;
  }
  std::string text;
  int expected = 0;
  for (const auto& [n, value] : chunks) {
    const std::string where = Child(settings_path, ChunkName(n));
    if (n != expected) {
      errors.Add(where, absl::StrCat("follows a gap: ", ChunkName(expected), " is missing"));
      ok = false;
    }
    expected = n + 1;
    std::optional<std::string> chunk = AsString(*value, where, errors);
    if (!chunk.has_value()) {
      ok = false;
      continue;
    }
    text += *chunk;
  }
  if (!ok) return std::nullopt;
  return text;
}

}  // namespace

std::optional<CreateOptions> ReadCreateOptions(const Json& options, const std::string& path,
                                               ManifestErrors& errors) {
  if (!ExpectObject(options, path, errors)) return std::nullopt;
  const size_t errors_before = errors.list().size();
  CreateOptions out;
  out.raw = options;
  out.cmd = ReadStringOrArray(options, "Cmd", path, errors);
  out.entrypoint = ReadStringOrArray(options, "Entrypoint", path, errors);
  ReadEnv(options, path, out, errors);
  out.working_dir =
      manifest_internal::OptionalString(options, "WorkingDir", path, errors).value_or("");
  out.user = manifest_internal::OptionalString(options, "User", path, errors).value_or("");
  const std::string host_config_path = Child(path, "HostConfig");
  if (const Json* host_config =
          manifest_internal::ObjectMember(options, "HostConfig", path, errors)) {
    out.memory_bytes = OptionalCount(*host_config, "Memory", host_config_path, errors);
    out.nano_cpus = OptionalCount(*host_config, "NanoCpus", host_config_path, errors);
  }
  ReadHealthcheck(options, path, out, errors);
  if (errors.list().size() != errors_before) return std::nullopt;
  return out;
}

std::optional<CreateOptions> ReadSettingsCreateOptions(const Json& settings,
                                                       const std::string& settings_path,
                                                       ManifestErrors& errors, std::string* text) {
  std::optional<std::string> joined = ConcatenateChunks(settings, settings_path, errors);
  if (!joined.has_value()) return std::nullopt;
  const std::string path = Child(settings_path, kChunkPrefix);
  Json options = Json::object();
  if (!joined->empty()) {
    std::optional<Json> parsed = manifest_internal::ParseJsonText(
        *joined,
        [&path](const std::vector<std::string>& keys) {
          return manifest_internal::JoinPath(path, keys);
        },
        errors);
    if (!parsed.has_value()) return std::nullopt;
    if (!parsed->is_object()) {
      errors.Add(path, absl::StrCat("must be a JSON object, not ", Describe(*parsed)));
      return std::nullopt;
    }
    options = *std::move(parsed);
  }
  std::optional<CreateOptions> out = ReadCreateOptions(options, path, errors);
  if (out.has_value() && text != nullptr) *text = *std::move(joined);
  return out;
}

}  // namespace edge::agent
