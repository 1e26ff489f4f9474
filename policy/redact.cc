#include "policy/redact.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"

namespace liaison::policy {
namespace {

using google::protobuf::RepeatedPtrField;
using liaison::v1::Entity;
using liaison::v1::Message;
using Action = RedactionStep::Action;

struct MutableBody {
  RepeatedPtrField<Entity>* entities = nullptr;
  RepeatedPtrField<liaison::v1::Link>* links = nullptr;
  google::protobuf::Message* text_owner = nullptr;  // Alert or InfoExchange
  RepeatedPtrField<std::string>* subject_ids = nullptr;
};

MutableBody BodyOf(Message& m) {
  MutableBody b;
  liaison::v1::Alert* alert = nullptr;
  liaison::v1::InfoExchange* info = nullptr;
  if (m.has_alert()) alert = m.mutable_alert();
  if (m.has_info()) info = m.mutable_info();
  if (m.has_correction() && m.correction().has_alert())
    alert = m.mutable_correction()->mutable_alert();
  if (m.has_correction() && m.correction().has_info())
    info = m.mutable_correction()->mutable_info();
  if (alert != nullptr) {
    b = {alert->mutable_entities(), alert->mutable_links(), alert, alert->mutable_subject_ids()};
  } else if (info != nullptr) {
    b = {info->mutable_entities(), info->mutable_links(), info, nullptr};
  }
  return b;
}

google::protobuf::Message* ActiveMessage(Entity& e) {
  if (e.kind_case() == Entity::KIND_NOT_SET) return nullptr;
  const auto* f = Entity::descriptor()->FindFieldByNumber(static_cast<int>(e.kind_case()));
  return e.GetReflection()->MutableMessage(&e, f);
}

std::string* MutableEntityId(Entity& e) {
  switch (e.kind_case()) {
    case Entity::kPerson:
      return e.mutable_person()->mutable_entity_id();
    case Entity::kOrganisation:
      return e.mutable_organisation()->mutable_entity_id();
    case Entity::kLocation:
      return e.mutable_location()->mutable_entity_id();
    case Entity::kVehicle:
      return e.mutable_vehicle()->mutable_entity_id();
    case Entity::kDocument:
      return e.mutable_document()->mutable_entity_id();
    case Entity::kComm:
      return e.mutable_comm()->mutable_entity_id();
    case Entity::kAccount:
      return e.mutable_account()->mutable_entity_id();
    case Entity::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

// Removes every element of `list` for which `drop` is true.
template <typename T, typename Pred>
void EraseIf(RepeatedPtrField<T>* list, Pred drop) {
  int out = 0;
  for (int i = 0; i < list->size(); ++i) {
    if (!drop(list->Get(i))) {
      if (out != i) list->SwapElements(out, i);
      ++out;
    }
  }
  list->DeleteSubrange(out, list->size() - out);
}

void RewriteRefs(liaison::v1::Person* p,
                 const absl::flat_hash_map<std::string, std::string>& rename,
                 const absl::flat_hash_set<std::string>& removed) {
  for (auto* refs : {p->mutable_document_refs(), p->mutable_location_refs(), p->mutable_comm_refs(),
                     p->mutable_account_refs(), p->mutable_vehicle_refs()}) {
    EraseIf(refs, [&](const std::string& r) { return removed.contains(r); });
    for (std::string& r : *refs) {
      if (auto it = rename.find(r); it != rename.end()) r = it->second;
    }
  }
}

}  // namespace

void SanitiseDerived(Message& m) {
  m.DiscardUnknownFields();
  m.mutable_header()->clear_strict_necessity();
}

bool NeedsDerivedCopy(const Message& m) {
  return !m.header().strict_necessity().empty() || internal::HasUnknownFields(m);
}

absl::StatusOr<Message> Redact(const Message& message, const Decision& decision,
                               const Pseudonymiser& pseudonymiser, std::string_view recipient) {
  if (decision.outcome != liaison::v1::OUTCOME_REDACT &&
      decision.outcome != liaison::v1::OUTCOME_ALLOW) {
    return absl::FailedPreconditionError(
        absl::StrCat("Redact: decision is ", liaison::v1::Outcome_Name(decision.outcome),
                     "; only ALLOW or REDACT decisions derive a deliverable message"));
  }
  if (recipient != decision.recipient) {
    return absl::InvalidArgumentError("Redact: recipient differs from the decision's recipient");
  }
  if (message.header().message_id() != decision.message_id) {
    return absl::InvalidArgumentError("Redact: message id differs from the decision's message id");
  }
  Message out = message;
  SanitiseDerived(out);
  if (decision.redaction_steps.empty()) return out;
  MutableBody body = BodyOf(out);
  const int n = body.entities == nullptr ? 0 : body.entities->size();
  for (const RedactionStep& s : decision.redaction_steps) {
    const bool needs_entity =
        s.action == Action::kPseudonymiseIdentity || s.action == Action::kClearField ||
        s.action == Action::kRemoveAttribute || s.action == Action::kRemoveEntity;
    if (body.entities == nullptr || (needs_entity && (s.entity < 0 || s.entity >= n)) ||
        (s.action == Action::kRemoveLink && (s.index < 0 || s.index >= body.links->size()))) {
      return absl::InternalError(
          absl::StrCat("Redact: step for ", s.path, " does not fit the message"));
    }
    if ((s.action == Action::kPseudonymiseIdentity || s.action == Action::kRemoveAttribute) &&
        !(*body.entities)[s.entity].has_person()) {
      return absl::InternalError(absl::StrCat("Redact: step for ", s.path, " expects a person"));
    }
  }
  const std::string& sender = message.header().sender();

  // 1. Attributes, highest index first so the others stay valid.
  std::vector<std::pair<int, int>> attributes;
  for (const RedactionStep& s : decision.redaction_steps) {
    if (s.action == Action::kRemoveAttribute) attributes.emplace_back(s.entity, s.index);
  }
  std::sort(attributes.rbegin(), attributes.rend());
  attributes.erase(std::unique(attributes.begin(), attributes.end()), attributes.end());
  for (const auto& [e, a] : attributes) {
    auto* attrs = (*body.entities)[e].mutable_person()->mutable_attributes();
    if (a < attrs->size()) attrs->DeleteSubrange(a, 1);
  }
  // 2. Fields.
  for (const RedactionStep& s : decision.redaction_steps) {
    if (s.action != Action::kClearField) continue;
    google::protobuf::Message* m = ActiveMessage((*body.entities)[s.entity]);
    if (m == nullptr) continue;
    const auto* f = m->GetDescriptor()->FindFieldByNumber(s.field);
    if (f == nullptr) return absl::InternalError(absl::StrCat("Redact: no field for ", s.path));
    m->GetReflection()->ClearField(m, f);
  }
  // 3. Identities. A pseudonymised person keeps only the fields
  // PseudonymKeptFieldMask() names (found through the descriptor, so a field
  // added later goes too), with the text of its meta scrubbed. Done-ness is
  // tracked by index, never read from sender-supplied fields.
  absl::flat_hash_map<std::string, std::string> rename;
  absl::flat_hash_set<int> pseudonymised;
  const uint32_t kept = internal::PseudonymKeptFieldMask();
  for (const RedactionStep& s : decision.redaction_steps) {
    if (s.action != Action::kPseudonymiseIdentity) continue;
    if (!pseudonymised.insert(s.entity).second) continue;
    liaison::v1::Person* p = (*body.entities)[s.entity].mutable_person();
    const bool had_id = !p->entity_id().empty();
    const std::string old_id =
        p->entity_id().empty() ? absl::StrCat("entities[", s.entity, "]") : p->entity_id();
    const google::protobuf::Descriptor* d = liaison::v1::Person::descriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const int f = d->field(i)->number();
      if (f >= 32 || (kept & internal::Bit(f)) == 0) p->GetReflection()->ClearField(p, d->field(i));
    }
    p->GetReflection()->MutableUnknownFields(p)->Clear();
    if (p->has_meta()) internal::ScrubText(p->mutable_meta());
    std::string ref = pseudonymiser.Ref(sender, old_id, recipient);
    if (ref.empty())
      return absl::InternalError("Redact: the pseudonymiser returned an empty reference");
    if (had_id) rename.emplace(old_id, ref);
    p->set_victim_ref(ref);
    p->set_entity_id(std::move(ref));
  }
  // Free text cannot be checked for the identities just removed, and a SIS
  // alert reference points at a person: both go whenever an identity is
  // pseudonymised, whether or not a step asks.
  if (!pseudonymised.empty() && body.text_owner != nullptr) {
    for (const char* name : {"summary", "requested_action", "sis_alert_ref"}) {
      const auto* f = body.text_owner->GetDescriptor()->FindFieldByName(name);
      if (f != nullptr) body.text_owner->GetReflection()->ClearField(body.text_owner, f);
    }
  }
  // 4. Free text.
  for (const RedactionStep& s : decision.redaction_steps) {
    if (s.action != Action::kClearBodyText || body.text_owner == nullptr) continue;
    const auto* f = body.text_owner->GetDescriptor()->FindFieldByNumber(s.field);
    if (f != nullptr) body.text_owner->GetReflection()->ClearField(body.text_owner, f);
  }
  // 5. Entities and links.
  absl::flat_hash_set<int> drop_entities;
  absl::flat_hash_set<int> drop_links;
  for (const RedactionStep& s : decision.redaction_steps) {
    if (s.action == Action::kRemoveEntity) drop_entities.insert(s.entity);
    if (s.action == Action::kRemoveLink) drop_links.insert(s.index);
  }
  absl::flat_hash_set<std::string> removed;
  for (int e : drop_entities) {
    if (const std::string* id = MutableEntityId((*body.entities)[e]);
        id != nullptr && !id->empty()) {
      removed.insert(*id);
    }
  }
  {
    int i = 0;
    EraseIf(body.entities, [&](const Entity&) { return drop_entities.contains(i++); });
    int k = 0;
    EraseIf(body.links, [&](const liaison::v1::Link& l) {
      const bool drop = drop_links.contains(k++);
      return drop || removed.contains(l.from_id()) || removed.contains(l.to_id());
    });
  }
  for (liaison::v1::Link& l : *body.links) {
    bool touches = false;
    if (auto it = rename.find(l.from_id()); it != rename.end()) {
      l.set_from_id(it->second);
      touches = true;
    }
    if (auto it = rename.find(l.to_id()); it != rename.end()) {
      l.set_to_id(it->second);
      touches = true;
    }
    // An assessor's note on a link to a protected person is about that person.
    if (touches && l.has_meta()) internal::ScrubText(l.mutable_meta());
  }
  if (body.subject_ids != nullptr) {
    EraseIf(body.subject_ids, [&](const std::string& id) { return removed.contains(id); });
    for (std::string& id : *body.subject_ids) {
      if (auto it = rename.find(id); it != rename.end()) id = it->second;
    }
  }
  for (Entity& e : *body.entities) {
    if (e.has_person()) RewriteRefs(e.mutable_person(), rename, removed);
    if (e.has_account()) {
      auto* a = e.mutable_account();
      if (removed.contains(a->holder_ref())) a->clear_holder_ref();
      if (auto it = rename.find(a->holder_ref()); it != rename.end()) a->set_holder_ref(it->second);
    }
  }
  return out;
}

}  // namespace liaison::policy
