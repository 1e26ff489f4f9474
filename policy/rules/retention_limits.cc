#include "policy/rules/retention_limits.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "policy/internal/message_view.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

uint32_t MessageCategories(const liaison::v1::Message& m) {
  uint32_t mask = 0;
  if (std::optional<internal::EntityBody> body = internal::EntityBodyOf(m)) {
    for (const auto& e : *body->entities) {
      if (e.has_person()) mask |= internal::CategoryMask(e.person());
    }
  }
  return mask;
}

absl::Duration FromDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

Verdict RetentionLimitsRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  const liaison::v1::Retention& r = h.retention();
  if (!r.has_review_by() || !r.has_erase_by()) {
    return Verdict::Reject(absl::StrCat(
        kId.value(), ": ",
        !r.has_review_by() && !r.has_erase_by() ? "header.retention.review_by and erase_by are"
        : !r.has_review_by()                    ? "header.retention.review_by is"
                                                : "header.retention.erase_by is",
        " missing; every message needs review and erasure limits (LED art 5): set both "
        "(liaison send --review-in and --erase-in)"));
  }
  const absl::Time review_by = FromProto(r.review_by());
  const absl::Time erase_by = FromProto(r.erase_by());
  if (review_by > erase_by) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": header.retention.review_by is after erase_by; "
                                        "set review_by on or before erase_by"));
  }
  const uint32_t categories = MessageCategories(*in.message);
  const absl::Time base = h.has_created_at() ? FromProto(h.created_at()) : in.now;
  absl::Time bound = absl::InfiniteFuture();
  std::string limit_text;
  bool any = false;
  for (const liaison::v1::RetentionLimit* l : in.registry->RetentionLimitsFor(h.kind())) {
    bool matches = l->categories().empty();
    for (int c : l->categories()) matches = matches || (categories & internal::Bit(c)) != 0;
    if (!matches) continue;
    any = true;
    absl::Time b;
    std::string text;
    if (l->has_after_jit_end()) {
      absl::string_view jit_id = h.jit_id();
      if (in.message->has_evidence_manifest() &&
          !in.message->evidence_manifest().jit_id().empty()) {
        jit_id = in.message->evidence_manifest().jit_id();
      }
      const liaison::v1::Jit* jit = in.registry->FindJit(jit_id);
      if (jit == nullptr) {
        return FailClosed(kId,
                          "the retention limit of this kind counts from a JIT's end, and the "
                          "message names no registered JIT");
      }
      b = FromProto(jit->end()) + FromDuration(l->after_jit_end());
      text = absl::StrCat(jit->id(), " end + ",
                          internal::FormatDuration(FromDuration(l->after_jit_end())), " (",
                          internal::FormatDay(b), ")");
    } else {
      b = base + FromDuration(l->max_age());
      text = internal::FormatDuration(FromDuration(l->max_age()));
    }
    if (b < bound) {
      bound = b;
      limit_text = std::move(text);
    }
  }
  if (!any) {
    return FailClosed(
        kId, absl::StrCat("no retention maximum registered for ", internal::KindName(h.kind()),
                          " in registry ", in.registry->version()));
  }
  if (erase_by > bound) {
    return Verdict::Reject(absl::StrCat(kId.value(), ": header.retention.erase_by exceeds ",
                                        limit_text, " for ", internal::KindName(h.kind()),
                                        "; set erase_by at or before ",
                                        internal::FormatMinute(bound)));
  }
  return Verdict::Pass();
}

}  // namespace liaison::policy::rules
