#include "broker/stage/decide.h"

#include <algorithm>

namespace liaison::broker {

policy::Input DecisionInput(const liaison::v1::Message& message, const std::string& recipient,
                            size_t message_bytes, absl::Time now, const DecisionBooks& books) {
  policy::Input in;
  in.message = &message;
  in.recipient = recipient;
  in.message_bytes = message_bytes;
  in.counters = books.counters;
  in.sources = books.sources;
  in.consents = books.consents;
  in.now = now;
  return in;
}

std::vector<Decided> DecideEach(const policy::Chain& chain, const liaison::v1::Message& message,
                                const std::vector<std::string>& recipients, size_t message_bytes,
                                absl::Time now, const DecisionBooks& books) {
  std::vector<Decided> out;
  out.reserve(recipients.size());
  for (const std::string& recipient : recipients) {
    policy::Decision d =
        chain.Evaluate(DecisionInput(message, recipient, message_bytes, now, books));
    if (d.outcome == liaison::v1::OUTCOME_ALLOW || d.outcome == liaison::v1::OUTCOME_REDACT) {
      books.counters->Record(message.header().sender(), recipient,
                             policy::UsageOf(message, message_bytes, d.transfer.kind()), now);
    }
    out.push_back({recipient, std::move(d)});
  }
  // A linkage query counts once against its sender's daily limit
  // (DP-LINK-01) when any recipient's index is searched.
  if (message.header().kind() == liaison::v1::KIND_LINKAGE_QUERY &&
      std::any_of(out.begin(), out.end(), [](const Decided& d) {
        return d.decision.outcome == liaison::v1::OUTCOME_ALLOW ||
               d.decision.outcome == liaison::v1::OUTCOME_REDACT;
      })) {
    policy::Usage one;
    one.linkage_queries = 1;
    books.counters->Record(message.header().sender(), policy::kAnyRecipient, one, now);
  }
  return out;
}

}  // namespace liaison::broker
