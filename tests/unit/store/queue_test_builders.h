// Builders for store requests, so tests say what they append rather than spelling out protos.
#ifndef EDGE_TESTS_UNIT_STORE_QUEUE_TEST_BUILDERS_H_
#define EDGE_TESTS_UNIT_STORE_QUEUE_TEST_BUILDERS_H_

#include <optional>
#include <string>
#include <vector>

#include "edge/store/v1/store.pb.h"

namespace edge::store::testing {

inline v1::QueueId Queue(const std::string& endpoint, std::optional<uint32_t> priority = {}) {
  v1::QueueId id;
  id.set_endpoint(endpoint);
  if (priority.has_value()) id.set_priority(*priority);
  return id;
}

// Appends messages with the given bodies, each to every queue in `queues` with `ttl_seconds`.
class AppendBuilder {
 public:
  AppendBuilder& Journal(const std::string& id, uint64_t first_sequence) {
    request_.set_journal_id(id);
    request_.set_first_sequence(first_sequence);
    return *this;
  }
  AppendBuilder& Message(const std::string& body, const std::vector<v1::QueueId>& queues,
                         int64_t ttl_seconds = 0) {
    v1::MessageToAppend* m = request_.add_messages();
    m->mutable_message()->set_body(body);
    m->mutable_message()->mutable_application_properties()->insert({"body", body});
    for (const v1::QueueId& q : queues) {
      v1::QueueTarget* t = m->add_queues();
      *t->mutable_queue() = q;
      t->set_ttl_seconds(ttl_seconds);
    }
    return *this;
  }
  AppendBuilder& Messages(int count, const std::string& prefix,
                          const std::vector<v1::QueueId>& queues) {
    for (int i = 0; i < count; ++i) Message(prefix + std::to_string(i), queues);
    return *this;
  }
  const v1::AppendMessagesRequest& Build() const { return request_; }
  operator const v1::AppendMessagesRequest&() const { return request_; }

 private:
  v1::AppendMessagesRequest request_;
};

}  // namespace edge::store::testing

#endif  // EDGE_TESTS_UNIT_STORE_QUEUE_TEST_BUILDERS_H_
