// liaison.v1.Linkage on gRPC's callback API: endpoints publish the blinded
// identifiers of their open cases (IndexPublisher does the work). A stream
// has at most 4 batches in the broker at once (read, being written, or
// waiting for Kafka), so a publisher streaming a large index is paced by
// Kafka's acknowledgements, not by the broker's memory, without a round trip
// per batch; results come back in the order of the batches.
#ifndef LIAISON_BROKER_FRONTDOOR_LINKAGE_SERVICE_H_
#define LIAISON_BROKER_FRONTDOOR_LINKAGE_SERVICE_H_

#include "broker/core/observer.h"
#include "broker/frontdoor/index_publisher.h"
#include "broker/frontdoor/peer.h"
#include "liaison/v1/linkage.grpc.pb.h"

namespace liaison::broker {

class LinkageService final : public liaison::v1::Linkage::CallbackService {
 public:
  // Neither pointer is owned; both must outlive the server. `observer` may
  // be null.
  LinkageService(const IndexPublisher* publisher, const PeerAuthenticator* peers,
                 Observer* observer)
      : publisher_(publisher), peers_(peers), observer_(observer) {}

  grpc::ServerBidiReactor<liaison::v1::SignedIndexBatch, liaison::v1::IndexBatchResult>* Publish(
      grpc::CallbackServerContext* context) override;

  const IndexPublisher* publisher() const { return publisher_; }
  void ReportRpc(absl::StatusCode code) const {
    if (observer_ != nullptr) observer_->OnRpc("liaison.v1.Linkage/Publish", code);
  }

 private:
  const IndexPublisher* const publisher_;
  const PeerAuthenticator* const peers_;
  Observer* const observer_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_LINKAGE_SERVICE_H_
