#include "services/hub/plugin/twin_requests.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edge::hub {
namespace {

TEST(TwinRequestsTest, ResponseTopicsCarryTheStatusTheRequestIdAndTheVersion) {
  EXPECT_EQ(TwinResponseTopic(200, "7"), "$iothub/twin/res/200/?$rid=7");
  EXPECT_EQ(TwinResponseTopic(204, "8", 12), "$iothub/twin/res/204/?$rid=8&$version=12");
}

TEST(TwinRequestsTest, StoreErrorsMapToIotHubStatuses) {
  EXPECT_EQ(TwinErrorStatus(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(TwinErrorStatus(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(TwinErrorStatus(grpc::StatusCode::RESOURCE_EXHAUSTED), 413);
  EXPECT_EQ(TwinErrorStatus(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(TwinErrorStatus(grpc::StatusCode::INTERNAL), 500);
}

TEST(TwinRequestsTest, ADesiredPatchIsPushedWithItsVersion) {
  store::v1::Change change;
  change.set_op(store::v1::CHANGE_OP_PATCH);
  change.set_version(6);
  change.set_patch_json(R"({"interval": 5, "old": null})");
  auto [topic, body] = DesiredPush(change);
  EXPECT_EQ(topic, "$iothub/twin/PATCH/properties/desired/?$version=6");
  nlohmann::json json = nlohmann::json::parse(body);
  EXPECT_EQ(json["interval"], 5);
  EXPECT_TRUE(json["old"].is_null());  // a deletion stays a deletion
  EXPECT_EQ(json["$version"], 6);
}

TEST(TwinRequestsTest, AReplacedDocumentIsPushedWhole) {
  store::v1::Change change;
  change.set_op(store::v1::CHANGE_OP_REPLACE);
  change.set_version(2);
  change.set_document_json(R"({"a": {"b": 1}})");
  EXPECT_EQ(nlohmann::json::parse(DesiredPush(change).second),
            nlohmann::json::parse(R"({"a": {"b": 1}, "$version": 2})"));
}

}  // namespace
}  // namespace edge::hub
