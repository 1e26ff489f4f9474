// The applier (applier.h) carrying out a plan with a broker key of the test
// PKI: the records in the order the stage writes them, one countersignature
// per group over the delivered bytes, deterministic item ids, and the books
// it updates. No Kafka: the records are what the stage would produce.
#include "broker/stage/applier.h"

#include <memory>
#include <string>
#include <vector>

#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "broker/stage/decide.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::broker {
namespace {

namespace scenario = policy::scenario;
using liaison::v1::Message;

// A node's signer and books, and one message planned for its recipients.
class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::TestPki& pki = testing::SharedTestPki();
    absl::StatusOr<std::unique_ptr<certs::Signer>> signer =
        certs::Signer::FromPemFiles(pki.dir + "/broker/tls.key", pki.dir + "/broker/tls.pem");
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::move(*signer);
    countersigner_ = std::make_unique<Countersigner>(signer_.get());
    items_ = std::make_unique<ItemSigner>(countersigner_.get());
    applier_ = std::make_unique<PlanApplier>(
        ApplierDeps{topics_, countersigner_.get(), items_.get(), &sources_, &consents_});
  }

  // Plans `m` to `recipients` as the stage does (digest of the signed bytes
  // included) and applies the plan.
  Outputs PlanAndApply(const Message& m, const std::vector<std::string>& recipients) {
    message_ = m;
    ingress_.mutable_envelope()->set_message(m.SerializeAsString());
    ingress_.mutable_envelope()->set_signature("sender-signature");
    *ingress_.mutable_accepted_at() = ToProto(scenario::T0());
    context_.ingress = &ingress_;
    context_.message = &message_;
    context_.payload_sha256 = certs::Sha256(ingress_.envelope().message());
    context_.message_bytes = ingress_.envelope().message().size();
    context_.registry = &scenario::DevChain()->registry();
    context_.policy_version = scenario::DevChain()->policy_version();
    context_.broker_id = "liaison-broker-1";
    context_.now = scenario::T0();
    context_.ingress_partition = 2;
    PlanInput in;
    in.context = context_;
    in.consent = PlanConsent(context_);
    if (in.consent.has_value()) applier_->RecordConsent(*in.consent, context_);
    in.decisions = DecideEach(*scenario::DevChain(), message_, recipients, context_.message_bytes,
                              context_.now, {&counters_, &sources_, &consents_});
    in.pseudonymiser = &pseudonymiser_;
    plan_ = PlanDecision(in);
    return applier_->Apply(PlanDecision(std::move(in)), context_);
  }

  const Topics topics_{"t"};
  std::unique_ptr<certs::Signer> signer_;
  std::unique_ptr<Countersigner> countersigner_;
  std::unique_ptr<ItemSigner> items_;
  SourceBook sources_;
  ConsentBook consents_;
  policy::SlidingWindowCounters counters_;
  scenario::TestPseudonymiser pseudonymiser_;
  std::unique_ptr<PlanApplier> applier_;
  Message message_;
  liaison::v1::IngressRecord ingress_;
  PlanContext context_;
  Plan plan_;  // the same plan, kept to compare with
};

liaison::v1::Attestation AttestationOf(const liaison::v1::DeliveryItem& item) {
  liaison::v1::Statement statement;
  EXPECT_TRUE(statement.ParseFromString(item.statement().statement()));
  return statement.attestation();
}

TEST_F(ApplierTest, WritesHoldsThenDeliveriesThenTheSourceRecordThenNotices) {
  const Message alert = scenario::Ac02MissingChildAlertWide();
  std::vector<std::string> to(alert.header().recipients().begin(),
                              alert.header().recipients().end());
  const Outputs out = PlanAndApply(alert, to);

  ASSERT_THAT(out.audit, ::testing::SizeIs(to.size()));
  EXPECT_THAT(out.held, ::testing::SizeIs(plan_.holds.size()));
  ASSERT_FALSE(plan_.holds.empty()) << "GB-NCA waits for RO-IGPR's approval";
  // What each record is, consecutive ones of a kind counted once.
  std::vector<std::string> runs;
  for (const Outputs::Record& r : out.records) {
    const std::string kind = r.topic == topics_.Holds()     ? "hold"
                             : r.topic == topics_.Sources() ? "source"
                             : r.index.has_value()          ? "delivery"
                                                            : "notice";
    if (runs.empty() || runs.back() != kind) runs.push_back(kind);
  }
  EXPECT_THAT(runs, ::testing::ElementsAre("hold", "delivery", "source", "notice"));
  EXPECT_EQ(out.records.front().key,
            HoldIdOf(MessageId(alert.header().message_id()), EndpointId("GB-NCA")).value());
}

