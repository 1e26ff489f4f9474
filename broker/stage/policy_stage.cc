#include "broker/stage/policy_stage.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "connectors/audit/audit_trail.h"
#include "certs/envelope.h"
#include "certs/signature.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "policy/correction.h"
#include "policy/redact.h"
#include "policy/retention.h"
#include "policy/sources.h"

namespace liaison::broker {
namespace {

using liaison::v1::Outcome;

constexpr int64_t kMaxInFlight = 4096;
constexpr absl::Duration kFirstRetry = absl::Milliseconds(500);
constexpr absl::Duration kMaxRetry = absl::Seconds(10);

// `prefix` (a serialised DeliveryItem without content) followed by field 4
// (original) holding `envelope_bytes`: protobuf parsers merge the two, so the
// envelope is copied once per recipient and never re-serialised.
std::string WithOriginal(const std::string& prefix, const std::string& envelope_bytes) {
  std::string out;
  out.reserve(prefix.size() + envelope_bytes.size() + 8);
  out.append(prefix);
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
      liaison::v1::DeliveryItem::kOriginalFieldNumber,
      google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  coded.WriteVarint32(static_cast<uint32_t>(envelope_bytes.size()));
  coded.WriteRaw(envelope_bytes.data(), static_cast<int>(envelope_bytes.size()));
  coded.Trim();
  return out;
}

liaison::v1::AuditOperation OperationFor(Outcome outcome, liaison::v1::Kind kind,
                                         bool third_country) {
  switch (outcome) {
    case liaison::v1::OUTCOME_ALLOW:
    case liaison::v1::OUTCOME_REDACT:
      if (kind == liaison::v1::KIND_LINKAGE_QUERY) return liaison::v1::AUDIT_OPERATION_CONSULTATION;
      if (third_country) return liaison::v1::AUDIT_OPERATION_TRANSFER;
      return outcome == liaison::v1::OUTCOME_REDACT ? liaison::v1::AUDIT_OPERATION_ALTERATION
                                                     : liaison::v1::AUDIT_OPERATION_DISCLOSURE;
    case liaison::v1::OUTCOME_HOLD:
    case liaison::v1::OUTCOME_DELAY:
      return liaison::v1::AUDIT_OPERATION_RETENTION;
    default:
      return liaison::v1::AUDIT_OPERATION_REFUSAL;
  }
}

std::string ObligationsKey(const std::vector<liaison::v1::Obligation>& obligations) {
  std::vector<std::string> parts;
  parts.reserve(obligations.size());
  for (const liaison::v1::Obligation& o : obligations) {
    google::protobuf::io::StringOutputStream* unused = nullptr;
    (void)unused;
    std::string bytes;
    {
      google::protobuf::io::StringOutputStream out(&bytes);
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.SetSerializationDeterministic(true);
      o.SerializeToCodedStream(&coded);
    }
    parts.push_back(std::move(bytes));
  }
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, "\x1f");
}

}  // namespace

std::string HmacPseudonymiser::Ref(std::string_view sender, std::string_view entity_id,
                                   std::string_view recipient) const {
  std::string input;
  input.append(sender).append("\n").append(entity_id).append("\n").append(recipient);
  return "VREF-" + certs::HexEncode(certs::HmacSha256(secret_, input).substr(0, 12));
}

struct PolicyStage::Work {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string value;  // the ingress record, kept to recompute on a retry
  bool computed = false;
  bool sent = false;
  // Set from the write's callback, which may run synchronously inside
  // Dispatch (which holds mu_) when there is nothing to write — a record
  // refused as unreadable or forged: atomic, so the callback takes no lock.
  std::atomic<bool> done{false};
  int attempts = 0;
  Outputs outputs;
  AuditLog::Sealed sealed_audit;
  // Set by the first Send: what is written, again on every retry.
  std::shared_ptr<const std::vector<Outputs::Record>> pending;
  std::vector<FlowEvent> flow;
  std::vector<liaison::v1::HeldDelivery> held;
};

PolicyStage::PolicyStage(PolicyStageDeps deps) : deps_(std::move(deps)) {}

PolicyStage::~PolicyStage() { Stop(); }

absl::Status PolicyStage::Start() {
  kafka::ConsumerOptions options;
  options.group_id = deps_.topics.PolicyGroup();
  options.topics = {deps_.topics.Ingress()};
  options.session_timeout_ms = deps_.session_timeout_ms;
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(deps_.kafka, options);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void PolicyStage::Stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
}

std::vector<int32_t> PolicyStage::OwnedPartitions() const {
  absl::MutexLock lock(&mu_);
  std::vector<int32_t> out;
  for (const auto& [p, unused] : partitions_) out.push_back(p);
  return out;
}

