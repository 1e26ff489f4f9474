// Input: everything one policy decision may read. All pointers are borrowed
// and must stay valid, and unchanged, until the Evaluate() / Check() call
// that reads them returns. Nothing here is read from a clock or from disk:
// `now` is data.
#ifndef LIAISON_POLICY_INPUT_H_
#define LIAISON_POLICY_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "liaison/v1/message.pb.h"

namespace liaison::policy {

class Registry;
class Counters;
class SourceIndex;
class ConsentIndex;
class EvidenceIndex;

struct Input {
  // The message being decided (parsed from the verified envelope). Required.
  const liaison::v1::Message* message = nullptr;
  // The one recipient this decision is for (an endpoint id). Required.
  std::string_view recipient;
  // Size of the signed message bytes (DP-BULK-01 byte caps).
  size_t message_bytes = 0;
  // Registry snapshot. Chain::Evaluate uses its own snapshot when this is
  // nullptr (the normal case); rules called directly need it set.
  const Registry* registry = nullptr;
  // Windowed volumes per sender -> recipient. DP-BULK-01 and the
  // DP-XFER-03 repeat check fail closed (reject) without it.
  const Counters* counters = nullptr;
  // What the broker recorded about earlier messages. Without it, rules
  // fall back to header.provenance.sources and say so in the reason.
  const SourceIndex* sources = nullptr;
  // Verified consents, approvals and refusals. nullptr = none recorded.
  const ConsentIndex* consents = nullptr;
  // Evidence items as recorded at upload (DP-JIT-03). Optional: without it
  // only the manifest's own consistency is checked.
  const EvidenceIndex* evidence = nullptr;
  // The decision time. Required (the chain rejects an unset time).
  absl::Time now = absl::InfinitePast();
  // Set by the chain only, for a rule that an entity-scoped exemption
  // targets (Rule::SupportsEntityExemption): the entities (indices into the
  // message's entity body) the rule must leave alone for this recipient.
  const std::vector<int>* exempt_entities = nullptr;

  bool EntityExempt(int entity) const {
    return exempt_entities != nullptr && std::find(exempt_entities->begin(), exempt_entities->end(),
                                                   entity) != exempt_entities->end();
  }
};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_INPUT_H_
