#include "policy/internal/message_view.h"
#include "absl/strings/string_view.h"

#include <vector>
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace liaison::policy::internal {

using liaison::v1::Entity;
using liaison::v1::Message;
using liaison::v1::Person;

std::optional<EntityBody> EntityBodyOf(const Message& message) {
  switch (message.body_case()) {
    case Message::kAlert:
      return EntityBody{"alert", &message.alert().entities(), &message.alert().links()};
    case Message::kInfo:
      return EntityBody{"info", &message.info().entities(), &message.info().links()};
    case Message::kCorrection: {
      const auto& c = message.correction();
      if (c.has_alert()) {
        return EntityBody{"correction.alert", &c.alert().entities(), &c.alert().links()};
      }
      if (c.has_info()) {
        return EntityBody{"correction.info", &c.info().entities(), &c.info().links()};
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

int CountPersons(const Message& message) {
  std::optional<EntityBody> body = EntityBodyOf(message);
  if (!body) return 0;
  int n = 0;
  for (const Entity& e : *body->entities) n += e.has_person() ? 1 : 0;
  return n;
}

std::string EntityPath(const EntityBody& body, int index) {
  return absl::StrCat(body.prefix, ".entities[", index, "]");
}

std::string PersonPath(const EntityBody& body, int index) {
  return absl::StrCat(body.prefix, ".entities[", index, "].person");
}

absl::string_view PersonFieldName(int field_number) {
  const auto* f = Person::descriptor()->FindFieldByNumber(field_number);
  return f == nullptr ? absl::string_view("unknown") : absl::string_view(f->name());
}

std::string PersonFieldPath(const EntityBody& body, int index, int field_number) {
  return absl::StrCat(body.prefix, ".entities[", index, "].person.", PersonFieldName(field_number));
}

uint32_t CategoryMask(const Person& p) {
  uint32_t m = 0;
  for (int c : p.categories()) {
    if (c > 0 && c < 32) m |= Bit(c);
  }
  return m;
}

bool IsMinorAt(const Person& p, absl::Time now) {
  if (p.is_minor() == liaison::v1::MINOR_YES || p.is_minor() == liaison::v1::MINOR_PRESUMED) {
    return true;
  }
  if (!p.has_birth_date() || p.birth_date().year() <= 0) return false;
  const auto& d = p.birth_date();
  const int month = d.month() >= 1 && d.month() <= 12 ? d.month() : 12;
  const absl::CivilDay month_last = absl::CivilDay(d.year(), month + 1, 1) - 1;
  const int day = d.day() >= 1 && d.day() <= month_last.day() ? d.day() : month_last.day();
  // 18th birthday of the latest possible birth date (29 Feb -> 1 Mar), in
  // civil_year_t (64 bits): year() + 18 overflows int for years near
  // INT32_MAX. A birth date after `now` then reads as a child, as any
  // doubtful one does.
  const absl::CivilDay adult(absl::civil_year_t{d.year()} + 18, month, day);
  return absl::ToCivilDay(now, absl::UTCTimeZone()) < adult;
}

uint32_t PresentPersonFields(const Person& p) {
  uint32_t m = 0;
  const google::protobuf::Reflection* r = p.GetReflection();
  const google::protobuf::Descriptor* d = Person::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->number() >= 32) continue;  // person_fields_test keeps numbers below 32
    const bool present = f->is_repeated() ? r->FieldSize(p, f) > 0 : r->HasField(p, f);
    if (present) m |= Bit(f->number());
  }
  return m;
}

uint32_t PseudonymKeptFieldMask() {
  return Bit(Person::kEntityIdFieldNumber) | Bit(Person::kVictimRefFieldNumber) |
         Bit(Person::kCategoriesFieldNumber) | Bit(Person::kIsMinorFieldNumber) |
         Bit(Person::kAnonymityRequiredFieldNumber) | Bit(Person::kSexFieldNumber) |
         Bit(Person::kMetaFieldNumber);
}

uint32_t IdentityFieldMask() {
  uint32_t m = 0;
  const google::protobuf::Descriptor* d = Person::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const int n = d->field(i)->number();
    if (n < 32) m |= Bit(n);
  }
  return m & ~PseudonymKeptFieldMask();
}

void ScrubText(google::protobuf::Message* m) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING || f->type() == FieldDescriptor::TYPE_BYTES ||
        f->is_map()) {
      r->ClearField(m, f);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i) ScrubText(r->MutableRepeatedMessage(m, f, i));
      } else {
        ScrubText(r->MutableMessage(m, f));
      }
    }
  }
  r->MutableUnknownFields(m)->Clear();
}

