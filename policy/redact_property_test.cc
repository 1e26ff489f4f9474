// Property test for derived copies, driven by protobuf descriptors rather
// than a hand list of fields, so a field added to any entity type later is
// covered without touching this file.
//
// For every entity type (every message field of the Entity oneof) and for
// both entity bodies (alert, info exchange), it builds a message in which an
// adult victim and one entity of that type referenced only by the victim
// carry a unique marker in every string and bytes field, repeated and
// nested fields and maps included, plus unknown fields. A recipient without
// the role or a JIT on the case must then receive a copy containing none of
// those markers; any derived copy (even an ALLOW one) must carry no unknown
// field and no header.strict_necessity.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "policy/chain.h"
#include "policy/counters.h"
#include "policy/internal/message_view.h"
#include "policy/redact.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using google::protobuf::FieldDescriptor;
using scenario::T0;

// Plants a unique marker ("ZZMK<n>Q") in every string and bytes field it
// reaches and a non-default value in every other scalar, walking the
// descriptor: repeated fields get two elements, maps one entry, nested
// messages are filled in turn. Oneofs get their first member only.
class Planter {
 public:
  std::string Next() { return absl::StrCat("ZZMK", ++n_, "Q"); }

  void Fill(google::protobuf::Message* m, int depth = 0) {
    const google::protobuf::Descriptor* d = m->GetDescriptor();
    const google::protobuf::Reflection* r = m->GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->containing_oneof() != nullptr && f->index_in_oneof() != 0) continue;
      if (f->is_map()) {
        google::protobuf::Message* entry = r->AddMessage(m, f);
        Fill(entry, depth + 1);
        continue;
      }
      const int copies = f->is_repeated() ? 2 : 1;
      for (int c = 0; c < copies; ++c) FillOne(m, f, depth);
    }
    r->MutableUnknownFields(m)->AddLengthDelimited(9999, Next());
  }

 private:
  void FillOne(google::protobuf::Message* m, const FieldDescriptor* f, int depth) {
    const google::protobuf::Reflection* r = m->GetReflection();
    const bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        rep ? r->AddString(m, f, Next()) : r->SetString(m, f, Next());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 6) Fill(rep ? r->AddMessage(m, f) : r->MutableMessage(m, f), depth + 1);
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* e = f->enum_type();
        const auto* v = e->value(e->value_count() > 1 ? 1 : 0);
        rep ? r->AddEnum(m, f, v) : r->SetEnum(m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        rep ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        rep ? r->AddInt32(m, f, 7) : r->SetInt32(m, f, 7);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        rep ? r->AddInt64(m, f, 7) : r->SetInt64(m, f, 7);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        rep ? r->AddUInt32(m, f, 7) : r->SetUInt32(m, f, 7);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        rep ? r->AddUInt64(m, f, 7) : r->SetUInt64(m, f, 7);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        rep ? r->AddDouble(m, f, 1.5) : r->SetDouble(m, f, 1.5);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        rep ? r->AddFloat(m, f, 1.5f) : r->SetFloat(m, f, 1.5f);
        break;
    }
  }

  int n_ = 0;
};

// Every marker in `m`'s serialised bytes: they are planted as whole strings.
std::vector<std::string> MarkersIn(const std::string& bytes) {
  std::vector<std::string> out;
  for (size_t at = bytes.find("ZZMK"); at != std::string::npos; at = bytes.find("ZZMK", at + 1)) {
    const size_t end = bytes.find('Q', at);
    if (end != std::string::npos) out.push_back(bytes.substr(at, end - at + 1));
  }
  return out;
}

// The Person reference field that points at an entity of this type, if any.
const FieldDescriptor* RefFieldFor(const FieldDescriptor* entity_kind) {
  const std::string want = absl::StrCat(entity_kind->name(), "_refs");
  const FieldDescriptor* f = liaison::v1::Person::descriptor()->FindFieldByName(want);
  if (f != nullptr) return f;
  if (entity_kind->name() == "account") {
    return liaison::v1::Person::descriptor()->FindFieldByName("account_refs");
  }
  return nullptr;
}

struct Planted {
  liaison::v1::Message message;
  std::vector<std::string> protected_markers;  // of the victim and its own entity
  std::string strict_necessity;
};

