#include "broker/frontdoor/index_publisher.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "certs/envelope.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "policy/linkage.h"

namespace liaison::broker {
namespace {

absl::Status CheckType(const std::string& path, liaison::v1::IdentifierType type,
                       const policy::Registry& registry) {
  if (type == liaison::v1::IDENTIFIER_TYPE_PERSON_NAME) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": IDENTIFIER_TYPE_PERSON_NAME is never indexed (use NAME_DOB)"));
  }
  if (!liaison::v1::IdentifierType_IsValid(type) ||
      type == liaison::v1::IDENTIFIER_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unknown identifier type ", static_cast<int>(type)));
  }
  if (!registry.LinkageTypeAllowed(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", liaison::v1::IdentifierType_Name(type),
                     " is not an identifier type the registry allows (linkage.allowed_types)"));
  }
  return absl::OkStatus();
}

absl::Status CheckHandle(const std::string& path, const std::string& handle) {
  if (!policy::IsOwnerRef(handle)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": must be \"LNK-\" followed by 1 to 64 of A-Z a-z 0-9 -"));
  }
  return absl::OkStatus();
}

LinkageRecord Record(uint32_t epoch, const std::string& value, const std::string& owner,
                     const std::string& handle) {
  LinkageRecord r;
  r.epoch = epoch;
  std::copy(value.begin(), value.end(), r.value.begin());
  r.owner = owner;
  r.handle = handle;
  return r;
}

std::string ValueOf(const LinkageRecord& r) { return std::string(r.value.begin(), r.value.end()); }

}  // namespace

absl::StatusOr<IndexPlan> PlanIndexBatch(const liaison::v1::IndexBatch& batch,
                                         const std::string& peer, const policy::Registry& registry,
                                         const LinkageBook& book, absl::Time now,
                                         int64_t pending_entries) {
  if (batch.batch_id().empty() || batch.batch_id().size() > 64) {
    return absl::InvalidArgumentError("batch_id: missing or longer than 64 characters");
  }
  if (batch.publisher() != peer) {
    return absl::PermissionDeniedError(absl::StrCat("publisher: '", batch.publisher(),
                                                    "' is not the TLS client '", peer,
                                                    "'; an endpoint publishes only its own cases"));
  }
  if (absl::Status s = registry.CheckLinkageEpoch(batch.epoch()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("epoch: ", s.message()));
  }
  if (batch.entries().empty() && batch.withdrawals().empty()) {
    return absl::InvalidArgumentError("entries, withdrawals: the batch is empty");
  }
  if (batch.entries_size() > kMaxIndexBatchEntries) {
    return absl::InvalidArgumentError(absl::StrCat("entries: ", batch.entries_size(),
                                                   " entries exceed the limit of ",
                                                   kMaxIndexBatchEntries, " per batch"));
  }
  if (batch.withdrawals_size() > kMaxIndexBatchEntries) {
    return absl::InvalidArgumentError(absl::StrCat("withdrawals: ", batch.withdrawals_size(),
                                                   " withdrawals exceed the limit of ",
                                                   kMaxIndexBatchEntries, " per batch"));
  }
  if (!batch.GetReflection()->GetUnknownFields(batch).empty()) {
    return absl::InvalidArgumentError("batch carries fields the broker does not know");
  }
  IndexPlan plan;
  // Handles this batch claims, and their owners as the book knows them.
  absl::flat_hash_map<std::string, bool> handle_ok;
  auto check_owner = [&](const std::string& path, const std::string& handle) -> absl::Status {
    auto [it, fresh] = handle_ok.try_emplace(handle, true);
    if (fresh) {
      const std::optional<std::string> owner = book.HandleOwner(handle);
      it->second = !owner.has_value() || *owner == peer;
    }
    if (!it->second) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": belongs to another endpoint's case; choose another handle"));
    }
    return absl::OkStatus();
  };
  for (int i = 0; i < batch.entries_size(); ++i) {
    const liaison::v1::IndexEntry& e = batch.entries(i);
    const std::string path = absl::StrCat("entries[", i, "]");
    if (absl::Status s = CheckType(path + ".type", e.type(), registry); !s.ok()) return s;
    if (absl::Status s = CheckBlindedValue(path + ".value", e.value()); !s.ok()) return s;
    if (absl::Status s = CheckHandle(path + ".case_handle", e.case_handle()); !s.ok()) return s;
    if (!e.has_expires_at()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".expires_at: missing"));
    }
    const absl::Time expiry = FromProto(e.expires_at());
    if (expiry <= now) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".expires_at: in the past"));
    }
    if (expiry > now + kMaxIndexEntryRetention) {
      return absl::InvalidArgumentError(
          absl::StrCat(path,
                       ".expires_at: more than 180 days ahead (the linkage retention "
                       "limit of DP-RET-01)"));
    }
    if (!e.GetReflection()->GetUnknownFields(e).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " carries fields the broker does not know"));
    }
    if (absl::Status s = check_owner(path + ".case_handle", e.case_handle()); !s.ok()) return s;
    LinkageRecord r = Record(batch.epoch(), e.value(), peer, e.case_handle());
    r.kind_expiry = std::make_pair(static_cast<uint8_t>(e.type()), expiry);
    plan.upserts.push_back(std::move(r));
  }
  for (int i = 0; i < batch.withdrawals_size(); ++i) {
    const liaison::v1::IndexWithdrawal& w = batch.withdrawals(i);
    const std::string path = absl::StrCat("withdrawals[", i, "]");
    if (absl::Status s = CheckHandle(path + ".case_handle", w.case_handle()); !s.ok()) return s;
    if (absl::Status s = check_owner(path + ".case_handle", w.case_handle()); !s.ok()) return s;
    if (w.type() == liaison::v1::IDENTIFIER_TYPE_UNSPECIFIED && w.value().empty()) {
      for (const auto& [epoch, value] : book.CaseValues(peer, w.case_handle())) {
        plan.withdrawals.push_back(
            Record(epoch, std::string(value.begin(), value.end()), peer, w.case_handle()));
      }
      continue;
    }
    if (absl::Status s = CheckType(path + ".type", w.type(), registry); !s.ok()) return s;
    if (absl::Status s = CheckBlindedValue(path + ".value", w.value()); !s.ok()) return s;
    plan.withdrawals.push_back(Record(batch.epoch(), w.value(), peer, w.case_handle()));
  }
  const int64_t limit = registry.max_linkage_entries_per_endpoint();
  const int64_t held = book.EntriesOf(peer) + pending_entries;
  // Renewals are counted as new: the check errs on the side of the limit.
  if (held + static_cast<int64_t>(plan.upserts.size()) > limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("entries: ", peer, " holds ", held, " index entries; ", plan.upserts.size(),
                     " more exceed the registry's limit of ", limit,
                     " (linkage.max_entries_per_endpoint); withdraw closed cases first"));
  }
  return plan;
}

