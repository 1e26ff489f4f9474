#include "policy/rules/rule_util.h"
#include "absl/strings/string_view.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/sources.h"

namespace liaison::policy::rules {

using liaison::v1::Entity;
using liaison::v1::Person;

Parties PartiesOf(const Input& in) {
  Parties p;
  p.sender = in.registry->FindEntry(in.message->header().sender());
  p.recipient = in.registry->FindEntry(Recipient(in));
  return p;
}

absl::string_view EndpointText(const Input& in, absl::string_view id) {
  const EndpointEntry* e = in.registry->FindEntry(id);
  return e != nullptr ? e->id() : absl::string_view("<unregistered endpoint>");
}

namespace {

// Unknown endpoints are printed only when shaped like an id ("DE-BKA"): the
// sender is the authenticated peer and recipients were checked at ingress,
// but the registry may have changed since.
absl::string_view EndpointIdShaped(absl::string_view id) {
  bool shaped = id.size() >= 4 && id.size() <= 40 && id[2] == '-';
  for (size_t i = 0; shaped && i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    shaped = absl::ascii_isupper(c) || absl::ascii_isdigit(c) || id[i] == '-';
  }
  return shaped ? id : absl::string_view("<malformed endpoint id>");
}

}  // namespace

Verdict UnknownParty(RuleId rule, const Input& in, const Parties& p) {
  std::string why;
  if (p.sender == nullptr) {
    absl::StrAppend(&why, "sender ", EndpointIdShaped(in.message->header().sender()),
                    " is not in the registry");
  }
  if (p.recipient == nullptr) {
    absl::StrAppend(&why, why.empty() ? "" : "; ", "recipient ", EndpointIdShaped(Recipient(in)),
                    " is not in the registry");
  }
  absl::StrAppend(&why, "; address endpoints of the registry in force (", in.registry->version(),
                  ")");
  return FailClosed(rule, why);
}

std::string Pair(const Parties& p) { return absl::StrCat(p.sender->id(), "→", p.recipient->id()); }

bool JitOnCase(const Input& in) {
  const liaison::v1::Header& h = in.message->header();
  const absl::string_view sender = h.sender();
  auto on_case = [&](const liaison::v1::Jit* j) {
    return j != nullptr && Registry::IsValidAt(*j, in.now) && Registry::IsMember(*j, sender) &&
           Registry::IsMember(*j, Recipient(in));
  };
  for (const liaison::v1::Jit* j : in.registry->JitsForCase(h.case_ref())) {
    if (on_case(j)) return true;
  }
  bool recorded = false;
  ForEachSource(in, [&](const ResolvedSource& s) {
    if (s.recorded != nullptr && !s.recorded->ref.jit_id().empty() &&
        on_case(in.registry->FindJit(s.recorded->ref.jit_id()))) {
      recorded = true;
    }
    return !recorded;
  });
  return recorded;
}

namespace {

// Entity ids a person points at.
template <typename Fn>
void ForEachRef(const Person& p, Fn fn) {
  for (const auto& r : p.document_refs()) fn(r);
  for (const auto& r : p.location_refs()) fn(r);
  for (const auto& r : p.comm_refs()) fn(r);
  for (const auto& r : p.account_refs()) fn(r);
  for (const auto& r : p.vehicle_refs()) fn(r);
}

absl::string_view EntityId(const Entity& e) {
  switch (e.kind_case()) {
    case Entity::kPerson:
      return e.person().entity_id();
    case Entity::kOrganisation:
      return e.organisation().entity_id();
    case Entity::kLocation:
      return e.location().entity_id();
    case Entity::kVehicle:
      return e.vehicle().entity_id();
    case Entity::kDocument:
      return e.document().entity_id();
    case Entity::kComm:
      return e.comm().entity_id();
    case Entity::kAccount:
      return e.account().entity_id();
    case Entity::KIND_NOT_SET:
      break;
  }
  return {};
}

}  // namespace

std::vector<RedactionStep> PseudonymiseSteps(const internal::EntityBody& body,
                                             const liaison::v1::Message& message,
                                             const std::vector<int>& protected_persons) {
  std::vector<RedactionStep> steps;
  steps.reserve(16);
  const auto& entities = *body.entities;
  const int n = entities.size();
  // Entity id -> index: a linear scan for the usual small bodies, a hash map
  // for large ones.
  absl::flat_hash_map<absl::string_view, int> index;
  if (n > 32) {
    for (int i = 0; i < n; ++i) {
      absl::string_view id = EntityId(entities[i]);
      if (!id.empty()) index.emplace(id, i);
    }
  }
  auto find = [&](absl::string_view id) -> int {
    if (id.empty()) return -1;
    if (n > 32) {
      auto it = index.find(id);
      return it == index.end() ? -1 : it->second;
    }
    for (int i = 0; i < n; ++i) {
      if (EntityId(entities[i]) == id) return i;
    }
    return -1;
  };
  // Per entity: referenced by a protected person (1), by another person (2).
  std::vector<uint8_t> refs(static_cast<size_t>(n), 0);
  std::vector<bool> prot(static_cast<size_t>(n), false);
  for (int i : protected_persons) prot[static_cast<size_t>(i)] = true;
  auto mark = [&](int person, absl::string_view ref) {
    const int e = find(ref);
    if (e < 0 || entities[e].has_person()) return;
    refs[static_cast<size_t>(e)] |= prot[static_cast<size_t>(person)] ? 1 : 2;
  };
  for (int i = 0; i < n; ++i) {
    if (!entities[i].has_person()) continue;
    ForEachRef(entities[i].person(), [&](const std::string& ref) { mark(i, ref); });
  }
  for (int i = 0; i < n; ++i) {
    if (!entities[i].has_account()) continue;
    const int holder = find(entities[i].account().holder_ref());
    if (holder < 0 || !entities[holder].has_person()) continue;
    refs[static_cast<size_t>(i)] |= prot[static_cast<size_t>(holder)] ? 1 : 2;
  }
  for (const liaison::v1::Link& l : *body.links) {
    const int from = find(l.from_id());
    const int to = find(l.to_id());
    if (from < 0 || to < 0) continue;
    const bool from_person = entities[from].has_person();
    const bool to_person = entities[to].has_person();
    if (from_person && !to_person) mark(from, l.to_id());
    if (to_person && !from_person) mark(to, l.from_id());
  }

  const uint32_t identity = internal::IdentityFieldMask();
  for (int i : protected_persons) {
    const Person& p = entities[i].person();
    const uint32_t present = internal::PresentPersonFields(p) & identity;
    for (int f = 1; f < 32; ++f) {
      if ((present & internal::Bit(f)) == 0) continue;
      RedactionStep s;
      s.action = RedactionStep::Action::kClearField;
      s.entity = i;
      s.field = f;
      s.path = internal::PersonFieldPath(body, i, f);
      steps.push_back(std::move(s));
    }
    RedactionStep s;
    s.action = RedactionStep::Action::kPseudonymiseIdentity;
    s.entity = i;
    s.path = internal::PersonFieldPath(body, i, Person::kEntityIdFieldNumber);
    steps.push_back(std::move(s));
  }
  for (int e = 0; e < n; ++e) {
    if (refs[static_cast<size_t>(e)] != 1) continue;  // only protected persons point at it
    RedactionStep s;
    s.action = RedactionStep::Action::kRemoveEntity;
    s.entity = e;
    s.path = internal::EntityPath(body, e);
    steps.push_back(std::move(s));
  }
  // Free text cannot be checked for identities: it goes too.
  auto text = [&](bool present, int field, absl::string_view name) {
    if (!present) return;
    RedactionStep s;
    s.action = RedactionStep::Action::kClearBodyText;
    s.field = field;
    s.path = absl::StrCat(body.prefix, ".", name);
    steps.push_back(std::move(s));
  };
  const liaison::v1::Alert* alert = nullptr;
  const liaison::v1::InfoExchange* info = nullptr;
  if (message.has_alert()) alert = &message.alert();
  if (message.has_info()) info = &message.info();
  if (message.has_correction() && message.correction().has_alert())
    alert = &message.correction().alert();
  if (message.has_correction() && message.correction().has_info())
    info = &message.correction().info();
  if (alert != nullptr) {
    text(!alert->requested_action().empty(), liaison::v1::Alert::kRequestedActionFieldNumber,
         "requested_action");
    text(!alert->summary().empty(), liaison::v1::Alert::kSummaryFieldNumber, "summary");
  }
  if (info != nullptr) {
    text(!info->summary().empty(), liaison::v1::InfoExchange::kSummaryFieldNumber, "summary");
  }
  return steps;
}

std::string JoinProblems(const std::vector<std::string>& problems, size_t max) {
  std::string out;
  for (size_t i = 0; i < problems.size() && i < max; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : "; ", problems[i]);
  }
  if (problems.size() > max) absl::StrAppend(&out, " (and ", problems.size() - max, " more)");
  return out;
}

