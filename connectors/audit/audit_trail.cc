#include "connectors/audit/audit_trail.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "base/status_macros.h"
#include "certs/signature.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/reader.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace liaison::audit {

std::string EntryHash(const liaison::v1::AuditEntry& entry) {
  liaison::v1::AuditEntry copy = entry;
  copy.clear_entry_hash();
  std::string bytes;
  // Deterministic serialisation: the verifier must get the same bytes.
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return certs::Sha256(bytes);
}

std::string CaseRefHash(const std::string& sender, const std::string& case_ref) {
  if (case_ref.empty()) return "";
  return certs::HexEncode(
      certs::Sha256(absl::StrCat("case\n", sender, "\n", case_ref)).substr(0, 12));
}

absl::StatusOr<std::vector<kafka::Record>> ReadTopic(const kafka::ClientConfig& config,
                                                     const std::string& topic,
                                                     absl::Duration timeout) {
  LIAISON_ASSIGN_OR_RETURN(int partitions, kafka::PartitionCount(config, topic, timeout));
  std::vector<kafka::Record> all;
  const absl::Time deadline = absl::Now() + timeout;
  for (int32_t p = 0; p < partitions; ++p) {
    LIAISON_ASSIGN_OR_RETURN(
        std::vector<kafka::Record> part,
        kafka::ReadPartition(config, topic, p, 0, kafka::kToEnd, deadline - absl::Now()));
    for (kafka::Record& r : part) all.push_back(std::move(r));
  }
  return all;
}

absl::StatusOr<Verification> VerifyTopic(const kafka::ClientConfig& kafka, const std::string& topic,
                                         const certs::Verifier& verifier,
                                         const VerifyOptions& options) {
  LIAISON_ASSIGN_OR_RETURN(std::vector<kafka::Record> records,
                           ReadTopic(kafka, topic, options.timeout));
  return VerifyRecords(records, verifier, options);
}