void PolicyStage::Loop() {
  while (!stop_) {
    std::vector<kafka::Consumer::CommitOffset> commits = CommitsDue();
    if (!commits.empty()) (void)consumer_->Commit(commits);
    deps_.audit->CheckpointDue(absl::Now());  // real time: a signature, not a policy input
    {
      absl::MutexLock lock(&mu_);
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return in_flight_ < kMaxInFlight;
      };
      if (!mu_.AwaitWithTimeout(absl::Condition(&room), absl::Milliseconds(50))) continue;
    }
    absl::StatusOr<kafka::PollResult> polled =
        consumer_->Poll(absl::Milliseconds(50), 1000);
    if (!polled.ok()) {
      log::Error("policy.poll_failed", {{"error", polled.status().ToString()}});
      absl::SleepFor(absl::Seconds(1));
      continue;
    }
    for (const kafka::TopicPartition& tp : polled->revoked) {
      absl::MutexLock lock(&mu_);
      if (auto it = partitions_.find(tp.partition); it != partitions_.end()) {
        in_flight_ -= static_cast<int64_t>(it->second.works.size());
        partitions_.erase(it);
      }
      committed_.erase(tp.partition);
      deps_.audit->DropHead(tp.partition);  // with a last checkpoint of its head
    }
    for (const kafka::TopicPartition& tp : polled->assigned) {
      // Continue the partition's audit chain where its previous owner left it.
      absl::Status loaded = deps_.audit->LoadHead(tp.partition);
      while (!loaded.ok() && !stop_) {
        log::Error("policy.audit_head_unreadable",
                   {{"partition", tp.partition}, {"error", loaded.ToString()}});
        absl::SleepFor(absl::Seconds(1));
        loaded = deps_.audit->LoadHead(tp.partition);
      }
      absl::MutexLock lock(&mu_);
      partitions_[tp.partition];
    }
    for (const kafka::Gap& gap : polled->gaps) HandleGap(gap);
    for (kafka::Record& record : polled->records) {
      auto work = std::make_shared<Work>();
      work->partition = record.partition;
      work->offset = record.offset;
      work->value = std::move(record.value);
      {
        absl::MutexLock lock(&mu_);
        auto it = partitions_.find(work->partition);
        if (it == partitions_.end()) continue;  // revoked in this very poll
        it->second.works.push_back(work);
        ++in_flight_;
      }
      deps_.pool->Submit([this, work] {
        Compute(work);
        Dispatch(work->partition);
      });
    }
    // Lag for the operators: records behind the end of each owned partition.
    // Cached watermarks only: a blocking query here waits behind this very
    // consumer's fetch and slowed the loop until Kafka deleted unread data.
    int64_t lag = 0;
    for (const kafka::TopicPartition& tp : consumer_->Assignment()) {
      const std::pair<int64_t, int64_t> marks = consumer_->CachedWatermarks(tp);
      if (marks.second < 0) continue;
      absl::MutexLock lock(&mu_);
      auto it = committed_.find(tp.partition);
      const int64_t at =
          it == committed_.end() ? std::max<int64_t>(0, marks.first) : it->second;
      lag += std::max<int64_t>(0, marks.second - at);
    }
    lag_ = lag;
  }
  // Shutting down: give in-flight work a moment, commit what is done.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    absl::MutexLock lock(&mu_);
    bool idle = true;
    for (const auto& [p, part] : partitions_) {
      for (const auto& w : part.works) idle = idle && w->done;
    }
    if (idle) break;
    mu_.AwaitWithTimeout(absl::Condition::kTrue, absl::Milliseconds(20));
  }
  std::vector<kafka::Consumer::CommitOffset> commits = CommitsDue();
  if (!commits.empty()) (void)consumer_->CommitSync(commits);
  (void)consumer_->Close();
}

std::vector<kafka::Consumer::CommitOffset> PolicyStage::CommitsDue() {
  std::vector<kafka::Consumer::CommitOffset> commits;
  absl::MutexLock lock(&mu_);
  for (auto& [p, part] : partitions_) {
    int64_t next = -1;
    while (!part.works.empty() && part.works.front()->done) {
      next = part.works.front()->offset + 1;
      part.works.pop_front();
      --in_flight_;
    }
    if (next >= 0) {
      committed_[p] = next;
      commits.push_back({{deps_.topics.Ingress(), p}, next});
    }
  }
  return commits;
}

void PolicyStage::Compute(const std::shared_ptr<Work>& work) {
  liaison::v1::IngressRecord ingress;
  if (!ingress.ParseFromString(work->value)) {
    ++stats_.unreadable;
    log::Error("policy.unreadable_ingress",
               {{"partition", work->partition}, {"offset", work->offset}});
    work->outputs = Outputs();
  } else if (ingress.has_event()) {
    // The delivery side's events are acted on only when a broker node signed
    // them: whoever else can write liaison.ingress cannot have receipts,
    // expiries or notices signed in the broker's name.
    absl::StatusOr<VerifiedEvent> v = VerifyEvent(ingress.event(), *deps_.verifier, absl::Now());
    const absl::Time now = deps_.clock->Now();
    if (!v.ok()) {
      Forged("event", work->partition, work->offset, v.status());
      work->outputs = Outputs();
    } else if (v->event.has_expired()) {
      work->outputs = ExpiredOutputs(v->event.expired(), now);
    } else if (v->event.has_receipt()) {
      work->outputs = ReceiptOutputs(v->event.receipt(), now);
    } else if (v->event.has_index_change()) {
      work->outputs = IndexChangeOutputs(v->event.index_change(), now);
    } else if (v->event.has_notice()) {
      if (std::optional<Outputs::Record> r = NoticeRecord(v->event.notice(), absl::Now())) {
        work->outputs.records.push_back(std::move(*r));
      }
    }
  } else if (!ingress.has_envelope()) {
    Forged("record", work->partition, work->offset,
           absl::InvalidArgumentError("neither a sender's envelope nor a signed event"));
    work->outputs = Outputs();
  } else {
    liaison::v1::Message peek;
    std::vector<std::string> recipients;
    if (peek.ParseFromString(ingress.envelope().message())) {
      recipients.assign(peek.header().recipients().begin(), peek.header().recipients().end());
      if (peek.header().kind() == liaison::v1::KIND_CORRECTION) {
        // DP-QUAL-02: a correction goes to every endpoint that received a
        // target, whatever the sender addressed.
        absl::StatusOr<std::vector<std::string>> extra =
            policy::CorrectionRecipients(peek, *deps_.sources);
        if (extra.ok()) {
          for (std::string& r : *extra) {
            if (std::find(recipients.begin(), recipients.end(), r) == recipients.end()) {
              recipients.push_back(std::move(r));
            }
          }
        } else {
          log::Warning("policy.correction_targets",
                       {{"message_id", peek.header().message_id()},
                        {"error", extra.status().ToString()}});
        }
      }
    }
    work->outputs =
        Evaluate(ingress, recipients, deps_.clock->Now(), FlowStep::kDecided, work->partition);
    ++stats_.messages;
  }
  absl::MutexLock lock(&mu_);
  work->computed = true;
}

