#include "broker/stage/custody.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "broker/state/evidence_book.h"

namespace liaison::broker {
namespace {

using liaison::v1::AuditEntry;
using liaison::v1::EvidenceEvent;

constexpr size_t kSha256Bytes = 32;

AuditEntry Entry(const EvidenceEvent& event, liaison::v1::AuditOperation operation,
                 const char* name, absl::string_view broker_id, absl::Time now) {
  AuditEntry a;
  *a.mutable_ts() = ToProto(now);
  a.set_operation(operation);
  a.set_event(name);
  a.set_sender(event.uploader());
  *a.add_evidence() = event.item();
  a.set_broker_id(std::string(broker_id));
  liaison::v1::EvidenceCustody* custody = a.mutable_custody();
  custody->set_chunk_count(event.chunk_count());
  custody->set_ciphertext_size(event.ciphertext_size());
  return a;
}

}  // namespace

absl::StatusOr<std::vector<AuditEntry>> CustodyEntries(const EvidenceEvent& event,
                                                       absl::string_view broker_id,
                                                       absl::Time now) {
  if (absl::Status s = CheckEvidenceItemId(event.item().item_id(), "item.item_id"); !s.ok()) {
    return s;
  }
  if (event.item().ciphertext_sha256().size() != kSha256Bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence item '", event.item().item_id(), "': item.ciphertext_sha256 has ",
                     event.item().ciphertext_sha256().size(), " bytes, not 32"));
  }
  if (event.members().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("evidence item '", event.item().item_id(), "': no member"));
  }
  if (event.type() != EvidenceEvent::UPLOADED && event.members_size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("evidence item '", event.item().item_id(),
                                                   "': ", event.members_size(),
                                                   " members, a download or acknowledgement "
                                                   "concerns one"));
  }
  std::vector<AuditEntry> entries;
  switch (event.type()) {
    case EvidenceEvent::UPLOADED:
      entries.push_back(Entry(event, liaison::v1::AUDIT_OPERATION_COLLECTION, "evidence-uploaded",
                              broker_id, now));
      for (const std::string& member : event.members()) {
        AuditEntry a = Entry(event, liaison::v1::AUDIT_OPERATION_COLLECTION, "evidence-key-wrapped",
                             broker_id, now);
        a.set_recipient(member);
        entries.push_back(std::move(a));
      }
      break;
    case EvidenceEvent::DOWNLOAD_STARTED:
    case EvidenceEvent::DOWNLOAD_FINISHED: {
      const bool started = event.type() == EvidenceEvent::DOWNLOAD_STARTED;
      AuditEntry a = Entry(event, liaison::v1::AUDIT_OPERATION_DISCLOSURE,
                           started ? "evidence-download-started" : "evidence-download-finished",
                           broker_id, now);
      a.set_recipient(event.members(0));
      a.mutable_custody()->set_from_chunk(event.from_chunk());
      if (!started) a.mutable_custody()->set_chunks_sent(event.chunks_sent());
      entries.push_back(std::move(a));
      break;
    }
    case EvidenceEvent::ACKNOWLEDGED: {
      AuditEntry a = Entry(event, liaison::v1::AUDIT_OPERATION_DISCLOSURE, "evidence-acknowledged",
                           broker_id, now);
      a.set_recipient(event.members(0));
      entries.push_back(std::move(a));
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("evidence item '", event.item().item_id(),
                                                     "': unknown custody event type ",
                                                     static_cast<int>(event.type())));
  }
  return entries;
}

}  // namespace liaison::broker
