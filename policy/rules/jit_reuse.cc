#include "policy/rules/jit_reuse.h"
#include "absl/strings/string_view.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/text.h"
#include "policy/registry.h"
#include "policy/rules/rule_util.h"
#include "policy/sources.h"

namespace liaison::policy::rules {

Verdict JitReuseRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  SourceConsentVerdict out(kId);
  ForEachSource(in, [&](const ResolvedSource& s) {
    const absl::string_view id = internal::MessageIdForText(s.message_id);
    if (!s.known()) {
      return out.Reject(absl::StrCat(kId.value(), ": source ", id,
                                     " is unknown to the broker and not described in "
                                     "header.provenance.sources; JIT origin cannot be checked: "
                                     "describe it there or drop it from derived_from"));
    }
    const std::string& jit_id = s.ref->jit_id();
    if (jit_id.empty()) return true;
    out.Applies();
    const liaison::v1::Jit* jit = in.registry->FindJit(jit_id);
    if (jit == nullptr) {
      return out.Reject(absl::StrCat(kId.value(), ": source ", id,
                                     " names a JIT that is not registered", DeclaredOnlyNote(s),
                                     "; correct its jit_id or drop it from derived_from"));
    }
    // Within the JIT: an evidence manifest of that JIT (DP-JIT-01 checks its
    // members and dates), or a message on one of the JIT's registered cases.
    // The sender's header.jit_id claim alone does not count.
    bool on_jit =
        in.message->has_evidence_manifest() && in.message->evidence_manifest().jit_id() == jit_id;
    for (const liaison::v1::Jit* j : in.registry->JitsForCase(h.case_ref()))
      on_jit = on_jit || j == jit;
    if (on_jit && Registry::IsMember(*jit, Recipient(in))) return true;
    const std::string& country = s.ref->obtained_in();
    if (!internal::IsCountryShaped(country)) {
      return out.Reject(absl::StrCat(kId.value(), ": source ", id, " from ", jit->id(),
                                     " does not say where it was obtained (obtained_in)",
                                     DeclaredOnlyNote(s), "; give its obtained_in country"));
    }
    absl::string_view origin;
    for (const std::string& m : jit->members()) {
      const EndpointEntry* e = in.registry->FindEntry(m);
      if (e != nullptr && e->country() == country) {
        origin = m;
        break;
      }
    }
    if (origin.empty()) {
      return out.Reject(absl::StrCat(kId.value(), ": cannot decide: no member of ", jit->id(),
                                     " in ", country, " can consent to reuse of source ", id,
                                     "; the JIT registry entry needs a member there"));
    }
    if (origin == h.sender() || origin == Recipient(in)) return true;
    const ConsentState c = MessageConsent(in, liaison::v1::CONSENT_KIND_JIT_REUSE, origin,
                                          s.message_id, &h.purposes());
    if (c == ConsentState::kGranted) return true;
    if (c == ConsentState::kRefused) {
      return out.Reject(
          absl::StrCat(kId.value(), ": ", origin, " refused reuse of ", jit->id(), " source ", id,
                       "; send without it (drop it from header.provenance.derived_from)"));
    }
    const absl::string_view where = s.used_in().empty() ? id : s.used_in();
    out.Await(s, origin, liaison::v1::CONSENT_KIND_JIT_REUSE,
              absl::StrCat(where, " from ", jit->id(), " obtained in ", country,
                           " is reused outside the JIT; consent of ", origin, " requested",
                           DeclaredOnlyNote(s)));
    return true;
  });
  return std::move(out).Finish();
}

}  // namespace liaison::policy::rules
