#include "common/sas.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace edge
