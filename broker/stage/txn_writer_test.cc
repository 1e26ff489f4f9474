// The transaction writer's bookkeeping on librdkafka's embedded mock, whose
// transactional calls succeed but do nothing (isolation is tested on real
// Kafka: tests/kafka_real/transactions_test.cc): items are produced and
// finished in order, an aborted transaction is redone with the same items,
// a revoke drops a chain's items, a stopped writer refuses new ones.
#include "broker/stage/txn_writer.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

struct Log {
  absl::Mutex mu;
  std::vector<std::string> produced ABSL_GUARDED_BY(mu);
  std::vector<std::string> finished ABSL_GUARDED_BY(mu);

  bool WaitFinished(size_t n) {
    absl::MutexLock lock(&mu);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return finished.size() >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30));
  }
};

class TxnWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> c = kafka::EmbeddedCluster::Start(1);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("t.ingress", 2, 1).ok());
    ASSERT_TRUE(cluster_->CreateTopic("t.out", 2, 1).ok());
    config_.bootstrap_servers = cluster_->bootstrap_servers();
    config_.fetch_wait_max_ms = 5;
    kafka::ConsumerOptions options;
    options.group_id = "t-policy";
    options.topics = {"t.ingress"};
    options.session_timeout_ms = 6000;
    absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
        kafka::Consumer::Create(config_, options);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = std::move(*consumer);
    TxnWriter::Options txn;
    txn.transactional_id = "t.policy.test";
    txn.ingress_topic = "t.ingress";
    txn.max_wait = absl::Milliseconds(5);
    absl::StatusOr<std::unique_ptr<TxnWriter>> writer =
        TxnWriter::Create(config_, {}, txn, [this] { return consumer_->CurrentGroupMetadata(); });
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::move(*writer);
  }

  // An item writing one record named `name` to t.out.
  TxnWriter::Item Item(const std::string& name, int32_t chain, int64_t offset) {
    TxnWriter::Item item;
    item.chain = chain;
    item.ingress_offset = offset;
    item.produce = [this, name, chain](kafka::Producer& p, std::function<void(absl::Status)> done) {
      {
        absl::MutexLock lock(&log_.mu);
        log_.produced.push_back(name);
      }
      p.Produce(
          "t.out", name, "value", [done](const kafka::DeliveryReport& r) { done(r.status); },
          chain);
    };
    item.finished = [this, name](absl::Status s) {
      absl::MutexLock lock(&log_.mu);
      log_.finished.push_back(
          name + (s.ok() ? ":ok" : ":" + std::string(absl::StatusCodeToString(s.code()))));
    };
    return item;
  }

  std::unique_ptr<kafka::EmbeddedCluster> cluster_;
  kafka::ClientConfig config_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<TxnWriter> writer_;
  Log log_;
};

TEST_F(TxnWriterTest, ItemsCommitInTheOrderTheyCame) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(writer_->Submit(Item("m" + std::to_string(i), i % 2, i)).ok());
  }
  ASSERT_TRUE(log_.WaitFinished(5));
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.finished, (std::vector<std::string>{"m0:ok", "m1:ok", "m2:ok", "m3:ok", "m4:ok"}));
  EXPECT_EQ(log_.produced, (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"}));
  EXPECT_GE(writer_->commits(), 1);
  EXPECT_EQ(writer_->aborts(), 0);
}

TEST_F(TxnWriterTest, AnAbortedTransactionIsProducedAgainAndFinishedOnce) {
  writer_->AbortNextCommitForTest();
  ASSERT_TRUE(writer_->Submit(Item("a", 0, 7)).ok());
  ASSERT_TRUE(writer_->Submit(Item("b", 1, 3)).ok());
  ASSERT_TRUE(log_.WaitFinished(2));
  absl::MutexLock lock(&log_.mu);
  EXPECT_EQ(log_.finished, (std::vector<std::string>{"a:ok", "b:ok"}));
  // The aborted transaction's items were produced, then produced again.
  ASSERT_GE(log_.produced.size(), 3u);
  EXPECT_EQ(log_.produced.front(), "a");
  EXPECT_EQ(writer_->aborts(), 1);
}

TEST_F(TxnWriterTest, ARevokedChainsQueuedItemsAreDroppedOthersStillCommit) {
  // Hold the writer in a transaction whose item has not reported yet, so
  // that later items stay queued.
  absl::Notification release;
  TxnWriter::Item slow = Item("slow", 1, 0);
  TxnWriter::ProduceFn produce = slow.produce;
  slow.produce = [&release, produce](kafka::Producer& p, std::function<void(absl::Status)> done) {
    produce(p, [&release, done](absl::Status s) {
      release.WaitForNotificationWithTimeout(absl::Seconds(30));
      done(s);
    });
  };
  ASSERT_TRUE(writer_->Submit(std::move(slow)).ok());
  // The writer holds "slow" in a transaction. c0 and c1 then either wait
  // in the queue or join that transaction (if they come within its
  // max_wait); either way the revoke of chain 0 must drop c0 and let the
  // others commit (redone, if the transaction held c0).
  {
    absl::MutexLock lock(&log_.mu);
    auto produced = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(log_.mu) { return !log_.produced.empty(); };
    ASSERT_TRUE(log_.mu.AwaitWithTimeout(absl::Condition(&produced), absl::Seconds(30)));
  }
  ASSERT_TRUE(writer_->Submit(Item("c0", 0, 1)).ok());
  ASSERT_TRUE(writer_->Submit(Item("c1", 1, 1)).ok());
  std::thread revoker([this] { writer_->Revoke({0}); });
  // The revoke is under way (it blocks until the transaction ends) before
  // the transaction may end.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (writer_->RevokesRequestedForTest() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(writer_->RevokesRequestedForTest(), 1);
  release.Notify();
  revoker.join();
  ASSERT_TRUE(log_.WaitFinished(3));
  absl::MutexLock lock(&log_.mu);
  std::vector<std::string> finished = log_.finished;
  std::sort(finished.begin(), finished.end());
  EXPECT_EQ(finished, (std::vector<std::string>{"c0:ABORTED", "c1:ok", "slow:ok"}));
}

TEST_F(TxnWriterTest, AStoppedWriterRefusesItems) {
  writer_->Stop();
  absl::Status s = writer_->Submit(Item("late", 0, 0));
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
}

}  // namespace
}  // namespace liaison::broker
