#include "services/agent/manifest/json_fields.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edge::agent::manifest_internal {
namespace {

constexpr size_t kMaxDescribedLength = 40;

void AddWrongType(const Json& value, absl::string_view expected, const std::string& path,
                  ManifestErrors& errors) {
  errors.Add(path, absl::StrCat("must be ", expected, ", not ", Describe(value)));
}

// Tracks where the parser is, so that a duplicate key can be reported at its object's path.
class KeyTracker {
 public:
  explicit KeyTracker(const PathOf& path_of) : path_of_(path_of) {}

  bool OnEvent(Json::parse_event_t event, const Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        frames_.push_back({event == Json::parse_event_t::object_start, {}, "", 0});
        break;
      case Json::parse_event_t::key: {
        Frame& frame = frames_.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second) {
          duplicates_.push_back({path_of_(PathTo(frames_.size() - 1)), frame.key});
        }
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames_.pop_back();
        ElementDone();
        break;
      case Json::parse_event_t::value:
        ElementDone();
        break;
    }
    return true;
  }

  // (object path, key) of every key seen twice.
  const std::vector<std::pair<std::string, std::string>>& duplicates() const { return duplicates_; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;  // object: the current member
    size_t index;     // array: the current element
  };

  // The keys down to (not into) frame `depth`.
  std::vector<std::string> PathTo(size_t depth) const {
    std::vector<std::string> keys;
    for (size_t i = 0; i < depth; ++i) {
      keys.push_back(frames_[i].object ? frames_[i].key : absl::StrCat("[", frames_[i].index, "]"));
    }
    return keys;
  }

  void ElementDone() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }

  const PathOf& path_of_;
  std::vector<Frame> frames_;
  std::vector<std::pair<std::string, std::string>> duplicates_;
};

}  // namespace

std::string Child(absl::string_view path, absl::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

std::string JoinPath(absl::string_view root, const std::vector<std::string>& keys) {
  std::string path(root);
  for (const std::string& key : keys) {
    path = absl::StartsWith(key, "[") ? absl::StrCat(path, key) : Child(path, key);
  }
  return path;
}

std::string Describe(const Json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump();
  if (text.size() > kMaxDescribedLength) {
    text.resize(kMaxDescribedLength);
    text += "…";
  }
  return text;
}

const Json* Member(const Json& object, absl::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

bool ExpectObject(const Json& value, const std::string& path, ManifestErrors& errors) {
  if (value.is_object()) return true;
  AddWrongType(value, "an object", path, errors);
  return false;
}

const Json* RequiredMember(const Json& object, absl::string_view key, const std::string& path,
                           ManifestErrors& errors) {
  const Json* value = Member(object, key);
  if (value == nullptr) errors.Add(Child(path, key), "is required");
  return value;
}

const Json* ObjectMember(const Json& object, absl::string_view key, const std::string& path,
                         ManifestErrors& errors, bool required) {
  const Json* value = required ? RequiredMember(object, key, path, errors) : Member(object, key);
  if (value == nullptr || !ExpectObject(*value, Child(path, key), errors)) return nullptr;
  return value;
}

std::optional<std::string> AsString(const Json& value, const std::string& path,
                                    ManifestErrors& errors) {
  if (value.is_string()) return value.get<std::string>();
  AddWrongType(value, "a string", path, errors);
  return std::nullopt;
}

std::optional<int64_t> AsNonNegativeInteger(const Json& value, const std::string& path,
                                            ManifestErrors& errors, int64_t max) {
  if (!value.is_number_integer()) {  // unsigned included; floats such as 1.0 are not
    AddWrongType(value, "a non-negative integer", path, errors);
    return std::nullopt;
  }
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    errors.Add(path, absl::StrCat(value.get<uint64_t>(), " is too large; at most ", max));
    return std::nullopt;
  }
  const int64_t number = value.get<int64_t>();
  if (number < 0) {
    errors.Add(path, absl::StrCat(number, " is negative"));
    return std::nullopt;
  }
  if (number > max) {
    errors.Add(path, absl::StrCat(number, " is too large; at most ", max));
    return std::nullopt;
  }
  return number;
}

std::optional<std::vector<std::string>> AsStringArray(const Json& value, const std::string& path,
                                                      ManifestErrors& errors) {
  if (!value.is_array()) {
    AddWrongType(value, "an array of strings", path, errors);
    return std::nullopt;
  }
  std::vector<std::string> strings;
  bool ok = true;
  for (size_t i = 0; i < value.size(); ++i) {
    std::optional<std::string> s = AsString(value[i], absl::StrCat(path, "[", i, "]"), errors);
    if (s.has_value()) {
      strings.push_back(*std::move(s));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return strings;
}

std::optional<std::string> RequiredString(const Json& object, absl::string_view key,
                                          const std::string& path, ManifestErrors& errors,
                                          bool non_empty) {
  const Json* value = RequiredMember(object, key, path, errors);
  if (value == nullptr) return std::nullopt;
  const std::string where = Child(path, key);
  std::optional<std::string> s = AsString(*value, where, errors);
  if (s.has_value() && non_empty && s->empty()) {
    errors.Add(where, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> OptionalString(const Json& object, absl::string_view key,
                                          const std::string& path, ManifestErrors& errors,
                                          std::string fallback) {
  const Json* value = Member(object, key);
  if (value == nullptr) return fallback;
  return AsString(*value, Child(path, key), errors);
}

std::optional<int> EnumIndex(const Json& value, const std::vector<const char*>& spellings,
                             const std::string& path, ManifestErrors& errors) {
  std::optional<std::string> text = AsString(value, path, errors);
  if (!text.has_value()) return std::nullopt;
  for (size_t i = 0; i < spellings.size(); ++i) {
    if (*text == spellings[i]) return static_cast<int>(i);
  }
  errors.Add(path,
             absl::StrCat(Describe(value), " is not one of ", absl::StrJoin(spellings, ", ")));
  return std::nullopt;
}

std::optional<Json> ParseJsonText(absl::string_view text, const PathOf& path_of,
                                  ManifestErrors& errors) {
  KeyTracker tracker(path_of);
  Json::parser_callback_t callback = [&tracker](int /*depth*/, Json::parse_event_t event,
                                                Json& parsed) {
    return tracker.OnEvent(event, parsed);
  };
  Json json;
  try {
    json = Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, …": keep what follows the tag.
    absl::string_view what = e.what();
    if (absl::StartsWith(what, "[json.exception.")) what.remove_prefix(what.find("] ") + 2);
    errors.Add(path_of({}), absl::StrCat("is not JSON: ", what));
    return std::nullopt;
  }
  for (const auto& [path, key] : tracker.duplicates()) {
    errors.Add(path, absl::StrCat("\"", key, "\" appears more than once"));
  }
  if (!tracker.duplicates().empty()) return std::nullopt;
  return json;
}

}  // namespace edge::agent::manifest_internal
