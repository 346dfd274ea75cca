#include "common/sas.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace edge {

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

absl::StatusOr<std::string> SasSignature(absl::string_view url_encoded_resource,
                                         absl::string_view key, int64_t expiry_unix_seconds) {
  RETURN_IF_ERROR(ValidateSymmetricKey(key));
  ASSIGN_OR_RETURN(std::string secret, Base64Decode(key));
  std::string to_sign = absl::StrCat(url_encoded_resource, "\n", expiry_unix_seconds);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac,
           &mac_len) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return Base64Encode(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
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

}  // namespace edge
