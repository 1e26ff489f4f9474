#include "policy/internal/registry_check.h"

#include <initializer_list>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/proto_time.h"
#include "policy/internal/countries.h"
#include "policy/internal/text.h"
#include "policy/rules/all_rules.h"

namespace liaison::policy::internal {
namespace {

using Path = std::vector<std::pair<std::string, int>>;
using liaison::v1::Registry;

absl::Duration Dur(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

Path P(std::initializer_list<std::pair<std::string, int>> elems) { return Path(elems); }

Path Child(Path base, std::string field, int index = -1) {
  base.emplace_back(std::move(field), index);
  return base;
}

bool IsEndpointIdShaped(absl::string_view id) {
  if (id.size() < 4 || id[2] != '-') return false;
  if (!absl::ascii_isupper(static_cast<unsigned char>(id[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(id[1]))) {
    return false;
  }
  for (size_t i = 3; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && id[i] != '-') return false;
  }
  return id.back() != '-';
}

bool IsRegistryCodeShaped(absl::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char ch : code) {
    const auto c = static_cast<unsigned char>(ch);
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && ch != '-' && ch != '/' && ch != '.' &&
        ch != '_') {
      return false;
    }
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const Registry& r) : r_(r) {
    for (const auto& e : r.endpoints()) endpoints_.emplace(e.id(), &e);
  }

  std::vector<RegistryProblem> Run() {
    if (r_.version().empty()) Add(P({{"version", -1}}), "missing: set a version label");
    Endpoints();
    LegalBases();
    Adequacy();
    Safeguards();
    Jits();
    Retention();
    Bulk();
    Derogation();
    Restrictions();
    Timeouts();
    Allowlists();
    Linkage();
    Shadow();
    return std::move(problems_);
  }

 private:
  void Add(Path path, std::string message) {
    problems_.push_back(RegistryProblem{std::move(path), std::move(message)});
  }

  void Country(const Path& path, absl::string_view code) {
    if (code.empty()) {
      Add(path, "missing");
    } else if (code == "UK") {
      Add(path, "'UK' is not an ISO 3166-1 alpha-2 code (the United Kingdom is 'GB')");
    } else if (!IsIsoCountry(code)) {
      Add(path, absl::StrCat("'", code, "' is not an ISO 3166-1 alpha-2 code"));
    }
  }

  void EndpointRef(const Path& path, absl::string_view id) {
    if (!endpoints_.contains(id)) Add(path, absl::StrCat("unknown endpoint '", id, "'"));
  }

  void Validity(const Path& base, const google::protobuf::Timestamp* from,
                const google::protobuf::Timestamp* until, absl::string_view from_name,
                absl::string_view until_name) {
    if (from != nullptr && until != nullptr &&
        liaison::FromProto(*until) <= liaison::FromProto(*from)) {
      Add(Child(base, std::string(until_name)),
          absl::StrCat("ends before it starts (", until_name, " ",
                       FormatDay(liaison::FromProto(*until)), " is not after ", from_name, " ",
                       FormatDay(liaison::FromProto(*from)), ")"));
    }
  }

  void PositiveDuration(const Path& path, const google::protobuf::Duration& d) {
    if (d.seconds() < 0 || (d.seconds() == 0 && d.nanos() <= 0)) {
      Add(path, "must be a positive duration");
    }
  }

  template <typename Enum, typename IsValid>
  void Enums(const Path& base, absl::string_view field,
             const google::protobuf::RepeatedField<int>& values, IsValid is_valid,
             absl::string_view what) {
    absl::flat_hash_set<int> seen;
    for (int i = 0; i < values.size(); ++i) {
      if (values[i] == 0 || !is_valid(values[i])) {
        Add(Child(base, std::string(field), i), absl::StrCat("unspecified or unknown ", what));
      } else if (!seen.insert(values[i]).second) {
        Add(Child(base, std::string(field), i), absl::StrCat("duplicate ", what));
      }
    }
  }

  void Parties(const Path& path, const liaison::v1::PartySet& set) {
    if (set.endpoints().empty() && set.countries().empty() && set.jurisdictions().empty()) {
      Add(path, "names no party: list endpoints, countries or jurisdictions");
      return;
    }
    for (int i = 0; i < set.endpoints_size(); ++i) {
      EndpointRef(Child(path, "endpoints", i), set.endpoints(i));
    }
    for (int i = 0; i < set.countries_size(); ++i) {
      Country(Child(path, "countries", i), set.countries(i));
    }
    for (int i = 0; i < set.jurisdictions_size(); ++i) {
      if (set.jurisdictions(i) == liaison::v1::JURISDICTION_UNSPECIFIED) {
        Add(Child(path, "jurisdictions", i), "JURISDICTION_UNSPECIFIED");
      }
    }
  }

  void Endpoints() {
    absl::flat_hash_map<absl::string_view, int> first;
    for (int i = 0; i < r_.endpoints_size(); ++i) {
      const auto& e = r_.endpoints(i);
      const Path base = P({{"endpoints", i}});
      if (e.id().empty()) {
        Add(Child(base, "id"), "missing");
      } else if (!IsEndpointIdShaped(e.id())) {
        Add(Child(base, "id"),
            absl::StrCat("'", e.id(),
                         "' must look like CC-AGENCY (country code, '-', upper-case agency)"));
      } else if (auto [it, inserted] = first.emplace(e.id(), i); !inserted) {
        Add(Child(base, "id"), absl::StrCat("duplicate endpoint id '", e.id(),
                                            "' (first at endpoints[", it->second, "])"));
      }
      Country(Child(base, "country"), e.country());
      if (IsIsoCountry(e.country()) && IsEndpointIdShaped(e.id()) &&
          absl::string_view(e.id()).substr(0, 2) != e.country()) {
        Add(Child(base, "country"),
            absl::StrCat("'", e.country(), "' does not match the id prefix of '", e.id(), "'"));
      }
      Jurisdiction(base, e);
      for (int k = 0; k < e.roles_size(); ++k) {
        if (e.roles(k) == liaison::v1::ROLE_UNSPECIFIED)
          Add(Child(base, "roles", k), "ROLE_UNSPECIFIED");
      }
      Enums<liaison::v1::Purpose>(base, "accepted_purposes", e.accepted_purposes(),
                                  liaison::v1::Purpose_IsValid, "purpose");
    }
  }

  void Jurisdiction(const Path& base, const liaison::v1::Endpoint& e) {
    const Path path = Child(base, "jurisdiction");
    const absl::string_view c = e.country();
    switch (e.jurisdiction()) {
      case liaison::v1::JURISDICTION_UNSPECIFIED:
        Add(path, "missing");
        break;
      case liaison::v1::JURISDICTION_EU_MEMBER_STATE:
        if (IsIsoCountry(c) && !IsEuMemberState(c)) {
          Add(path, absl::StrCat("'", c, "' is not an EU Member State"));
        }
        break;
      case liaison::v1::JURISDICTION_SCHENGEN_ASSOCIATED:
        if (IsIsoCountry(c) && !IsSchengenAssociated(c)) {
          Add(path, absl::StrCat("'", c, "' is not a Schengen-associated state (IS, LI, NO, CH)"));
        }
        break;
      case liaison::v1::JURISDICTION_THIRD_COUNTRY:
        if (IsEuMemberState(c) || IsSchengenAssociated(c)) {
          Add(path, absl::StrCat("'", c, "' applies the LED and is not a third country"));
        }
        break;
      default:
        break;
    }
  }

  void LegalBases() {
    absl::flat_hash_map<absl::string_view, int> first;
    for (int i = 0; i < r_.legal_bases_size(); ++i) {
      const auto& b = r_.legal_bases(i);
      const Path base = P({{"legal_bases", i}});
      if (b.code().empty()) {
        Add(Child(base, "code"), "missing");
      } else if (!IsRegistryCodeShaped(b.code())) {
        Add(Child(base, "code"), "use upper-case letters, digits and - / . _");
      } else if (auto [it, inserted] = first.emplace(b.code(), i); !inserted) {
        Add(Child(base, "code"), absl::StrCat("duplicate legal-basis code '", b.code(),
                                              "' (first at legal_bases[", it->second, "])"));
      }
      if (b.kinds().empty()) Add(Child(base, "kinds"), "empty: the basis would cover nothing");
      Enums<liaison::v1::Kind>(base, "kinds", b.kinds(), liaison::v1::Kind_IsValid, "kind");
      Parties(Child(base, "senders"), b.senders());
      Parties(Child(base, "recipients"), b.recipients());
      Validity(base, b.has_valid_from() ? &b.valid_from() : nullptr,
               b.has_valid_until() ? &b.valid_until() : nullptr, "valid_from", "valid_until");
    }
  }

  void Adequacy() {
    absl::flat_hash_map<absl::string_view, int> first;
    for (int i = 0; i < r_.adequacy_decisions_size(); ++i) {
      const auto& a = r_.adequacy_decisions(i);
      const Path base = P({{"adequacy_decisions", i}});
      if (a.ref().empty()) {
        Add(Child(base, "ref"), "missing");
      } else if (auto [it, inserted] = first.emplace(a.ref(), i); !inserted) {
        Add(Child(base, "ref"), absl::StrCat("duplicate ref '", a.ref(), "'"));
      }
      Country(Child(base, "country"), a.country());
      if (IsEuMemberState(a.country()) || IsSchengenAssociated(a.country())) {
        Add(Child(base, "country"),
            absl::StrCat("'", a.country(), "' applies the LED: adequacy is for third countries"));
      }
      Validity(base, a.has_valid_from() ? &a.valid_from() : nullptr,
               a.has_valid_until() ? &a.valid_until() : nullptr, "valid_from", "valid_until");
    }
  }

  void Safeguards() {
    absl::flat_hash_map<absl::string_view, int> first;
    for (int i = 0; i < r_.safeguards_size(); ++i) {
      const auto& s = r_.safeguards(i);
      const Path base = P({{"safeguards", i}});
      if (s.ref().empty()) {
        Add(Child(base, "ref"), "missing");
      } else if (auto [it, inserted] = first.emplace(s.ref(), i); !inserted) {
        Add(Child(base, "ref"), absl::StrCat("duplicate ref '", s.ref(), "'"));
      }
      if (s.kind() != liaison::v1::TRANSFER_KIND_SAFEGUARD_37A &&
          s.kind() != liaison::v1::TRANSFER_KIND_SAFEGUARD_37B) {
        Add(Child(base, "kind"),
            "must be TRANSFER_KIND_SAFEGUARD_37A or TRANSFER_KIND_SAFEGUARD_37B");
      }
      if (s.senders().empty()) Add(Child(base, "senders"), "empty");
      for (int k = 0; k < s.senders_size(); ++k)
        EndpointRef(Child(base, "senders", k), s.senders(k));
      if (s.recipients().empty()) Add(Child(base, "recipients"), "empty");
      for (int k = 0; k < s.recipients_size(); ++k) {
        EndpointRef(Child(base, "recipients", k), s.recipients(k));
        auto it = endpoints_.find(s.recipients(k));
        if (it != endpoints_.end() &&
            it->second->jurisdiction() != liaison::v1::JURISDICTION_THIRD_COUNTRY) {
          Add(Child(base, "recipients", k),
              absl::StrCat("'", s.recipients(k), "' is not a third-country endpoint"));
        }
      }
      if (s.entity_types().empty()) Add(Child(base, "entity_types"), "empty: covers nothing");
      Enums<liaison::v1::EntityType>(base, "entity_types", s.entity_types(),
                                     liaison::v1::EntityType_IsValid, "entity type");
      if (s.purposes().empty()) Add(Child(base, "purposes"), "empty: covers nothing");
      Enums<liaison::v1::Purpose>(base, "purposes", s.purposes(), liaison::v1::Purpose_IsValid,
                                  "purpose");
      Validity(base, s.has_valid_from() ? &s.valid_from() : nullptr,
               s.has_valid_until() ? &s.valid_until() : nullptr, "valid_from", "valid_until");
    }
  }

  void Jits() {
    absl::flat_hash_map<absl::string_view, int> first;
    for (int i = 0; i < r_.jits_size(); ++i) {
      const auto& j = r_.jits(i);
      const Path base = P({{"jits", i}});
      if (j.id().empty()) {
        Add(Child(base, "id"), "missing");
      } else if (auto [it, inserted] = first.emplace(j.id(), i); !inserted) {
        Add(Child(base, "id"), absl::StrCat("duplicate JIT id '", j.id(), "'"));
      }
      if (j.name().empty()) Add(Child(base, "name"), "missing");
      if (j.members_size() < 2)
        Add(Child(base, "members"), "a JIT needs at least two member endpoints");
      absl::flat_hash_set<absl::string_view> seen;
      for (int k = 0; k < j.members_size(); ++k) {
        EndpointRef(Child(base, "members", k), j.members(k));
        if (!seen.insert(j.members(k)).second) {
          Add(Child(base, "members", k), absl::StrCat("duplicate member '", j.members(k), "'"));
        }
      }
      if (!j.has_start()) Add(Child(base, "start"), "missing");
      if (!j.has_end()) Add(Child(base, "end"), "missing");
      if (j.has_start() && j.has_end()) Validity(base, &j.start(), &j.end(), "start", "end");
      for (int k = 0; k < j.extensions_size(); ++k) {
        const auto& x = j.extensions(k);
        const Path xp = Child(base, "extensions", k);
        if (!x.has_previous_end() || !x.has_new_end()) {
          Add(xp, "needs previous_end and new_end");
          continue;
        }
        Validity(xp, &x.previous_end(), &x.new_end(), "previous_end", "new_end");
        if (k > 0 && j.extensions(k - 1).has_new_end() &&
            liaison::FromProto(j.extensions(k - 1).new_end()) !=
                liaison::FromProto(x.previous_end())) {
          Add(Child(xp, "previous_end"), "does not continue from the previous extension's new_end");
        }
        if (j.has_start() &&
            liaison::FromProto(x.previous_end()) <= liaison::FromProto(j.start())) {
          Add(Child(xp, "previous_end"), "is not after the JIT's start");
        }
      }
      if (j.extensions_size() > 0 && j.has_end()) {
        const auto& last = j.extensions(j.extensions_size() - 1);
        if (last.has_new_end() &&
            liaison::FromProto(last.new_end()) != liaison::FromProto(j.end())) {
          Add(Child(base, "end"), "must equal the last extension's new_end");
        }
      }
    }
  }

  void Retention() {
    for (int i = 0; i < r_.retention_limits_size(); ++i) {
      const auto& l = r_.retention_limits(i);
      const Path base = P({{"retention_limits", i}});
      if (l.kind() == liaison::v1::KIND_UNSPECIFIED || !liaison::v1::Kind_IsValid(l.kind())) {
        Add(Child(base, "kind"), "missing or unknown");
      }
      Enums<liaison::v1::SubjectCategory>(base, "categories", l.categories(),
                                          liaison::v1::SubjectCategory_IsValid, "category");
      switch (l.limit_case()) {
        case liaison::v1::RetentionLimit::kMaxAge:
          PositiveDuration(Child(base, "max_age"), l.max_age());
          break;
        case liaison::v1::RetentionLimit::kAfterJitEnd:
          if (l.kind() != liaison::v1::KIND_EVIDENCE_MANIFEST) {
            Add(Child(base, "after_jit_end"), "only for KIND_EVIDENCE_MANIFEST");
          }
          if (l.after_jit_end().seconds() < 0)
            Add(Child(base, "after_jit_end"), "must not be negative");
          break;
        case liaison::v1::RetentionLimit::LIMIT_NOT_SET:
          Add(base, "set max_age or after_jit_end");
          break;
      }
    }
  }

  void Bulk() {
    for (int i = 0; i < r_.bulk_caps_size(); ++i) {
      const auto& b = r_.bulk_caps(i);
      const Path base = P({{"bulk_caps", i}});
      if (b.metric() == liaison::v1::VOLUME_METRIC_UNSPECIFIED ||
          !liaison::v1::VolumeMetric_IsValid(b.metric())) {
        Add(Child(base, "metric"), "missing or unknown");
      }
      if (!b.has_window()) {
        Add(Child(base, "window"), "missing");
      } else {
        PositiveDuration(Child(base, "window"), b.window());
      }
      if (b.cap() <= 0) Add(Child(base, "cap"), "must be positive");
      if (b.has_baseline_window()) {
        if (b.has_window() && Dur(b.baseline_window()) <= Dur(b.window())) {
          Add(Child(base, "baseline_window"), "must be longer than window");
        }
        if (b.baseline_factor() <= 0) Add(Child(base, "baseline_factor"), "must be positive");
      }
    }
  }

  void Derogation() {
    if (!r_.has_derogation_limits()) return;
    const auto& d = r_.derogation_limits();
    const Path base = P({{"derogation_limits", -1}});
    if (d.max_subjects() < 1) Add(Child(base, "max_subjects"), "must be at least 1");
    if (d.has_repeat_window()) {
      PositiveDuration(Child(base, "repeat_window"), d.repeat_window());
      if (d.max_transfers_per_window() < 1) {
        Add(Child(base, "max_transfers_per_window"), "must be at least 1 with a repeat_window");
      }
    }
  }

  void Restrictions() {
    absl::flat_hash_set<absl::string_view> seen;
    for (int i = 0; i < r_.restriction_codes_size(); ++i) {
      const std::string& c = r_.restriction_codes(i);
      if (!IsCodeShaped(c)) {
        Add(P({{"restriction_codes", i}}),
            "must be an upper-case code ([A-Z][A-Z0-9_]*, at most 32)");
      } else if (!seen.insert(c).second) {
        Add(P({{"restriction_codes", i}}), absl::StrCat("duplicate code '", c, "'"));
      }
    }
  }

  void Limits(const Path& base, const liaison::v1::EndpointLimits& l) {
    if (l.max_subscribe_streams() < 0)
      Add(Child(base, "max_subscribe_streams"), "must not be negative");
    if (l.max_send_streams() < 0) Add(Child(base, "max_send_streams"), "must not be negative");
    if (l.max_in_flight_bytes() < 0)
      Add(Child(base, "max_in_flight_bytes"), "must not be negative");
    if (l.max_explain_per_minute() < 0) {
      Add(Child(base, "max_explain_per_minute"), "must not be negative");
    }
  }

  void Timeouts() {
    if (r_.has_default_limits()) Limits(P({{"default_limits", -1}}), r_.default_limits());
    for (int i = 0; i < r_.endpoints_size(); ++i) {
      if (r_.endpoints(i).has_limits()) {
        Limits(Child(P({{"endpoints", i}}), "limits"), r_.endpoints(i).limits());
      }
    }
    if (r_.has_max_not_before()) PositiveDuration(P({{"max_not_before", -1}}), r_.max_not_before());
    if (r_.has_evidence_retention()) {
      // JIT evidence (docs/evidence.md, "Erasure"): at most Regulation
      // 2023/969's 4 weeks after the upload; a grace after the JIT's end.
      const auto& e = r_.evidence_retention();
      const Path base = P({{"evidence_retention", -1}});
      if (e.has_max_age()) {
        PositiveDuration(Child(base, "max_age"), e.max_age());
        if (Dur(e.max_age()) > absl::Hours(24 * 28)) {
          Add(Child(base, "max_age"), absl::StrCat("must be at most 28 days (2419200 s), not ",
                                                   e.max_age().seconds(), " s"));
        }
      }
      if (e.has_after_jit_end() &&
          (e.after_jit_end().seconds() < 0 || e.after_jit_end().nanos() < 0)) {
        Add(Child(base, "after_jit_end"), "must not be negative");
      }
    }
    if (r_.has_hold_timeouts()) {
      const auto& h = r_.hold_timeouts();
      const Path base = P({{"hold_timeouts", -1}});
      PositiveDuration(Child(base, "standard"), h.standard());
      PositiveDuration(Child(base, "urgent"), h.urgent());
      if (Dur(h.urgent()) > Dur(h.standard())) {
        Add(Child(base, "urgent"), "must not be longer than standard");
      }
    }
    if (r_.has_reply_deadlines()) {
      const auto& d = r_.reply_deadlines();
      const Path base = P({{"reply_deadlines", -1}});
      PositiveDuration(Child(base, "urgent_direct"), d.urgent_direct());
      PositiveDuration(Child(base, "urgent_indirect"), d.urgent_indirect());
      PositiveDuration(Child(base, "standard"), d.standard());
    }
  }

  void Allowlists() {
    for (int i = 0; i < r_.field_allowlists_size(); ++i) {
      const auto& a = r_.field_allowlists(i);
      const Path base = P({{"field_allowlists", i}});
      Enums<liaison::v1::Kind>(base, "kinds", a.kinds(), liaison::v1::Kind_IsValid, "kind");
      Enums<liaison::v1::Purpose>(base, "purposes", a.purposes(), liaison::v1::Purpose_IsValid,
                                  "purpose");
      Enums<liaison::v1::SubjectCategory>(base, "categories", a.categories(),
                                          liaison::v1::SubjectCategory_IsValid, "category");
      for (int k = 0; k < a.person_fields_size(); ++k) {
        if (liaison::v1::Person::descriptor()->FindFieldByName(a.person_fields(k)) == nullptr) {
          Add(Child(base, "person_fields", k),
              absl::StrCat("'", a.person_fields(k), "' is not a liaison.v1.Person field"));
        }
      }
    }
  }

  void Linkage() {
    if (!r_.has_linkage()) return;
    const auto& l = r_.linkage();
    const Path base = P({{"linkage", -1}});
    if (l.max_identifiers() < 1) Add(Child(base, "max_identifiers"), "must be at least 1");
    for (int i = 0; i < l.allowed_types_size(); ++i) {
      if (l.allowed_types(i) == liaison::v1::IDENTIFIER_TYPE_UNSPECIFIED) {
        Add(Child(base, "allowed_types", i), "IDENTIFIER_TYPE_UNSPECIFIED");
      } else if (!liaison::v1::IdentifierType_IsValid(l.allowed_types(i))) {
        // Text format and the wire accept any number for an open enum.
        Add(Child(base, "allowed_types", i), "unknown identifier type");
      } else if (l.allowed_types(i) == liaison::v1::IDENTIFIER_TYPE_PERSON_NAME) {
        Add(Child(base, "allowed_types", i),
            "IDENTIFIER_TYPE_PERSON_NAME is never allowed (cleartext names; use NAME_DOB)");
      }
    }
    absl::flat_hash_set<uint32_t> epochs;
    for (int i = 0; i < l.active_epochs_size(); ++i) {
      if (l.active_epochs(i) == 0) {
        Add(Child(base, "active_epochs", i), "epoch 0 does not exist (epochs start at 1)");
      } else if (!epochs.insert(l.active_epochs(i)).second) {
        Add(Child(base, "active_epochs", i), absl::StrCat("epoch ", l.active_epochs(i), " twice"));
      }
    }
    if (l.max_queries_per_day() < 0)
      Add(Child(base, "max_queries_per_day"), "must not be negative");
    if (l.max_entries_per_endpoint() < 0) {
      Add(Child(base, "max_entries_per_endpoint"), "must not be negative");
    }
  }

  void Shadow() {
    absl::flat_hash_set<absl::string_view> known;
    for (RuleId id : AllRuleIds()) known.insert(id.value());
    for (int i = 0; i < r_.shadow_rules_size(); ++i) {
      if (!known.contains(r_.shadow_rules(i))) {
        Add(P({{"shadow_rules", i}}), absl::StrCat("unknown rule id '", r_.shadow_rules(i), "'"));
      }
    }
  }

  const Registry& r_;
  absl::flat_hash_map<absl::string_view, const liaison::v1::Endpoint*> endpoints_;
  std::vector<RegistryProblem> problems_;
};

}  // namespace

std::string PathText(const RegistryProblem& p) {
  std::string out;
  for (const auto& [field, index] : p.path) {
    if (!out.empty()) out += '.';
    out += field;
    if (index >= 0) absl::StrAppend(&out, "[", index, "]");
  }
  return out;
}

std::vector<RegistryProblem> CheckRegistry(const Registry& r) { return Checker(r).Run(); }

}  // namespace liaison::policy::internal
