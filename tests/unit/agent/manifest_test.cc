// The deployment manifest: every field of `$edgeAgent` desired and its errors (exact strings),
// status codes 200/400/412, chunked createOptions, `$edgeHub` through the route library, whole
// deployments in JSON text, module comparison, and the example manifest.
#include "services/agent/manifest/manifest.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edge::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

// --- Builders -----------------------------------------------------------------------------------

// A process module running `/bin/sh -c script`, every field given.
Json ProcessModule(const std::string& script = "echo hi") {
  return {{"version", "1.0"},
          {"type", "process"},
          {"status", "running"},
          {"restartPolicy", "always"},
          {"imagePullPolicy", "on-create"},
          {"startupOrder", 1},
          {"env", {{"FOO", {{"value", "bar"}}}}},
          {"settings",
           {{"image", "/bin/sh"}, {"createOptions", Json{{"Cmd", {"-c", script}}}.dump()}}}};
}

Json SystemModules() {
  return {{"edgeAgent",
           {{"type", "docker"},
            {"settings",
             {{"image", "mcr.microsoft.com/azureiotedge-agent:1.4"}, {"createOptions", "{}"}}}}},
          {"edgeHub",
           {{"type", "docker"},
            {"status", "running"},
            {"restartPolicy", "always"},
            {"settings",
             {{"image", "mcr.microsoft.com/azureiotedge-hub:1.4"}, {"createOptions", "{}"}}}}}};
}

// `$edgeAgent` desired with every section and one module, `sensor`.
Json AgentDesired() {
  return {
      {"schemaVersion", "1.1"},
      {"runtime",
       {{"type", "docker"},
        {"settings",
         {{"minDockerVersion", "v1.25"},
          {"loggingOptions", ""},
          {"registryCredentials",
           {{"reg1", {{"username", "u"}, {"password", "p"}, {"address", "localhost:5000"}}}}}}}}},
      {"systemModules", SystemModules()},
      {"modules", {{"sensor", ProcessModule()}}}};
}

Json HubDesired() {
  return {{"schemaVersion", "1.1"},
          {"routes", {{"up", "FROM /messages/* INTO $upstream"}}},
          {"storeAndForwardConfiguration", {{"timeToLiveSecs", 7200}}}};
}

Json DeploymentOf(Json agent, Json hub) {
  return {{"modulesContent",
           {{"$edgeAgent", {{"properties.desired", std::move(agent)}}},
            {"$edgeHub", {{"properties.desired", std::move(hub)}}}}}};
}

// AgentDesired() with the value at JSON pointer `pointer` replaced (or removed when `value` is
// discarded).
Json AgentWith(const std::string& pointer, const Json& value) {
  Json desired = AgentDesired();
  const Json::json_pointer at(pointer);
  if (value.is_discarded()) {
    desired[at.parent_pointer()].erase(at.back());
  } else {
    desired[at] = value;
  }
  return desired;
}

const Json kRemove = Json(Json::value_t::discarded);
const std::string kSensor = "$edgeAgent.modules.sensor";
const std::string kCreateOptions = "$edgeAgent.modules.sensor.settings.createOptions";

// The sensor module with these createOptions (written as one string).
Json AgentWithCreateOptions(const Json& options) {
  return AgentWith("/modules/sensor/settings/createOptions", options.dump());
}

ModuleSpec ParseModule(const Json& module) {
  Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(AgentWith("/modules/sensor", module));
  EXPECT_TRUE(parsed.ok()) << testing::PrintToString(parsed.errors.Strings());
  if (!parsed.ok()) return ModuleSpec();
  return parsed.value->modules.at("sensor");
}

CreateOptions ParseCreateOptions(const Json& options) {
  Json module = ProcessModule();
  module["settings"]["createOptions"] = options.dump();
  return ParseModule(module).create_options;
}

std::vector<std::string> AgentErrors(const Json& desired) {
  return ParseEdgeAgentDesired(desired).errors.Strings();
}

// --- The validation table ------------------------------------------------------------------------

struct Case {
  std::string pointer;  // into AgentDesired()
  Json value;           // kRemove to remove
  int code;
  std::vector<std::string> errors;  // exact, in order
};

