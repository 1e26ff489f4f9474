#include "policy/testing/scenario.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/proto_time.h"

namespace liaison::policy::scenario {
namespace {

using liaison::v1::Entity;
using liaison::v1::Message;
using liaison::v1::Person;

constexpr char kIban[] = "RO49AAAA1B31007593840000";

absl::Time Days(int d) { return T0() + absl::Hours(24 * d); }

google::protobuf::Timestamp Ts(absl::Time t) { return liaison::ToProto(t); }

liaison::v1::FieldMeta Fact(liaison::v1::Reliability r = liaison::v1::RELIABILITY_B,
                            liaison::v1::Accuracy a = liaison::v1::ACCURACY_2) {
  liaison::v1::FieldMeta m;
  m.set_basis(liaison::v1::INFO_BASIS_FACT);
  m.mutable_evaluation()->set_reliability(r);
  m.mutable_evaluation()->set_accuracy(a);
  return m;
}

// A header with the fields every scenario message shares.
liaison::v1::Header* BaseHeader(Message& m, std::string id, liaison::v1::Kind kind,
                                std::string sender, std::vector<std::string> recipients) {
  liaison::v1::Header* h = m.mutable_header();
  h->set_message_id(std::move(id));
  h->set_kind(kind);
  *h->mutable_created_at() = Ts(T0());
  h->set_sender_officer(absl::StrCat(sender.substr(0, 2), "-OFF-7731"));
  h->set_sender(std::move(sender));
  for (auto& r : recipients) h->add_recipients(std::move(r));
  h->set_urgency(liaison::v1::URGENCY_ROUTINE);
  h->mutable_handling()->set_code(liaison::v1::HANDLING_CODE_H0);
  *h->mutable_retention()->mutable_review_by() = Ts(Days(30));
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(180));
  h->mutable_default_evaluation()->set_reliability(liaison::v1::RELIABILITY_B);
  h->mutable_default_evaluation()->set_accuracy(liaison::v1::ACCURACY_2);
  return h;
}

Person* AddPerson(google::protobuf::RepeatedPtrField<Entity>* entities, std::string id,
                  liaison::v1::SubjectCategory category, std::string family, std::string given,
                  int y, int mo, int d) {
  Person* p = entities->Add()->mutable_person();
  p->set_entity_id(std::move(id));
  p->add_categories(category);
  auto* n = p->add_names();
  n->set_family(std::move(family));
  n->set_given(std::move(given));
  p->mutable_birth_date()->set_year(y);
  p->mutable_birth_date()->set_month(mo);
  p->mutable_birth_date()->set_day(d);
  *p->mutable_meta() = Fact(liaison::v1::RELIABILITY_A, liaison::v1::ACCURACY_1);
  if (category == liaison::v1::SUBJECT_CATEGORY_SUSPECT) p->add_offence_refs("THB-2011/36-ART2");
  return p;
}

void AddPhone(google::protobuf::RepeatedPtrField<Entity>* entities, std::string id,
              std::string number) {
  auto* c = entities->Add()->mutable_comm();
  c->set_entity_id(std::move(id));
  c->set_type(liaison::v1::COMM_TYPE_PHONE);
  c->set_value(std::move(number));
  *c->mutable_meta() = Fact();
}

void AddLink(google::protobuf::RepeatedPtrField<liaison::v1::Link>* links, std::string from,
             std::string to, liaison::v1::Relation rel) {
  auto* l = links->Add();
  l->set_from_id(std::move(from));
  l->set_to_id(std::move(to));
  l->set_relation(rel);
  *l->mutable_meta() = Fact();
}

std::string Bytes32(uint8_t seed) {
  std::string s(32, '\0');
  for (int i = 0; i < 32; ++i) s[i] = static_cast<char>((seed * 131 + i * 197 + 0x80) & 0xff);
  return s;
}

// The AC-03 body: adult victim P-201 and suspect P-202 with their items.
void FillVictimAndSuspect(liaison::v1::InfoExchange* info) {
  auto* es = info->mutable_entities();
  Person* victim = AddPerson(es, "P-201", liaison::v1::SUBJECT_CATEGORY_VICTIM, "ZZTEST-IVANOVA",
                             "ZZTEST-ELENA", 1998, 3, 2);
  victim->add_nationalities("BG");
  victim->set_sex(liaison::v1::SEX_FEMALE);
  victim->add_document_refs("D-201");
  victim->add_comm_refs("C-201");
  victim->add_location_refs("L-201");
  Person* suspect = AddPerson(es, "P-202", liaison::v1::SUBJECT_CATEGORY_SUSPECT, "ZZTEST-DE-VRIES",
                              "ZZTEST-JAN", 1979, 7, 21);
  suspect->add_nationalities("NL");
  suspect->set_sex(liaison::v1::SEX_MALE);
  suspect->add_comm_refs("C-202");
  suspect->add_account_refs("A-202");
  auto* doc = es->Add()->mutable_document();
  doc->set_entity_id("D-201");
  doc->set_doc_type(liaison::v1::DOCUMENT_TYPE_PASSPORT);
  doc->set_number("ZZ1234567");
  doc->set_issuing_country("BG");
  doc->set_status(liaison::v1::DOCUMENT_STATUS_VALID);
  *doc->mutable_meta() = Fact();
  AddPhone(es, "C-201", "+44 7700 900201");
  AddPhone(es, "C-202", "+44 7700 900202");
  auto* acc = es->Add()->mutable_account();
  acc->set_entity_id("A-202");
  acc->set_iban(kIban);
  acc->set_holder_ref("P-202");
  *acc->mutable_meta() = Fact();
  auto* loc = es->Add()->mutable_location();
  loc->set_entity_id("L-201");
  loc->add_address_lines("ZZTEST-Kade 12");
  loc->set_city("Rotterdam");
  loc->set_country("NL");
  *loc->mutable_meta() = Fact();
  AddLink(info->mutable_links(), "P-201", "P-202", liaison::v1::RELATION_EXPLOITED_BY);
  AddLink(info->mutable_links(), "P-202", "C-202", liaison::v1::RELATION_USES);
  info->set_summary("ZZTEST-ELENA ZZTEST-IVANOVA was recruited online and exploited in Rotterdam");
}

void FillSuspect(liaison::v1::InfoExchange* info, std::string id, std::string family) {
  Person* p =
      AddPerson(info->mutable_entities(), std::move(id), liaison::v1::SUBJECT_CATEGORY_SUSPECT,
                std::move(family), "ZZTEST-ION", 1985, 1, 30);
  p->add_nationalities("MD");
  p->set_sex(liaison::v1::SEX_MALE);
}

}  // namespace

