// Blinding: HMAC-SHA256 under the network linkage key over a domain-separated
// input, "liaison-linkage/v1\n" + KindTag(kind) + "\n" + canonical value, so
// equal strings of two kinds (a phone and an IBAN "123") never collide.
// Deterministic: the same identifier under the same epoch gives the same 32
// bytes on every endpoint, which is what lets the broker match without the
// key. Thread-safe.
#ifndef LIAISON_CONNECTORS_ENDPOINT_LINKAGE_BLIND_H_
#define LIAISON_CONNECTORS_ENDPOINT_LINKAGE_BLIND_H_

#include <array>
#include <cstdint>
#include <string>

#include "connectors/endpoint/linkage/identifier.h"
#include "connectors/endpoint/linkage/linkage_key.h"

namespace liaison::endpoint::linkage {

struct BlindedValue {
  IdentifierKind kind;
  uint32_t epoch = 0;
  std::array<uint8_t, 32> value{};

  std::string value_bytes() const { return std::string(value.begin(), value.end()); }
};

// The exact bytes HMAC'd for `canonical` (exposed for tests and docs).
std::string BlindingInput(const Canonical& canonical);
BlindedValue Blind(const LinkageKey& key, const Canonical& canonical);

}  // namespace liaison::endpoint::linkage

#endif  // LIAISON_CONNECTORS_ENDPOINT_LINKAGE_BLIND_H_
