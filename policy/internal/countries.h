// ISO 3166-1 alpha-2 codes and the EU / Schengen-associated sets the
// registry validation checks jurisdictions against.
#ifndef LIAISON_POLICY_INTERNAL_COUNTRIES_H_
#define LIAISON_POLICY_INTERNAL_COUNTRIES_H_

#include "absl/strings/string_view.h"

namespace liaison::policy::internal {

bool IsIsoCountry(absl::string_view code);
// The 27 EU Member States (Greece is GR in ISO 3166-1).
bool IsEuMemberState(absl::string_view code);
// IS, LI, NO, CH.
bool IsSchengenAssociated(absl::string_view code);

}  // namespace liaison::policy::internal

#endif  // LIAISON_POLICY_INTERNAL_COUNTRIES_H_