absl::Time T0() { return absl::FromUnixSeconds(1777885200); }

std::shared_ptr<const Registry> DevRegistry() {
  static const std::shared_ptr<const Registry>* const kRegistry = [] {
    auto r = Registry::Parse(DevRegistryText(), "deploy/registry/dev.textproto");
    if (!r.ok()) {
      std::fprintf(stderr, "dev registry does not validate:\n%s\n",
                   std::string(r.status().message()).c_str());
      std::abort();
    }
    return new std::shared_ptr<const Registry>(*std::move(r));
  }();
  return *kRegistry;
}

std::shared_ptr<const Chain> DevChain() {
  static const std::shared_ptr<const Chain>* const kChain = [] {
    auto c = Chain::Create(DevRegistry());
    if (!c.ok()) {
      std::fprintf(stderr, "dev chain: %s\n", std::string(c.status().message()).c_str());
      std::abort();
    }
    return new std::shared_ptr<const Chain>(*std::move(c));
  }();
  return *kChain;
}

Input InputFor(const Message& m, std::string_view recipient, absl::Time now) {
  Input in;
  in.message = &m;
  in.recipient = recipient;
  in.message_bytes = m.ByteSizeLong();
  in.registry = DevRegistry().get();
  in.now = now;
  return in;
}

std::string FixedId(int n) { return absl::StrFormat("019df237-3e80-7000-8000-%012x", n); }

