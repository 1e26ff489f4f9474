#include "connectors/endpoint/linkage/blind.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "certs/signature.h"

namespace liaison::endpoint::linkage {

absl::string_view KindTag(IdentifierKind kind) {
  switch (kind) {
    case IdentifierKind::kPhone:
      return "PHONE";
    case IdentifierKind::kIban:
      return "IBAN";
    case IdentifierKind::kVin:
      return "VIN";
    case IdentifierKind::kTravelDocument:
      return "DOC";
    case IdentifierKind::kNameDob:
      return "NAME_DOB";
    case IdentifierKind::kEmail:
      return "EMAIL";
    case IdentifierKind::kVehiclePlate:
      return "PLATE";
  }
  return "UNKNOWN";  // unreachable: every enumerator is listed
}

std::string BlindingInput(const Canonical& canonical) {
  return absl::StrCat("liaison-linkage/v1\n", KindTag(canonical.kind()), "\n", canonical.value());
}

BlindedValue Blind(const LinkageKey& key, const Canonical& canonical) {
  const std::string mac = certs::HmacSha256(
      std::string_view(key.bytes().data(), key.bytes().size()), BlindingInput(canonical));
  BlindedValue out{canonical.kind(), key.epoch(), {}};
  std::memcpy(out.value.data(), mac.data(), out.value.size());
  return out;
}

}  // namespace liaison::endpoint::linkage
