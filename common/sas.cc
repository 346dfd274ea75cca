#include "common/sas.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace edge {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status Unauthenticated(absl::string_view reason, absl::string_view detail) {
  return absl::UnauthenticatedError(absl::StrCat(reason, ": ", detail));
}

}  // namespace

std::string GenerateSymmetricKey(int bytes) {
  std::vector<unsigned char> random(static_cast<size_t>(bytes));
  if (RAND_bytes(random.data(), bytes) != 1) {
    // The CSPRNG failing is not recoverable; a predictable key would be worse than no start.
    std::abort();
  }
  return Base64Encode(
      absl::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

std::string Base64Encode(absl::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return absl::InvalidArgumentError("not base64 (length is not a multiple of 4)");
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return absl::InvalidArgumentError("not base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  if (Base64Encode(out) != text) return absl::InvalidArgumentError("not canonical base64");
  return out;
}

absl::Status ValidateSymmetricKey(absl::string_view key) {
  absl::StatusOr<std::string> bytes = Base64Decode(key);
  if (!bytes.ok())
    return absl::InvalidArgumentError(absl::StrCat("key is ", bytes.status().message()));
  if (bytes->size() < 16 || bytes->size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("key is ", bytes->size(), " bytes; it must be 16 to 64"));
  }
  return absl::OkStatus();
}

std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

absl::StatusOr<std::string> UrlDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad percent-escape at offset ", i, " of \"", text, "\""));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

