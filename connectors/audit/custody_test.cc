// CustodyOf on synthetic audit trails: one evidence item uploaded by RO-IGPR
// for the AMBER ROUTE members DE-BKA and NL-NP, with BG-GDNP (no member)
// refused by the policy; sealed into hash chains as the broker seals them,
// checkpointed with a broker key of the test PKI, verified by VerifyRecords.
// A clean chain of custody, then one table of broken ones.
#include "connectors/audit/custody.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/proto_time.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/checkpoint.h"
#include "gtest/gtest.h"

namespace liaison::audit {
namespace {

using liaison::v1::AuditEntry;
using liaison::v1::AuditOperation;
using liaison::v1::Outcome;

constexpr char kItem[] = "ev-0001";
constexpr char kJit[] = "JIT-2025-014";
constexpr int32_t kItemChain = 0;      // the item's custody entries (keyed by item id)
constexpr int32_t kManifestChain = 1;  // the manifest's decisions

const absl::Time kT0 = absl::FromUnixSeconds(1796000000);  // 2026-11-29

std::string Ciphertext() { return certs::Sha256("ciphertext of ev-0001"); }
std::string Plaintext() { return certs::Sha256("plaintext of ev-0001"); }

// One entry of a trail before it is sealed.
struct Step {
  int32_t chain = kItemChain;
  std::string event;
  AuditOperation operation = liaison::v1::AUDIT_OPERATION_DISCLOSURE;
  std::string sender = "RO-IGPR";
  std::string recipient;
  Outcome decision = liaison::v1::OUTCOME_UNSPECIFIED;
  int minute = 0;  // ts = kT0 + minutes + seconds
  int seconds = 0;
  std::string item = kItem;
  std::string jit = kJit;
  std::string ciphertext = Ciphertext();
  std::string plaintext;  // decisions and acknowledgements
  liaison::v1::EvidenceErasureReason erasure = liaison::v1::EVIDENCE_ERASURE_REASON_UNSPECIFIED;
};

Step Event(std::string event, std::string member, int minute,
           AuditOperation op = liaison::v1::AUDIT_OPERATION_DISCLOSURE) {
  Step s;
  s.event = std::move(event);
  s.recipient = std::move(member);
  s.minute = minute;
  s.operation = op;
  return s;
}

Step Decision(std::string member, Outcome outcome, int minute) {
  Step s;
  s.chain = kManifestChain;
  s.event = "decided";
  s.recipient = std::move(member);
  s.decision = outcome;
  s.operation = outcome == liaison::v1::OUTCOME_REJECT ? liaison::v1::AUDIT_OPERATION_REFUSAL
                                                       : liaison::v1::AUDIT_OPERATION_DISCLOSURE;
  s.minute = minute;
  s.plaintext = Plaintext();
  return s;
}

// The clean chain: upload, a key wrapped for each member, the manifest's
// decisions, each member downloads and acknowledges, then the erasure.
std::vector<Step> CleanSteps() {
  Step upload = Event("evidence-uploaded", "", 0, liaison::v1::AUDIT_OPERATION_COLLECTION);
  Step wrap_de =
      Event("evidence-key-wrapped", "DE-BKA", 0, liaison::v1::AUDIT_OPERATION_COLLECTION);
  Step wrap_nl = Event("evidence-key-wrapped", "NL-NP", 0, liaison::v1::AUDIT_OPERATION_COLLECTION);
  Step ack_de = Event("evidence-acknowledged", "DE-BKA", 6);
  ack_de.plaintext = Plaintext();
  Step ack_nl = Event("evidence-acknowledged", "NL-NP", 9);
  ack_nl.plaintext = Plaintext();
  Step erased = Event("evidence-erased", "", 10, liaison::v1::AUDIT_OPERATION_ERASURE);
  erased.sender = "";
  erased.erasure = liaison::v1::EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED;
  return {upload,
          wrap_de,
          wrap_nl,
          Decision("DE-BKA", liaison::v1::OUTCOME_ALLOW, 2),
          Decision("NL-NP", liaison::v1::OUTCOME_REDACT, 2),
          Decision("BG-GDNP", liaison::v1::OUTCOME_REJECT, 2),
          Event("evidence-download-started", "DE-BKA", 4),
          Event("evidence-download-finished", "DE-BKA", 5),
          ack_de,
          Event("evidence-download-started", "NL-NP", 7),
          Event("evidence-download-finished", "NL-NP", 8),
          ack_nl,
          erased};
}

// The steps sealed into chains (in step order per chain; a few unrelated
// entries first, as in a real trail).
std::map<int32_t, std::vector<AuditEntry>> Seal(const std::vector<Step>& steps) {
  std::map<int32_t, std::vector<AuditEntry>> chains;
  auto append = [&chains](AuditEntry e) {
    std::vector<AuditEntry>& chain = chains[e.chain()];
    e.set_seq(chain.size() + 1);
    if (!chain.empty()) e.set_prev_hash(chain.back().entry_hash());
    e.set_broker_id("broker-1");
    e.set_entry_hash(EntryHash(e));
    chain.push_back(std::move(e));
  };
  for (int32_t chain : {kItemChain, kManifestChain}) {
    AuditEntry other;
    other.set_chain(chain);
    other.set_event("decided");
    other.set_message_id(absl::StrCat("alert-", chain));
    other.set_sender("DE-BKA");
    other.set_recipient("NL-NP");
    other.set_decision(liaison::v1::OUTCOME_ALLOW);
    *other.mutable_ts() = ToProto(kT0 - absl::Hours(1));
    append(other);
  }
  for (const Step& s : steps) {
    AuditEntry e;
    e.set_chain(s.chain);
    *e.mutable_ts() = ToProto(kT0 + absl::Minutes(s.minute) + absl::Seconds(s.seconds));
    e.set_operation(s.operation);
    e.set_event(s.event);
    e.set_message_id(s.chain == kManifestChain ? "manifest-1" : "");
    e.set_kind(s.chain == kManifestChain ? liaison::v1::KIND_EVIDENCE_MANIFEST
                                         : liaison::v1::KIND_UNSPECIFIED);
    e.set_sender(s.sender);
    e.set_recipient(s.recipient);
    e.set_decision(s.decision);
    liaison::v1::EvidenceRef* ref = e.add_evidence();
    ref->set_item_id(s.item);
    ref->set_jit_id(s.jit);
    ref->set_ciphertext_sha256(s.ciphertext);
    ref->set_sha256(s.plaintext);
    if (s.event == "evidence-uploaded") {
      e.mutable_custody()->set_chunk_count(3);
      e.mutable_custody()->set_ciphertext_size(3 * 1048576);
    }
    e.mutable_custody()->set_erasure_reason(s.erasure);
    append(std::move(e));
  }
  return chains;
}

std::unique_ptr<certs::Signer> BrokerSigner() {
  return testing::LoadSignerOrDie(testing::SharedTestPki().dir + "/broker/tls");
}

certs::Verifier NetworkVerifier() { return certs::Verifier(testing::NetworkTrustOrDie()); }

liaison::v1::SignedAuditCheckpoint Sign(const AuditEntry& head) {
  liaison::v1::AuditCheckpoint c;
  c.set_chain(head.chain());
  c.set_seq(head.seq());
  c.set_head_hash(head.entry_hash());
  // The test PKI's clock: its certificates are all valid then (a PKI minted
  // by this process is valid from the current second only).
  *c.mutable_signed_at() = ToProto(testing::SharedTestPki().now);
  absl::StatusOr<liaison::v1::SignedAuditCheckpoint> s = SignCheckpoint(c, *BrokerSigner());
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

// The records of the audit topic: each chain in its partition, one entry a
// record, then (if `checkpoint`) a checkpoint of each chain's head.
std::vector<kafka::Record> Records(const std::map<int32_t, std::vector<AuditEntry>>& chains,
                                   bool checkpoint = true) {
  std::vector<kafka::Record> out;
  for (const auto& [chain_id, entries] : chains) {
    const int32_t chain = chain_id;
    int64_t offset = 0;
    auto add = [&](const liaison::v1::AuditRecord& record) {
      kafka::Record r;
      r.partition = chain;
      r.offset = offset++;
      r.timestamp = absl::Now();
      r.value = record.SerializeAsString();
      out.push_back(std::move(r));
    };
    for (const AuditEntry& e : entries) {
      liaison::v1::AuditRecord record;
      *record.add_entries() = e;
      add(record);
    }
    if (checkpoint) {
      liaison::v1::AuditRecord record;
      *record.mutable_checkpoint() = Sign(entries.back());
      add(record);
    }
  }
  return out;
}

absl::StatusOr<Custody> Check(const std::vector<kafka::Record>& records,
                              const std::string& item = kItem) {
  VerifyOptions options;
  options.now = testing::SharedTestPki().now;
  return CustodyOf(records, VerifyRecords(records, NetworkVerifier(), options), item);
}

std::string Findings(const Custody& c) {
  std::vector<std::string> lines;
  for (const CustodyFinding& f : c.findings) {
    const bool violation = f.kind == CustodyFinding::Kind::kViolation;
    lines.push_back(
        absl::StrCat(violation ? "VIOLATION" : "remark", " #", f.entry, ": ", f.reason));
  }
  return absl::StrJoin(lines, "\n");
}

// `c`'s only finding, which must be a remark containing `fragment`, the
// custody otherwise verified; null (a test failure) when there is not one.
const CustodyFinding* OnlyRemark(const absl::StatusOr<Custody>& c, const std::string& fragment) {
  if (!c.ok()) {
    ADD_FAILURE() << c.status();
    return nullptr;
  }
  EXPECT_TRUE(c->ok()) << Findings(*c);
  if (c->findings.size() != 1u) {
    ADD_FAILURE() << "want one finding, a remark with \"" << fragment << "\"\n" << Findings(*c);
    return nullptr;
  }
  const CustodyFinding& f = c->findings[0];
  EXPECT_EQ(f.kind, CustodyFinding::Kind::kRemark) << Findings(*c);
  EXPECT_NE(f.reason.find(fragment), std::string::npos) << Findings(*c);
  return &f;
}

TEST(Custody, ACleanChainVerifiesInTimeOrderCoveredByCheckpoints) {
  absl::StatusOr<Custody> c = Check(Records(Seal(CleanSteps())));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->ok()) << Findings(*c);
  EXPECT_TRUE(c->findings.empty()) << Findings(*c);
  EXPECT_EQ(c->item_id, kItem);
  EXPECT_EQ(c->jit_id, kJit);
  EXPECT_EQ(c->ciphertext_sha256, Ciphertext());
  EXPECT_EQ(c->sha256, Plaintext());
  std::vector<std::string> order;
  for (const CustodyEntry& e : c->entries) {
    order.push_back(absl::StrCat(CustodyEventName(e.event), " ", e.member));
    EXPECT_TRUE(e.chain_intact) << e.entry.seq();
    EXPECT_TRUE(e.checkpointed) << e.entry.seq();
    EXPECT_FALSE(e.checkpoint_signer.empty());
  }
  EXPECT_EQ(absl::StrJoin(order, ", "),
            "uploaded RO-IGPR, key wrapped DE-BKA, key wrapped NL-NP, decision DE-BKA, "
            "decision NL-NP, decision BG-GDNP, download started DE-BKA, download finished DE-BKA, "
            "acknowledged DE-BKA, download started NL-NP, download finished NL-NP, acknowledged "
            "NL-NP, erased ");
  // The unrelated entries of both chains are not part of it.
  for (const CustodyEntry& e : c->entries) EXPECT_NE(e.entry.seq(), 1u);
}

TEST(Custody, TheItemIsFoundByItsCiphertextDigestToo) {
  const std::vector<kafka::Record> records = Records(Seal(CleanSteps()));
  absl::StatusOr<Custody> c = Check(records, certs::HexEncode(Ciphertext()));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->item_id, kItem);
  EXPECT_EQ(c->entries.size(), 13u);
  EXPECT_TRUE(c->ok()) << Findings(*c);
}

TEST(Custody, AnItemNoEntryNamesIsNotFound) {
  const std::vector<kafka::Record> records = Records(Seal(CleanSteps()));
  absl::StatusOr<Custody> c = Check(records, "ev-9999");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound) << c.status();
  EXPECT_NE(c.status().message().find("ev-9999"), std::string::npos);
  EXPECT_EQ(Check(records, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Custody, EntriesNoCheckpointCoversAreARemark) {
  absl::StatusOr<Custody> c = Check(Records(Seal(CleanSteps()), /*checkpoint=*/false));
  ASSERT_NE(OnlyRemark(c, "13 of 13 entries not yet covered"), nullptr);
  for (const CustodyEntry& e : c->entries) EXPECT_FALSE(e.checkpointed);
}

TEST(Custody, ADownloadBrokenOffIsARemarkNotAViolation) {
  std::vector<Step> steps = CleanSteps();
  // DE-BKA's first attempt breaks off; it starts again and finishes.
  steps.insert(steps.begin() + 6, Event("evidence-download-started", "DE-BKA", 3));
  absl::StatusOr<Custody> c = Check(Records(Seal(steps)));
  const CustodyFinding* remark = OnlyRemark(c, "broken off");
  ASSERT_NE(remark, nullptr);
  EXPECT_EQ(c->entries[remark->entry].entry.ts().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Minutes(3)));
}

// A member whose download finished before the erasure acknowledges after it
// (the acknowledgement crossed the erasure, seen in EvidenceCli.* on a busy
// machine): nothing was disclosed after the erasure, so it is a remark; an
// acknowledgement after the erasure with no download before it is not.
TEST(Custody, AnAcknowledgementCrossingTheErasureIsARemarkAfterAFinishedDownload) {
  std::vector<Step> steps = CleanSteps();
  Step late = Event("evidence-acknowledged", "DE-BKA", 11);
  late.plaintext = Plaintext();
  steps.push_back(late);
  absl::StatusOr<Custody> c = Check(Records(Seal(steps)));
  ASSERT_NE(OnlyRemark(c, "after the erasure, for a download that finished before"), nullptr);

  // The same for a download that started before the erasure and finished
  // after it (its key went out before).
  std::vector<Step> crossing = CleanSteps();
  crossing.insert(crossing.end() - 1, Event("evidence-download-started", "DE-BKA", 9));
  crossing.push_back(Event("evidence-download-finished", "DE-BKA", 11));
  c = Check(Records(Seal(crossing)));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->ok()) << Findings(*c);
  EXPECT_NE(Findings(*c).find("finished after the erasure; it started before it"),
            std::string::npos)
      << Findings(*c);

