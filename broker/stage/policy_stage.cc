#include "broker/stage/policy_stage.h"

#include "broker/stage/custody.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "broker/core/offset_commit.h"
#include "broker/stage/custody.h"
#include "broker/stage/decide.h"
#include "broker/stage/evidence_erasure.h"
#include "broker/stage/plan.h"
#include "certs/envelope.h"
#include "certs/signature.h"
#include "connectors/audit/audit_trail.h"
#include "policy/correction.h"
#include "policy/sources.h"

namespace liaison::broker {
namespace {

constexpr int64_t kMaxInFlight = 4096;
constexpr absl::Duration kFirstRetry = absl::Milliseconds(500);
constexpr absl::Duration kMaxRetry = absl::Seconds(10);
// How long chains taken over wait for the evidence book (evidence_caught_up).
constexpr absl::Duration kEvidenceCatchUp = absl::Seconds(10);

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
  // A DOWNLOAD_STARTED custody event: the item, so that Dispatch records
  // the download as refused when the item's erasure was sealed before it.
  std::string download_item;
};

PolicyStage::PolicyStage(PolicyStageDeps deps)
    : deps_(std::move(deps)),
      applier_({deps_.topics, deps_.countersigner, deps_.items, deps_.sources, deps_.consents,
                deps_.batch_signer != nullptr}),
      verified_(deps_.verified_envelopes != nullptr ? deps_.verified_envelopes : &own_verified_),
      index_batcher_(std::make_unique<RecordBatcher>(
          deps_.producer,
          RecordBatcher::Options{
              .topic = deps_.topics.DeliveryIndex(),
              .field_number = liaison::v1::DeliveryIndexRecord::kEntriesFieldNumber})) {}

PolicyStage::~PolicyStage() { Stop(); }

absl::Status PolicyStage::Start() {
  kafka::ConsumerOptions options;
  options.group_id = deps_.topics.PolicyGroup();
  options.topics = {deps_.topics.Ingress()};
  options.session_timeout_ms = deps_.session_timeout_ms;
  const bool transactions = !deps_.transactional_id.empty();
  if (transactions) {
    options.before_revoke = [this](const std::vector<kafka::TopicPartition>& partitions) {
      BeforeRevoke(partitions);
    };
  }
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(deps_.kafka, options);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  if (transactions) {
    TxnWriter::Options txn;
    txn.transactional_id = deps_.transactional_id;
    txn.ingress_topic = deps_.topics.Ingress();
    txn.max_items = deps_.transaction_max_items;
    txn.max_wait = deps_.transaction_max_wait;
    txn.begin = [this] {
      absl::MutexLock lock(&txn_index_mu_);
      txn_index_.clear();
    };
    txn.before_commit = [this](kafka::Producer& producer) {
      return WriteTransactionIndex(producer);
    };
    absl::StatusOr<std::unique_ptr<TxnWriter>> writer =
        TxnWriter::Create(deps_.kafka, deps_.transaction_producer, txn,
                          [this] { return consumer_->CurrentGroupMetadata(); });
    if (!writer.ok()) return writer.status();
    txn_ = std::move(*writer);
    log::Info("policy.transactions", {{"transactional_id", deps_.transactional_id}});
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void PolicyStage::Stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (txn_ != nullptr) txn_->Stop();
}

void PolicyStage::BeforeRevoke(const std::vector<kafka::TopicPartition>& partitions) {
  std::vector<int32_t> chains;
  {
    absl::MutexLock lock(&mu_);
    for (const kafka::TopicPartition& tp : partitions) {
      chains.push_back(tp.partition);
      if (auto it = partitions_.find(tp.partition); it != partitions_.end()) {
        in_flight_ -= static_cast<int64_t>(it->second.works.size());
        partitions_.erase(it);
      }
    }
  }
  // Nothing of these chains commits once this returns: their next owner
  // continues from what Kafka has committed.
  txn_->Revoke(chains);
}

std::vector<int32_t> PolicyStage::OwnedPartitions() const {
  absl::MutexLock lock(&mu_);
  std::vector<int32_t> out;
  for (const auto& [p, unused] : partitions_) out.push_back(p);
  return out;
}

void PolicyStage::Loop() {
  while (!stop_) {
    if (txn_ != nullptr && txn_->failed()) {
      // Logged loudly by the writer (policy.transactions_fatal): nothing
      // more is written, so nothing more is consumed either; closing the
      // consumer hands the partitions to the other nodes.
      log::Error("policy.stopped_consuming",
                 {{"transactional_id", deps_.transactional_id},
                  {"reason", "transactions failed; restart this node"}});
      break;
    }
    std::vector<kafka::Consumer::CommitOffset> commits = CommitsDue();
    if (txn_ == nullptr) {  // transactions commit their offsets themselves
      (void)CommitOffsets(*consumer_, commits, CommitMode::kAsync, deps_.topics.PolicyGroup(),
                          deps_.observer);  // logged and counted there
    } else {
      stats_.txn_commits = txn_->commits();
      stats_.txn_aborts = txn_->aborts();
    }
    deps_.audit->CheckpointDue(absl::Now());  // real time: a signature, not a policy input
    {
      absl::MutexLock lock(&mu_);
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ < kMaxInFlight; };
      if (!mu_.AwaitWithTimeout(absl::Condition(&room), absl::Milliseconds(50))) continue;
    }
    absl::StatusOr<kafka::PollResult> polled = consumer_->Poll(absl::Milliseconds(50), 1000);
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
    if (!polled->assigned.empty() && deps_.evidence_caught_up) {
      // Chains taken over: the evidence book first reads what their previous
      // owners wrote (an erasure just before the change), then their records
      // are decided. A book that cannot catch up does not hold up decisions:
      // a download start the book cannot place is then recorded as started.
      const absl::Status caught_up = deps_.evidence_caught_up(kEvidenceCatchUp);
      if (!caught_up.ok()) {
        log::Warning("policy.evidence_not_caught_up",
                     {{"partitions", static_cast<int64_t>(polled->assigned.size())},
                      {"error", caught_up.ToString()}});
      }
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
      const int64_t at = it == committed_.end() ? std::max<int64_t>(0, marks.first) : it->second;
      lag += std::max<int64_t>(0, marks.second - at);
    }
    lag_ = lag;
  }
  // Shutting down: give in-flight work a moment, commit what is done.
  const absl::Time deadline =
      absl::Now() + (txn_ != nullptr && txn_->failed() ? absl::ZeroDuration() : absl::Seconds(10));
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
  if (txn_ == nullptr) {
    (void)CommitOffsets(*consumer_, commits, CommitMode::kSync, deps_.topics.PolicyGroup(),
                        deps_.observer);
  }
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
    } else if (v->event.has_receipts() &&
               static_cast<size_t>(v->event.receipts().receipts_size()) > kMaxReceiptsPerEvent) {
      Forged("event", work->partition, work->offset,
             absl::InvalidArgumentError(
                 absl::StrCat("receipts: ", v->event.receipts().receipts_size(),
                              " in one event; at most ", kMaxReceiptsPerEvent)));
      work->outputs = Outputs();
    } else if (v->event.has_receipts()) {
      work->outputs = ReceiptBatchOutputs(v->event.receipts(), now);
    } else if (v->event.has_index_change()) {
      work->outputs = IndexChangeOutputs(v->event.index_change(), now);
    } else if (v->event.has_evidence() &&
               v->event.evidence().type() == liaison::v1::EvidenceEvent::ERASURE_POINT) {
      // The evidence keeper's mark in the item's ingress partition: nothing
      // to write; the keeper erases once the stage has sealed past it.
      work->outputs = Outputs();
    } else if (v->event.has_evidence()) {
      // Chain of custody: a node's signed observation of an upload, a
      // download or an acknowledgement.
      absl::StatusOr<std::vector<liaison::v1::AuditEntry>> entries =
          CustodyEntries(v->event.evidence(), deps_.broker_id, now);
      work->outputs = Outputs();
      if (entries.ok()) {
        work->outputs = EvidenceOutputs(v->event.evidence(), now);
        work->outputs.audit = *std::move(entries);
        if (v->event.evidence().type() == liaison::v1::EvidenceEvent::DOWNLOAD_STARTED) {
          work->download_item = v->event.evidence().item().item_id();
        }
      } else {
        Forged("evidence event", work->partition, work->offset, entries.status());
      }
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
          log::Warning("policy.correction_targets", {{"message_id", peek.header().message_id()},
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
  log::Error(
      "policy.forged_ingress",
      {{"what", what}, {"partition", partition}, {"offset", offset}, {"error", why.ToString()}});
}

absl::StatusOr<liaison::v1::Message> PolicyStage::VerifiedMessage(
    const liaison::v1::SignedEnvelope& envelope, absl::Time accepted_at) const {
  std::string digest = VerifiedEnvelopes::DigestOf(envelope);
  const std::shared_ptr<const certs::TrustStore> trust = deps_.verifier->trust_store();
  if (verified_->Contains(digest, trust)) {
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
  verified_->Insert(std::move(digest), trust);
  return v->message();
}

Outputs PolicyStage::Evaluate(const liaison::v1::IngressRecord& ingress,
                              const std::vector<std::string>& recipients, absl::Time now,
                              FlowStep step, int32_t ingress_partition) const {
  const liaison::v1::SignedEnvelope& envelope = ingress.envelope();
  absl::StatusOr<liaison::v1::Message> verified =
      VerifiedMessage(envelope, FromProto(ingress.accepted_at()));
  if (!verified.ok()) {
    Forged(FlowStepLabel(step), ingress_partition, -1, verified.status());
    return Outputs();
  }
  const liaison::v1::Message& message = *verified;
  const liaison::v1::Header& h = message.header();
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();

  PlanContext context;
  context.ingress = &ingress;
  context.message = &message;
  context.payload_sha256 = certs::Sha256(envelope.message());
  context.case_ref_hash = audit::CaseRefHash(h.sender(), h.case_ref());
  context.message_bytes = envelope.message().size();
  context.registry = &chain->registry();
  context.policy_version = chain->policy_version();
  context.broker_id = deps_.broker_id;
  context.now = now;
  context.step = step;
  context.ingress_partition = ingress_partition;

  PlanInput input;
  // A consent is recorded before anything is decided, so that this very
  // batch of decisions (and the holds it covers) can see it.
  input.consent = PlanConsent(context);
  if (input.consent.has_value() && applier_.RecordConsent(*input.consent, context) &&
      deps_.on_consent) {
    deps_.on_consent(input.consent->record->grant);
  }

  // Deciding, recording a sender's volume and updating the message's source
  // record happen under one lock per sender stripe: two messages decided at
  // once cannot both pass a DP-BULK-01 cap only one of them fits under, and
  // two releases of one message cannot lose each other's recipient.
  absl::MutexLock volume_lock(
      &volume_locks_[std::hash<std::string>()(h.sender()) % volume_locks_.size()]);
  input.decisions = DecideEach(*chain, message, recipients, context.message_bytes, now,
                               {deps_.counters, deps_.sources, deps_.consents});
  for (const Decided& d : input.decisions) {
    if (d.decision.outcome >= 0 && d.decision.outcome < 6) ++stats_.decisions[d.decision.outcome];
  }
  const std::shared_ptr<const policy::SourceRecord> known = deps_.sources->Get(h.message_id());
  input.known_source = known.get();
  input.pseudonymiser = deps_.pseudonymiser;
  input.linkage = LookUpLinkage(message, input.decisions, now);
  input.context = context;
  Plan plan = PlanDecision(std::move(input));
  // Only keys that exist are destroyed (and audited as such): a refused
  // recipient the sender wrapped no key for (a non-member) has none.
  std::erase_if(plan.evidence_refused_keys, [this](const Plan::RefusedEvidenceKey& k) {
    return deps_.evidence == nullptr ||
           !deps_.evidence->WrappedKey(k.item.item_id(), k.recipient).has_value();
  });
  return applier_.Apply(std::move(plan), context);
}

std::optional<LinkageLookup> PolicyStage::LookUpLinkage(const liaison::v1::Message& message,
                                                        const std::vector<Decided>& decisions,
                                                        absl::Time now) const {
  if (message.header().kind() != liaison::v1::KIND_LINKAGE_QUERY) return std::nullopt;
  absl::flat_hash_set<std::string> allowed;
  for (const Decided& d : decisions) {
    if (d.decision.outcome == liaison::v1::OUTCOME_ALLOW ||
        d.decision.outcome == liaison::v1::OUTCOME_REDACT) {
      allowed.insert(d.recipient);
    }
  }
  if (allowed.empty()) return std::nullopt;
  LinkageLookup out;
  if (deps_.linkage == nullptr) {
    out.status = absl::UnavailableError("this broker node has no linkage index");
    return out;
  }
  // One lookup per key epoch (a query may mix epochs during a rotation;
  // DP-LINK-01 has checked each scheme), positions mapped back.
  const liaison::v1::LinkageQuery& q = message.linkage_query();
  std::map<uint32_t, std::vector<int>> by_epoch;
  for (int i = 0; i < q.identifiers_size(); ++i) {
    uint32_t epoch = 0;
    if (!absl::SimpleAtoi(absl::StripPrefix(q.identifiers(i).scheme(), "HMAC-SHA256/epoch-"),
                          &epoch)) {
      out.status = absl::InvalidArgumentError(
          absl::StrCat("linkage_query.identifiers[", i, "].scheme names no key epoch"));
      return out;
    }
    by_epoch[epoch].push_back(i);
  }
  for (const auto& [epoch, positions] : by_epoch) {
    std::vector<std::string> values;
    values.reserve(positions.size());
    for (int i : positions) values.push_back(q.identifiers(i).value());
    absl::StatusOr<std::vector<LinkageHitEntry>> hits =
        deps_.linkage->Lookup(epoch, values, allowed, now);
    if (!hits.ok()) {
      out.status = hits.status();
      return out;
    }
    for (LinkageHitEntry& hit : *hits) {
      LinkageMatch m;
      m.index = positions[hit.index];
      m.owner_ref_hash = audit::CaseRefHash(hit.owner, hit.handle);
      m.owner = std::move(hit.owner);
      m.owner_ref = std::move(hit.handle);
      out.matches.push_back(std::move(m));
    }
  }
  std::sort(
      out.matches.begin(), out.matches.end(), [](const LinkageMatch& a, const LinkageMatch& b) {
        return std::tie(a.index, a.owner, a.owner_ref) < std::tie(b.index, b.owner, b.owner_ref);
      });
  return out;
}

Outputs PolicyStage::Reevaluate(const liaison::v1::HeldDelivery& held, absl::Time now) const {
  return Evaluate(held.ingress(), {held.recipient()}, now, FlowStep::kReleased,
                  held.ingress_partition());
}

std::optional<Outputs::Record> PolicyStage::NoticeRecord(liaison::v1::Notice notice,
                                                         absl::Time now) const {
  return applier_.NoticeRecord(std::move(notice), now);
}

liaison::v1::AuditEntry PolicyStage::ReceiptAuditEntry(const liaison::v1::Receipt& receipt,
                                                       absl::Time now) const {
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
  return a;
}

Outputs PolicyStage::ReceiptOutputs(const liaison::v1::Receipt& receipt, absl::Time now) const {
  Outputs out;
  out.audit.push_back(ReceiptAuditEntry(receipt, now));
  if (deps_.batch_signer != nullptr) {
    // Signed with its batch once the audit entry is written (Forward).
    absl::StatusOr<ItemSigner::Unsigned> item = deps_.items->ReceiptLeaf(receipt, now);
    if (!item.ok()) {
      log::Error("policy.receipt_sign_failed", {{"error", item.status().ToString()}});
      return out;
    }
    out.records.push_back({deps_.topics.Deliver(receipt.addressee()), receipt.addressee(),
                           std::move(item->item), kafka::kAnyPartition, std::nullopt,
                           std::move(item->leaf)});
    return out;
  }
  absl::StatusOr<std::string> item = deps_.items->Receipt(receipt, now);
  if (!item.ok()) {
    log::Error("policy.receipt_sign_failed", {{"error", item.status().ToString()}});
    return out;
  }
  out.records.push_back({deps_.topics.Deliver(receipt.addressee()), receipt.addressee(),
                         std::move(*item), kafka::kAnyPartition, std::nullopt});
  return out;
}

Outputs PolicyStage::ReceiptBatchOutputs(const liaison::v1::ReceiptBatch& batch,
                                         absl::Time now) const {
  Outputs out;
  // Per sender, in the order acknowledged: one record carrying its receipts.
  std::map<std::string, std::vector<const liaison::v1::Receipt*>> by_addressee;
  for (const liaison::v1::Receipt& receipt : batch.receipts()) {
    if (receipt.addressee().empty() || receipt.message_id().empty()) {
      log::Error("policy.receipt_unusable",
                 {{"message_id", receipt.message_id()}, {"recipient", receipt.recipient()}});
      continue;
    }
    out.audit.push_back(ReceiptAuditEntry(receipt, now));
    by_addressee[receipt.addressee()].push_back(&receipt);
  }
  for (const auto& [addressee, receipts] : by_addressee) {
    std::vector<std::string> items;
    std::vector<std::string> leaves;
    std::vector<std::string> ids;
    for (const liaison::v1::Receipt* receipt : receipts) {
      if (deps_.batch_signer != nullptr) {
        absl::StatusOr<ItemSigner::Unsigned> item = deps_.items->ReceiptLeaf(*receipt, now);
        if (!item.ok()) {
          log::Error("policy.receipt_sign_failed", {{"error", item.status().ToString()}});
          continue;
        }
        items.push_back(std::move(item->item));
        leaves.push_back(std::move(item->leaf));
      } else {
        absl::StatusOr<std::string> item = deps_.items->Receipt(*receipt, now);
        if (!item.ok()) {
          log::Error("policy.receipt_sign_failed", {{"error", item.status().ToString()}});
          continue;
        }
        items.push_back(*std::move(item));
      }
      ids.push_back(
          ReceiptItemIdOf(MessageId(receipt->message_id()), EndpointId(receipt->recipient()))
              .value());
    }
    if (items.empty()) continue;
    liaison::v1::DeliveryItem outer;
    outer.set_item_id(GroupItemIdOf(ids));
    outer.set_recipient(addressee);
    Outputs::Record record{deps_.topics.Deliver(addressee), addressee, outer.SerializeAsString(),
                           kafka::kAnyPartition, std::nullopt};
    if (leaves.empty()) {
      record.value += RecordBatcher::Encode(liaison::v1::DeliveryItem::kGroupedFieldNumber, items);
    } else {
      record.group_items = std::move(items);
      record.group_leaves = std::move(leaves);
    }
    out.records.push_back(std::move(record));
  }
  return out;
}

std::vector<policy::Decision> PolicyStage::Explain(const liaison::v1::Message& message,
                                                   const std::vector<std::string>& recipients,
                                                   size_t message_bytes, absl::Time now) const {
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();
  std::vector<policy::Decision> out;
  for (const std::string& r : recipients) {
    out.push_back(chain->Evaluate(DecisionInput(message, r, message_bytes, now,
                                                {deps_.counters, deps_.sources, deps_.consents})));
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

Outputs PolicyStage::EvidenceOutputs(const liaison::v1::EvidenceEvent& event,
                                     absl::Time now) const {
  Outputs out;
  // An acknowledgement is recorded on the member's grant (grants are written
  // by the policy stage only); the evidence keeper erases the item once every
  // member it was wrapped for acknowledged it (evidence_keeper.h).
  if (event.type() == liaison::v1::EvidenceEvent::ACKNOWLEDGED && deps_.evidence != nullptr) {
    const std::string& id = event.item().item_id();
    for (const std::string& member : event.members()) {
      if (std::optional<Outputs::Record> r = AcknowledgedGrantRecord(
              deps_.evidence->Grant(id, member), deps_.evidence->Item(id), now, deps_.topics)) {
        out.records.push_back(std::move(*r));
      }
    }
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
    if (!w->download_item.empty() && ErasedBefore(it->second, w->download_item)) {
      // The node admitted the download before it saw the item marked for
      // erasure, and so sent no key (docs/evidence.md, "A download during
      // the erasure"): after the erasure, the chain says it was refused.
      for (liaison::v1::AuditEntry& a : w->outputs.audit) {
        a.set_event("evidence-download-refused");
        a.set_operation(liaison::v1::AUDIT_OPERATION_REFUSAL);
      }
    }
    it->second.sealed_next = w->offset + 1;
    w->sealed_audit = deps_.audit->Seal(partition, std::move(w->outputs.audit));
    w->outputs.audit.clear();
    if (txn_ != nullptr) {
      SendInTransaction(w);
    } else {
      Send(w);
    }
  }
}

void PolicyStage::Forward(int32_t chain, AuditLog::Sealed sealed_audit,
                          std::shared_ptr<const std::vector<Outputs::Record>> pending,
                          std::function<void(absl::Status)> done, kafka::Producer* transaction) {
  deps_.audit->Write(
      chain, std::move(sealed_audit),
      [this, chain, pending, transaction, done = std::move(done)](absl::Status audit) mutable {
        if (!audit.ok()) {
          // DP-LOG-01: nothing is forwarded without its audit entry.
          ++stats_.audit_failures;
          log::Error("policy.audit_failed", {{"chain", chain}, {"error", audit.ToString()}});
          done(absl::UnavailableError(
              absl::StrCat("DP-LOG-01: audit unavailable (", audit.message(), "); retry")));
          return;
        }
        SignAndProduce(std::move(pending), std::move(done),
                       transaction != nullptr ? transaction : deps_.producer);
      },
      transaction);
}

namespace {

// Appends DeliveryItem field 6 (batched) holding `signed_leaf` to a
// serialised DeliveryItem: parsers merge it, as with WithOriginal in the
// applier, so the record's bytes are not parsed and written again.
void AppendBatched(std::string& item, const liaison::v1::BatchSigned& signed_leaf) {
  const std::string bytes = signed_leaf.SerializeAsString();
  item.push_back(static_cast<char>((liaison::v1::DeliveryItem::kBatchedFieldNumber << 3) | 2));
  uint64_t n = bytes.size();
  while (n >= 0x80) {
    item.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  item.push_back(static_cast<char>(n));
  item.append(bytes);
}

}  // namespace

void PolicyStage::SignAndProduce(std::shared_ptr<const std::vector<Outputs::Record>> records,
                                 std::function<void(absl::Status)> done,
                                 kafka::Producer* producer) {
  std::vector<std::string> leaves;
  for (const Outputs::Record& r : *records) {
    if (!r.leaf.empty()) leaves.push_back(r.leaf);
    for (const std::string& l : r.group_leaves) leaves.push_back(l);
  }
  if (deps_.batch_signer == nullptr) {
    if (!leaves.empty()) {
      done(
          absl::InternalError("records left for batch signing, but the stage has no batch signer"));
      return;
    }
    Produce(std::move(records), std::move(done), producer);
    return;
  }
  // One request, even without leaves: the records of this write land in one
  // batch, and requests complete in order, so records are produced in the
  // order they were audited. The pending records stay unsigned: a retry signs them again in
  // a later batch (same item ids, so a copy already written is dropped as a
  // duplicate by the delivery side).
  deps_.batch_signer->Submit(
      std::move(leaves),
      [this, records, producer, done = std::move(done)](
          absl::StatusOr<std::vector<liaison::v1::BatchSigned>> signed_leaves) mutable {
        if (!signed_leaves.ok() && stop_) {
          // The node is stopping and Broker::Shutdown stopped the signer: no
          // error to log. Unless a retry still completes before the pool
          // stops, the ingress record stays uncommitted and the partition's
          // next owner decides it again.
          log::Info("policy.not_produced",
                    {{"reason", "the node is stopping"}, {"records", records->size()}});
          done(absl::UnavailableError("the node is stopping; the records were not produced"));
          return;
        }
        if (!signed_leaves.ok()) {
          log::Error("policy.batch_sign_failed", {{"error", signed_leaves.status().ToString()}});
          done(absl::UnavailableError(absl::StrCat("batch signing failed (",
                                                   signed_leaves.status().message(), "); retry")));
          return;
        }
        auto complete = std::make_shared<std::vector<Outputs::Record>>(*records);
        size_t next = 0;
        for (Outputs::Record& r : *complete) {
          if (!r.leaf.empty()) {
            AppendBatched(r.value, (*signed_leaves)[next++]);
            r.leaf.clear();
          }
          if (r.group_leaves.empty()) continue;
          for (std::string& item : r.group_items) AppendBatched(item, (*signed_leaves)[next++]);
          r.value +=
              RecordBatcher::Encode(liaison::v1::DeliveryItem::kGroupedFieldNumber, r.group_items);
          r.group_items.clear();
          r.group_leaves.clear();
        }
        Produce(std::move(complete), std::move(done), producer);
      });
}

void PolicyStage::Produce(std::shared_ptr<const std::vector<Outputs::Record>> records,
                          std::function<void(absl::Status)> done, kafka::Producer* producer) {
  struct Join {
    std::atomic<int> remaining;
    std::atomic<bool> failed{false};
    absl::Mutex mu;
    // Where each delivery landed (for naming lost messages if Kafka ever
    // drops them), written once all are known.
    std::vector<liaison::v1::DeliveryIndexEntry> index ABSL_GUARDED_BY(mu);
    std::function<void(absl::Status)> done;
  };
  auto join = std::make_shared<Join>();
  join->remaining = static_cast<int>(records->size()) + 1;
  join->done = std::move(done);
  auto one = [this, join, producer](const kafka::DeliveryReport* report,
                                    std::optional<liaison::v1::DeliveryIndexEntry> idx) {
    if (report != nullptr && !report->status.ok()) join->failed = true;
    if (report != nullptr && report->status.ok() && idx) {
      idx->set_partition(report->partition);
      idx->set_offset(report->offset);
      absl::MutexLock lock(&join->mu);
      join->index.push_back(std::move(*idx));
    }
    if (--join->remaining != 0) return;
    if (join->failed) {
      join->done(absl::UnavailableError("a forwarded record was not acknowledged by Kafka"));
      return;
    }
    std::vector<std::string> entries;
    std::string key;
    {
      absl::MutexLock lock(&join->mu);
      if (join->index.empty()) {
        join->done(absl::OkStatus());
        return;
      }
      key = join->index.front().message_id();
      for (const liaison::v1::DeliveryIndexEntry& e : join->index) {
        entries.push_back(e.SerializeAsString());
      }
    }
    if (producer != deps_.producer) {
      // In a transaction: written with the transaction's other entries
      // before it commits (WriteTransactionIndex).
      {
        absl::MutexLock lock(&txn_index_mu_);
        for (std::string& e : entries) txn_index_.push_back(std::move(e));
      }
      join->done(absl::OkStatus());
      return;
    }
    index_batcher_->Add(std::move(key), std::move(entries), std::move(join->done));
  };
  // Copied, not moved: a failed attempt is retried with the same records
  // (and the same sealed audit bytes), never recomputed.
  for (const Outputs::Record& r : *records) {
    if (r.tombstone) {
      producer->ProduceTombstone(
          r.topic, r.key, [one](const kafka::DeliveryReport& report) { one(&report, {}); },
          r.partition);
      continue;
    }
    producer->Produce(
        r.topic, r.key, r.value,
        [one, idx = r.index](const kafka::DeliveryReport& report) mutable {
          one(&report, std::move(idx));
        },
        r.partition);
  }
  one(nullptr, std::nullopt);
}

absl::Status PolicyStage::WriteTransactionIndex(kafka::Producer& producer) {
  std::vector<std::string> entries;
  {
    absl::MutexLock lock(&txn_index_mu_);
    entries.swap(txn_index_);
  }
  if (entries.empty()) return absl::OkStatus();
  constexpr size_t kEntriesPerRecord = 1000;
  struct Wait {
    absl::Mutex mu;
    int remaining ABSL_GUARDED_BY(mu) = 0;
    absl::Status status ABSL_GUARDED_BY(mu);
  };
  auto wait = std::make_shared<Wait>();
  for (size_t from = 0; from < entries.size(); from += kEntriesPerRecord) {
    const size_t to = std::min(entries.size(), from + kEntriesPerRecord);
    std::vector<std::string> part(std::make_move_iterator(entries.begin() + from),
                                  std::make_move_iterator(entries.begin() + to));
    liaison::v1::DeliveryIndexEntry first;
    (void)first.ParseFromString(part.front());
    {
      absl::MutexLock lock(&wait->mu);
      ++wait->remaining;
    }
    producer.Produce(
        deps_.topics.DeliveryIndex(), first.message_id(),
        RecordBatcher::Encode(liaison::v1::DeliveryIndexRecord::kEntriesFieldNumber, part),
        [wait](const kafka::DeliveryReport& report) {
          absl::MutexLock lock(&wait->mu);
          if (!report.status.ok() && wait->status.ok()) wait->status = report.status;
          --wait->remaining;
        });
  }
  absl::MutexLock lock(&wait->mu);
  auto answered = [&wait]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(wait->mu) { return wait->remaining == 0; };
  wait->mu.Await(absl::Condition(&answered));
  return wait->status;
}

// A Write (holds released, erasures) sealed once and tried until written.
struct PolicyStage::PendingWrite {
  int32_t chain = 0;
  AuditLog::Sealed sealed;
  std::shared_ptr<const std::vector<Outputs::Record>> records;
  std::vector<FlowEvent> flow;
  std::vector<liaison::v1::HeldDelivery> held;
  std::string erased_item;
  std::function<void(absl::Status)> done;
  int attempts = 0;
};

void PolicyStage::Write(int32_t chain, Outputs outputs, std::function<void(absl::Status)> done) {
  auto write = std::make_shared<PendingWrite>();
  write->chain = chain;
  write->records = std::make_shared<const std::vector<Outputs::Record>>(std::move(outputs.records));
  write->flow = std::move(outputs.flow);
  write->held = std::move(outputs.held);
  write->erased_item = std::move(outputs.erased_item);
  write->done = std::move(done);
  if (txn_ != nullptr) {
    WriteInTransaction(write, std::move(outputs.audit));
    return;
  }
  {
    // Under mu_, as Dispatch seals: an erasure and a download's start are
    // sealed in one order, the one Dispatch checks.
    absl::MutexLock lock(&mu_);
    NoteErasure(chain, write->erased_item);
    write->sealed = deps_.audit->Seal(chain, std::move(outputs.audit));
  }
  WriteAttempt(write);
}

void PolicyStage::NoteErasure(int32_t chain, const std::string& item_id) {
  if (item_id.empty()) return;
  if (auto it = partitions_.find(chain); it != partitions_.end()) it->second.erased.insert(item_id);
}

bool PolicyStage::ErasedBefore(const Partition& partition, const std::string& item_id) const {
  if (partition.erased.contains(item_id)) return true;
  if (deps_.evidence == nullptr) return false;
  std::optional<liaison::v1::EvidenceItemRecord> item = deps_.evidence->Item(item_id);
  return item.has_value() && item->has_erasure();
}

bool PolicyStage::SealedPast(int32_t chain, int64_t offset) const {
  absl::MutexLock lock(&mu_);
  auto it = partitions_.find(chain);
  return it != partitions_.end() && it->second.sealed_next > offset;
}

void PolicyStage::WriteErasurePoint(int32_t chain, const liaison::v1::EvidenceItemRecord& item,
                                    std::function<void(absl::StatusOr<int64_t>)> done) {
  const absl::Time now = absl::Now();
  liaison::v1::IngressEvent event;
  event.set_node_id(deps_.broker_id);
  *event.mutable_observed_at() = ToProto(now);
  liaison::v1::EvidenceEvent* point = event.mutable_evidence();
  point->set_type(liaison::v1::EvidenceEvent::ERASURE_POINT);
  point->mutable_item()->set_item_id(item.item_id());
  point->mutable_item()->set_jit_id(item.jit_id());
  point->mutable_item()->set_ciphertext_sha256(item.ciphertext_sha256());
  point->set_uploader(item.uploader());
  absl::StatusOr<liaison::v1::SignedIngressEvent> signed_event =
      deps_.countersigner == nullptr
          ? absl::FailedPreconditionError("this node has no key to sign events")
          : deps_.countersigner->SignEvent(std::move(event), now);
  if (!signed_event.ok()) {
    done(signed_event.status());
    return;
  }
  liaison::v1::IngressRecord record;
  *record.mutable_event() = *std::move(signed_event);
  *record.mutable_accepted_at() = ToProto(now);
  deps_.producer->Produce(
      deps_.topics.Ingress(), item.item_id(), record.SerializeAsString(),
      [done = std::move(done)](const kafka::DeliveryReport& report) {
        if (report.status.ok()) {
          done(report.offset);
        } else {
          done(report.status);
        }
      },
      chain);
}

void PolicyStage::WriteInTransaction(const std::shared_ptr<PendingWrite>& write,
                                     std::vector<liaison::v1::AuditEntry> audit) {
  TxnWriter::Item item;
  item.chain = write->chain;
  item.produce = [this, write](kafka::Producer& producer, std::function<void(absl::Status)> done) {
    Forward(write->chain, write->sealed, write->records, std::move(done), &producer);
  };
  // Aborted transactions are written again by the writer: `finished` sees
  // an error only once the chain was released, the stage stops, or
  // transactions failed for good (nothing of it is then visible).
  item.finished = [this, write](absl::Status s) {
    if (s.ok()) {
      deps_.audit->Committed(write->chain, write->sealed);
      Published(write->flow, write->held);
    }
    write->done(std::move(s));
  };
  absl::Status submitted;
  {
    // Under mu_, as BeforeRevoke drops the chain: an item of a chain already
    // released never reaches the writer. Sealed here, like Dispatch seals
    // under mu_: the writer gets the chain's records in seq order.
    absl::MutexLock lock(&mu_);
    if (partitions_.count(write->chain) > 0) {
      NoteErasure(write->chain, write->erased_item);
      write->sealed = deps_.audit->Seal(write->chain, std::move(audit));
      submitted = txn_->Submit(std::move(item));
    } else {
      submitted = absl::FailedPreconditionError(
          absl::StrCat("audit chain ", write->chain, " is not owned by this node"));
    }
  }
  if (!submitted.ok()) write->done(std::move(submitted));
}

void PolicyStage::SendInTransaction(const std::shared_ptr<Work>& work) {
  work->pending =
      std::make_shared<const std::vector<Outputs::Record>>(std::move(work->outputs.records));
  work->flow = std::move(work->outputs.flow);
  work->held = std::move(work->outputs.held);
  work->outputs = Outputs();
  TxnWriter::Item item;
  item.chain = work->partition;
  item.ingress_offset = work->offset;
  // Every attempt (a transaction aborted is redone in the next) writes the
  // same sealed audit bytes and records: nothing is decided again.
  item.produce = [this, work](kafka::Producer& producer, std::function<void(absl::Status)> done) {
    Forward(work->partition, work->sealed_audit, work->pending, std::move(done), &producer);
  };
  item.finished = [this, work](absl::Status s) {
    if (!s.ok()) return;  // dropped: the partition was revoked or the stage stops
    deps_.audit->Committed(work->partition, work->sealed_audit);
    Published(work->flow, work->held);
    work->pending.reset();
    work->sealed_audit = AuditLog::Sealed();
    work->done = true;
  };
  if (absl::Status s = txn_->Submit(std::move(item)); !s.ok()) {
    log::Error("policy.not_written",
               {{"partition", work->partition}, {"offset", work->offset}, {"error", s.ToString()}});
  }
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
    log::Warning("policy.write_retry",
                 {{"chain", write->chain}, {"attempt", write->attempts}, {"error", s.ToString()}});
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
    const absl::Duration delay =
        std::min(kMaxRetry, kFirstRetry * (1 << std::min(work->attempts, 5)));
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
  log::Error(
      "ingress.lost",
      {{"partition", gap.partition}, {"from", gap.from}, {"to", gap.to}, {"records", count}});
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
      deps_.producer->Produce(
          r->topic, std::move(r->key), std::move(r->value),
          [](const kafka::DeliveryReport& report) {
            if (!report.status.ok()) {
              log::Error("ingress.lost_notice_failed", {{"error", report.status.ToString()}});
            }
          });
    }
  }
  if (static_cast<int64_t>(lost.size()) < count) {
    log::Error(
        "ingress.lost_unidentified",
        {{"partition", gap.partition}, {"records", count - static_cast<int64_t>(lost.size())}});
  }
}

}  // namespace liaison::broker
