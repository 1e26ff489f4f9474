#include "broker/stage/evidence_keeper.h"

#include <set>
#include <utility>

#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/stage/evidence_erasure.h"
#include "certs/signature.h"

namespace liaison::broker {

int32_t EvidenceChainOf(absl::string_view item_id, int partitions) {
  if (partitions <= 1) return 0;
  const std::string digest = certs::Sha256(std::string_view(item_id.data(), item_id.size()));
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(digest[i]);
  return static_cast<int32_t>(v % static_cast<uint32_t>(partitions));
}

void EvidenceKeeper::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EvidenceKeeper::Stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
}

void EvidenceKeeper::Loop() {
  absl::Time next = absl::Now();
  while (!stop_) {
    if (absl::Now() < next) {
      absl::SleepFor(std::min(absl::Milliseconds(50), next - absl::Now()));
      continue;
    }
    next = absl::Now() + deps_.tick;
    Tick();
  }
}

void EvidenceKeeper::Tick() {
  const absl::Time now = deps_.clock->Now();
  const absl::Time wall = absl::Now();
  std::set<int32_t> eligible;
  {
    absl::MutexLock lock(&mu_);
    std::map<int32_t, absl::Time> owned;
    for (int32_t p : deps_.stage->OwnedPartitions()) {
      auto it = owned_since_.find(p);
      owned[p] = it == owned_since_.end() ? wall : it->second;
      if (owned[p] + deps_.takeover_grace <= wall) eligible.insert(p);
    }
    owned_since_ = std::move(owned);
  }
  if (eligible.empty()) return;
  const std::shared_ptr<const policy::Registry> registry = deps_.registry();
  const EvidenceRetentionLimits limits{registry->EvidenceMaxAge(), registry->EvidenceAfterJitEnd()};

  for (const liaison::v1::EvidenceItemRecord& item : deps_.book->Items()) {
    if (item.has_erasure()) continue;
    const std::string id = item.item_id();
    const int32_t chain = EvidenceChainOf(id, deps_.ingress_partitions);
    if (!eligible.contains(chain)) continue;
    {
      absl::MutexLock lock(&mu_);
      if (busy_.contains(id)) continue;
    }
    const std::vector<liaison::v1::EvidenceGrant> grants = deps_.book->GrantsOf(id);
    const std::vector<std::string> keys = deps_.book->KeyRecipients(id);
    std::optional<absl::Time> jit_end;
    if (const liaison::v1::Jit* jit = registry->FindJit(item.jit_id());
        jit != nullptr && jit->has_end()) {
      jit_end = FromProto(jit->end());
    }
    const EvidenceErasureDue due = ErasureDueOf(item, grants, keys, jit_end, limits);

    Outputs out;
    std::optional<liaison::v1::EvidenceItemRecord> written;
    const char* what = nullptr;
    if (due.due <= now) {
      EvidenceErasurePlan plan =
          PlanEvidenceErasure(item, grants, keys, due, now, deps_.topics, deps_.broker_id);
      out.audit.push_back(std::move(plan.audit));
      out.records = std::move(plan.records);
      for (liaison::v1::Notice& n : plan.notices) {
        if (std::optional<Outputs::Record> r = deps_.stage->NoticeRecord(std::move(n), now)) {
          out.records.push_back(std::move(*r));
        }
      }
      written = std::move(plan.erased);
      what = "erased";
    } else if (jit_end.has_value()) {
      std::optional<EvidenceJitChange> change =
          PlanJitChange(item, *jit_end, now, deps_.topics, deps_.broker_id);
      if (!change.has_value()) continue;
      out.audit.push_back(std::move(change->audit));
      out.records.push_back(std::move(change->record));
      written = std::move(change->updated);
      what = "jit_extended";
    } else {
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      busy_.insert(id);
    }
    log::Info("evidence.retention",
              {{"item_id", id},
               {"action", what},
               {"reason", liaison::v1::EvidenceErasureReason_Name(due.reason)},
               {"chain", chain}});
    deps_.stage->Write(
        chain, std::move(out), [this, id, what, written = *std::move(written)](absl::Status s) {
          if (s.ok()) {
            // In force at once: the next tick (and the front
            // door) sees it before the mirror reads it back.
            deps_.book->ApplyWrittenItem(written);
            if (written.has_erasure()) erased_.fetch_add(1);
          } else {
            log::Warning("evidence.retention_write_failed",
                         {{"item_id", id}, {"action", what}, {"error", s.ToString()}});
          }
          absl::MutexLock lock(&mu_);
          busy_.erase(id);
        });
  }
}

}  // namespace liaison::broker