std::vector<Case> AgentCases() {
  const std::string chunk_names = "chunks are named createOptions01 to createOptions99";
  const std::string id_chars = "(allowed: letters, digits and - . % _ * ? ! ( ) , : = @ $ ')";
  return {
      // schemaVersion
      {"/schemaVersion", "1.0", 200, {}},
      {"/schemaVersion",
       "1.2",
       412,
       {"$edgeAgent.schemaVersion: \"1.2\" is not supported; 1.0 and 1.1 are"}},
      {"/schemaVersion",
       kRemove,
       412,
       {"$edgeAgent.schemaVersion: is required; 1.0 and 1.1 are supported"}},
      {"/schemaVersion",
       1.1,
       412,
       {"$edgeAgent.schemaVersion: must be a string such as \"1.1\", not 1.1"}},
      // runtime
      {"/runtime", kRemove, 400, {"$edgeAgent.runtime: is required"}},
      {"/runtime", "docker", 400, {"$edgeAgent.runtime: must be an object, not \"docker\""}},
      {"/runtime/type", "process", 200, {}},
      {"/runtime/type", kRemove, 400, {"$edgeAgent.runtime.type: is required"}},
      {"/runtime/type",
       "rkt",
       400,
       {"$edgeAgent.runtime.type: \"rkt\" is not one of docker, process"}},
      {"/runtime/settings", kRemove, 200, {}},
      {"/runtime/settings",
       "x",
       400,
       {"$edgeAgent.runtime.settings: must be an object, not \"x\""}},
      {"/runtime/settings/minDockerVersion",
       25,
       400,
       {"$edgeAgent.runtime.settings.minDockerVersion: must be a string, not 25"}},
      {"/runtime/settings/loggingOptions",
       Json::object(),
       400,
       {"$edgeAgent.runtime.settings.loggingOptions: must be a string, not an object"}},
      {"/runtime/settings/registryCredentials", kRemove, 200, {}},
      {"/runtime/settings/registryCredentials",
       Json::array(),
       400,
       {"$edgeAgent.runtime.settings.registryCredentials: must be an object, not an array"}},
      {"/runtime/settings/registryCredentials/reg1",
       "u:p@localhost",
       400,
       {"$edgeAgent.runtime.settings.registryCredentials.reg1: must be an object, not "
        "\"u:p@localhost\""}},
      {"/runtime/settings/registryCredentials/reg1/username",
       kRemove,
       400,
       {"$edgeAgent.runtime.settings.registryCredentials.reg1.username: is required"}},
      {"/runtime/settings/registryCredentials/reg1/password",
       kRemove,
       400,
       {"$edgeAgent.runtime.settings.registryCredentials.reg1.password: is required"}},
      {"/runtime/settings/registryCredentials/reg1/address",
       "",
       400,
       {"$edgeAgent.runtime.settings.registryCredentials.reg1.address: must not be empty"}},
      {"/runtime/settings/registryCredentials/reg1",
       Json::object(),
       400,
       {"$edgeAgent.runtime.settings.registryCredentials.reg1.username: is required",
        "$edgeAgent.runtime.settings.registryCredentials.reg1.password: is required",
        "$edgeAgent.runtime.settings.registryCredentials.reg1.address: is required"}},
      // systemModules
      {"/systemModules", kRemove, 200, {}},
      {"/systemModules", "x", 400, {"$edgeAgent.systemModules: must be an object, not \"x\""}},
      {"/systemModules/edgeHub/settings/image",
       kRemove,
       400,
       {"$edgeAgent.systemModules.edgeHub.settings.image: is required"}},
      {"/systemModules/edgeAgent/type",
       "vm",
       400,
       {"$edgeAgent.systemModules.edgeAgent.type: \"vm\" is not one of docker, process"}},
      {"/systemModules/edgeHub/restartPolicy",
       "sometimes",
       400,
       {"$edgeAgent.systemModules.edgeHub.restartPolicy: \"sometimes\" is not one of never, "
        "on-failure, on-unhealthy, always"}},
      {"/systemModules/edgeHub/settings/createOptions",
       "{",
       400,
       {"$edgeAgent.systemModules.edgeHub.settings.createOptions: is not JSON: parse error at line "
        "1, column 2: syntax error while parsing object key - unexpected end of input; expected "
        "string literal"}},
      {"/systemModules/proxy",
       ProcessModule(),
       400,
       {"$edgeAgent.systemModules.proxy: is not a system module; they are edgeAgent and edgeHub"}},
      // modules and their names
      {"/modules", kRemove, 200, {}},
      {"/modules", Json::object(), 200, {}},
      {"/modules", Json::array(), 400, {"$edgeAgent.modules: must be an object, not an array"}},
      {"/modules/sensor", "x", 400, {"$edgeAgent.modules.sensor: must be an object, not \"x\""}},
      {"/modules/edgeHub",
       ProcessModule(),
       400,
       {"$edgeAgent.modules.edgeHub: is the name of a system module; list it under systemModules, "
        "not modules"}},
      {"/modules/edgeAgent",
       ProcessModule(),
       400,
       {"$edgeAgent.modules.edgeAgent: is the name of a system module; list it under "
        "systemModules, not modules"}},
      {"/modules/$sensor",
       ProcessModule(),
       400,
       {"$edgeAgent.modules.$sensor: module names starting with '$' are reserved"}},
      {"/modules/bad#name",
       ProcessModule(),
       400,
       {"$edgeAgent.modules.bad#name: is not a valid module id: it contains '#' " + id_chars}},
      {"/modules/a~1b",
       ProcessModule(),
       400,
       {"$edgeAgent.modules.a/b: is not a valid module id: it contains '/' " + id_chars}},
      {"/modules/",
       ProcessModule(),
       400,
       {"$edgeAgent.modules.: is not a valid module id: it is empty"}},
      {"/modules/" + std::string(129, 'm'),
       ProcessModule(),
       400,
       {"$edgeAgent.modules." + std::string(129, 'm') +
        ": is not a valid module id: it is 129 characters; at most 128"}},
      {"/modules/" + std::string(128, 'm'), ProcessModule(), 200, {}},
      {"/modules/a-b.c%d_e*f?g!h(i),j:k=l@m$n'o", ProcessModule(), 200, {}},
      // module fields
      {"/modules/sensor/type", kRemove, 400, {kSensor + ".type: is required"}},
      {"/modules/sensor/type", "docker", 200, {}},
      {"/modules/sensor/type",
       "vm",
       400,
       {kSensor + ".type: \"vm\" is not one of docker, process"}},
      {"/modules/sensor/version", kRemove, 200, {}},
      {"/modules/sensor/version", 1, 400, {kSensor + ".version: must be a string, not 1"}},
      {"/modules/sensor/status", "stopped", 200, {}},
      {"/modules/sensor/status",
       "paused",
       400,
       {kSensor + ".status: \"paused\" is not one of running, stopped"}},
      {"/modules/sensor/restartPolicy",
       "sometimes",
       400,
       {kSensor + ".restartPolicy: \"sometimes\" is not one of never, on-failure, on-unhealthy, "
                  "always"}},
      {"/modules/sensor/restartPolicy",
       "Always",
       400,
       {kSensor + ".restartPolicy: \"Always\" is not one of never, on-failure, on-unhealthy, "
                  "always"}},
      {"/modules/sensor/restartPolicy", "on-unhealthy", 200, {}},
      {"/modules/sensor/imagePullPolicy", "never", 200, {}},
      {"/modules/sensor/imagePullPolicy",
       "always",
       400,
       {kSensor + ".imagePullPolicy: \"always\" is not one of on-create, never"}},
      {"/modules/sensor/startupOrder", 0, 200, {}},
      {"/modules/sensor/startupOrder", 4294967295u, 200, {}},
      {"/modules/sensor/startupOrder",
       4294967296u,
       400,
       {kSensor + ".startupOrder: 4294967296 is too large; at most 4294967295"}},
      {"/modules/sensor/startupOrder", -1, 400, {kSensor + ".startupOrder: -1 is negative"}},
      {"/modules/sensor/startupOrder",
       1.5,
       400,
       {kSensor + ".startupOrder: must be a non-negative integer, not 1.5"}},
      {"/modules/sensor/startupOrder",
       "1",
       400,
       {kSensor + ".startupOrder: must be a non-negative integer, not \"1\""}},
      // env
      {"/modules/sensor/env", kRemove, 200, {}},
      {"/modules/sensor/env",
       "FOO=bar",
       400,
       {kSensor + ".env: must be an object, not \"FOO=bar\""}},
      {"/modules/sensor/env/FOO",
       "bar",
       400,
       {kSensor + ".env.FOO: must be an object, not \"bar\""}},
      {"/modules/sensor/env/FOO", Json::object(), 400, {kSensor + ".env.FOO.value: is required"}},
      {"/modules/sensor/env/FOO/value",
       5,
       400,
       {kSensor + ".env.FOO.value: must be a string, not 5"}},
      {"/modules/sensor/env/FOO/value", "", 200, {}},
      {"/modules/sensor/env/A=B",
       {{"value", "x"}},
       400,
       {kSensor + ".env.A=B: an environment variable name must be non-empty and without '='"}},
      // settings and createOptions chunks
      {"/modules/sensor/settings", kRemove, 400, {kSensor + ".settings: is required"}},
      {"/modules/sensor/settings", "x", 400, {kSensor + ".settings: must be an object, not \"x\""}},
      {"/modules/sensor/settings/image", kRemove, 400, {kSensor + ".settings.image: is required"}},
      {"/modules/sensor/settings/image", "", 400, {kSensor + ".settings.image: must not be empty"}},
      {"/modules/sensor/settings/createOptions", kRemove, 200, {}},
      {"/modules/sensor/settings/createOptions", "", 200, {}},
      {"/modules/sensor/settings/createOptions",
       5,
       400,
       {kCreateOptions + ": must be a string, not 5"}},
      {"/modules/sensor/settings/createOptions",
       Json::object(),
       400,
       {kCreateOptions + ": must be a string, not an object"}},
      {"/modules/sensor/settings/createOptions",
       "[]",
       400,
       {kCreateOptions + ": must be a JSON object, not an array"}},
      {"/modules/sensor/settings/createOptions",
       "\"{}\"",
       400,
       {kCreateOptions + ": must be a JSON object, not \"{}\""}},
      {"/modules/sensor/settings/createOptions02",
       "",
       400,
       {kCreateOptions + "02: follows a gap: createOptions01 is missing"}},
      {"/modules/sensor/settings/createOptions01",
       7,
       400,
       {kCreateOptions + "01: must be a string, not 7"}},
      {"/modules/sensor/settings/createOptions1",
       "",
       400,
       {kCreateOptions + "1: is not a createOptions chunk; " + chunk_names}},
      {"/modules/sensor/settings/createOptions00",
       "",
       400,
       {kCreateOptions + "00: is not a createOptions chunk; " + chunk_names}},
      {"/modules/sensor/settings/createOptionsExtra",
       "",
       400,
       {kCreateOptions + "Extra: is not a createOptions chunk; " + chunk_names}},
      {"/modules/sensor/settings/digest", "sha256:0", 200, {}},
  };
}

