#include "policy/rules/audit_precondition.h"

#include "absl/strings/str_cat.h"

namespace liaison::policy::rules {

Verdict AuditPreconditionRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (h.message_id().empty()) {
    return Verdict::Reject(
        absl::StrCat(kId.value(),
                     ": header.message_id missing: the decision cannot be audited; "
                     "set header.message_id (a UUIDv7: the client library sets one)"));
  }
  if (h.sender().empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": header.sender missing: the decision cannot be audited; "
                                        "set header.sender to the sending endpoint's id"));
  }
  // The broker appends the decision to liaison.audit before forwarding.
  return Verdict::Pass();
}

}  // namespace liaison::policy::rules
