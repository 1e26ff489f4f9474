// Registry: an immutable, validated snapshot of liaison.v1.Registry
// (proto/liaison/v1/registry.proto) with the indexes the rules need.
//
// Ownership and threads: created once by Parse()/FromProto() and shared as
// shared_ptr<const Registry>; every method is const and safe to call from
// any number of threads. A reload parses a new snapshot and builds a new
// Chain on it; snapshots are never modified.
//
// No I/O: Parse() takes the file's text. Reading the file is the caller's job.
#ifndef LIAISON_POLICY_REGISTRY_H_
#define LIAISON_POLICY_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "liaison/v1/registry.pb.h"

namespace liaison::policy {

// Precomputed facts about one endpoint.
struct EndpointEntry {
  const liaison::v1::Endpoint* endpoint = nullptr;
  uint32_t roles = 0;     // bit (1 << Role)
  uint32_t purposes = 0;  // bit (1 << Purpose), accepted purposes

  absl::string_view id() const { return endpoint->id(); }
  absl::string_view country() const { return endpoint->country(); }
  bool HasRole(liaison::v1::Role r) const { return (roles & (uint32_t{1} << r)) != 0; }
  bool Accepts(liaison::v1::Purpose p) const {
    return p > 0 && p < 32 && (purposes & (uint32_t{1} << p)) != 0;
  }
  // Not bound by the LED: sending there is an LED art 35 transfer.
  bool third_country() const {
    return endpoint->jurisdiction() == liaison::v1::JURISDICTION_THIRD_COUNTRY;
  }
  // EU Member State or Schengen-associated state (DP-CHILD-02).
  bool eu_or_schengen() const {
    return endpoint->jurisdiction() == liaison::v1::JURISDICTION_EU_MEMBER_STATE ||
           endpoint->jurisdiction() == liaison::v1::JURISDICTION_SCHENGEN_ASSOCIATED;
  }
};

// DP-XFER-03 limits, with the defaults of docs/rules.md for what the registry omits.
struct DerogationPolicy {
  int max_subjects = 3;
  absl::Duration repeat_window = absl::ZeroDuration();  // zero: no repeat check
  int max_transfers_per_window = 0;
};

// DP-TIME-01 deadlines, with Directive 2023/977 art 5(1) defaults.
struct DeadlinePolicy {
  absl::Duration urgent_direct = absl::Hours(8);
  absl::Duration urgent_indirect = absl::Hours(72);
  absl::Duration standard = absl::Hours(24 * 7);
};

class Registry {
 public:
  // Parses text-format `text` and validates it. `filename` is used in
  // error messages only. On failure: InvalidArgument whose message has one
  // line per problem, every problem found (syntax errors stop the parser,
  // so then only those), each "FILE:LINE: field PATH: problem" or
  // "FILE:LINE: syntax error: ...". Problems name registry values (ids,
  // codes), which are configuration, not personal data.
  static absl::StatusOr<std::shared_ptr<const Registry>> Parse(std::string_view text,
                                                               std::string_view filename);

  // Validates an already-parsed proto (e.g. from a compacted Kafka topic).
  // Same errors as Parse, with `source_name` in place of FILE:LINE.
  static absl::StatusOr<std::shared_ptr<const Registry>> FromProto(
      liaison::v1::Registry proto, std::string_view source_name = "registry");

  const liaison::v1::Registry& proto() const { return proto_; }

  // The registry `version` field + '+' + 12 hex digits of a content hash,
  // e.g. "dev-2026-05-04.1+3fa9c2d1e0b4". Recorded with every decision.
  const std::string& version() const { return version_; }

  // Lookups. FindEndpoint takes std::string_view for the broker; the rest
  // take absl::string_view (Debian 12's Abseil does not alias
  // std::string_view); std::string and literals convert to both.
  const liaison::v1::Endpoint* FindEndpoint(std::string_view id) const;
  const EndpointEntry* FindEntry(absl::string_view id) const;

  const liaison::v1::LegalBasis* FindLegalBasis(absl::string_view code) const;
  // True when `basis` covers sender -> recipient (or, with both_directions,
  // recipient -> sender) for `kind` at `now`.
  static bool Covers(const liaison::v1::LegalBasis& basis, const EndpointEntry& sender,
                     const EndpointEntry& recipient, liaison::v1::Kind kind, absl::Time now);
  static bool Contains(const liaison::v1::PartySet& set, const EndpointEntry& party);

  // An adequacy decision for `country` valid at `now`, or nullptr.
  const liaison::v1::AdequacyDecision* FindAdequacy(absl::string_view country,
                                                    absl::Time now) const;
  const liaison::v1::Safeguard* FindSafeguard(absl::string_view ref) const;