TEST(ManifestTableTest, EveryEdgeAgentFieldIsValidatedWithItsPath) {
  for (const Case& c : AgentCases()) {
    SCOPED_TRACE(c.pointer + " = " + (c.value.is_discarded() ? "(removed)" : c.value.dump()));
    Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(AgentWith(c.pointer, c.value));
    EXPECT_EQ(parsed.code(), c.code);
    EXPECT_EQ(parsed.errors.Strings(), c.errors);
    EXPECT_EQ(parsed.value.has_value(), c.code == 200);
  }
}

std::vector<std::pair<Json, std::string>> CreateOptionsCases() {
  const std::string shapes =
      "must be [\"NONE\"], [\"CMD\", program, args…] or [\"CMD-SHELL\", \"command\"], not ";
  return {
      {{{"Cmd", 5}}, ".Cmd: must be an array of strings, not 5"},
      {{{"Cmd", {"a", 1}}}, ".Cmd[1]: must be a string, not 1"},
      {{{"Entrypoint", Json::object()}}, ".Entrypoint: must be an array of strings, not an object"},
      {{{"Env", "A=1"}}, ".Env: must be an array of strings, not \"A=1\""},
      {{{"Env", {"A"}}}, ".Env[0]: \"A\" is not NAME=value"},
      {{{"Env", {"A=1", "=1"}}}, ".Env[1]: \"=1\" is not NAME=value"},
      {{{"WorkingDir", 1}}, ".WorkingDir: must be a string, not 1"},
      {{{"User", Json::array()}}, ".User: must be a string, not an array"},
      {{{"HostConfig", "x"}}, ".HostConfig: must be an object, not \"x\""},
      {{{"HostConfig", {{"Memory", -1}}}}, ".HostConfig.Memory: -1 is negative"},
      {{{"HostConfig", {{"Memory", "64m"}}}},
       ".HostConfig.Memory: must be a non-negative integer, not \"64m\""},
      {{{"HostConfig", {{"NanoCpus", 0.5}}}},
       ".HostConfig.NanoCpus: must be a non-negative integer, not 0.5"},
      {{{"Healthcheck", Json::array()}}, ".Healthcheck: must be an object, not an array"},
      {{{"Healthcheck", {{"Test", "true"}}}},
       ".Healthcheck.Test: must be an array of strings, not \"true\""},
      {{{"Healthcheck", {{"Test", {"CMD"}}}}}, ".Healthcheck.Test: " + shapes + "[\"CMD\"]"},
      {{{"Healthcheck", {{"Test", {"CMD-SHELL", "a", "b"}}}}},
       ".Healthcheck.Test: " + shapes + "[\"CMD-SHELL\",\"a\",\"b\"]"},
      {{{"Healthcheck", {{"Test", {"NONE", "x"}}}}},
       ".Healthcheck.Test: " + shapes + "[\"NONE\",\"x\"]"},
      {{{"Healthcheck", {{"Test", {"RUN", "x"}}}}},
       ".Healthcheck.Test: " + shapes + "[\"RUN\",\"x\"]"},
      {{{"Healthcheck", {{"Interval", -1}}}}, ".Healthcheck.Interval: -1 is negative"},
      {{{"Healthcheck", {{"Timeout", "1s"}}}},
       ".Healthcheck.Timeout: must be a non-negative integer, not \"1s\""},
      {{{"Healthcheck", {{"StartPeriod", 1.5}}}},
       ".Healthcheck.StartPeriod: must be a non-negative integer, not 1.5"},
      {{{"Healthcheck", {{"Retries", -3}}}}, ".Healthcheck.Retries: -3 is negative"},
  };
}

