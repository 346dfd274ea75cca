// Who may connect to the hub: the MQTT username rules and the SAS / X.509 checks of
// docs/iothub-surface.md §1, decided from an in-memory identity table (no I/O, so the broker thread
// can call it and authentication keeps working while the store is down).
//
// Example:
//   AuthResult result = Authenticate(table, {.client_id = "d1",
//                                            .username = "hub/d1/?api-version=2021-04-12",
//                                            .password = sas_token, .now = absl::Now()});
//   if (!result.ok()) Log(AuthFailureLabel(result.failure), result.reason);
#ifndef EDGE_SERVICES_HUB_PLUGIN_CLIENT_AUTH_H_
#define EDGE_SERVICES_HUB_PLUGIN_CLIENT_AUTH_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity_id.h"

namespace edge::hub {

// What the hub holds of one identity of the store's registry.
struct IdentityRecord {
  bool x509 = false;  // AUTH_TYPE_X509_CA; otherwise SAS
  std::string primary_key = {};
  std::string secondary_key = {};
  bool enabled = true;
};

// Identity id (`device` or `device/module`) → record.
using IdentityTable = absl::flat_hash_map<std::string, IdentityRecord>;

// An MQTT username: `{host}/{device}/?api-version=…` or `{host}/{device}/{module}/?api-version=…`.
struct MqttUsername {
  std::string identity;  // `device` or `device/module`, as written (not URL-decoded)
  std::string api_version;
};

// INVALID_ARGUMENT naming the problem: no `/?` query, a host/device/module part of the wrong shape,
// or no `api-version` (its value is not checked; other keys are ignored; values URL-decoded).
absl::StatusOr<MqttUsername> ParseMqttUsername(absl::string_view username);

enum class AuthMethod { kSas, kX509 };
absl::string_view AuthMethodName(AuthMethod method);  // "sas", "x509"

// Why a connection was refused; each has a stable label for the refusal counter.
enum class AuthFailure {
  kMalformedUsername,    // "malformed_username"
  kClientIdMismatch,     // "client_id_mismatch"
  kIdentitiesUnknown,    // "identities_not_loaded": nothing loaded from the store or its cache
  kUnknownIdentity,      // "unknown_identity"
  kDisabled,             // "disabled"
  kWrongAuthType,        // "wrong_auth_type": a SAS identity with a certificate, or the reverse
  kMalformedToken,       // "malformed_token"
  kExpiredToken,         // "expired_token"
  kWrongResource,        // "wrong_resource"
  kBadSignature,         // "bad_signature"
  kCertificateMismatch,  // "certificate_mismatch": CN is not the identity
  kBrokenIdentity,       // "broken_identity": the stored keys are unusable
};
absl::string_view AuthFailureLabel(AuthFailure failure);

struct ConnectAttempt {
  absl::string_view client_id = {};
  absl::string_view username = {};
  absl::string_view password = {};
  // The subject CN of the client certificate, when the TLS handshake presented one (the X.509
  // listener; mosquitto has already verified it against that listener's CA).
  std::optional<std::string> certificate_cn = {};
  absl::Time now = {};
};

struct AuthResult {
  std::optional<IdentityId> identity;  // set when accepted
  AuthMethod method = AuthMethod::kSas;
  AuthFailure failure = AuthFailure::kMalformedUsername;  // when refused
  std::string reason;                                     // when refused: for the log line
  // SAS: the token's `se` plus kSasClockSkew, when the connection stops being authorised (IoT Hub
  // closes it then; clients renew by reconnecting). X.509: never.
  absl::Time valid_until = absl::InfiniteFuture();

  bool ok() const { return identity.has_value(); }
};

// Applies §1 in this order: username shape and api-version; client id = the username's identity;
// the identity exists and is enabled; then, with a certificate, the identity is X.509 and the CN is
// its id (a device's id, or `device/module`); without one, the identity is SAS and the password is
// a SAS token valid for it (primary or secondary key, 5 minutes of skew; a device-level token for a
// module is checked against the device's keys, and the device must be enabled). `table` is nullptr
// until identities were loaded.
AuthResult Authenticate(const IdentityTable* table, const ConnectAttempt& attempt);

}  // namespace edge::hub

#endif  // EDGE_SERVICES_HUB_PLUGIN_CLIENT_AUTH_H_
