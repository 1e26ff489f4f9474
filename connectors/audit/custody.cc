#include "connectors/audit/custody.h"

#include <algorithm>
#include <climits>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "certs/signature.h"

namespace liaison::audit {
namespace {

using liaison::v1::AuditEntry;
using liaison::v1::EvidenceRef;

CustodyEvent EventOf(const std::string& event) {
  static const auto* const kEvents = new std::map<std::string, CustodyEvent>{
      {"evidence-uploaded", CustodyEvent::kUploaded},
      {"evidence-key-wrapped", CustodyEvent::kKeyWrapped},
      {"evidence-download-started", CustodyEvent::kDownloadStarted},
      {"evidence-download-finished", CustodyEvent::kDownloadFinished},
      {"evidence-download-refused", CustodyEvent::kDownloadRefused},
      {"evidence-acknowledged", CustodyEvent::kAcknowledged},
      {"evidence-erased", CustodyEvent::kErased},
      {"evidence-key-destroyed", CustodyEvent::kKeyDestroyed},
      {"evidence-jit-extended", CustodyEvent::kJitExtended},
  };
  auto it = kEvents->find(event);
  if (it != kEvents->end()) return it->second;
  // Any other entry naming the item is a policy decision on a manifest
  // ("decided", "released", "hold-timeout", ...); an unknown custody event
  // is shown as such.
  return absl::StartsWith(event, "evidence-") ? CustodyEvent::kOther : CustodyEvent::kDecision;
}

bool IsHexDigest(const std::string& s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

std::string Short(const std::string& digest) {
  return digest.empty() ? "(none)" : certs::HexEncode(digest).substr(0, 16);
}

std::string OutcomeName(liaison::v1::Outcome o) {
  const std::string name = liaison::v1::Outcome_Name(o);
  return absl::StartsWith(name, "OUTCOME_") ? name.substr(8) : name;
}

// How far apart the clocks of two broker nodes may be: a decision written
// on one chain up to this long after a download recorded on another is
// taken as before it (a remark, not a violation).
constexpr absl::Duration kClockSkew = absl::Seconds(5);

bool Allows(const AuditEntry& decision) {
  return decision.decision() == liaison::v1::OUTCOME_ALLOW ||
         decision.decision() == liaison::v1::OUTCOME_REDACT;
}

struct Parsed {
  AuditEntry entry;
  EvidenceRef ref;
};

// Whether, after entry `i`, an ALLOW/REDACT decision for `member` on another
// chain follows within kClockSkew of it.
bool AllowedJustAfter(const Custody& c, int i, const std::string& member) {
  const AuditEntry& at = c.entries[i].entry;
  for (size_t j = i + 1; j < c.entries.size(); ++j) {
    const CustodyEntry& e = c.entries[j];
    if (FromProto(e.entry.ts()) - FromProto(at.ts()) > kClockSkew) continue;
    if (e.event == CustodyEvent::kDecision && e.member == member && e.entry.chain() != at.chain() &&
        Allows(e.entry)) {
      return true;
    }
  }
  return false;
}

}  // namespace

const char* CustodyEventName(CustodyEvent event) {
  switch (event) {
    case CustodyEvent::kUploaded:
      return "uploaded";
    case CustodyEvent::kKeyWrapped:
      return "key wrapped";
    case CustodyEvent::kDecision:
      return "decision";
    case CustodyEvent::kDownloadStarted:
      return "download started";
    case CustodyEvent::kDownloadFinished:
      return "download finished";
    case CustodyEvent::kDownloadRefused:
      return "download refused";
    case CustodyEvent::kAcknowledged:
      return "acknowledged";
    case CustodyEvent::kErased:
      return "erased";
    case CustodyEvent::kKeyDestroyed:
      return "key destroyed";
    case CustodyEvent::kJitExtended:
      return "JIT extended";
    case CustodyEvent::kOther:
      return "other";
  }
  return "other";
}

bool Custody::ok() const { return violations() == 0; }

int Custody::violations() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const auto& f) {
    return f.kind == CustodyFinding::Kind::kViolation;
  }));
}