TEST(ManifestTableTest, EveryCreateOptionsFieldIsValidatedWithItsPath) {
  for (const auto& [options, error] : CreateOptionsCases()) {
    SCOPED_TRACE(options.dump());
    Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(AgentWithCreateOptions(options));
    EXPECT_EQ(parsed.code(), 400);
    EXPECT_THAT(parsed.errors.Strings(), ElementsAre(kCreateOptions + error));
  }
}

// --- Valid manifests: what is kept ---------------------------------------------------------------

TEST(ManifestTest, EveryModuleFieldIsRead) {
  ModuleSpec spec = ParseModule(ProcessModule("echo hi"));
  EXPECT_EQ(spec.name, "sensor");
  EXPECT_EQ(spec.version, "1.0");
  EXPECT_EQ(spec.type, ModuleType::kProcess);
  EXPECT_EQ(spec.status, DesiredModuleStatus::kRunning);
  EXPECT_EQ(spec.restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(spec.image_pull_policy, ImagePullPolicy::kOnCreate);
  EXPECT_EQ(spec.startup_order, 1);
  EXPECT_EQ(spec.env, (std::map<std::string, std::string>{{"FOO", "bar"}}));
  EXPECT_EQ(spec.image, "/bin/sh");
  EXPECT_EQ(spec.create_options_text, R"({"Cmd":["-c","echo hi"]})");
  EXPECT_EQ(spec.create_options.cmd, (std::vector<std::string>{"-c", "echo hi"}));
}

TEST(ManifestTest, OptionalModuleFieldsTakeTheirDefaults) {
  ModuleSpec spec = ParseModule({{"type", "process"}, {"settings", {{"image", "/bin/true"}}}});
  EXPECT_EQ(spec.version, "");
  EXPECT_EQ(spec.status, DesiredModuleStatus::kRunning);
  EXPECT_EQ(spec.restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(spec.image_pull_policy, ImagePullPolicy::kOnCreate);
  EXPECT_EQ(spec.startup_order, kLastStartupOrder);
  EXPECT_THAT(spec.env, IsEmpty());
  EXPECT_EQ(spec.create_options, CreateOptions());
}

TEST(ManifestTest, NullMembersCountAsAbsent) {
  Json module = ProcessModule();
  module["restartPolicy"] = nullptr;
  module["startupOrder"] = nullptr;
  ModuleSpec spec = ParseModule(module);
  EXPECT_EQ(spec.restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(spec.startup_order, kLastStartupOrder);
}

TEST(ManifestTest, EnumSpellingsRoundTrip) {
  Json module = ProcessModule();
  module["status"] = "stopped";
  module["restartPolicy"] = "on-failure";
  module["imagePullPolicy"] = "never";
  ModuleSpec spec = ParseModule(module);
  EXPECT_EQ(ToString(spec.type), "process");
  EXPECT_EQ(ToString(spec.status), "stopped");
  EXPECT_EQ(ToString(spec.restart_policy), "on-failure");
  EXPECT_EQ(ToString(spec.image_pull_policy), "never");
}

TEST(ManifestTest, RuntimeAndRegistryCredentialsAreKept) {
  Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(AgentDesired());
  ASSERT_TRUE(parsed.ok());
  const RuntimeSpec& runtime = parsed.value->runtime;
  EXPECT_EQ(parsed.value->schema_version, "1.1");
  EXPECT_EQ(runtime.type, "docker");
  EXPECT_EQ(runtime.min_docker_version, "v1.25");
  EXPECT_EQ(runtime.logging_options, "");
  EXPECT_EQ(runtime.registry_credentials.at("reg1"),
            (RegistryCredential{"u", "p", "localhost:5000"}));
}

TEST(ManifestTest, SystemModulesAreKeptApartFromModules) {
  Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(AgentDesired());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value->system_modules.size(), 2u);
  EXPECT_EQ(parsed.value->system_modules.at("edgeHub").image,
            "mcr.microsoft.com/azureiotedge-hub:1.4");
  EXPECT_EQ(parsed.value->modules.size(), 1u);
  EXPECT_EQ(parsed.value->modules.count("edgeHub"), 0u);
}

TEST(ManifestTest, ModulesComeInStartupOrderThenByName) {
  Json desired = AgentDesired();
  Json later = ProcessModule();
  later["startupOrder"] = 2;
  Json unordered = ProcessModule();
  unordered.erase("startupOrder");
  desired["modules"] = {
      {"d", later}, {"c", unordered}, {"b", ProcessModule()}, {"a", ProcessModule()}};
  Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(desired);
  ASSERT_TRUE(parsed.ok());
  std::vector<std::string> names;
  for (const ModuleSpec* module : parsed.value->InStartupOrder()) names.push_back(module->name);
  EXPECT_THAT(names, ElementsAre("a", "b", "d", "c"));
}

TEST(ManifestTest, UnknownMembersAndTwinMetadataAreIgnored) {
  Json desired = AgentDesired();
  desired["$version"] = 7;
  desired["$metadata"] = {{"$lastUpdated", "2024-01-01T00:00:00Z"}};
  desired["modules"]["sensor"]["futureField"] = {1, 2};
  EXPECT_TRUE(ParseEdgeAgentDesired(desired).ok());
}

TEST(ManifestTest, AllErrorsAreCollectedInDocumentOrder) {
  Json desired = AgentDesired();
  desired["runtime"]["type"] = "rkt";
  desired["modules"]["sensor"]["restartPolicy"] = "sometimes";
  desired["modules"]["sensor"]["startupOrder"] = -1;
  desired["modules"]["b#d"] = ProcessModule();
  EXPECT_THAT(AgentErrors(desired),
              ElementsAre("$edgeAgent.runtime.type: \"rkt\" is not one of docker, process",
                          "$edgeAgent.modules.b#d: is not a valid module id: it contains '#' "
                          "(allowed: letters, digits and - . % _ * ? ! ( ) , : = @ $ ')",
                          kSensor + ".restartPolicy: \"sometimes\" is not one of never, "
                                    "on-failure, on-unhealthy, always",
                          kSensor + ".startupOrder: -1 is negative"));
}

TEST(ManifestTest, BadSchemaVersionWinsOverOtherErrors) {
  Json desired = AgentWith("/schemaVersion", "2.0");
  desired["modules"]["sensor"]["status"] = "paused";
  Parsed<EdgeAgentDesired> parsed = ParseEdgeAgentDesired(desired);
  EXPECT_EQ(parsed.code(), 412);
  EXPECT_EQ(parsed.errors.list().size(), 2u);
}

TEST(ManifestTest, DesiredDocumentMustBeAnObject) {
  EXPECT_THAT(AgentErrors(Json::array()),
              ElementsAre("$edgeAgent: must be an object, not an array"));
}

TEST(ManifestTest, LongValuesAreCutInMessages) {
  Json desired = AgentWith("/modules/sensor/status", std::string(100, 'x'));
  EXPECT_THAT(AgentErrors(desired), ElementsAre(kSensor + ".status: \"" + std::string(39, 'x') +
                                                "… is not one of running, stopped"));
}

// --- createOptions -------------------------------------------------------------------------------

TEST(CreateOptionsTest, DockerFieldsAreRead) {
  CreateOptions options =
      ParseCreateOptions({{"Cmd", {"-c", "sleep 1"}},
                          {"Entrypoint", {"/bin/sh"}},
                          {"Env", {"A=1", "B=x=y", "C="}},
                          {"WorkingDir", "/tmp"},
                          {"User", "nobody"},
                          {"HostConfig", {{"Memory", 67108864}, {"NanoCpus", 500000000}}},
                          {"Healthcheck",
                           {{"Test", {"CMD-SHELL", "test -f /tmp/ok"}},
                            {"Interval", 5000000000},
                            {"Timeout", 1000000000},
                            {"StartPeriod", 0},
                            {"Retries", 3}}}});
  EXPECT_EQ(options.cmd, (std::vector<std::string>{"-c", "sleep 1"}));
  EXPECT_EQ(options.entrypoint, (std::vector<std::string>{"/bin/sh"}));
  EXPECT_THAT(options.env, ElementsAre("A=1", "B=x=y", "C="));
  EXPECT_EQ(options.working_dir, "/tmp");
  EXPECT_EQ(options.user, "nobody");
  EXPECT_EQ(options.memory_bytes, 67108864);
  EXPECT_EQ(options.nano_cpus, 500000000);
  ASSERT_TRUE(options.healthcheck.has_value());
  EXPECT_THAT(options.healthcheck->test, ElementsAre("CMD-SHELL", "test -f /tmp/ok"));
  EXPECT_EQ(options.healthcheck->interval_ns, 5000000000);
  EXPECT_EQ(options.healthcheck->timeout_ns, 1000000000);
  EXPECT_EQ(options.healthcheck->start_period_ns, 0);
  EXPECT_EQ(options.healthcheck->retries, 3);
}

TEST(CreateOptionsTest, AStringCmdIsAOneElementList) {
  CreateOptions options = ParseCreateOptions({{"Cmd", "echo hi"}, {"Entrypoint", "/bin/sh"}});
  EXPECT_EQ(options.cmd, (std::vector<std::string>{"echo hi"}));
  EXPECT_EQ(options.entrypoint, (std::vector<std::string>{"/bin/sh"}));
}

TEST(CreateOptionsTest, AbsentFieldsStayUnset) {
  CreateOptions options = ParseCreateOptions(Json::object());
  EXPECT_FALSE(options.cmd.has_value());
  EXPECT_FALSE(options.entrypoint.has_value());
  EXPECT_FALSE(options.memory_bytes.has_value());
  EXPECT_FALSE(options.healthcheck.has_value());
}

TEST(CreateOptionsTest, HealthcheckTestShapesFollowDocker) {
  for (const Json& test : {Json::array(), Json{"NONE"}, Json{"CMD", "/bin/true"},
                           Json{"CMD", "/bin/test", "-f", "x"}, Json{"CMD-SHELL", "exit 0"}}) {
    SCOPED_TRACE(test.dump());
    EXPECT_TRUE(
        ParseEdgeAgentDesired(AgentWithCreateOptions({{"Healthcheck", {{"Test", test}}}})).ok());
  }
}

TEST(CreateOptionsTest, UnknownFieldsAreKeptRawAndIgnored) {
  Json given = {{"Labels", {{"a", "b"}}},
                {"HostConfig", {{"Memory", 1024}, {"PortBindings", {{"80/tcp", Json::array()}}}}}};
  CreateOptions options = ParseCreateOptions(given);
  EXPECT_EQ(options.raw, given);
  EXPECT_EQ(options.memory_bytes, 1024);
}

TEST(CreateOptionsTest, ChunksAreConcatenatedInOrder) {
  Json module = ProcessModule();
  module["settings"]["createOptions"] = R"({"Cmd": ["-c", )";
  module["settings"]["createOptions01"] = R"("echo hi"], "HostConfig": )";
  module["settings"]["createOptions02"] = R"({"Memory": 4096}})";
  ModuleSpec spec = ParseModule(module);
  EXPECT_EQ(spec.create_options_text,
            R"({"Cmd": ["-c", "echo hi"], "HostConfig": {"Memory": 4096}})");
  EXPECT_EQ(spec.create_options.cmd, (std::vector<std::string>{"-c", "echo hi"}));
  EXPECT_EQ(spec.create_options.memory_bytes, 4096);
}

TEST(CreateOptionsTest, ChunkOrderIsByNumberNotByKeyOrderInTheText) {
  Json hub = HubDesired();
  std::string text = DeploymentOf(AgentDesired(), hub).dump();
  // Chunks written 02, then 01, then the first.
  const std::string settings = R"("settings": {"createOptions02": "4096}}", )"
                               R"("createOptions01": "\"HostConfig\": {\"Memory\": ", )"
                               R"("createOptions": "{", "image": "/bin/sh"})";
  const std::string old_settings =
      R"("settings":{"createOptions":"{\"Cmd\":[\"-c\",\"echo hi\"]}","image":"/bin/sh"})";
  ASSERT_NE(text.find(old_settings), std::string::npos);
  text.replace(text.find(old_settings), old_settings.size(), settings);
  Parsed<Deployment> parsed = ParseDeploymentJson(text);
  ASSERT_TRUE(parsed.ok()) << testing::PrintToString(parsed.errors.Strings());
  const ModuleSpec& spec = parsed.value->edge_agent.modules.at("sensor");
  EXPECT_EQ(spec.create_options_text, R"({"HostConfig": {"Memory": 4096}})");
  EXPECT_EQ(spec.create_options.memory_bytes, 4096);
}