  const liaison::v1::Jit* FindJit(absl::string_view id) const;
  // JITs that list `case_ref`; empty span when none.
  absl::Span<const liaison::v1::Jit* const> JitsForCase(absl::string_view case_ref) const;
  static bool IsMember(const liaison::v1::Jit& jit, absl::string_view endpoint);
  // The JIT this registry establishes for a message of `sender` on
  // `case_ref` at `now`: valid at `now`, `sender` a member, its case_refs
  // listing `case_ref`. Of several, the one named `claimed` (the sender's
  // header.jit_id) when it is among them, else the first listed. nullptr
  // when none: a sender's claim alone never establishes a JIT.
  const liaison::v1::Jit* EstablishedJit(absl::string_view case_ref, absl::string_view sender,
                                         absl::Time now, absl::string_view claimed = {}) const;
  // start <= now < end.
  static bool IsValidAt(const liaison::v1::Jit& jit, absl::Time now);

  // DP-RET-01 limits for `kind` (any categories); empty when none.
  absl::Span<const liaison::v1::RetentionLimit* const> RetentionLimitsFor(
      liaison::v1::Kind kind) const;

  const DerogationPolicy& derogation() const { return derogation_; }
  const DeadlinePolicy& deadlines() const { return deadlines_; }
  // 72 h (2 h when URGENT) unless the registry says otherwise.
  absl::Duration HoldTimeout(liaison::v1::Urgency urgency) const;
  // The front-door limits of `endpoint` (every field set): its own, else the
  // registry's default_limits, else the built-in defaults.
  liaison::v1::EndpointLimits LimitsFor(absl::string_view endpoint) const;
  // The built-in defaults LimitsFor starts from.
  static liaison::v1::EndpointLimits DefaultLimits();
  // DP-HC-04: the longest an H3 NOT_BEFORE may delay delivery.
  absl::Duration MaxNotBefore() const { return max_not_before_; }
  // JIT evidence retention (registry evidence_retention): how long after
  // the upload an item is kept at most (default and maximum 28 days), and
  // how long after its JIT's end (default 0).
  absl::Duration EvidenceMaxAge() const { return evidence_max_age_; }
  absl::Duration EvidenceAfterJitEnd() const { return evidence_after_jit_end_; }

  bool IsKnownRestriction(absl::string_view code) const;

  // DP-MIN-01: Person fields (bit per field number) allowed for
  // (kind, purpose, category); nullopt when no allowlist matches.
  std::optional<uint32_t> AllowedPersonFields(liaison::v1::Kind kind, liaison::v1::Purpose purpose,
                                              liaison::v1::SubjectCategory category) const;

  int max_linkage_identifiers() const { return max_linkage_identifiers_; }
  bool LinkageTypeAllowed(liaison::v1::IdentifierType type) const;
  // Epochs of the network linkage key in force (default {1}), ascending.
  const std::vector<uint32_t>& linkage_epochs() const { return linkage_epochs_; }
  // OK for an epoch in force; FailedPrecondition "linkage epoch N is retired
  // (in force: 2)" for one below the newest that is not listed, "... is not
  // in force yet" for one above it.
  absl::Status CheckLinkageEpoch(uint32_t epoch) const;
  int max_linkage_queries_per_day() const { return max_linkage_queries_per_day_; }
  int64_t max_linkage_entries_per_endpoint() const { return max_linkage_entries_; }

  // Rule ids the registry puts in shadow mode.
  const absl::flat_hash_set<std::string>& shadow_rules() const { return shadow_rules_; }

 private:
  explicit Registry(liaison::v1::Registry proto);
  void BuildIndexes();

  struct AllowCell {
    int specificity = -1;
    uint32_t fields = 0;
  };

  liaison::v1::Registry proto_;
  std::string version_;
  absl::flat_hash_map<std::string, EndpointEntry> endpoints_;
  absl::flat_hash_map<std::string, const liaison::v1::LegalBasis*> bases_;
  absl::flat_hash_map<std::string, std::vector<const liaison::v1::AdequacyDecision*>> adequacy_;
  absl::flat_hash_map<std::string, const liaison::v1::Safeguard*> safeguards_;
  absl::flat_hash_map<std::string, const liaison::v1::Jit*> jits_;
  absl::flat_hash_map<std::string, std::vector<const liaison::v1::Jit*>> jits_by_case_;
  std::vector<std::vector<const liaison::v1::RetentionLimit*>> retention_by_kind_;
  absl::flat_hash_set<std::string> restriction_codes_;
  std::vector<AllowCell> allow_;  // [kind][purpose][category]
  DerogationPolicy derogation_;
  DeadlinePolicy deadlines_;
  absl::Duration hold_standard_ = absl::Hours(72);
  absl::Duration hold_urgent_ = absl::Hours(2);
  absl::Duration max_not_before_ = absl::Hours(24 * 30);
  absl::Duration evidence_max_age_ = absl::Hours(24 * 28);
  absl::Duration evidence_after_jit_end_ = absl::ZeroDuration();
  int max_linkage_identifiers_ = 20;
  uint32_t linkage_types_ = 0;
  std::vector<uint32_t> linkage_epochs_ = {1};
  int max_linkage_queries_per_day_ = 100;
  int64_t max_linkage_entries_ = 1000000;
  absl::flat_hash_set<std::string> shadow_rules_;
};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_REGISTRY_H_