const std::vector<std::string>& PersonalValues() {
  static const std::vector<std::string>* const kValues = new std::vector<std::string>{
      "ZZTEST",  // every fixture name, place, address and free text carries it
      "POPESCU",
      "ANA-MARIA",
      "IVANOVA",
      "ELENA",
      "DE-VRIES",
      "NOVAK",
      "MIRA",
      "CEBAN",
      "Iasi",
      "Rotterdam",
      "Gara de Nord",
      kIban,
      "RO49 AAAA",
      "+44 7700 900",
      "7700900",
      "ZZ1234567",
      "WDB1234561J000001",
      "B-123-ZZT",
      "2010-11-15",
      "1998-03-02",
      "1979-07-21",
      "NL-2026-0007",
      "ES-2026-0091",
      "RO-2026-0502",
      "DE-2026-0311",
      "pregnancy",
      "prostitution",
      "tattoo",
      "DPO-J-2026-0042",
  };
  return *kValues;
}

std::string TestPseudonymiser::Ref(std::string_view sender, std::string_view entity_id,
                                   std::string_view recipient) const {
  uint64_t h = 14695981039346656037ull;
  for (std::string_view part :
       {sender, std::string_view("\x1f"), entity_id, std::string_view("\x1f"), recipient}) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ull;
    }
  }
  return absl::StrFormat("VR-%016x", h);
}

ConsentRecord Consent(std::string grantor, liaison::v1::ConsentKind kind, std::string grantee,
                      std::vector<std::string> message_ids, absl::Time expires, bool granted,
                      std::vector<std::string> recipients,
                      std::vector<liaison::v1::Purpose> purposes) {
  ConsentRecord r;
  r.grantor = std::move(grantor);
  r.recorded_at = T0();
  auto& g = r.grant;
  g.set_consent_id(absl::StrCat("CNS-", r.grantor, "-", message_ids.empty() ? "" : message_ids[0]));
  g.set_kind(kind);
  g.set_grantee(std::move(grantee));
  for (auto& id : message_ids) g.add_message_ids(std::move(id));
  for (auto p : purposes) g.add_purposes(p);
  for (auto& rcpt : recipients) g.add_recipients(std::move(rcpt));
  *g.mutable_expires() = Ts(expires);
  g.set_granted(granted);
  if (!granted) g.set_reason_code("PREJUDICES_INVESTIGATION");
  return r;
}

Message ConsentMessage(const ConsentRecord& record, std::string message_id) {
  Message m;
  BaseHeader(m, std::move(message_id), liaison::v1::KIND_CONSENT, record.grantor,
             {record.grant.grantee()});
  m.mutable_header()->add_legal_basis("EU-DIR-2023/977");
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  *m.mutable_consent() = record.grant;
  return m;
}

std::vector<std::string> Ac01Recipients() {
  return {"DE-BKA", "NL-NP", "BG-GDNP", "FR-OCRTEH", "ES-PN", "LV-VP", "SE-NOA"};
}

std::string Ac01Id() { return FixedId(1); }

Message Ac01MissingChildAlert(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_ALERT, "RO-IGPR", Ac01Recipients());
  h->set_case_ref("RO-2026-0502");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_legal_basis("EU-UK-TCA");
  h->add_legal_basis("NAT-INTL-COOP-RO");
  h->add_purposes(liaison::v1::PURPOSE_LOCATE_MISSING_PERSON);
  h->set_urgency(liaison::v1::URGENCY_URGENT);
  *h->mutable_retention()->mutable_review_by() = Ts(Days(14));
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(30));
  liaison::v1::Alert* a = m.mutable_alert();
  a->set_alert_type(liaison::v1::ALERT_TYPE_MISSING_PERSON);
  a->set_requested_action("Locate ZZTEST-ANA-MARIA and protect her; inform RO-IGPR SPOC");
  Person* p =
      AddPerson(a->mutable_entities(), "P-101", liaison::v1::SUBJECT_CATEGORY_POTENTIAL_VICTIM,
                "ZZTEST-POPESCU", "ZZTEST-ANA-MARIA", 2010, 11, 15);
  p->set_birth_place("ZZTEST-Iasi");
  p->set_is_minor(liaison::v1::MINOR_YES);
  p->add_nationalities("RO");
  p->set_sex(liaison::v1::SEX_FEMALE);
  p->add_comm_refs("C-101");
  p->mutable_photo()->set_sha256(Bytes32(101));
  p->mutable_photo()->set_store_ref("photo-store://RO-IGPR/101");
  p->mutable_photo()->set_media_type("image/jpeg");
  AddPhone(a->mutable_entities(), "C-101", "+44 7700 900101");
  AddLink(a->mutable_links(), "P-101", "C-101", liaison::v1::RELATION_USES);
  a->add_subject_ids("P-101");
  *a->mutable_valid_until() = Ts(Days(30));
  a->set_summary("ZZTEST-ANA-MARIA was last seen at Gara de Nord with an unknown adult");
  return m;
}