TEST(CreateOptionsTest, ChunksWithoutTheFirstAreAGap) {
  Json desired = AgentWith("/modules/sensor/settings/createOptions", kRemove);
  desired["modules"]["sensor"]["settings"]["createOptions01"] = "{}";
  EXPECT_THAT(AgentErrors(desired),
              ElementsAre(kCreateOptions + "01: follows a gap: createOptions is missing"));
}

TEST(CreateOptionsTest, EveryGapAndBadChunkIsReported) {
  Json desired = AgentDesired();
  Json& settings = desired["modules"]["sensor"]["settings"];
  settings["createOptions01"] = 1;
  settings["createOptions03"] = "}";
  EXPECT_THAT(AgentErrors(desired),
              ElementsAre(kCreateOptions + "01: must be a string, not 1",
                          kCreateOptions + "03: follows a gap: createOptions02 is missing"));
}

TEST(CreateOptionsTest, ConcatenationThatIsNotAnObjectIsAnError) {
  Json desired = AgentWith("/modules/sensor/settings/createOptions", "[1,");
  desired["modules"]["sensor"]["settings"]["createOptions01"] = "2]";
  EXPECT_THAT(AgentErrors(desired),
              ElementsAre(kCreateOptions + ": must be a JSON object, not an array"));
}