absl::StatusOr<Custody> CustodyOf(const std::vector<kafka::Record>& records,
                                  const Verification& verification, const std::string& item) {
  if (item.empty()) return absl::InvalidArgumentError("item: empty (an item id or its digest)");
  const bool by_digest = IsHexDigest(item);
  std::string wanted_digest;
  if (by_digest) wanted_digest = absl::HexStringToBytes(item);  // hex: checked above
  // Every entry naming the item by id, or by ciphertext digest, once per
  // (chain, seq, hash): a retried write is the same entry.
  std::vector<Parsed> named;
  std::set<std::tuple<int32_t, uint64_t, std::string>> seen;
  for (const kafka::Record& r : records) {
    liaison::v1::AuditRecord record;
    if (!record.ParseFromString(r.value)) continue;  // a problem of the verification
    for (const AuditEntry& e : record.entries()) {
      for (const EvidenceRef& ref : e.evidence()) {
        const bool match =
            by_digest ? ref.ciphertext_sha256() == wanted_digest : ref.item_id() == item;
        if (!match) continue;
        if (seen.emplace(e.chain(), e.seq(), e.entry_hash()).second) named.push_back({e, ref});
        break;
      }
    }
  }
  Custody c;
  // The item as its upload names it (else as the first entry does).
  const Parsed* upload = nullptr;
  for (const Parsed& p : named) {
    if (EventOf(p.entry.event()) == CustodyEvent::kUploaded) {
      upload = &p;
      break;
    }
  }
  if (upload == nullptr && !named.empty()) upload = &named.front();
  if (upload == nullptr) {
    return absl::NotFoundError(absl::StrCat("no audit entry names evidence item ",
                                            by_digest ? "with ciphertext digest " : "", item));
  }
  c.item_id = upload->ref.item_id();
  c.jit_id = upload->ref.jit_id();
  c.ciphertext_sha256 = by_digest ? wanted_digest : upload->ref.ciphertext_sha256();
  // Looked up by id: entries naming the same ciphertext under another item id
  // belong to the chain too (and are a finding).
  if (!by_digest && !c.ciphertext_sha256.empty()) {
    for (const kafka::Record& r : records) {
      liaison::v1::AuditRecord record;
      if (!record.ParseFromString(r.value)) continue;
      for (const AuditEntry& e : record.entries()) {
        for (const EvidenceRef& ref : e.evidence()) {
          if (ref.item_id() == item || ref.ciphertext_sha256() != c.ciphertext_sha256) continue;
          if (seen.emplace(e.chain(), e.seq(), e.entry_hash()).second) named.push_back({e, ref});
          break;
        }
      }
    }
  }
  // Time order across chains, chain order within one: a chain's seq is what
  // its broker wrote in that order, while its entries' times come from the
  // clocks of whichever nodes held its partition. A merge of the chains, by
  // the time of each chain's next entry.
  {
    std::map<int32_t, std::vector<Parsed>> by_chain;
    for (Parsed& p : named) by_chain[p.entry.chain()].push_back(std::move(p));
    std::map<int32_t, size_t> next;
    for (auto& [chain, entries] : by_chain) {
      std::sort(entries.begin(), entries.end(),
                [](const Parsed& a, const Parsed& b) { return a.entry.seq() < b.entry.seq(); });
      next[chain] = 0;
    }
    named.clear();
    while (true) {
      const Parsed* best = nullptr;
      int32_t best_chain = 0;
      for (auto& [chain, entries] : by_chain) {
        if (next[chain] == entries.size()) continue;
        const Parsed& head = entries[next[chain]];
        if (best == nullptr || FromProto(head.entry.ts()) < FromProto(best->entry.ts())) {
          best = &head;
          best_chain = chain;
        }
      }
      if (best == nullptr) break;
      named.push_back(std::move(by_chain[best_chain][next[best_chain]++]));
    }
  }
  std::map<int32_t, const ChainReport*> reports;
  for (const ChainReport& r : verification.chain_reports) reports[r.chain] = &r;
  std::set<const EntryProblem*> attached;
  for (Parsed& p : named) {
    CustodyEntry ce;
    ce.event = EventOf(p.entry.event());
    ce.member = ce.event == CustodyEvent::kUploaded ? p.entry.sender() : p.entry.recipient();
    ce.ref = std::move(p.ref);
    ce.other_item_id = ce.ref.item_id() != c.item_id;
    const int32_t chain = p.entry.chain();
    const uint64_t seq = p.entry.seq();
    // Pinned by the newest checkpoint unless a problem lies between.
    const ChainReport* report = reports.count(chain) ? reports[chain] : nullptr;
    bool pinned = report != nullptr && report->checkpointed_seq >= seq;
    for (const EntryProblem& problem : verification.entry_problems) {
      if (problem.chain != chain || problem.truncated) continue;
      if (problem.from_seq <= seq && seq <= problem.to_seq) {
        if (ce.chain_intact) ce.chain_problem = problem.what;
        ce.chain_intact = false;
        attached.insert(&problem);
      }
      if (pinned && problem.from_seq <= report->checkpointed_seq && problem.to_seq >= seq) {
        pinned = false;
      }
    }
    if (pinned) {
      ce.checkpointed = true;
      ce.checkpointed_seq = report->checkpointed_seq;
      ce.checkpointed_at = report->checkpointed_at;
      ce.checkpoint_signer = report->checkpoint_signer;
    }
    ce.entry = std::move(p.entry);
    c.entries.push_back(std::move(ce));
  }

  auto violation = [&c](int entry, std::string reason) {
    c.findings.push_back({CustodyFinding::Kind::kViolation, entry, std::move(reason)});
  };
  auto remark = [&c](int entry, std::string reason) {
    c.findings.push_back({CustodyFinding::Kind::kRemark, entry, std::move(reason)});
  };
  // The walk in time order.
  int uploaded_at = -1;
  int erased_at = -1;
  std::set<std::string> wrapped, destroyed, finished, acknowledged;
  std::map<std::string, const AuditEntry*> decision;  // latest per member
  std::map<std::string, int> open_download;           // member -> its started entry
  int uncovered = 0;
  for (int i = 0; i < static_cast<int>(c.entries.size()); ++i) {
    const CustodyEntry& ce = c.entries[i];
    const AuditEntry& e = ce.entry;
    const EvidenceRef& ref = ce.ref;
    const std::string& m = ce.member;
    if (!ce.chain_intact) violation(i, absl::StrCat("audit chain broken: ", ce.chain_problem));
    if (!ce.checkpointed) ++uncovered;
    // The link to the item: one ciphertext, one plaintext, one JIT.
    if (ce.other_item_id) {
      violation(i,
                absl::StrCat("names the item's ciphertext under another item id, ", ref.item_id()));
    }
    if (ref.ciphertext_sha256().empty()) {
      violation(i, "carries no ciphertext digest");
    } else if (ref.ciphertext_sha256() != c.ciphertext_sha256) {
      violation(i, absl::StrCat("ciphertext digest ", Short(ref.ciphertext_sha256()),
                                " differs from the upload's ", Short(c.ciphertext_sha256)));
    }
    if (!ref.sha256().empty()) {
      if (c.sha256.empty()) {
        c.sha256 = ref.sha256();
      } else if (ref.sha256() != c.sha256) {
        violation(i, absl::StrCat("plaintext digest ", Short(ref.sha256()),
                                  " differs from the one recorded before, ", Short(c.sha256)));
      }
    }
    if (!ref.jit_id().empty() && !c.jit_id.empty() && ref.jit_id() != c.jit_id) {
      violation(i, absl::StrCat("JIT ", ref.jit_id(), " differs from the upload's ", c.jit_id));
    }
    const bool needs_member =
        ce.event == CustodyEvent::kKeyWrapped || ce.event == CustodyEvent::kDownloadStarted ||
        ce.event == CustodyEvent::kDownloadFinished || ce.event == CustodyEvent::kAcknowledged ||
        ce.event == CustodyEvent::kKeyDestroyed || ce.event == CustodyEvent::kDownloadRefused;
    if (needs_member && m.empty()) violation(i, "names no member (recipient)");
    if (ce.event == CustodyEvent::kDownloadRefused) {
      // A node admitted the download before it read the item's erasure
      // mark, so sent no key; the policy stage recorded it after the
      // erasure, as refused. Anywhere else it is out of place.
      if (erased_at < 0) {
        violation(i, absl::StrCat("a download by ", m, " refused as erased, before the erasure"));
      } else {
        remark(i,
               absl::StrCat("download by ", m, " refused: the item was erased (no key went out)"));
      }
    }
    const bool disclosure =
        ce.event == CustodyEvent::kKeyWrapped || ce.event == CustodyEvent::kDownloadStarted ||
        ce.event == CustodyEvent::kDownloadFinished || ce.event == CustodyEvent::kAcknowledged;
    if (disclosure && uploaded_at < 0) violation(i, "before the upload");
    if (disclosure && erased_at >= 0) {
      if (ce.event == CustodyEvent::kAcknowledged && finished.count(m)) {
        // The member's download finished before the erasure and its
        // acknowledgement crossed the erasure on the way: nothing was
        // disclosed after it (the EVIDENCE_ERASED notice tells the member to
        // erase its copy).
        remark(i, absl::StrCat("acknowledged by ", m,
                               " after the erasure, for a download that finished before it"));
      } else if (ce.event == CustodyEvent::kDownloadFinished) {
        // The key went out with the download's start, before the erasure;
        // the last chunks (ciphertext) crossed it. A download *started*
        // after the erasure stays a violation.
        remark(i, absl::StrCat("download by ", m,
                               " finished after the erasure; it started before it"));
      } else {
        violation(i, absl::StrCat("after the erasure (", e.event(), " of an erased item)"));
      }
    }
    switch (ce.event) {
      case CustodyEvent::kUploaded: {
        if (uploaded_at < 0) {
          uploaded_at = i;
          break;
        }
        const CustodyEntry& first = c.entries[uploaded_at];
        const std::string where = absl::StrCat("(the first: chain ", first.entry.chain(), " seq ",
                                               first.entry.seq(), ")");
        if (m == first.member && erased_at < 0) {
          // The same uploader, and the digest checks above hold it to the
          // same ciphertext: the item's completion was recorded again (a
          // completion retried after Kafka did not acknowledge its item
          // record, or one upload completed on two nodes). Nothing more was
          // disclosed.
          remark(i, absl::StrCat("the upload recorded again by ", m, ", same ciphertext ", where,
                                 ": a completion retried or completed on two nodes"));
        } else if (m != first.member) {
          violation(i, absl::StrCat("a second upload, by ", m, " (the item's uploader is ",
                                    first.member, ") ", where));
        } else {
          violation(i, absl::StrCat("a second upload, after the erasure ", where));
        }
        break;
      }
      case CustodyEvent::kKeyWrapped:
        wrapped.insert(m);
        break;
      case CustodyEvent::kDecision:
        decision[m] = &e;
        break;
      case CustodyEvent::kDownloadStarted: {
        if (destroyed.count(m)) violation(i, absl::StrCat("after ", m, "'s key was destroyed"));
        if (!wrapped.count(m)) violation(i, absl::StrCat("no key was wrapped for ", m));
        auto d = decision.find(m);
        if ((d == decision.end() || !Allows(*d->second)) && AllowedJustAfter(c, i, m)) {
          // The decision was written on another chain by a node whose clock
          // runs a little ahead: the download could not have begun without it.
          remark(i, absl::StrCat("the decision allowing ", m, " is timed up to ",
                                 absl::FormatDuration(kClockSkew),
                                 " after this download (the nodes' clocks differ)"));
        } else if (d == decision.end()) {
          violation(i, absl::StrCat("no policy decision of a manifest naming the item for ", m));
        } else if (!Allows(*d->second)) {
          std::string rules;
          for (const std::string& r : d->second->rule_ids()) absl::StrAppend(&rules, " ", r);
          violation(
              i, absl::StrCat("the policy decided ", OutcomeName(d->second->decision()), " for ", m,
                              " on manifest ", d->second->message_id(),
                              rules.empty() ? "" : " (rules:", rules, rules.empty() ? "" : ")"));
        }
        if (auto open = open_download.find(m); open != open_download.end()) {
          remark(open->second,
                 absl::StrCat("download by ", m, " broken off (started again before it finished)"));
        }
        open_download[m] = i;
        break;
      }
      case CustodyEvent::kDownloadFinished:
        if (open_download.erase(m) == 0) {
          violation(i, absl::StrCat("a finished download by ", m, " with no download started"));
        }
        finished.insert(m);
        break;
      case CustodyEvent::kAcknowledged:
        if (!finished.count(m)) {
          violation(i, absl::StrCat("acknowledged by ", m, " without a finished download"));
        }
        if (ref.sha256().empty()) violation(i, "carries no plaintext digest (the one verified)");
        acknowledged.insert(m);
        break;
      case CustodyEvent::kErased: {
        if (erased_at >= 0) {
          remark(i, "erased again");
          break;
        }
        erased_at = i;
        const auto reason = e.custody().erasure_reason();
        if (reason == liaison::v1::EVIDENCE_ERASURE_REASON_UNSPECIFIED) {
          remark(i, "the erasure names no reason");
        } else if (reason == liaison::v1::EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED) {
          for (const std::string& w : wrapped) {
            auto d = decision.find(w);
            const bool refused =
                d != decision.end() && d->second->decision() == liaison::v1::OUTCOME_REJECT;
            if (!refused && !acknowledged.count(w)) {
              violation(i, absl::StrCat("erased as acknowledged by every member, but ", w,
                                        " did not acknowledge"));
            }
          }
        }
        break;
      }
      case CustodyEvent::kKeyDestroyed:
        destroyed.insert(m);
        break;
      case CustodyEvent::kJitExtended:
      case CustodyEvent::kDownloadRefused:  // checked above
        break;
      case CustodyEvent::kOther:
        remark(i, absl::StrCat("an unknown custody event, ", e.event()));
        break;
    }
  }
  for (const auto& [member, started] : open_download) {
    remark(started, absl::StrCat("download by ", member, " broken off (no finished entry)"));
  }
  if (uploaded_at < 0) {
    violation(-1,
              "no upload entry: the chain of custody has no start (removed by the audit "
              "topic's retention, or never written)");
  }
  // A chain holding the item's entries cut below a checkpoint: later
  // custody entries may be gone with it.
  std::set<int32_t> chains;
  for (const CustodyEntry& ce : c.entries) chains.insert(ce.entry.chain());
  for (const EntryProblem& problem : verification.entry_problems) {
    if (!problem.truncated || !chains.count(problem.chain)) continue;
    attached.insert(&problem);
    violation(-1, absl::StrCat(problem.what, "; custody entries may have gone with them"));
  }
  if (uncovered > 0) {
    remark(-1, absl::StrCat(uncovered, " of ", c.entries.size(),
                            " entries not yet covered by a signed checkpoint (a broker signs "
                            "one every few seconds)"));
  }
  // Problems naming none of these entries: the rest of the trail.
  const size_t elsewhere = verification.problems.size() - attached.size();
  if (elsewhere > 0) {
    remark(-1, absl::StrCat("the audit trail has ", elsewhere,
                            " problem(s) outside this item's entries (liaison audit verify "
                            "lists them)"));
  }
  // In entry order; findings about the chain as a whole last.
  std::stable_sort(c.findings.begin(), c.findings.end(), [](const auto& a, const auto& b) {
    const int ea = a.entry < 0 ? INT32_MAX : a.entry, eb = b.entry < 0 ? INT32_MAX : b.entry;
    return ea < eb;
  });
  return c;
}

}  // namespace liaison::audit
