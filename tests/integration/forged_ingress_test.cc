// Whoever can write liaison.ingress directly (a compromised front-door node,
// a misconfigured ACL) must not be able to make the policy stage act: each
// forged record below is written straight into Kafka, and the stage refuses
// it loudly (liaison_policy_forged_total, a policy.forged_ingress log line)
// instead of releasing a hold, countersigning content under another sender's
// name or sending broker-signed notices. Records written straight into the
// holds and consents state topics are refused the same way.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "broker/core/clock.h"
#include "broker/core/countersigner.h"
#include "broker/core/ids.h"
#include "certs/envelope.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"
#include "liaison/v1/broker_state.pb.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/prometheus_text.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"
#include "tests/integration/operator_test_util.h"

namespace liaison::testing {
namespace {

namespace sc = liaison::policy::scenario;
using liaison::v1::IngressRecord;
using liaison::v1::Message;

IngressRecord EnvelopeRecord(liaison::v1::SignedEnvelope envelope) {
  IngressRecord r;
  *r.mutable_envelope() = std::move(envelope);
  *r.mutable_accepted_at() = ToProto(absl::Now());
  r.set_accepted_by("liaison-broker-1");
  return r;
}

IngressRecord EventRecord(liaison::v1::IngressEvent e, const certs::Signer& signer) {
  e.set_node_id(signer.certificate().common_name());
  liaison::v1::SignedIngressEvent s;
  e.SerializeToString(s.mutable_event());
  s.set_signature(*signer.Sign(absl::StrCat("liaison.v1.IngressEvent\n", s.event())));
  s.set_broker_certificate(signer.certificate().der());
  IngressRecord r;
  *r.mutable_event() = std::move(s);
  return r;
}

IngressRecord EventRecord(const liaison::v1::Notice& notice, const certs::Signer& signer) {
  liaison::v1::IngressEvent e;
  *e.mutable_notice() = notice;
  return EventRecord(std::move(e), signer);
}

// An acknowledgement batch of `count` receipts to RO-IGPR for `message_id`.
liaison::v1::IngressEvent ReceiptsEvent(const std::string& message_id, size_t count) {
  liaison::v1::IngressEvent e;
  for (size_t i = 0; i < count; ++i) {
    liaison::v1::Receipt* r = e.mutable_receipts()->add_receipts();
    r->set_message_id(message_id);
    r->set_recipient("GB-NCA");
    r->set_addressee("RO-IGPR");
    r->set_outcome(liaison::v1::OUTCOME_ALLOW);
  }
  return e;
}

double Forged(const TestBroker& broker) {
  HttpResult r = HttpGet(broker, "/metrics");
  absl::StatusOr<PromText> m = ParsePrometheusText(r.body);
  return m.ok() ? m->Value("liaison_policy_forged_total") : -1;
}

TEST(ForgedIngress, RecordsWrittenStraightIntoKafkaAreRefusedLoudly) {
  broker::ManualClock clock(sc::T0());
  TestBrokerOptions options;
  options.clock = &clock;
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const TestPki& pki = SharedTestPki();

  std::vector<std::unique_ptr<endpoint::Client>> clients;
  absl::StatusOr<std::vector<std::unique_ptr<endpoint::Subscription>>> subs =
      SubscribeAll(**broker, {"GB-NCA", "RO-IGPR"}, clients);
  ASSERT_TRUE(subs.ok()) << subs.status();
  auto& gb = *(*subs)[0];
  auto& ro = *(*subs)[1];

  // A genuine alert: GB-NCA is held awaiting RO-IGPR's own approval.
  absl::StatusOr<std::unique_ptr<endpoint::Client>> ro_client = (*broker)->Client("RO-IGPR");
  ASSERT_TRUE(ro_client.ok());
  Message alert = sc::Ac02MissingChildAlertWide();
  absl::StatusOr<liaison::v1::SignedEnvelope> sealed = (*ro_client)->Seal(alert, sc::T0());
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE((*ro_client)->Send(*sealed).ok());
  const std::string alert_id = alert.header().message_id();
  bool held = false;
  WaitFor(
      [&] {
        for (const auto& r : Collect(ro, 1, absl::Milliseconds(500))) {
          if (r.verified.ok() && r.verified->kind() == endpoint::VerifiedItem::Kind::kNotice &&
              r.verified->statement().notice().kind() == liaison::v1::NOTICE_KIND_HELD &&
              r.verified->statement().notice().recipient() == "GB-NCA") {
            held = true;
          }
        }
        return held;
      },
      absl::Seconds(30));
  ASSERT_TRUE(held);

  // The approval that would release it, as RO-IGPR would send it.
  Message approval =
      sc::ConsentMessage(sc::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL,
                                     "RO-IGPR", {alert_id}, sc::T0() + absl::Hours(24)),
                         sc::FixedId(9801));
  approval.mutable_header()->clear_recipients();
  std::vector<IngressRecord> forged;
  // 1. The approval signed with another endpoint's key (LV-VP's).
  std::unique_ptr<certs::Signer> lv = LoadSignerOrDie(pki.EndpointFile("LV-VP", "sign"));
  ASSERT_NE(lv, nullptr);
  absl::StatusOr<liaison::v1::SignedEnvelope> wrong_key =
      certs::SignEnvelope(approval.SerializeAsString(), *lv);
  ASSERT_TRUE(wrong_key.ok());
  forged.push_back(EnvelopeRecord(*wrong_key));
  // 2. A genuine RO-IGPR envelope whose bytes were changed afterwards (here:
  //    the sender's own approval, re-addressed to GB-NCA's hold).
  std::unique_ptr<certs::Signer> ro_key = LoadSignerOrDie(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(ro_key, nullptr);
  Message other = approval;
  other.mutable_consent()->clear_message_ids();
  other.mutable_consent()->add_message_ids(sc::FixedId(9802));
  absl::StatusOr<liaison::v1::SignedEnvelope> tampered =
      certs::SignEnvelope(other.SerializeAsString(), *ro_key);
  ASSERT_TRUE(tampered.ok());
  tampered->set_message(approval.SerializeAsString());
  forged.push_back(EnvelopeRecord(*tampered));
  // 3. An ERASE notice to GB-NCA as a delivery-side event signed by an
  //    endpoint key.
  liaison::v1::Notice erase;
  erase.set_kind(liaison::v1::NOTICE_KIND_ERASE);
  erase.set_addressee("GB-NCA");
  erase.set_message_id(alert_id);
  erase.set_recipient("GB-NCA");
  forged.push_back(EventRecord(erase, *lv));
  // 4. The same notice signed with the broker's own key: the delivery side
  //    raises GAP and LOST notices only.
  std::unique_ptr<certs::Signer> broker_key = LoadSignerOrDie(pki.dir + "/broker/tls");
  ASSERT_NE(broker_key, nullptr);
  forged.push_back(EventRecord(erase, *broker_key));
  // 5. Receipts for the held alert, as if GB-NCA had acknowledged it: an
  //    acknowledgement batch signed by an endpoint key, and one signed by
  //    the broker key that holds more receipts than one batch may.
  forged.push_back(EventRecord(ReceiptsEvent(alert_id, 1), *lv));
  forged.push_back(
      EventRecord(ReceiptsEvent(alert_id, broker::kMaxReceiptsPerEvent + 1), *broker_key));
  // 6. A notice in the unsigned form of earlier versions (field 6).
  {
    IngressRecord legacy;
    legacy.GetReflection()->MutableUnknownFields(&legacy)->AddLengthDelimited(
        6, erase.SerializeAsString());
    forged.push_back(legacy);
  }

  kafka::ClientConfig config = (*broker)->KafkaClient();
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (const IngressRecord& r : forged) {
    (*producer)->Produce((*broker)->topics().Ingress(), alert_id, r.SerializeAsString(),
                         [](const kafka::DeliveryReport& report) {
                           EXPECT_TRUE(report.status.ok()) << report.status;
                         });
  }
  // 7. A held delivery written straight into liaison.holds: an alert to
  //    GB-NCA "from RO-IGPR" signed with LV-VP's key, waiting for nothing.
  {
    Message fake = sc::Ac02MissingChildAlertWide(sc::FixedId(9803));
    absl::StatusOr<liaison::v1::SignedEnvelope> e =
        certs::SignEnvelope(fake.SerializeAsString(), *lv);
    ASSERT_TRUE(e.ok());
    liaison::v1::HeldDelivery held;
    held.set_hold_id("h-forged");
    held.set_message_id(fake.header().message_id());
    held.set_sender("RO-IGPR");
    held.set_recipient("GB-NCA");
    *held.mutable_ingress() = EnvelopeRecord(*e);
    held.set_outcome(liaison::v1::OUTCOME_DELAY);
    *held.mutable_not_before() = ToProto(sc::T0());
    *held.mutable_created_at() = ToProto(sc::T0());
    (*producer)->Produce((*broker)->topics().Holds(), held.hold_id(), held.SerializeAsString(),
                         [](const kafka::DeliveryReport& report) {
                           EXPECT_TRUE(report.status.ok()) << report.status;
                         });
  }
  // 8. The approval written straight into the consents state topic: once as
  //    a bare record, once carrying an envelope signed with LV-VP's key.
  for (bool with_envelope : {false, true}) {
    liaison::v1::RecordedConsent c;
    c.set_grantor("RO-IGPR");
    *c.mutable_grant() = approval.consent();
    c.mutable_grant()->set_consent_id(with_envelope ? "CONSENT-F2" : "CONSENT-F1");
    *c.mutable_recorded_at() = ToProto(absl::Now());
    if (with_envelope) *c.mutable_envelope() = *wrong_key;
    (*producer)->Produce((*broker)->topics().Consents(),
                         absl::StrCat("RO-IGPR/", c.grant().consent_id()), c.SerializeAsString(),
                         [](const kafka::DeliveryReport& report) {
                           EXPECT_TRUE(report.status.ok()) << report.status;
                         });
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());

  const double expected = static_cast<double>(forged.size() + 1 + 2);
  EXPECT_TRUE(WaitFor([&] { return Forged(**broker) >= expected; }, absl::Seconds(30)))
      << "liaison_policy_forged_total = " << Forged(**broker);

  // Nothing reached GB-NCA: a barrier from a genuine sender arrives, the
  // held alert and the ERASE notice do not.
  Message barrier = TestAlert("DE-BKA", {"GB-NCA"}, sc::T0());
  barrier.mutable_header()->add_legal_basis("EU-UK-TCA");
  absl::StatusOr<std::unique_ptr<endpoint::Client>> de = (*broker)->Client("DE-BKA");
  ASSERT_TRUE(de.ok());
  absl::StatusOr<liaison::v1::SignedEnvelope> b = (*de)->Seal(barrier, sc::T0());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*de)->Send(*b).ok());
  bool barrier_seen = false;
  std::vector<endpoint::Subscription::Received> got;
  WaitFor(
      [&] {
        for (auto& r : Collect(gb, 1, absl::Milliseconds(500))) {
          if (r.verified.ok() && r.verified->kind() == endpoint::VerifiedItem::Kind::kDelivery &&
              r.verified->message()->header().message_id() == barrier.header().message_id()) {
            barrier_seen = true;
          }
          got.push_back(std::move(r));
        }
        return barrier_seen;
      },
      absl::Seconds(30));
  ASSERT_TRUE(barrier_seen);
  for (const auto& r : got) {
    ASSERT_TRUE(r.verified.ok()) << r.verified.status();
    if (r.verified->kind() == endpoint::VerifiedItem::Kind::kDelivery) {
      EXPECT_NE(r.verified->message()->header().message_id(), alert_id)
          << "hold released by a forgery";
    } else if (r.verified->kind() == endpoint::VerifiedItem::Kind::kNotice) {
      EXPECT_NE(r.verified->statement().notice().kind(), liaison::v1::NOTICE_KIND_ERASE);
    }
  }
  // And no receipt reached RO-IGPR for the alert nobody received.
  for (const auto& r : Collect(ro, 1, absl::Seconds(2))) {
    ASSERT_TRUE(r.verified.ok()) << r.verified.status();
    EXPECT_NE(r.verified->kind(), endpoint::VerifiedItem::Kind::kReceipt)
        << "a receipt from a forged acknowledgement batch";
  }
}

}  // namespace
}  // namespace liaison::testing