bool HasWithdrawals(const std::string& batch) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(batch.data()),
                                            static_cast<int>(batch.size()));
  in.SetTotalBytesLimit(INT_MAX);
  while (const uint32_t tag = in.ReadTag()) {
    if (google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag) ==
        liaison::v1::IndexBatch::kWithdrawalsFieldNumber) {
      return true;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) return true;
  }
  return false;
}

void IndexPublisher::Submit(liaison::v1::SignedIndexBatch signed_batch, std::string peer,
                            uint64_t sequence, int64_t pending_entries, Queued queued,
                            Done done) const {
  deps_.pool->Submit([this, signed_batch = std::move(signed_batch), peer = std::move(peer),
                      sequence, pending_entries, queued = std::move(queued),
                      done = std::move(done)]() mutable {
    auto result = std::make_shared<liaison::v1::IndexBatchResult>();
    result->set_sequence(sequence);
    auto refuse = [&](const absl::Status& s) {
      result->set_code(static_cast<int32_t>(s.code()));
      result->set_error(std::string(s.message()));
      queued(0);
      done(*result);
    };
    if (signed_batch.batch().empty() || signed_batch.signature().empty() ||
        signed_batch.signer_certificate().empty()) {
      refuse(absl::InvalidArgumentError("batch, signature and signer_certificate are required"));
      return;
    }
    const absl::Time now = deps_.clock->Now();
    absl::StatusOr<certs::Identity> signer = deps_.verifier->Verify(
        certs::IndexBatchSigningInput(signed_batch.batch()), signed_batch.signature(),
        signed_batch.signer_certificate(), certs::Role::kEndpointSigning, absl::Now());
    if (!signer.ok()) {
      refuse(absl::Status(signer.status().code(),
                          absl::StrCat("signature: ", signer.status().message())));
      return;
    }
    if (signer->id != peer) {
      refuse(absl::PermissionDeniedError(absl::StrCat("signature: signed by '", signer->id,
                                                      "', not by the TLS client '", peer, "'")));
      return;
    }
    liaison::v1::IndexBatch batch;
    if (!batch.ParseFromString(signed_batch.batch())) {
      refuse(absl::InvalidArgumentError("batch: not a liaison.v1.IndexBatch"));
      return;
    }
    result->set_batch_id(batch.batch_id());
    const std::shared_ptr<const policy::Registry> registry = deps_.registry();
    absl::StatusOr<IndexPlan> plan =
        PlanIndexBatch(batch, peer, *registry, *deps_.book, now, pending_entries);
    if (!plan.ok()) {
      refuse(absl::Status(plan.status().code(),
                          absl::StrCat("batch ", batch.batch_id(), ": ", plan.status().message())));
      return;
    }
    liaison::v1::IndexChange change;
    change.set_batch_id(batch.batch_id());
    change.set_publisher(peer);
    change.set_epoch(batch.epoch());
    change.set_stored(static_cast<int64_t>(plan->upserts.size()));
    change.set_withdrawn(static_cast<int64_t>(plan->withdrawals.size()));
    change.set_batch_sha256(certs::Sha256(signed_batch.batch()));
    Write(result, *std::move(plan), std::move(change), std::move(queued), std::move(done));
  });
}

