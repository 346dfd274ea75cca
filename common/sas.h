// Shared access signatures and symmetric keys as IoT Hub defines them (docs/iothub-surface.md §1).
//
// Example:
//   std::string key = GenerateSymmetricKey();                 // base64 of 32 random bytes
//   std::string token = MakeSasToken("hub.local/devices/d1", key, absl::Now() + absl::Hours(1));
//   // "SharedAccessSignature sr=hub.local%2Fdevices%2Fd1&sig=...&se=1700003600"
#ifndef EDGE_COMMON_SAS_H_
#define EDGE_COMMON_SAS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity_id.h"

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

// Reverses UrlEncode: `%XX` (either hex case) becomes the byte; every other character, `+`
// included, stays as it is (SDKs encode a space as %20, so `+` is never a space here).
// INVALID_ARGUMENT for a `%` not followed by two hex digits.
absl::StatusOr<std::string> UrlDecode(absl::string_view text);

// base64(HMAC-SHA256(base64decode(key), url_encoded_resource + "\n" + expiry)).
absl::StatusOr<std::string> SasSignature(absl::string_view url_encoded_resource,
                                         absl::string_view key, int64_t expiry_unix_seconds);

// A complete `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]`. INVALID_ARGUMENT for a bad key.
absl::StatusOr<std::string> MakeSasToken(absl::string_view resource, absl::string_view key,
                                         absl::Time expiry, absl::string_view key_name = "");

// The fields of a `SharedAccessSignature` password, as ParseSasToken found them.
struct SasToken {
  std::string resource_as_sent;  // `sr` exactly as sent: the signature covers these bytes.
  std::string resource;          // `sr` URL-decoded, e.g. "hub/devices/d1/modules/m1".
  std::string signature;         // `sig` URL-decoded (base64 text).
  std::string expiry_as_sent;    // `se` as sent (decimal digits): also covered by the signature.
  int64_t expiry_unix_seconds = 0;
  std::string key_name;  // `skn` URL-decoded; empty when absent.
};

// Parses `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]`: fields in any order, names
// case-insensitive, values URL-decoded, unknown fields ignored. UNAUTHENTICATED ("malformed SAS
// token: …") when the prefix is missing, a field is repeated, empty or badly escaped, `sr`, `sig`
// or `se` is missing, or `se` is not a non-negative decimal number. The status is UNAUTHENTICATED,
// not INVALID_ARGUMENT, because the only caller is a login that must fail as a login.
absl::StatusOr<SasToken> ParseSasToken(absl::string_view text);

// The fields of a connection string (`HostName=…;DeviceId=…;SharedAccessKey=…`, split at the first
// `=` of each part, as SDKs do). INVALID_ARGUMENT for an empty part, a part without `=` or a key
// given twice.
absl::StatusOr<std::map<std::string, std::string>> ParseConnectionString(absl::string_view text);

// How long past `se` a token is still accepted, for clocks that disagree (§1: 5 minutes).
inline constexpr absl::Duration kSasClockSkew = absl::Minutes(5);

// Authenticates `identity` with the SAS password `token` against its keys at time `now`.
// OK, or UNAUTHENTICATED whose message starts with the reason:
//   "malformed SAS token: …"   (see ParseSasToken),
//   "expired SAS token: …"     now > se + kSasClockSkew,
//   "wrong SAS resource: …"    sr (host segment ignored) is not `{host}/devices/{d}` or, for a
//                              module, `{host}/devices/{d}/modules/{m}`; a device-level resource
//                              is accepted for a module of that device,
//   "bad SAS signature"        matches neither key.
// The signature is compared in constant time (CRYPTO_memcmp) with both keys' signatures, both
// always computed, so timing says nothing about which key or how many bytes matched. An empty
// `secondary_key` is skipped; keys that are not valid symmetric keys never match, and
// FAILED_PRECONDITION is returned when neither key is valid (a broken identity store, not a bad
// client). The caller picks the keys: a module presenting a device-level token must be given the
// keys the caller accepts for that (IoT Hub: the device's).
absl::Status ValidateSasToken(absl::string_view token, const IdentityId& identity,
                              absl::string_view primary_key, absl::string_view secondary_key,
                              absl::Time now);
// The same for a token the caller already parsed (ParseSasToken), without the "malformed" case.
absl::Status ValidateSasToken(const SasToken& token, const IdentityId& identity,
                              absl::string_view primary_key, absl::string_view secondary_key,
                              absl::Time now);

}  // namespace edge

#endif  // EDGE_COMMON_SAS_H_