  std::vector<Step> never = CleanSteps();
  Step wrap_fr =
      Event("evidence-key-wrapped", "FR-OCRTEH", 0, liaison::v1::AUDIT_OPERATION_COLLECTION);
  never.insert(never.begin() + 3, wrap_fr);
  Step ack_fr = Event("evidence-acknowledged", "FR-OCRTEH", 11);
  ack_fr.plaintext = Plaintext();
  never.push_back(ack_fr);
  c = Check(Records(Seal(never)));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->ok()) << Findings(*c);
}

// A download a node admitted before it read the item's erasure mark, whose
// start the policy stage sealed after the erasure: the stage records it as
// refused (no key went out), a remark. Refused before any erasure it is out
// of place: a violation.
TEST(Custody, ADownloadRefusedAfterTheErasureIsARemarkAndBeforeItAViolation) {
  std::vector<Step> steps = CleanSteps();
  steps.push_back(
      Event("evidence-download-refused", "DE-BKA", 11, liaison::v1::AUDIT_OPERATION_REFUSAL));
  absl::StatusOr<Custody> c = Check(Records(Seal(steps)));
  const CustodyFinding* remark = OnlyRemark(c, "download by DE-BKA refused: the item was erased");
  ASSERT_NE(remark, nullptr);
  EXPECT_EQ(c->entries[remark->entry].event, CustodyEvent::kDownloadRefused);

  std::vector<Step> early = CleanSteps();
  early.insert(early.end() - 1, Event("evidence-download-refused", "NL-NP", 9,
                                      liaison::v1::AUDIT_OPERATION_REFUSAL));
  c = Check(Records(Seal(early)));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->ok()) << Findings(*c);
  EXPECT_NE(Findings(*c).find("refused as erased, before the erasure"), std::string::npos)
      << Findings(*c);
}

