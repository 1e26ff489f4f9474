// What the hold book needs from the policy stage, and nothing more: the hold
// book depends on this interface, the stage implements it (PolicyStage), so
// hold_book.h does not know the stage. The stage's one edge back to the hold
// book is two named events in PolicyStageDeps (on_consent, on_held), wired
// by broker.cc.
#ifndef LIAISON_BROKER_STAGE_HOLD_RESOLVER_H_
#define LIAISON_BROKER_STAGE_HOLD_RESOLVER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/stage/outputs.h"
#include "liaison/v1/broker_state.pb.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/evidence.pb.h"

namespace liaison::broker {

class HoldResolver {
 public:
  virtual ~HoldResolver() = default;

  // Ingress partitions this node owns now: the hold book works only holds
  // whose ingress partition is one of them.
  virtual std::vector<int32_t> OwnedPartitions() const = 0;

  // Decides `held` again for its one recipient at `now` (FlowStep::kReleased)
  // and builds what to write, as for a message on arrival. No flow event in
  // the result means the held record could not be decided (it does not
  // verify).
  virtual Outputs Reevaluate(const liaison::v1::HeldDelivery& held, absl::Time now) const = 0;

  // A signed notice for its addressee's delivery topic (nullopt if signing
  // failed, which is logged).
  virtual std::optional<Outputs::Record> NoticeRecord(liaison::v1::Notice notice,
                                                      absl::Time now) const = 0;

  // Audits then writes `outputs` on the audit chain `chain`, as the stage
  // writes its own; `done` gets OK once every record is acknowledged.
  virtual void Write(int32_t chain, Outputs outputs, std::function<void(absl::Status)> done) = 0;

  // The evidence keeper's erasure point (evidence_keeper.h): a signed
  // ERASURE_POINT event for `item` written to ingress partition `chain`;
  // `done` gets its offset once Kafka acknowledged it.
  virtual void WriteErasurePoint(int32_t chain, const liaison::v1::EvidenceItemRecord& item,
                                 std::function<void(absl::StatusOr<int64_t>)> done) = 0;

  // Whether this node's stage owns `chain` and has sealed the audit entries
  // of every ingress record of it up to and including `offset`.
  virtual bool SealedPast(int32_t chain, int64_t offset) const = 0;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_HOLD_RESOLVER_H_
