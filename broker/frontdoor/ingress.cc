#include "broker/frontdoor/ingress.h"

#include "base/safe_text.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "certs/envelope.h"

namespace liaison::broker {

Ingress::Ingress(Topics topics, kafka::Producer* producer, const certs::Verifier* verifier,
                 RegistryProvider registry, AcceptedIds* accepted, WorkerPool* pool,
                 const Clock* clock, IngressOptions options)
    : topics_(std::move(topics)),
      producer_(producer),
      verifier_(verifier),
      registry_(std::move(registry)),
      accepted_(accepted),
      pool_(pool),
      clock_(clock),
      options_(std::move(options)),
      accepted_ids_(producer, {.topic = topics_.AcceptedIds(),
                               .field_number = liaison::v1::AcceptedIdBatch::kIdsFieldNumber}) {}

void Ingress::Submit(liaison::v1::SignedEnvelope envelope, std::string peer_id, Done done) {
  if (options_.observer != nullptr) {
    // Every answer is reported, whichever path gives it.
    done = [observer = options_.observer, peer_id, bytes = envelope.message().size(),
            done = std::move(done)](absl::StatusOr<liaison::v1::SendResult> result) {
      observer->OnSend(peer_id, result.status().code(), result.ok() && result->duplicate(), bytes);
      done(std::move(result));
    };
  }
  pool_->Submit([this, envelope = std::move(envelope), peer_id = std::move(peer_id),
                 done = std::move(done)]() mutable {
    Accept(std::move(envelope), peer_id, std::move(done));
  });
}

void Ingress::Accept(liaison::v1::SignedEnvelope envelope, const std::string& peer_id, Done done) {
  auto reject = [&](absl::Status status) {
    ++stats_.rejected;
    log::Info("ingress.rejected", {{"peer", peer_id},
                                   {"code", absl::StatusCodeToString(status.code())},
                                   {"error", status.message()}});
    done(std::move(status));
  };
  const size_t size = envelope.message().size();
  if (size > options_.max_message_bytes) {
    return reject(absl::ResourceExhaustedError(absl::StrCat(
        "message: ", size, " bytes; the limit is ", options_.max_message_bytes, " bytes")));
  }
  const std::shared_ptr<const certs::TrustStore> trust = verifier_->trust_store();
  absl::StatusOr<certs::VerifiedEnvelope> verified =
      certs::VerifyEnvelope(std::move(envelope), *verifier_, absl::Now());
  if (!verified.ok()) return reject(verified.status());
  const liaison::v1::Header& header = verified->message().header();
  if (header.sender() != peer_id) {
    return reject(absl::PermissionDeniedError(absl::StrCat("header.sender: TLS client '",
                                                           SafeText(peer_id), "' may not send as '",
                                                           SafeText(header.sender()), "'")));
  }
  std::shared_ptr<const policy::Registry> registry = registry_();
  if (absl::Status s =
          ValidateForIngress(verified->message(), *registry, clock_->Now(), options_.limits);
      !s.ok()) {
    return reject(std::move(s));
  }

  std::string message_id = header.message_id();
  std::string sender = header.sender();
  std::string key = IngressKeyOf(header).value();
  std::string sha256 = certs::Sha256(verified->envelope().message());

  // Deduplication: an id already accepted, or being accepted right now. The
  // accepted set is consulted under mu_ so that a write finishing meanwhile
  // (which records the id before it leaves pending_) cannot be missed.
  enum class Seen { kNew, kJoined, kAccepted, kConflict };
  Seen seen = Seen::kNew;
  std::optional<liaison::v1::AcceptedId> prior;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(message_id);
    if (it != pending_.end()) {
      if (it->second.sha256 != sha256) {
        seen = Seen::kConflict;
      } else {
        it->second.waiters.push_back(std::move(done));
        seen = Seen::kJoined;
      }
    } else if ((prior = accepted_->Find(MessageId(message_id)))) {
      seen = prior->message_sha256() == sha256 ? Seen::kAccepted : Seen::kConflict;
    } else {
      Pending& p = pending_[message_id];
      p.sha256 = sha256;
      p.waiters.push_back(std::move(done));
    }
  }
  switch (seen) {
    case Seen::kConflict:
      return reject(absl::AlreadyExistsError(
          "header.message_id: already used by a message with different content"));
    case Seen::kJoined:
      return;
    case Seen::kAccepted: {
      ++stats_.duplicates;
      liaison::v1::SendResult result;
      result.set_message_id(message_id);
      *result.mutable_accepted_at() = prior->accepted_at();
      result.set_duplicate(true);
      return done(std::move(result));
    }
    case Seen::kNew:
      break;
  }
  if (options_.verified != nullptr) {
    options_.verified->Insert(VerifiedEnvelopes::DigestOf(verified->envelope()), trust);
  }
  Produce(std::move(message_id), std::move(sender), std::move(sha256), std::move(key),
          std::move(*verified).TakeEnvelope());
}

