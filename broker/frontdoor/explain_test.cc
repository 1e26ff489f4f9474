// Explain completes a message as a client would, checks it like a send and
// asks the policy stage, which is a function here: the answer carries its
// decisions and the versions in force.
#include "broker/frontdoor/explain.h"

#include "broker/frontdoor/dev_registry_for_test.h"

#include <string>
#include <vector>

#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "base/uuid.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::IsError;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

std::shared_ptr<const policy::Chain> DevChain() {
  absl::StatusOr<std::shared_ptr<const policy::Chain>> chain =
      policy::Chain::Create(DevRegistryForTest());
  EXPECT_TRUE(chain.ok()) << chain.status();
  return *chain;
}

// What the stage was asked, and a decision per recipient it answers.
struct StageCall {
  liaison::v1::Message message;
  std::vector<std::string> recipients;
  size_t bytes = 0;
  absl::Time now;
  int calls = 0;
};

ExplainDeps Deps(const Clock* clock, std::shared_ptr<const policy::Chain> chain, StageCall& call) {
  ExplainDeps deps;
  deps.clock = clock;
  deps.chain = [chain] { return chain; };
  deps.decide = [&call](const liaison::v1::Message& m, const std::vector<std::string>& r,
                        size_t bytes, absl::Time now) {
    call = {m, r, bytes, now, call.calls + 1};
    std::vector<policy::Decision> out;
    for (const std::string& recipient : r) {
      policy::Decision d;
      d.recipient = recipient;
      d.outcome = liaison::v1::OUTCOME_ALLOW;
      out.push_back(d);
    }
    return out;
  };
  return deps;
}

liaison::v1::ExplainRequest Request() {
  liaison::v1::ExplainRequest request;
  liaison::v1::Header* h = request.mutable_message()->mutable_header();
  h->set_kind(liaison::v1::KIND_ALERT);
  h->add_recipients("FR-OCRTEH");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  request.mutable_message()->mutable_alert();
  return request;
}

TEST(Explain, CompletesTheMessageAsTheCallersAndAnswersWithTheVersionsInForce) {
  ManualClock clock(kNow);
  StageCall call;
  const std::shared_ptr<const policy::Chain> chain = DevChain();
  Explainer explainer(Deps(&clock, chain, call));
  absl::StatusOr<liaison::v1::ExplainResponse> response = explainer.Explain(Request(), "DE-BKA");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(call.calls, 1);
  const liaison::v1::Header& h = call.message.header();
  EXPECT_EQ(h.sender(), "DE-BKA");
  EXPECT_TRUE(IsUuidV7(h.message_id()));
  EXPECT_EQ(FromProto(h.created_at()), kNow);
  EXPECT_EQ(call.now, kNow);
  EXPECT_EQ(call.recipients, std::vector<std::string>({"FR-OCRTEH"}));
  EXPECT_EQ(call.bytes, call.message.ByteSizeLong());
  ASSERT_EQ(response->decisions_size(), 1);
  EXPECT_EQ(response->decisions(0).outcome(), liaison::v1::OUTCOME_ALLOW);
  EXPECT_EQ(response->policy_version(), chain->policy_version());
  EXPECT_EQ(response->registry_version(), chain->registry().version());
}

TEST(Explain, TheRequestsRecipientsAndTimeReplaceTheMessages) {
  ManualClock clock(kNow);
  StageCall call;
  Explainer explainer(Deps(&clock, DevChain(), call));
  liaison::v1::ExplainRequest request = Request();
  request.add_recipients("SE-NOA");
  request.add_recipients("NL-NP");
  *request.mutable_at() = ToProto(kNow - absl::Hours(1));
  absl::StatusOr<liaison::v1::ExplainResponse> response = explainer.Explain(request, "DE-BKA");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(call.recipients, std::vector<std::string>({"SE-NOA", "NL-NP"}));
  EXPECT_EQ(call.now, kNow - absl::Hours(1));
  EXPECT_EQ(FromProto(call.message.header().created_at()), kNow - absl::Hours(1));
  EXPECT_EQ(response->decisions_size(), 2);
}

TEST(Explain, AnotherSendersMessageIsRefusedAndAnInvalidOneNamesItsField) {
  ManualClock clock(kNow);
  StageCall call;
  Explainer explainer(Deps(&clock, DevChain(), call));
  liaison::v1::ExplainRequest request = Request();
  request.mutable_message()->mutable_header()->set_sender("FR-OCRTEH");
  EXPECT_TRUE(IsError(explainer.Explain(request, "DE-BKA"), absl::StatusCode::kPermissionDenied,
                      "message.header.sender: TLS client 'DE-BKA' may not explain messages of "
                      "'FR-OCRTEH'"));
  request = Request();
  request.add_recipients("XX-FOO");
  EXPECT_TRUE(IsError(explainer.Explain(request, "DE-BKA"), absl::StatusCode::kInvalidArgument,
                      "header.recipients[0]: unknown endpoint 'XX-FOO'"));
  request = Request();
  request.mutable_message()->clear_alert();
  EXPECT_TRUE(
      IsError(explainer.Explain(request, "DE-BKA"), absl::StatusCode::kInvalidArgument, "body: "));
  EXPECT_EQ(call.calls, 0) << "the stage was asked about a message the front door refuses";
}

}  // namespace
}  // namespace liaison::broker
