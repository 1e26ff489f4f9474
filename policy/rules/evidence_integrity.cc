#include "policy/rules/evidence_integrity.h"
#include "absl/strings/string_view.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "policy/evidence.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict EvidenceIntegrityRule::Check(const Input& in) const {
  if (in.message->header().kind() != liaison::v1::KIND_EVIDENCE_MANIFEST) {
    return Verdict::NotApplicable();
  }
  if (!in.message->has_evidence_manifest()) {
    return Verdict::Reject(
        absl::StrCat(kId.value(),
                     ": KIND_EVIDENCE_MANIFEST without an evidence_manifest body; "
                     "add the manifest of the uploaded items"));
  }
  const liaison::v1::EvidenceManifest& m = in.message->evidence_manifest();
  if (m.items().empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": evidence_manifest.items empty; "
                                        "list every uploaded item"));
  }
  std::vector<std::string> problems;
  absl::flat_hash_set<absl::string_view> ids;
  for (int i = 0; i < m.items_size(); ++i) {
    const liaison::v1::EvidenceItem& item = m.items(i);
    const std::string path = absl::StrCat("evidence_manifest.items[", i, "]");
    if (item.item_id().empty()) {
      problems.push_back(absl::StrCat(path, ".item_id missing"));
    } else if (!ids.insert(item.item_id()).second) {
      problems.push_back(absl::StrCat(path, ".item_id repeats an earlier item"));
    }
    if (item.sha256().size() != 32)
      problems.push_back(absl::StrCat(path, ".sha256 must be 32 bytes"));
    if (item.size() <= 0) problems.push_back(absl::StrCat(path, ".size must be positive"));
    if (!internal::IsCountryShaped(item.obtained_in())) {
      problems.push_back(absl::StrCat(path, ".obtained_in must be an ISO 3166-1 alpha-2 code"));
    }
    if (in.evidence == nullptr || item.item_id().empty()) continue;
    const EvidenceRecord* rec = in.evidence->Find(m.jit_id(), item.item_id());
    if (rec == nullptr) {
      problems.push_back(absl::StrCat(path, " is not in the evidence store (upload it first)"));
    } else if (rec->sha256 != item.sha256()) {
      problems.push_back(absl::StrCat(path, ".sha256 mismatch"));
    } else if (rec->size != item.size()) {
      problems.push_back(absl::StrCat(path, ".size mismatch"));
    }
  }
  if (!problems.empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(), ": ", JoinProblems(problems),
                                        "; the manifest must list each uploaded item once with "
                                        "the id, SHA-256 and size the evidence store recorded"));
  }
  if (in.evidence == nullptr) {
    return Verdict::Pass(absl::StrCat(kId.value(),
                                      ": manifest consistent; blob hashes not checked (no evidence "
                                      "index: the broker checks them at upload)"));
  }
  return Verdict::Pass();
}

}  // namespace liaison::policy::rules