void Ingress::Produce(std::string message_id, std::string sender, std::string sha256,
                      std::string key, liaison::v1::SignedEnvelope envelope) {
  liaison::v1::IngressRecord record;
  *record.mutable_envelope() = std::move(envelope);
  *record.mutable_accepted_at() = ToProto(absl::Now());
  record.set_accepted_by(options_.node_id);
  std::string value = record.SerializeAsString();
  const absl::Time produced = absl::Now();
  producer_->Produce(
      topics_.Ingress(), std::move(key), std::move(value),
      [this, message_id, sender = std::move(sender), sha256 = std::move(sha256),
       produced](const kafka::DeliveryReport& report) {
        if (options_.observer != nullptr) {
          options_.observer->OnIngressProduce(absl::Now() - produced, report.status.ok());
        }
        if (!report.status.ok()) {
          ++stats_.unavailable;
          log::Warning("ingress.kafka_unavailable",
                       {{"message_id", message_id},
                        {"possibly_persisted", report.possibly_persisted},
                        {"error", report.status.ToString()}});
          Finish(message_id, absl::UnavailableError(absl::StrCat(
                                 "Kafka did not acknowledge the write (", report.status.message(),
                                 "); nothing was accepted: re-send the same envelope")));
          return;
        }
        const absl::Time now = absl::Now();
        liaison::v1::AcceptedId accepted;
        accepted.set_message_id(message_id);
        accepted.set_sender(sender);
        accepted.set_message_sha256(sha256);
        *accepted.mutable_accepted_at() = ToProto(now);
        accepted.set_partition(report.partition);
        accepted.set_offset(report.offset);
        accepted_->Insert(accepted);
        // The deduplication record is best effort: if it is lost, a resend
        // is written twice to ingress and the delivery side drops the copy.
        // Written in groups with the ids accepted meanwhile (one record per
        // round trip, not per message).
        accepted_ids_.Add(message_id, accepted.SerializeAsString(),
                          [message_id](const absl::Status& s) {
                            if (!s.ok()) {
                              log::Warning("ingress.dedup_record_failed",
                                           {{"message_id", message_id}, {"error", s.ToString()}});
                            }
                          });
        ++stats_.accepted;
        log::Debug("ingress.accepted", {{"message_id", message_id},
                                        {"sender", sender},
                                        {"partition", report.partition},
                                        {"offset", report.offset}});
        liaison::v1::SendResult result;
        result.set_message_id(message_id);
        *result.mutable_accepted_at() = ToProto(now);
        Finish(message_id, std::move(result));
      });
}

void Ingress::Finish(const std::string& message_id,
                     absl::StatusOr<liaison::v1::SendResult> result) {
  std::vector<Done> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(message_id);
    if (it == pending_.end()) return;
    waiters = std::move(it->second.waiters);
    pending_.erase(it);
  }
  for (size_t i = 0; i < waiters.size(); ++i) {
    if (i > 0 && result.ok()) {
      ++stats_.duplicates;
      liaison::v1::SendResult dup = *result;
      dup.set_duplicate(true);
      waiters[i](std::move(dup));
    } else {
      waiters[i](result);
    }
  }
}

}  // namespace liaison::broker
