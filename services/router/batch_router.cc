#include "services/router/batch_router.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/route/proto_message.h"

namespace edge::router {

store::v1::QueueTarget QueueTargetFor(const route::RouteTarget& target) {
  store::v1::QueueTarget queue;
  queue.mutable_queue()->set_endpoint(std::string(target.endpoint));
  if (target.priority.has_value()) queue.mutable_queue()->set_priority(*target.priority);
  queue.set_ttl_seconds(target.ttl_seconds);
  return queue;
}

std::string QueueName(const store::v1::QueueId& queue) {
  return queue.has_priority() ? absl::StrCat(queue.endpoint(), " priority ", queue.priority())
                              : absl::StrCat(queue.endpoint(), " default priority");
}

absl::Status ValidateBatch(const v1::IngestBatch& batch) {
  if (batch.journal_id().empty()) {
    return absl::InvalidArgumentError("batch.journal_id: required");
  }
  if (batch.first_sequence() == 0) {
    return absl::InvalidArgumentError("batch.first_sequence: required (at least 1)");
  }
  if (batch.messages().empty()) {
    return absl::InvalidArgumentError("batch.messages: the batch is empty");
  }
  const uint64_t extra = static_cast<uint64_t>(batch.messages_size()) - 1;
  if (batch.first_sequence() > std::numeric_limits<uint64_t>::max() - extra) {
    return absl::InvalidArgumentError(absl::StrCat("batch.first_sequence: ", batch.first_sequence(),
                                                   " + ", batch.messages_size(),
                                                   " messages passes the largest sequence"));
  }
  for (int i = 0; i < batch.messages_size(); ++i) {
    const common::v1::Source& source = batch.messages(i).source();
    if (source.kind() != common::v1::MESSAGE_KIND_TELEMETRY &&
        source.kind() != common::v1::MESSAGE_KIND_TWIN_CHANGE_NOTIFICATION) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch.messages[", i, "].source.kind: unspecified or unknown (", source.kind(), ")"));
    }
    if (source.device_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch.messages[", i, "].source.device_id: required"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RoutedBatch> RouteBatch(v1::IngestBatch batch, const RoutesConfig* config,
                                       bool explain) {
  if (absl::Status valid = ValidateBatch(batch); !valid.ok()) return valid;
  RoutedBatch routed;
  routed.journal_id = batch.journal_id();
  routed.first_sequence = batch.first_sequence();
  routed.last_sequence = batch.first_sequence() + static_cast<uint64_t>(batch.messages_size()) - 1;
  std::vector<route::RouteTarget> targets;
  // The append the current run of routed messages goes to; null after an unrouted message.
  store::v1::AppendMessagesRequest* run = nullptr;
  for (int i = 0; i < batch.messages_size(); ++i) {
    common::v1::Message& message = *batch.mutable_messages(i);
    targets.clear();
    RoutedBatch::Explanation explanation;
    if (config != nullptr) {
      route::ProtoMessageView adapted(message);
      route::MessageContext context(adapted.view());
      if (explain) {
        route::RoutingDecision decision = config->table.Explain(context);
        targets = std::move(decision.targets);
        explanation.source_path = std::string(context.source_path());
        for (route::ExplainedRoute& r : decision.routes) {
          if (r.outcome.kind == route::RouteOutcomeKind::kMatched) {
            explanation.routes.push_back(std::move(r.name));
          }
        }
      } else {
        config->table.Evaluate(context, &targets);
      }
    }
    if (targets.empty()) {
      ++routed.dropped;
      run = nullptr;
      continue;
    }
    ++routed.routed;
    if (explain) routed.explanations.push_back(std::move(explanation));
    if (run == nullptr) {
      run = &routed.appends.emplace_back();
      run->set_journal_id(batch.journal_id());
      run->set_first_sequence(batch.first_sequence() + static_cast<uint64_t>(i));
    }
    store::v1::MessageToAppend* append = run->add_messages();
    for (const route::RouteTarget& target : targets) *append->add_queues() = QueueTargetFor(target);
    *append->mutable_message() = std::move(message);
  }
  return routed;
}

}  // namespace edge::router
