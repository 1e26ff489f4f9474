#include "policy/rules/expiry.h"
#include "absl/strings/string_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "policy/internal/text.h"
#include "policy/retention.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict ExpiryRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (!h.retention().has_erase_by()) {
    return Verdict::Reject(
        absl::StrCat(kId.value(),
                     ": header.retention.erase_by missing: expiry cannot be checked; "
                     "set header.retention.erase_by (liaison send --erase-in)"));
  }
  const EraseTime e = EraseBy(h);
  const absl::Time erase = e.at;
  const absl::string_view source(e.source.data(), e.source.size());
  if (in.now < erase) return Verdict::Pass();
  return Verdict::Reject(absl::StrCat(
      kId.value(), ": ", internal::MessageIdForText(h.message_id()), " expired before delivery to ",
      EndpointText(in, Recipient(in)), " (", source, " ", internal::FormatMinute(erase),
      "); it may not be delivered after that: if the data may "
      "still be kept, the sender re-sends it with a later erase_by"));
}

}  // namespace liaison::policy::rules