Message Ac02MissingChildAlertWide(std::string message_id) {
  Message m = Ac01MissingChildAlert(std::move(message_id));
  m.mutable_header()->add_recipients("GB-NCA");
  m.mutable_header()->add_recipients("MD-IGP");
  return m;
}

Message Ac03VictimInfoExchange(std::string message_id) {
  Message m;
  liaison::v1::Header* h = BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE,
                                      "NL-NP", {"BG-GDNP", "FR-OCRTEH"});
  h->set_case_ref("NL-2026-0007");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  FillVictimAndSuspect(m.mutable_info());
  return m;
}

Message Ac04ProtectVictimToSe(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "ES-PN", {"SE-NOA"});
  h->set_case_ref("ES-2026-0091");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_PROTECT_VICTIM);
  FillVictimAndSuspect(m.mutable_info());
  return m;
}

Message Ac05NoLegalBasis(std::string message_id) {
  Message m = Ac03VictimInfoExchange(std::move(message_id));
  m.mutable_header()->clear_legal_basis();
  return m;
}

Message Ac06JitSpecialCategories(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "DE-BKA", {"NL-NP"});
  h->set_case_ref("DE-2025-4411");
  h->set_jit_id("JIT-2025-014");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  auto* info = m.mutable_info();
  Person* p = AddPerson(info->mutable_entities(), "P-301", liaison::v1::SUBJECT_CATEGORY_VICTIM,
                        "ZZTEST-NOVAK", "ZZTEST-MIRA", 2001, 9, 9);
  p->add_nationalities("RO");
  p->set_sex(liaison::v1::SEX_FEMALE);
  auto attr = [p](std::string name, std::string value, liaison::v1::SpecialCategory special) {
    auto* a = p->add_attributes();
    a->set_name(std::move(name));
    a->set_value(std::move(value));
    *a->mutable_meta() = Fact();
    if (special != liaison::v1::SPECIAL_CATEGORY_UNSPECIFIED)
      a->mutable_meta()->add_special(special);
  };
  attr("distinguishing_marks", "ZZTEST tattoo on the left wrist",
       liaison::v1::SPECIAL_CATEGORY_UNSPECIFIED);
  attr("health", "ZZTEST pregnancy, about 20 weeks", liaison::v1::SPECIAL_CATEGORY_HEALTH);
  attr("sex_life", "ZZTEST forced prostitution since 2025", liaison::v1::SPECIAL_CATEGORY_SEX_LIFE);
  info->set_summary("ZZTEST-MIRA ZZTEST-NOVAK identified in Dortmund");
  return m;
}

std::string Ac07SourceId() { return FixedId(700); }

SourceRecord Ac07SourceM700() {
  SourceRecord r;
  r.ref.set_message_id(Ac07SourceId());
  r.ref.set_provider("DE-BKA");
  r.ref.set_handling(liaison::v1::HANDLING_CODE_H2);
  r.ref.add_original_recipients("NL-NP");
  r.ref.add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  r.delivered_to = {"NL-NP"};
  return r;
}

