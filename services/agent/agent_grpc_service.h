// AgentGrpcService: edge.agent.v1.Agent on gRPC's callback API.
//
// - ApplyDeployment validates the deployment with the manifest library (nothing is written when it
//   is invalid), plans the writes (deployment_writes.h), reads every twin it will write, checks the
//   caller's expected versions, then replaces the desired documents one after another with
//   compare-and-set — asynchronously, through the store's callback stub. It applies nothing itself.
// - GetDeployment reads the `$edgeAgent` and `$edgeHub` twins the same way.
// - ListModules, GetModule and GetLogs answer from the ModuleRuntime, inline: its calls only read
//   small state files and /proc (GetLogs reads the log files, at most a few tens of MiB).
//
// Lifecycle: created by RunAgent before the server starts, destroyed after the server. The store
// channel, the ModuleRuntime and AgentMetrics outlive it. Thread-safe: it holds no mutable state.
#ifndef EDGE_SERVICES_AGENT_AGENT_GRPC_SERVICE_H_
#define EDGE_SERVICES_AGENT_AGENT_GRPC_SERVICE_H_

#include <memory>
#include <string>

#include "edge/agent/v1/agent.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/channel.h"
#include "services/agent/agent_metrics.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

class AgentGrpcService final : public v1::Agent::CallbackService {
 public:
  // `device_id` is [device] id: the twins written are `<device_id>/$edgeAgent`, ... .
  AgentGrpcService(std::shared_ptr<grpc::Channel> store, std::string device_id,
                   ModuleRuntime* runtime, AgentMetrics* metrics);

  grpc::ServerUnaryReactor* ApplyDeployment(grpc::CallbackServerContext* context,
                                            const v1::ApplyDeploymentRequest* request,
                                            v1::ApplyDeploymentResponse* response) override;
  grpc::ServerUnaryReactor* GetDeployment(grpc::CallbackServerContext* context,
                                          const v1::GetDeploymentRequest* request,
                                          v1::GetDeploymentResponse* response) override;
  grpc::ServerUnaryReactor* ListModules(grpc::CallbackServerContext* context,
                                        const v1::ListModulesRequest* request,
                                        v1::ListModulesResponse* response) override;
  grpc::ServerUnaryReactor* GetModule(grpc::CallbackServerContext* context,
                                      const v1::GetModuleRequest* request,
                                      v1::Module* response) override;
  grpc::ServerWriteReactor<v1::LogChunk>* GetLogs(grpc::CallbackServerContext* context,
                                                  const v1::GetLogsRequest* request) override;

 private:
  std::unique_ptr<store::v1::TwinStore::Stub> twins_;
  const std::string device_id_;
  ModuleRuntime* const runtime_;
  AgentMetrics* const metrics_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_AGENT_GRPC_SERVICE_H_
