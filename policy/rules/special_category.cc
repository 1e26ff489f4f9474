#include "policy/rules/special_category.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

using liaison::v1::Entity;
using liaison::v1::Person;
using Step = RedactionStep;

struct Candidate {
  Step step;
  absl::string_view label;  // SpecialCategory name
};

absl::string_view FirstSpecial(const liaison::v1::FieldMeta& m) {
  for (int s : m.special()) {
    if (s != liaison::v1::SPECIAL_CATEGORY_UNSPECIFIED) {
      return internal::SpecialName(static_cast<liaison::v1::SpecialCategory>(s));
    }
  }
  return {};
}

const google::protobuf::Descriptor* EntityMessageType(const Entity& e) {
  const auto* f = Entity::descriptor()->FindFieldByNumber(static_cast<int>(e.kind_case()));
  return f == nullptr ? nullptr : f->message_type();
}

}  // namespace

Verdict SpecialCategoryRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body) return Verdict::NotApplicable();
  std::vector<Candidate> found;
  std::string bad_key;
  for (int i = 0; i < body->entities->size(); ++i) {
    const Entity& e = (*body->entities)[i];
    if (e.kind_case() == Entity::KIND_NOT_SET) continue;
    auto entity_path = [&] {
      return absl::StrCat(internal::EntityPath(*body, i), ".", EntityKindName(e));
    };
    if (const liaison::v1::FieldMeta* m = MetaOf(e); m != nullptr && !FirstSpecial(*m).empty()) {
      found.push_back(
          {Step{Step::Action::kRemoveEntity, i, 0, -1, internal::EntityPath(*body, i), {}},
           FirstSpecial(*m)});
      continue;
    }
    if (const auto* fm = FieldMetaOf(e); fm != nullptr) {
      for (const auto& [key, meta] : *fm) {
        if (FirstSpecial(meta).empty()) continue;
        const auto* f = EntityMessageType(e)->FindFieldByName(key);
        if (f == nullptr) {
          bad_key = absl::StrCat(kId.value(), ": a field_meta key of ", entity_path(),
                                 " names no field; special-category data cannot be located: "
                                 "key field_meta by a field name of the entity");
          continue;
        }
        found.push_back({Step{Step::Action::kClearField,
                              i,
                              f->number(),
                              -1,
                              absl::StrCat(entity_path(), ".", f->name()),
                              {}},
                         FirstSpecial(meta)});
      }
    }
    if (!e.has_person()) continue;
    const Person& p = e.person();
    for (int j = 0; j < p.attributes_size(); ++j) {
      if (!p.attributes(j).has_meta() || FirstSpecial(p.attributes(j).meta()).empty()) continue;
      found.push_back({Step{Step::Action::kRemoveAttribute,
                            i,
                            0,
                            j,
                            absl::StrCat(entity_path(), ".attributes[", j, "]"),
                            {}},
                       FirstSpecial(p.attributes(j).meta())});
    }
    if (!p.biometrics().empty()) {
      bool dna = false;
      for (const auto& b : p.biometrics())
        dna = dna || b.type() == liaison::v1::BIOMETRIC_TYPE_DNA_PROFILE;
      found.push_back({Step{Step::Action::kClearField,
                            i,
                            Person::kBiometricsFieldNumber,
                            -1,
                            absl::StrCat(entity_path(), ".biometrics"),
                            {}},
                       dna ? "GENETIC" : "BIOMETRIC"});
    }
  }
  for (int k = 0; k < body->links->size(); ++k) {
    const liaison::v1::Link& l = (*body->links)[k];
    if (!l.has_meta() || FirstSpecial(l.meta()).empty()) continue;
    found.push_back({Step{Step::Action::kRemoveLink,
                          -1,
                          0,
                          k,
                          absl::StrCat(body->prefix, ".links[", k, "]"),
                          {}},
                     FirstSpecial(l.meta())});
  }
  if (!bad_key.empty()) return Verdict::Reject(std::move(bad_key));
  if (found.empty()) return Verdict::NotApplicable();

  const liaison::v1::Header& h = in.message->header();
  absl::string_view why;
  const liaison::v1::LegalBasis* basis = nullptr;
  if (h.strict_necessity().empty()) {
    why = "no strict_necessity justification";
  } else if (h.special_basis().empty()) {
    why = "header.special_basis missing";
  } else if ((basis = in.registry->FindLegalBasis(h.special_basis())) == nullptr) {
    why = "header.special_basis is not a registered legal-basis code";
  } else if (!basis->allows_special_categories()) {
    why = "header.special_basis does not allow LED art 10 processing";
  }
  if (why.empty()) {
    return Verdict::Pass(absl::StrCat(kId.value(), ": ", found.size(),
                                      " special-category field(s) justified under ",
                                      basis->code()));
  }
  std::sort(found.begin(), found.end(),
            [](const Candidate& a, const Candidate& b) { return a.step.path < b.step.path; });
  std::string reason(kId.value());
  std::vector<RedactionStep> steps;
  for (size_t k = 0; k < found.size(); ++k) {
    absl::StrAppend(&reason, k == 0 ? ": " : ", ", found[k].step.path, " (", found[k].label, ")");
    steps.push_back(std::move(found[k].step));
  }
  absl::StrAppend(&reason, " redacted: ", why,
                  "; give header.strict_necessity and an art 10 basis in header.special_basis");
  return Verdict::Redact(std::move(steps), std::move(reason));
}

}  // namespace liaison::policy::rules