// The uploader's completion recorded twice (a completion retried after
// Kafka did not acknowledge the item record, or one upload completed on two
// nodes): the same uploader and ciphertext, before any erasure. A remark:
// nothing more was disclosed. (By another sender, or after the erasure, it
// is a violation: BrokenCustody above.)
TEST(Custody, TheSameUploadRecordedAgainIsARemark) {
  std::vector<Step> steps = CleanSteps();
  Step again = steps.front();
  again.seconds = 30;
  steps.insert(steps.begin() + 3, again);  // after both keys were wrapped
  absl::StatusOr<Custody> c = Check(Records(Seal(steps)));
  const CustodyFinding* remark =
      OnlyRemark(c, "the upload recorded again by RO-IGPR, same ciphertext");
  ASSERT_NE(remark, nullptr);
  EXPECT_EQ(c->entries[remark->entry].event, CustodyEvent::kUploaded);
}

// A chain's entries are in seq order whatever their times: its partition
// moved to a node whose clock is behind, so the finished download is timed
// before its start.
TEST(Custody, AChainsOrderIsItsSeqWhenANodesClockIsBehind) {
  std::vector<Step> steps = CleanSteps();
  for (Step& s : steps) {
    if (s.event == "evidence-download-finished" && s.recipient == "DE-BKA") s.minute = 3;
  }
  absl::StatusOr<Custody> c = Check(Records(Seal(steps)));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->ok()) << Findings(*c);
  EXPECT_TRUE(c->findings.empty()) << Findings(*c);
  for (size_t i = 1; i < c->entries.size(); ++i) {
    if (c->entries[i].entry.chain() == c->entries[i - 1].entry.chain()) {
      EXPECT_LT(c->entries[i - 1].entry.seq(), c->entries[i].entry.seq());
    }
  }
}

