#include "connectors/cli/custody_command.h"

#include <algorithm>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/proto_time.h"
#include "certs/signature.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/custody.h"
#include "connectors/cli/exit_codes.h"
#include "nlohmann/json.hpp"

namespace liaison::cli {
namespace {

using Json = nlohmann::ordered_json;
using audit::CustodyEntry;
using audit::CustodyEvent;
using audit::CustodyFinding;

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string Hex(const std::string& bytes) { return certs::HexEncode(bytes); }

std::string Trimmed(const std::string& name, size_t prefix) {
  return name.size() > prefix ? name.substr(prefix) : name;
}

// "decision ALLOW", "download finished", ...
std::string EventText(const CustodyEntry& e) {
  std::string text = audit::CustodyEventName(e.event);
  if (e.event == CustodyEvent::kDecision) {
    absl::StrAppend(&text, " ", Trimmed(liaison::v1::Outcome_Name(e.entry.decision()), 8));
  } else if (e.event == CustodyEvent::kOther) {
    text = e.entry.event();
  }
  return text;
}

// What else the entry says, briefly.
std::string Details(const CustodyEntry& e) {
  const liaison::v1::EvidenceCustody& c = e.entry.custody();
  std::vector<std::string> parts;
  switch (e.event) {
    case CustodyEvent::kUploaded:
      parts.push_back(absl::StrCat(c.chunk_count(), " chunks, ", c.ciphertext_size(), " bytes"));
      break;
    case CustodyEvent::kDecision: {
      parts.push_back(absl::StrCat("manifest ", e.entry.message_id()));
      if (e.entry.rule_ids_size() > 0) {
        parts.push_back(absl::StrCat("rules ", absl::StrJoin(e.entry.rule_ids(), ",")));
      }
      break;
    }
    case CustodyEvent::kDownloadStarted:
      parts.push_back(absl::StrCat("from chunk ", c.from_chunk()));
      break;
    case CustodyEvent::kDownloadFinished:
      parts.push_back(absl::StrCat(c.chunks_sent(), " chunk(s) sent from chunk ", c.from_chunk()));
      break;
    case CustodyEvent::kDownloadRefused:
      parts.push_back("no key sent: the item was erased");
      break;
    case CustodyEvent::kErased:
      parts.push_back(Trimmed(liaison::v1::EvidenceErasureReason_Name(c.erasure_reason()),
                              sizeof("EVIDENCE_ERASURE_REASON_") - 1));
      break;
    case CustodyEvent::kJitExtended:
      parts.push_back(absl::StrCat("JIT end ", Utc(FromProto(c.previous_jit_end())), " -> ",
                                   Utc(FromProto(c.jit_end()))));
      break;
    default:
      break;
  }
  if (!e.ref.sha256().empty()) parts.push_back("sha256 " + Hex(e.ref.sha256()).substr(0, 12));
  return absl::StrJoin(parts, "; ");
}

std::string Where(const CustodyEntry& e) {
  return absl::StrCat(e.entry.chain(), "/", e.entry.seq());
}

std::string Coverage(const CustodyEntry& e) {
  if (!e.chain_intact) return "CHAIN BROKEN";
  if (!e.checkpointed) return "not yet checkpointed";
  return absl::StrCat("signed ", Utc(e.checkpointed_at), " (", e.checkpoint_signer, ")");
}

Json EntryJson(const CustodyEntry& e) {
  Json j;
  j["ts"] = Utc(FromProto(e.entry.ts()));
  j["event"] = e.entry.event();
  j["kind"] = audit::CustodyEventName(e.event);
  j["operation"] = Trimmed(liaison::v1::AuditOperation_Name(e.entry.operation()), 16);
  j["member"] = e.member;
  j["sender"] = e.entry.sender();
  j["recipient"] = e.entry.recipient();
  if (e.event == CustodyEvent::kDecision) {
    j["decision"] = Trimmed(liaison::v1::Outcome_Name(e.entry.decision()), 8);
    j["manifest"] = e.entry.message_id();
    j["rule_ids"] = std::vector<std::string>(e.entry.rule_ids().begin(), e.entry.rule_ids().end());
  }
  j["item_id"] = e.ref.item_id();
  j["jit_id"] = e.ref.jit_id();
  j["ciphertext_sha256"] = Hex(e.ref.ciphertext_sha256());
  j["sha256"] = Hex(e.ref.sha256());
  const liaison::v1::EvidenceCustody& c = e.entry.custody();
  if (e.event == CustodyEvent::kUploaded) {
    j["chunk_count"] = c.chunk_count();
    j["ciphertext_size"] = c.ciphertext_size();
  }
  if (e.event == CustodyEvent::kDownloadStarted || e.event == CustodyEvent::kDownloadFinished) {
    j["from_chunk"] = c.from_chunk();
    j["chunks_sent"] = c.chunks_sent();
  }
  if (e.event == CustodyEvent::kErased) {
    j["erasure_reason"] = Trimmed(liaison::v1::EvidenceErasureReason_Name(c.erasure_reason()),
                                  sizeof("EVIDENCE_ERASURE_REASON_") - 1);
  }
  if (e.event == CustodyEvent::kJitExtended) {
    j["previous_jit_end"] = Utc(FromProto(c.previous_jit_end()));
    j["jit_end"] = Utc(FromProto(c.jit_end()));
  }
  j["chain"] = e.entry.chain();
  j["seq"] = e.entry.seq();
  j["entry_hash"] = Hex(e.entry.entry_hash());
  j["broker_id"] = e.entry.broker_id();
  j["chain_intact"] = e.chain_intact;
  if (!e.chain_intact) j["chain_problem"] = e.chain_problem;
  j["checkpointed"] = e.checkpointed;
  if (e.checkpointed) {
    j["checkpointed_seq"] = e.checkpointed_seq;
    j["checkpointed_at"] = Utc(e.checkpointed_at);
    j["checkpoint_signer"] = e.checkpoint_signer;
  }
  return j;
}

// "covered by signed checkpoints up to 2026-...Z (chain 0 seq 25, chain 1 seq 9)"
std::string CheckpointSummary(const audit::Custody& c) {
  std::map<int32_t, const CustodyEntry*> newest;  // per chain, the entry of the latest checkpoint
  absl::Time latest = absl::InfinitePast();
  for (const CustodyEntry& e : c.entries) {
    if (!e.checkpointed) continue;
    newest[e.entry.chain()] = &e;
    latest = std::max(latest, e.checkpointed_at);
  }
  std::vector<std::string> chains;
  for (const auto& [chain, e] : newest) {
    chains.push_back(absl::StrCat("chain ", chain, " seq ", e->checkpointed_seq));
  }
  return absl::StrCat("signed checkpoints up to ", Utc(latest), " (", absl::StrJoin(chains, ", "),
                      ")");
}

int RunCustody(const CustodyArgs& args) {
  const AuditArgs& a = args.audit;
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust = AuditTrustStore(a);
  if (!trust.ok()) return Fail(trust.status());
  const certs::Verifier verifier(*trust);
  audit::VerifyOptions options;
  if (!a.pin_file.empty()) {
    absl::StatusOr<std::vector<liaison::v1::SignedAuditCheckpoint>> pinned =
        ReadPinnedCheckpoints(a.pin_file);
    if (!pinned.ok()) return Fail(pinned.status());
    options.pinned = std::move(*pinned);
  }
  absl::StatusOr<std::vector<kafka::Record>> records = ReadAuditRecords(a);
  if (!records.ok()) return Fail(records.status());
  const audit::Verification verification = audit::VerifyRecords(*records, verifier, options);
  absl::StatusOr<audit::Custody> custody = audit::CustodyOf(*records, verification, args.item);
  if (!custody.ok()) {
    if (custody.status().code() == absl::StatusCode::kNotFound) {
      std::cerr << "no custody: " << custody.status().message() << " in the audit trail ("
                << (a.from_file.empty() ? AuditTopicName(a) : a.from_file) << ")\n";
      return kExitNothingFound;
    }
    return Fail(custody.status());
  }
  const audit::Custody& c = *custody;
  int uncovered = 0;
  for (const CustodyEntry& e : c.entries) uncovered += e.checkpointed ? 0 : 1;
  if (a.json) {
    Json out;
    out["item_id"] = c.item_id;
    out["jit_id"] = c.jit_id;
    out["ciphertext_sha256"] = Hex(c.ciphertext_sha256);
    out["sha256"] = Hex(c.sha256);
    out["ok"] = c.ok();
    out["violations"] = c.violations();
    out["uncovered"] = uncovered;
    Json entries = Json::array();
    for (const CustodyEntry& e : c.entries) entries.push_back(EntryJson(e));
    out["entries"] = std::move(entries);
    Json findings = Json::array();
    for (const CustodyFinding& f : c.findings) {
      Json j;
      j["kind"] = f.kind == CustodyFinding::Kind::kViolation ? "violation" : "remark";
      if (f.entry >= 0) {
        j["chain"] = c.entries[f.entry].entry.chain();
        j["seq"] = c.entries[f.entry].entry.seq();
        j["event"] = c.entries[f.entry].entry.event();
      }
      j["reason"] = f.reason;
      findings.push_back(std::move(j));
    }
    out["findings"] = std::move(findings);
    std::cout << out.dump(2) << std::endl;
    return c.ok() ? kExitOk : kExitVerifyFailed;
  }
  std::cout << "evidence item " << c.item_id << " (JIT " << c.jit_id << ")\n"
            << "  ciphertext sha256 " << Hex(c.ciphertext_sha256) << "\n"
            << "  plaintext sha256  " << (c.sha256.empty() ? "(not recorded)" : Hex(c.sha256))
            << "\n\n";
  std::cout << absl::StrFormat("%-20s  %-20s  %-10s  %-12s  %-9s  %s\n", "TIME", "EVENT", "WHO",
                               "DIGEST", "CHAIN/SEQ", "CHECKPOINT");
  for (const CustodyEntry& e : c.entries) {
    std::cout << absl::StrFormat(
        "%-20s  %-20s  %-10s  %-12s  %-9s  %s", Utc(FromProto(e.entry.ts())), EventText(e),
        e.member, Hex(e.ref.ciphertext_sha256()).substr(0, 12), Where(e), Coverage(e));
    if (const std::string d = Details(e); !d.empty()) std::cout << "  " << d;
    std::cout << "\n";
  }
  std::cout << "\n";
  for (const CustodyFinding& f : c.findings) {
    std::cout << (f.kind == CustodyFinding::Kind::kViolation ? "VIOLATION " : "remark    ");
    if (f.entry >= 0) {
      const CustodyEntry& e = c.entries[f.entry];
      std::cout << EventText(e) << (e.member.empty() ? "" : " ") << e.member << " (chain "
                << e.entry.chain() << " seq " << e.entry.seq() << "): ";
    }
    std::cout << f.reason << "\n";
  }
  if (!c.ok()) {
    std::cout << "CUSTODY NOT VERIFIED: " << c.violations() << " violation(s) in "
              << c.entries.size() << " entries\n";
    return kExitVerifyFailed;
  }
  std::cout << "custody verified: " << c.entries.size() << " entries, chains intact";
  if (uncovered < static_cast<int>(c.entries.size())) {
    std::cout << ", covered by " << CheckpointSummary(c);
  }
  if (uncovered > 0) std::cout << "; " << uncovered << " not yet covered by a signed checkpoint";
  std::cout << "\n";
  return kExitOk;
}

}  // namespace

void AddCustodyCommand(CLI::App* evidence, CustodyArgs& args, int& exit_code) {
  CLI::App* custody = evidence->add_subcommand(
      "custody", "The chain of custody of an item, read from the audit trail and verified");
  AddAuditKafkaFlags(custody, args.audit);
  custody
      ->add_option("item", args.item, "Item id, or the item's ciphertext SHA-256 (64 hex digits)")
      ->required();
  custody->add_option("--from", args.audit.from_file,
                      "Read this file of `liaison audit export` instead of Kafka");
  custody->add_option("--pki", args.audit.pki_dir,
                      "Folder with the network's ca.pem and crl.pem, to check the checkpoints' "
                      "broker certificates (default: the running broker's, from broker.json)");
  custody->add_option("--pin", args.audit.pin_file,
                      "Checkpoints kept outside Kafka (JSON of `liaison audit verify --pin`), "
                      "checked too (not rewritten)");
  custody->footer(
      "Reads the audit trail as the auditor (like `liaison audit verify`), verifies its hash\n"
      "chains and signed checkpoints, and checks the item's custody entries: one ciphertext\n"
      "and plaintext digest throughout, upload first, downloads only by members with a wrapped\n"
      "key and an ALLOW/REDACT decision of a manifest naming the item, every download finished\n"
      "(else shown as broken off), acknowledgements after a finished download, nothing\n"
      "disclosed after the erasure. Exit 3 on a violation, 4 when no entry names the item.");
  custody->callback([&] { exit_code = RunCustody(args); });
}

}  // namespace liaison::cli
