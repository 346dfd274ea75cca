#include "common/service_runner.h"
#include "services/agent/agent_server.h"

int main(int argc, char** argv) {
  return edge::RunServiceMain(argc, argv, "agent", edge::agent::RunAgent);
}