// The decision is written on the manifest's chain by a node whose clock is
// 2 s ahead of the one recording the download: a remark. A minute later is a
// violation (DownloadBeforeTheDecision below).
TEST(Custody, ADecisionTimedSecondsAfterTheDownloadIsARemark) {
  std::vector<Step> steps = CleanSteps();
  for (Step& s : steps) {
    if (s.event == "decided" && s.recipient == "DE-BKA") {
      s.minute = 4;
      s.seconds = 2;
    }
  }
  absl::StatusOr<Custody> c = Check(Records(Seal(steps)));
  ASSERT_NE(OnlyRemark(c, "the decision allowing DE-BKA is timed up to 5s after"), nullptr);
}

// One way the chain of custody does not hold; `fragment` must appear in a
// violation, on the entry whose event is `at_event` (empty: the chain as a
// whole).
struct Broken {
  const char* name;
  std::function<void(std::vector<Step>&)> change;                           // on the steps
  std::function<void(std::map<int32_t, std::vector<AuditEntry>>&)> tamper;  // after sealing
  const char* fragment;
  const char* at_event;
  std::string at_member = "";
};
void PrintTo(const Broken& b, std::ostream* os) { *os << b.name; }

Step& Find(std::vector<Step>& steps, const std::string& event, const std::string& member) {
  for (Step& s : steps) {
    if (s.event == event && (member.empty() || s.recipient == member)) return s;
  }
  ADD_FAILURE() << "no step " << event << " " << member;
  return steps.front();
}
void Remove(std::vector<Step>& steps, const std::string& event, const std::string& member) {
  Step& s = Find(steps, event, member);
  steps.erase(steps.begin() + (&s - steps.data()));
}

