// `liaison evidence custody ITEM` and `liaison audit export | verify --from`
// through the real `liaison` CLI. First on a synthetic audit trail of one
// evidence item (upload, key wraps, the manifest's decisions, downloads, an
// acknowledgement), sealed and checkpointed as the broker does, read from an
// export file and from the audit topic of a running broker (embedded Kafka);
// a tampered entry is named with its chain and seq, exit code 3. Then end to
// end: RO-IGPR uploads through the CLI for DE-BKA and NL-NP (and BG-GDNP,
// refused), both members download, and the custody the broker wrote is
// shown and verified. Synthetic bytes only.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/audit/export_file.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/broker_process.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using liaison::v1::AuditEntry;

std::string Cli(const std::string& args) {
  return absl::StrCat(LIAISON_CLI_BIN, " ", args, " 2>&1");
}

// The custody of item `item` in chains `base` (the item's) and `base + 1`
// (the manifest's), sealed as the broker seals them: RO-IGPR uploads for
// DE-BKA and NL-NP; the policy allows both and refuses BG-GDNP; DE-BKA
// downloads and acknowledges. Each chain starts with an unrelated entry.
std::map<int32_t, std::vector<AuditEntry>> Trail(const std::string& item, int32_t base) {
  const absl::Time t0 = absl::Now() - absl::Minutes(30);
  const std::string ciphertext = certs::Sha256("ciphertext " + item);
  const std::string plaintext = certs::Sha256("plaintext " + item);
  std::map<int32_t, std::vector<AuditEntry>> chains;
  auto add = [&](int32_t chain, int minute, const std::string& event,
                 liaison::v1::AuditOperation op, const std::string& recipient,
                 liaison::v1::Outcome decision = liaison::v1::OUTCOME_UNSPECIFIED,
                 bool with_plaintext = false) -> AuditEntry& {
    std::vector<AuditEntry>& entries = chains[chain];
    AuditEntry e;
    e.set_chain(chain);
    e.set_seq(entries.size() + 1);
    if (!entries.empty()) e.set_prev_hash(entries.back().entry_hash());
    *e.mutable_ts() = ToProto(t0 + absl::Minutes(minute));
    e.set_operation(op);
    e.set_event(event);
    e.set_sender("RO-IGPR");
    e.set_recipient(recipient);
    e.set_decision(decision);
    e.set_broker_id("broker-1");
    if (!event.empty() && event != "other") {
      liaison::v1::EvidenceRef* ref = e.add_evidence();
      ref->set_item_id(item);
      ref->set_jit_id("JIT-2025-014");
      ref->set_ciphertext_sha256(ciphertext);
      if (with_plaintext) ref->set_sha256(plaintext);
    }
    if (event == "decided") {
      e.set_message_id("manifest-" + item);
      e.set_kind(liaison::v1::KIND_EVIDENCE_MANIFEST);
      e.add_rule_ids(decision == liaison::v1::OUTCOME_REJECT ? "DP-JIT-01" : "DP-JIT-02");
    }
    if (event == "evidence-uploaded") {
      e.set_recipient("");
      e.mutable_custody()->set_chunk_count(2);
      e.mutable_custody()->set_ciphertext_size(2 * 1048576);
    }
    if (event == "evidence-download-finished") e.mutable_custody()->set_chunks_sent(2);
    e.set_entry_hash(audit::EntryHash(e));
    entries.push_back(std::move(e));
    return entries.back();
  };
  using liaison::v1::AUDIT_OPERATION_COLLECTION;
  using liaison::v1::AUDIT_OPERATION_DISCLOSURE;
  add(base, -10, "other", liaison::v1::AUDIT_OPERATION_DISCLOSURE, "NL-NP");
  add(base + 1, -10, "other", liaison::v1::AUDIT_OPERATION_DISCLOSURE, "NL-NP");
  add(base, 0, "evidence-uploaded", AUDIT_OPERATION_COLLECTION, "");
  add(base, 0, "evidence-key-wrapped", AUDIT_OPERATION_COLLECTION, "DE-BKA");
  add(base, 0, "evidence-key-wrapped", AUDIT_OPERATION_COLLECTION, "NL-NP");
  add(base + 1, 1, "decided", AUDIT_OPERATION_DISCLOSURE, "DE-BKA", liaison::v1::OUTCOME_ALLOW,
      true);
  add(base + 1, 1, "decided", AUDIT_OPERATION_DISCLOSURE, "NL-NP", liaison::v1::OUTCOME_ALLOW,
      true);
  add(base + 1, 1, "decided", liaison::v1::AUDIT_OPERATION_REFUSAL, "BG-GDNP",
      liaison::v1::OUTCOME_REJECT, true);
  add(base, 2, "evidence-download-started", AUDIT_OPERATION_DISCLOSURE, "DE-BKA");
  add(base, 3, "evidence-download-finished", AUDIT_OPERATION_DISCLOSURE, "DE-BKA");
  add(base, 4, "evidence-acknowledged", AUDIT_OPERATION_DISCLOSURE, "DE-BKA", {}, true);
  return chains;
}

