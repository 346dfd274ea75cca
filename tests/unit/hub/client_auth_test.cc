#include "services/hub/plugin/client_auth.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/sas.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class ClientAuthTest : public ::testing::Test {
 protected:
  ClientAuthTest() {
    table_["d1"] = {.primary_key = GenerateSymmetricKey(), .secondary_key = GenerateSymmetricKey()};
    table_["d1/m1"] = {.primary_key = GenerateSymmetricKey(),
                       .secondary_key = GenerateSymmetricKey()};
    table_["off"] = {.primary_key = GenerateSymmetricKey(), .enabled = false};
    table_["off/m1"] = {.primary_key = GenerateSymmetricKey()};
    table_["cert-dev"] = {.x509 = true};
  }

  std::string Token(const std::string& resource, const std::string& key,
                    absl::Time expiry = kNow + absl::Hours(1)) {
    return *MakeSasToken(resource, key, expiry);
  }

  AuthResult Connect(const std::string& identity, const std::string& password,
                     std::optional<std::string> cn = std::nullopt) {
    username_ = absl::StrCat("edge.local/", identity, "/?api-version=2021-04-12");
    return Authenticate(&table_, {.client_id = identity,
                                  .username = username_,
                                  .password = password,
                                  .certificate_cn = std::move(cn),
                                  .now = kNow});
  }

  IdentityTable table_;
  std::string username_;
};

TEST(MqttUsernameTest, ParsesDeviceAndModuleUsernames) {
  absl::StatusOr<MqttUsername> device =
      ParseMqttUsername("hub.example/d1/?api-version=2021-04-12&DeviceClientType=c%2F1");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->identity, "d1");
  EXPECT_EQ(device->api_version, "2021-04-12");

  absl::StatusOr<MqttUsername> module =
      ParseMqttUsername("gw/d1/m1/?model-id=x&api-version=2020%2D09%2D30");
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_EQ(module->identity, "d1/m1");
  EXPECT_EQ(module->api_version, "2020-09-30");
}

TEST(MqttUsernameTest, RejectsEveryMalformedShapeSayingWhy) {
  struct Case {
    const char* username;
    const char* says;
  };
  for (const Case& c :
       {Case{"d1", "api-version"}, Case{"hub/d1/?DeviceClientType=x", "api-version"},
        Case{"hub/d1/?api-version=", "api-version"}, Case{"/?api-version=1", "is not"},
        Case{"hub/a/b/c/?api-version=1", "is not"}, Case{"hub/bad#id/?api-version=1", "bad#id"},
        Case{"hub/d1/?api-version=%zz", "api-version"}}) {
    absl::StatusOr<MqttUsername> parsed = ParseMqttUsername(c.username);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.username;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.says)) << c.username;
  }
}

TEST_F(ClientAuthTest, DeviceWithPrimaryOrSecondaryKeyIsAccepted) {
  for (const std::string& key : {table_["d1"].primary_key, table_["d1"].secondary_key}) {
    AuthResult result = Connect("d1", Token("edge.local/devices/d1", key));
    ASSERT_TRUE(result.ok()) << result.reason;
    EXPECT_EQ(result.identity->ToString(), "d1");
    EXPECT_EQ(result.method, AuthMethod::kSas);
  }
}

TEST_F(ClientAuthTest, ModuleWithItsOwnOrItsDevicesTokenIsAccepted) {
  EXPECT_TRUE(Connect("d1/m1", Token("h/devices/d1/modules/m1", table_["d1/m1"].primary_key)).ok());
  EXPECT_TRUE(Connect("d1/m1", Token("h/devices/d1", table_["d1"].secondary_key)).ok());
}

TEST_F(ClientAuthTest, DeviceLevelTokenForAModuleMustBeSignedWithTheDevicesKey) {
  AuthResult result = Connect("d1/m1", Token("h/devices/d1", table_["d1/m1"].primary_key));
  EXPECT_EQ(result.failure, AuthFailure::kBadSignature);
}

