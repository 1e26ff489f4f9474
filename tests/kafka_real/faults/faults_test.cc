// Fault tests (issue 14 item 3, label `faults`): real faults on the real
// 3-node KRaft cluster of deploy/kafka/cluster.sh (the fixture `kafka_faults`,
// a cluster of its own: these tests kill its nodes) with real liaison-broker
// processes (so that they can be killed with SIGKILL). Two senders flood
// alerts to two recipients through two broker nodes; every endpoint and the
// audit trail are recorded (tests/history) and the history must check clean:
// nothing accepted lost, nothing delivered twice, by (message id, recipient).
//
// Each test prints the longest unavailability a sender saw (first attempt of
// a send to its acceptance, failovers and resends with the same id
// included) and how long the partitions took to move (the longest stall of
// policy decisions on one ingress partition across the fault, from the audit
// trail; for Kafka faults also the leader moves of the ingress partitions).
//
// LIAISON_TEST_KAFKA_STATE names the cluster's state folder (ctest sets it).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "broker/core/topics.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/history/checker.h"
#include "tests/history/history.h"
#include "tests/history/recorder.h"
#include "tests/kafka_real/faults/harness.h"

namespace liaison::testing {
namespace {

using endpoint::Client;
using endpoint::Subscription;
using history::Recorder;

// Accepted sends (both senders together) before the fault, and after the
// fault has healed, before the senders stop.
constexpr int kBefore = 60;
constexpr int kAfter = 80;

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = harness_start = absl::Now();
    state_ = RealKafkaStateDir();
    ASSERT_FALSE(state_.empty()) << "set LIAISON_TEST_KAFKA_STATE (ctest does)";
    // A test before may have left a node down, or cut off (a run that died
    // mid-cut): all three run on the host first.
    ASSERT_EQ(NetworkCut("restore", state_, kCutNode), 0);
    for (int n = 1; n <= 3; ++n) EnsureKafkaNode(n);
    absl::StatusOr<kafka::ClientConfig> kafka = RealKafkaClient(state_);
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = *kafka;
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/liaison-faults-", getpid(), "-",
                        info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    prefix_ = absl::StrCat("liaison.f", getpid(), "-", absl::ToUnixMicros(absl::Now()) % 1000000);
    (void)SharedTestPki();  // minted before any fork()
    std::ofstream(dir_ + "/pseudonym.key") << "faults-test-pseudonym-secret-32-bytes";
    registry_ = RegistryWithHighBulkCaps();
    absl::StatusOr<std::unique_ptr<Recorder>> rec = Recorder::Open(dir_ + "/run.history");
    ASSERT_TRUE(rec.ok()) << rec.status();
    rec_ = *std::move(rec);
  }
  void TearDown() override {
    // What went wrong in the flood's threads fails the test.
    if (flood_ != nullptr) {
      for (const std::string& e : flood_->Shutdown()) ADD_FAILURE() << e;
    }
    flood_.reset();
    nodes_.clear();
    // The cut node back on the host, for the tests after this one.
    if (!state_.empty()) EXPECT_EQ(NetworkCut("restore", state_, kCutNode), 0);
    Say() << "test took " << Secs(absl::Now() - t0_) << "\n";
    if (!HasFailure() && std::getenv("LIAISON_HISTORY_KEEP") == nullptr) {
      std::filesystem::remove_all(dir_);
    } else {
      Say() << "kept: " << dir_ << " (history, broker logs)\n";
    }
  }

  void EnsureKafkaNode(int n) {
    ASSERT_TRUE(testing::EnsureKafkaNode(state_, n))
        << "Kafka node " << n << " could not be started again";
  }
  int KillKafkaNode(int n) { return testing::KillKafkaNode(state_, n); }
  int StartKafkaNode(int n) { return testing::StartKafkaNode(state_, n); }

  // Starts `count` broker nodes on the cluster, one after the other (the
  // first creates the topics).
  void StartNodes(int count) {
    for (int i = 0; i < count; ++i) {
      const std::string name = std::string(1, static_cast<char>('A' + i));
      nodes_.push_back(std::make_unique<BrokerNode>(
          name, absl::StrCat(dir_, "/node-", name),
          FaultNodeArgs(name, state_, dir_ + "/pseudonym.key", prefix_, registry_)));
      const absl::Time t = absl::Now();
      absl::Status s = nodes_.back()->Start();
      ASSERT_TRUE(s.ok()) << s;
      Say() << "node " << name << " serving on " << nodes_.back()->target() << " after "
            << Secs(absl::Now() - t) << "\n";
    }
  }