namespace {

// base64(HMAC-SHA256(base64decode(key), text)); INVALID_ARGUMENT for a bad key.
absl::StatusOr<std::string> HmacSha256Base64(absl::string_view key, absl::string_view text) {
  RETURN_IF_ERROR(ValidateSymmetricKey(key));
  ASSIGN_OR_RETURN(std::string secret, Base64Decode(key));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac,
           &mac_len) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return Base64Encode(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

}  // namespace

absl::StatusOr<std::string> SasSignature(absl::string_view url_encoded_resource,
                                         absl::string_view key, int64_t expiry_unix_seconds) {
  return HmacSha256Base64(key, absl::StrCat(url_encoded_resource, "\n", expiry_unix_seconds));
}

absl::StatusOr<std::string> MakeSasToken(absl::string_view resource, absl::string_view key,
                                         absl::Time expiry, absl::string_view key_name) {
  const std::string sr = UrlEncode(resource);
  const int64_t se = absl::ToUnixSeconds(expiry);
  ASSIGN_OR_RETURN(std::string sig, SasSignature(sr, key, se));
  std::string token =
      absl::StrCat("SharedAccessSignature sr=", sr, "&sig=", UrlEncode(sig), "&se=", se);
  if (!key_name.empty()) absl::StrAppend(&token, "&skn=", UrlEncode(key_name));
  return token;
}

absl::StatusOr<SasToken> ParseSasToken(absl::string_view text) {
  constexpr absl::string_view kPrefix = "SharedAccessSignature ";
  constexpr absl::string_view kMalformed = "malformed SAS token";
  if (!absl::StartsWith(text, kPrefix)) {
    return Unauthenticated(kMalformed, "it does not start with \"SharedAccessSignature \"");
  }
  SasToken token;
  bool seen_sr = false, seen_sig = false, seen_se = false, seen_skn = false;
  for (absl::string_view field : absl::StrSplit(text.substr(kPrefix.size()), '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(field, absl::MaxSplits('=', 1));
    const std::string name = absl::AsciiStrToLower(kv.first);
    bool* seen = name == "sr"    ? &seen_sr
                 : name == "sig" ? &seen_sig
                 : name == "se"  ? &seen_se
                 : name == "skn" ? &seen_skn
                                 : nullptr;
    // Unknown fields are ignored, as IoT Hub does, so newer SDKs keep working.
    if (seen == nullptr) continue;
    if (*seen) return Unauthenticated(kMalformed, absl::StrCat("field \"", name, "\" repeated"));
    *seen = true;
    if (kv.second.empty()) {
      return Unauthenticated(kMalformed, absl::StrCat("field \"", name, "\" is empty"));
    }
    absl::StatusOr<std::string> value = UrlDecode(kv.second);
    if (!value.ok()) {
      return Unauthenticated(kMalformed,
                             absl::StrCat("field \"", name, "\": ", value.status().message()));
    }
    if (name == "sr") {
      token.resource_as_sent = std::string(kv.second);
      token.resource = *std::move(value);
    } else if (name == "sig") {
      token.signature = *std::move(value);
    } else if (name == "se") {
      token.expiry_as_sent = std::string(kv.second);
      // SimpleAtoi alone would accept a sign or spaces; the signed text must be plain digits.
      if (!std::all_of(token.expiry_as_sent.begin(), token.expiry_as_sent.end(),
                       [](char c) { return c >= '0' && c <= '9'; }) ||
          !absl::SimpleAtoi(token.expiry_as_sent, &token.expiry_unix_seconds)) {
        return Unauthenticated(
            kMalformed, absl::StrCat("se \"", kv.second, "\" is not a unix time in seconds"));
      }
    } else {
      token.key_name = *std::move(value);
    }
  }
  if (!seen_sr) return Unauthenticated(kMalformed, "no sr field");
  if (!seen_sig) return Unauthenticated(kMalformed, "no sig field");
  if (!seen_se) return Unauthenticated(kMalformed, "no se field");
  return token;
}

namespace {

// True when `resource` (decoded, host segment ignored) names `identity` or, for a module, its
// device.
bool ResourceNames(absl::string_view resource, const IdentityId& identity) {
  size_t slash = resource.find('/');
  if (slash == absl::string_view::npos) return false;
  absl::string_view path = resource.substr(slash);
  const std::string device_path = absl::StrCat("/devices/", identity.device());
  if (path == device_path) return true;
  return identity.is_module() && path == absl::StrCat(device_path, "/modules/", identity.module());
}

// Constant-time for equal lengths; a length difference reveals only that base64 of a 32-byte MAC
// is 44 characters, which is public.
bool SignatureEquals(absl::string_view expected, absl::string_view presented) {
  return expected.size() == presented.size() &&
         CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

}  // namespace

absl::Status ValidateSasToken(absl::string_view token_text, const IdentityId& identity,
                              absl::string_view primary_key, absl::string_view secondary_key,
                              absl::Time now) {
  ASSIGN_OR_RETURN(SasToken token, ParseSasToken(token_text));
  return ValidateSasToken(token, identity, primary_key, secondary_key, now);
}

absl::Status ValidateSasToken(const SasToken& token, const IdentityId& identity,
                              absl::string_view primary_key, absl::string_view secondary_key,
                              absl::Time now) {
  if (now > absl::FromUnixSeconds(token.expiry_unix_seconds) + kSasClockSkew) {
    return Unauthenticated("expired SAS token",
                           absl::StrCat("se ", token.expiry_unix_seconds, " is before ",
                                        absl::ToUnixSeconds(now), " minus 5 minutes of skew"));
  }
  if (!ResourceNames(token.resource, identity)) {
    return Unauthenticated(
        "wrong SAS resource",
        absl::StrCat("\"", token.resource, "\" is not for identity \"", identity.ToString(), "\""));
  }
  // §1: the signature covers sr and se exactly as sent, not re-encoded.
  const std::string sr_and_se = token.resource_as_sent;
  bool any_valid_key = false;
  bool matched = false;
  for (absl::string_view key : {primary_key, secondary_key}) {
    if (key.empty()) continue;
    absl::StatusOr<std::string> expected =
        HmacSha256Base64(key, absl::StrCat(sr_and_se, "\n", token.expiry_as_sent));
    if (!expected.ok()) continue;
    any_valid_key = true;
    // Not short-circuited: both keys cost the same whichever one matches.
    matched = SignatureEquals(*expected, token.signature) | matched;
  }
  if (!any_valid_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("identity \"", identity.ToString(), "\" has no valid symmetric key"));
  }
  if (!matched) return absl::UnauthenticatedError("bad SAS signature");
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> ParseConnectionString(absl::string_view text) {
  std::map<std::string, std::string> fields;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    const size_t equals = part.find('=');
    if (part.empty() || equals == absl::string_view::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("connection string part \"", part, "\" is not Key=value"));
    }
    std::string key(part.substr(0, equals));
    if (!fields.emplace(key, std::string(part.substr(equals + 1))).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("connection string key ", key, " is given twice"));
    }
  }
  return fields;
}

}  // namespace edge
