// Evidence.Acknowledge, and the erasure check shared with Download
// (docs/evidence.md, "Acknowledgement" and "Erasure").
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "base/status_macros.h"
#include "broker/frontdoor/evidence_service.h"

namespace liaison::broker {
namespace {

constexpr char kAcknowledgeMethod[] = "liaison.v1.Evidence/Acknowledge";

std::string Item(absl::string_view id) { return absl::StrCat("evidence item '", id, "'"); }
std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status NotReadToEnd(absl::string_view what, const absl::Status& why, absl::string_view then) {
  return absl::UnavailableError(
      absl::StrCat(what, ": this node has not caught up with the evidence records in Kafka (",
                   why.message(), "); ", then));
}

absl::Status CheckNotErased(const liaison::v1::EvidenceItemRecord& item) {
  if (!item.has_erasure()) return absl::OkStatus();
  const liaison::v1::EvidenceErasure& e = item.erasure();
  return absl::FailedPreconditionError(
      absl::StrCat(Item(item.item_id()), ": erased at ", Time(FromProto(e.erased_at())),
                   " (its keys destroyed): ", liaison::v1::EvidenceErasureReason_Name(e.reason()),
                   ", ", ErasureReasonText(e.reason()), " (due ", Time(FromProto(e.due())), ")"));
}

absl::Status CheckDownloadable(const liaison::v1::EvidenceItemRecord& item) {
  LIAISON_RETURN_IF_ERROR(CheckNotErased(item));
  if (!item.has_erasure_pending()) return absl::OkStatus();
  const liaison::v1::EvidenceErasure& e = item.erasure_pending();
  return absl::FailedPreconditionError(absl::StrCat(
      Item(item.item_id()), ": being erased (", liaison::v1::EvidenceErasureReason_Name(e.reason()),
      ", ", ErasureReasonText(e.reason()), ", due ", Time(FromProto(e.due())),
      "): no download is admitted"));
}

absl::StatusOr<liaison::v1::EvidenceEvent> CheckAcknowledge(
    const liaison::v1::AcknowledgeRequest& request, const std::string& peer,
    const EvidenceBook& book) {
  const std::string& id = request.item_id();
  if (absl::Status s = CheckEvidenceItemId(id, "item_id"); !s.ok()) return s;
  const std::optional<liaison::v1::EvidenceGrant> grant = book.Grant(id, peer);
  const std::optional<liaison::v1::EvidenceItemRecord> item = book.Item(id);
  if (item.has_value() && item->has_erasure() &&
      (grant.has_value() || item->uploader() == peer ||
       std::find(item->wrapped_for().begin(), item->wrapped_for().end(), peer) !=
           item->wrapped_for().end())) {
    return CheckNotErased(*item);
  }
  if (!grant.has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat(Item(id), ": no grant for ", peer, ": nothing to acknowledge"));
  }
  if (!item.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Item(id), ": not completely uploaded: nothing to acknowledge"));
  }
  if (request.sha256() != grant->item().sha256()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Item(id), ": sha256 ", absl::BytesToHexString(request.sha256()),
                     " is not the plaintext SHA-256 of the granted manifest entry (",
                     absl::BytesToHexString(grant->item().sha256()), ", manifest ",
                     grant->manifest_message_id(), ")"));
  }
  liaison::v1::EvidenceEvent event;
  event.set_type(liaison::v1::EvidenceEvent::ACKNOWLEDGED);
  liaison::v1::EvidenceRef* ref = event.mutable_item();
  ref->set_item_id(id);
  ref->set_jit_id(item->jit_id());
  ref->set_ciphertext_sha256(item->ciphertext_sha256());
  ref->set_sha256(grant->item().sha256());
  event.set_uploader(item->uploader());
  event.set_chunk_count(item->chunk_count());
  event.set_ciphertext_size(item->ciphertext_size());
  event.add_members(peer);
  return event;
}

grpc::ServerUnaryReactor* EvidenceService::Acknowledge(
    grpc::CallbackServerContext* context, const liaison::v1::AcknowledgeRequest* request,
    liaison::v1::AcknowledgeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<certs::Identity> peer =
      deps_.peers->Authenticate(*context, certs::Role::kEndpointTls);
  if (!peer.ok()) {
    ReportRpc(kAcknowledgeMethod, peer.status().code());
    reactor->Finish(ToGrpc(peer.status()));
    return reactor;
  }
  if (!deps_.read_to_end) {
    AcknowledgeRead(reactor, *request, peer->id, response);
    return reactor;
  }
  // An erasure written through another node before this call is in force
  // here first: no acknowledgement is recorded after it.
  deps_.read_to_end(kEvidenceReadToEndTimeout, [this, reactor, request, response,
                                                member = peer->id](absl::Status s) {
    if (!s.ok()) {
      s = NotReadToEnd(Item(request->item_id()), s, "nothing was recorded, acknowledge again");
      ReportRpc(kAcknowledgeMethod, s.code());
      reactor->Finish(ToGrpc(s));
      return;
    }
    AcknowledgeRead(reactor, *request, member, response);
  });
  return reactor;
}

void EvidenceService::AcknowledgeRead(grpc::ServerUnaryReactor* reactor,
                                      const liaison::v1::AcknowledgeRequest& request,
                                      const std::string& member,
                                      liaison::v1::AcknowledgeResponse* response) {
  absl::StatusOr<liaison::v1::EvidenceEvent> event = CheckAcknowledge(request, member, *deps_.book);
  if (!event.ok()) {
    ReportRpc(kAcknowledgeMethod, event.status().code());
    log::Info("evidence.acknowledge_refused",
              {{"code", absl::StatusCodeToString(event.status().code())},
               {"reason", event.status().message()}});
    reactor->Finish(ToGrpc(event.status()));
    return;
  }
  const absl::Time now = deps_.clock->Now();
  const std::string id = request.item_id();
  RecordCustody(*std::move(event), [this, reactor, response, now, id, member](absl::Status s) {
    if (s.ok()) {
      *response->mutable_acknowledged_at() = ToProto(now);
      log::Info("evidence.acknowledged", {{"item_id", id}, {"recipient", member}});
    } else {
      s = absl::UnavailableError(absl::StrCat(Item(id), ": the acknowledgement was not recorded (",
                                              s.message(), "); acknowledge again"));
    }
    ReportRpc(kAcknowledgeMethod, s.code());
    reactor->Finish(ToGrpc(s));
  });
}

}  // namespace liaison::broker
