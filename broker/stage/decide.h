// Step 2 of the stage (plan.h): the chain decides each recipient in turn.
// What will be forwarded (ALLOW, REDACT) is counted at once, so that the
// next recipient's DP-BULK-01 and DP-XFER-03 checks see it; the caller holds
// the sender's volume lock around the whole of it.
#ifndef LIAISON_BROKER_STAGE_DECIDE_H_
#define LIAISON_BROKER_STAGE_DECIDE_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/stage/plan.h"
#include "liaison/v1/message.pb.h"
#include "policy/chain.h"
#include "policy/consents.h"
#include "policy/counters.h"
#include "policy/input.h"
#include "policy/sources.h"

namespace liaison::broker {

// The books the chain reads (and, for the counters, the stage writes).
struct DecisionBooks {
  policy::SlidingWindowCounters* counters = nullptr;
  const policy::SourceIndex* sources = nullptr;
  const policy::ConsentIndex* consents = nullptr;
};

// The chain's input for `message` (`message_bytes` signed bytes) to `recipient`.
policy::Input DecisionInput(const liaison::v1::Message& message, const std::string& recipient,
                            size_t message_bytes, absl::Time now, const DecisionBooks& books);

// One decision per recipient, in order; each forwarded one is recorded in
// books.counters under the decision's transfer basis before the next
// recipient is decided.
std::vector<Decided> DecideEach(const policy::Chain& chain, const liaison::v1::Message& message,
                                const std::vector<std::string>& recipients, size_t message_bytes,
                                absl::Time now, const DecisionBooks& books);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_DECIDE_H_
