#include "common/service_runner.h"
#include "services/router/router_server.h"

int main(int argc, char** argv) {
  return edge::RunServiceMain(argc, argv, "router", edge::router::RunRouter);
}