class BrokenCustody : public ::testing::TestWithParam<Broken> {};

TEST_P(BrokenCustody, IsAViolationNamingTheEntry) {
  std::vector<Step> steps = CleanSteps();
  if (GetParam().change) GetParam().change(steps);
  std::map<int32_t, std::vector<AuditEntry>> chains = Seal(steps);
  std::vector<kafka::Record> records = Records(chains);
  if (GetParam().tamper) {
    // The insider changes the trail after the broker checkpointed it: the
    // changed entries, and the broker's checkpoints as they were.
    GetParam().tamper(chains);
    std::vector<kafka::Record> tampered = Records(chains, /*checkpoint=*/false);
    for (const kafka::Record& r : records) {
      liaison::v1::AuditRecord record;
      ASSERT_TRUE(record.ParseFromString(r.value));
      if (!record.has_checkpoint()) continue;
      tampered.push_back(r);
      tampered.back().offset = 1000;
    }
    records = std::move(tampered);
  }
  absl::StatusOr<Custody> c = Check(records);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->ok()) << Findings(*c);
  bool found = false;
  for (const CustodyFinding& f : c->findings) {
    if (f.kind != CustodyFinding::Kind::kViolation ||
        f.reason.find(GetParam().fragment) == std::string::npos) {
      continue;
    }
    if (GetParam().at_event[0] == '\0') {
      found = found || f.entry == -1;
    } else if (f.entry >= 0) {
      const CustodyEntry& e = c->entries[f.entry];
      found = found || (e.entry.event() == GetParam().at_event &&
                        (GetParam().at_member.empty() || e.member == GetParam().at_member));
    }
  }
  EXPECT_TRUE(found) << "want \"" << GetParam().fragment << "\" at " << GetParam().at_event << " "
                     << GetParam().at_member << "\n"
                     << Findings(*c);
}

