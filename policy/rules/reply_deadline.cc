#include "policy/rules/reply_deadline.h"
#include "absl/strings/string_view.h"

#include "absl/strings/str_cat.h"
#include "policy/internal/text.h"
#include "policy/registry.h"

namespace liaison::policy::rules {

Verdict ReplyDeadlineRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  const bool request = h.kind() == liaison::v1::KIND_FOLLOWUP_REQUEST ||
                       (h.kind() == liaison::v1::KIND_INFO_EXCHANGE && h.in_reply_to().empty() &&
                        h.access_kind() != liaison::v1::ACCESS_KIND_UNSPECIFIED);
  if (!request) return Verdict::NotApplicable();
  const DeadlinePolicy& d = in.registry->deadlines();
  absl::Duration limit = d.standard;
  absl::string_view basis = "not urgent";
  if (h.urgency() == liaison::v1::URGENCY_URGENT) {
    if (h.access_kind() == liaison::v1::ACCESS_KIND_INDIRECT) {
      limit = d.urgent_indirect;
      basis = "URGENT, INDIRECT";
    } else if (h.access_kind() == liaison::v1::ACCESS_KIND_DIRECT) {
      limit = d.urgent_direct;
      basis = "URGENT, DIRECT";
    } else {
      limit = d.urgent_direct;
      basis = "URGENT, access_kind missing: DIRECT assumed";
    }
  }
  const absl::Time due = in.now + limit;
  Verdict v = Verdict::Pass(absl::StrCat(kId.value(), ": reply due ", internal::FormatMinute(due),
                                         " (", basis, ": ", internal::FormatDuration(limit), ")"));
  v.reply_due = due;
  return v;
}

}  // namespace liaison::policy::rules
