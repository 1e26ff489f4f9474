// BatchSigner with a broker key of the test PKI: batches close on size
// without waiting, a lone statement is signed after the short delay, every
// leaf verifies under its root, requests complete in order.
#include "broker/core/batch_signer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "certs/batch_root.h"
#include "certs/merkle.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

struct Keys {
  std::unique_ptr<certs::Signer> signer;
  std::unique_ptr<Countersigner> countersigner;
  std::unique_ptr<certs::Verifier> verifier;
};

Keys Load() {
  const testing::TestPki& pki = testing::SharedTestPki();
  Keys k;
  k.signer = testing::LoadSignerOrDie(pki.dir + "/broker/tls");
  k.countersigner = std::make_unique<Countersigner>(k.signer.get());
  k.verifier = std::make_unique<certs::Verifier>(testing::NetworkTrustOrDie());
  return k;
}

std::string NoticeLeaf(const Countersigner& c, int i) {
  liaison::v1::Statement s;
  s.mutable_notice()->set_kind(liaison::v1::NOTICE_KIND_HELD);
  s.mutable_notice()->set_addressee("NL-NP");
  s.mutable_notice()->set_message_id(absl::StrCat("m-", i));
  return *c.Leaf(std::move(s), testing::SharedTestPki().now);
}

TEST(BatchSigner, RequestsOfOneBatchShareOneRootAndCompleteInOrder) {
  Keys k = Load();
  // What the callbacks touch is declared before the signer, so the signer's
  // thread is joined before any of it is destroyed.
  std::vector<std::vector<liaison::v1::BatchSigned>> got(3);
  std::vector<int> order;
  absl::Mutex mu;
  absl::Notification all;
  // A delay no test waits for: the batch must close on size.
  BatchSigner signer(k.countersigner.get(), {.max_leaves = 5, .max_delay = absl::Hours(1)});
  const std::vector<std::vector<int>> requests = {{0, 1}, {2}, {3, 4}};
  for (size_t r = 0; r < requests.size(); ++r) {
    std::vector<std::string> leaves;
    for (int i : requests[r]) leaves.push_back(NoticeLeaf(*k.countersigner, i));
    signer.Submit(std::move(leaves), [&, r](auto result) {
      ASSERT_TRUE(result.ok()) << result.status();
      absl::MutexLock lock(&mu);
      got[r] = std::move(*result);
      order.push_back(static_cast<int>(r));
      if (order.size() == 3) all.Notify();
    });
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(signer.roots_signed(), 1);
  EXPECT_EQ(signer.leaves_signed(), 5);
  const liaison::v1::BrokerSigned& root = got[0][0].root();
  absl::StatusOr<certs::VerifiedBatchRoot> verified =
      certs::VerifyBatchRoot(root, *k.verifier, testing::SharedTestPki().now);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tree_size, 5u);
  EXPECT_EQ(verified->broker.id, "liaison-broker-1");
  uint64_t index = 0;
  for (size_t r = 0; r < requests.size(); ++r) {
    ASSERT_EQ(got[r].size(), requests[r].size());
    for (size_t j = 0; j < got[r].size(); ++j) {
      const liaison::v1::BatchSigned& b = got[r][j];
      EXPECT_EQ(b.root().SerializeAsString(), root.SerializeAsString());
      EXPECT_EQ(b.statement(), NoticeLeaf(*k.countersigner, requests[r][j]));
      absl::StatusOr<certs::InclusionProof> proof = certs::ParseInclusionProof(b.inclusion());
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(proof->leaf_index, index++);
      EXPECT_TRUE(certs::VerifyInclusion(certs::MerkleLeafHash(b.statement()), *proof,
                                         verified->root_hash, verified->tree_size)
                      .ok());
    }
  }
}

TEST(BatchSigner, ALoneStatementIsSignedAfterTheShortDelay) {
  Keys k = Load();
  absl::Notification done;
  BatchSigner signer(k.countersigner.get(), {});  // 512 leaves, 2 ms
  signer.Submit({NoticeLeaf(*k.countersigner, 7)}, [&](auto result) {
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->size(), 1u);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(signer.roots_signed(), 1);
}

TEST(BatchSigner, StoppingSignsWhatWasSubmitted) {
  Keys k = Load();
  int completed = 0;
  {
    BatchSigner signer(k.countersigner.get(), {.max_leaves = 100, .max_delay = absl::Hours(1)});
    signer.Submit({NoticeLeaf(*k.countersigner, 1)}, [&](auto result) {
      EXPECT_TRUE(result.ok());
      ++completed;
    });
    signer.Submit({}, [&](auto result) {
      EXPECT_TRUE(result.ok() && result->empty());
      ++completed;
    });
  }
  EXPECT_EQ(completed, 2);
}

// Requests without leaves (a write with nothing to sign) keep their place:
// completed after the requests before them, never ahead.
TEST(BatchSigner, AnEmptyRequestWaitsForTheRequestsBeforeIt) {
  Keys k = Load();
  std::vector<int> order;
  absl::Mutex mu;
  absl::Notification all;
  BatchSigner signer(k.countersigner.get(), {.max_leaves = 2, .max_delay = absl::Hours(1)});
  auto record = [&](int i) {
    return [&, i](auto result) {
      EXPECT_TRUE(result.ok());
      absl::MutexLock lock(&mu);
      order.push_back(i);
      if (order.size() == 3) all.Notify();
    };
  };
  signer.Submit({NoticeLeaf(*k.countersigner, 1)}, record(0));
  signer.Submit({}, record(1));
  signer.Submit({NoticeLeaf(*k.countersigner, 2)}, record(2));  // fills the batch
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(signer.roots_signed(), 1);
}

// Broker::Shutdown stops the signer before the producer's last delivery
// reports run, and those still submit (the continuation of an audit write
// Kafka acknowledged during the flush). Before Stop existed the signer was
// destroyed there and the late Submit used freed memory (a heap corruption
// seen in Exchange.KafkaBrokerDownDuringSendsNeverLosesAnAcceptedMessage);
// now it completes at once, UNAVAILABLE, and every request is completed once.
TEST(BatchSigner, ARequestAfterStopCompletesAtOnceAsUnavailable) {
  Keys k = Load();
  int signed_requests = 0;
  absl::Status refusal;
  auto signer = std::make_unique<BatchSigner>(
      k.countersigner.get(), BatchSigner::Options{.max_leaves = 10, .max_delay = absl::Hours(1)});
  signer->Submit({NoticeLeaf(*k.countersigner, 1)}, [&](auto result) {
    EXPECT_TRUE(result.ok()) << result.status();
    ++signed_requests;
  });
  signer->Stop();  // signs the open batch although it is neither full nor due
  EXPECT_EQ(signed_requests, 1);
  EXPECT_EQ(signer->roots_signed(), 1);
  for (std::vector<std::string> leaves :
       {std::vector<std::string>{NoticeLeaf(*k.countersigner, 2)}, std::vector<std::string>{}}) {
    bool completed = false;
    signer->Submit(std::move(leaves), [&](auto result) {
      completed = true;
      refusal = result.status();
    });
    EXPECT_TRUE(completed) << "a request after Stop must complete on the caller's thread";
    EXPECT_EQ(refusal.code(), absl::StatusCode::kUnavailable) << refusal;
    EXPECT_TRUE(absl::StrContains(refusal.message(), "stopping")) << refusal;
  }
  signer->Stop();  // again: nothing happens
  signer.reset();
  EXPECT_EQ(signed_requests, 1);
  EXPECT_EQ(refusal.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace liaison::broker