Verification VerifyRecords(const std::vector<kafka::Record>& records,
                           const certs::Verifier& verifier, const VerifyOptions& options) {
  const absl::Time now = options.now == absl::InfinitePast() ? absl::Now() : options.now;
  struct Located {
    liaison::v1::AuditEntry entry;
    int32_t partition;
    int64_t offset;
    absl::Time written;  // the Kafka record's timestamp
  };
  struct Checkpoint {
    VerifiedCheckpoint verified;
    liaison::v1::SignedAuditCheckpoint signed_checkpoint;
    std::string where;  // "partition 2 offset 41" or "pinned checkpoint 3"
  };
  std::map<int32_t, std::map<uint64_t, Located>> chains;
  std::vector<Checkpoint> checkpoints;
  Verification v;
  auto fail = [&v](std::string what) {
    if (v.ok) v.first_break = what;
    v.ok = false;
    v.problems.push_back(std::move(what));
  };
  // A problem naming entries from..to of `chain` (also in `problems`).
  auto fail_entries = [&](int32_t chain, uint64_t from, uint64_t to, std::string what,
                          bool truncated = false) {
    v.entry_problems.push_back({chain, from, to, truncated, what});
    fail(std::move(what));
  };
  auto add_checkpoint = [&](const liaison::v1::SignedAuditCheckpoint& signed_checkpoint,
                            std::string where) {
    absl::StatusOr<VerifiedCheckpoint> verified =
        VerifyCheckpoint(signed_checkpoint, verifier, now);
    if (!verified.ok()) {
      fail(absl::StrCat(where, ": checkpoint refused: ", verified.status().message()));
      return;
    }
    checkpoints.push_back({std::move(*verified), signed_checkpoint, std::move(where)});
  };
  for (const kafka::Record& r : records) {
    const std::string at = absl::StrCat("partition ", r.partition, " offset ", r.offset);
    liaison::v1::AuditRecord record;
    if (!record.ParseFromString(r.value)) {
      fail(absl::StrCat(at, ": not an audit record"));
      continue;
    }
    if (record.has_checkpoint() == !record.entries().empty()) {
      fail(absl::StrCat(at, record.has_checkpoint()
                                ? ": an audit record with both entries and a checkpoint"
                                : ": an audit record with neither entries nor a checkpoint"));
      continue;
    }
    if (record.has_checkpoint()) {
      add_checkpoint(record.checkpoint(), at);
      continue;
    }
    for (liaison::v1::AuditEntry& e : *record.mutable_entries()) {
      ++v.entries;
      auto& chain = chains[e.chain()];
      auto [it, inserted] =
          chain.try_emplace(e.seq(), Located{e, r.partition, r.offset, r.timestamp});
      if (!inserted) {
        if (it->second.entry.entry_hash() == e.entry_hash() && EntryHash(e) == e.entry_hash()) {
          ++v.duplicates;  // the same entry written twice (a retried write)
        } else {
          fail_entries(e.chain(), e.seq(), e.seq(),
                       absl::StrCat("chain ", e.chain(), " seq ", e.seq(), " (", at,
                                    "): two different entries with one seq"));
        }
      }
    }
  }
  for (size_t i = 0; i < options.pinned.size(); ++i) {
    add_checkpoint(options.pinned[i], absl::StrCat("pinned checkpoint ", i + 1));
  }
  v.chains = static_cast<int>(chains.size());
  v.checkpoints = static_cast<int64_t>(checkpoints.size());
  std::map<int32_t, ChainReport> reports;
  for (const auto& [chain, entries] : chains) {
    ChainReport& report = reports[chain];
    report.chain = chain;
    report.entries = static_cast<int64_t>(entries.size());
    report.first_seq = entries.begin()->first;
    report.last_seq = entries.rbegin()->first;
    const Located* prev = nullptr;
    for (const auto& [seq, located] : entries) {
      const liaison::v1::AuditEntry& e = located.entry;
      const std::string where = absl::StrCat("chain ", chain, " seq ", seq, " (partition ",
                                             located.partition, " offset ", located.offset, ")");
      if (EntryHash(e) != e.entry_hash()) {
        fail_entries(chain, seq, seq, where + ": entry_hash does not match its content");
      }
      if (prev == nullptr) {
        if (seq != 1) {
          v.notes.push_back(absl::StrCat("chain ", chain, " starts at seq ", seq,
                                         ": earlier entries were removed by retention"));
        } else if (!e.prev_hash().empty()) {
          fail_entries(chain, seq, seq, where + ": first entry has a prev_hash");
        }
      } else if (seq != prev->entry.seq() + 1) {
        fail_entries(
            chain, seq, seq,
            absl::StrCat(where, ": entries ", prev->entry.seq() + 1, "..", seq - 1, " missing"));
      } else if (e.prev_hash() != prev->entry.entry_hash()) {
        // This entry's link, or the entry before it (re-sealed), was changed.
        fail_entries(chain, seq - 1, seq,
                     absl::StrCat(where, ": prev_hash does not match entry ", prev->entry.seq()));
      }
      prev = &located;
    }
  }
  // Each checkpoint against the chain it names. A checkpoint pins the
  // entry_hash at its seq, and with it (through prev_hash) every entry before.
  std::map<int32_t, const Checkpoint*> latest;
  for (const Checkpoint& c : checkpoints) {
    const liaison::v1::AuditCheckpoint& cp = c.verified.checkpoint;
    const std::string signed_by = absl::StrCat(
        "the checkpoint signed by ", c.verified.signer.id, " at ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(cp.signed_at()), absl::UTCTimeZone()),
        " (", c.where, ")");
    auto chain = chains.find(cp.chain());
    if (chain == chains.end()) {
      fail_entries(
          cp.chain(), 1, cp.seq(),
          absl::StrCat("chain ", cp.chain(), " has no entries, but ", signed_by, " covers seq 1..",
                       cp.seq(), ": the chain was truncated or removed"),
          /*truncated=*/true);
      continue;
    }
    const std::map<uint64_t, Located>& entries = chain->second;
    const uint64_t last = entries.rbegin()->first;
    if (cp.seq() > last) {
      fail_entries(cp.chain(), last + 1, cp.seq(),
                   absl::StrCat("chain ", cp.chain(), " ends at seq ", last, ", but ", signed_by,
                                " covers seq ", cp.seq(), ": entries ", last + 1, "..", cp.seq(),
                                " were removed (truncated)"),
                   /*truncated=*/true);
      continue;
    }
    auto at = entries.find(cp.seq());
    if (at == entries.end()) {
      if (cp.seq() < entries.begin()->first) {
        v.notes.push_back(absl::StrCat("chain ", cp.chain(), ": ", signed_by, " covers seq ",
                                       cp.seq(), ", before the first retained entry"));
      }
      continue;  // inside the chain: a gap, reported above
    }
    if (at->second.entry.entry_hash() != cp.head_hash()) {
      // Every entry up to the checkpoint's seq may have been rewritten.
      fail_entries(cp.chain(), entries.begin()->first, cp.seq(),
                   absl::StrCat("chain ", cp.chain(), " seq ", cp.seq(), " (partition ",
                                at->second.partition, " offset ", at->second.offset,
                                "): entry_hash differs from ", signed_by,
                                ": the chain was rewritten after it was checkpointed"));
      continue;
    }
    ChainReport& report = reports[cp.chain()];
    ++report.checkpoints;
    if (cp.seq() >= report.checkpointed_seq) {
      report.checkpointed_seq = cp.seq();
      report.checkpointed_at = FromProto(cp.signed_at());
      report.checkpoint_signer = c.verified.signer.id;
      latest[cp.chain()] = &c;
    }
  }
  for (auto& [chain, report] : reports) {
    if (report.uncovered() > 0 && options.uncovered_grace > absl::ZeroDuration()) {
      const uint64_t from = report.last_seq - report.uncovered() + 1;
      // lower_bound: a gap inside the chain was reported above.
      const Located& oldest = chains[chain].lower_bound(from)->second;
      if (now - oldest.written > options.uncovered_grace) {
        fail(absl::StrCat(
            "chain ", chain, ": entries ", from, "..", report.last_seq,
            " are covered by no signed checkpoint, the first written at ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", oldest.written, absl::UTCTimeZone()),
            ", more than ", absl::FormatDuration(options.uncovered_grace),
            " ago (a broker checkpoints every few seconds): not written by a broker, or the "
            "checkpoints were removed"));
      }
    }
    v.chain_reports.push_back(report);
  }
  for (const auto& [chain, c] : latest) v.latest_checkpoints.push_back(c->signed_checkpoint);
  return v;
}