Message Ac07DerivedFromH2(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "NL-NP", {"ES-PN"});
  h->set_case_ref("NL-2026-0007");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  h->mutable_handling()->set_code(liaison::v1::HANDLING_CODE_H2);
  h->mutable_provenance()->add_derived_from(Ac07SourceId());
  *h->mutable_provenance()->add_sources() = Ac07SourceM700().ref;
  FillSuspect(m.mutable_info(), "P-702", "ZZTEST-DE-VRIES");
  return m;
}

std::string Ac08SourceId() { return FixedId(800); }

SourceRecord Ac08SourceH1() {
  SourceRecord r;
  r.ref.set_message_id(Ac08SourceId());
  r.ref.set_provider("RO-IGPR");
  r.ref.set_handling(liaison::v1::HANDLING_CODE_H1);
  r.ref.add_original_recipients("FR-OCRTEH");
  r.ref.add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  r.ref.add_permitted_further_purposes(liaison::v1::PURPOSE_PROSECUTE);
  r.ref.set_jit_id("JIT-2025-014");
  r.ref.set_obtained_in("RO");
  r.delivered_to = {"FR-OCRTEH"};
  return r;
}

Message Ac08EvidenceFromH1(std::string message_id) {
  Message m;
  liaison::v1::Header* h = BaseHeader(m, std::move(message_id), liaison::v1::KIND_EVIDENCE_MANIFEST,
                                      "FR-OCRTEH", {"DE-BKA", "NL-NP"});
  h->set_case_ref("RO-2025-0713");
  h->set_jit_id("JIT-2025-014");
  h->add_legal_basis("MLA-2000-ART13");
  h->add_purposes(liaison::v1::PURPOSE_PROSECUTE);
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(57));  // 2026-06-30
  h->mutable_provenance()->add_derived_from(Ac08SourceId());
  liaison::v1::SourceRef declared = Ac08SourceH1().ref;
  declared.add_used_in("evidence_manifest.items[0]");
  *h->mutable_provenance()->add_sources() = declared;
  auto* manifest = m.mutable_evidence_manifest();
  manifest->set_jit_id("JIT-2025-014");
  auto* item = manifest->add_items();
  item->set_item_id("EV-FR-0001");
  item->set_sha256(Bytes32(81));
  item->set_size(734003);
  item->set_media_type("application/vnd.liaison.phone-extraction");
  item->set_description_code("PHONE_EXTRACTION");
  item->set_collected_by("FR-OFF-2209");
  *item->mutable_collected_at() = Ts(T0() - absl::Hours(48));
  item->set_obtained_in("FR");
  return m;
}

Message Ac09UnknownRestriction(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "DE-BKA", {"NL-NP"});
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  h->mutable_handling()->set_code(liaison::v1::HANDLING_CODE_H3);
  h->mutable_handling()->add_restrictions()->set_code("NO_PRESS");
  FillSuspect(m.mutable_info(), "P-901", "ZZTEST-CEBAN");
  return m;
}

Message Ac09NotBefore(std::string message_id) {
  Message m = Ac09UnknownRestriction(std::move(message_id));
  auto* r = m.mutable_header()->mutable_handling()->mutable_restrictions(0);
  r->set_code("NOT_BEFORE");
  (*r->mutable_params())["at"] =
      absl::FormatTime(absl::RFC3339_sec, T0() + absl::Hours(6), absl::UTCTimeZone());
  return m;
}

Message Ac11SuspectsToMd(int persons, Ac11Basis basis, std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "DE-BKA", {"MD-IGP"});
  h->set_case_ref("DE-2026-0311");
  h->add_legal_basis("NAT-INTL-COOP-DE");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  for (int i = 0; i < persons; ++i) {
    FillSuspect(m.mutable_info(), absl::StrCat("P-11", i), "ZZTEST-CEBAN");
  }
  if (basis == Ac11Basis::kDerogation38C) {
    auto* t = h->mutable_transfer();
    t->set_kind(liaison::v1::TRANSFER_KIND_DEROGATION_38);
    t->set_derogation(liaison::v1::DEROGATION_38C);
    t->set_justification_id("DPO-J-2026-0042");
    t->set_fundamental_rights_checked(true);
  } else {
    h->mutable_transfer()->set_kind(liaison::v1::TRANSFER_KIND_NONE);
  }
  return m;
}

