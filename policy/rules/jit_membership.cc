#include "policy/rules/jit_membership.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/proto_time.h"
#include "policy/internal/text.h"
#include "policy/registry.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict JitMembershipRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (h.kind() != liaison::v1::KIND_EVIDENCE_MANIFEST) return Verdict::NotApplicable();
  if (!in.message->has_evidence_manifest()) {
    return Verdict::Reject(
        absl::StrCat(kId.value(),
                     ": KIND_EVIDENCE_MANIFEST without an evidence_manifest body; "
                     "add the manifest of the JIT's evidence"));
  }
  const std::string& jit_id = in.message->evidence_manifest().jit_id();
  if (jit_id.empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": evidence_manifest.jit_id missing; "
                                        "set it to the registered JIT id"));
  }
  if (!h.jit_id().empty() && h.jit_id() != jit_id) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": header.jit_id and evidence_manifest.jit_id differ; "
                                        "make them equal or leave header.jit_id empty"));
  }
  const liaison::v1::Jit* jit = in.registry->FindJit(jit_id);
  if (jit == nullptr) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": evidence_manifest.jit_id is not a registered JIT; "
                                        "use the id of a JIT in registry ",
                                        in.registry->version()));
  }
  std::vector<std::string> problems;
  std::vector<std::string> fixes;
  const bool sender_in = Registry::IsMember(*jit, h.sender());
  const bool recipient_in = Registry::IsMember(*jit, Recipient(in));
  if (!sender_in) {
    problems.push_back(
        absl::StrCat(EndpointText(in, h.sender()), " is not a member of ", jit->id()));
  }
  if (!recipient_in) {
    problems.push_back(absl::StrCat(EndpointText(in, Recipient(in)), " is not a member of ",
                                    jit->id(), " (", jit->name(), ")"));
  }
  if (!sender_in || !recipient_in) {
    fixes.push_back(absl::StrCat("JIT evidence goes only between members of ", jit->id(),
                                 " (otherwise use mutual legal assistance)"));
  }
  const absl::Time start = FromProto(jit->start());
  const absl::Time end = FromProto(jit->end());
  if (in.now < start) {
    problems.push_back(absl::StrCat(jit->id(), " not valid until ", internal::FormatDay(start)));
    fixes.push_back(absl::StrCat("send on or after ", internal::FormatDay(start)));
  } else if (in.now >= end) {
    problems.push_back(absl::StrCat(jit->id(), " has ended (valid through ",
                                    internal::FormatDay(end - absl::Nanoseconds(1)), ")"));
    fixes.push_back("after the JIT, use mutual legal assistance or register the JIT's extension");
  }
  if (problems.empty()) return Verdict::Pass();
  return Verdict::Reject(
      absl::StrCat(kId.value(), ": ", JoinProblems(problems), "; ", absl::StrJoin(fixes, "; ")));
}

}  // namespace liaison::policy::rules
