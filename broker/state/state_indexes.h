// Thread-safe homes for what the policy rules read about earlier traffic:
// the sources index (messages forwarded, with who received them) and the
// consents index. Both are filled from compacted Kafka topics at start-up
// (TopicMirror) and by this node as it works, so the rules see the same
// state on every node.
#ifndef LIAISON_BROKER_STATE_STATE_INDEXES_H_
#define LIAISON_BROKER_STATE_STATE_INDEXES_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <atomic>
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "liaison/v1/broker_state.pb.h"
#include "policy/consents.h"
#include "policy/sources.h"

namespace liaison::broker {

// Records are immutable once published: an update publishes a new record
// and keeps the old one alive, so a pointer handed to a rule stays valid
// for the whole evaluation (policy::SourceIndex's contract).
class SourceBook final : public policy::SourceIndex {
 public:
  // Adds or replaces the record of `record.ref.message_id()`.
  void Put(policy::SourceRecord record) ABSL_LOCKS_EXCLUDED(mu_);
  // Adds `recipient` to delivered_to (no-op if present or unknown id).
  void AddDelivered(const std::string& message_id, const std::string& recipient)
      ABSL_LOCKS_EXCLUDED(mu_);
  const policy::SourceRecord* Find(std::string_view message_id) const override
      ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<const policy::SourceRecord> Get(const std::string& message_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Retention bookkeeping kept with each record (DP-RET-02 ERASE notices).
  struct Expiry {
    absl::Time erase_by = absl::InfiniteFuture();
    int32_t ingress_partition = -1;
    bool notified = false;
  };
  void SetExpiry(const std::string& message_id, Expiry expiry) ABSL_LOCKS_EXCLUDED(mu_);
  // Messages whose erase_by is at or before `now`, not yet notified, that came
  // through one of `partitions`.
  std::vector<std::pair<std::shared_ptr<const policy::SourceRecord>, Expiry>> DueForErasure(
      absl::Time now, const std::vector<int32_t>& partitions) const ABSL_LOCKS_EXCLUDED(mu_);

  static policy::SourceRecord FromProto(const liaison::v1::RecordedSource& p);
  static liaison::v1::RecordedSource ToProto(const policy::SourceRecord& r);

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const policy::SourceRecord>> records_
      ABSL_GUARDED_BY(mu_);
  // Superseded versions, kept so that borrowed pointers stay valid.
  std::vector<std::shared_ptr<const policy::SourceRecord>> retired_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Expiry> expiry_ ABSL_GUARDED_BY(mu_);
};

class ConsentBook final : public policy::ConsentIndex {
 public:
  // Ignores a record whose (grantor, consent id) is already present: a
  // replay of the same consent. Consent ids are scoped by grantor, so one
  // endpoint's consent can neither shadow nor overwrite another's.
  void Put(policy::ConsentRecord record) ABSL_LOCKS_EXCLUDED(mu_);
  // The key of a consent in this book and on the compacted consents topic:
  // "<grantor>/<consent id>".
  static std::string Key(const policy::ConsentRecord& record);
  void ForEachCovering(std::string_view message_id,
                       absl::FunctionRef<void(const policy::ConsentRecord&)> fn) const override
      ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // Stored consents refused by FromVerified (counted by the loader).
  void CountRefused() { ++refused_; }
  int64_t refused() const { return refused_.load(); }

  // The record a stored RecordedConsent stands for, taken from the grantor's
  // signed envelope it carries (verified at its recorded_at, never later
  // than the wall clock; revocation applies whatever the time). Refused
  // (PermissionDenied / InvalidArgument) when the envelope is missing, does
  // not verify, or is not a usable KIND_CONSENT message.
  static absl::StatusOr<policy::ConsentRecord> FromVerified(const liaison::v1::RecordedConsent& p,
                                                            const certs::Verifier& verifier);
  static policy::ConsentRecord FromProto(const liaison::v1::RecordedConsent& p);
  static liaison::v1::RecordedConsent ToProto(const policy::ConsentRecord& r);

 private:
  mutable absl::Mutex mu_;
  std::deque<policy::ConsentRecord> records_ ABSL_GUARDED_BY(mu_);  // stable addresses
  absl::flat_hash_map<std::string, std::vector<const policy::ConsentRecord*>> by_message_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, bool> ids_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> refused_{0};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_STATE_INDEXES_H_