void IndexPublisher::Write(std::shared_ptr<liaison::v1::IndexBatchResult> result, IndexPlan plan,
                           liaison::v1::IndexChange change, Queued queued, Done done) const {
  struct Pending {
    std::atomic<int64_t> left{0};
    std::atomic<int64_t> failed{0};
    IndexPlan plan;
    liaison::v1::IndexChange change;
    Done done;
  };
  auto pending = std::make_shared<Pending>();
  const int64_t total = static_cast<int64_t>(plan.upserts.size() + plan.withdrawals.size());
  pending->left = total;
  const int64_t upserts = static_cast<int64_t>(plan.upserts.size());
  pending->plan = std::move(plan);
  pending->change = std::move(change);
  pending->done = std::move(done);
  auto finish = [this, result, pending, total](const kafka::DeliveryReport& report) {
    if (!report.status.ok()) pending->failed.fetch_add(1);
    if (pending->left.fetch_sub(1) != 1) return;
    if (pending->failed.load() > 0) {
      // Some records may be in Kafka: applying the batch again (a resend)
      // brings every node to the same state.
      result->set_code(static_cast<int32_t>(absl::StatusCode::kUnavailable));
      result->set_error(absl::StrCat("batch ", pending->change.batch_id(),
                                     ": Kafka did not acknowledge ", pending->failed.load(), " of ",
                                     total, " records; send the batch again (safe)"));
      pending->done(*result);
      return;
    }
    Audit(result, std::move(pending->plan), std::move(pending->change), std::move(pending->done));
  };
  if (total == 0) {  // withdrawals of cases that have no entries
    queued(0);
    Audit(result, std::move(pending->plan), std::move(pending->change), std::move(pending->done));
    return;
  }
  const std::string topic = deps_.topics.LinkageIndex();
  for (const LinkageRecord& r : pending->plan.upserts) {
    deps_.producer->Produce(topic, EncodeRecordKey(r.epoch, ValueOf(r), r.owner, r.handle),
                            EncodeRecordValue(r.kind_expiry->first, r.kind_expiry->second), finish);
  }
  for (const LinkageRecord& r : pending->plan.withdrawals) {
    deps_.producer->ProduceTombstone(topic, EncodeRecordKey(r.epoch, ValueOf(r), r.owner, r.handle),
                                     finish);
  }
  queued(upserts);
}

void IndexPublisher::Audit(std::shared_ptr<liaison::v1::IndexBatchResult> result, IndexPlan plan,
                           liaison::v1::IndexChange change, Done done) const {
  const absl::Time now = absl::Now();
  result->set_stored(change.stored());
  result->set_withdrawn(change.withdrawn());
  const std::string key = change.batch_id();
  liaison::v1::IngressEvent event;
  event.set_node_id(deps_.node_id);
  *event.mutable_observed_at() = ToProto(now);
  *event.mutable_index_change() = std::move(change);
  absl::StatusOr<liaison::v1::SignedIngressEvent> signed_event =
      deps_.countersigner->SignEvent(std::move(event), now);
  if (!signed_event.ok()) {
    log::Error("linkage.event_sign_failed", {{"error", signed_event.status().ToString()}});
    result->set_code(static_cast<int32_t>(absl::StatusCode::kInternal));
    result->set_error("the broker could not sign the batch's audit event");
    done(*result);
    return;
  }
  liaison::v1::IngressRecord record;
  *record.mutable_event() = std::move(*signed_event);
  *record.mutable_accepted_at() = ToProto(now);
  deps_.producer->Produce(
      deps_.topics.Ingress(), key, record.SerializeAsString(),
      [this, result, plan = std::move(plan),
       done = std::move(done)](const kafka::DeliveryReport& report) {
        if (report.status.ok()) {
          // Answerable on this node at once; the others (and this one again)
          // read the same records from the topic.
          const absl::Time now = deps_.clock->Now();
          for (const LinkageRecord& r : plan.upserts) (void)deps_.book->ApplyWritten(r, now);
          for (const LinkageRecord& r : plan.withdrawals) (void)deps_.book->ApplyWritten(r, now);
        } else {
          // The entries are stored but their audit event is not: the batch
          // is not reported stored, and a resend writes both again.
          result->set_code(static_cast<int32_t>(absl::StatusCode::kUnavailable));
          result->set_error(absl::StrCat("batch ", result->batch_id(),
                                         ": its audit event was not acknowledged by Kafka; "
                                         "send the batch again (safe)"));
          result->set_stored(0);
          result->set_withdrawn(0);
        }
        done(*result);
      });
}

}  // namespace liaison::broker