// Each chain's entries as records, then a checkpoint of its head signed
// with the broker key `key_prefix`.{key,pem}.
std::vector<std::string> Sealed(const std::map<int32_t, std::vector<AuditEntry>>& chains,
                                const std::string& key_prefix) {
  absl::StatusOr<std::unique_ptr<certs::Signer>> broker =
      certs::Signer::FromPemFiles(key_prefix + ".key", key_prefix + ".pem");
  EXPECT_TRUE(broker.ok()) << broker.status();
  std::vector<std::string> out;
  for (const auto& [chain, entries] : chains) {
    for (const AuditEntry& e : entries) {
      liaison::v1::AuditRecord r;
      *r.add_entries() = e;
      out.push_back(r.SerializeAsString());
    }
    liaison::v1::AuditCheckpoint c;
    c.set_chain(chain);
    c.set_seq(entries.back().seq());
    c.set_head_hash(entries.back().entry_hash());
    // A little ahead (within the verifier's 5 minutes of clock skew): a PKI
    // minted this second is valid from this second only.
    *c.mutable_signed_at() = ToProto(absl::Now() + absl::Minutes(2));
    absl::StatusOr<liaison::v1::SignedAuditCheckpoint> signed_checkpoint =
        audit::SignCheckpoint(c, **broker);
    EXPECT_TRUE(signed_checkpoint.ok()) << signed_checkpoint.status();
    liaison::v1::AuditRecord r;
    *r.mutable_checkpoint() = *signed_checkpoint;
    out.push_back(r.SerializeAsString());
  }
  return out;
}

std::string ExportFile(const std::string& path, const std::vector<std::string>& values) {
  std::vector<kafka::Record> records;
  for (const std::string& v : values) {
    kafka::Record r;
    r.partition = 0;
    r.offset = static_cast<int64_t>(records.size());
    r.timestamp = absl::Now();
    r.value = v;
    records.push_back(std::move(r));
  }
  std::ofstream out(path);
  EXPECT_TRUE(audit::WriteExport("liaison.audit", records, out).ok());
  return path;
}

