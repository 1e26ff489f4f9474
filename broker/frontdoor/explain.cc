#include "broker/frontdoor/explain.h"

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "base/safe_text.h"
#include "base/uuid.h"
#include "broker/frontdoor/validate.h"

namespace liaison::broker {

absl::StatusOr<liaison::v1::ExplainResponse> Explainer::Explain(
    const liaison::v1::ExplainRequest& request, const std::string& peer) const {
  const absl::Time now = request.has_at() ? FromProto(request.at()) : deps_.clock->Now();
  liaison::v1::Message message = request.message();
  liaison::v1::Header* h = message.mutable_header();
  if (h->sender().empty()) h->set_sender(peer);
  if (h->sender() != peer) {
    return absl::PermissionDeniedError(
        absl::StrCat("message.header.sender: TLS client '", SafeText(peer),
                     "' may not explain messages of '", SafeText(h->sender()), "'"));
  }
  if (h->message_id().empty()) h->set_message_id(NewUuidV7(now));
  if (!h->has_created_at()) *h->mutable_created_at() = ToProto(now);
  std::vector<std::string> recipients(request.recipients().begin(), request.recipients().end());
  if (!recipients.empty()) {
    h->clear_recipients();
    for (const std::string& r : recipients) h->add_recipients(r);
  }
  const std::shared_ptr<const policy::Chain> current = deps_.chain();
  ValidationLimits limits;
  limits.max_age = deps_.max_age;
  if (absl::Status s = ValidateForIngress(message, current->registry(), now, limits); !s.ok()) {
    return s;
  }
  recipients.assign(h->recipients().begin(), h->recipients().end());
  std::vector<policy::Decision> decisions =
      deps_.decide(message, recipients, message.ByteSizeLong(), now);
  liaison::v1::ExplainResponse response;
  for (const policy::Decision& d : decisions) *response.add_decisions() = policy::ToProto(d);
  response.set_policy_version(current->policy_version());
  response.set_registry_version(current->registry().version());
  return response;
}

}  // namespace liaison::broker
