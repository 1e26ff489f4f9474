#include "policy/rules/bulk_volume.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/counters.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

absl::string_view MetricText(liaison::v1::VolumeMetric m) {
  switch (m) {
    case liaison::v1::VOLUME_METRIC_PERSONS:
      return "persons";
    case liaison::v1::VOLUME_METRIC_QUERIES:
      return "queries";
    case liaison::v1::VOLUME_METRIC_BYTES:
      return "bytes";
    default:
      return "units";
  }
}

Metric ToMetric(liaison::v1::VolumeMetric m) {
  switch (m) {
    case liaison::v1::VOLUME_METRIC_QUERIES:
      return Metric::kQueries;
    case liaison::v1::VOLUME_METRIC_BYTES:
      return Metric::kBytes;
    default:
      return Metric::kPersons;
  }
}

absl::Duration FromDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

Verdict BulkVolumeRule::Check(const Input& in) const {
  const auto& caps = in.registry->proto().bulk_caps();
  if (caps.empty()) return FailClosed(kId, "no bulk caps registered");
  if (in.counters == nullptr) return FailClosed(kId, "no volume counters supplied");
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  const liaison::v1::Header& h = in.message->header();
  const Usage usage = UsageOf(*in.message, in.message_bytes, liaison::v1::TRANSFER_KIND_NONE);
  std::string exceeded;
  for (const liaison::v1::BulkCap& cap : caps) {
    const Metric metric = ToMetric(cap.metric());
    const int64_t add = usage.get(metric);
    if (add == 0) continue;
    const absl::Duration window = FromDuration(cap.window());
    const int64_t sum = in.counters->Sum(h.sender(), in.recipient, metric, window, in.now) + add;
    const absl::string_view unit = MetricText(cap.metric());
    if (sum > cap.cap()) {
      absl::StrAppend(&exceeded, exceeded.empty() ? "" : "; ", Pair(p), " volume ", sum, " ", unit,
                      "/", internal::FormatDuration(window), " exceeds cap ", cap.cap());
      continue;
    }
    if (cap.has_baseline_window()) {
      const absl::Duration base_window = FromDuration(cap.baseline_window());
      const int64_t base = in.counters->Sum(h.sender(), in.recipient, metric, base_window, in.now);
      const double expected = static_cast<double>(base) * (window / base_window);
      const double threshold =
          std::max(static_cast<double>(cap.baseline_floor()), cap.baseline_factor() * expected);
      if (static_cast<double>(sum) > threshold) {
        absl::StrAppend(&exceeded, exceeded.empty() ? "" : "; ", Pair(p), " volume ", sum, " ",
                        unit, "/", internal::FormatDuration(window), " exceeds ",
                        cap.baseline_factor(), "x its baseline");
      }
    }
  }
  if (exceeded.empty()) return Verdict::Pass();
  const ConsentState c = MessageConsent(in, liaison::v1::CONSENT_KIND_DPO_REVIEW, kAwaitingDpo);
  if (c == ConsentState::kGranted) {
    return Verdict::Pass(absl::StrCat(kId.value(), ": ", exceeded, "; released by DPO review"));
  }
  if (c == ConsentState::kRefused) {
    return Verdict::Reject(absl::StrCat(kId.value(), ": ", exceeded,
                                        "; refused by DPO review: "
                                        "narrow the request to the persons the case needs"));
  }
  return Verdict::Hold(std::string(kAwaitingDpo), liaison::v1::CONSENT_KIND_DPO_REVIEW,
                       absl::StrCat(kId.value(), ": ", exceeded,
                                    "; held for review: a DPO review "
                                    "(CONSENT_KIND_DPO_REVIEW) releases or refuses it"));
}

}  // namespace liaison::policy::rules