Message Ac14LinkageQuery(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_LINKAGE_QUERY, "ES-PN", {"RO-IGPR"});
  h->set_case_ref("ES-2026-0091");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(90));
  auto* q = m.mutable_linkage_query();
  q->set_case_ref("ES-2026-0091");
  q->set_offence_code("THB");
  auto add = [q](liaison::v1::IdentifierType type, uint8_t seed) {
    auto* id = q->add_identifiers();
    id->set_type(type);
    id->set_scheme("HMAC-SHA256/epoch-1");
    id->set_value(Bytes32(seed));
  };
  add(liaison::v1::IDENTIFIER_TYPE_IBAN, 141);
  add(liaison::v1::IDENTIFIER_TYPE_PHONE, 142);
  return m;
}

Message Ac14LinkageReply(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_LINKAGE_REPLY, "RO-IGPR", {"ES-PN"});
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  h->set_in_reply_to(FixedId(14));
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(90));
  auto* r = m.mutable_linkage_reply();
  r->set_query_id(FixedId(14));
  auto* hit = r->add_hits();
  hit->set_identifier_index(0);
  hit->set_hit(true);
  hit->set_owner("RO-IGPR");
  hit->set_owner_ref("LNK-7Q2M-0001");
  auto* miss = r->add_hits();
  miss->set_identifier_index(1);
  miss->set_hit(false);
  return m;
}

std::string Ac14FollowUpId() { return FixedId(16); }

Message Ac14FollowUp(std::string message_id) {
  Message m;
  liaison::v1::Header* h = BaseHeader(m, std::move(message_id), liaison::v1::KIND_FOLLOWUP_REQUEST,
                                      "ES-PN", {"RO-IGPR"});
  h->set_case_ref("ES-2026-0091");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(90));
  auto* f = m.mutable_followup_request();
  f->set_owner("RO-IGPR");
  f->set_owner_ref("LNK-7Q2M-0001");
  f->set_query_id(FixedId(14));
  f->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  f->set_justification_id("ES-JUST-0091");
  return m;
}

Message Ac14FollowUpDecision(bool approve, std::string message_id) {
  Message m;
  liaison::v1::Header* h = BaseHeader(m, std::move(message_id), liaison::v1::KIND_FOLLOWUP_DECISION,
                                      "RO-IGPR", {"ES-PN"});
  h->set_case_ref("RO-2026-0502");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  h->set_in_reply_to(Ac14FollowUpId());
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(90));
  auto* d = m.mutable_followup_decision();
  d->set_followup_id(Ac14FollowUpId());
  d->set_approve(approve);
  if (approve) {
    d->set_details_message_id(FixedId(17));
  } else {
    d->set_reason_code("NOT_NECESSARY");
  }
  return m;
}

Message Ac14Details(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "RO-IGPR", {"ES-PN"});
  h->set_case_ref("RO-2026-0502");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  h->set_in_reply_to(Ac14FollowUpId());
  FillSuspect(m.mutable_info(), "P-141", "ZZTEST-CEBAN");
  auto* acc = m.mutable_info()->add_entities()->mutable_account();
  acc->set_entity_id("A-141");
  acc->set_iban(kIban);
  acc->set_holder_ref("P-141");
  *acc->mutable_meta() = Fact();
  m.mutable_info()->mutable_entities(0)->mutable_person()->add_account_refs("A-141");
  return m;
}

Message Ac15CleartextQuery(std::string message_id) {
  Message m = Ac14LinkageQuery(std::move(message_id));
  auto* id = m.mutable_linkage_query()->mutable_identifiers(1);
  id->set_type(liaison::v1::IDENTIFIER_TYPE_PERSON_NAME);
  id->set_scheme("none");
  id->set_value("ZZTEST-IVANOVA ZZTEST-ELENA");
  return m;
}

std::string Ac16Id() { return FixedId(160); }

