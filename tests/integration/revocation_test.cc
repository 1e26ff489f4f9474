// Revocation takes effect: a CRL reload ends open streams of revoked
// certificates, an older CRL cannot be loaded over a newer one, and a stale
// CRL (past its nextUpdate) closes the door to new endpoint connections
// unless the operator chose to be warned only.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "broker/frontdoor/peer.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "connectors/endpoint/item_verifier.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

void WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  std::fclose(f);
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST(Revocation, AReloadEndsTheOpenStreamsOfARevokedCertificateWithinSeconds) {
  const TestPki& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string prefix,
                               pki.Issue("endpoint-tls", "LV-VP", "lv-tls-streaming"));
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto lv, (*broker)->ClientWith("LV-VP", prefix, ""));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subscription, lv->Subscribe());
  // Open: nothing arrives, the stream stays.
  EXPECT_EQ(subscription->Next(absl::Milliseconds(200)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  LIAISON_ASSERT_OK(pki.Revoke(prefix));
  const absl::Time revoked_at = absl::Now();
  LIAISON_ASSERT_OK((*broker)->node().ReloadCrl());
  absl::Status ended;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<endpoint::Subscription::Received> r =
            subscription->Next(absl::Milliseconds(200));
        if (r.ok() || r.status().code() == absl::StatusCode::kDeadlineExceeded) return false;
        ended = r.status();
        return true;
      },
      absl::Seconds(10)))
      << "the revoked certificate's stream is still open";
  EXPECT_LT(absl::Now() - revoked_at, absl::Seconds(5));
  EXPECT_EQ(ended.code(), absl::StatusCode::kCancelled) << ended;
  // And it cannot come back.
  EXPECT_EQ(lv->Subscribe().status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(Revocation, AnOlderCrlIsRefusedAndTheNewerOneStaysInForce) {
  const TestPki& pki = SharedTestPki();
  const std::string before = ReadFileOrDie(pki.crl());
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string prefix,
                               pki.Issue("endpoint-tls", "LV-VP", "lv-tls-rollback"));
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK(pki.Revoke(prefix));
  LIAISON_ASSERT_OK((*broker)->node().ReloadCrl());

  WriteFile(pki.crl(), before);  // the CRL from before the revocation
  const absl::Status rollback = (*broker)->node().ReloadCrl();
  EXPECT_EQ(rollback.code(), absl::StatusCode::kFailedPrecondition) << rollback;
  EXPECT_TRUE(absl::StrContains(rollback.message(), "refusing a rollback")) << rollback;

  LIAISON_ASSERT_OK_AND_ASSIGN(auto lv, (*broker)->ClientWith("LV-VP", prefix, ""));
  EXPECT_EQ(lv->Subscribe().status().code(), absl::StatusCode::kUnauthenticated)
      << "the revocation must stay in force";
}

TEST(Revocation, AStaleCrlRefusesNewEndpointConnectionsUnlessTheOperatorChoseWarn) {
  const TestPki& pki = SharedTestPki();
  // A CRL whose nextUpdate lies in the past, signed by the network CA.
  const std::string stale = pki.scratch + "/stale-crl.pem";
  CommandResult r = RunCommand(
      absl::StrCat("LIAISON_CA_DIR='", pki.dir, "/ca' openssl ca -batch -config '", pki.dir,
                   "/ca/openssl.cnf' -gencrl -crl_lastupdate 20250101000000Z -crl_nextupdate "
                   "20250102000000Z -out '",
                   stale, "' 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  LIAISON_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const certs::TrustStore> trust,
                               certs::TrustStore::Load(pki.ca(), stale));
  EXPECT_LT(trust->crl_next_update(), absl::Now());

  broker::PeerAuthenticator peers(trust);
  const std::string endpoint_pem = ReadFileOrDie(pki.EndpointFile("LV-VP", "tls.pem"));
  const absl::StatusOr<certs::Identity> refused =
      peers.AuthenticatePem(endpoint_pem, certs::Role::kEndpointTls);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "CRL is stale")) << refused.status();
  // Operators can still connect, to see what is wrong.
  const std::string operator_pem = ReadFileOrDie(pki.dir + "/operators/ops-duty-1/tls.pem");
  EXPECT_TRUE(peers.AuthenticatePem(operator_pem, certs::Role::kOperator).ok());

  peers.SetCrlExpiredPolicy(broker::CrlExpiredPolicy::kWarn);
  EXPECT_TRUE(peers.AuthenticatePem(endpoint_pem, certs::Role::kEndpointTls).ok());
}

// The client library follows the CRL file too: an item countersigned by a
// broker certificate revoked since is refused, and an older CRL is not
// loaded over a newer one.
TEST(Revocation, TheClientLibraryFollowsTheCrlAndRefusesARollback) {
  const TestPki& pki = SharedTestPki();
  const std::string before = ReadFileOrDie(pki.crl());
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string prefix,
                               pki.Issue("broker", "liaison-broker-9", "broker-9"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto signer,
                               certs::Signer::FromPemFiles(prefix + ".key", prefix + ".pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const certs::TrustStore> trust,
                               certs::TrustStore::Load(pki.ca(), pki.crl()));
  endpoint::ItemVerifier verifier(trust, "LV-VP");
  verifier.FollowCrlFile(ReadFileOrDie(pki.ca()), pki.crl(), absl::ZeroDuration());

  liaison::v1::Statement statement;
  liaison::v1::Notice* n = statement.mutable_notice();
  n->set_kind(liaison::v1::NOTICE_KIND_GAP);
  n->set_addressee("LV-VP");
  n->set_message_id("gap:test");
  liaison::v1::DeliveryItem item;
  item.set_item_id("n-test");
  item.set_recipient("LV-VP");
  statement.SerializeToString(item.mutable_statement()->mutable_statement());
  item.mutable_statement()->set_signature(*signer->Sign(item.statement().statement()));
  item.mutable_statement()->set_broker_certificate(signer->certificate().der());
  LIAISON_ASSERT_OK(verifier.Verify(item, absl::Now()).status());

  LIAISON_ASSERT_OK(pki.Revoke(prefix));
  const absl::Status revoked = verifier.Verify(item, absl::Now()).status();
  EXPECT_EQ(revoked.code(), absl::StatusCode::kPermissionDenied) << revoked;
  EXPECT_TRUE(absl::StrContains(revoked.message(), "revoked")) << revoked;

  WriteFile(pki.crl(), before);
  const absl::Status rollback = verifier.MaybeReloadCrl(absl::Now());
  EXPECT_EQ(rollback.code(), absl::StatusCode::kFailedPrecondition) << rollback;
  EXPECT_FALSE(verifier.Verify(item, absl::Now()).ok()) << "the revocation must stay in force";
}

}  // namespace
}  // namespace liaison::testing