// An INVESTIGATE message from NL-NP on a case outside any JIT, with a
// suspect (kept) and an adult victim plus one entity of `kind` that only the
// victim references, both filled by the Planter.
Planted Build(const FieldDescriptor* kind, bool alert) {
  Planted out;
  liaison::v1::Message& m = out.message = scenario::Ac03VictimInfoExchange();
  Planter planter;
  google::protobuf::RepeatedPtrField<liaison::v1::Entity>* entities;
  google::protobuf::RepeatedPtrField<liaison::v1::Link>* links;
  if (alert) {
    const liaison::v1::InfoExchange info = m.info();
    m.mutable_header()->set_kind(liaison::v1::KIND_ALERT);
    liaison::v1::Alert* a = m.mutable_alert();
    a->set_alert_type(liaison::v1::ALERT_TYPE_WANTED_SUSPECT);
    *a->mutable_entities() = info.entities();
    a->set_sis_alert_ref(planter.Next());
    out.protected_markers.push_back(a->sis_alert_ref());  // the SIS alert names a person
    entities = a->mutable_entities();
    links = a->mutable_links();
  } else {
    entities = m.mutable_info()->mutable_entities();
    links = m.mutable_info()->mutable_links();
  }
  // Keep only the suspect of the fixture: the victim is ours.
  for (int i = entities->size() - 1; i >= 0; --i) {
    const auto& e = entities->Get(i);
    if (e.has_person() && (internal::CategoryMask(e.person()) & internal::kVictimMask) != 0) {
      entities->DeleteSubrange(i, 1);
    }
  }
  links->Clear();

  liaison::v1::Person* victim = entities->Add()->mutable_person();
  planter.Fill(victim);
  victim->clear_categories();
  victim->add_categories(liaison::v1::SUBJECT_CATEGORY_VICTIM);
  victim->set_is_minor(liaison::v1::MINOR_NO);
  victim->mutable_birth_date()->set_year(1990);
  victim->mutable_birth_date()->set_month(1);
  victim->mutable_birth_date()->set_day(1);
  // Every reference names the victim's own entity or nothing.
  for (const char* refs :
       {"document_refs", "location_refs", "comm_refs", "account_refs", "vehicle_refs"}) {
    victim->GetReflection()->ClearField(victim, victim->GetDescriptor()->FindFieldByName(refs));
  }
  for (const std::string& s : MarkersIn(victim->SerializeAsString())) {
    out.protected_markers.push_back(s);
  }

  if (kind->message_type() != liaison::v1::Person::descriptor()) {
    liaison::v1::Entity* e = entities->Add();
    google::protobuf::Message* body = e->GetReflection()->MutableMessage(e, kind);
    planter.Fill(body);
    const FieldDescriptor* id = body->GetDescriptor()->FindFieldByName("entity_id");
    const std::string own_id = body->GetReflection()->GetString(*body, id);
    if (const FieldDescriptor* holder = body->GetDescriptor()->FindFieldByName("holder_ref")) {
      body->GetReflection()->SetString(body, holder, victim->entity_id());
    }
    if (const FieldDescriptor* ref = RefFieldFor(kind)) {
      victim->GetReflection()->AddString(victim, ref, own_id);
    } else {
      liaison::v1::Link* l = links->Add();
      planter.Fill(l);
      l->set_from_id(victim->entity_id());
      l->set_to_id(own_id);
    }
    for (const std::string& s : MarkersIn(body->SerializeAsString())) {
      out.protected_markers.push_back(s);
    }
  }
  out.strict_necessity = planter.Next();
  m.mutable_header()->set_strict_necessity(out.strict_necessity);
  m.mutable_header()
      ->GetReflection()
      ->MutableUnknownFields(m.mutable_header())
      ->AddLengthDelimited(9998, planter.Next());
  m.GetReflection()->MutableUnknownFields(&m)->AddLengthDelimited(9997, planter.Next());
  return out;
}

Decision Decide(const liaison::v1::Message& m, std::string_view recipient) {
  static SlidingWindowCounters* const counters = new SlidingWindowCounters();
  Input in = scenario::InputFor(m, recipient);
  in.counters = counters;
  return scenario::DevChain()->Evaluate(in);
}

class EveryEntityType : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(EveryEntityType, NoMarkerOfARedactedEntityReachesTheRecipient) {
  const FieldDescriptor* kind = liaison::v1::Entity::descriptor()->field(std::get<0>(GetParam()));
  const bool alert = std::get<1>(GetParam());
  SCOPED_TRACE(absl::StrCat(kind->name(), alert ? " in an alert" : " in an info exchange"));
  const Planted p = Build(kind, alert);
  ASSERT_GT(p.protected_markers.size(), 5u);