  // RO-IGPR and NL-NP start on A, DE-BKA and FR-OCRTEH on B; all have both.
  void StartFlood() {
    const std::string a = nodes_[0]->target(), b = nodes_[1]->target();
    flood_ = std::make_unique<Flood>(
        *rec_,
        std::map<std::string, std::vector<std::string>>{
            {"RO-IGPR", {a, b}}, {"NL-NP", {a, b}}, {"DE-BKA", {b, a}}, {"FR-OCRTEH", {b, a}}});
    absl::Status s = flood_->Start();
    ASSERT_TRUE(s.ok()) << s;
    Say() << "subscribed; flooding\n";
    ASSERT_TRUE(flood_->WaitMoreAccepted(kBefore)) << "the flood did not start";
    Say() << flood_->accepted() << " accepted; the fault\n";
  }

  // Stops the senders, drains, records the audit trail and checks the
  // history; prints the figures (the partition move when `moves`: the fault
  // moves ingress partitions or their leaders).
  void FinishAndCheck(absl::Time fault_at, bool moves = true) {
    flood_->StopSending();
    const int64_t accepted = flood_->accepted();
    Say() << "senders stopped: " << accepted << " accepted\n";
    EXPECT_TRUE(flood_->WaitDrained(absl::Minutes(4))) << "not everything arrived in time";
    Say() << "every reader has everything\n";
    std::string who;
    const absl::Duration unavailable = flood_->LongestUnavailable(fault_at, &who);
    const int64_t refusals = flood_->refusals();
    for (size_t i = 0; i < kSenders.size(); ++i) {
      const Client::Failovers f = flood_->senders()[i]->failovers();
      Say() << kSenders[i] << ": " << f.count << " sends moved to another node (longest "
            << Secs(f.longest) << ")\n";
    }
    for (const std::string& e : {"RO-IGPR", "DE-BKA", "NL-NP", "FR-OCRTEH"}) {
      const Subscription::Reconnects r = flood_->subscription(e).reconnects();
      Say() << e << " subscription: " << r.count << " reconnects (longest " << Secs(r.longest)
            << "), " << r.replays_dropped << " acknowledged items sent again and dropped\n";
    }
    flood_->CloseSubscriptions();
    ASSERT_TRUE(
        history::RecordAuditTrail(kafka_, broker::Topics(prefix_).Audit(), *rec_, absl::Minutes(2))
            .ok());
    Say() << "audit trail recorded\n";
    absl::StatusOr<std::vector<history::Event>> h = history::ReadHistory({dir_ + "/run.history"});
    ASSERT_TRUE(h.ok()) << h.status();

    // The partitions' move as the audit trail shows it: per ingress
    // partition (= audit chain), the gap between its last decision before
    // the fault and its first after.
    std::map<int32_t, std::vector<absl::Time>> decided;
    for (const history::Event& e : *h) {
      if (e.type == history::EventType::kAudit && e.audit_event == "decided") {
        decided[e.chain].push_back(e.at);
      }
    }
    absl::Duration longest_stall;
    int32_t stalled_chain = -1;
    for (auto& [chain, times] : decided) {
      std::sort(times.begin(), times.end());
      auto after = std::lower_bound(times.begin(), times.end(), fault_at);
      if (after == times.end() || after == times.begin()) continue;
      // The longest gap from the last decision before the fault to 10 s
      // after the first one after it.
      absl::Duration stall;
      for (auto it = after; it != times.end() && *it < *after + absl::Seconds(10); ++it) {
        stall = std::max(stall, *it - *(it - 1));
      }
      if (stall > longest_stall) {
        longest_stall = stall;
        stalled_chain = chain;
      }
    }

    const history::CheckResult r = history::Check(*h);
    std::string violations;
    for (const history::Violation& v : r.violations) {
      absl::StrAppend(&violations, v.ToString(), "\n");
    }
    EXPECT_TRUE(r.ok()) << violations << history::FormatSummary(r.summary);
    EXPECT_EQ(r.summary.accepted, accepted);
    EXPECT_EQ(r.summary.accepted, r.summary.sent);
    EXPECT_EQ(r.summary.pairs, accepted * static_cast<int64_t>(kRecipients.size()));
    EXPECT_EQ(r.summary.delivered, r.summary.pairs);
    EXPECT_EQ(r.summary.duplicates, 0);
    std::cout << history::FormatSummary(r.summary);
    Say() << "FIGURES " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << ": "
          << accepted << " accepted, " << refusals
          << " sends refused and sent again; longest sender unavailability " << Secs(unavailable)
          << (who.empty() ? "" : " by " + who) << "; "
          << (moves ? absl::StrCat("partition move (longest decision stall of one ingress "
                                   "partition across the fault) ",
                                   Secs(longest_stall), " (partition ", stalled_chain, ")")
                    : "no partition moves in this fault")
          << "\n";
  }

