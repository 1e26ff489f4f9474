#include "policy/registry.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/proto_time.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "policy/internal/registry_check.h"
#include "policy/internal/text.h"

namespace liaison::policy {
namespace {

using google::protobuf::TextFormat;

constexpr uint32_t Bit(int v) { return uint32_t{1} << v; }

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectErrors(std::string_view filename) : filename_(filename) {}
  void AddError(int line, google::protobuf::io::ColumnNumber /*column*/,
                const std::string& message) override {
    lines_.push_back(absl::StrCat(filename_, ":", line + 1, ": syntax error: ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber /*column*/,
                  const std::string& message) override {
    lines_.push_back(absl::StrCat(filename_, ":", line + 1, ": syntax error: ", message));
  }
  std::vector<std::string>& lines() { return lines_; }

 private:
  std::string filename_;
  std::vector<std::string> lines_;
};

// Maps (line, column) of the text back to offsets and finds the line of the
// i-th value of a repeated field. The parser records one location per field
// occurrence ("members: [a, b]" is one occurrence with two values), so the
// values of each occurrence are counted by scanning the text.
class TextIndex {
 public:
  explicit TextIndex(std::string_view text) : text_(text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }

  // 0-based line of each value held by the occurrence whose field name
  // starts at (line, column).
  std::vector<int> ValueLines(int line, int column) const {
    std::vector<int> lines;
    if (line < 0 || static_cast<size_t>(line) >= starts_.size()) return lines;
    size_t pos = starts_[line] + static_cast<size_t>(column);
    while (pos < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos])) ||
                                  text_[pos] == '_' || text_[pos] == '.')) {
      ++pos;
    }
    pos = SkipSpace(pos);
    if (pos < text_.size() && text_[pos] == ':') pos = SkipSpace(pos + 1);
    if (pos < text_.size() && text_[pos] == '[') {
      pos = SkipSpace(pos + 1);
      while (pos < text_.size() && text_[pos] != ']') {
        lines.push_back(LineAt(pos));
        pos = SkipSpace(SkipValue(pos));
        if (pos < text_.size() && text_[pos] == ',') pos = SkipSpace(pos + 1);
      }
    } else if (pos < text_.size()) {
      lines.push_back(LineAt(pos));
    }
    return lines;
  }

 private:
  int LineAt(size_t pos) const {
    return static_cast<int>(std::upper_bound(starts_.begin(), starts_.end(), pos) -
                            starts_.begin()) -
           1;
  }
  size_t SkipSpace(size_t pos) const {
    while (pos < text_.size()) {
      if (std::isspace(static_cast<unsigned char>(text_[pos]))) {
        ++pos;
      } else if (text_[pos] == '#') {
        while (pos < text_.size() && text_[pos] != '\n') ++pos;
      } else {
        break;
      }
    }
    return pos;
  }
  size_t SkipValue(size_t pos) const {
    int depth = 0;
    while (pos < text_.size()) {
      const char c = text_[pos];
      if (c == '"' || c == '\'') {
        for (++pos; pos < text_.size() && text_[pos] != c; ++pos) {
          if (text_[pos] == '\\') ++pos;
        }
        ++pos;
        if (depth == 0) return pos;
        continue;
      }
      if (c == '{' || c == '<') ++depth;
      if (c == '}' || c == '>') {
        if (--depth == 0) return pos + 1;
      }
      if (depth == 0 && (c == ',' || c == ']' || std::isspace(static_cast<unsigned char>(c)))) {
        return pos;
      }
      ++pos;
    }
    return pos;
  }

  std::string_view text_;
  std::vector<size_t> starts_;
};

// 0-based line of value `index` of repeated `field` in `tree`, or -1.
int RepeatedLine(const TextFormat::ParseInfoTree& tree,
                 const google::protobuf::FieldDescriptor* field, int index, const TextIndex& text) {
  int seen = 0;
  for (int occurrence = 0;; ++occurrence) {
    const auto loc = tree.GetLocation(field, occurrence);
    if (loc.line < 0) return -1;
    const std::vector<int> lines = text.ValueLines(loc.line, loc.column);
    if (index < seen + static_cast<int>(lines.size())) return lines[index - seen];
    seen += static_cast<int>(lines.size());
    if (lines.empty()) return loc.line;
  }
}

