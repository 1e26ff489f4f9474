#include "policy/rules/legal_basis.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "policy/internal/text.h"
#include "policy/registry.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

// The fix a sender can apply: the registered codes that would cover this
// pair and kind now, or that none does (then the registry needs one).
std::string Fix(const Input& in, const Parties& p, liaison::v1::Kind kind) {
  std::string codes;
  for (const liaison::v1::LegalBasis& basis : in.registry->proto().legal_bases()) {
    if (Registry::Covers(basis, *p.sender, *p.recipient, kind, in.now)) {
      absl::StrAppend(&codes, codes.empty() ? "" : ", ", basis.code());
    }
  }
  if (codes.empty()) {
    return absl::StrCat("no registered basis covers ", Pair(p), " ", internal::KindName(kind),
                        ": the registry needs one before this traffic can flow");
  }
  return absl::StrCat("cite one registered for ", Pair(p), " ", internal::KindName(kind), ": ",
                      codes);
}

}  // namespace

Verdict LegalBasisRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (h.legal_basis().empty()) {
    return Verdict::Reject(
        absl::StrCat(kId.value(), ": header.legal_basis missing; ", Fix(in, p, h.kind())));
  }
  std::string registered;
  std::string unregistered;
  for (int i = 0; i < h.legal_basis_size(); ++i) {
    const liaison::v1::LegalBasis* basis = in.registry->FindLegalBasis(h.legal_basis(i));
    if (basis == nullptr) {
      absl::StrAppend(&unregistered, unregistered.empty() ? "" : ", ", "header.legal_basis[", i,
                      "]");
      continue;
    }
    if (Registry::Covers(*basis, *p.sender, *p.recipient, h.kind(), in.now)) return Verdict::Pass();
    absl::StrAppend(&registered, registered.empty() ? "'" : "', '", basis->code());
  }
  std::string reason(kId.value());
  if (!registered.empty()) {
    absl::StrAppend(&reason, ": header.legal_basis ", registered, "' is not registered for ",
                    Pair(p), " ", internal::KindName(h.kind()));
  }
  if (!unregistered.empty()) {
    absl::StrAppend(&reason, registered.empty() ? ": " : "; ", unregistered,
                    " is not a registered legal-basis code");
  }
  absl::StrAppend(&reason, "; ", Fix(in, p, h.kind()));
  return Verdict::Reject(std::move(reason));
}

}  // namespace liaison::policy::rules
