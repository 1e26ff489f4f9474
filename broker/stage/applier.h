// The applier: carries out a plan (plan.h). It countersigns each delivery
// group once, signs each notice, puts what the books learn into them (the
// consent book before the chain decides, the source book after) and turns
// the plan into the records the stage writes, audit entries first
// (PolicyStage::Write keeps the write guarantees: audit before anything,
// same sealed bytes on a retry, output committed only when acknowledged).
#ifndef LIAISON_BROKER_STAGE_APPLIER_H_
#define LIAISON_BROKER_STAGE_APPLIER_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "broker/core/countersigner.h"
#include "broker/core/topics.h"
#include "broker/stage/notices.h"
#include "broker/stage/outputs.h"
#include "broker/stage/plan.h"
#include "broker/state/state_indexes.h"

namespace liaison::broker {

struct ApplierDeps {
  Topics topics;
  const Countersigner* countersigner = nullptr;
  const ItemSigner* items = nullptr;
  SourceBook* sources = nullptr;
  ConsentBook* consents = nullptr;
  // Leave delivery statements unsigned, as leaves (Outputs::Record::leaf)
  // for the stage's batch signer, instead of countersigning each group.
  bool batch_signing = false;
};

class PlanApplier {
 public:
  explicit PlanApplier(ApplierDeps deps) : deps_(std::move(deps)) {}

  // Puts a usable consent into the consent book (logs an unusable one).
  // True when it was recorded. Called before the chain decides.
  bool RecordConsent(const ConsentPlan& consent, const PlanContext& context) const;

  // Signs the plan's delivery groups and notices, updates the source book
  // and returns what to write, in the order the stage has always written it:
  // audit entries; records of the consent, the holds, the groups of the
  // original body, the derived copies, the source record, the notices. A
  // group or notice whose signature fails is left out (logged).
  Outputs Apply(Plan plan, const PlanContext& context) const;

  std::optional<Outputs::Record> NoticeRecord(liaison::v1::Notice notice, absl::Time now) const;

 private:
  std::optional<liaison::v1::BrokerSigned> Countersign(liaison::v1::Attestation attestation,
                                                       absl::Time now) const;
  const ApplierDeps deps_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_APPLIER_H_