void PolicyStage::Forged(absl::string_view what, int32_t partition, int64_t offset,
                         const absl::Status& why) const {
  ++stats_.forged;
  if (deps_.observer != nullptr) deps_.observer->OnLoss(LossSource::kForged, 1);
  log::Error("policy.forged_ingress", {{"what", what},
                                       {"partition", partition},
                                       {"offset", offset},
                                       {"error", why.ToString()}});
}

absl::StatusOr<liaison::v1::Message> PolicyStage::VerifiedMessage(
    const liaison::v1::SignedEnvelope& envelope, absl::Time accepted_at) const {
  const std::string digest = certs::Sha256(envelope.SerializeAsString());
  const std::shared_ptr<const certs::TrustStore> trust = deps_.verifier->trust_store();
  bool known = false;
  {
    absl::MutexLock lock(&verified_mu_);
    if (verified_trust_ != trust) {
      verified_.clear();
      verified_trust_ = trust;
    }
    known = verified_.contains(digest);
  }
  if (known) {
    liaison::v1::Message message;
    if (message.ParseFromString(envelope.message())) return message;
    return absl::InternalError("a verified envelope no longer parses");
  }
  // Certificates are checked against wall-clock time, like the front door
  // does (policy time may differ in tests); never later than now.
  const absl::Time wall = absl::Now();
  const absl::Time at = accepted_at > wall || accepted_at == absl::UnixEpoch() ? wall : accepted_at;
  absl::StatusOr<certs::VerifiedEnvelope> v = certs::VerifyEnvelope(envelope, *deps_.verifier, at);
  if (!v.ok()) return v.status();
  {
    absl::MutexLock lock(&verified_mu_);
    if (verified_.size() >= kVerifiedCacheSize) verified_.clear();
    verified_.insert(digest);
  }
  return v->message();
}