  std::string state_, dir_, prefix_, registry_;
  kafka::ClientConfig kafka_;
  absl::Time t0_;
  std::unique_ptr<Recorder> rec_;
  std::vector<std::unique_ptr<BrokerNode>> nodes_;
  std::unique_ptr<Flood> flood_;
};

// 1. One Kafka node is killed (SIGKILL) during the flood and started again
//    while the flood goes on.
TEST_F(Faults, KafkaNodeKilledAndRestartedDuringAFlood) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2));
  ASSERT_NO_FATAL_FAILURE(StartFlood());
  LeaderProbe probe(kafka_);
  const std::string ingress = broker::Topics(prefix_).Ingress();
  std::map<int32_t, int32_t> leaders = IngressLeaders(probe, ingress);
  Say() << "ingress leaders: " << Describe(leaders) << "\n";
  // The node leading the fewest ingress partitions (test 2 kills the most).
  std::map<int, int> led = {{1, 0}, {2, 0}, {3, 0}};
  for (const auto& [p, l] : leaders) ++led[l];
  const int victim = std::min_element(led.begin(), led.end(), [](const auto& x, const auto& y) {
                       return x.second < y.second;
                     })->first;
  const absl::Time fault_at = absl::Now();
  ASSERT_EQ(KillKafkaNode(victim), 0);
  Say() << "Kafka node " << victim << " (leader of " << led[victim]
        << " ingress partitions) killed\n";
  if (led[victim] > 0) {
    const absl::Duration moved = WaitLeadersMoved(probe, ingress, victim, fault_at);
    Say() << "its ingress partitions got other leaders " << Secs(moved) << " after the kill\n";
  }
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter / 2)) << "no progress with one Kafka node down";
  const absl::Time restart = absl::Now();
  ASSERT_EQ(StartKafkaNode(victim), 0);
  Say() << "Kafka node " << victim << " started again in " << Secs(absl::Now() - restart) << " ("
        << Secs(absl::Now() - fault_at) << " after the kill)\n";
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter));
  FinishAndCheck(fault_at);
}

// 2. The Kafka node leading the most ingress partitions is killed; the flood
//    goes on on two nodes (min.insync.replicas 2); it is started again after.
TEST_F(Faults, KafkaNodeLeadingTheIngressPartitionsKilled) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2));
  ASSERT_NO_FATAL_FAILURE(StartFlood());
  LeaderProbe probe(kafka_);
  const std::string ingress = broker::Topics(prefix_).Ingress();
  std::map<int32_t, int32_t> leaders = IngressLeaders(probe, ingress);
  Say() << "ingress leaders: " << Describe(leaders) << "\n";
  std::map<int, int> led;
  for (const auto& [p, l] : leaders) ++led[l];
  const int victim = std::max_element(led.begin(), led.end(), [](const auto& x, const auto& y) {
                       return x.second < y.second;
                     })->first;
  const absl::Time fault_at = absl::Now();
  ASSERT_EQ(KillKafkaNode(victim), 0);
  Say() << "Kafka node " << victim << " (leader of " << led[victim] << " of " << leaders.size()
        << " ingress partitions) killed\n";
  const absl::Duration moved = WaitLeadersMoved(probe, ingress, victim, fault_at);
  Say() << "ingress partitions got other leaders " << Secs(moved) << " after the kill\n";
  EXPECT_NE(moved, absl::InfiniteDuration()) << "the leaders never moved";
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter)) << "no progress with the leader down";
  flood_->StopSending();
  const absl::Time restart = absl::Now();
  ASSERT_EQ(StartKafkaNode(victim), 0);
  Say() << "Kafka node " << victim << " started again in " << Secs(absl::Now() - restart) << "\n";
  FinishAndCheck(fault_at);
}

