#include "services/hub/plugin/direct_methods.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::hub {
namespace {

using ::testing::HasSubstr;

class PublishingBroker final : public BrokerApi {
 public:
  void KickClient(const std::string&) override {}
  int ProtocolVersion(const void*) override { return 4; }
  bool CleanSession(const void*) override { return true; }
  int SubscriptionCount(const void*) override { return 0; }
  bool Publish(const std::string& client_id, const std::string& topic, absl::string_view payload,
               int /*qos*/) override {
    published.push_back({client_id, topic, std::string(payload)});
    return true;
  }
  std::vector<std::vector<std::string>> published;
};

class DirectMethodsTest : public ::testing::Test {
 protected:
  ClientState Client(const std::string& identity, bool subscribed = true) {
    return ClientState{.client_id = identity,
                       .identity = *IdentityId::Parse(identity),
                       .methods_subscribed = subscribed};
  }
  DirectMethods::Done Record() {
    return [this](absl::StatusOr<MethodResult> result) { result_ = std::move(result); };
  }
  // The request id of the last published method request.
  std::string LastRid() const {
    const std::string& topic = broker_.published.back()[1];
    return topic.substr(topic.find("$rid=") + 5);
  }

  PublishingBroker broker_;
  DirectMethods methods_{&broker_};
  std::optional<absl::StatusOr<MethodResult>> result_;
  const absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

TEST_F(DirectMethodsTest, TheRequestGoesToTheClientAloneAndItsAnswerCompletesTheCall) {
  ClientState filter = Client("edge-1/filter");
  methods_.Invoke(&filter, {.target = "edge-1/filter", .method = "reset", .payload_json = "{}"},
                  now_, Record());
  ASSERT_EQ(broker_.published.size(), 1u);
  EXPECT_EQ(broker_.published[0][0], "edge-1/filter");
  EXPECT_THAT(broker_.published[0][1], HasSubstr("$iothub/methods/POST/reset/?$rid="));
  EXPECT_FALSE(result_.has_value());

  EXPECT_TRUE(methods_.Answer(filter, LastRid(), 200, R"({"done":true})"));
  ASSERT_TRUE(result_.has_value() && result_->ok());
  EXPECT_EQ((*result_)->status, 200);
  EXPECT_EQ((*result_)->payload_json, R"({"done":true})");
  EXPECT_EQ(methods_.pending(), 0u);
}

TEST_F(DirectMethodsTest, AnotherClientCannotAnswerAndALateAnswerIsIgnored) {
  ClientState filter = Client("edge-1/filter");
  ClientState other = Client("edge-1/other");
  methods_.Invoke(&filter, {.target = "edge-1/filter", .method = "reset"}, now_, Record());
  const std::string rid = LastRid();
  EXPECT_FALSE(methods_.Answer(other, rid, 200, "{}"));
  EXPECT_FALSE(result_.has_value());

  methods_.ExpireOverdue(now_ + absl::Seconds(31));
  ASSERT_TRUE(result_.has_value() && result_->ok());
  EXPECT_EQ((*result_)->status, 504);
  EXPECT_FALSE(methods_.Answer(filter, rid, 200, "{}"));
}

TEST_F(DirectMethodsTest, ACallIsNotOverdueBeforeItsTimeout) {
  ClientState filter = Client("edge-1/filter");
  methods_.Invoke(&filter, {.target = "edge-1/filter", .method = "m", .timeout = absl::Seconds(5)},
                  now_, Record());
  methods_.ExpireOverdue(now_ + absl::Seconds(4));
  EXPECT_FALSE(result_.has_value());
  methods_.ExpireOverdue(now_ + absl::Seconds(5));
  EXPECT_TRUE(result_.has_value());
}

TEST_F(DirectMethodsTest, AnAbsentOrUnsubscribedClientIs404WithoutAPublish) {
  methods_.Invoke(nullptr, {.target = "edge-1/filter", .method = "m"}, now_, Record());
  EXPECT_EQ((*result_)->status, 404);
  ClientState deaf = Client("edge-1/filter", /*subscribed=*/false);
  methods_.Invoke(&deaf, {.target = "edge-1/filter", .method = "m"}, now_, Record());
  EXPECT_EQ((*result_)->status, 404);
  EXPECT_THAT((*result_)->payload_json, HasSubstr("has not subscribed"));
  EXPECT_TRUE(broker_.published.empty());
}

TEST_F(DirectMethodsTest, TheLimitsAreInvalidArgumentNamingTheField) {
  const auto code = [](MethodCall call) { return ValidateMethodCall(call).code(); };
  const MethodCall ok{.target = "d1", .method = "m"};
  EXPECT_EQ(code(ok), absl::StatusCode::kOk);
  MethodCall bad = ok;
  bad.method = std::string(101, 'm');
  EXPECT_EQ(code(bad), absl::StatusCode::kInvalidArgument);
  bad = ok;
  bad.method = "a/b";
  EXPECT_EQ(code(bad), absl::StatusCode::kInvalidArgument);
  bad = ok;
  bad.payload_json = "{oops";
  EXPECT_THAT(ValidateMethodCall(bad).message(), HasSubstr("payload"));
  bad = ok;
  bad.payload_json = "\"" + std::string(128 * 1024, 'x') + "\"";
  EXPECT_EQ(code(bad), absl::StatusCode::kInvalidArgument);
  bad = ok;
  bad.timeout = absl::Seconds(301);
  EXPECT_THAT(ValidateMethodCall(bad).message(), HasSubstr("timeout"));
  bad = ok;
  bad.target = "a/b/c";
  EXPECT_THAT(ValidateMethodCall(bad).message(), HasSubstr("target"));
}

TEST_F(DirectMethodsTest, StoppingAnswersEveryWaitingCallUnavailable) {
  ClientState filter = Client("edge-1/filter");
  methods_.Invoke(&filter, {.target = "edge-1/filter", .method = "m"}, now_, Record());
  methods_.AbandonAll();
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(result_->status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace edge::hub