Outputs PolicyStage::Evaluate(const liaison::v1::IngressRecord& ingress,
                              const std::vector<std::string>& recipients, absl::Time now,
                              FlowStep step, int32_t ingress_partition) const {
  Outputs out;
  const liaison::v1::SignedEnvelope& envelope = ingress.envelope();
  absl::StatusOr<liaison::v1::Message> verified =
      VerifiedMessage(envelope, FromProto(ingress.accepted_at()));
  if (!verified.ok()) {
    Forged(FlowStepLabel(step), ingress_partition, -1, verified.status());
    return out;
  }
  const liaison::v1::Message& message = *verified;
  const liaison::v1::Header& h = message.header();
  const policy::EraseTime erase = policy::EraseBy(h);
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();
  const policy::Registry& registry = chain->registry();
  const size_t bytes = envelope.message().size();
  const std::string payload_sha = certs::Sha256(envelope.message());
  const std::string key = IngressKeyOf(h).value();
  const absl::Time accepted_at = FromProto(ingress.accepted_at());

  auto notice = [&](liaison::v1::NoticeKind kind, const std::string& addressee,
                    const std::string& recipient, std::vector<std::string> rule_ids,
                    std::vector<std::string> reasons) {
    liaison::v1::Notice n;
    n.set_kind(kind);
    n.set_addressee(addressee);
    n.set_message_id(h.message_id());
    n.set_recipient(recipient);
    for (std::string& r : rule_ids) n.add_rule_ids(std::move(r));
    for (std::string& r : reasons) n.add_reasons(std::move(r));
    return n;
  };
  std::vector<liaison::v1::Notice> notices;

  // A consent is recorded before anything is decided, so that this very
  // batch of holds can see it. Every consent is audited here, recorded or
  // not, even when it names no recipient (a supervisor's approval is
  // addressed to the broker alone).
  if (h.kind() == liaison::v1::KIND_CONSENT && step == FlowStep::kDecided) {
    absl::StatusOr<policy::ConsentRecord> record =
        policy::InMemoryConsentIndex::RecordOf(message, now);
    liaison::v1::AuditEntry a;
    *a.mutable_ts() = ToProto(now);
    a.set_operation(liaison::v1::AUDIT_OPERATION_COLLECTION);
    a.set_event(record.ok() ? "consent_recorded" : "consent_unusable");
    a.set_message_id(h.message_id());
    a.set_kind(h.kind());
    a.set_sender(h.sender());
    a.set_sender_officer(h.sender_officer());
    *a.mutable_legal_basis() = h.legal_basis();
    *a.mutable_purposes() = h.purposes();
    a.set_decision(record.ok() ? liaison::v1::OUTCOME_ALLOW : liaison::v1::OUTCOME_REJECT);
    a.set_payload_sha256(payload_sha);
    a.set_policy_version(chain->policy_version());
    a.set_registry_version(registry.version());
    a.set_broker_id(deps_.broker_id);
    out.audit.push_back(std::move(a));
    if (record.ok()) {
      liaison::v1::RecordedConsent stored = ConsentBook::ToProto(*record);
      *stored.mutable_envelope() = envelope;  // binds the record to the grantor's signature
      deps_.consents->Put(*record);
      out.records.push_back({deps_.topics.Consents(), ConsentBook::Key(*record),
                             stored.SerializeAsString(), kafka::kAnyPartition, std::nullopt});
      if (deps_.on_consent) deps_.on_consent(record->grant);
    } else {
      log::Warning("policy.consent_unusable", {{"message_id", h.message_id()},
                                               {"error", record.status().ToString()}});
    }
  }

  struct Group {
    std::vector<std::string> recipients;
    std::vector<liaison::v1::Obligation> obligations;
    std::vector<std::string> rule_ids;
  };
  std::map<std::string, Group> allow_groups;
  std::vector<std::pair<std::string, policy::Decision>> redacted;
  std::vector<std::string> delivered_to;
  const bool needs_derived_copy = policy::NeedsDerivedCopy(message);

  absl::MutexLock volume_lock(
      &volume_locks_[std::hash<std::string>()(h.sender()) % volume_locks_.size()]);
  for (const std::string& recipient : recipients) {
    policy::Input in;
    in.message = &message;
    in.recipient = recipient;
    in.message_bytes = bytes;
    in.counters = deps_.counters;
    in.sources = deps_.sources;
    in.consents = deps_.consents;
    in.now = now;
    policy::Decision d = chain->Evaluate(in);
    if (d.outcome >= 0 && d.outcome < 6) ++stats_.decisions[d.outcome];
    const policy::EndpointEntry* entry = registry.FindEntry(recipient);
    const bool third_country = entry != nullptr && entry->third_country();

    liaison::v1::AuditEntry a;
    *a.mutable_ts() = ToProto(now);
    a.set_operation(OperationFor(d.outcome, h.kind(), third_country));
    a.set_event(std::string(FlowStepLabel(step)));
    a.set_message_id(h.message_id());
    for (const std::string& s : h.provenance().derived_from()) a.add_derived_from(s);
    a.set_kind(h.kind());
    a.set_sender(h.sender());
    a.set_sender_officer(h.sender_officer());
    a.set_recipient(recipient);
    *a.mutable_legal_basis() = h.legal_basis();
    *a.mutable_purposes() = h.purposes();
    a.set_case_ref_hash(audit::CaseRefHash(h.sender(), h.case_ref()));
    a.set_decision(d.outcome);
    for (std::string& id : d.HitRuleIds()) a.add_rule_ids(std::move(id));
    for (const liaison::v1::Redaction& r : d.redactions) {
      for (const std::string& p : r.paths()) a.add_redacted_paths(p);
    }
    a.set_handling_code(h.handling().code());
    *a.mutable_transfer_basis() = d.transfer;
    a.set_payload_sha256(payload_sha);
    a.set_policy_version(d.policy_version);
    a.set_registry_version(d.registry_version);
    a.set_broker_id(deps_.broker_id);
    out.audit.push_back(std::move(a));

    FlowEvent flow;
    flow.message_id = h.message_id();
    flow.kind = h.kind();
    flow.sender = h.sender();
    flow.recipient = recipient;
    flow.bytes = bytes;
    flow.outcome = d.outcome;
    // The rules that set the outcome, not every rule that hit on the way: a
    // REJECT by DP-PURPOSE-01 is not a REJECT by the rule that would have
    // redacted (operators count outcomes by rule from this).
    flow.rule_ids = d.DecidingRuleIds();
    flow.accepted_at = accepted_at;
    flow.decided_at = now;
    flow.step = step;
    out.flow.push_back(std::move(flow));

    for (const policy::Notification& n : d.notifications) {
      notices.push_back(notice(n.kind, n.addressee, recipient, {std::string(n.rule_id.value())},
                               {n.reason}));
    }

    switch (d.outcome) {
      case liaison::v1::OUTCOME_ALLOW: {
        if (needs_derived_copy) {
          // The sender's envelope carries what no recipient may receive
          // (unknown fields, the strict-necessity justification): deliver the
          // broker's sanitised, countersigned copy instead.
          delivered_to.push_back(recipient);
          redacted.emplace_back(recipient, std::move(d));
          break;
        }
        Group& g = allow_groups[ObligationsKey(d.obligations)];
        g.recipients.push_back(recipient);
        g.obligations = d.obligations;
        for (std::string& id : d.HitRuleIds()) {
          if (std::find(g.rule_ids.begin(), g.rule_ids.end(), id) == g.rule_ids.end()) {
            g.rule_ids.push_back(std::move(id));
          }
        }
        delivered_to.push_back(recipient);
        break;
      }
      case liaison::v1::OUTCOME_REDACT:
        delivered_to.push_back(recipient);
        redacted.emplace_back(recipient, std::move(d));
        break;
      case liaison::v1::OUTCOME_HOLD:
      case liaison::v1::OUTCOME_DELAY: {
        liaison::v1::HeldDelivery held;
        held.set_hold_id(HoldIdOf(MessageId(h.message_id()), EndpointId(recipient)).value());
        held.set_message_id(h.message_id());
        held.set_sender(h.sender());
        held.set_recipient(recipient);
        *held.mutable_ingress() = ingress;
        held.set_outcome(d.outcome);
        const liaison::v1::PolicyDecision pd = policy::ToProto(d);
        *held.mutable_holds() = pd.holds();
        *held.mutable_not_before() = ToProto(d.not_before);
        *held.mutable_created_at() = ToProto(now);
        held.set_ingress_partition(ingress_partition);
        if (erase.at != absl::InfiniteFuture()) *held.mutable_erase_by() = ToProto(erase.at);
        if (d.outcome == liaison::v1::OUTCOME_DELAY) {
          liaison::v1::Notice n =
              notice(liaison::v1::NOTICE_KIND_DELAYED, h.sender(), recipient,
                     d.DecidingRuleIds(), {d.explanation});
          *n.mutable_due() = ToProto(d.not_before);
          n.set_hold_id(held.hold_id());
          notices.push_back(std::move(n));
        } else {
          for (const policy::Hold& hold : d.holds) {
            liaison::v1::Notice n = notice(liaison::v1::NOTICE_KIND_HELD, h.sender(), recipient,
                                           {std::string(hold.rule_id.value())}, {hold.reason});
            n.set_hold_id(held.hold_id());
            n.set_awaiting(hold.awaiting);
            n.set_consent_kind(liaison::v1::ConsentKind_Name(hold.consent_kind));
            *n.mutable_due() = ToProto(hold.expires_at);
            notices.push_back(n);
            if (registry.FindEndpoint(hold.awaiting) != nullptr && hold.awaiting != h.sender()) {
              n.set_kind(liaison::v1::NOTICE_KIND_CONSENT_REQUESTED);
              n.set_addressee(hold.awaiting);
              notices.push_back(std::move(n));
            } else if (hold.awaiting == h.sender()) {
              // The sender's own approver (DP-CHILD-01 third country).
              n.set_kind(liaison::v1::NOTICE_KIND_CONSENT_REQUESTED);
              notices.push_back(std::move(n));
            }
          }
        }
        out.records.push_back({deps_.topics.Holds(), held.hold_id(), held.SerializeAsString(),
                               kafka::kAnyPartition, std::nullopt});
        out.held.push_back(std::move(held));
        break;
      }
      default: {
        std::vector<std::string> ids = d.DecidingRuleIds();
        notices.push_back(notice(liaison::v1::NOTICE_KIND_NON_DELIVERY, h.sender(), recipient,
                                 std::move(ids), {d.explanation}));
        break;
      }
    }
    if (d.outcome == liaison::v1::OUTCOME_ALLOW || d.outcome == liaison::v1::OUTCOME_REDACT) {
      deps_.counters->Record(h.sender(), recipient,
                             policy::UsageOf(message, bytes, d.transfer.kind()), now);
    }
  }

  auto base_attestation = [&](Outcome outcome) {
    liaison::v1::Attestation a;
    a.set_message_id(h.message_id());
    a.set_sender(h.sender());
    a.set_kind(h.kind());
    a.set_original_sha256(payload_sha);
    a.set_outcome(outcome);
    a.set_policy_version(chain->policy_version());
    a.set_registry_version(registry.version());
    *a.mutable_decided_at() = ToProto(now);
    // The delivery side expires the item then (DP-RET-02), H3 ERASE_BY included.
    if (erase.at != absl::InfiniteFuture()) *a.mutable_erase_by() = ToProto(erase.at);
    *a.mutable_accepted_at() = ingress.accepted_at();
    return a;
  };
  auto sign = [&](liaison::v1::Attestation a) -> std::optional<liaison::v1::BrokerSigned> {
    liaison::v1::Statement statement;
    *statement.mutable_attestation() = std::move(a);
    absl::StatusOr<liaison::v1::BrokerSigned> s =
        deps_.countersigner->Sign(std::move(statement), now);
    if (!s.ok()) {
      log::Error("policy.countersign_failed", {{"error", s.status().ToString()}});
      return std::nullopt;
    }
    return std::move(*s);
  };
  auto index = [&](const std::string& recipient, const std::string& item_id) {
    liaison::v1::DeliveryIndexEntry e;
    e.set_recipient(recipient);
    e.set_item_id(item_id);
    e.set_message_id(h.message_id());
    e.set_sender(h.sender());
    return e;
  };

  // One signature per group of recipients receiving identical bytes.
  if (!allow_groups.empty()) {
    const std::string envelope_bytes = envelope.SerializeAsString();
    for (auto& [unused, g] : allow_groups) {
      liaison::v1::Attestation a = base_attestation(liaison::v1::OUTCOME_ALLOW);
      for (const std::string& r : g.recipients) a.add_recipients(r);
      a.set_content_sha256(payload_sha);
      for (liaison::v1::Obligation& o : g.obligations) *a.add_obligations() = std::move(o);
      for (std::string& id : g.rule_ids) a.add_rule_ids(std::move(id));
      std::optional<liaison::v1::BrokerSigned> signed_statement = sign(std::move(a));
      if (!signed_statement) continue;  // not forwarded; logged
      for (const std::string& r : g.recipients) {
        liaison::v1::DeliveryItem item;
        item.set_item_id(DeliveryItemIdOf(MessageId(h.message_id()), EndpointId(r)).value());
        item.set_recipient(r);
        *item.mutable_statement() = *signed_statement;
        out.records.push_back({deps_.topics.Deliver(r), key,
                               WithOriginal(item.SerializeAsString(), envelope_bytes),
                               kafka::kAnyPartition, index(r, item.item_id())});
      }
    }
  }
  for (auto& [recipient, d] : redacted) {
    absl::StatusOr<liaison::v1::Message> derived =
        policy::Redact(message, d, *deps_.pseudonymiser, recipient);
    if (!derived.ok()) {
      // Fail closed: nothing leaves that the policy could not derive.
      log::Error("policy.redact_failed", {{"message_id", h.message_id()},
                                          {"recipient", recipient},
                                          {"error", derived.status().ToString()}});
      notices.push_back(notice(liaison::v1::NOTICE_KIND_NON_DELIVERY, h.sender(), recipient,
                               {"POLICY-REDACT"},
                               {"the broker could not derive the redacted message; not "
                                "delivered (an operator has been alerted)"}));
      continue;
    }
    std::string derived_bytes = derived->SerializeAsString();
    liaison::v1::Attestation a = base_attestation(d.outcome);
    a.add_recipients(recipient);
    a.set_content_sha256(certs::Sha256(derived_bytes));
    a.set_derived(true);
    for (liaison::v1::Redaction& r : d.redactions) *a.add_redactions() = std::move(r);
    for (liaison::v1::Obligation& o : d.obligations) *a.add_obligations() = std::move(o);
    for (std::string& id : d.HitRuleIds()) a.add_rule_ids(std::move(id));
    std::optional<liaison::v1::BrokerSigned> signed_statement = sign(std::move(a));
    if (!signed_statement) continue;
    liaison::v1::DeliveryItem item;
    item.set_item_id(
        DeliveryItemIdOf(MessageId(h.message_id()), EndpointId(recipient)).value());
    item.set_recipient(recipient);
    *item.mutable_statement() = std::move(*signed_statement);
    item.set_derived_message(std::move(derived_bytes));
    out.records.push_back({deps_.topics.Deliver(recipient), key, item.SerializeAsString(),
                           kafka::kAnyPartition, index(recipient, item.item_id())});
  }

  // What the broker now knows about this message, for later provenance and
  // correction decisions.
  if (!delivered_to.empty()) {
    std::shared_ptr<const policy::SourceRecord> known = deps_.sources->Get(h.message_id());
    policy::SourceRecord record =
        known != nullptr ? *known
                         : policy::InMemorySourceIndex::RecordOf(message, {}, registry, now);
    for (const std::string& r : delivered_to) {
      if (std::find(record.delivered_to.begin(), record.delivered_to.end(), r) ==
          record.delivered_to.end()) {
        record.delivered_to.push_back(r);
      }
    }
    liaison::v1::RecordedSource stored = SourceBook::ToProto(record);
    if (erase.at != absl::InfiniteFuture()) *stored.mutable_erase_by() = ToProto(erase.at);
    stored.set_ingress_partition(ingress_partition);
    deps_.sources->Put(std::move(record));
    deps_.sources->SetExpiry(h.message_id(), {erase.at, ingress_partition, false});
    out.records.push_back({deps_.topics.Sources(), h.message_id(), stored.SerializeAsString(),
                           kafka::kAnyPartition, std::nullopt});
  }

  for (liaison::v1::Notice& n : notices) {
    if (std::optional<Outputs::Record> r = NoticeRecord(std::move(n), now)) {
      out.records.push_back(std::move(*r));
    }
  }
  return out;
}