TEST_F(ApplierTest, OneSignaturePerGroupOverTheBytesItsRecipientsReceive) {
  const Message alert = scenario::TypicalAlertWithVictim();
  const Outputs out = PlanAndApply(alert, scenario::BenchRecipients());

  size_t deliveries = 0;
  for (const DeliveryGroup& g : plan_.deliveries) deliveries += g.recipients.size();
  ASSERT_EQ(deliveries, scenario::BenchRecipients().size());
  const std::string key = IngressKeyOf(alert.header()).value();
  std::string original_signature;
  for (const Outputs::Record& r : out.records) {
    if (!r.index.has_value()) continue;
    liaison::v1::DeliveryItem item;
    ASSERT_TRUE(item.ParseFromString(r.value));
    SCOPED_TRACE(item.recipient());
    EXPECT_EQ(r.topic, topics_.Deliver(item.recipient()));
    EXPECT_EQ(r.key, key);
    EXPECT_EQ(item.item_id(),
              DeliveryItemIdOf(MessageId(alert.header().message_id()), EndpointId(item.recipient()))
                  .value());
    EXPECT_EQ(r.index->item_id(), item.item_id());
    EXPECT_EQ(r.index->recipient(), item.recipient());
    const liaison::v1::Attestation a = AttestationOf(item);
    EXPECT_THAT(a.recipients(), ::testing::Contains(item.recipient()));
    EXPECT_EQ(a.original_sha256(), context_.payload_sha256);
    if (item.has_original()) {
      EXPECT_EQ(item.original().SerializeAsString(), ingress_.envelope().SerializeAsString());
      EXPECT_EQ(a.content_sha256(), context_.payload_sha256);
      EXPECT_FALSE(a.derived());
      // Recipients of the original share one signed statement.
      if (original_signature.empty()) original_signature = item.statement().signature();
      EXPECT_EQ(item.statement().signature(), original_signature);
    } else {
      ASSERT_TRUE(item.has_derived_message());
      EXPECT_EQ(a.content_sha256(), certs::Sha256(item.derived_message()));
      EXPECT_TRUE(a.derived());
      EXPECT_THAT(a.recipients(), ::testing::ElementsAre(item.recipient()));
    }
  }
  EXPECT_FALSE(original_signature.empty());
}

TEST_F(ApplierTest, PutsDeliveredRecipientsInTheSourceBookAndAConsentInTheConsentBook) {
  const Message alert = scenario::TypicalAlert();
  const Outputs out = PlanAndApply(alert, scenario::BenchRecipients());
  std::shared_ptr<const policy::SourceRecord> known = sources_.Get(alert.header().message_id());
  ASSERT_NE(known, nullptr);
  EXPECT_THAT(known->delivered_to, ::testing::ElementsAreArray(scenario::BenchRecipients()));

  const policy::ConsentRecord grant =
      scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                        {alert.header().message_id()}, scenario::T0() + absl::Hours(2));
  const Outputs recorded =
      PlanAndApply(scenario::ConsentMessage(grant, scenario::FixedId(710)), {});
  int covering = 0;
  consents_.ForEachCovering(alert.header().message_id(),
                            [&](const policy::ConsentRecord&) { ++covering; });
  EXPECT_EQ(covering, 1);
  ASSERT_THAT(recorded.records, ::testing::SizeIs(1));
  EXPECT_EQ(recorded.records[0].topic, topics_.Consents());
  liaison::v1::RecordedConsent stored;
  ASSERT_TRUE(stored.ParseFromString(recorded.records[0].value));
  EXPECT_EQ(stored.envelope().SerializeAsString(), ingress_.envelope().SerializeAsString())
      << "the record carries the grantor's signed envelope";
}

}  // namespace
}  // namespace liaison::broker