Message Ac16EvidenceManifest(std::vector<std::string> extra_recipients, std::string message_id) {
  std::vector<std::string> recipients = {"DE-BKA", "NL-NP", "FR-OCRTEH"};
  for (auto& r : extra_recipients) recipients.push_back(std::move(r));
  Message m;
  liaison::v1::Header* h = BaseHeader(m, std::move(message_id), liaison::v1::KIND_EVIDENCE_MANIFEST,
                                      "RO-IGPR", std::move(recipients));
  h->set_case_ref("RO-2025-0713");
  h->set_jit_id("JIT-2025-014");
  h->add_legal_basis("MLA-2000-ART13");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(57));  // 2026-06-30
  h->mutable_provenance()->set_obtained_in("RO");
  auto* manifest = m.mutable_evidence_manifest();
  manifest->set_jit_id("JIT-2025-014");
  for (int i = 0; i < 2; ++i) {
    auto* item = manifest->add_items();
    item->set_item_id(absl::StrCat("EV-RO-000", i + 1));
    item->set_sha256(Bytes32(160 + i));
    item->set_size(1048576 + i);
    item->set_media_type(i == 0 ? "image/jpeg" : "application/vnd.liaison.phone-extraction");
    item->set_description_code(i == 0 ? "PREMISES_PHOTO" : "PHONE_EXTRACTION");
    item->set_collected_by("RO-OFF-4410");
    *item->mutable_collected_at() = Ts(T0() - absl::Hours(72));
    item->set_obtained_in("RO");
    auto* custody = item->add_chain();
    custody->set_holder("RO-IGPR");
    custody->set_action("SEIZED");
    *custody->mutable_at() = Ts(T0() - absl::Hours(72));
  }
  return m;
}

Message Ac07SourceMessage() {
  Message m = Ac03VictimInfoExchange(Ac07SourceId());
  m.mutable_header()->set_sender("DE-BKA");
  m.mutable_header()->set_sender_officer("DE-OFF-7731");
  m.mutable_header()->clear_recipients();
  m.mutable_header()->add_recipients("NL-NP");
  m.mutable_header()->set_case_ref("DE-2026-0700");
  m.mutable_header()->mutable_handling()->set_code(liaison::v1::HANDLING_CODE_H2);
  return m;
}

SourceRecord Ac16SourceRecord() {
  return InMemorySourceIndex::RecordOf(Ac16EvidenceManifest(), {"DE-BKA", "NL-NP", "FR-OCRTEH"},
                                       *DevRegistry(), T0());
}

Message Ac18ReuseOutsideJit(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_INFO_EXCHANGE, "DE-BKA", {"ES-PN"});
  h->set_case_ref("DE-2026-0311");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  h->mutable_provenance()->add_derived_from(Ac16Id());
  liaison::v1::SourceRef declared = Ac16SourceRecord().ref;
  declared.add_used_in("info.entities[0]");
  *h->mutable_provenance()->add_sources() = declared;
  FillSuspect(m.mutable_info(), "P-181", "ZZTEST-CEBAN");
  return m;
}

Message Ac19ShortLivedAlert(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_ALERT, "RO-IGPR", {"ES-PN"});
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_DETECT);
  *h->mutable_retention()->mutable_review_by() = Ts(T0() + absl::Minutes(30));
  *h->mutable_retention()->mutable_erase_by() = Ts(T0() + absl::Hours(1));
  auto* a = m.mutable_alert();
  a->set_alert_type(liaison::v1::ALERT_TYPE_VEHICLE);
  a->set_requested_action("STOP_AND_REPORT");
  auto* v = a->add_entities()->mutable_vehicle();
  v->set_entity_id("V-191");
  v->set_vin("WDB1234561J000001");
  v->set_plate("B-123-ZZT");
  v->set_plate_country("RO");
  *v->mutable_meta() = Fact();
  a->add_subject_ids("V-191");
  return m;
}