std::optional<Outputs::Record> PolicyStage::NoticeRecord(liaison::v1::Notice notice,
                                                         absl::Time now) const {
  const std::string addressee = notice.addressee();
  absl::StatusOr<std::string> item = deps_.items->Notice(std::move(notice), now);
  if (!item.ok()) {
    log::Error("policy.notice_sign_failed", {{"error", item.status().ToString()}});
    return std::nullopt;
  }
  return Outputs::Record{deps_.topics.Deliver(addressee), addressee, std::move(*item),
                         kafka::kAnyPartition, std::nullopt};
}

Outputs PolicyStage::ReceiptOutputs(const liaison::v1::Receipt& receipt, absl::Time now) const {
  Outputs out;
  // LED art 25: who received it, and when.
  liaison::v1::AuditEntry a;
  *a.mutable_ts() = ToProto(now);
  a.set_operation(liaison::v1::AUDIT_OPERATION_DISCLOSURE);
  a.set_event("acknowledged");
  a.set_message_id(receipt.message_id());
  a.set_sender(receipt.addressee());
  a.set_recipient(receipt.recipient());
  a.set_decision(receipt.outcome());
  *a.mutable_rule_ids() = receipt.rule_ids();
  a.set_broker_id(deps_.broker_id);
  out.audit.push_back(std::move(a));
  absl::StatusOr<std::string> item = deps_.items->Receipt(receipt, now);
  if (!item.ok()) {
    log::Error("policy.receipt_sign_failed", {{"error", item.status().ToString()}});
    return out;
  }
  out.records.push_back({deps_.topics.Deliver(receipt.addressee()), receipt.addressee(),
                         std::move(*item), kafka::kAnyPartition, std::nullopt});
  return out;
}

