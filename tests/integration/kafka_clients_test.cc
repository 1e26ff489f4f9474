// The Kafka clients a node runs (docs/architecture.md "Kafka clients per
// node"): against the embedded mock every consumer costs CPU while idle, so a
// node follows all its state topics with one client that waits longer per
// empty fetch, and the hold book starts no client of its own.
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

// The `kafka.consumer_started` lines logged while it lives.
class ConsumerLog {
 public:
  ConsumerLog() {
    log::SetMinLevel(log::Level::kInfo);
    log::SetSink([this](std::string_view line) {
      if (line.find("\"event\":\"kafka.consumer_started\"") == std::string_view::npos) return;
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~ConsumerLog() { log::ResetSink(); }

  std::vector<std::string> Lines() const {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  // Lines containing every one of `parts`.
  std::vector<std::string> With(const std::vector<std::string>& parts) const {
    std::vector<std::string> out;
    for (const std::string& line : Lines()) {
      bool all = true;
      for (const std::string& p : parts) all = all && absl::StrContains(line, p);
      if (all) out.push_back(line);
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

std::string All(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

TEST(KafkaClients, ANodeFollowsEveryStateTopicWithOneClientAndThePolicyStageWithAnother) {
  ConsumerLog consumers;
  TestBrokerOptions options;
  options.admin_listen_address = "";
  options.http_listen_address = "";
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  // The mock holds an empty fetch 5 ms (the broker's consumers), the state
  // mirror waits 50 ms; real Kafka long-polls 500 ms for every consumer.
  const std::string fast = OnRealKafka() ? "500" : "5";
  const std::string slow = OnRealKafka() ? "500" : "50";

  // One group-less reader for the registry's four topics, the linkage index,
  // liaison.holds and the three evidence topics.
  const std::vector<std::string> readers = consumers.With({"\"mode\":\"reader\""});
  ASSERT_EQ(readers.size(), 1u) << "one state mirror, no other reader:\n" << All(consumers.Lines());
  EXPECT_TRUE(absl::StrContains(readers[0], "\"topics\":9")) << readers[0];
  EXPECT_TRUE(absl::StrContains(readers[0], absl::StrCat("\"fetch_wait_ms\":", slow)))
      << readers[0];
  const std::vector<std::string> policy = consumers.With({"\"group\":\"", "policy\""});
  ASSERT_EQ(policy.size(), 1u) << All(consumers.Lines());
  EXPECT_TRUE(absl::StrContains(policy[0], absl::StrCat("\"fetch_wait_ms\":", fast))) << policy[0];
  EXPECT_EQ(consumers.Lines().size(), 2u) << All(consumers.Lines());

  // The node's Subscribe streams share one consumer (group liaison-deliver),
  // made when the first comes, reading with the short wait: its latency is
  // the exchange's.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto es, (*broker)->Client("ES-PN"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto es_sub, es->Subscribe());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de_sub, de->Subscribe());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de_again, de->Subscribe());
  const std::vector<std::string> deliver = consumers.With({"\"group\":\"liaison-deliver\""});
  ASSERT_EQ(deliver.size(), 1u) << All(consumers.Lines());
  EXPECT_TRUE(absl::StrContains(deliver[0], absl::StrCat("\"fetch_wait_ms\":", fast)))
      << deliver[0];
  EXPECT_EQ(consumers.Lines().size(), 3u) << All(consumers.Lines());
}

// With --delivery-consumer=per-stream, each stream has a consumer of its
// own, in its endpoint's group.
TEST(KafkaClients, PerStreamDeliveryGivesEachStreamAConsumerInItsEndpointsGroup) {
  ConsumerLog consumers;
  TestBrokerOptions options;
  options.admin_listen_address = "";
  options.http_listen_address = "";
  options.shared_delivery = false;
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto es, (*broker)->Client("ES-PN"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto es_sub, es->Subscribe());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de_sub, de->Subscribe());
  EXPECT_EQ(consumers.With({"\"group\":\"liaison-deliver.ES-PN\""}).size(), 1u)
      << All(consumers.Lines());
  EXPECT_EQ(consumers.With({"\"group\":\"liaison-deliver.DE-BKA\""}).size(), 1u)
      << All(consumers.Lines());
  EXPECT_EQ(consumers.Lines().size(), 4u) << All(consumers.Lines());
}

}  // namespace
}  // namespace liaison::testing
