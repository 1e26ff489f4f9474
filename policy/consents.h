// Consents, approvals and refusals (KIND_CONSENT messages, body
// liaison.v1.ConsentGrant) that the broker verified and recorded, and the
// one matching function every rule uses to look for them.
//
// A consent counts only when it is granted, from the right party (the
// grantor is the endpoint that signed the KIND_CONSENT message), for the
// right grantee (the sender of the message being decided), for the
// recipient and the purposes at hand, and unexpired at `now`.
#ifndef LIAISON_POLICY_CONSENTS_H_
#define LIAISON_POLICY_CONSENTS_H_

#include <string>
#include <string_view>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "liaison/v1/message.pb.h"

namespace liaison::policy {

struct ConsentRecord {
  // header.sender of the verified KIND_CONSENT message (its signer), or
  // kAwaitingDpo for a DPO review recorded by the broker.
  std::string grantor;
  liaison::v1::ConsentGrant grant;
  // When the broker recorded it; the latest matching record decides.
  absl::Time recorded_at = absl::InfinitePast();
};

// Read interface the rules use. Implementations must be safe for
// concurrent calls; records must stay valid during the Evaluate call.
class ConsentIndex {
 public:
  virtual ~ConsentIndex() = default;
  // Calls `fn` for every record whose grant.message_ids contains `message_id`.
  virtual void ForEachCovering(std::string_view message_id,
                               absl::FunctionRef<void(const ConsentRecord&)> fn) const = 0;
};

// A plain multimap. Not synchronised: Add() must not run while any
// ForEachCovering() may.
class InMemoryConsentIndex final : public ConsentIndex {
 public:
  void Add(ConsentRecord record);
  void ForEachCovering(std::string_view message_id,
                       absl::FunctionRef<void(const ConsentRecord&)> fn) const override;

  // The record for a verified KIND_CONSENT message. InvalidArgument when it
  // is not one (wrong kind, no consent body, no consent_id, no sender).
  //
  // A verified KIND_FOLLOWUP_DECISION is the owner's answer to a held
  // follow-up (DP-LINK-02) and is recorded as its consent: grantor the owner
  // (the decision's signer), kind OWNER_APPROVAL, grantee the decision's one
  // recipient (the requester), covering the follow-up's message id, granted
  // when it approves, consent id "followup/" + that id, expiring at the
  // decision's retention.erase_by (else 30 days after it was created).
  // InvalidArgument when it names no follow-up or has other than one
  // recipient.
  static absl::StatusOr<ConsentRecord> RecordOf(const liaison::v1::Message& consent_message,
                                                absl::Time recorded_at);

 private:
  std::vector<ConsentRecord> records_;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_message_;
};

// What a rule is looking for.
struct ConsentQuery {
  liaison::v1::ConsentKind kind = liaison::v1::CONSENT_KIND_UNSPECIFIED;
  // Who must have granted it.
  absl::string_view grantor;
  // Who relies on it: the sender of the message being decided.
  absl::string_view grantee;
  absl::string_view recipient;
  // The message being decided: a consent naming it (a held message) may
  // leave recipients and purposes empty, meaning "as in that message".
  absl::string_view message_id;
  // A source the message derives from; a consent naming only the source
  // must list the recipient and the purposes. Empty = none.
  absl::string_view source_id;
  // Purposes that need the consent; nullptr = none beyond the message's.
  const google::protobuf::RepeatedField<int>* purposes = nullptr;
  absl::Time now = absl::InfinitePast();
};

enum class ConsentState { kNone, kGranted, kRefused };

struct ConsentLookup {
  ConsentState state = ConsentState::kNone;
  const ConsentRecord* record = nullptr;  // the deciding record, if any
};

// Among the records matching `q`, the most recently recorded decides (a
// refusal wins a tie). A refusal counts even after its `expires`; a grant
// only before it. `index` may be nullptr (nothing recorded).
ConsentLookup FindConsent(const ConsentIndex* index, const ConsentQuery& q);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_CONSENTS_H_