std::vector<policy::Decision> PolicyStage::Explain(const liaison::v1::Message& message,
                                                   const std::vector<std::string>& recipients,
                                                   size_t message_bytes, absl::Time now) const {
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();
  std::vector<policy::Decision> out;
  for (const std::string& r : recipients) {
    policy::Input in;
    in.message = &message;
    in.recipient = r;
    in.message_bytes = message_bytes;
    in.counters = deps_.counters;
    in.sources = deps_.sources;
    in.consents = deps_.consents;
    in.now = now;
    out.push_back(chain->Evaluate(in));
  }
  return out;
}

Outputs PolicyStage::ExpiredOutputs(const liaison::v1::ExpiredItem& e, absl::Time now) const {
  Outputs out;
  const std::string erase_by =
      absl::FormatTime("%Y-%m-%dT%H:%MZ", FromProto(e.erase_by()), absl::UTCTimeZone());
  liaison::v1::AuditEntry a;
  *a.mutable_ts() = ToProto(now);
  a.set_operation(liaison::v1::AUDIT_OPERATION_ERASURE);
  a.set_event("expired-before-delivery");
  a.set_message_id(e.message_id());
  a.set_sender(e.sender());
  a.set_recipient(e.recipient());
  a.set_decision(liaison::v1::OUTCOME_REJECT);
  a.add_rule_ids("DP-RET-02");
  a.set_broker_id(deps_.broker_id);
  out.audit.push_back(std::move(a));

  liaison::v1::Notice n;
  n.set_kind(liaison::v1::NOTICE_KIND_EXPIRED);
  n.set_addressee(e.sender());
  n.set_message_id(e.message_id());
  n.set_recipient(e.recipient());
  n.add_rule_ids("DP-RET-02");
  n.add_reasons(absl::StrCat("DP-RET-02: ", e.message_id(), " expired before delivery to ",
                             e.recipient(), " (erase_by ", erase_by, ")"));
  *n.mutable_due() = e.erase_by();
  if (std::optional<Outputs::Record> r = NoticeRecord(std::move(n), now)) {
    out.records.push_back(std::move(*r));
  }
  FlowEvent flow;
  flow.message_id = e.message_id();
  flow.sender = e.sender();
  flow.recipient = e.recipient();
  flow.outcome = liaison::v1::OUTCOME_REJECT;
  flow.rule_ids = {"DP-RET-02"};
  flow.decided_at = now;
  flow.step = FlowStep::kExpiredBeforeDelivery;
  out.flow.push_back(std::move(flow));
  return out;
}

