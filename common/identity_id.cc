#include "common/identity_id.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace edge {
namespace {

constexpr size_t kMaxIdLength = 128;

bool IsIdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         absl::StrContains("-.%_*?!(),:=@$'", c);
}

absl::Status CheckPart(absl::string_view part, absl::string_view what, absl::string_view text) {
  absl::Status valid = CheckIdPart(part);
  if (valid.ok()) return valid;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\": the ", what, " id ", valid.message()));
}

}  // namespace

absl::Status CheckIdPart(absl::string_view part) {
  if (part.empty()) return absl::InvalidArgumentError("is empty");
  if (part.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("is ", part.size(), " characters; at most 128"));
  }
  for (char c : part) {
    if (!IsIdCharacter(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("contains '", std::string(1, c),
                       "' (allowed: letters, digits and - . % _ * ? ! ( ) , : = @ $ ')"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<IdentityId> IdentityId::Parse(absl::string_view text) {
  size_t slash = text.find('/');
  absl::string_view device = text.substr(0, slash);
  if (absl::Status s = CheckPart(device, "device", text); !s.ok()) return s;
  if (slash == absl::string_view::npos) return IdentityId(std::string(device), "");
  absl::string_view module = text.substr(slash + 1);
  if (absl::Status s = CheckPart(module, "module", text); !s.ok()) return s;
  return IdentityId(std::string(device), std::string(module));
}

std::string IdentityId::ToString() const {
  return module_.empty() ? device_ : absl::StrCat(device_, "/", module_);
}

}  // namespace edge
