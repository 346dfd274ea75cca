#include "services/hub/plugin/client_auth.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sas.h"

namespace edge::hub {
namespace {

AuthResult Refuse(AuthFailure failure, std::string reason) {
  AuthResult result;
  result.failure = failure;
  result.reason = std::move(reason);
  return result;
}

AuthResult Accept(IdentityId identity, AuthMethod method) {
  AuthResult result;
  result.identity = std::move(identity);
  result.method = method;
  return result;
}

// ValidateSasToken's documented message prefixes → failures.
AuthFailure SasFailure(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) return AuthFailure::kBrokenIdentity;
  const absl::string_view message = status.message();
  if (absl::StartsWith(message, "expired SAS token")) return AuthFailure::kExpiredToken;
  if (absl::StartsWith(message, "wrong SAS resource")) return AuthFailure::kWrongResource;
  if (absl::StartsWith(message, "bad SAS signature")) return AuthFailure::kBadSignature;
  return AuthFailure::kMalformedToken;
}

AuthResult AuthenticateX509(const IdentityId& identity, const IdentityRecord& record,
                            const std::string& certificate_cn) {
  if (!record.x509) {
    return Refuse(AuthFailure::kWrongAuthType,
                  absl::StrCat("identity \"", identity.ToString(),
                               "\" uses SAS tokens but presented a client certificate"));
  }
  if (certificate_cn != identity.ToString()) {
    return Refuse(AuthFailure::kCertificateMismatch,
                  absl::StrCat("certificate CN \"", certificate_cn, "\" is not \"",
                               identity.ToString(), "\""));
  }
  return Accept(identity, AuthMethod::kX509);
}

AuthResult AuthenticateSas(const IdentityTable& table, const IdentityId& identity,
                           const IdentityRecord& record, absl::string_view password,
                           absl::Time now) {
  if (record.x509) {
    return Refuse(
        AuthFailure::kWrongAuthType,
        absl::StrCat("identity \"", identity.ToString(),
                     "\" uses X.509: connect to the X.509 listener with its certificate"));
  }
  if (password.empty()) return Refuse(AuthFailure::kMalformedToken, "no SAS token in the password");
  absl::StatusOr<SasToken> token = ParseSasToken(password);
  if (!token.ok()) {
    return Refuse(AuthFailure::kMalformedToken, std::string(token.status().message()));
  }
  const IdentityRecord* keys = &record;
  if (identity.is_module()) {
    // §1: a device-level token is accepted for a module of that device, signed with the
    // device's keys.
    if (!absl::StrContains(token->resource, "/modules/")) {
      auto device = table.find(identity.device());
      if (device == table.end() || device->second.x509) {
        return Refuse(AuthFailure::kWrongResource,
                      absl::StrCat("device-level token for module \"", identity.ToString(),
                                   "\", but its device has no SAS keys"));
      }
      if (!device->second.enabled) {
        return Refuse(AuthFailure::kDisabled,
                      absl::StrCat("device \"", identity.device(), "\" is disabled"));
      }
      keys = &device->second;
    }
  }
  absl::Status valid =
      ValidateSasToken(*token, identity, keys->primary_key, keys->secondary_key, now);
  if (!valid.ok()) return Refuse(SasFailure(valid), std::string(valid.message()));
  AuthResult accepted = Accept(identity, AuthMethod::kSas);
  accepted.valid_until = absl::FromUnixSeconds(token->expiry_unix_seconds) + kSasClockSkew;
  return accepted;
}

}  // namespace

absl::StatusOr<MqttUsername> ParseMqttUsername(absl::string_view username) {
  const size_t query_at = username.find("/?");
  if (query_at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("username \"", username,
                     "\" has no \"/?api-version=…\" part ({host}/{device}[/{module}]/?…)"));
  }
  std::vector<absl::string_view> path = absl::StrSplit(username.substr(0, query_at), '/');
  if (path.size() != 2 && path.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "username \"", username, "\" is not {host}/{device}/?… or {host}/{device}/{module}/?…"));
  }
  path.erase(path.begin());  // the host segment is ignored
  const std::string identity = absl::StrJoin(path, "/");
  if (absl::Status valid = IdentityId::Parse(identity).status(); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("username \"", username, "\": ", valid.message()));
  }
  MqttUsername parsed;
  parsed.identity = identity;
  bool has_api_version = false;
  for (absl::string_view pair : absl::StrSplit(username.substr(query_at + 2), '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first != "api-version") continue;
    absl::StatusOr<std::string> value = UrlDecode(kv.second);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("username \"", username, "\": api-version: ", value.status().message()));
    }
    parsed.api_version = *std::move(value);
    has_api_version = true;
  }
  if (!has_api_version || parsed.api_version.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("username \"", username, "\" has no api-version"));
  }
  return parsed;
}

absl::string_view AuthMethodName(AuthMethod method) {
  return method == AuthMethod::kX509 ? "x509" : "sas";
}

absl::string_view AuthFailureLabel(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMalformedUsername:
      return "malformed_username";
    case AuthFailure::kClientIdMismatch:
      return "client_id_mismatch";
    case AuthFailure::kIdentitiesUnknown:
      return "identities_not_loaded";
    case AuthFailure::kUnknownIdentity:
      return "unknown_identity";
    case AuthFailure::kDisabled:
      return "disabled";
    case AuthFailure::kWrongAuthType:
      return "wrong_auth_type";
    case AuthFailure::kMalformedToken:
      return "malformed_token";
    case AuthFailure::kExpiredToken:
      return "expired_token";
    case AuthFailure::kWrongResource:
      return "wrong_resource";
    case AuthFailure::kBadSignature:
      return "bad_signature";
    case AuthFailure::kCertificateMismatch:
      return "certificate_mismatch";
    case AuthFailure::kBrokenIdentity:
      return "broken_identity";
  }
  return "unknown";
}

AuthResult Authenticate(const IdentityTable* table, const ConnectAttempt& attempt) {
  absl::StatusOr<MqttUsername> username = ParseMqttUsername(attempt.username);
  if (!username.ok()) {
    return Refuse(AuthFailure::kMalformedUsername, std::string(username.status().message()));
  }
  if (attempt.client_id != username->identity) {
    return Refuse(AuthFailure::kClientIdMismatch,
                  absl::StrCat("client id \"", attempt.client_id, "\" is not the username's \"",
                               username->identity, "\""));
  }
  if (table == nullptr) {
    return Refuse(AuthFailure::kIdentitiesUnknown,
                  "no identities loaded yet (the store has not been reachable since start)");
  }
  auto found = table->find(username->identity);
  if (found == table->end()) {
    return Refuse(AuthFailure::kUnknownIdentity,
                  absl::StrCat("no identity \"", username->identity, "\""));
  }
  const IdentityRecord& record = found->second;
  if (!record.enabled) {
    return Refuse(AuthFailure::kDisabled,
                  absl::StrCat("identity \"", username->identity, "\" is disabled"));
  }
  // The username parsed as an IdentityId already.
  IdentityId identity = *IdentityId::Parse(username->identity);
  if (attempt.certificate_cn.has_value()) {
    return AuthenticateX509(identity, record, *attempt.certificate_cn);
  }
  return AuthenticateSas(*table, identity, record, attempt.password, attempt.now);
}

}  // namespace edge::hub