namespace {

// Orders by (chain, seq) and keeps one of each (chain, seq).
void SortUnique(std::vector<liaison::v1::AuditEntry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.chain() != b.chain() ? a.chain() < b.chain() : a.seq() < b.seq();
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const auto& a, const auto& b) {
                              return a.chain() == b.chain() && a.seq() == b.seq();
                            }),
                entries.end());
}

}  // namespace

absl::StatusOr<std::vector<liaison::v1::AuditEntry>> AllEntries(const kafka::ClientConfig& kafka,
                                                                const std::string& topic,
                                                                absl::Duration timeout) {
  LIAISON_ASSIGN_OR_RETURN(std::vector<kafka::Record> records, ReadTopic(kafka, topic, timeout));
  std::vector<liaison::v1::AuditEntry> out;
  for (const kafka::Record& r : records) {
    liaison::v1::AuditRecord record;
    if (!record.ParseFromString(r.value)) continue;
    for (liaison::v1::AuditEntry& e : *record.mutable_entries()) out.push_back(std::move(e));
  }
  SortUnique(out);
  return out;
}

absl::StatusOr<std::vector<liaison::v1::AuditEntry>> EntriesFor(const kafka::ClientConfig& kafka,
                                                                const std::string& topic,
                                                                const std::string& message_id,
                                                                absl::Duration timeout) {
  if (message_id.empty()) return absl::InvalidArgumentError("message id: empty");
  LIAISON_ASSIGN_OR_RETURN(std::vector<liaison::v1::AuditEntry> all,
                           AllEntries(kafka, topic, timeout));
  // A unique prefix names a message (ids are typed, and shown shortened):
  // the entries of the one id that equals or starts with `message_id`.
  std::vector<liaison::v1::AuditEntry> out;
  std::set<std::string> ids;
  bool exact = false;
  for (liaison::v1::AuditEntry& e : all) {
    if (!absl::StartsWith(e.message_id(), message_id)) continue;
    exact = exact || e.message_id() == message_id;
    ids.insert(e.message_id());
    out.push_back(std::move(e));
  }
  if (exact) {
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const auto& e) { return e.message_id() != message_id; }),
              out.end());
  } else if (ids.size() > 1) {
    std::vector<std::string> some(ids.begin(), ids.end());
    if (some.size() > 5) some.resize(5);
    return absl::InvalidArgumentError(
        absl::StrCat("message id prefix '", message_id, "' is ambiguous: ", ids.size(),
                     " messages start with it (", absl::StrJoin(some, ", "),
                     ids.size() > 5 ? ", ..." : "", "); give more characters"));
  }
  return out;
}

}  // namespace liaison::audit