INSTANTIATE_TEST_SUITE_P(
    Custody, BrokenCustody,
    ::testing::Values(
        Broken{"OtherCiphertextDigest",
               [](auto& s) {
                 Find(s, "evidence-download-finished", "NL-NP").ciphertext = certs::Sha256("other");
               },
               nullptr, "differs from the upload's", "evidence-download-finished", "NL-NP"},
        Broken{"NoCiphertextDigest",
               [](auto& s) { Find(s, "evidence-key-wrapped", "NL-NP").ciphertext = ""; }, nullptr,
               "carries no ciphertext digest", "evidence-key-wrapped", "NL-NP"},
        Broken{"OtherPlaintextDigest",
               [](auto& s) {
                 Find(s, "evidence-acknowledged", "DE-BKA").plaintext = certs::Sha256("other");
               },
               nullptr, "plaintext digest", "evidence-acknowledged", "DE-BKA"},
        Broken{"OtherJit", [](auto& s) { Find(s, "evidence-erased", "").jit = "JIT-2024-003"; },
               nullptr, "JIT JIT-2024-003 differs", "evidence-erased"},
        Broken{"SameCiphertextUnderAnotherItemId",
               [](auto& s) { Find(s, "evidence-download-started", "NL-NP").item = "ev-0002"; },
               nullptr, "under another item id, ev-0002", "evidence-download-started", "NL-NP"},
        Broken{"KeyWrappedBeforeTheUpload",
               // Written in the chain before the upload (seq order counts).
               [](auto& s) { std::rotate(s.begin(), s.begin() + 1, s.begin() + 3); }, nullptr,
               "before the upload", "evidence-key-wrapped", "DE-BKA"},
        Broken{"NoUpload", [](auto& s) { Remove(s, "evidence-uploaded", ""); }, nullptr,
               "no upload entry", ""},
        Broken{"ASecondUploadByAnotherSender",
               [](auto& s) {
                 Step again = Find(s, "evidence-uploaded", "");
                 again.sender = "DE-BKA";
                 s.insert(s.begin() + 1, again);
               },
               nullptr, "a second upload, by DE-BKA (the item's uploader is RO-IGPR)",
               "evidence-uploaded"},
        Broken{"ASecondUploadAfterTheErasure",
               [](auto& s) {
                 Step again = Find(s, "evidence-uploaded", "");
                 again.minute = 11;
                 s.push_back(again);
               },
               nullptr, "a second upload, after the erasure", "evidence-uploaded"},
        Broken{"DownloadByAMemberThePolicyRefused",
               [](auto& s) {
                 Step wrap = Find(s, "evidence-key-wrapped", "NL-NP");
                 wrap.recipient = "BG-GDNP";
                 s.insert(s.begin() + 3, wrap);
                 s.push_back(Event("evidence-download-started", "BG-GDNP", 3));
               },
               nullptr, "the policy decided REJECT for BG-GDNP on manifest manifest-1",
               "evidence-download-started", "BG-GDNP"},
        Broken{"DownloadWithoutAWrappedKey",
               [](auto& s) { Remove(s, "evidence-key-wrapped", "NL-NP"); }, nullptr,
               "no key was wrapped for NL-NP", "evidence-download-started", "NL-NP"},
        Broken{"DownloadWithoutADecision", [](auto& s) { Remove(s, "decided", "NL-NP"); }, nullptr,
               "no policy decision of a manifest naming the item for NL-NP",
               "evidence-download-started", "NL-NP"},
        Broken{"DownloadBeforeTheDecision",
               [](auto& s) { Find(s, "decided", "DE-BKA").minute = 5; }, nullptr,
               "no policy decision", "evidence-download-started", "DE-BKA"},
        Broken{"FinishedWithoutAStart",
               [](auto& s) { Remove(s, "evidence-download-started", "NL-NP"); }, nullptr,
               "with no download started", "evidence-download-finished", "NL-NP"},
        Broken{"AcknowledgedWithoutAFinishedDownload",
               [](auto& s) { Remove(s, "evidence-download-finished", "DE-BKA"); }, nullptr,
               "without a finished download", "evidence-acknowledged", "DE-BKA"},
        Broken{"AcknowledgementWithoutThePlaintextDigest",
               [](auto& s) { Find(s, "evidence-acknowledged", "NL-NP").plaintext = ""; }, nullptr,
               "carries no plaintext digest", "evidence-acknowledged", "NL-NP"},
        Broken{"DownloadAfterTheErasure",
               [](auto& s) { s.push_back(Event("evidence-download-started", "NL-NP", 11)); },
               nullptr, "after the erasure", "evidence-download-started", "NL-NP"},
        Broken{"DownloadAfterTheMembersKeyWasDestroyed",
               [](auto& s) {
                 Step destroyed = Event("evidence-key-destroyed", "NL-NP", 3,
                                        liaison::v1::AUDIT_OPERATION_ERASURE);
                 s.insert(s.begin() + 6, destroyed);
               },
               nullptr, "after NL-NP's key was destroyed", "evidence-download-started", "NL-NP"},
        Broken{"ErasedAsAllAcknowledgedButOneDidNot",
               [](auto& s) { Remove(s, "evidence-acknowledged", "NL-NP"); }, nullptr,
               "but NL-NP did not acknowledge", "evidence-erased"},
        Broken{"AnEntryAlteredAfterItWasCheckpointed", nullptr,
               [](auto& chains) {
                 // The download's recipient changed; the hash no longer recomputes.
                 for (AuditEntry& e : chains[kItemChain]) {
                   if (e.event() == "evidence-download-started" && e.recipient() == "NL-NP") {
                     e.set_recipient("BG-GDNP");
                   }
                 }
               },
               "entry_hash does not match its content", "evidence-download-started", "BG-GDNP"},
        Broken{"AnEntryAlteredAndResealed", nullptr,
               [](auto& chains) {
                 for (AuditEntry& e : chains[kItemChain]) {
                   if (e.event() == "evidence-acknowledged" && e.recipient() == "DE-BKA") {
                     e.set_recipient("NL-NP");
                     e.set_entry_hash(EntryHash(e));
                   }
                 }
               },
               "prev_hash does not match", "evidence-acknowledged", "NL-NP"},
        Broken{"TheChainCutAfterTheDownloads", nullptr,
               [](auto& chains) { chains[kItemChain].resize(chains[kItemChain].size() - 2); },
               "were removed (truncated); custody entries may have gone", ""}),
    [](const ::testing::TestParamInfo<Broken>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace liaison::audit