// 3. Liaison node B is killed (SIGKILL) during the flood: its senders and
//    subscribers fail over to A, which takes B's ingress partitions after the
//    session timeout; unanswered sends go again with the same ids.
TEST_F(Faults, LiaisonNodeKilledDuringAFlood) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2));
  ASSERT_NO_FATAL_FAILURE(StartFlood());
  const absl::Time fault_at = absl::Now();
  nodes_[1]->Kill();
  Say() << "Liaison node B killed\n";
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter)) << "no progress with node B dead";
  FinishAndCheck(fault_at);
  EXPECT_GE(flood_->senders()[1]->failovers().count, 1) << "DE-BKA sent to B when it died";
}

// 4. A rolling restart: every Liaison node is stopped (SIGTERM) and started
//    again on the same port, one after the other, during the flood.
TEST_F(Faults, RollingRestartOfEveryLiaisonNode) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2));
  ASSERT_NO_FATAL_FAILURE(StartFlood());
  const absl::Time fault_at = absl::Now();
  for (auto& node : nodes_) {
    const absl::Time t = absl::Now();
    EXPECT_EQ(node->Stop(), 0) << node->name() << " did not stop cleanly";
    absl::Status s = node->Start();
    ASSERT_TRUE(s.ok()) << s;
    Say() << "node " << node->name() << " stopped and serving again in " << Secs(absl::Now() - t)
          << "\n";
    ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter / 2)) << "no progress after " << node->name();
  }
  FinishAndCheck(fault_at);
}

// 5. A subscriber (NL-NP, on A) reads part of its window, acknowledges half
//    of it, disconnects, and subscribes again on node B: the unacknowledged
//    half comes again, the acknowledged half never reaches it twice.
TEST_F(Faults, SubscriberDisconnectsMidWindowAndReconnectsToAnotherNode) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(2));
  ASSERT_NO_FATAL_FAILURE(StartFlood());
  const absl::Time fault_at = absl::Now();
  ASSERT_TRUE(flood_->ReconnectMidWindow("NL-NP", {nodes_[1]->target(), nodes_[0]->target()}));
  Say() << "NL-NP reconnected to node B with " << flood_->mid_window_unacked_.load()
        << " items of its window unacknowledged\n";
  EXPECT_GT(flood_->mid_window_unacked_.load(), 0);
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter));
  FinishAndCheck(fault_at, /*moves=*/false);
}

// 6. One Kafka node cut off the network with a network namespace
//    (netcut.sh): node 3 runs in a namespace of its own before the broker
//    nodes start (every port forwarded across a veth pair, so that the
//    cluster stays on 127.0.0.1); during the flood the pair is taken down for
//    at least 20 s, while the flood goes on on the two others, then up again.
TEST_F(Faults, KafkaNodeCutOffTheNetwork) {
  if (NetworkCut("check", state_, kCutNode) != 0) {
    GTEST_SKIP() << "network namespaces or veth pairs cannot be created here (netcut.sh check "
                    "said why above; root or CAP_NET_ADMIN and CAP_SYS_ADMIN, iproute2 and socat "
                    "are needed)";
  }
  const absl::Time isolating = absl::Now();
  ASSERT_EQ(NetworkCut("isolate", state_, kCutNode), 0);
  Say() << "Kafka node " << kCutNode << " runs in a network namespace of its own ("
        << Secs(absl::Now() - isolating) << " to move it)\n";
  ASSERT_NO_FATAL_FAILURE(StartNodes(2));
  ASSERT_NO_FATAL_FAILURE(StartFlood());
  LeaderProbe probe(kafka_);
  const std::string ingress = broker::Topics(prefix_).Ingress();
  const std::map<int32_t, int32_t> leaders = IngressLeaders(probe, ingress);
  int led = 0;
  for (const auto& [p, l] : leaders) led += l == kCutNode;
  Say() << "ingress leaders: " << Describe(leaders) << "\n";
  const absl::Time fault_at = absl::Now();
  ASSERT_EQ(NetworkCut("cut", state_, kCutNode), 0);
  Say() << "Kafka node " << kCutNode << " (leader of " << led
        << " ingress partitions) cut off the network\n";
  if (led > 0) {
    const absl::Duration moved = WaitLeadersMoved(probe, ingress, kCutNode, fault_at);
    Say() << "its ingress partitions got other leaders " << Secs(moved) << " after the cut\n";
  }
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter / 2)) << "no progress with one Kafka node cut off";
  absl::SleepFor(fault_at + absl::Seconds(20) - absl::Now());
  ASSERT_EQ(NetworkCut("heal", state_, kCutNode), 0);
  Say() << "Kafka node " << kCutNode << " reachable again " << Secs(absl::Now() - fault_at)
        << " after the cut\n";
  ASSERT_TRUE(flood_->WaitMoreAccepted(kAfter));
  FinishAndCheck(fault_at);
}