TEST(CreateOptionsTest, TextThatIsNotJsonIsAnError) {
  std::vector<std::string> errors =
      AgentErrors(AgentWith("/modules/sensor/settings/createOptions", "{\"Cmd\": "));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr(kCreateOptions + ": is not JSON: parse error"));
}

TEST(CreateOptionsTest, AKeyGivenTwiceIsAnError) {
  Json desired = AgentWith("/modules/sensor/settings/createOptions",
                           R"({"HostConfig": {"Memory": 1, "Memory": 2}})");
  EXPECT_THAT(AgentErrors(desired),
              ElementsAre(kCreateOptions + ".HostConfig: \"Memory\" appears more than once"));
}

// --- $edgeHub
// -------------------------------------------------------------------------------------

std::vector<std::string> HubErrors(const Json& desired) {
  return ParseEdgeHubDesired(desired).errors.Strings();
}

TEST(EdgeHubManifestTest, RoutesAreCompiledWithTheRouteLibrary) {
  Json desired = HubDesired();
  desired["routes"]["hot"] = {{"route", "FROM /* WHERE $body.t > 30 INTO $upstream"},
                              {"priority", 0}};
  desired["storeAndForwardConfiguration"]["timeToLiveSecs"] = 60;
  Parsed<EdgeHubDesired> parsed = ParseEdgeHubDesired(desired);
  ASSERT_TRUE(parsed.ok()) << testing::PrintToString(parsed.errors.Strings());
  EXPECT_EQ(parsed.value->schema_version, "1.1");
  EXPECT_EQ(parsed.value->time_to_live_secs, 60);
  ASSERT_NE(parsed.value->routes, nullptr);
  EXPECT_THAT(parsed.value->routes->route_names(), ElementsAre("hot", "up"));
}

TEST(EdgeHubManifestTest, SchemaVersionsOneZeroToOneThreeAreAccepted) {
  for (const char* version : {"1.0", "1.1", "1.2", "1.3"}) {
    Json desired = HubDesired();
    desired["schemaVersion"] = version;
    EXPECT_EQ(ParseEdgeHubDesired(desired).code(), 200) << version;
  }
}

TEST(EdgeHubManifestTest, SchemaVersionOneFourIs412) {
  Json desired = HubDesired();
  desired["schemaVersion"] = "1.4";
  Parsed<EdgeHubDesired> parsed = ParseEdgeHubDesired(desired);
  EXPECT_EQ(parsed.code(), 412);
  EXPECT_THAT(parsed.errors.Strings(),
              ElementsAre("$edgeHub.schemaVersion: \"1.4\" is not supported; 1.0 to 1.3 are"));
}