TEST_F(ClientAuthTest, DeviceLevelTokenOfADisabledDeviceIsRefused) {
  AuthResult result = Connect("off/m1", Token("h/devices/off", table_["off"].primary_key));
  EXPECT_EQ(result.failure, AuthFailure::kDisabled);
}

TEST_F(ClientAuthTest, TokenExpiredWithinTheSkewIsAcceptedBeyondItRefused) {
  const std::string& key = table_["d1"].primary_key;
  EXPECT_TRUE(Connect("d1", Token("h/devices/d1", key, kNow - absl::Minutes(4))).ok());
  AuthResult result = Connect("d1", Token("h/devices/d1", key, kNow - absl::Minutes(6)));
  EXPECT_EQ(result.failure, AuthFailure::kExpiredToken);
  EXPECT_THAT(result.reason, HasSubstr("expired SAS token"));
}

TEST_F(ClientAuthTest, EveryRefusalHasItsReason) {
  const std::string d1_token = Token("h/devices/d1", table_["d1"].primary_key);
  struct Case {
    AuthResult result;
    AuthFailure failure;
    const char* label;
  };
  const Case cases[] = {
      {Connect("d1", Token("h/devices/d1", GenerateSymmetricKey())), AuthFailure::kBadSignature,
       "bad_signature"},
      {Connect("d1", Token("h/devices/d2", table_["d1"].primary_key)), AuthFailure::kWrongResource,
       "wrong_resource"},
      {Connect("d1", "SharedAccessSignature sr=x"), AuthFailure::kMalformedToken,
       "malformed_token"},
      {Connect("d1", ""), AuthFailure::kMalformedToken, "malformed_token"},
      {Connect("nobody", d1_token), AuthFailure::kUnknownIdentity, "unknown_identity"},
      {Connect("off", Token("h/devices/off", table_["off"].primary_key)), AuthFailure::kDisabled,
       "disabled"},
      {Connect("cert-dev", d1_token), AuthFailure::kWrongAuthType, "wrong_auth_type"},
      {Connect("d1", d1_token, "d1"), AuthFailure::kWrongAuthType, "wrong_auth_type"},
      {Connect("cert-dev", "", "someone-else"), AuthFailure::kCertificateMismatch,
       "certificate_mismatch"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.result.ok());
    EXPECT_EQ(c.result.failure, c.failure) << c.result.reason;
    EXPECT_EQ(AuthFailureLabel(c.result.failure), c.label);
    EXPECT_FALSE(c.result.reason.empty());
  }
}

TEST_F(ClientAuthTest, X509DeviceWithItsCnIsAccepted) {
  AuthResult result = Connect("cert-dev", "", "cert-dev");
  ASSERT_TRUE(result.ok()) << result.reason;
  EXPECT_EQ(result.method, AuthMethod::kX509);
}

TEST_F(ClientAuthTest, ClientIdMustBeTheUsernamesIdentity) {
  const std::string token = Token("h/devices/d1", table_["d1"].primary_key);
  AuthResult result = Authenticate(
      &table_,
      {.client_id = "d1/m1", .username = "h/d1/?api-version=1", .password = token, .now = kNow});
  EXPECT_EQ(result.failure, AuthFailure::kClientIdMismatch);
  EXPECT_THAT(result.reason, HasSubstr("\"d1/m1\""));
}

TEST_F(ClientAuthTest, MissingApiVersionIsAMalformedUsername) {
  AuthResult result = Authenticate(
      &table_,
      {.client_id = "d1", .username = "h/d1/?DeviceClientType=x", .password = "x", .now = kNow});
  EXPECT_EQ(result.failure, AuthFailure::kMalformedUsername);
}

TEST_F(ClientAuthTest, NothingIsAcceptedBeforeIdentitiesAreLoaded) {
  AuthResult result = Authenticate(
      nullptr,
      {.client_id = "d1", .username = "h/d1/?api-version=1", .password = "x", .now = kNow});
  EXPECT_EQ(result.failure, AuthFailure::kIdentitiesUnknown);
}

}  // namespace
}  // namespace edge::hub
