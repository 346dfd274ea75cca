// Shared access signatures and symmetric keys as IoT Hub defines them (docs/iothub-surface.md §1).
//
// Example:
//   std::string key = GenerateSymmetricKey();                 // base64 of 32 random bytes
//   std::string token = MakeSasToken("hub.local/devices/d1", key, absl::Now() + absl::Hours(1));
//   // "SharedAccessSignature sr=hub.local%2Fdevices%2Fd1&sig=...&se=1700003600"
#ifndef EDGE_COMMON_SAS_H_
#define EDGE_COMMON_SAS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edge {

// Base64 of `bytes` random bytes from OpenSSL's CSPRNG.
std::string GenerateSymmetricKey(int bytes = 32);

// INVALID_ARGUMENT unless `key` is base64 of 16 to 64 bytes.
absl::Status ValidateSymmetricKey(absl::string_view key);

std::string Base64Encode(absl::string_view bytes);
// INVALID_ARGUMENT for anything that is not canonical base64.
absl::StatusOr<std::string> Base64Decode(absl::string_view text);

// Percent-encodes everything but unreserved characters (RFC 3986), as IoT Hub expects in `sr`.
std::string UrlEncode(absl::string_view text);

// base64(HMAC-SHA256(base64decode(key), url_encoded_resource + "\n" + expiry)).
absl::StatusOr<std::string> SasSignature(absl::string_view url_encoded_resource,
                                         absl::string_view key, int64_t expiry_unix_seconds);

// A complete `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]`. INVALID_ARGUMENT for a bad key.
absl::StatusOr<std::string> MakeSasToken(absl::string_view resource, absl::string_view key,
                                         absl::Time expiry, absl::string_view key_name = "");

}  // namespace edge

#endif  // EDGE_COMMON_SAS_H_
