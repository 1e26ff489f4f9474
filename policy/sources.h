// What the broker recorded about earlier messages ("sources"), and how the
// rules find the sources a message says it derives from.
//
// A message names its sources in header.provenance.derived_from and
// describes them in header.provenance.sources. The broker's own record wins
// over the sender's description; when the broker has no record, rules use
// the description and say so in their reason; when neither exists the rules
// that need the source fail closed.
#ifndef LIAISON_POLICY_SOURCES_H_
#define LIAISON_POLICY_SOURCES_H_

#include <string>
#include <string_view>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "liaison/v1/message.pb.h"
#include "policy/input.h"

namespace liaison::policy {

// The broker's record of one message it forwarded.
struct SourceRecord {
  // message_id, provider (its sender), handling, original_recipients (its
  // header.recipients), purposes, permitted_further_purposes, jit_id and
  // obtained_in. `used_in` is not used here.
  liaison::v1::SourceRef ref;
  // header.provenance.original_provider of that message; empty = provider.
  std::string original_provider;
  // Endpoints it was actually delivered to, including redacted copies
  // (DP-QUAL-02 sends corrections to all of them).
  std::vector<std::string> delivered_to;
};

// Read interface the rules use. Implementations must be safe for
// concurrent Find() calls; the returned record must stay valid and
// unchanged until the Evaluate call that asked returns.
class Registry;

class SourceIndex {
 public:
  virtual ~SourceIndex() = default;
  // nullptr when the broker never forwarded `message_id`.
  virtual const SourceRecord* Find(std::string_view message_id) const = 0;
};

// A plain map. Not synchronised: Add() must not run while any Find() may.
class InMemorySourceIndex final : public SourceIndex {
 public:
  // Adds or replaces the record for record.ref.message_id().
  void Add(SourceRecord record);
  const SourceRecord* Find(std::string_view message_id) const override;

  // The record the broker keeps about `message` once delivered to
  // `delivered_to`, decided at `now` under `registry`. jit_id is the JIT the
  // broker established, never the sender's claim: for an EVIDENCE_MANIFEST
  // its body's JIT when registered with the sender as a member (DP-JIT-01
  // checked the rest), otherwise Registry::EstablishedJit for the header's
  // case_ref. obtained_in comes from the header, or for a manifest from the
  // items when they all agree.
  static SourceRecord RecordOf(const liaison::v1::Message& message,
                               std::vector<std::string> delivered_to, const Registry& registry,
                               absl::Time now);

 private:
  absl::node_hash_map<std::string, SourceRecord> records_;
};

// One source of the message being decided.
struct ResolvedSource {
  absl::string_view message_id;
  // The description rules use: the broker's record when it has one, else
  // the sender's; nullptr when neither exists (rules fail closed).
  const liaison::v1::SourceRef* ref = nullptr;
  const SourceRecord* recorded = nullptr;
  const liaison::v1::SourceRef* declared = nullptr;

  bool known() const { return ref != nullptr; }
  bool declared_only() const { return recorded == nullptr && declared != nullptr; }
  // The authority the content originally came from: the record's
  // original_provider, else the source's provider.
  absl::string_view original_provider() const;
  // Where in the message it is used, as declared ("evidence_manifest.items[4]");
  // empty when not declared or not a field path of liaison.v1.Message.
  absl::string_view used_in() const;
};

// Calls `fn` once per distinct source id of in.message (derived_from first,
// then provenance.sources), until `fn` returns false. No allocation.
void ForEachSource(const Input& in, absl::FunctionRef<bool(const ResolvedSource&)> fn);

// " (source described by the sender only: the broker has no record of it)"
// when `s` is declared-only, else "". Rules append it to their reasons.
absl::string_view DeclaredOnlyNote(const ResolvedSource& s);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_SOURCES_H_
