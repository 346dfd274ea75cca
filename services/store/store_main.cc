#include "common/service_runner.h"
#include "services/store/store_server.h"

int main(int argc, char** argv) {
  return edge::RunServiceMain(argc, argv, "store", edge::store::RunStore);
}