TEST(EdgeHubManifestTest, MissingSchemaVersionIs412) {
  Json desired = HubDesired();
  desired.erase("schemaVersion");
  EXPECT_THAT(HubErrors(desired),
              ElementsAre("$edgeHub.schemaVersion: is required; 1.0 to 1.3 are supported"));
  EXPECT_EQ(ParseEdgeHubDesired(desired).code(), 412);
}

TEST(EdgeHubManifestTest, AnInvalidRouteIs400NamingTheRoute) {
  Json desired = HubDesired();
  desired["routes"]["hot"] = "FROM /messages/* WHERE temp > 30 INTO $upstream";
  Parsed<EdgeHubDesired> parsed = ParseEdgeHubDesired(desired);
  EXPECT_EQ(parsed.code(), 400);
  EXPECT_THAT(parsed.errors.Strings(),
              ElementsAre("$edgeHub.routes.hot: 'temp' is a string property compared with a "
                          "number at 1:29; use as_number(temp)"));
}

TEST(EdgeHubManifestTest, EveryBadRouteIsReported) {
  Json desired = HubDesired();
  desired["routes"]["a"] = "FROM /nowhere INTO $upstream";
  desired["routes"]["b"] = {{"route", "FROM /* INTO $upstream"}, {"priority", 12}};
  // The route library reports structural problems before compile errors.
  EXPECT_THAT(HubErrors(desired),
              ElementsAre("$edgeHub.routes.b: priority 12 is not in 0-9",
                          "$edgeHub.routes.a: the source '/nowhere' never matches a message at "
                          "1:6; sources are /*, /messages/*, /messages/modules/{m}/*, "
                          "/messages/modules/{m}/outputs/{o} and /twinChangeNotifications"));
}

TEST(EdgeHubManifestTest, BadSchemaAndBadRouteGive412WithBoth) {
  Json desired = HubDesired();
  desired["schemaVersion"] = "1.4";
  desired["routes"]["up"] = "FROM /nowhere INTO $upstream";
  Parsed<EdgeHubDesired> parsed = ParseEdgeHubDesired(desired);
  EXPECT_EQ(parsed.code(), 412);
  ASSERT_EQ(parsed.errors.list().size(), 2u);
  EXPECT_EQ(parsed.errors.list()[1].path, "$edgeHub.routes.up");
}

TEST(EdgeHubManifestTest, MissingRoutesAndBadTtlNameTheirFields) {
  Json desired = HubDesired();
  desired.erase("routes");
  desired["storeAndForwardConfiguration"]["timeToLiveSecs"] = "x";
  EXPECT_THAT(HubErrors(desired),
              ElementsAre("$edgeHub.routes: is missing",
                          "$edgeHub.storeAndForwardConfiguration: timeToLiveSecs must be an "
                          "integer, not \"x\""));
}

// --- Whole deployments ---------------------------------------------------------------------------

TEST(DeploymentTest, AWholeDeploymentIsParsedAndItsDocumentsKept) {
  Json document = DeploymentOf(AgentDesired(), HubDesired());
  document["modulesContent"]["sensor"] = {{"properties.desired", {{"threshold", 30}}}};
  Parsed<Deployment> parsed = ParseDeployment(document);
  ASSERT_TRUE(parsed.ok()) << testing::PrintToString(parsed.errors.Strings());
  EXPECT_EQ(parsed.code(), 200);
  EXPECT_EQ(parsed.value->edge_agent_desired, AgentDesired());
  EXPECT_EQ(parsed.value->edge_hub_desired, HubDesired());
  EXPECT_EQ(parsed.value->edge_agent.modules.size(), 1u);
  EXPECT_EQ(parsed.value->edge_hub.routes->size(), 1u);
  EXPECT_EQ(parsed.value->module_desired.at("sensor"), (Json{{"threshold", 30}}));
}

TEST(DeploymentTest, TheAzCliContentWrapperIsAccepted) {
  Json document = {{"content", DeploymentOf(AgentDesired(), HubDesired())}};
  EXPECT_TRUE(ParseDeployment(document).ok());
}

TEST(DeploymentTest, BothDesiredDocumentsAreRequired) {
  Json document = DeploymentOf(AgentDesired(), HubDesired());
  document["modulesContent"].erase("$edgeHub");
  document["modulesContent"]["$edgeAgent"].erase("properties.desired");
  EXPECT_THAT(ParseDeployment(document).errors.Strings(),
              ElementsAre("deployment.modulesContent.$edgeAgent.properties.desired: is required",
                          "deployment.modulesContent.$edgeHub: is required"));
}

TEST(DeploymentTest, ModulesContentIsRequired) {
  EXPECT_THAT(ParseDeployment(Json::object()).errors.Strings(),
              ElementsAre("deployment.modulesContent: is required"));
}

TEST(DeploymentTest, ErrorsOfBothDocumentsAreCollected) {
  Json hub = HubDesired();
  hub["schemaVersion"] = "1.4";
  Parsed<Deployment> parsed =
      ParseDeployment(DeploymentOf(AgentWith("/modules/sensor/type", "vm"), hub));
  EXPECT_EQ(parsed.code(), 412);
  EXPECT_THAT(parsed.errors.Strings(),
              ElementsAre(kSensor + ".type: \"vm\" is not one of docker, process",
                          "$edgeHub.schemaVersion: \"1.4\" is not supported; 1.0 to 1.3 are"));
}

TEST(DeploymentTest, TextThatIsNotJsonIs400) {
  Parsed<Deployment> parsed = ParseDeploymentJson("{\"modulesContent\": ");
  EXPECT_EQ(parsed.code(), 400);
  ASSERT_EQ(parsed.errors.list().size(), 1u);
  EXPECT_EQ(parsed.errors.list()[0].path, "deployment");
  EXPECT_THAT(parsed.errors.list()[0].message, HasSubstr("is not JSON: parse error at line 1"));
}

