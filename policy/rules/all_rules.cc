#include "policy/rules/all_rules.h"

#include <memory>
#include <vector>

#include "policy/rules/accepted_purpose.h"
#include "policy/rules/audit_precondition.h"
#include "policy/rules/bulk_volume.h"
#include "policy/rules/child_identity.h"
#include "policy/rules/correction_fanout.h"
#include "policy/rules/data_quality.h"
#include "policy/rules/derogation_limits.h"
#include "policy/rules/evidence_integrity.h"
#include "policy/rules/expiry.h"
#include "policy/rules/field_allowlist.h"
#include "policy/rules/further_purpose.h"
#include "policy/rules/h1_evidence.h"
#include "policy/rules/h2_dissemination.h"
#include "policy/rules/h3_restrictions.h"
#include "policy/rules/handling_code.h"
#include "policy/rules/jit_membership.h"
#include "policy/rules/jit_reuse.h"
#include "policy/rules/legal_basis.h"
#include "policy/rules/linkage_followup.h"
#include "policy/rules/linkage_query_shape.h"
#include "policy/rules/missing_child_alert.h"
#include "policy/rules/onward_transfer.h"
#include "policy/rules/reply_deadline.h"
#include "policy/rules/retention_limits.h"
#include "policy/rules/special_category.h"
#include "policy/rules/subject_category.h"
#include "policy/rules/transfer_authorisation.h"
#include "policy/rules/transfer_basis.h"
#include "policy/rules/victim_identity.h"
#include "policy/rules/victim_suspect.h"

namespace liaison::policy {

using namespace rules;  // NOLINT: the list below reads like the docs/rules.md table

// One line per rule, in docs/rules.md table order (the chain moves the
// exemption rules to the front).
std::vector<std::unique_ptr<const Rule>> MakeAllRules() {
  std::vector<std::unique_ptr<const Rule>> list;
  list.push_back(std::make_unique<LegalBasisRule>());             // DP-BASIS-01
  list.push_back(std::make_unique<AcceptedPurposeRule>());        // DP-PURPOSE-01
  list.push_back(std::make_unique<FurtherPurposeRule>());         // DP-PURPOSE-02
  list.push_back(std::make_unique<SubjectCategoryRule>());        // DP-CAT-01
  list.push_back(std::make_unique<VictimIdentityRule>());         // DP-CAT-02
  list.push_back(std::make_unique<VictimSuspectRule>());          // DP-CAT-03
  list.push_back(std::make_unique<ChildIdentityRule>());          // DP-CHILD-01
  list.push_back(std::make_unique<MissingChildAlertRule>());      // DP-CHILD-02
  list.push_back(std::make_unique<SpecialCategoryRule>());        // DP-SPECIAL-01
  list.push_back(std::make_unique<DataQualityRule>());            // DP-QUAL-01
  list.push_back(std::make_unique<CorrectionFanOutRule>());       // DP-QUAL-02
  list.push_back(std::make_unique<HandlingCodeRule>());           // DP-HC-01
  list.push_back(std::make_unique<H1EvidenceRule>());             // DP-HC-02
  list.push_back(std::make_unique<H2DisseminationRule>());        // DP-HC-03
  list.push_back(std::make_unique<H3RestrictionsRule>());         // DP-HC-04
  list.push_back(std::make_unique<TransferBasisRule>());          // DP-XFER-01
  list.push_back(std::make_unique<TransferAuthorisationRule>());  // DP-XFER-02
  list.push_back(std::make_unique<DerogationLimitsRule>());       // DP-XFER-03
  list.push_back(std::make_unique<OnwardTransferRule>());         // DP-XFER-04
  list.push_back(std::make_unique<RetentionLimitsRule>());        // DP-RET-01
  list.push_back(std::make_unique<ExpiryRule>());                 // DP-RET-02
  list.push_back(std::make_unique<ReplyDeadlineRule>());          // DP-TIME-01
  list.push_back(std::make_unique<LinkageQueryShapeRule>());      // DP-LINK-01
  list.push_back(std::make_unique<LinkageFollowUpRule>());        // DP-LINK-02
  list.push_back(std::make_unique<JitMembershipRule>());          // DP-JIT-01
  list.push_back(std::make_unique<JitReuseRule>());               // DP-JIT-02
  list.push_back(std::make_unique<EvidenceIntegrityRule>());      // DP-JIT-03
  list.push_back(std::make_unique<FieldAllowlistRule>());         // DP-MIN-01
  list.push_back(std::make_unique<BulkVolumeRule>());             // DP-BULK-01
  list.push_back(std::make_unique<AuditPreconditionRule>());      // DP-LOG-01
  return list;
}

absl::Span<const RuleId> AllRuleIds() {
  static const std::vector<RuleId>* const kIds = [] {
    auto* ids = new std::vector<RuleId>();
    for (const auto& r : MakeAllRules()) ids->push_back(r->id());
    return ids;
  }();
  return *kIds;
}

}  // namespace liaison::policy
