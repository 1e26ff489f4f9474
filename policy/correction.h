// DP-QUAL-02 fan-out for the broker: who must receive a CORRECTION.
#ifndef LIAISON_POLICY_CORRECTION_H_
#define LIAISON_POLICY_CORRECTION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "liaison/v1/message.pb.h"
#include "policy/sources.h"

namespace liaison::policy {

// Every endpoint the broker delivered any target of `correction` to
// (including redacted copies), sorted, without duplicates and without the
// sender. The broker adds these to header.recipients and evaluates the
// chain for each (DP-QUAL-02 then switches off the purpose rules for them).
// Errors: InvalidArgument when `correction` is not a KIND_CORRECTION with
// targets; NotFound when a target is unknown to `sources`;
// PermissionDenied when a target was not sent by the correction's sender.
absl::StatusOr<std::vector<std::string>> CorrectionRecipients(
    const liaison::v1::Message& correction, const SourceIndex& sources);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_CORRECTION_H_
