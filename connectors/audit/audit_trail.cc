#include "connectors/audit/audit_trail.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "certs/signature.h"
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
  return certs::HexEncode(certs::Sha256(absl::StrCat("case\n", sender, "\n", case_ref)).substr(0, 12));
}

namespace {

absl::StatusOr<std::vector<kafka::Record>> ReadAll(const kafka::ClientConfig& config,
                                                   const std::string& topic,
                                                   absl::Duration timeout) {
  LIAISON_ASSIGN_OR_RETURN(int partitions, kafka::PartitionCount(config, topic, timeout));
  std::vector<kafka::Record> all;
  const absl::Time deadline = absl::Now() + timeout;
  for (int32_t p = 0; p < partitions; ++p) {
    LIAISON_ASSIGN_OR_RETURN(std::vector<kafka::Record> part,
                             kafka::ReadPartition(config, topic, p, 0, kafka::kToEnd,
                                                  deadline - absl::Now()));
    for (kafka::Record& r : part) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace

absl::StatusOr<Verification> VerifyTopic(const kafka::ClientConfig& kafka,
                                                   const std::string& topic,
                                                   absl::Duration timeout) {
  LIAISON_ASSIGN_OR_RETURN(std::vector<kafka::Record> records, ReadAll(kafka, topic, timeout));
  struct Located {
    liaison::v1::AuditEntry entry;
    int32_t partition;
    int64_t offset;
  };
  std::map<int32_t, std::map<uint64_t, Located>> chains;
  Verification v;
  auto fail = [&v](std::string what) {
    if (v.ok) v.first_break = std::move(what);
    v.ok = false;
  };
  for (kafka::Record& r : records) {
    liaison::v1::AuditRecord record;
    if (!record.ParseFromString(r.value)) {
      fail(absl::StrCat("partition ", r.partition, " offset ", r.offset, ": not an audit record"));
      continue;
    }
    for (liaison::v1::AuditEntry& e : *record.mutable_entries()) {
      ++v.entries;
      auto& chain = chains[e.chain()];
      auto [it, inserted] = chain.try_emplace(e.seq(), Located{e, r.partition, r.offset});
      if (!inserted) {
        if (it->second.entry.entry_hash() == e.entry_hash() && EntryHash(e) == e.entry_hash()) {
          ++v.duplicates;  // the same entry written twice (a retried write)
        } else {
          fail(absl::StrCat("chain ", e.chain(), " seq ", e.seq(), " (partition ", r.partition,
                            " offset ", r.offset, "): two different entries with one seq"));
        }
      }
    }
  }
  v.chains = static_cast<int>(chains.size());
  for (const auto& [chain, entries] : chains) {
    const Located* prev = nullptr;
    for (const auto& [seq, located] : entries) {
      const liaison::v1::AuditEntry& e = located.entry;
      const std::string where = absl::StrCat("chain ", chain, " seq ", seq, " (partition ",
                                             located.partition, " offset ", located.offset, ")");
      if (EntryHash(e) != e.entry_hash()) fail(where + ": entry_hash does not match its content");
      if (prev == nullptr) {
        if (seq != 1) {
          v.notes.push_back(absl::StrCat("chain ", chain, " starts at seq ", seq,
                                         ": earlier entries were removed by retention"));
        } else if (!e.prev_hash().empty()) {
          fail(where + ": first entry has a prev_hash");
        }
      } else if (seq != prev->entry.seq() + 1) {
        fail(absl::StrCat(where, ": entries ", prev->entry.seq() + 1, "..", seq - 1, " missing"));
      } else if (e.prev_hash() != prev->entry.entry_hash()) {
        fail(absl::StrCat(where, ": prev_hash does not match entry ", prev->entry.seq()));
      }
      prev = &located;
    }
  }
  return v;
}

absl::StatusOr<std::vector<liaison::v1::AuditEntry>> EntriesFor(
    const kafka::ClientConfig& kafka, const std::string& topic, const std::string& message_id,
    absl::Duration timeout) {
  LIAISON_ASSIGN_OR_RETURN(std::vector<kafka::Record> records, ReadAll(kafka, topic, timeout));
  std::vector<liaison::v1::AuditEntry> out;
  for (const kafka::Record& r : records) {
    liaison::v1::AuditRecord record;
    if (!record.ParseFromString(r.value)) continue;
    for (liaison::v1::AuditEntry& e : *record.mutable_entries()) {
      if (e.message_id() == message_id) out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.chain() != b.chain() ? a.chain() < b.chain() : a.seq() < b.seq();
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& a, const auto& b) {
                          return a.chain() == b.chain() && a.seq() == b.seq();
                        }),
            out.end());
  return out;
}

}  // namespace liaison::audit