TEST(DeploymentTest, AModuleNameGivenTwiceIsAnError) {
  std::string text = DeploymentOf(AgentDesired(), HubDesired()).dump();
  const std::string modules = R"("modules":{)";
  text.insert(text.find(modules) + modules.size(), R"("sensor":{},)");
  EXPECT_THAT(ParseDeploymentJson(text).errors.Strings(),
              ElementsAre("$edgeAgent.modules: \"sensor\" appears more than once"));
}

TEST(DeploymentTest, DesiredDocumentTextNamesPathsFromTheDocument) {
  Parsed<EdgeAgentDesired> parsed =
      ParseEdgeAgentDesiredJson(R"({"schemaVersion": "1.1", "schemaVersion": "1.0"})");
  EXPECT_THAT(parsed.errors.Strings(),
              ElementsAre("$edgeAgent: \"schemaVersion\" appears more than once"));
  EXPECT_TRUE(ParseEdgeAgentDesiredJson(AgentDesired().dump()).ok());
  EXPECT_TRUE(ParseEdgeHubDesiredJson(HubDesired().dump()).ok());
}

// --- Status reporting ----------------------------------------------------------------------------

TEST(LastDesiredStatusTest, ValidIs200WithNoDescription) {
  Parsed<Deployment> parsed = ParseDeployment(DeploymentOf(AgentDesired(), HubDesired()));
  EXPECT_EQ(LastDesiredStatusOf(parsed.errors).ToJson(),
            (Json{{"code", 200}, {"description", ""}}));
  EXPECT_TRUE(parsed.errors.ToStatus().ok());
}

TEST(LastDesiredStatusTest, InvalidIs400ListingEveryError) {
  Json desired = AgentWith("/modules/sensor/status", "paused");
  desired["runtime"].erase("type");
  ManifestErrors errors = ParseEdgeAgentDesired(desired).errors;
  LastDesiredStatus status = LastDesiredStatusOf(errors);
  EXPECT_EQ(status.code, 400);
  EXPECT_EQ(status.description, "$edgeAgent.runtime.type: is required\n" + kSensor +
                                    ".status: \"paused\" is not one of running, stopped");
  EXPECT_EQ(errors.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(errors.ToStatus().message(), status.description);
}

TEST(LastDesiredStatusTest, BadSchemaVersionIs412AndFailedPrecondition) {
  ManifestErrors errors = ParseEdgeAgentDesired(AgentWith("/schemaVersion", "1.2")).errors;
  EXPECT_EQ(LastDesiredStatusOf(errors).code, 412);
  EXPECT_EQ(errors.ToStatus().code(), absl::StatusCode::kFailedPrecondition);
}

// --- Comparing module specs ----------------------------------------------------------------------

TEST(CompareModulesTest, IdenticalSpecsNeedNothing) {
  EXPECT_EQ(CompareModules(ParseModule(ProcessModule()), ParseModule(ProcessModule())),
            ModuleChange::kNone);
}

TEST(CompareModulesTest, StatusPolicyAndOrderChangesApplyInPlace) {
  const ModuleSpec current = ParseModule(ProcessModule());
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, Json>>{{"status", "stopped"},
                                                 {"restartPolicy", "never"},
                                                 {"imagePullPolicy", "never"},
                                                 {"startupOrder", 5}}) {
    Json module = ProcessModule();
    module[field] = value;
    EXPECT_EQ(CompareModules(current, ParseModule(module)), ModuleChange::kInPlace) << field;
  }
}

TEST(CompareModulesTest, ImageCreateOptionsEnvTypeAndVersionChangesRecreate) {
  const ModuleSpec current = ParseModule(ProcessModule());
  for (const auto& [pointer, value] : std::vector<std::pair<std::string, Json>>{
           {"/settings/image", "/bin/bash"},
           {"/settings/createOptions", R"({"Cmd": ["-c", "echo bye"]})"},
           {"/env/FOO/value", "baz"},
           {"/env/BAR", {{"value", "1"}}},
           {"/type", "docker"},
           {"/version", "1.1"}}) {
    Json module = ProcessModule();
    module[Json::json_pointer(pointer)] = value;
    EXPECT_EQ(CompareModules(current, ParseModule(module)), ModuleChange::kRecreate) << pointer;
  }
}

TEST(CompareModulesTest, CreateOptionsCompareAsJsonNotAsText) {
  Json module = ProcessModule();
  module["settings"]["createOptions"] = R"({ "Cmd" : [ "-c",)";
  module["settings"]["createOptions01"] = R"( "echo hi" ] })";
  EXPECT_EQ(CompareModules(ParseModule(ProcessModule()), ParseModule(module)), ModuleChange::kNone);
}

TEST(CompareModulesTest, FingerprintIsCanonicalJson) {
  ModuleSpec spec =
      ParseModule({{"type", "process"},
                   {"env", {{"B", {{"value", "2"}}}, {"A", {{"value", "1"}}}}},
                   {"settings", {{"image", "/bin/sh"}, {"createOptions", R"({"Cmd":"x"})"}}}});
  EXPECT_EQ(RecreateFingerprint(spec),
            R"({"createOptions":{"Cmd":"x"},"env":{"A":"1","B":"2"},"image":"/bin/sh",)"
            R"("name":"sensor","type":"process","version":""})");
}

// --- The example manifest ------------------------------------------------------------------------

TEST(ExampleManifestTest, ShellModulesDeploymentIsValid) {
  std::ifstream file(std::string(EDGE_EXAMPLES_DIR) + "/deployments/shell-modules.json");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  Parsed<Deployment> parsed = ParseDeploymentJson(text.str());
  ASSERT_TRUE(parsed.ok()) << testing::PrintToString(parsed.errors.Strings());
  const EdgeAgentDesired& agent = parsed.value->edge_agent;
  ASSERT_EQ(agent.modules.size(), 2u);
  for (const auto& [name, module] : agent.modules) {
    EXPECT_EQ(module.type, ModuleType::kProcess) << name;
    EXPECT_EQ(module.image, "/bin/sh") << name;
  }
  EXPECT_EQ(parsed.value->edge_hub.routes->size(), 1u);
}

}  // namespace
}  // namespace edge::agent