  const Decision d = Decide(p.message, "BG-GDNP");
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  scenario::TestPseudonymiser pseudonymiser;
  absl::StatusOr<liaison::v1::Message> out = Redact(p.message, d, pseudonymiser, "BG-GDNP");
  ASSERT_TRUE(out.ok()) << out.status();
  const std::string bytes = out->SerializeAsString();
  for (const std::string& marker : p.protected_markers) {
    EXPECT_EQ(bytes.find(marker), std::string::npos) << marker << " reached BG-GDNP";
  }
  EXPECT_EQ(bytes.find(p.strict_necessity), std::string::npos);
  EXPECT_FALSE(internal::HasUnknownFields(*out));
  // The explanation names paths and rules only.
  for (const std::string& marker : p.protected_markers) {
    EXPECT_EQ(d.explanation.find(marker), std::string::npos) << marker << " in the explanation";
  }
}

TEST_P(EveryEntityType, AnAllowedDerivedCopyCarriesNoUnknownFieldAndNoJustification) {
  const FieldDescriptor* kind = liaison::v1::Entity::descriptor()->field(std::get<0>(GetParam()));
  const Planted p = Build(kind, std::get<1>(GetParam()));
  ASSERT_TRUE(NeedsDerivedCopy(p.message));
  Decision d = Decide(p.message, "FR-OCRTEH");  // VICTIM_PROTECTION: identity may go
  if (d.outcome != liaison::v1::OUTCOME_ALLOW && d.outcome != liaison::v1::OUTCOME_REDACT) {
    GTEST_FAIL() << d.explanation;
  }
  scenario::TestPseudonymiser pseudonymiser;
  absl::StatusOr<liaison::v1::Message> out = Redact(p.message, d, pseudonymiser, "FR-OCRTEH");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->header().strict_necessity().empty());
  EXPECT_FALSE(internal::HasUnknownFields(*out));
  EXPECT_FALSE(NeedsDerivedCopy(*out));
}

std::vector<std::tuple<int, bool>> AllEntityKinds() {
  std::vector<std::tuple<int, bool>> out;
  const google::protobuf::Descriptor* d = liaison::v1::Entity::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->message_type() == nullptr) continue;
    out.emplace_back(i, false);
    out.emplace_back(i, true);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Descriptors, EveryEntityType, ::testing::ValuesIn(AllEntityKinds()), [](const auto& info) {
      return absl::StrCat(liaison::v1::Entity::descriptor()->field(std::get<0>(info.param))->name(),
                          std::get<1>(info.param) ? "_alert" : "_info");
    });

TEST(PersonFields, EveryFieldNumberFitsTheMasksOfTheRedactionCode) {
  // PresentPersonFields / IdentityFieldMask use one bit per field number.
  const google::protobuf::Descriptor* d = liaison::v1::Person::descriptor();
  for (int i = 0; i < d->field_count(); ++i)
    EXPECT_LT(d->field(i)->number(), 32) << d->field(i)->name();
}

TEST(Redact, ASenderCannotSkipPseudonymisationBySettingVictimRefToItsEntityId) {
  liaison::v1::Message m = scenario::Ac03VictimInfoExchange();
  for (auto& e : *m.mutable_info()->mutable_entities()) {
    if (!e.has_person()) continue;
    if ((internal::CategoryMask(e.person()) & internal::kVictimMask) == 0) continue;
    e.mutable_person()->set_victim_ref(e.person().entity_id());
    e.mutable_person()->set_birth_place("ZZTEST-SKIPPED-BIRTHPLACE");
  }
  const Decision d = Decide(m, "BG-GDNP");
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  scenario::TestPseudonymiser pseudonymiser;
  absl::StatusOr<liaison::v1::Message> out = Redact(m, d, pseudonymiser, "BG-GDNP");
  ASSERT_TRUE(out.ok()) << out.status();
  const std::string bytes = out->SerializeAsString();
  EXPECT_EQ(bytes.find("ZZTEST-SKIPPED-BIRTHPLACE"), std::string::npos);
  EXPECT_EQ(bytes.find("P-201"), std::string::npos);
}

}  // namespace
}  // namespace liaison::policy
