// Stop everything, start it again: a broker on its own one-node real Kafka
// (deploy/kafka/cluster.sh, ACLs of deploy/kafka/acls.sh, principal
// liaison-policy over mutual TLS) is stopped, Kafka is stopped, both are
// started again on the same state folder. What was owed before must still be
// owed after: a held message is released by a consent sent after the restart,
// an unacknowledged delivery comes again, a duplicate send is answered
// `duplicate`, the sender's receipt is still delivered, and the audit chain
// verifies across the restart.
//
// LIAISON_RESTART_STATE names the cluster's state folder (wiped first).
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/core/clock.h"
#include "certs/testing/test_pki.h"
#include "connectors/audit/audit_trail.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

namespace sc = liaison::policy::scenario;
using endpoint::Client;
using endpoint::Subscription;
using endpoint::VerifiedItem;
using liaison::v1::Message;

const std::string kCluster = std::string(LIAISON_SOURCE_DIR) + "/deploy/kafka/cluster.sh";
const std::string kAcls = std::string(LIAISON_SOURCE_DIR) + "/deploy/kafka/acls.sh";

int Shell(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// One node; the watchdog stops it should this process die.
int StartKafka(const std::string& state) {
  return Shell(absl::StrCat("'", kCluster, "' start --nodes 1 --state-dir '", state,
                            "' --stop-with ", getpid(), " >/dev/null"));
}
int StopKafka(const std::string& state) {
  return Shell(absl::StrCat("'", kCluster, "' stop --state-dir '", state, "'"));
}

// Everything a test endpoint holds across a restart of the broker.
class Endpoints {
 public:
  explicit Endpoints(TestBroker& broker, broker::Clock& clock) : broker_(broker), clock_(clock) {}

  Client& client(const std::string& id) {
    auto& c = clients_[id];
    if (c == nullptr) {
      absl::StatusOr<std::unique_ptr<Client>> made = broker_.Client(id);
      EXPECT_TRUE(made.ok()) << made.status();
      c = std::move(*made);
    }
    return *c;
  }
  absl::StatusOr<liaison::v1::SignedEnvelope> Seal(Message m) {
    return client(m.header().sender()).Seal(m, clock_.Now());
  }
  absl::StatusOr<liaison::v1::SendResult> Send(const Message& m) {
    absl::StatusOr<liaison::v1::SignedEnvelope> e = Seal(m);
    if (!e.ok()) return e.status();
    return client(m.header().sender()).Send(*e);
  }
  void Subscribe(const std::vector<std::string>& ids) {
    std::vector<std::unique_ptr<Client>> clients;
    absl::StatusOr<std::vector<std::unique_ptr<Subscription>>> subs =
        SubscribeAll(broker_, ids, clients);
    ASSERT_TRUE(subs.ok()) << subs.status();
    for (size_t i = 0; i < ids.size(); ++i) {
      sub_clients_.push_back(std::move(clients[i]));
      subs_[ids[i]] = std::move((*subs)[i]);
    }
  }
  // Reads `id`'s stream until an item matches; acknowledges what it reads
  // when `ack`. Returns the match or null after `timeout`.
  const VerifiedItem* ReadUntil(const std::string& id,
                                const std::function<bool(const VerifiedItem&)>& match, bool ack,
                                absl::Duration timeout = absl::Seconds(120)) {
    auto& got = received_[id];
    const VerifiedItem* found = nullptr;
    WaitFor(
        [&] {
          for (const auto& r : got) {
            if (r.verified.ok() && match(*r.verified)) found = &*r.verified;
          }
          if (found != nullptr) return true;
          for (auto& r : Collect(*subs_.at(id), 1, absl::Milliseconds(200), ack)) {
            got.push_back(std::move(r));
          }
          return false;
        },
        timeout);
    return found;
  }

 private:
  TestBroker& broker_;
  broker::Clock& clock_;
  std::map<std::string, std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<Client>> sub_clients_;
  std::map<std::string, std::unique_ptr<Subscription>> subs_;
  std::map<std::string, std::vector<Subscription::Received>> received_;
};

auto Delivery(const std::string& message_id) {
  return [message_id](const VerifiedItem& v) {
    return v.kind() == VerifiedItem::Kind::kDelivery &&
           v.message()->header().message_id() == message_id;
  };
}
auto NoticeOf(liaison::v1::NoticeKind kind, const std::string& message_id) {
  return [kind, message_id](const VerifiedItem& v) {
    return v.kind() == VerifiedItem::Kind::kNotice && v.statement().notice().kind() == kind &&
           v.statement().notice().message_id() == message_id;
  };
}
auto ReceiptOf(const std::string& message_id) {
  return [message_id](const VerifiedItem& v) {
    return v.kind() == VerifiedItem::Kind::kReceipt &&
           v.statement().receipt().message_id() == message_id;
  };
}

TEST(BrokerRestart, HoldsDeliveriesDedupReceiptsAndAuditSurviveAStopOfBrokerAndKafka) {
  const char* env = std::getenv("LIAISON_RESTART_STATE");
  ASSERT_NE(env, nullptr) << "set LIAISON_RESTART_STATE (ctest does)";
  const std::string state = env;
  ASSERT_EQ(StopKafka(state), 0);
  ASSERT_EQ(Shell(absl::StrCat("rm -rf '", state, "'")), 0);
  ASSERT_EQ(StartKafka(state), 0);
  ASSERT_EQ(Shell(absl::StrCat("eval \"$('", kCluster, "' env --state-dir '", state, "')\" && '",
                               kAcls, "' >'", state, "/acls.log' 2>&1")),
            0)
      << "acls.sh failed: see " << state << "/acls.log";
  setenv("LIAISON_TEST_KAFKA_STATE", state.c_str(), 1);

  broker::ManualClock clock(sc::T0());
  TestBrokerOptions options;
  options.clock = &clock;
  const Message derived = sc::Ac07DerivedFromH2();
  const std::string held_id = derived.header().message_id();
  const Message alert = TestAlert("RO-IGPR", {"DE-BKA"}, clock.Now());
  const std::string alert_id = alert.header().message_id();
  liaison::v1::SignedEnvelope alert_envelope;

  {  // Before: a held message, an unacknowledged delivery, a receipt owed.
    absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status();
    Endpoints net(**broker, clock);
    net.Subscribe({"NL-NP", "DE-BKA"});
    ASSERT_TRUE(net.Send(sc::Ac07SourceMessage()).ok());
    ASSERT_NE(net.ReadUntil("NL-NP", Delivery(sc::Ac07SourceId()), true), nullptr);
    ASSERT_TRUE(net.Send(derived).ok());
    ASSERT_NE(net.ReadUntil("NL-NP", NoticeOf(liaison::v1::NOTICE_KIND_HELD, held_id), true),
              nullptr)
        << "the derived message is held for DE-BKA's consent";

    absl::StatusOr<liaison::v1::SignedEnvelope> e = net.Seal(alert);
    ASSERT_TRUE(e.ok()) << e.status();
    alert_envelope = *e;
    absl::StatusOr<liaison::v1::SendResult> first = net.client("RO-IGPR").Send(alert_envelope);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_FALSE(first->duplicate());
    // DE-BKA reads the alert and does not acknowledge it.
    ASSERT_NE(net.ReadUntil("DE-BKA", Delivery(alert_id), /*ack=*/false), nullptr);
  }
  ASSERT_EQ(StopKafka(state), 0) << "no Kafka process may be left";
  ASSERT_EQ(StartKafka(state), 0);

  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  Endpoints net(**broker, clock);
  net.Subscribe({"DE-BKA", "ES-PN", "RO-IGPR", "NL-NP"});
  // The unacknowledged delivery comes again (and is acknowledged now).
  EXPECT_NE(net.ReadUntil("DE-BKA", Delivery(alert_id), true), nullptr);
  // The sender is still owed its receipt, and gets it.
  EXPECT_NE(net.ReadUntil("RO-IGPR", ReceiptOf(alert_id), true), nullptr);
  // The dedup state survived: the same envelope is a duplicate.
  absl::StatusOr<liaison::v1::SendResult> again = net.client("RO-IGPR").Send(alert_envelope);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate());
  // The hold survived: a consent sent now releases it.
  Message consent =
      sc::ConsentMessage(sc::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                     {held_id}, sc::T0() + absl::Hours(24 * 7), true),
                         sc::FixedId(701));
  consent.mutable_consent()->set_consent_id("CONSENT-701");
  ASSERT_TRUE(net.Send(consent).ok());
  EXPECT_NE(net.ReadUntil("ES-PN", Delivery(held_id), true), nullptr);
  EXPECT_NE(net.ReadUntil("NL-NP", NoticeOf(liaison::v1::NOTICE_KIND_RELEASED, held_id), true),
            nullptr);

  // One audit chain across both runs.
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust =
      certs::TrustStore::Load(SharedTestPki().ca(), SharedTestPki().crl());
  ASSERT_TRUE(trust.ok()) << trust.status();
  const certs::Verifier verifier(*trust);
  audit::VerifyOptions verify_options;
  verify_options.timeout = absl::Seconds(60);
  absl::StatusOr<audit::Verification> v = audit::VerifyTopic(
      (*broker)->KafkaClient(), (*broker)->topics().Audit(), verifier, verify_options);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << v->first_break;
  // Checkpoints of both runs (the first node checkpointed when it stopped).
  EXPECT_GT(v->checkpoints, 0);

  broker->reset();
  EXPECT_EQ(StopKafka(state), 0);
}

}  // namespace
}  // namespace liaison::testing
