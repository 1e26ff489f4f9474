#include "policy/rules/data_quality.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

// `path` builds the field path; called only when there is a problem.
template <typename PathFn>
void CheckMeta(const liaison::v1::FieldMeta* meta, const liaison::v1::Evaluation& fallback,
               PathFn path, std::vector<std::string>& problems) {
  if (meta == nullptr || meta->basis() == liaison::v1::INFO_BASIS_UNSPECIFIED) {
    problems.push_back(absl::StrCat(path(), " lacks basis (FACT or ASSESSMENT)"));
  }
  const liaison::v1::Evaluation& own =
      meta != nullptr && meta->has_evaluation() ? meta->evaluation() : fallback;
  const auto reliability = own.reliability() != liaison::v1::RELIABILITY_UNSPECIFIED
                               ? own.reliability()
                               : fallback.reliability();
  const auto accuracy =
      own.accuracy() != liaison::v1::ACCURACY_UNSPECIFIED ? own.accuracy() : fallback.accuracy();
  if (reliability == liaison::v1::RELIABILITY_UNSPECIFIED) {
    problems.push_back(absl::StrCat(path(), " lacks evaluation.reliability (A/B/C/X)"));
  }
  if (accuracy == liaison::v1::ACCURACY_UNSPECIFIED) {
    problems.push_back(absl::StrCat(path(), " lacks evaluation.accuracy (1-4)"));
  }
  if (meta != nullptr && meta->basis() == liaison::v1::INFO_BASIS_ASSESSMENT &&
      meta->assessed_by().empty()) {
    problems.push_back(absl::StrCat(path(), " is an ASSESSMENT without assessed_by"));
  }
}

bool AssessmentWithoutAssessor(const liaison::v1::FieldMeta& m) {
  return m.basis() == liaison::v1::INFO_BASIS_ASSESSMENT && m.assessed_by().empty();
}

}  // namespace

Verdict DataQualityRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body || (body->entities->empty() && body->links->empty())) return Verdict::NotApplicable();
  const liaison::v1::Evaluation& fallback = in.message->header().default_evaluation();
  std::vector<std::string> problems;
  for (int i = 0; i < body->entities->size(); ++i) {
    const liaison::v1::Entity& e = (*body->entities)[i];
    CheckMeta(
        MetaOf(e), fallback,
        [&] {
          return absl::StrCat(internal::EntityPath(*body, i), ".", EntityKindName(e), ".meta");
        },
        problems);
    if (const auto* fm = FieldMetaOf(e); fm != nullptr) {
      for (const auto& [key, meta] : *fm) {
        if (AssessmentWithoutAssessor(meta)) {
          problems.push_back(absl::StrCat(internal::EntityPath(*body, i), ".", EntityKindName(e),
                                          ".field_meta has an ASSESSMENT without assessed_by"));
          break;
        }
      }
    }
    if (e.has_person()) {
      for (int j = 0; j < e.person().attributes_size(); ++j) {
        if (AssessmentWithoutAssessor(e.person().attributes(j).meta())) {
          problems.push_back(absl::StrCat(internal::PersonPath(*body, i), ".attributes[", j,
                                          "].meta is an ASSESSMENT without assessed_by"));
        }
      }
    }
  }
  for (int k = 0; k < body->links->size(); ++k) {
    const liaison::v1::Link& l = (*body->links)[k];
    CheckMeta(
        l.has_meta() ? &l.meta() : nullptr, fallback,
        [&] { return absl::StrCat(body->prefix, ".links[", k, "].meta"); }, problems);
  }
  if (problems.empty()) return Verdict::Pass();
  return Verdict::Reject(absl::StrCat(kId.value(), ": ", JoinProblems(problems),
                                      "; state FACT/ASSESSMENT and A/B/C/X + 1-4 for every entity "
                                      "and link (or header.default_evaluation)"));
}

}  // namespace liaison::policy::rules
