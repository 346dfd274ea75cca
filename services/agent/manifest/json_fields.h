// Reading typed fields out of a manifest's JSON while collecting errors that name each field's
// path. Internal to edge::agent_manifest (manifest.cc and create_options.cc share it).
//
// Conventions: a member whose value is null counts as absent (a twin deletes a desired property by
// patching it to null); every reader that finds the wrong kind of value adds one error at the
// value's path and returns nullopt, so the caller carries on and more errors are found.
//
// Example:
//   ManifestErrors errors;
//   std::optional<std::string> image =
//       RequiredString(settings, "image", "$edgeAgent.modules.m.settings", errors);
//   // absent → "$edgeAgent.modules.m.settings.image: is required"
#ifndef EDGE_SERVICES_AGENT_MANIFEST_JSON_FIELDS_H_
#define EDGE_SERVICES_AGENT_MANIFEST_JSON_FIELDS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "services/agent/manifest/manifest_errors.h"

namespace edge::agent::manifest_internal {

using Json = nlohmann::json;

// `path.key`; just `key` when `path` is empty.
std::string Child(absl::string_view path, absl::string_view key);

// A value as messages show it: scalars as JSON text (long ones cut to 40 characters and "…"),
// otherwise "an object" / "an array".
std::string Describe(const Json& value);

// The member, or nullptr when `object` is not an object, lacks `key` or holds null there.
const Json* Member(const Json& object, absl::string_view key);

// False, with "must be an object, not …", unless `value` is an object.
bool ExpectObject(const Json& value, const std::string& path, ManifestErrors& errors);

// The member, or nullptr after adding "is required" at `path.key`.
const Json* RequiredMember(const Json& object, absl::string_view key, const std::string& path,
                           ManifestErrors& errors);

// The member when it is an object; nullptr when absent (adding "is required" if `required`) or
// not an object (adding "must be an object, not …").
const Json* ObjectMember(const Json& object, absl::string_view key, const std::string& path,
                         ManifestErrors& errors, bool required = false);

std::optional<std::string> AsString(const Json& value, const std::string& path,
                                    ManifestErrors& errors);

// An integer in [0, max]; floats such as 1.0 are refused, as Docker's decoder refuses them.
std::optional<int64_t> AsNonNegativeInteger(const Json& value, const std::string& path,
                                            ManifestErrors& errors,
                                            int64_t max = std::numeric_limits<int64_t>::max());

// An array of strings.
std::optional<std::vector<std::string>> AsStringArray(const Json& value, const std::string& path,
                                                      ManifestErrors& errors);

// `object[key]` as a string; "is required" when absent, "must not be empty" when `non_empty` and
// "".
std::optional<std::string> RequiredString(const Json& object, absl::string_view key,
                                          const std::string& path, ManifestErrors& errors,
                                          bool non_empty = true);

// `object[key]` as a string, `fallback` when absent; nullopt only when present and not a string.
std::optional<std::string> OptionalString(const Json& object, absl::string_view key,
                                          const std::string& path, ManifestErrors& errors,
                                          std::string fallback = "");

// One spelling of an enumeration and its value, e.g. {"on-failure", RestartPolicy::kOnFailure}.
template <typename E>
using EnumSpelling = std::pair<const char*, E>;

// "must be a string, not …" or "\"x\" is not one of a, b, c"; spellings are case-sensitive.
std::optional<int> EnumIndex(const Json& value, const std::vector<const char*>& spellings,
                             const std::string& path, ManifestErrors& errors);

// `object[key]` as one of `spellings`, `fallback` when absent; nullopt when present and invalid.
template <typename E>
std::optional<E> OptionalEnum(const Json& object, absl::string_view key, const std::string& path,
                              const std::vector<EnumSpelling<E>>& spellings, E fallback,
                              ManifestErrors& errors) {
  const Json* value = Member(object, key);
  if (value == nullptr) return fallback;
  std::vector<const char*> names;
  for (const auto& spelling : spellings) names.push_back(spelling.first);
  std::optional<int> index = EnumIndex(*value, names, Child(path, key), errors);
  if (!index.has_value()) return std::nullopt;
  return spellings[*index].second;
}

// The path of a place in a JSON text, from the keys (and "[i]" array indices) leading to it.
using PathOf = std::function<std::string(const std::vector<std::string>& keys)>;

// Parses JSON text. Syntax errors ("is not JSON: …" at path_of({})) and keys that appear twice in
// one object ("\"key\" appears more than once", at the object's path) are added to `errors`;
// nullopt whenever one was added.
std::optional<Json> ParseJsonText(absl::string_view text, const PathOf& path_of,
                                  ManifestErrors& errors);

// Joins keys with `.` (and indices "[i]" without it) under `root`.
std::string JoinPath(absl::string_view root, const std::vector<std::string>& keys);

}  // namespace edge::agent::manifest_internal

#endif  // EDGE_SERVICES_AGENT_MANIFEST_JSON_FIELDS_H_
