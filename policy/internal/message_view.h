// Read-only views of a liaison.v1.Message that several rules share: where
// the entities are, which persons are minors or victims, which Person
// fields are present, and the field paths used in reasons.
#ifndef LIAISON_POLICY_INTERNAL_MESSAGE_VIEW_H_
#define LIAISON_POLICY_INTERNAL_MESSAGE_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "liaison/v1/message.pb.h"
#include "liaison/v1/registry.pb.h"

namespace liaison::policy::internal {

// The part of a message that carries entities. A message has at most one:
// alert, info, or the RECTIFY replacement of a correction.
struct EntityBody {
  absl::string_view prefix;  // "alert", "info", "correction.alert", "correction.info"
  const google::protobuf::RepeatedPtrField<liaison::v1::Entity>* entities = nullptr;
  const google::protobuf::RepeatedPtrField<liaison::v1::Link>* links = nullptr;
};
std::optional<EntityBody> EntityBodyOf(const liaison::v1::Message& message);

// Person entities in the entity body.
int CountPersons(const liaison::v1::Message& message);

// "alert.entities[2]" / "alert.entities[2].person".
std::string EntityPath(const EntityBody& body, int index);
std::string PersonPath(const EntityBody& body, int index);
// "alert.entities[2].person.names" for a liaison.v1.Person field number.
std::string PersonFieldPath(const EntityBody& body, int index, int field_number);
absl::string_view PersonFieldName(int field_number);

// Bit (1 << category) for each category of the person.
uint32_t CategoryMask(const liaison::v1::Person& p);
inline constexpr uint32_t Bit(int v) { return uint32_t{1} << v; }
inline constexpr uint32_t kVictimMask =
    Bit(liaison::v1::SUBJECT_CATEGORY_VICTIM) | Bit(liaison::v1::SUBJECT_CATEGORY_POTENTIAL_VICTIM);
inline constexpr uint32_t kSuspectMask =
    Bit(liaison::v1::SUBJECT_CATEGORY_SUSPECT) | Bit(liaison::v1::SUBJECT_CATEGORY_CONVICTED);

// A child at `now` (UTC): is_minor YES or PRESUMED, or a birth date that
// makes the person younger than 18. A partial birth date is read as the
// latest day it allows (2011/36 art 13(2): when in doubt, presume a child).
bool IsMinorAt(const liaison::v1::Person& p, absl::Time now);

// Bit (1 << field number) for each liaison.v1.Person field that is set,
// found through the descriptor, so a field added later is seen too (a unit
// test keeps every Person field number below 32).
uint32_t PresentPersonFields(const liaison::v1::Person& p);

// The Person fields a pseudonymised person keeps (DP-CAT-02, DP-CHILD-01):
// entity_id and victim_ref (both replaced by the broker's reference),
// categories, is_minor, anonymity_required, sex, and meta with its text
// scrubbed. Every other field, including any added later, is identity and
// goes: the list names what stays, never what goes.
uint32_t PseudonymKeptFieldMask();
// Every Person field not in PseudonymKeptFieldMask(), from the descriptor.
uint32_t IdentityFieldMask();

// Clears every string and bytes field of `m` and of every message nested in
// it (repeated and map fields included: maps go whole), and its unknown
// fields: what is left is enums, numbers, booleans and timestamps.
void ScrubText(google::protobuf::Message* m);

// True when `m` or any message nested in it carries unknown fields. Reads
// only; no copy.
bool HasUnknownFields(const google::protobuf::Message& m);
// Person fields DP-MIN-01 never removes: entity_id, categories,
// category_note, is_minor, anonymity_required, meta, field_meta, victim_ref.
uint32_t AlwaysKeptFieldMask();

// Bit (1 << liaison.v1.EntityType) for every entity type the message
// carries (entities, evidence items, blinded identifiers).
uint32_t EntityTypeMask(const liaison::v1::Message& message);
absl::string_view EntityTypeName(liaison::v1::EntityType t);

// True when every purpose of the header is in `mask` (bit per Purpose).
bool AllPurposesIn(const liaison::v1::Header& h, uint32_t mask);

}  // namespace liaison::policy::internal

#endif  // LIAISON_POLICY_INTERNAL_MESSAGE_VIEW_H_