// 1-based line of the deepest element of `path` the parser recorded, or 0.
int LineOf(const TextFormat::ParseInfoTree& root, const TextIndex& text,
           const std::vector<std::pair<std::string, int>>& path) {
  const google::protobuf::Descriptor* desc = liaison::v1::Registry::descriptor();
  const TextFormat::ParseInfoTree* tree = &root;
  int best = -1;
  for (size_t i = 0; i < path.size() && tree != nullptr && desc != nullptr; ++i) {
    const google::protobuf::FieldDescriptor* f = desc->FindFieldByName(path[i].first);
    if (f == nullptr) break;
    int line = -1;
    if (!f->is_repeated()) {
      line = tree->GetLocation(f, -1).line;
    } else if (path[i].second >= 0) {
      line = RepeatedLine(*tree, f, path[i].second, text);
    } else {
      line = tree->GetLocation(f, 0).line;  // the field as a whole: its first occurrence
    }
    if (line < 0) break;
    best = line;
    if (f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE ||
        (f->is_repeated() && path[i].second < 0)) {
      break;
    }
    tree = tree->GetTreeForNested(f, f->is_repeated() ? path[i].second : -1);
    desc = f->message_type();
  }
  return best + 1;
}

// FNV-1a 64: a stable content hash (absl::Hash is seeded per process).
uint64_t Fnv1a(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string ContentVersion(const liaison::v1::Registry& proto) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    proto.SerializeToCodedStream(&coded);
  }
  return absl::StrCat(proto.version(), "+",
                      absl::StrFormat("%012x", Fnv1a(bytes) & 0xffffffffffffull));
}

