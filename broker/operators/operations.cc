#include "broker/operators/operations.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace liaison::broker {
namespace {

std::string WithoutPrefix(const std::string& name, absl::string_view prefix) {
  if (absl::StartsWith(name, prefix)) return name.substr(prefix.size());
  return name;
}

const char* TypeLabel(bool is_delivery) { return is_delivery ? "delivery" : "notice_or_receipt"; }

}  // namespace

std::string KindLabel(liaison::v1::Kind kind) {
  return WithoutPrefix(liaison::v1::Kind_Name(kind), "KIND_");
}

std::string OutcomeLabel(liaison::v1::Outcome outcome) {
  return WithoutPrefix(liaison::v1::Outcome_Name(outcome), "OUTCOME_");
}

std::string CodeLabel(absl::StatusCode code) {
  return absl::AsciiStrToUpper(absl::StatusCodeToString(code));
}

Operations::Operations(const Clock* clock, Observer* also) : also_(also), flows_(clock) {}

void Operations::OnSend(const std::string& sender, absl::StatusCode code, bool duplicate,
                        size_t bytes) {
  if (code != absl::StatusCode::kOk) {
    rejected_.Add({CodeLabel(code)});
  } else if (duplicate) {
    duplicates_.Add({sender});
  } else {
    accepted_.Add({sender});
    accepted_bytes_.Add({sender}, static_cast<int64_t>(bytes));
  }
  if (also_ != nullptr) also_->OnSend(sender, code, duplicate, bytes);
}

void Operations::OnIngressProduce(absl::Duration latency, bool ok) {
  produce_.Observe({ok ? "ok" : "error"}, absl::ToDoubleSeconds(latency));
  if (also_ != nullptr) also_->OnIngressProduce(latency, ok);
}

void Operations::OnFlow(const FlowEvent& event) {
  const std::string outcome = OutcomeLabel(event.outcome);
  decisions_.Add({KindLabel(event.kind), outcome, std::string(FlowStepLabel(event.step))});
  for (const std::string& rule : event.rule_ids) rule_hits_.Add({rule, outcome});
  flows_total_.Add({event.sender, event.recipient, outcome});
  if (event.step == FlowStep::kDecided && event.accepted_at != absl::Time() &&
      event.decided_at != absl::Time()) {
    decision_.Observe({},
                      std::max(0.0, absl::ToDoubleSeconds(event.decided_at - event.accepted_at)));
  }
  flows_.Add(event);
  if (also_ != nullptr) also_->OnFlow(event);
}

void Operations::OnDelivered(const std::string& endpoint, bool is_delivery) {
  pushed_.Add({endpoint, TypeLabel(is_delivery)});
  if (also_ != nullptr) also_->OnDelivered(endpoint, is_delivery);
}

void Operations::OnAcknowledged(const std::string& endpoint, bool is_delivery,
                                absl::Duration since_accepted) {
  acked_.Add({endpoint, TypeLabel(is_delivery)});
  if (is_delivery && since_accepted > absl::ZeroDuration()) {
    end_to_end_.Observe({}, absl::ToDoubleSeconds(since_accepted));
  }
  if (also_ != nullptr) also_->OnAcknowledged(endpoint, is_delivery, since_accepted);
}

void Operations::OnLoss(LossSource source, int64_t records) {
  lost_.Add({std::string(LossSourceLabel(source))}, records);
  if (also_ != nullptr) also_->OnLoss(source, records);
}

void Operations::OnRpc(const std::string& method, absl::StatusCode code) {
  rpcs_.Add({method, CodeLabel(code)});
  if (also_ != nullptr) also_->OnRpc(method, code);
}

void Operations::OnStateRecordSkipped(const std::string& topic) {
  skipped_.Add({topic});
  if (also_ != nullptr) also_->OnStateRecordSkipped(topic);
}

void Operations::OnCommitFailed(const std::string& group) {
  commit_failures_.Add({group});
  if (also_ != nullptr) also_->OnCommitFailed(group);
}

void Operations::OnEvidenceChunkDeletion(const std::string& outcome, int64_t records) {
  chunk_deletions_.Add({outcome});
  if (records > 0) chunk_records_deleted_.Add({}, records);
  if (also_ != nullptr) also_->OnEvidenceChunkDeletion(outcome, records);
}

void Operations::OnHttp(const std::string& handler, int status) {
  http_.Add({handler, std::to_string(status)});
}

void Operations::Render(MetricsText& out) const {
  accepted_.Render(out);
  accepted_bytes_.Render(out);
  duplicates_.Render(out);
  rejected_.Render(out);
  decisions_.Render(out);
  rule_hits_.Render(out);
  flows_total_.Render(out);
  pushed_.Render(out);
  acked_.Render(out);
  lost_.Render(out);
  skipped_.Render(out);
  commit_failures_.Render(out);
  chunk_deletions_.Render(out);
  chunk_records_deleted_.Render(out);
  rpcs_.Render(out);
  http_.Render(out);
  end_to_end_.Render(out);
  decision_.Render(out);
  produce_.Render(out);
}

}  // namespace liaison::broker
