// What the router benchmarks share: playing the hub's Ingest stream, setting routes and waiting
// until they are in force, and the CPU time a process has spent.
//
// Example:
//   if (!StartServices({&store, &router})) return 1;
//   if (!SetRoutesAndWait(*stub, R"({"schemaVersion":"1.1","routes":{...}})")) return 1;
//   const double cpu = CpuSeconds(router.process()->pid());
//   IngestMessages(*stub, "bench", 1, 100000, 100, 4,
//                  ModuleOutputMessage("edge-device", "A", "out1", 256));   // all acked: true
#ifndef EDGE_BENCH_ROUTER_INGEST_H_
#define EDGE_BENCH_ROUTER_INGEST_H_

#include <sys/types.h>

#include <initializer_list>
#include <string>

#include "edge/router/v1/router.grpc.pb.h"
#include "tests/support/service_process.h"

namespace edge::bench {

// utime + stime of `pid` in seconds (/proc/<pid>/stat); 0 when it cannot be read.
double CpuSeconds(pid_t pid);

// Starts each service in turn; false (the reason on stderr) when one does not become healthy.
bool StartServices(std::initializer_list<testing::ServiceProcess*> services);

// A telemetry message of `body_bytes` bytes from output `output` of module `device`/`module`, as
// the hub hands it to Ingest.
common::v1::Message ModuleOutputMessage(const std::string& device, const std::string& module,
                                        const std::string& output, int body_bytes);

// SetRoutes(`desired_json`), then waits (up to 10 s) until GetRoutes shows that version in force,
// and 300 ms more so a measurement does not start with the router's own store writes. False
// (with the reason on stderr) when either fails.
bool SetRoutesAndWait(router::v1::Router::Stub& router, const std::string& desired_json);

// Streams `total` copies of `message` into Ingest under journal `journal` in batches of `batch`
// (sequences from `first_sequence`), at most `inflight` batches waiting for their acks. True when
// every batch was acked.
bool IngestMessages(router::v1::Router::Stub& router, const std::string& journal,
                    uint64_t first_sequence, int total, int batch, int inflight,
                    const common::v1::Message& message);

}  // namespace edge::bench

#endif  // EDGE_BENCH_ROUTER_INGEST_H_