TEST(EvidenceCustodyCli, AnExportedTrailIsVerifiedAndATamperedEntryIsNamed) {
  const std::string dir = MakeTempDir("liaison-e2e-custody");
  const std::string pki = " --pki " + SharedTestPki().dir;
  std::map<int32_t, std::vector<AuditEntry>> chains = Trail("ev-custody-1", 0);
  const std::string file =
      ExportFile(dir + "/audit.jsonl", Sealed(chains, SharedTestPki().dir + "/broker/tls"));

  CommandResult shown = RunCommand(Cli("evidence custody ev-custody-1 --from " + file + pki));
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  for (const char* line :
       {"evidence item ev-custody-1 (JIT JIT-2025-014)", "uploaded ", "key wrapped ",
        "decision ALLOW ", "decision REJECT ", "download started ", "download finished ",
        "acknowledged ", "0/2 ", "1/4 ", "rules DP-JIT-01",
        "custody verified: 9 entries, chains intact, covered by signed checkpoints up to ",
        "(chain 0 seq 7, chain 1 seq 4)"}) {
    EXPECT_TRUE(absl::StrContains(shown.output, line)) << line << "\n" << shown.output;
  }
  EXPECT_FALSE(absl::StrContains(shown.output, "VIOLATION")) << shown.output;
  // The same item found by its ciphertext digest.
  const std::string digest = certs::HexEncode(certs::Sha256("ciphertext ev-custody-1"));
  CommandResult by_digest = RunCommand(Cli("evidence custody " + digest + " --from " + file + pki));
  EXPECT_EQ(by_digest.exit_code, 0) << by_digest.output;
  EXPECT_TRUE(absl::StrContains(by_digest.output, "custody verified: 9 entries"))
      << by_digest.output;

  CommandResult json = RunCommand(Cli("evidence custody ev-custody-1 --json --from " + file + pki));
  EXPECT_EQ(json.exit_code, 0) << json.output;
  nlohmann::json out = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << json.output;
  EXPECT_TRUE(out["ok"].get<bool>());
  ASSERT_EQ(out["entries"].size(), 9u);
  EXPECT_EQ(out["entries"][0]["event"], "evidence-uploaded");
  EXPECT_EQ(out["entries"][0]["member"], "RO-IGPR");
  EXPECT_EQ(out["entries"][0]["ciphertext_sha256"], digest);
  EXPECT_TRUE(out["entries"][8]["checkpointed"].get<bool>());
  EXPECT_EQ(out["findings"].size(), 0u) << json.output;

  CommandResult verified = RunCommand(Cli("audit verify --from " + file + pki));
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_TRUE(absl::StrContains(verified.output, "audit chain intact")) << verified.output;

  CommandResult unknown = RunCommand(Cli("evidence custody ev-none --from " + file + pki));
  EXPECT_EQ(unknown.exit_code, 4) << unknown.output;
  EXPECT_TRUE(absl::StrContains(unknown.output, "no audit entry names evidence item ev-none"))
      << unknown.output;
  CommandResult missing =
      RunCommand(Cli("evidence custody ev-custody-1 --from " + dir + "/absent.jsonl" + pki));
  EXPECT_EQ(missing.exit_code, 66) << missing.output;

  // An insider with write access changes who downloaded (DE-BKA -> NL-NP)
  // after the broker checkpointed the chain: the entry no longer hashes.
  for (AuditEntry& e : chains[0]) {
    if (e.event() == "evidence-download-started") e.set_recipient("NL-NP");
  }
  const std::string tampered =
      ExportFile(dir + "/tampered.jsonl", Sealed(chains, SharedTestPki().dir + "/broker/tls"));
  // (Sealed re-signed the heads: the broker's signatures still match, since
  // the entry_hash fields were not recomputed.)
  CommandResult broken = RunCommand(Cli("evidence custody ev-custody-1 --from " + tampered + pki));
  EXPECT_EQ(broken.exit_code, 3) << broken.output;
  EXPECT_TRUE(absl::StrContains(broken.output,
                                "VIOLATION download started NL-NP (chain 0 seq 5): audit chain "
                                "broken: chain 0 seq 5 (partition 0 offset"))
      << broken.output;
  EXPECT_TRUE(absl::StrContains(broken.output, "entry_hash does not match its content"))
      << broken.output;
  EXPECT_TRUE(absl::StrContains(broken.output, "CHAIN BROKEN")) << broken.output;
  EXPECT_TRUE(absl::StrContains(broken.output, "CUSTODY NOT VERIFIED")) << broken.output;
  CommandResult broken_json =
      RunCommand(Cli("evidence custody ev-custody-1 --json --from " + tampered + pki));
  EXPECT_EQ(broken_json.exit_code, 3) << broken_json.output;
  nlohmann::json bj = nlohmann::json::parse(broken_json.output, nullptr, false);
  ASSERT_FALSE(bj.is_discarded()) << broken_json.output;
  EXPECT_FALSE(bj["ok"].get<bool>());
  EXPECT_EQ(bj["findings"][0]["kind"], "violation");
  EXPECT_EQ(bj["findings"][0]["seq"], 5);
  CommandResult verify_broken = RunCommand(Cli("audit verify --from " + tampered + pki));
  EXPECT_EQ(verify_broken.exit_code, 3) << verify_broken.output;
}

