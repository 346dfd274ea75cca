#include "common/sas.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// bytes 0..31, base64.
constexpr char kKey[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

TEST(SasTest, TokenMatchesAnIndependentlyComputedSignature) {
  // Expected values computed with Python's hmac/hashlib/base64/urllib.
  absl::StatusOr<std::string> token =
      MakeSasToken("myhub.example/devices/dev1", kKey, absl::FromUnixSeconds(1700000000));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token,
            "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1"
            "&sig=g9mvEu2qZqHy%2BPXEpEz0vTqqTvQTig6LgWedL3jt4hI%3D&se=1700000000");
}

TEST(SasTest, KeyNameIsAppended) {
  absl::StatusOr<std::string> token =
      MakeSasToken("h/devices/d", kKey, absl::FromUnixSeconds(1), "iothubowner");
  ASSERT_TRUE(token.ok());
  EXPECT_THAT(*token, HasSubstr("&skn=iothubowner"));
}

TEST(SasTest, GeneratedKeysAreValidAndDistinct) {
  std::string a = GenerateSymmetricKey();
  std::string b = GenerateSymmetricKey();
  EXPECT_TRUE(ValidateSymmetricKey(a).ok());
  EXPECT_NE(a, b);
  EXPECT_EQ(Base64Decode(a)->size(), 32u);
}

