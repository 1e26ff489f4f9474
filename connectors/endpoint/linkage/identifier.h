// Identifier kinds of case linkage and their canonical forms: the value an
// endpoint blinds, after normalisation (normalize.h) and before HMAC
// (blind.h). A Canonical exists only as the result of a normaliser, so
// cleartext that was not checked is never blinded.
#ifndef LIAISON_CONNECTORS_ENDPOINT_LINKAGE_IDENTIFIER_H_
#define LIAISON_CONNECTORS_ENDPOINT_LINKAGE_IDENTIFIER_H_

#include <cstdint>
#include <string>
#include <utility>
#include "absl/strings/string_view.h"

namespace liaison::endpoint::linkage {

// The numbers are those of liaison.v1.IdentifierType (the library does not
// link the generated code; identifier_test checks the numbers agree).
enum class IdentifierKind : uint8_t {
  kPhone = 1,
  kIban = 2,
  kVin = 3,
  kTravelDocument = 4,
  kNameDob = 5,
  kEmail = 6,
  kVehiclePlate = 8,
};

// The domain-separation tag of a kind, part of every HMAC input ("PHONE",
// "IBAN", "VIN", "DOC", "NAME_DOB", "EMAIL", "PLATE"). Never changes for a kind.
absl::string_view KindTag(IdentifierKind kind);

// One normalised identifier: its kind and canonical text (printable ASCII,
// no newline). Made only by the normalisers in normalize.h.
class Canonical {
 public:
  IdentifierKind kind() const { return kind_; }
  const std::string& value() const { return value_; }

 private:
  friend class Normalizer;
  Canonical(IdentifierKind kind, std::string value) : kind_(kind), value_(std::move(value)) {}
  IdentifierKind kind_;
  std::string value_;
};

}  // namespace liaison::endpoint::linkage

#endif  // LIAISON_CONNECTORS_ENDPOINT_LINKAGE_IDENTIFIER_H_
