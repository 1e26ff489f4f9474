#include "policy/rules/evidence_integrity.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/evidence.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

InMemoryEvidenceIndex StoreOf(const liaison::v1::Message& m) {
  InMemoryEvidenceIndex store;
  for (const auto& item : m.evidence_manifest().items()) {
    store.Add(m.evidence_manifest().jit_id(), item.item_id(),
              EvidenceRecord{item.sha256(), item.size()});
  }
  return store;
}

TEST(EvidenceIntegrityRule, PassesAConsistentManifestAndSaysHashesWereNotChecked) {
  const auto m = scenario::Ac16EvidenceManifest();
  const Verdict v = EvidenceIntegrityRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_THAT(v.reason, HasSubstr("blob hashes not checked"));
}

TEST(EvidenceIntegrityRule, PassesWhenTheStoreHoldsTheSameHashes) {
  const auto m = scenario::Ac16EvidenceManifest();
  const InMemoryEvidenceIndex store = StoreOf(m);
  Input in = scenario::InputFor(m, "DE-BKA");
  in.evidence = &store;
  const Verdict v = EvidenceIntegrityRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_TRUE(v.reason.empty());
}

TEST(EvidenceIntegrityRule, RejectsAHashMismatch) {
  const auto m = scenario::Ac16EvidenceManifest();
  auto tampered = m;
  std::string* sha = tampered.mutable_evidence_manifest()->mutable_items(0)->mutable_sha256();
  (*sha)[0] = static_cast<char>((*sha)[0] ^ 1);
  const InMemoryEvidenceIndex store = StoreOf(m);
  Input in = scenario::InputFor(tampered, "DE-BKA");
  in.evidence = &store;
  const Verdict v = EvidenceIntegrityRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-JIT-03: evidence_manifest.items[0].sha256 mismatch; the manifest must list each "
            "uploaded item once with the id, SHA-256 and size the evidence store recorded");
}

TEST(EvidenceIntegrityRule, RejectsAnItemNeverUploaded) {
  const auto m = scenario::Ac16EvidenceManifest();
  InMemoryEvidenceIndex empty;
  Input in = scenario::InputFor(m, "DE-BKA");
  in.evidence = &empty;
  EXPECT_THAT(EvidenceIntegrityRule().Check(in).reason, HasSubstr("is not in the evidence store"));
}

TEST(EvidenceIntegrityRule, RejectsAShortHashAndAnEmptyBlob) {
  auto m = scenario::Ac16EvidenceManifest();
  m.mutable_evidence_manifest()->mutable_items(0)->set_sha256("short");
  m.mutable_evidence_manifest()->mutable_items(1)->set_size(0);
  const Verdict v = EvidenceIntegrityRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("evidence_manifest.items[0].sha256 must be 32 bytes"));
  EXPECT_THAT(v.reason, HasSubstr("evidence_manifest.items[1].size must be positive"));
}

}  // namespace
}  // namespace liaison::policy::rules
