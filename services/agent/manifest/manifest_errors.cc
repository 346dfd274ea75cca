#include "services/agent/manifest/manifest_errors.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace edge::agent {

std::string ManifestError::ToString() const { return absl::StrCat(path, ": ", message); }

void ManifestErrors::Add(std::string path, std::string message) {
  errors_.push_back({std::move(path), std::move(message), false});
}

void ManifestErrors::AddBadSchemaVersion(std::string path, std::string message) {
  errors_.push_back({std::move(path), std::move(message), true});
}

std::vector<std::string> ManifestErrors::Strings() const {
  std::vector<std::string> strings;
  strings.reserve(errors_.size());
  for (const ManifestError& error : errors_) strings.push_back(error.ToString());
  return strings;
}

int ManifestErrors::code() const {
  if (errors_.empty()) return kDesiredApplied;
  for (const ManifestError& error : errors_) {
    if (error.bad_schema_version) return kDesiredBadSchemaVersion;
  }
  return kDesiredInvalid;
}

absl::Status ManifestErrors::ToStatus() const {
  const int status_code = code();
  if (status_code == kDesiredApplied) return absl::OkStatus();
  std::string message = absl::StrJoin(Strings(), "\n");
  if (status_code == kDesiredBadSchemaVersion) return absl::FailedPreconditionError(message);
  return absl::InvalidArgumentError(message);
}

nlohmann::json LastDesiredStatus::ToJson() const {
  return {{"code", code}, {"description", description}};
}

LastDesiredStatus LastDesiredStatusOf(const ManifestErrors& errors) {
  return {errors.code(), absl::StrJoin(errors.Strings(), "\n")};
}

}  // namespace edge::agent