const liaison::v1::FieldMeta* MetaOf(const Entity& e) {
  switch (e.kind_case()) {
    case Entity::kPerson:
      return e.person().has_meta() ? &e.person().meta() : nullptr;
    case Entity::kOrganisation:
      return e.organisation().has_meta() ? &e.organisation().meta() : nullptr;
    case Entity::kLocation:
      return e.location().has_meta() ? &e.location().meta() : nullptr;
    case Entity::kVehicle:
      return e.vehicle().has_meta() ? &e.vehicle().meta() : nullptr;
    case Entity::kDocument:
      return e.document().has_meta() ? &e.document().meta() : nullptr;
    case Entity::kComm:
      return e.comm().has_meta() ? &e.comm().meta() : nullptr;
    case Entity::kAccount:
      return e.account().has_meta() ? &e.account().meta() : nullptr;
    case Entity::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

const google::protobuf::Map<std::string, liaison::v1::FieldMeta>* FieldMetaOf(const Entity& e) {
  switch (e.kind_case()) {
    case Entity::kPerson:
      return &e.person().field_meta();
    case Entity::kOrganisation:
      return &e.organisation().field_meta();
    case Entity::kLocation:
      return &e.location().field_meta();
    case Entity::kVehicle:
      return &e.vehicle().field_meta();
    case Entity::kDocument:
      return &e.document().field_meta();
    case Entity::kComm:
      return &e.comm().field_meta();
    case Entity::kAccount:
      return &e.account().field_meta();
    case Entity::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

absl::string_view EntityKindName(const Entity& e) {
  if (e.kind_case() == Entity::KIND_NOT_SET) return "unset";
  const auto* f = Entity::descriptor()->FindFieldByNumber(static_cast<int>(e.kind_case()));
  return f == nullptr ? absl::string_view("unknown") : absl::string_view(f->name());
}

bool HasPurpose(const liaison::v1::Header& h, liaison::v1::Purpose p) {
  return std::find(h.purposes().begin(), h.purposes().end(), p) != h.purposes().end();
}

std::optional<absl::Time> RestrictionTime(const liaison::v1::Restriction& r) {
  auto it = r.params().find("at");
  if (it == r.params().end()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, it->second, &t, &err)) return std::nullopt;
  return t;
}

ConsentState MessageConsent(const Input& in, liaison::v1::ConsentKind kind,
                            absl::string_view grantor, absl::string_view source_id,
                            const google::protobuf::RepeatedField<int>* purposes) {
  const liaison::v1::Header& h = in.message->header();
  ConsentQuery q;
  q.kind = kind;
  q.grantor = grantor;
  q.grantee = h.sender();
  q.recipient = Recipient(in);
  q.message_id = h.message_id();
  q.source_id = source_id;
  q.purposes = purposes;
  q.now = in.now;
  return FindConsent(in.consents, q).state;
}

bool SourceConsentVerdict::Reject(std::string reason) {
  reject_ = std::move(reason);
  return false;
}

void SourceConsentVerdict::Await(absl::string_view awaiting, liaison::v1::ConsentKind kind,
                                 absl::string_view reason) {
  absl::StrAppend(&hold_reason_, hold_reason_.empty() ? absl::StrCat(rule_.value(), ": ") : "; ",
                  reason);
  for (const HoldRequest& h : holds_) {
    if (h.awaiting == awaiting) return;
  }
  holds_.push_back(HoldRequest{std::string(awaiting), kind});
}

void SourceConsentVerdict::Await(const ResolvedSource& source, absl::string_view awaiting,
                                 liaison::v1::ConsentKind kind, absl::string_view reason) {
  if (source.declared_only() && reject_.empty()) {
    reject_ = absl::StrCat(rule_.value(), ": ", reason,
                           "; refused instead: the broker never forwarded source ",
                           internal::MessageIdForText(source.message_id),
                           ", and consent is requested only for sources it recorded");
    return;
  }
  Await(awaiting, kind, reason);
}

Verdict SourceConsentVerdict::Finish() && {
  if (!reject_.empty()) return Verdict::Reject(std::move(reject_));
  if (!holds_.empty()) {
    Verdict v = Verdict::Hold(holds_[0].awaiting, holds_[0].consent_kind, std::move(hold_reason_));
    v.holds = std::move(holds_);
    return v;
  }
  return applies_ ? Verdict::Pass() : Verdict::NotApplicable();
}

}  // namespace liaison::policy::rules
