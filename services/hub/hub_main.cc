#include "common/service_runner.h"
#include "services/hub/hub_launcher.h"

int main(int argc, char** argv) {
  return edge::RunServiceMain(argc, argv, "hub", edge::hub::RunHubLauncher);
}