// 7. A Liaison node frozen (SIGSTOP) past its consumers' session timeout
//    (6 s): Kafka drops its group members; when it runs again its delivery
//    consumer finds its assignment lost and gets the partitions back. One of
//    them was held (paused) for DE-BKA, which had no stream open, with an
//    item in it: the node reads it again and DE-BKA's next stream gets the
//    item. (librdkafka kept such a partition paused across the new
//    assignment, and the item never came: kafka::Consumer clears the pause.)
//    No flood: one node, one sender, one recipient.
TEST_F(Faults, LiaisonNodeFrozenPastItsSessionReadsItsHeldPartitionsAgain) {
  ASSERT_NO_FATAL_FAILURE(StartNodes(1));
  const std::string a = nodes_[0]->target();
  absl::StatusOr<std::unique_ptr<Client>> ro = ClientFor("RO-IGPR", {a});
  absl::StatusOr<std::unique_ptr<Client>> de = ClientFor("DE-BKA", {a});
  ASSERT_TRUE(ro.ok()) << ro.status();
  ASSERT_TRUE(de.ok()) << de.status();
  auto send = [&]() -> std::string {
    liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA"}, absl::Now());
    absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*ro)->Seal(m, absl::Now());
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    if (!envelope.ok()) return "";
    absl::StatusOr<liaison::v1::SendResult> sent = (*ro)->Send(*envelope);
    EXPECT_TRUE(sent.ok()) << sent.status();
    return m.header().message_id();
  };
  auto delivered_ids = [](const std::vector<Subscription::Received>& items) {
    std::vector<std::string> ids;
    for (const Subscription::Received& r : items) {
      if (r.verified.ok() && r.verified->kind() == endpoint::VerifiedItem::Kind::kDelivery) {
        ids.push_back(r.verified->statement().attestation().message_id());
      }
    }
    return ids;
  };
  {
    // DE-BKA's partitions come to the node; then its stream goes.
    const std::string first = send();
    absl::StatusOr<std::unique_ptr<Subscription>> sub = (*de)->Subscribe();
    ASSERT_TRUE(sub.ok()) << sub.status();
    EXPECT_EQ(delivered_ids(Collect(**sub, 1, absl::Seconds(60))),
              std::vector<std::string>({first}));
    ASSERT_TRUE((*sub)->Close().ok());
  }
  // An item with no stream to take it: its partition is held.
  const std::string held = send();
  absl::SleepFor(absl::Seconds(3));

  const absl::Time fault_at = absl::Now();
  nodes_[0]->Freeze();
  absl::SleepFor(absl::Seconds(15));
  nodes_[0]->Thaw();
  Say() << "node A frozen for " << Secs(absl::Now() - fault_at) << "\n";

  // DE-BKA's next stream (the node rejoins the group meanwhile).
  absl::StatusOr<std::unique_ptr<Subscription>> sub = (*de)->Subscribe();
  ASSERT_TRUE(sub.ok()) << sub.status();
  const std::vector<std::string> got = delivered_ids(Collect(**sub, 1, absl::Seconds(90)));
  ASSERT_EQ(got, std::vector<std::string>({held})) << "the held item did not come";
  Say() << "FIGURES " << ::testing::UnitTest::GetInstance()->current_test_info()->name()
        << ": the held item came " << Secs(absl::Now() - fault_at) << " after the freeze began\n";
}

}  // namespace
}  // namespace liaison::testing
