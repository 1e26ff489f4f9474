// The Explain RPC's answer: what the policy would decide for a message,
// without sending it. The message is completed the way a sender's client
// would (sender = the TLS peer, a fresh message id, created now), checked
// as the front door checks a send, then decided by the policy stage without
// side effects (nothing counted, written or audited).
#ifndef LIAISON_BROKER_FRONTDOOR_EXPLAIN_H_
#define LIAISON_BROKER_FRONTDOOR_EXPLAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/core/clock.h"
#include "liaison/v1/exchange.pb.h"
#include "policy/chain.h"
#include "policy/decision.h"

namespace liaison::broker {

struct ExplainDeps {
  // Policy time, when the request names none. Not owned.
  const Clock* clock = nullptr;
  // The chain in force (registry and policy versions).
  std::function<std::shared_ptr<const policy::Chain>()> chain;
  // The deduplication window: messages older than this are refused, as on a
  // send.
  absl::Duration max_age = absl::Hours(24 * 7);
  // The policy stage's decisions for (message, recipients, size, now),
  // without side effects (PolicyStage::Explain).
  std::function<std::vector<policy::Decision>(const liaison::v1::Message&,
                                              const std::vector<std::string>&, size_t, absl::Time)>
      decide;
};

// Thread-safe when the deps are.
class Explainer {
 public:
  explicit Explainer(ExplainDeps deps) : deps_(std::move(deps)) {}

  // `peer` is the caller's authenticated endpoint id. Errors, in order:
  // PermissionDenied when the message names another sender
  // ("message.header.sender: ..."); the front door's InvalidArgument naming
  // the field path (validate.h). `request.recipients`, when given, replace
  // the message's.
  absl::StatusOr<liaison::v1::ExplainResponse> Explain(const liaison::v1::ExplainRequest& request,
                                                       const std::string& peer) const;

 private:
  const ExplainDeps deps_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_EXPLAIN_H_
