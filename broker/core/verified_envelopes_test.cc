// VerifiedEnvelopes: an envelope counts as verified only under the trust
// store it was verified with; a new store (a CRL reload) forgets everything.
#include "broker/core/verified_envelopes.h"

#include <memory>
#include <string>

#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

std::shared_ptr<const certs::TrustStore> Store() {
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust = certs::TrustStore::Load(
      liaison::testing::SharedTestPki().ca(), liaison::testing::SharedTestPki().crl());
  EXPECT_TRUE(trust.ok()) << trust.status();
  return trust.ok() ? *trust : nullptr;
}

liaison::v1::SignedEnvelope Envelope(const std::string& message) {
  liaison::v1::SignedEnvelope e;
  e.set_message(message);
  e.set_signature("sig");
  return e;
}

TEST(VerifiedEnvelopes, KnownOnlyUnderTheTrustStoreItWasVerifiedWith) {
  const std::shared_ptr<const certs::TrustStore> first = Store();
  const std::shared_ptr<const certs::TrustStore> reloaded = Store();  // same files, new store
  ASSERT_NE(first, reloaded);
  VerifiedEnvelopes verified;
  const std::string a = VerifiedEnvelopes::DigestOf(Envelope("a"));
  EXPECT_FALSE(verified.Contains(a, first));
  verified.Insert(a, first);
  EXPECT_TRUE(verified.Contains(a, first));
  // Another envelope, or the same message under another signature: unknown.
  EXPECT_FALSE(verified.Contains(VerifiedEnvelopes::DigestOf(Envelope("b")), first));
  liaison::v1::SignedEnvelope resigned = Envelope("a");
  resigned.set_signature("other");
  EXPECT_FALSE(verified.Contains(VerifiedEnvelopes::DigestOf(resigned), first));
  // A CRL reload: verified again under the new store.
  EXPECT_FALSE(verified.Contains(a, reloaded));
  EXPECT_FALSE(verified.Contains(a, first)) << "forgotten, not kept for the old store";
  EXPECT_EQ(verified.hits(), 1);
}

TEST(VerifiedEnvelopes, WhenFullEverythingIsForgotten) {
  const std::shared_ptr<const certs::TrustStore> trust = Store();
  VerifiedEnvelopes verified(/*capacity=*/2);
  verified.Insert(VerifiedEnvelopes::DigestOf(Envelope("1")), trust);
  verified.Insert(VerifiedEnvelopes::DigestOf(Envelope("2")), trust);
  verified.Insert(VerifiedEnvelopes::DigestOf(Envelope("3")), trust);
  EXPECT_FALSE(verified.Contains(VerifiedEnvelopes::DigestOf(Envelope("1")), trust));
  EXPECT_TRUE(verified.Contains(VerifiedEnvelopes::DigestOf(Envelope("3")), trust));
}

}  // namespace
}  // namespace liaison::broker
