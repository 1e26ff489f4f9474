#include "policy/evidence.h"
#include "absl/strings/string_view.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/internal/text.h"

namespace liaison::policy {

void InMemoryEvidenceIndex::Add(std::string_view jit_id, std::string_view item_id,
                                EvidenceRecord record) {
  items_.insert_or_assign(absl::StrCat(internal::AV(jit_id), "\x1f", internal::AV(item_id)),
                          std::move(record));
}

const EvidenceRecord* InMemoryEvidenceIndex::Find(std::string_view jit_id,
                                                  std::string_view item_id) const {
  auto it = items_.find(absl::StrCat(internal::AV(jit_id), "\x1f", internal::AV(item_id)));
  return it == items_.end() ? nullptr : &it->second;
}

}  // namespace liaison::policy
