#include "policy/rules/legal_basis.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "policy/internal/text.h"
#include "policy/registry.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict LegalBasisRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (h.legal_basis().empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": header.legal_basis missing; cite a registered legal-basis "
                                        "code covering ",
                                        Pair(p), " ", internal::KindName(h.kind())));
  }
  std::string registered;
  std::string unregistered;
  for (int i = 0; i < h.legal_basis_size(); ++i) {
    const liaison::v1::LegalBasis* basis = in.registry->FindLegalBasis(h.legal_basis(i));
    if (basis == nullptr) {
      absl::StrAppend(&unregistered, unregistered.empty() ? "" : ", ", "header.legal_basis[", i, "]");
      continue;
    }
    if (Registry::Covers(*basis, *p.sender, *p.recipient, h.kind(), in.now)) return Verdict::Pass();
    absl::StrAppend(&registered, registered.empty() ? "'" : "', '", basis->code());
  }
  std::string reason(kId.value());
  if (!registered.empty()) {
    absl::StrAppend(&reason, ": header.legal_basis ", registered, "' is not registered for ", Pair(p),
                    " ", internal::KindName(h.kind()));
  }
  if (!unregistered.empty()) {
    absl::StrAppend(&reason, registered.empty() ? ": " : "; ", unregistered,
                    " is not a registered legal-basis code");
  }
  absl::StrAppend(&reason, "; cite a basis registered for this pair and kind");
  return Verdict::Reject(std::move(reason));
}

}  // namespace liaison::policy::rules
