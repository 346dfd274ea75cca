// Routing one ingest batch: validate it, evaluate the routes in force for every message, and turn
// the result into the store appends that make it durable. No gRPC here; the Ingest stream
// (router_grpc_service.h) sends the appends and acks.
//
// Store queues. A queue is one endpoint at one priority, named exactly as the store's QueueId
// (store.proto): `endpoint` is the route library's canonical sink — `$upstream` or
// `BrokeredEndpoint("/modules/{m}/inputs/{i}")` — and `priority` is the route's priority (0-9, 0
// best), absent for routes without one (the store's default, served last). The entry's TTL is the
// route's (or the global one), 0 meaning never expires.
//
// Journal sequences. The store gives messages[i] of an append the sequence first_sequence + i and
// refuses a message without queues, so a message no route matched cannot simply be left out of the
// middle of an append. A batch therefore becomes one append per run of consecutive routed messages,
// each with its own first_sequence: one append in the usual cases (everything routed, or unrouted
// messages only at the ends), none when nothing was routed. Appends are sent in order, so the
// journal's high-water mark only ever covers what was committed, and a replay adds nothing.
//
// Example:
//   ASSIGN_OR_RETURN(RoutedBatch routed, RouteBatch(std::move(batch), config.get()));
//   for (const auto& append : routed.appends) RETURN_IF_ERROR(Append(append));
//   Ack(routed.first_sequence, routed.last_sequence);
#ifndef EDGE_SERVICES_ROUTER_BATCH_ROUTER_H_
#define EDGE_SERVICES_ROUTER_BATCH_ROUTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/route/route_table.h"
#include "edge/router/v1/router.pb.h"
#include "edge/store/v1/store.pb.h"
#include "services/router/routes_config.h"

namespace edge::router {

// The store queue (and TTL) of a route target; see the file comment for the naming.
store::v1::QueueTarget QueueTargetFor(const route::RouteTarget& target);

// A readable name for logs and messages: `<endpoint>` then ` priority <n>` or ` default priority`.
std::string QueueName(const store::v1::QueueId& queue);

struct RoutedBatch {
  std::string journal_id;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  // To send in order; empty when no message was routed.
  std::vector<store::v1::AppendMessagesRequest> appends;
  // Messages that go to at least one queue, and those no route matched.
  uint32_t routed = 0;
  uint32_t dropped = 0;
  // Only when RouteBatch was asked to explain: for each routed message, in append order, its
  // source path and the names of the routes that matched (for Monitor).
  struct Explanation {
    std::string source_path;
    std::vector<std::string> routes;
  };
  std::vector<Explanation> explanations;
};

// INVALID_ARGUMENT naming the field: journal_id empty, first_sequence 0, no messages, sequences
// past 2^64 - 1, a message whose source.kind is unspecified or whose source.device_id is empty.
absl::Status ValidateBatch(const v1::IngestBatch& batch);

// ValidateBatch, then routes every message with `config` (nullptr: no configuration in force, so
// every message is dropped). Moves the messages out of `batch`. With `explain`, also fills
// `explanations` (the routes are evaluated with RouteTable::Explain, which costs more).
absl::StatusOr<RoutedBatch> RouteBatch(v1::IngestBatch batch, const RoutesConfig* config,
                                       bool explain = false);

}  // namespace edge::router

#endif  // EDGE_SERVICES_ROUTER_BATCH_ROUTER_H_
