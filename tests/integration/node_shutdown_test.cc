// A node stopping while Kafka is still acknowledging its last writes
// (Broker::Shutdown): the continuations of those writes run during the
// producer's final flush, after the policy stage and its batch signer have
// stopped, and must find everything they touch alive. CI once failed on
// this (a heap corruption at the end of a test whose Kafka was slow): the
// batch signer was destroyed there, and an erasure's audit write that Kafka
// acknowledged during the flush submitted the erasure notices to it.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/testing/log_capture.h"
#include "base/testing/status_matchers.h"
#include "connectors/kafka/embedded_cluster.h"
#include "gtest/gtest.h"
#include "tests/fixtures/evidence_fixture.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

class NodeShutdown : public EvidenceFixture {};

// The evidence keeper is held just before it erases an item (the erasure:
// an audit entry, then tombstones and signed EVIDENCE_ERASED notices); the
// node starts to stop; the Kafka node leading the audit topic refuses the
// next 30 Produce requests (NOT_ENOUGH_REPLICAS, retried by the producer
// every 100 ms or so: about 3.5 s, well within the 10 s message timeout and
// the producer's 2 s + 10 s of final flushes), and the keeper is let go. Its audit write is
// acknowledged only after the stage has stopped, during the node's last flush, and its continuation
// asks the stopped batch signer to sign the notices: refused (UNAVAILABLE,
// policy.not_produced), not a use of freed memory (ASan: heap-use-after-free
// in BatchSigner::Submit before the fix).
TEST_F(NodeShutdown, AnErasureKafkaAcknowledgesWhileTheNodeStopsIsNotSignedAfterTheSigner) {
  LIAISON_SKIP_ON_REAL_KAFKA();  // leaders and refusals are set on the mock
  LogCapture logs;
  struct Hold {
    std::atomic<bool> first{true};
    absl::Notification reached, release;
  };
  auto hold = std::make_shared<Hold>();
  TestBrokerOptions options;
  options.evidence_erasure_hook = [hold](const std::string&) {
    if (hold->first.exchange(false)) {
      hold->reached.Notify();
      hold->release.WaitForNotification();
    }
    return true;
  };
  StartBroker(options);
  const liaison::v1::EvidenceItem item = UploadAndAnnounce("EV-STOP-0001");
  // The manifest decided: DE-BKA is granted the item (the erasure tells it).
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<endpoint::Client> de, broker_->Client("DE-BKA"));
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<liaison::v1::ListResponse> list = de->ListItems();
        return list.ok() && list->items_size() > 0;
      },
      absl::Seconds(60)));
  clock_->Set(absl::FromUnixSeconds(1780272000) + absl::Seconds(1));  // AMBER ROUTE has ended
  ASSERT_TRUE(hold->reached.WaitForNotificationWithTimeout(absl::Seconds(60)))
      << "the keeper never came to erase " << item.item_id();

  kafka::EmbeddedCluster* kafka = broker_->kafka();
  for (int32_t p = 0; p < 6; ++p) {
    LIAISON_ASSERT_OK(kafka->SetPartitionLeader(broker_->topics().Audit(), p, 3));
  }
  LIAISON_ASSERT_OK(kafka->PushBrokerRequestErrors(
      3, kafka::ApiKey::kProduce,
      std::vector<kafka::KafkaError>(30, kafka::KafkaError::kNotEnoughReplicas)));
  std::thread stopping([this] { broker_->node().Shutdown(); });
  absl::SleepFor(absl::Milliseconds(300));  // the node waits for its keeper
  hold->release.Notify();
  stopping.join();
  EXPECT_TRUE(logs.Has({"\"event\":\"policy.not_produced\""}))
      << "the erasure's audit write was acknowledged before the signer stopped: the test did "
         "not reach the moment it is about\n"
      << logs.Text();
}

}  // namespace
}  // namespace liaison::testing
