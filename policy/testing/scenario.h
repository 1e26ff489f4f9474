// Fixtures for the synthetic scenario of docs/scenario.md (acceptance cases
// AC-01..AC-24), shared by the policy tests, the policy benchmark and the
// broker's integration tests (library liaison_policy_testing, built only
// with LIAISON_TESTS or LIAISON_BENCH).
//
// All data are synthetic: names carry the prefix ZZTEST, the IBAN is the
// ISO 13616 example RO49AAAA1B31007593840000, UK numbers are from the Ofcom
// drama range +44 7700 900xxx. Every builder returns a fresh message with a
// fixed, valid UUIDv7 id (overridable) and created_at = T0, so a test can
// mutate it freely. Agencies are real names with synthetic configuration.
#ifndef LIAISON_POLICY_TESTING_SCENARIO_H_
#define LIAISON_POLICY_TESTING_SCENARIO_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "liaison/v1/message.pb.h"
#include "policy/chain.h"
#include "policy/consents.h"
#include "policy/input.h"
#include "policy/redact.h"
#include "policy/registry.h"
#include "policy/sources.h"

namespace liaison::policy::scenario {

// 2026-05-04T09:00:00Z, the scenario clock.
absl::Time T0();

// deploy/registry/dev.textproto, embedded at build time.
std::string_view DevRegistryText();
// The parsed development registry (parsed once; aborts if it does not
// validate: the registry tests report why).
std::shared_ptr<const Registry> DevRegistry();
// A chain on DevRegistry() with default options (built once).
std::shared_ptr<const Chain> DevChain();

// An Input for `m` to `recipient` at `now` on DevRegistry(); the other
// pointers are null (set them in the test).
Input InputFor(const liaison::v1::Message& m, std::string_view recipient, absl::Time now = T0());

// "019df237-3e80-7000-8000-<n as 12 hex digits>": a UUIDv7 with T0's
// millisecond timestamp. Distinct n give distinct ids.
std::string FixedId(int n);

// Every personal value the fixtures contain (names, birth places, numbers,
// IBAN, free text, case references): explanations must contain none.
const std::vector<std::string>& PersonalValues();

// Test pseudonymiser: "VR-" + 16 hex digits of a hash of
// (sender, entity id, recipient). Deterministic; not cryptographic.
class TestPseudonymiser final : public Pseudonymiser {
 public:
  std::string Ref(std::string_view sender, std::string_view entity_id,
                  std::string_view recipient) const override;
};

// A ConsentRecord as the broker records it from a verified KIND_CONSENT
// message. Empty recipients/purposes mean "as in the covered message".
ConsentRecord Consent(std::string grantor, liaison::v1::ConsentKind kind, std::string grantee,
                      std::vector<std::string> message_ids, absl::Time expires, bool granted = true,
                      std::vector<std::string> recipients = {},
                      std::vector<liaison::v1::Purpose> purposes = {});
// The KIND_CONSENT message carrying the same grant (for broker tests).
liaison::v1::Message ConsentMessage(const ConsentRecord& record, std::string message_id);

// ---- acceptance-case messages (docs/acceptance.md) ----

// DE-BKA, NL-NP, BG-GDNP, FR-OCRTEH, ES-PN, LV-VP, SE-NOA.
std::vector<std::string> Ac01Recipients();
std::string Ac01Id();
// RO-IGPR URGENT missing-child alert: P-101 (15 years old at T0,
// POTENTIAL_VICTIM, photo ref, phone C-101), H0, purpose
// LOCATE_MISSING_PERSON, erase_by T0+30d, to Ac01Recipients().
liaison::v1::Message Ac01MissingChildAlert(std::string message_id = Ac01Id());
// The same alert also to GB-NCA and MD-IGP (AC-02).
liaison::v1::Message Ac02MissingChildAlertWide(std::string message_id = FixedId(2));

// NL-NP INFO_EXCHANGE, INVESTIGATE, to BG-GDNP and FR-OCRTEH: adult
// VICTIM P-201 (passport D-201, phone C-201, address L-201) and SUSPECT
// P-202 (phone C-202, account A-202); no JIT with BG (AC-03).
liaison::v1::Message Ac03VictimInfoExchange(std::string message_id = FixedId(3));
// ES-PN to SE-NOA with purpose PROTECT_VICTIM (AC-04).
liaison::v1::Message Ac04ProtectVictimToSe(std::string message_id = FixedId(4));
// AC-03 without header.legal_basis (AC-05).
liaison::v1::Message Ac05NoLegalBasis(std::string message_id = FixedId(5));
// DE-BKA to NL-NP on AMBER ROUTE (JIT-2025-014): victim P-301 with
// attributes distinguishing_marks, health (HEALTH) and sex_life
// (SEX_LIFE), no strict_necessity (AC-06).
liaison::v1::Message Ac06JitSpecialCategories(std::string message_id = FixedId(6));

// M-700: an H2 INFO_EXCHANGE DE-BKA sent to NL-NP only (AC-07 source).
std::string Ac07SourceId();
SourceRecord Ac07SourceM700();
// The H2 source M-700 itself, as DE-BKA sends it to NL-NP (broker tests).
liaison::v1::Message Ac07SourceMessage();
// NL-NP to ES-PN, derived from M-700 (AC-07).
liaison::v1::Message Ac07DerivedFromH2(std::string message_id = FixedId(7));

// An H1 RO-IGPR message FR-OCRTEH received on AMBER ROUTE (AC-08 source).
std::string Ac08SourceId();
SourceRecord Ac08SourceH1();
// FR-OCRTEH EVIDENCE_MANIFEST, purpose PROSECUTE, to DE-BKA and NL-NP, one
// item derived from the H1 message (AC-08).
liaison::v1::Message Ac08EvidenceFromH1(std::string message_id = FixedId(8));

// DE-BKA to NL-NP, H3 with restriction NO_PRESS (AC-09, first message).
liaison::v1::Message Ac09UnknownRestriction(std::string message_id = FixedId(9));
// DE-BKA to NL-NP, H3 with NOT_BEFORE at T0+6h (AC-09, second message).
liaison::v1::Message Ac09NotBefore(std::string message_id = FixedId(10));

enum class Ac11Basis { kNone, kDerogation38C };
// DE-BKA to MD-IGP, INFO_EXCHANGE, `persons` suspects (AC-11 a/b/c).
liaison::v1::Message Ac11SuspectsToMd(int persons, Ac11Basis basis,
                                      std::string message_id = FixedId(11));

// ES-PN LINKAGE_QUERY (blinded IBAN + phone, case ES-2026-0091, offence
// THB) to RO-IGPR (AC-14).
liaison::v1::Message Ac14LinkageQuery(std::string message_id = FixedId(14));
// RO-IGPR's reply: {hit, RO-IGPR, LNK-7Q2M-0001} and a no-hit (AC-14).
liaison::v1::Message Ac14LinkageReply(std::string message_id = FixedId(15));
// ES-PN's follow-up to the owner RO-IGPR (AC-14).
std::string Ac14FollowUpId();
liaison::v1::Message Ac14FollowUp(std::string message_id = Ac14FollowUpId());
// RO-IGPR's signed decision on ES-PN's follow-up (AC-14): approval naming
// the details message (Ac14Details's id), or refusal with NOT_NECESSARY.
liaison::v1::Message Ac14FollowUpDecision(bool approve, std::string message_id = FixedId(140));
// RO-IGPR's details after approval: INFO_EXCHANGE to ES-PN about a suspect.
liaison::v1::Message Ac14Details(std::string message_id = FixedId(17));

// LINKAGE_QUERY whose second identifier is a cleartext name (AC-15).
liaison::v1::Message Ac15CleartextQuery(std::string message_id = FixedId(18));

// RO-IGPR EVIDENCE_MANIFEST on AMBER ROUTE to DE-BKA, NL-NP, FR-OCRTEH (plus
// `extra_recipients`), two items obtained in RO (AC-16).
std::string Ac16Id();
liaison::v1::Message Ac16EvidenceManifest(std::vector<std::string> extra_recipients = {},
                                          std::string message_id = Ac16Id());
// The broker's record of the AC-16 manifest delivered to DE, NL, FR.
SourceRecord Ac16SourceRecord();

// DE-BKA to ES-PN (not a member), INFO_EXCHANGE derived from the AC-16
// manifest's item 1 (AC-18).
liaison::v1::Message Ac18ReuseOutsideJit(std::string message_id = FixedId(19));

// RO-IGPR vehicle alert to ES-PN with erase_by T0+1h (AC-19).
liaison::v1::Message Ac19ShortLivedAlert(std::string message_id = FixedId(20));

// BG-GDNP to DE-BKA: INFO_EXCHANGE with `persons` CONTACT records,
// batch `batch` (AC-21: 60 batches of 10 in 10 minutes).
liaison::v1::Message Ac21Batch(int batch, int persons = 10);

// RO-IGPR CORRECTION (ERASE) of the AC-01 alert (AC-23).
liaison::v1::Message Ac23EraseCorrection(std::string message_id = FixedId(23));
// The broker's record of AC-01 as delivered to its seven recipients.
SourceRecord Ac01SourceRecord();

// ---- benchmark messages ----

// DE, NL, BG, FR, SE.
std::vector<std::string> BenchRecipients();
// RO-IGPR WANTED_SUSPECT alert with 3 persons (suspects and a contact),
// their phones and an account, INVESTIGATE, to BenchRecipients(): ALLOW.
liaison::v1::Message TypicalAlert(std::string message_id = FixedId(900));
// The same with one adult victim among the 3 persons: REDACT for the
// recipients without VICTIM_PROTECTION.
liaison::v1::Message TypicalAlertWithVictim(std::string message_id = FixedId(901));

}  // namespace liaison::policy::scenario

#endif  // LIAISON_POLICY_TESTING_SCENARIO_H_