// The same read as the auditor from a running broker's audit topic, then
// saved with `liaison audit export` and checked from the file. The trail is
// written straight into the embedded Kafka (chains 1000 and 1001, beside the
// broker's own) with the broker's key.
TEST(EvidenceCustodyCli, ReadsTheAuditTopicAndItsExport) {
  if (OnRealKafka()) GTEST_SKIP() << "writes straight into the embedded Kafka";
  const std::string state = MakeTempDir("liaison-e2e-custody-topic");
  BrokerProcess broker(state);
  ASSERT_TRUE(broker.WaitServing()) << ReadFileOrDie(broker.log());
  nlohmann::json info = nlohmann::json::parse(ReadFileOrDie(state + "/broker.json"));
  const std::string pki = info["pki_dir"].get<std::string>();
  kafka::ClientConfig kafka;
  kafka.bootstrap_servers = info["kafka_bootstrap"].get<std::string>();
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(kafka);
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (const std::string& value : Sealed(Trail("ev-custody-2", 1000), pki + "/broker/tls")) {
    absl::Notification done;
    absl::Status written;
    (*producer)->Produce(
        info["topic_prefix"].get<std::string>() + ".audit", "", value,
        [&](const kafka::DeliveryReport& r) {
          written = r.status;
          done.Notify();
        },
        0);
    done.WaitForNotification();
    ASSERT_TRUE(written.ok()) << written;
  }
  producer->reset();  // before the broker (and its Kafka) stops
  const std::string dir = " --state-dir " + state;
  CommandResult shown = RunCommand(Cli("evidence custody ev-custody-2" + dir));
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_TRUE(absl::StrContains(shown.output, "custody verified: 9 entries, chains intact"))
      << shown.output;
  EXPECT_TRUE(absl::StrContains(shown.output, "(chain 1000 seq 7, chain 1001 seq 4)"))
      << shown.output;

  const std::string file = state + "/audit-export.jsonl";
  CommandResult exported = RunCommand(Cli("audit export " + file + dir));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_TRUE(absl::StrContains(exported.output, "exported ")) << exported.output;
  EXPECT_EQ(broker.Stop(), 0);
  // Offline: the broker is gone, the copy is checked with the network's PKI.
  CommandResult offline =
      RunCommand(Cli("evidence custody ev-custody-2 --from " + file + " --pki " + pki));
  EXPECT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_TRUE(absl::StrContains(offline.output, "custody verified: 9 entries, chains intact"))
      << offline.output;
  CommandResult verified = RunCommand(Cli("audit verify --from " + file + " --pki " + pki));
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

// The whole path: the CLI uploads, the broker's front door records the
// upload and the downloads, its policy stage decides the manifest and writes
// the custody entries, and `evidence custody` reads them back as the auditor.
TEST(EvidenceCustodyCli, AnUploadAndItsDownloadsShowAsAVerifiedChainOfCustody) {
  const std::string state = MakeTempDir("liaison-e2e-custody-flow");
  // The development registry with JIT-2025-014's end moved into the future
  // (it ended 2026-05-31), as in evidence_cli_test.cc.
  std::string registry = ReadFileOrDie(SourcePath("deploy/registry/dev.textproto"));
  for (const std::string from :
       {"end { seconds: 1780272000 }    # 2026-06-01 (valid through 2026-05-31)",
        "new_end { seconds: 1780272000 }       # 2026-06-01"}) {
    ASSERT_NE(registry.find(from), std::string::npos) << from;
    registry.replace(registry.find(from), from.size(),
                     absl::StrCat(from.substr(0, from.find('{')), "{ seconds: 4102444800 }"));
  }
  std::ofstream(state + "/registry.textproto") << registry;
  BrokerProcess broker(state, {"--registry", state + "/registry.textproto"});
  ASSERT_TRUE(broker.WaitServing()) << ReadFileOrDie(broker.log());
  const std::string dir = " --state-dir " + state;
  std::string bytes(1536 * 1024 + 7, '\0');  // 2 chunks
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + 7) & 0xff);
  std::ofstream(state + "/statement.bin", std::ios::binary) << bytes;

  CommandResult uploaded =
      RunCommand(Cli("evidence upload --as RO-IGPR --jit JIT-2025-014 --to DE-BKA,NL-NP,BG-GDNP "
                     "--item-id EV-CUSTODY-1 --case-ref RO-2025-0713 " +
                     state + "/statement.bin" + dir));
  ASSERT_EQ(uploaded.exit_code, 0) << uploaded.output;
  for (const std::string member : {"DE-BKA", "NL-NP"}) {
    CommandResult got;
    ASSERT_TRUE(WaitFor(
        [&] {
          got = RunCommand(Cli("evidence download --as " + member + " EV-CUSTODY-1 --out " + state +
                               "/" + member + dir));
          return got.exit_code == 0;
        },
        absl::Seconds(60)))
        << got.output << ReadFileOrDie(broker.log());
    EXPECT_EQ(ReadFileOrDie(state + "/" + member + "/EV-CUSTODY-1"), bytes);
  }

  // The custody entries reach the audit trail through the policy stage, and
  // the broker checkpoints the chains every few seconds.
  CommandResult shown;
  ASSERT_TRUE(WaitFor(
      [&] {
        shown = RunCommand(Cli("evidence custody EV-CUSTODY-1" + dir));
        return shown.exit_code == 0 &&
               absl::StrContains(shown.output, "download finished     NL-NP") &&
               !absl::StrContains(shown.output, "not yet covered");
      },
      absl::Seconds(90)))
      << shown.output << ReadFileOrDie(broker.log());
  for (const char* line :
       {"evidence item EV-CUSTODY-1 (JIT JIT-2025-014)", "uploaded              RO-IGPR",
        "key wrapped           DE-BKA", "key wrapped           NL-NP",
        "decision ALLOW        DE-BKA", "decision ALLOW        NL-NP",
        "decision REJECT       BG-GDNP", "DP-JIT-01", "download started      DE-BKA",
        "download finished     DE-BKA", "download started      NL-NP",
        "download finished     NL-NP", "2 chunks, ",
        "custody verified: ", "chains intact, covered by signed checkpoints up to "}) {
    EXPECT_TRUE(absl::StrContains(shown.output, line)) << line << "\n" << shown.output;
  }
  EXPECT_FALSE(absl::StrContains(shown.output, "VIOLATION")) << shown.output;
  EXPECT_FALSE(absl::StrContains(shown.output, "key wrapped           BG-GDNP")) << shown.output;

  CommandResult json = RunCommand(Cli("evidence custody EV-CUSTODY-1 --json" + dir));
  ASSERT_EQ(json.exit_code, 0) << json.output;
  nlohmann::json out = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << json.output;
  EXPECT_TRUE(out["ok"].get<bool>());
  ASSERT_FALSE(out["entries"].empty());
  // Entries in time order across chains: the upload before every download.
  // (The manifest's decisions are audited in another chain, by whichever
  // stage reads that partition first: under load they may carry the same
  // second as the upload, or one before it.)
  size_t upload_at = out["entries"].size(), first_download = out["entries"].size();
  for (size_t i = 0; i < out["entries"].size(); ++i) {
    const std::string event = out["entries"][i]["event"];
    if (event == "evidence-uploaded" && upload_at == out["entries"].size()) upload_at = i;
    if (absl::StartsWith(event, "evidence-download") && first_download == out["entries"].size()) {
      first_download = i;
    }
  }
  EXPECT_LT(upload_at, first_download) << json.output;
  std::string digest;
  for (const nlohmann::json& e : out["entries"]) {
    EXPECT_TRUE(e["chain_intact"].get<bool>()) << e.dump();
    EXPECT_TRUE(e["checkpointed"].get<bool>()) << e.dump();
    if (digest.empty()) digest = e["ciphertext_sha256"];
    EXPECT_EQ(e["ciphertext_sha256"], digest) << e.dump();
  }
  EXPECT_EQ(broker.Stop(), 0);
}

}  // namespace
}  // namespace liaison::testing
