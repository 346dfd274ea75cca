// AgentGrpcService: edge.agent.v1.Agent on gRPC's callback API.
//
// - ApplyDeployment validates the deployment with the manifest library (nothing is written when it
//   is invalid), plans the writes (deployment_writes.h), reads every twin it will write, checks the
//   caller's expected versions, then replaces the desired documents one after another with
//   compare-and-set — asynchronously, through the store's callback stub. It applies nothing itself.
// - GetDeployment reads the `$edgeAgent` and `$edgeHub` twins the same way.
// - ListModules, GetModule and GetLogs answer from the ModuleRuntime, inline: its calls only read
//   small state files and /proc (GetLogs reads the log files, at most a few tens of MiB); health
//   comes from the HealthChecker and StopModule holds from the ModuleTable.
// - GetLogs with `follow` and WatchModules are long-lived streams: followed logs are read on by the
//   service's poller thread every 200 ms; WatchModules listens to the ModuleTable. EndStreams
//   ends them all (OK), for a shutdown that does not wait out its grace period.
// - StartModule, StopModule and RestartModule are carried out by the Reconciler on its thread
//   (Reconciler::Submit); the call finishes when it is done.
//
// Lifecycle: created by RunAgent before the server starts, destroyed after the server. The store
// channel, the ModuleRuntime, the Reconciler, the HealthChecker, the ModuleTable and AgentMetrics
// outlive it. Thread-safe.
#ifndef EDGE_SERVICES_AGENT_AGENT_GRPC_SERVICE_H_
#define EDGE_SERVICES_AGENT_AGENT_GRPC_SERVICE_H_

#include <memory>
#include <string>

#include "edge/agent/v1/agent.grpc.pb.h"
#include "edge/store/v1/identities.grpc.pb.h"
#include "edge/store/v1/twins.grpc.pb.h"
#include "grpcpp/channel.h"
#include "services/agent/agent_metrics.h"
#include "services/agent/health_checker.h"
#include "services/agent/module_table.h"
#include "services/agent/reconciler.h"
#include "services/agent/runtime/module_runtime.h"

namespace edge::agent {

class AgentGrpcService final : public v1::Agent::CallbackService {
 public:
  // `device_id` is [device] id: the twins written are `<device_id>/$edgeAgent`, ... .
  AgentGrpcService(std::shared_ptr<grpc::Channel> store, std::string device_id,
                   ModuleRuntime* runtime, Reconciler* reconciler, const HealthChecker* health,
                   ModuleTable* table, AgentMetrics* metrics);
  ~AgentGrpcService() override;

  // Ends every WatchModules and followed GetLogs stream (OK), and those started later.
  void EndStreams();

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
  grpc::ServerUnaryReactor* StartModule(grpc::CallbackServerContext* context,
                                        const v1::StartModuleRequest* request,
                                        v1::Module* response) override;
  grpc::ServerUnaryReactor* StopModule(grpc::CallbackServerContext* context,
                                       const v1::StopModuleRequest* request,
                                       v1::Module* response) override;
  grpc::ServerUnaryReactor* RestartModule(grpc::CallbackServerContext* context,
                                          const v1::RestartModuleRequest* request,
                                          v1::Module* response) override;
  grpc::ServerWriteReactor<v1::WatchModulesResponse>* WatchModules(
      grpc::CallbackServerContext* context, const v1::WatchModulesRequest* request) override;

  class OpenStreams;  // the long-lived streams, and the poller of followed logs

 private:
  grpc::ServerUnaryReactor* Command(grpc::CallbackServerContext* context, ModuleCommand command,
                                    const std::string& name, v1::Module* response);
  void ModuleToProto(const ModuleStatus& status, v1::Module* out) const;

  std::unique_ptr<store::v1::TwinStore::Stub> twins_;
  std::unique_ptr<store::v1::IdentityRegistry::Stub> identities_;
  const std::string device_id_;
  ModuleRuntime* const runtime_;
  Reconciler* const reconciler_;
  const HealthChecker* const health_;
  ModuleTable* const table_;
  AgentMetrics* const metrics_;
  std::unique_ptr<OpenStreams> streams_;
};

}  // namespace edge::agent

#endif  // EDGE_SERVICES_AGENT_AGENT_GRPC_SERVICE_H_
