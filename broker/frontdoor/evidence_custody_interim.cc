// EvidenceService::RecordCustody until main's version lands (the lead
// writes it with the upload and download events): signs the event and
// produces it to liaison.ingress keyed by item id.
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/frontdoor/evidence_service.h"

namespace liaison::broker {

void EvidenceService::RecordCustody(liaison::v1::EvidenceEvent event,
                                    std::function<void(absl::Status)> done) const {
  const absl::Time now = absl::Now();
  const std::string key = event.item().item_id();
  liaison::v1::IngressEvent ingress;
  ingress.set_node_id(deps_.node_id);
  *ingress.mutable_observed_at() = ToProto(now);
  *ingress.mutable_evidence() = std::move(event);
  absl::StatusOr<liaison::v1::SignedIngressEvent> signed_event =
      deps_.countersigner->SignEvent(std::move(ingress), now);
  if (!signed_event.ok()) {
    done(signed_event.status());
    return;
  }
  liaison::v1::IngressRecord record;
  *record.mutable_event() = std::move(*signed_event);
  *record.mutable_accepted_at() = ToProto(now);
  deps_.producer->Produce(deps_.topics.Ingress(), key, record.SerializeAsString(),
                          [done = std::move(done)](const kafka::DeliveryReport& report) {
                            done(report.status);
                          });
}

}  // namespace liaison::broker