Message Ac21Batch(int batch, int persons) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, FixedId(2100 + batch), liaison::v1::KIND_INFO_EXCHANGE, "BG-GDNP", {"DE-BKA"});
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  for (int i = 0; i < persons; ++i) {
    AddPerson(m.mutable_info()->mutable_entities(), absl::StrCat("P-21-", batch, "-", i),
              liaison::v1::SUBJECT_CATEGORY_CONTACT, absl::StrCat("ZZTEST-CONTACT-", batch, "-", i),
              "ZZTEST-X", 1990, 1, 1);
  }
  return m;
}

SourceRecord Ac01SourceRecord() {
  return InMemorySourceIndex::RecordOf(Ac01MissingChildAlert(), Ac01Recipients(), *DevRegistry(),
                                       T0());
}

Message Ac23EraseCorrection(std::string message_id) {
  Message m;
  liaison::v1::Header* h = BaseHeader(m, std::move(message_id), liaison::v1::KIND_CORRECTION,
                                      "RO-IGPR", Ac01Recipients());
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_LOCATE_MISSING_PERSON);
  *h->mutable_retention()->mutable_review_by() = Ts(Days(14));
  *h->mutable_retention()->mutable_erase_by() = Ts(Days(30));
  auto* c = m.mutable_correction();
  c->add_target_message_ids(Ac01Id());
  c->set_action(liaison::v1::CORRECTION_ACTION_ERASE);
  return m;
}

std::vector<std::string> BenchRecipients() {
  return {"DE-BKA", "NL-NP", "BG-GDNP", "FR-OCRTEH", "SE-NOA"};
}

Message TypicalAlert(std::string message_id) {
  Message m;
  liaison::v1::Header* h =
      BaseHeader(m, std::move(message_id), liaison::v1::KIND_ALERT, "RO-IGPR", BenchRecipients());
  h->set_case_ref("RO-2026-0502");
  h->add_legal_basis("EU-DIR-2023/977");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  auto* a = m.mutable_alert();
  a->set_alert_type(liaison::v1::ALERT_TYPE_WANTED_SUSPECT);
  a->set_requested_action("LOCATE_AND_REPORT");
  auto* es = a->mutable_entities();
  Person* s1 = AddPerson(es, "P-1", liaison::v1::SUBJECT_CATEGORY_SUSPECT, "ZZTEST-CEBAN",
                         "ZZTEST-ION", 1985, 1, 30);
  s1->add_nationalities("MD");
  s1->add_comm_refs("C-1");
  s1->add_account_refs("A-1");
  Person* s2 = AddPerson(es, "P-2", liaison::v1::SUBJECT_CATEGORY_SUSPECT, "ZZTEST-DE-VRIES",
                         "ZZTEST-JAN", 1979, 7, 21);
  s2->add_nationalities("NL");
  s2->add_comm_refs("C-2");
  Person* c3 = AddPerson(es, "P-3", liaison::v1::SUBJECT_CATEGORY_CONTACT, "ZZTEST-POPESCU",
                         "ZZTEST-DAN", 1990, 5, 5);
  c3->add_comm_refs("C-3");
  AddPhone(es, "C-1", "+44 7700 900301");
  AddPhone(es, "C-2", "+44 7700 900302");
  AddPhone(es, "C-3", "+44 7700 900303");
  auto* acc = es->Add()->mutable_account();
  acc->set_entity_id("A-1");
  acc->set_iban(kIban);
  acc->set_holder_ref("P-1");
  *acc->mutable_meta() = Fact();
  AddLink(a->mutable_links(), "P-1", "P-2", liaison::v1::RELATION_CONTACTED);
  AddLink(a->mutable_links(), "P-3", "P-1", liaison::v1::RELATION_CONTACTED);
  a->add_subject_ids("P-1");
  a->add_subject_ids("P-2");
  a->set_summary("ZZTEST-ION ZZTEST-CEBAN recruits through online job adverts");
  return m;
}

Message TypicalAlertWithVictim(std::string message_id) {
  Message m = TypicalAlert(std::move(message_id));
  Person* p = m.mutable_alert()->mutable_entities(2)->mutable_person();
  p->clear_categories();
  p->add_categories(liaison::v1::SUBJECT_CATEGORY_VICTIM);
  return m;
}

}  // namespace liaison::policy::scenario
