// The JSON rules of a twin section (docs/iothub-surface.md, IoT Hub's twin limits): what a desired
// or reported document or patch may contain, and how a merge patch applies.
//
// Example:
//   ASSIGN_OR_RETURN(nlohmann::json patch, ParseTwinJson(text, "reported patch"));
//   RETURN_IF_ERROR(ApplyMergePatch(patch, &reported));   // RESOURCE_EXHAUSTED past 32 KiB
#ifndef EDGE_SERVICES_STORE_TWIN_DOCUMENT_H_
#define EDGE_SERVICES_STORE_TWIN_DOCUMENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace edge::store {

inline constexpr size_t kMaxTwinSectionBytes = 32 * 1024;
inline constexpr int kMaxTwinDepth = 10;

// Parses a document or patch: it must be a JSON object whose keys are 1-1024 bytes without `.`,
// `$`, spaces or control characters, nested at most 10 deep. `$version` and `$metadata` at the top
// level are dropped (clients send them back). INVALID_ARGUMENT naming `what` and the bad key.
absl::StatusOr<nlohmann::json> ParseTwinJson(absl::string_view text, absl::string_view what);

// RFC 7386 merge: `null` deletes, objects merge recursively, anything else replaces. Leaves
// `document` unchanged and returns RESOURCE_EXHAUSTED if the result would exceed 32 KiB.
absl::Status ApplyMergePatch(const nlohmann::json& patch, nlohmann::json* document);

// RESOURCE_EXHAUSTED when the serialized `document` exceeds 32 KiB.
absl::Status CheckTwinSize(const nlohmann::json& document, absl::string_view what);

}  // namespace edge::store

#endif  // EDGE_SERVICES_STORE_TWIN_DOCUMENT_H_
