// The id of a device (`deviceId`) or a module (`deviceId/moduleId`), as IoT Hub spells them.
//
// Example:
//   ASSIGN_OR_RETURN(IdentityId id, IdentityId::Parse("edge-1/$edgeHub"));
//   id.device();     // "edge-1"
//   id.is_module();  // true
#ifndef EDGE_COMMON_IDENTITY_ID_H_
#define EDGE_COMMON_IDENTITY_ID_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edge {

// OK when `part` is a valid device or module id on its own: 1-128 characters from the set above.
// Otherwise INVALID_ARGUMENT with the reason alone, for the caller to prefix: "is empty", "is 129
// characters; at most 128", "contains '/' (allowed: …)".
absl::Status CheckIdPart(absl::string_view part);

class IdentityId {
 public:
  // INVALID_ARGUMENT unless `text` is `device` or `device/module`, each 1-128 characters from
  // `A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '` (the message says which part is wrong and why).
  static absl::StatusOr<IdentityId> Parse(absl::string_view text);
  static IdentityId Device(std::string device) { return IdentityId(std::move(device), ""); }

  const std::string& device() const { return device_; }
  const std::string& module() const { return module_; }
  bool is_module() const { return !module_.empty(); }
  // `device` or `device/module`.
  std::string ToString() const;
  IdentityId DeviceOf() const { return Device(device_); }

 private:
  IdentityId(std::string device, std::string module)
      : device_(std::move(device)), module_(std::move(module)) {}
  std::string device_;
  std::string module_;
};

}  // namespace edge

#endif  // EDGE_COMMON_IDENTITY_ID_H_