bool HasUnknownFields(const google::protobuf::Message& m) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  if (!r->GetUnknownFields(m).empty()) return true;
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (HasUnknownFields(r->GetRepeatedMessage(m, f, i))) return true;
      }
    } else if (HasUnknownFields(r->GetMessage(m, f))) {
      return true;
    }
  }
  return false;
}

uint32_t AlwaysKeptFieldMask() {
  return Bit(Person::kEntityIdFieldNumber) | Bit(Person::kCategoriesFieldNumber) |
         Bit(Person::kCategoryNoteFieldNumber) | Bit(Person::kIsMinorFieldNumber) |
         Bit(Person::kAnonymityRequiredFieldNumber) | Bit(Person::kMetaFieldNumber) |
         Bit(Person::kFieldMetaFieldNumber) | Bit(Person::kVictimRefFieldNumber);
}

uint32_t EntityTypeMask(const Message& message) {
  using liaison::v1::EntityType;
  uint32_t m = 0;
  if (std::optional<EntityBody> body = EntityBodyOf(message)) {
    for (const Entity& e : *body->entities) {
      switch (e.kind_case()) {
        case Entity::kPerson:
          m |= Bit(liaison::v1::ENTITY_TYPE_PERSON);
          break;
        case Entity::kOrganisation:
          m |= Bit(liaison::v1::ENTITY_TYPE_ORGANISATION);
          break;
        case Entity::kLocation:
          m |= Bit(liaison::v1::ENTITY_TYPE_LOCATION);
          break;
        case Entity::kVehicle:
          m |= Bit(liaison::v1::ENTITY_TYPE_VEHICLE);
          break;
        case Entity::kDocument:
          m |= Bit(liaison::v1::ENTITY_TYPE_DOCUMENT);
          break;
        case Entity::kComm:
          m |= Bit(liaison::v1::ENTITY_TYPE_COMM);
          break;
        case Entity::kAccount:
          m |= Bit(liaison::v1::ENTITY_TYPE_ACCOUNT);
          break;
        case Entity::KIND_NOT_SET:
          break;
      }
    }
  }
  if (message.has_evidence_manifest() && message.evidence_manifest().items_size() > 0) {
    m |= Bit(liaison::v1::ENTITY_TYPE_EVIDENCE_ITEM);
  }
  if (message.has_linkage_query()) {
    for (const auto& id : message.linkage_query().identifiers()) {
      switch (id.type()) {
        case liaison::v1::IDENTIFIER_TYPE_PHONE:
        case liaison::v1::IDENTIFIER_TYPE_EMAIL:
          m |= Bit(liaison::v1::ENTITY_TYPE_COMM);
          break;
        case liaison::v1::IDENTIFIER_TYPE_IBAN:
          m |= Bit(liaison::v1::ENTITY_TYPE_ACCOUNT);
          break;
        case liaison::v1::IDENTIFIER_TYPE_VIN:
          m |= Bit(liaison::v1::ENTITY_TYPE_VEHICLE);
          break;
        case liaison::v1::IDENTIFIER_TYPE_DOC_NUMBER:
          m |= Bit(liaison::v1::ENTITY_TYPE_DOCUMENT);
          break;
        default:
          m |= Bit(liaison::v1::ENTITY_TYPE_PERSON);
          break;
      }
    }
  }
  return m;
}

absl::string_view EntityTypeName(liaison::v1::EntityType t) {
  const std::string& n = liaison::v1::EntityType_Name(t);
  absl::string_view v = n;
  constexpr absl::string_view kPrefix = "ENTITY_TYPE_";
  if (v.substr(0, kPrefix.size()) == kPrefix) v.remove_prefix(kPrefix.size());
  return v.empty() ? absl::string_view("UNKNOWN") : v;
}

bool AllPurposesIn(const liaison::v1::Header& h, uint32_t mask) {
  for (int p : h.purposes()) {
    if (p <= 0 || p >= 32 || (mask & Bit(p)) == 0) return false;
  }
  return true;
}

}  // namespace liaison::policy::internal