Outputs PolicyStage::IndexChangeOutputs(const liaison::v1::IndexChange& c, absl::Time now) const {
  Outputs out;
  auto entry = [&](liaison::v1::AuditOperation operation, const char* event, int64_t count) {
    liaison::v1::AuditEntry a;
    *a.mutable_ts() = ToProto(now);
    a.set_operation(operation);
    a.set_event(event);
    a.set_message_id(c.batch_id());
    a.set_sender(c.publisher());
    a.set_payload_sha256(c.batch_sha256());
    a.set_linkage_epoch(c.epoch());
    a.set_linkage_entries(count);
    a.set_broker_id(deps_.broker_id);
    out.audit.push_back(std::move(a));
  };
  if (c.stored() > 0) entry(liaison::v1::AUDIT_OPERATION_COLLECTION, "index-published", c.stored());
  if (c.withdrawn() > 0) {
    entry(liaison::v1::AUDIT_OPERATION_ERASURE, "index-withdrawn", c.withdrawn());
  }
  return out;
}

void PolicyStage::Dispatch(int32_t partition) {
  std::vector<std::shared_ptr<Work>> ready;
  absl::MutexLock lock(&mu_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  // In offset order: stop at the first work not computed yet, so that audit
  // entries are sealed and records produced in ingress order.
  for (const std::shared_ptr<Work>& w : it->second.works) {
    if (!w->computed) break;
    if (w->sent) continue;
    w->sent = true;
    w->sealed_audit = deps_.audit->Seal(partition, std::move(w->outputs.audit));
    w->outputs.audit.clear();
    Send(w);
  }
}

void PolicyStage::Forward(int32_t chain, AuditLog::Sealed sealed_audit,
                          std::shared_ptr<const std::vector<Outputs::Record>> pending,
                          std::function<void(absl::Status)> done) {
  deps_.audit->Write(
      chain, std::move(sealed_audit),
      [this, chain, pending, done = std::move(done)](absl::Status audit) mutable {
        if (!audit.ok()) {
          // DP-LOG-01: nothing is forwarded without its audit entry.
          ++stats_.audit_failures;
          log::Error("policy.audit_failed", {{"chain", chain}, {"error", audit.ToString()}});
          done(absl::UnavailableError(
              absl::StrCat("DP-LOG-01: audit unavailable (", audit.message(), "); retry")));
          return;
        }
        struct Join {
          std::atomic<int> remaining;
          std::atomic<bool> failed{false};
          absl::Mutex mu;
          // Where each delivery landed, written as one index record once all
          // are known (for naming lost messages if Kafka ever drops them).
          liaison::v1::DeliveryIndexRecord index ABSL_GUARDED_BY(mu);
          std::function<void(absl::Status)> done;
        };
        auto join = std::make_shared<Join>();
        join->remaining = static_cast<int>(pending->size()) + 1;
        join->done = std::move(done);
        auto one = [this, join](const kafka::DeliveryReport* report,
                                std::optional<liaison::v1::DeliveryIndexEntry> idx) {
          if (report != nullptr && !report->status.ok()) join->failed = true;
          if (report != nullptr && report->status.ok() && idx) {
            idx->set_partition(report->partition);
            idx->set_offset(report->offset);
            absl::MutexLock lock(&join->mu);
            *join->index.add_entries() = std::move(*idx);
          }
          if (--join->remaining != 0) return;
          if (join->failed) {
            join->done(absl::UnavailableError("a forwarded record was not acknowledged by Kafka"));
            return;
          }
          std::string value;
          std::string key;
          {
            absl::MutexLock lock(&join->mu);
            if (join->index.entries().empty()) {
              join->done(absl::OkStatus());
              return;
            }
            key = join->index.entries(0).message_id();
            value = join->index.SerializeAsString();
          }
          deps_.producer->Produce(deps_.topics.DeliveryIndex(), std::move(key), std::move(value),
                                  [join](const kafka::DeliveryReport& r) { join->done(r.status); });
        };
        // Copied, not moved: a failed attempt is retried with the same records
        // (and the same sealed audit bytes), never recomputed.
        for (const Outputs::Record& r : *pending) {
          deps_.producer->Produce(
              r.topic, r.key, r.value,
              [one, idx = r.index](const kafka::DeliveryReport& report) mutable {
                one(&report, std::move(idx));
              },
              r.partition);
        }
        one(nullptr, std::nullopt);
      });
}

// A Write (holds released, erasures) sealed once and tried until written.
struct PolicyStage::PendingWrite {
  int32_t chain = 0;
  AuditLog::Sealed sealed;
  std::shared_ptr<const std::vector<Outputs::Record>> records;
  std::vector<FlowEvent> flow;
  std::vector<liaison::v1::HeldDelivery> held;
  std::function<void(absl::Status)> done;
  int attempts = 0;
};

void PolicyStage::Write(int32_t chain, Outputs outputs, std::function<void(absl::Status)> done) {
  auto write = std::make_shared<PendingWrite>();
  write->chain = chain;
  write->sealed = deps_.audit->Seal(chain, std::move(outputs.audit));
  write->records =
      std::make_shared<const std::vector<Outputs::Record>>(std::move(outputs.records));
  write->flow = std::move(outputs.flow);
  write->held = std::move(outputs.held);
  write->done = std::move(done);
  WriteAttempt(write);
}

void PolicyStage::WriteAttempt(const std::shared_ptr<PendingWrite>& write) {
  Forward(write->chain, write->sealed, write->records, [this, write](absl::Status s) {
    if (s.ok()) {
      Published(write->flow, write->held);
      write->done(std::move(s));
      return;
    }
    // Giving up while still owning the chain would leave the sealed seqs as
    // a gap as soon as a later entry is written (the caller would decide and
    // seal anew): the same bytes go again, as in Send.
    if (stop_ || !Owns(write->chain)) {
      write->done(std::move(s));
      return;
    }
    ++stats_.retries;
    const absl::Duration delay =
        std::min(kMaxRetry, kFirstRetry * (1 << std::min(write->attempts, 5)));
    ++write->attempts;
    log::Warning("policy.write_retry", {{"chain", write->chain},
                                        {"attempt", write->attempts},
                                        {"error", s.ToString()}});
    deps_.pool->SubmitAfter(delay, [this, write] { WriteAttempt(write); });
  });
}

bool PolicyStage::Owns(int32_t partition) const {
  absl::MutexLock lock(&mu_);
  return partitions_.count(partition) > 0;
}

void PolicyStage::Published(const std::vector<FlowEvent>& flow,
                            const std::vector<liaison::v1::HeldDelivery>& held) const {
  if (deps_.observer != nullptr) {
    for (const FlowEvent& e : flow) deps_.observer->OnFlow(e);
  }
  if (deps_.on_held) {
    for (const liaison::v1::HeldDelivery& h : held) deps_.on_held(h);
  }
}

void PolicyStage::Send(const std::shared_ptr<Work>& work) {
  // The first attempt turns the outputs into the work's pending write, kept
  // until Kafka acknowledged all of it: a retry writes the very same audit
  // bytes (same sequence numbers, so the chain never has a gap) and the same
  // records (deterministic item ids: a copy already written is a duplicate
  // the delivery side drops). Nothing is decided again.
  if (work->pending == nullptr) {
    work->pending =
        std::make_shared<const std::vector<Outputs::Record>>(std::move(work->outputs.records));
    work->flow = std::move(work->outputs.flow);
    work->held = std::move(work->outputs.held);
    work->outputs = Outputs();
  }
  Forward(work->partition, work->sealed_audit, work->pending, [this, work](absl::Status s) {
    if (s.ok()) {
      Published(work->flow, work->held);
      work->pending.reset();
      work->sealed_audit = AuditLog::Sealed();
      work->done = true;
      return;
    }
    ++stats_.retries;
    const absl::Duration delay = std::min(kMaxRetry, kFirstRetry * (1 << std::min(work->attempts, 5)));
    ++work->attempts;
    log::Warning("policy.retry", {{"partition", work->partition},
                                  {"offset", work->offset},
                                  {"attempt", work->attempts},
                                  {"error", s.ToString()}});
    deps_.pool->SubmitAfter(delay, [this, work] { Send(work); });
  });
}

void PolicyStage::HandleGap(const kafka::Gap& gap) {
  const int64_t count = gap.to - gap.from;
  stats_.ingress_lost += count;
  if (deps_.observer != nullptr) deps_.observer->OnLoss(LossSource::kIngress, count);
  log::Error("ingress.lost", {{"partition", gap.partition},
                              {"from", gap.from},
                              {"to", gap.to},
                              {"records", count}});
  // Tell every sender whose accepted message was in the lost range.
  std::vector<liaison::v1::AcceptedId> lost =
      deps_.accepted->InRange(gap.partition, gap.from, gap.to);
  std::map<std::string, std::vector<std::string>> by_sender;
  for (const liaison::v1::AcceptedId& a : lost) by_sender[a.sender()].push_back(a.message_id());
  const absl::Time now = absl::Now();
  for (auto& [sender, ids] : by_sender) {
    liaison::v1::Notice n;
    n.set_kind(liaison::v1::NOTICE_KIND_LOST);
    n.set_addressee(sender);
    n.set_message_id(ids.front());
    for (const std::string& id : ids) n.add_message_ids(id);
    n.add_reasons(absl::StrCat(ids.size(),
                               " accepted messages were deleted by Kafka before the policy "
                               "stage read them; none was delivered: re-send them"));
    if (std::optional<Outputs::Record> r = NoticeRecord(std::move(n), now)) {
      deps_.producer->Produce(r->topic, std::move(r->key), std::move(r->value),
                              [](const kafka::DeliveryReport& report) {
                                if (!report.status.ok()) {
                                  log::Error("ingress.lost_notice_failed",
                                             {{"error", report.status.ToString()}});
                                }
                              });
    }
  }
  if (static_cast<int64_t>(lost.size()) < count) {
    log::Error("ingress.lost_unidentified",
               {{"partition", gap.partition},
                {"records", count - static_cast<int64_t>(lost.size())}});
  }
}

}  // namespace liaison::broker
