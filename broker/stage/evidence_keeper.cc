#include "broker/stage/evidence_keeper.h"

#include <algorithm>
#include <limits>
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

  {
    // A chain given up: its next owner writes points of its own.
    absl::MutexLock lock(&mu_);
    std::erase_if(points_,
                  [&eligible](const auto& p) { return !eligible.contains(p.second.chain); });
  }
  const std::vector<liaison::v1::EvidenceItemRecord> items = deps_.book->Items();
  for (const liaison::v1::EvidenceItemRecord& item : items) {
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
    if (item.has_erasure_pending()) {
      // Marked (by this node or an earlier owner of the chain): erased once
      // the stage has sealed past the item's erasure point.
      if (!PointPassed(item, chain)) continue;
      if (deps_.erasure_hook && !deps_.erasure_hook(id)) continue;
      const EvidenceErasureDue marked{item.erasure_pending().reason(),
                                      FromProto(item.erasure_pending().due())};
      EvidenceErasurePlan plan =
          PlanEvidenceErasure(item, grants, keys, marked, now, deps_.topics, deps_.broker_id);
      out.audit.push_back(std::move(plan.audit));
      out.records = std::move(plan.records);
      for (liaison::v1::Notice& n : plan.notices) {
        if (std::optional<Outputs::Record> r = deps_.stage->NoticeRecord(std::move(n), now)) {
          out.records.push_back(std::move(*r));
        }
      }
      out.erased_item = id;
      written = std::move(plan.erased);
      what = "erased";
    } else if (due.due <= now) {
      // First the mark (docs/evidence.md, "A download during the erasure"):
      // no node admits a download of the item once it reads it.
      liaison::v1::EvidenceItemRecord marked = item;
      liaison::v1::EvidenceErasure* pending = marked.mutable_erasure_pending();
      pending->set_reason(due.reason);
      *pending->mutable_due() = ToProto(due.due);
      out.records.push_back({deps_.topics.EvidenceItems(), id, marked.SerializeAsString(),
                             kafka::kAnyPartition, std::nullopt});
      written = std::move(marked);
      what = "erasure_marked";
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
          if (s.ok() && written.has_erasure()) points_.erase(id);
        });
  }
  DeleteChunks(eligible);
}

bool EvidenceKeeper::PointPassed(const liaison::v1::EvidenceItemRecord& item, int32_t chain) {
  const std::string& id = item.item_id();
  {
    absl::MutexLock lock(&mu_);
    auto it = points_.find(id);
    if (it != points_.end()) {
      return it->second.offset >= 0 && deps_.stage->SealedPast(chain, it->second.offset);
    }
    points_[id] = {chain, -1};
  }
  deps_.stage->WriteErasurePoint(chain, item, [this, id](absl::StatusOr<int64_t> offset) {
    absl::MutexLock lock(&mu_);
    if (offset.ok()) {
      if (auto it = points_.find(id); it != points_.end()) it->second.offset = *offset;
      return;
    }
    log::Warning("evidence.erasure_point_failed",
                 {{"item_id", id}, {"error", offset.status().ToString()}});
    points_.erase(id);  // written again at the next tick
  });
  return false;
}

void EvidenceKeeper::DeleteChunks(const std::set<int32_t>& eligible_chains) {
  if (unsupported_ || deps_.chunk_partitions <= 0 || deps_.kafka.bootstrap_servers.empty()) return;
  const absl::Duration timeout = absl::Seconds(10);
  const std::string topic = deps_.topics.EvidenceChunks();
  // Read after the erasures above were applied: an erasure counts only once
  // Kafka acknowledged it (ApplyWrittenItem in the write's callback).
  const std::vector<liaison::v1::EvidenceItemRecord> items = deps_.book->Items();
  for (int32_t p = 0; p < deps_.chunk_partitions; ++p) {
    if (!eligible_chains.contains(p % std::max(deps_.ingress_partitions, 1))) continue;
    const absl::Time wall = absl::Now();
    auto known = low_.find(p);
    // The live items alone, before asking Kafka anything.
    if (known != low_.end() &&
        ChunkDeletionBoundOf(p, items, std::numeric_limits<int64_t>::max()).before <=
            known->second) {
      continue;
    }
    if (auto t = next_try_.find(p); t != next_try_.end() && wall < t->second) continue;
    next_try_[p] = wall + deps_.chunk_retry;
    if (deleter_ == nullptr) {
      absl::StatusOr<std::unique_ptr<kafka::RecordDeleter>> d =
          kafka::RecordDeleter::Create(deps_.kafka);
      if (!d.ok()) {
        log::Warning("evidence.chunk_deletion_failed", {{"error", d.status().ToString()}});
        if (deps_.observer != nullptr) deps_.observer->OnEvidenceChunkDeletion("failed", 0);
        return;
      }
      deleter_ = *std::move(d);
    }
    const kafka::TopicPartition tp{topic, p};
    absl::Status failed;
    int64_t low = -1;
    ChunkDeletionBound bound;
    if (absl::StatusOr<std::pair<int64_t, int64_t>> marks = deleter_->Watermarks(tp, timeout);
        !marks.ok()) {
      failed = marks.status();
    } else if (absl::StatusOr<int64_t> horizon =
                   deleter_->OffsetAtTime(tp, wall - deps_.upload_horizon, timeout);
               !horizon.ok()) {
      failed = horizon.status();
    } else {
      low = marks->first;
      low_[p] = low;
      bound = ChunkDeletionBoundOf(p, items, std::min(*horizon, marks->second));
    }
    if (failed.ok() && bound.before <= low) continue;  // nothing to delete yet
    absl::StatusOr<int64_t> now_low = !failed.ok() ? absl::StatusOr<int64_t>(failed)
                                      : deps_.kafka.mock
                                          ? absl::StatusOr<int64_t>(absl::UnimplementedError(
                                                "the embedded mock cluster has no DeleteRecords"))
                                          : deleter_->DeleteBefore(tp, bound.before, timeout);
    if (absl::IsUnimplemented(now_low.status())) {
      // The embedded mock: say so once, loudly, and stop asking.
      unsupported_ = true;
      log::Warning("evidence.chunk_deletion_unsupported",
                   {{"topic", topic}, {"partition", p}, {"error", now_low.status().ToString()}});
      if (deps_.observer != nullptr) deps_.observer->OnEvidenceChunkDeletion("unsupported", 0);
      return;
    }
    if (!now_low.ok()) {
      log::Warning("evidence.chunk_deletion_failed", {{"topic", topic},
                                                      {"partition", p},
                                                      {"before", bound.before},
                                                      {"error", now_low.status().ToString()}});
      if (deps_.observer != nullptr) deps_.observer->OnEvidenceChunkDeletion("failed", 0);
      continue;
    }
    const int64_t deleted = std::max<int64_t>(*now_low - low, 0);
    low_[p] = *now_low;
    next_try_.erase(p);  // it moved: look again at the next tick
    chunk_records_deleted_.fetch_add(deleted);
    log::Info("evidence.chunks_deleted",
              {{"topic", topic},
               {"partition", p},
               {"from", low},
               {"to", *now_low},
               {"records", deleted},
               {"held_by", bound.live_item.empty() ? "upload_horizon" : "live_item"}});
    if (deps_.observer != nullptr) deps_.observer->OnEvidenceChunkDeletion("deleted", deleted);
  }
}

}  // namespace liaison::broker
