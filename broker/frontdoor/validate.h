// Structural checks the front door makes after the signature verified and
// before anything is written to Kafka. Data-protection rules are NOT checked
// here: they are policy decisions (policy/), answered with notices, not
// with errors on the send.
#ifndef LIAISON_BROKER_FRONTDOOR_VALIDATE_H_
#define LIAISON_BROKER_FRONTDOOR_VALIDATE_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "liaison/v1/message.pb.h"
#include "policy/registry.h"

namespace liaison::broker {

struct ValidationLimits {
  // How far header.created_at may lie in the future of the broker's clock.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // The deduplication window: a message created longer ago, or whose id
  // (a UUIDv7) was minted longer ago, is refused, since a replay of it
  // could no longer be told from a new message.
  absl::Duration max_age = absl::Hours(24 * 7);
  int max_recipients = 64;
};

// InvalidArgument naming the field path ("header.recipients[2]: unknown
// endpoint 'XX-FOO'") for the first problem found; never echoes payload
// values (endpoint ids and enum numbers are metadata).
absl::Status ValidateForIngress(const liaison::v1::Message& message,
                                const policy::Registry& registry, absl::Time now,
                                const ValidationLimits& limits = {});

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_VALIDATE_H_
