#include "broker/frontdoor/linkage_service.h"

#include <string>
#include <utility>

namespace liaison::broker {
namespace {

using liaison::v1::IndexBatchResult;
using liaison::v1::SignedIndexBatch;

class PublishReactor final : public grpc::ServerBidiReactor<SignedIndexBatch, IndexBatchResult> {
 public:
  PublishReactor(const LinkageService* service, absl::StatusOr<certs::Identity> peer)
      : service_(service) {
    if (!peer.ok()) {
      service_->ReportRpc(peer.status().code());
      Finish(ToGrpc(peer.status()));
      return;
    }
    peer_ = peer->id;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side: every batch is answered
      service_->ReportRpc(absl::StatusCode::kOk);
      Finish(grpc::Status::OK);
      return;
    }
    service_->publisher()->Submit(std::move(request_), peer_, sequence_++,
                                  [this](IndexBatchResult result) {
                                    response_ = std::move(result);
                                    StartWrite(&response_);
                                  });
    request_.Clear();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client went away
      service_->ReportRpc(absl::StatusCode::kCancelled);
      Finish(grpc::Status::CANCELLED);
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const LinkageService* const service_;
  std::string peer_;
  uint64_t sequence_ = 0;
  SignedIndexBatch request_;
  IndexBatchResult response_;
};

}  // namespace

grpc::ServerBidiReactor<SignedIndexBatch, IndexBatchResult>* LinkageService::Publish(
    grpc::CallbackServerContext* context) {
  return new PublishReactor(this, peers_->Authenticate(*context, certs::Role::kEndpointTls));
}

}  // namespace liaison::broker