TEST(SasTest, RejectsKeysThatAreNotBase64OrTheWrongSize) {
  EXPECT_EQ(ValidateSymmetricKey("not base64!").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSymmetricKey(Base64Encode("short")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSymmetricKey(Base64Encode(std::string(65, 'x'))).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeSasToken("r", "bad", absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SasTest, Base64RoundTripsAndRejectsNonCanonicalText) {
  for (const std::string& s :
       std::vector<std::string>{"a", "ab", "abc", "abcd", std::string("\0\xff", 2)}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_FALSE(Base64Decode("YW=").ok());
  EXPECT_FALSE(Base64Decode("").ok());
}

TEST(SasTest, UrlEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("a-b_c.d~e/f g+h=i"), "a-b_c.d~e%2Ff%20g%2Bh%3Di");
}

// --- Validation. Every token below was built and signed with Python's hmac/hashlib/base64/urllib,
// never with the code under test.

// bytes 32..63, base64.
constexpr char kSecondaryKey[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
constexpr int64_t kExpiry = 1700000000;

// Signed with kKey.
constexpr char kDeviceToken[] =
    "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1"
    "&sig=g9mvEu2qZqHy%2BPXEpEz0vTqqTvQTig6LgWedL3jt4hI%3D&se=1700000000";
constexpr char kModuleToken[] =
    "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1%2Fmodules%2Fmod1"
    "&sig=HQrslAbvCAzFSJxsn5yy%2Bu2U%2FONt3vZDoIz9PosjXhM%3D&se=1700000000";
// Signed with kSecondaryKey.
constexpr char kDeviceTokenSecondary[] =
    "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1"
    "&sig=F7ho3PDX9p6XJmWlsCbbX%2FkPtWnfK7%2FBvxBNgrVjEJw%3D&se=1700000000";
// kKey over sr with lower-case escapes, as sent: the signature covers sr as sent.
constexpr char kLowerCaseEscapesToken[] =
    "SharedAccessSignature sr=myhub.example%2fdevices%2fdev1"
    "&sig=Q%2BwQJTluKRnEoc%2BrNNOk1kgn2mSdwyovltgourh6NSU%3D&se=1700000000";

IdentityId Id(absl::string_view text) { return *IdentityId::Parse(text); }
absl::Time Before() { return absl::FromUnixSeconds(kExpiry - 60); }

struct ValidCase {
  const char* name;
  std::string token;
  std::string identity;
  absl::Time now;
};

TEST(SasValidationTest, AcceptsValidTokens) {
  const ValidCase cases[] = {
      {"device, primary key", kDeviceToken, "dev1", Before()},
      {"device, secondary key", kDeviceTokenSecondary, "dev1", Before()},
      {"module resource", kModuleToken, "dev1/mod1", Before()},
      {"device resource for a module of the device", kDeviceToken, "dev1/mod1", Before()},
      {"sr as sent, lower-case escapes", kLowerCaseEscapesToken, "dev1", Before()},
      {"fields in another order, names in upper case",
       "SharedAccessSignature SE=1700000000&SIG=g9mvEu2qZqHy%2BPXEpEz0vTqqTvQTig6LgWedL3jt4hI%3D"
       "&Sr=myhub.example%2Fdevices%2Fdev1&skn=device",
       "dev1", Before()},
      {"unknown field ignored", absl::StrCat(kDeviceToken, "&foo=bar"), "dev1", Before()},
      {"sig with + and = not escaped",
       "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1"
       "&sig=g9mvEu2qZqHy+PXEpEz0vTqqTvQTig6LgWedL3jt4hI=&se=1700000000",
       "dev1", Before()},
      {"exactly at expiry + skew", kDeviceToken, "dev1",
       absl::FromUnixSeconds(kExpiry) + absl::Minutes(5)},
      {"within the skew", kDeviceToken, "dev1", absl::FromUnixSeconds(kExpiry + 299)},
  };
  for (const ValidCase& c : cases) {
    EXPECT_TRUE(ValidateSasToken(c.token, Id(c.identity), kKey, kSecondaryKey, c.now).ok())
        << c.name << ": " << ValidateSasToken(c.token, Id(c.identity), kKey, kSecondaryKey, c.now);
  }
}

struct InvalidCase {
  const char* name;
  std::string token;
  std::string identity;
  absl::Time now;
  std::string reason;  // the start of the status message
};

TEST(SasValidationTest, RejectsBadTokensWithTheReason) {
  const InvalidCase cases[] = {
      {"no prefix", "sr=a%2Fdevices%2Fdev1&sig=x&se=1", "dev1", Before(), "malformed SAS token"},
      {"empty", "", "dev1", Before(), "malformed SAS token"},
      {"no sig", "SharedAccessSignature sr=h%2Fdevices%2Fdev1&se=1700000000", "dev1", Before(),
       "malformed SAS token: no sig"},
      {"no se", "SharedAccessSignature sr=h%2Fdevices%2Fdev1&sig=abc", "dev1", Before(),
       "malformed SAS token: no se"},
      {"no sr", "SharedAccessSignature sig=abc&se=1700000000", "dev1", Before(),
       "malformed SAS token: no sr"},
      {"repeated field", absl::StrCat(kDeviceToken, "&SE=1700000000"), "dev1", Before(),
       "malformed SAS token: field \"se\" repeated"},
      {"se not a number", "SharedAccessSignature sr=h%2Fdevices%2Fdev1&sig=abc&se=17e8", "dev1",
       Before(), "malformed SAS token: se"},
      {"se negative", "SharedAccessSignature sr=h%2Fdevices%2Fdev1&sig=abc&se=-1", "dev1", Before(),
       "malformed SAS token: se"},
      {"se overflows",
       "SharedAccessSignature sr=h%2Fdevices%2Fdev1&sig=abc&se=99999999999999999999", "dev1",
       Before(), "malformed SAS token: se"},
      {"bad escape", "SharedAccessSignature sr=h%2Fdevices%2&sig=abc&se=1700000000", "dev1",
       Before(), "malformed SAS token: field \"sr\""},
      {"empty value", "SharedAccessSignature sr=&sig=abc&se=1700000000", "dev1", Before(),
       "malformed SAS token: field \"sr\" is empty"},
      {"expired", kDeviceToken, "dev1", absl::FromUnixSeconds(kExpiry + 301), "expired SAS token"},
      {"other device", kDeviceToken, "dev2", Before(), "wrong SAS resource"},
      {"other module", kModuleToken, "dev1/mod2", Before(), "wrong SAS resource"},
      {"module resource for the device", kModuleToken, "dev1", Before(), "wrong SAS resource"},
      {"resource without host", "SharedAccessSignature sr=devices%2Fdev1&sig=abc&se=1700000000",
       "dev1", Before(), "wrong SAS resource"},
      {"device id prefix only",
       "SharedAccessSignature sr=h%2Fdevices%2Fdev10&sig=abc&se=1700000000", "dev1", Before(),
       "wrong SAS resource"},
      {"tampered signature",
       "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1"
       "&sig=h9mvEu2qZqHy%2BPXEpEz0vTqqTvQTig6LgWedL3jt4hI%3D&se=1700000000",
       "dev1", Before(), "bad SAS signature"},
      {"tampered expiry",
       "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1"
       "&sig=g9mvEu2qZqHy%2BPXEpEz0vTqqTvQTig6LgWedL3jt4hI%3D&se=1700000001",
       "dev1", Before(), "bad SAS signature"},
      {"signature of a different length",
       "SharedAccessSignature sr=myhub.example%2Fdevices%2Fdev1&sig=abc&se=1700000000", "dev1",
       Before(), "bad SAS signature"},
  };
  for (const InvalidCase& c : cases) {
    absl::Status s = ValidateSasToken(c.token, Id(c.identity), kKey, kSecondaryKey, c.now);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << c.name << ": " << s;
    EXPECT_THAT(std::string(s.message()), StartsWith(c.reason)) << c.name;
  }
}

TEST(SasValidationTest, SecondaryKeyIsOptional) {
  EXPECT_TRUE(ValidateSasToken(kDeviceToken, Id("dev1"), kKey, "", Before()).ok());
  EXPECT_EQ(ValidateSasToken(kDeviceTokenSecondary, Id("dev1"), kKey, "", Before()).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SasValidationTest, OnlyTheSecondaryKeyMayBeValid) {
  EXPECT_TRUE(
      ValidateSasToken(kDeviceTokenSecondary, Id("dev1"), "", kSecondaryKey, Before()).ok());
}

TEST(SasValidationTest, AnIdentityWithoutAValidKeyIsAFailedPrecondition) {
  EXPECT_EQ(ValidateSasToken(kDeviceToken, Id("dev1"), "not a key", "", Before()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SasValidationTest, ParseKeepsTheFieldsAsSentAndDecoded) {
  absl::StatusOr<SasToken> t = ParseSasToken(absl::StrCat(kLowerCaseEscapesToken, "&skn=my%20key"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->resource_as_sent, "myhub.example%2fdevices%2fdev1");
  EXPECT_EQ(t->resource, "myhub.example/devices/dev1");
  EXPECT_EQ(t->signature, "Q+wQJTluKRnEoc+rNNOk1kgn2mSdwyovltgourh6NSU=");
  EXPECT_EQ(t->expiry_unix_seconds, kExpiry);
  EXPECT_EQ(t->key_name, "my key");
}

TEST(SasValidationTest, TokensMadeHereValidate) {
  absl::StatusOr<std::string> token = MakeSasToken("anyhost/devices/dev1/modules/mod1",
                                                   kSecondaryKey, absl::FromUnixSeconds(kExpiry));
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(ValidateSasToken(*token, Id("dev1/mod1"), kKey, kSecondaryKey, Before()).ok());
}

TEST(UrlDecodeTest, DecodesEscapesOfEitherCaseAndLeavesPlusAlone) {
  EXPECT_EQ(*UrlDecode("a%2Fb%2fc+d%24"), "a/b/c+d$");
  EXPECT_EQ(*UrlDecode(""), "");
  EXPECT_EQ(*UrlDecode(UrlEncode("x y/z=\xff")), "x y/z=\xff");
}

TEST(UrlDecodeTest, RejectsMalformedEscapes) {
  for (const char* bad : {"%", "%2", "a%zz", "%g0", "abc%"}) {
    EXPECT_EQ(UrlDecode(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace edge
