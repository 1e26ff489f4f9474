// The front door's accept pipeline, shared by Exchange.Send and
// Exchange.SendStream: size → signature (verify first, parse second) → TLS
// peer is the sender → structure → deduplication → produce to
// `liaison.ingress` with acks=all → answer from the Kafka delivery report.
//
// Nothing here blocks a gRPC thread: verification runs on the worker pool,
// and the answer is given from the Kafka producer's delivery report.
#ifndef LIAISON_BROKER_FRONTDOOR_INGRESS_H_
#define LIAISON_BROKER_FRONTDOOR_INGRESS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/clock.h"
#include "broker/core/observer.h"
#include "broker/core/record_batcher.h"
#include "broker/core/topics.h"
#include "broker/core/verified_envelopes.h"
#include "broker/core/worker_pool.h"
#include "broker/frontdoor/validate.h"
#include "broker/state/accepted_ids.h"
#include "certs/signature.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/exchange.pb.h"
#include "policy/registry.h"

namespace liaison::broker {

using RegistryProvider = std::function<std::shared_ptr<const policy::Registry>()>;

struct IngressOptions {
  std::string node_id;
  // Largest accepted `SignedEnvelope.message`, in bytes.
  size_t max_message_bytes = 4 * 1024 * 1024;
  ValidationLimits limits;
  // Told of every answer (may be null).
  Observer* observer = nullptr;
  // Where the envelopes verified here are recorded, so that this node's
  // policy stage does not verify them again (may be null).
  VerifiedEnvelopes* verified = nullptr;
};

// Counters for metrics (read without locks).
struct IngressStats {
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> unavailable{0};
};

class Ingress {
 public:
  using Done = std::function<void(absl::StatusOr<liaison::v1::SendResult>)>;

  Ingress(Topics topics, kafka::Producer* producer, const certs::Verifier* verifier,
          RegistryProvider registry, AcceptedIds* accepted, WorkerPool* pool, const Clock* clock,
          IngressOptions options);

  // Thread-safe. `done` runs exactly once, on a worker or Kafka thread, with
  // the SendResult or a status whose message names the problem:
  //   ResourceExhausted  too large
  //   PermissionDenied   signer certificate revoked/expired/untrusted, or the
  //                      TLS peer is not the sender
  //   InvalidArgument    signature, unparsable bytes, field (path named)
  //   AlreadyExists      message id already used for different bytes
  //   Unavailable        Kafka did not acknowledge: nothing accepted, re-send
  void Submit(liaison::v1::SignedEnvelope envelope, std::string peer_id, Done done);

  const IngressStats& stats() const { return stats_; }

 private:
  struct Pending {
    std::string sha256;
    std::vector<Done> waiters;
  };

  void Accept(liaison::v1::SignedEnvelope envelope, const std::string& peer_id, Done done);
  void Produce(std::string message_id, std::string sender, std::string sha256, std::string key,
               liaison::v1::SignedEnvelope envelope);
  void Finish(const std::string& message_id, absl::StatusOr<liaison::v1::SendResult> result)
      ABSL_LOCKS_EXCLUDED(mu_);

  const Topics topics_;
  kafka::Producer* const producer_;
  const certs::Verifier* const verifier_;
  const RegistryProvider registry_;
  AcceptedIds* const accepted_;
  WorkerPool* const pool_;
  const Clock* const clock_;
  const IngressOptions options_;
  IngressStats stats_;
  // liaison.registry.ids, written in groups (AcceptedIdBatch).
  RecordBatcher accepted_ids_;

  absl::Mutex mu_;
  // Message ids being written to Kafka right now, with everyone waiting.
  absl::flat_hash_map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_INGRESS_H_