template <typename T>
bool InRange(const T& item, absl::Time now) {
  if (item.has_valid_from() && now < liaison::FromProto(item.valid_from())) return false;
  if (item.has_valid_until() && now >= liaison::FromProto(item.valid_until())) return false;
  return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Registry>> Registry::Parse(std::string_view text,
                                                                std::string_view filename) {
  liaison::v1::Registry proto;
  TextFormat::ParseInfoTree tree;
  CollectErrors errors(filename);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  if (!parser.Parse(&input, &proto) || !errors.lines().empty()) {
    if (errors.lines().empty())
      errors.lines().push_back(absl::StrCat(internal::AV(filename), ": syntax error"));
    return absl::InvalidArgumentError(absl::StrJoin(errors.lines(), "\n"));
  }
  std::vector<internal::RegistryProblem> problems = internal::CheckRegistry(proto);
  if (!problems.empty()) {
    const TextIndex text_index(text);
    std::vector<std::string> lines;
    lines.reserve(problems.size());
    for (const auto& p : problems) {
      const int line = LineOf(tree, text_index, p.path);
      lines.push_back(line > 0 ? absl::StrCat(internal::AV(filename), ":", line, ": field ",
                                              internal::PathText(p), ": ", p.message)
                               : absl::StrCat(internal::AV(filename), ": field ",
                                              internal::PathText(p), ": ", p.message));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  std::shared_ptr<Registry> r(new Registry(std::move(proto)));
  r->BuildIndexes();
  return std::shared_ptr<const Registry>(std::move(r));
}

absl::StatusOr<std::shared_ptr<const Registry>> Registry::FromProto(liaison::v1::Registry proto,
                                                                    std::string_view source_name) {
  std::vector<internal::RegistryProblem> problems = internal::CheckRegistry(proto);
  if (!problems.empty()) {
    std::vector<std::string> lines;
    for (const auto& p : problems) {
      lines.push_back(absl::StrCat(internal::AV(source_name), ": field ", internal::PathText(p),
                                   ": ", p.message));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }
  std::shared_ptr<Registry> r(new Registry(std::move(proto)));
  r->BuildIndexes();
  return std::shared_ptr<const Registry>(std::move(r));
}

Registry::Registry(liaison::v1::Registry proto) : proto_(std::move(proto)) {}

void Registry::BuildIndexes() {
  version_ = ContentVersion(proto_);
  for (const auto& e : proto_.endpoints()) {
    EndpointEntry entry;
    entry.endpoint = &e;
    for (int r : e.roles()) entry.roles |= r > 0 && r < 32 ? Bit(r) : 0;
    for (int p : e.accepted_purposes()) entry.purposes |= p > 0 && p < 32 ? Bit(p) : 0;
    endpoints_.emplace(e.id(), entry);
  }
  for (const auto& b : proto_.legal_bases()) bases_.emplace(b.code(), &b);
  for (const auto& a : proto_.adequacy_decisions()) adequacy_[a.country()].push_back(&a);
  for (const auto& s : proto_.safeguards()) safeguards_.emplace(s.ref(), &s);
  for (const auto& j : proto_.jits()) {
    jits_.emplace(j.id(), &j);
    for (const auto& c : j.case_refs()) jits_by_case_[c].push_back(&j);
  }
  retention_by_kind_.resize(liaison::v1::Kind_ARRAYSIZE);
  for (const auto& l : proto_.retention_limits()) {
    if (l.kind() > 0 && l.kind() < liaison::v1::Kind_ARRAYSIZE) {
      retention_by_kind_[l.kind()].push_back(&l);
    }
  }
  for (const auto& c : proto_.restriction_codes()) restriction_codes_.insert(c);

  // DP-MIN-01 table: most specific matching entries win, equals are united.
  constexpr int kKinds = liaison::v1::Kind_ARRAYSIZE;
  constexpr int kPurposes = liaison::v1::Purpose_ARRAYSIZE;
  constexpr int kCategories = liaison::v1::SubjectCategory_ARRAYSIZE;
  allow_.assign(static_cast<size_t>(kKinds) * kPurposes * kCategories, AllowCell{});
  for (const auto& a : proto_.field_allowlists()) {
    const int specificity = (a.kinds().empty() ? 0 : 1) + (a.purposes().empty() ? 0 : 1) +
                            (a.categories().empty() ? 0 : 1);
    uint32_t fields = 0;
    for (const auto& name : a.person_fields()) {
      const auto* f = liaison::v1::Person::descriptor()->FindFieldByName(name);
      if (f != nullptr && f->number() < 32) fields |= Bit(f->number());
    }
    for (int k = 1; k < kKinds; ++k) {
      if (!a.kinds().empty() && absl::c_find(a.kinds(), k) == a.kinds().end()) continue;
      for (int p = 1; p < kPurposes; ++p) {
        if (!a.purposes().empty() && absl::c_find(a.purposes(), p) == a.purposes().end()) continue;
        for (int c = 1; c < kCategories; ++c) {
          if (!a.categories().empty() && absl::c_find(a.categories(), c) == a.categories().end()) {
            continue;
          }
          AllowCell& cell = allow_[(static_cast<size_t>(k) * kPurposes + p) * kCategories + c];
          if (specificity > cell.specificity) {
            cell.specificity = specificity;
            cell.fields = fields;
          } else if (specificity == cell.specificity) {
            cell.fields |= fields;
          }
        }
      }
    }
  }

  if (proto_.has_derogation_limits()) {
    const auto& d = proto_.derogation_limits();
    derogation_.max_subjects = d.max_subjects();
    if (d.has_repeat_window()) {
      derogation_.repeat_window =
          absl::Seconds(d.repeat_window().seconds()) + absl::Nanoseconds(d.repeat_window().nanos());
      derogation_.max_transfers_per_window = d.max_transfers_per_window();
    }
  }
  auto dur = [](const google::protobuf::Duration& d) {
    return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  };
  if (proto_.has_reply_deadlines()) {
    const auto& d = proto_.reply_deadlines();
    deadlines_.urgent_direct = dur(d.urgent_direct());
    deadlines_.urgent_indirect = dur(d.urgent_indirect());
    deadlines_.standard = dur(d.standard());
  }
  if (proto_.has_max_not_before()) max_not_before_ = dur(proto_.max_not_before());
  if (proto_.evidence_retention().has_max_age()) {
    evidence_max_age_ = dur(proto_.evidence_retention().max_age());
  }
  evidence_after_jit_end_ = dur(proto_.evidence_retention().after_jit_end());
  if (proto_.has_hold_timeouts()) {
    hold_standard_ = dur(proto_.hold_timeouts().standard());
    hold_urgent_ = dur(proto_.hold_timeouts().urgent());
  }
  if (proto_.has_linkage()) {
    max_linkage_identifiers_ = proto_.linkage().max_identifiers();
    // CheckRegistry refuses unknown types; the bound keeps the shift defined.
    for (int t : proto_.linkage().allowed_types()) linkage_types_ |= t > 0 && t < 32 ? Bit(t) : 0;
    if (proto_.linkage().active_epochs_size() > 0) {
      linkage_epochs_.assign(proto_.linkage().active_epochs().begin(),
                             proto_.linkage().active_epochs().end());
      std::sort(linkage_epochs_.begin(), linkage_epochs_.end());
    }
    if (proto_.linkage().max_queries_per_day() > 0) {
      max_linkage_queries_per_day_ = proto_.linkage().max_queries_per_day();
    }
    if (proto_.linkage().max_entries_per_endpoint() > 0) {
      max_linkage_entries_ = proto_.linkage().max_entries_per_endpoint();
    }
  } else {
    for (int t : {liaison::v1::IDENTIFIER_TYPE_PHONE, liaison::v1::IDENTIFIER_TYPE_IBAN,
                  liaison::v1::IDENTIFIER_TYPE_VIN, liaison::v1::IDENTIFIER_TYPE_DOC_NUMBER,
                  liaison::v1::IDENTIFIER_TYPE_NAME_DOB, liaison::v1::IDENTIFIER_TYPE_EMAIL,
                  liaison::v1::IDENTIFIER_TYPE_VEHICLE_PLATE}) {
      linkage_types_ |= Bit(t);
    }
  }
  for (const auto& s : proto_.shadow_rules()) shadow_rules_.insert(s);
}

const liaison::v1::Endpoint* Registry::FindEndpoint(std::string_view id) const {
  const EndpointEntry* e = FindEntry(internal::AV(id));
  return e == nullptr ? nullptr : e->endpoint;
}

const EndpointEntry* Registry::FindEntry(absl::string_view id) const {
  auto it = endpoints_.find(id);
  return it == endpoints_.end() ? nullptr : &it->second;
}

const liaison::v1::LegalBasis* Registry::FindLegalBasis(absl::string_view code) const {
  auto it = bases_.find(code);
  return it == bases_.end() ? nullptr : it->second;
}

bool Registry::Contains(const liaison::v1::PartySet& set, const EndpointEntry& party) {
  for (const auto& e : set.endpoints()) {
    if (e == party.id()) return true;
  }
  for (const auto& c : set.countries()) {
    if (c == party.country()) return true;
  }
  for (int j : set.jurisdictions()) {
    if (j == party.endpoint->jurisdiction()) return true;
  }
  return false;
}

bool Registry::Covers(const liaison::v1::LegalBasis& basis, const EndpointEntry& sender,
                      const EndpointEntry& recipient, liaison::v1::Kind kind, absl::Time now) {
  if (absl::c_find(basis.kinds(), kind) == basis.kinds().end()) return false;
  if (!InRange(basis, now)) return false;
  if (Contains(basis.senders(), sender) && Contains(basis.recipients(), recipient)) return true;
  return basis.both_directions() && Contains(basis.senders(), recipient) &&
         Contains(basis.recipients(), sender);
}

const liaison::v1::AdequacyDecision* Registry::FindAdequacy(absl::string_view country,
                                                            absl::Time now) const {
  auto it = adequacy_.find(country);
  if (it == adequacy_.end()) return nullptr;
  for (const auto* a : it->second) {
    if (InRange(*a, now)) return a;
  }
  return nullptr;
}

const liaison::v1::Safeguard* Registry::FindSafeguard(absl::string_view ref) const {
  auto it = safeguards_.find(ref);
  return it == safeguards_.end() ? nullptr : it->second;
}

const liaison::v1::Jit* Registry::FindJit(absl::string_view id) const {
  auto it = jits_.find(id);
  return it == jits_.end() ? nullptr : it->second;
}

absl::Span<const liaison::v1::Jit* const> Registry::JitsForCase(absl::string_view case_ref) const {
  if (case_ref.empty()) return {};
  auto it = jits_by_case_.find(case_ref);
  if (it == jits_by_case_.end()) return {};
  return it->second;
}

const liaison::v1::Jit* Registry::EstablishedJit(absl::string_view case_ref,
                                                 absl::string_view sender, absl::Time now,
                                                 absl::string_view claimed) const {
  const liaison::v1::Jit* first = nullptr;
  for (const liaison::v1::Jit* j : JitsForCase(case_ref)) {
    if (!IsValidAt(*j, now) || !IsMember(*j, sender)) continue;
    if (!claimed.empty() && j->id() == claimed) return j;
    if (first == nullptr) first = j;
  }
  return first;
}

bool Registry::IsMember(const liaison::v1::Jit& jit, absl::string_view endpoint) {
  for (const auto& m : jit.members()) {
    if (m == endpoint) return true;
  }
  return false;
}

bool Registry::IsValidAt(const liaison::v1::Jit& jit, absl::Time now) {
  return jit.has_start() && jit.has_end() && liaison::FromProto(jit.start()) <= now &&
         now < liaison::FromProto(jit.end());
}

absl::Span<const liaison::v1::RetentionLimit* const> Registry::RetentionLimitsFor(
    liaison::v1::Kind kind) const {
  if (kind <= 0 || static_cast<size_t>(kind) >= retention_by_kind_.size()) return {};
  return retention_by_kind_[kind];
}

liaison::v1::EndpointLimits Registry::DefaultLimits() {
  liaison::v1::EndpointLimits out;
  out.set_max_subscribe_streams(4);
  out.set_max_send_streams(4);
  out.set_max_in_flight_bytes(int64_t{64} << 20);
  out.set_max_explain_per_minute(60);
  return out;
}

liaison::v1::EndpointLimits Registry::LimitsFor(absl::string_view endpoint) const {
  liaison::v1::EndpointLimits out = DefaultLimits();
  auto apply = [&out](const liaison::v1::EndpointLimits& l) {
    if (l.max_subscribe_streams() > 0) out.set_max_subscribe_streams(l.max_subscribe_streams());
    if (l.max_send_streams() > 0) out.set_max_send_streams(l.max_send_streams());
    if (l.max_in_flight_bytes() > 0) out.set_max_in_flight_bytes(l.max_in_flight_bytes());
    if (l.max_explain_per_minute() > 0) out.set_max_explain_per_minute(l.max_explain_per_minute());
  };
  apply(proto_.default_limits());
  if (const liaison::v1::Endpoint* e =
          FindEndpoint(std::string_view(endpoint.data(), endpoint.size()))) {
    apply(e->limits());
  }
  return out;
}

absl::Duration Registry::HoldTimeout(liaison::v1::Urgency urgency) const {
  return urgency == liaison::v1::URGENCY_URGENT ? hold_urgent_ : hold_standard_;
}

bool Registry::IsKnownRestriction(absl::string_view code) const {
  return restriction_codes_.contains(code);
}

std::optional<uint32_t> Registry::AllowedPersonFields(liaison::v1::Kind kind,
                                                      liaison::v1::Purpose purpose,
                                                      liaison::v1::SubjectCategory category) const {
  constexpr int kPurposes = liaison::v1::Purpose_ARRAYSIZE;
  constexpr int kCategories = liaison::v1::SubjectCategory_ARRAYSIZE;
  if (kind <= 0 || kind >= liaison::v1::Kind_ARRAYSIZE || purpose <= 0 || purpose >= kPurposes ||
      category <= 0 || category >= kCategories) {
    return std::nullopt;
  }
  const AllowCell& cell =
      allow_[(static_cast<size_t>(kind) * kPurposes + purpose) * kCategories + category];
  if (cell.specificity < 0) return std::nullopt;
  return cell.fields;
}

absl::Status Registry::CheckLinkageEpoch(uint32_t epoch) const {
  if (std::binary_search(linkage_epochs_.begin(), linkage_epochs_.end(), epoch)) {
    return absl::OkStatus();
  }
  const std::string in_force = absl::StrJoin(linkage_epochs_, ", ");
  if (epoch < linkage_epochs_.back()) {
    return absl::FailedPreconditionError(
        absl::StrCat("linkage epoch ", epoch, " is retired (in force: ", in_force, ")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("linkage epoch ", epoch, " is not in force yet (in force: ", in_force, ")"));
}

bool Registry::LinkageTypeAllowed(liaison::v1::IdentifierType type) const {
  return type > 0 && type < 32 && (linkage_types_ & Bit(type)) != 0;
}

}  // namespace liaison::policy
