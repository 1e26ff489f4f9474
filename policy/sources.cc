#include "policy/sources.h"
#include "absl/strings/string_view.h"

#include <utility>

#include "policy/internal/text.h"
#include "policy/registry.h"

namespace liaison::policy {

void InMemorySourceIndex::Add(SourceRecord record) {
  std::string id = record.ref.message_id();
  records_.insert_or_assign(std::move(id), std::move(record));
}

const SourceRecord* InMemorySourceIndex::Find(std::string_view message_id) const {
  auto it = records_.find(internal::AV(message_id));
  return it == records_.end() ? nullptr : &it->second;
}

SourceRecord InMemorySourceIndex::RecordOf(const liaison::v1::Message& message,
                                           std::vector<std::string> delivered_to,
                                           const Registry& registry, absl::Time now) {
  const liaison::v1::Header& h = message.header();
  SourceRecord r;
  r.ref.set_message_id(h.message_id());
  r.ref.set_provider(h.sender());
  r.ref.set_handling(h.handling().code());
  r.ref.mutable_original_recipients()->CopyFrom(h.recipients());
  r.ref.mutable_purposes()->CopyFrom(h.purposes());
  r.ref.mutable_permitted_further_purposes()->CopyFrom(h.provenance().permitted_further_purposes());
  r.ref.set_obtained_in(h.provenance().obtained_in());
  if (const liaison::v1::Jit* j =
          registry.EstablishedJit(h.case_ref(), h.sender(), now, h.jit_id())) {
    r.ref.set_jit_id(j->id());
  }
  if (message.has_evidence_manifest()) {
    const auto& m = message.evidence_manifest();
    const liaison::v1::Jit* j = registry.FindJit(m.jit_id());
    if (j != nullptr && Registry::IsMember(*j, h.sender())) r.ref.set_jit_id(j->id());
    if (r.ref.obtained_in().empty() && m.items_size() > 0) {
      absl::string_view first = m.items(0).obtained_in();
      bool same = true;
      for (const auto& item : m.items()) same = same && item.obtained_in() == first;
      if (same) r.ref.set_obtained_in(std::string(first));
    }
  }
  r.original_provider = h.provenance().original_provider();
  r.delivered_to = std::move(delivered_to);
  return r;
}

absl::string_view ResolvedSource::original_provider() const {
  if (recorded != nullptr && !recorded->original_provider.empty()) {
    return recorded->original_provider;
  }
  return ref == nullptr ? absl::string_view() : absl::string_view(ref->provider());
}

absl::string_view ResolvedSource::used_in() const {
  if (declared == nullptr) return {};
  for (const std::string& u : declared->used_in()) {
    if (internal::IsMessageFieldPath(u)) return u;
  }
  return {};
}

void ForEachSource(const Input& in, absl::FunctionRef<bool(const ResolvedSource&)> fn) {
  const liaison::v1::Provenance& p = in.message->header().provenance();
  auto declared_for = [&p](absl::string_view id) -> const liaison::v1::SourceRef* {
    for (const auto& s : p.sources()) {
      if (s.message_id() == id) return &s;
    }
    return nullptr;
  };
  auto visit = [&](absl::string_view id) -> bool {
    ResolvedSource s;
    s.message_id = id;
    s.recorded = in.sources == nullptr ? nullptr : in.sources->Find(internal::SV(id));
    s.declared = declared_for(id);
    s.ref = s.recorded != nullptr ? &s.recorded->ref : s.declared;
    return fn(s);
  };
  for (int i = 0; i < p.derived_from_size(); ++i) {
    const std::string& id = p.derived_from(i);
    bool seen = false;
    for (int j = 0; j < i && !seen; ++j) seen = p.derived_from(j) == id;
    if (seen || id.empty()) continue;
    if (!visit(id)) return;
  }
  for (int i = 0; i < p.sources_size(); ++i) {
    const std::string& id = p.sources(i).message_id();
    if (id.empty()) continue;
    bool seen = false;
    for (const auto& d : p.derived_from()) seen = seen || d == id;
    for (int j = 0; j < i && !seen; ++j) seen = p.sources(j).message_id() == id;
    if (seen) continue;
    if (!visit(id)) return;
  }
}

absl::string_view DeclaredOnlyNote(const ResolvedSource& s) {
  return s.declared_only()
             ? " (source described by the sender in header.provenance.sources only: the broker has "
               "no record of it)"
             : "";
}

}  // namespace liaison::policy
