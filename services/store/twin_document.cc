#include "services/store/twin_document.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace edge::store {
namespace {

absl::Status CheckKeys(const nlohmann::json& value, int depth, const std::string& path,
                       absl::string_view what) {
  if (!value.is_object()) return absl::OkStatus();
  if (depth > kMaxTwinDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", path, " is nested deeper than ", kMaxTwinDepth, " levels"));
  }
  for (const auto& [key, child] : value.items()) {
    const std::string child_path = path.empty() ? key : absl::StrCat(path, ".", key);
    if (key.empty() || key.size() > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": key \"", child_path, "\" must be 1 to 1024 bytes"));
    }
    for (unsigned char c : key) {
      if (c == '.' || c == '$' || c == ' ' || c < 0x20 || c == 0x7f) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": key \"", child_path, "\" contains '", std::string(1, static_cast<char>(c)),
            "' (keys may not contain '.', '$', spaces or control characters)"));
      }
    }
    RETURN_IF_ERROR(CheckKeys(child, depth + 1, child_path, what));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseTwinJson(absl::string_view text, absl::string_view what) {
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                               /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not valid JSON"));
  }
  if (!value.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": must be a JSON object"));
  }
  value.erase("$version");
  value.erase("$metadata");
  RETURN_IF_ERROR(CheckKeys(value, 1, "", what));
  return value;
}

absl::Status CheckTwinSize(const nlohmann::json& document, absl::string_view what) {
  const size_t size = document.dump().size();
  if (size > kMaxTwinSectionBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, " would be ", size, " bytes; the limit is ", kMaxTwinSectionBytes, " (32 KiB)"));
  }
  return absl::OkStatus();
}

absl::Status ApplyMergePatch(const nlohmann::json& patch, nlohmann::json* document) {
  nlohmann::json merged = *document;
  merged.merge_patch(patch);
  RETURN_IF_ERROR(CheckTwinSize(merged, "the section"));
  RETURN_IF_ERROR(CheckKeys(merged, 1, "", "the patched section"));
  *document = std::move(merged);
  return absl::OkStatus();
}

}  // namespace edge::store
