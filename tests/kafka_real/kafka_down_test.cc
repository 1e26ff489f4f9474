// Kafka down while the exchange runs (issue 10, "Bad input and faults"): a
// broker on its own one-node real Kafka (deploy/kafka/cluster.sh, ACLs of
// deploy/kafka/acls.sh, principal liaison-policy over mutual TLS). A sender
// streams alerts; the whole Kafka cluster is stopped under it, then started
// again on the same state folder. While Kafka is down, sends are answered
// UNAVAILABLE within the produce timeout (not a hang, not INTERNAL); every
// message answered "accepted", before, during or after the outage, is
// delivered exactly once; an UNAVAILABLE one sent again with the same id is
// delivered exactly once too.
//
// The mock's version, with brokers of the embedded cluster going down, is
// Exchange.KafkaBrokerDownDuringSendsNeverLosesAnAcceptedMessage
// (tests/integration/exchange_test.cc).
//
// LIAISON_KAFKA_DOWN_STATE names the cluster's state folder (wiped first).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using endpoint::Subscription;
using endpoint::VerifiedItem;

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
  return Shell(absl::StrCat("'", kCluster, "' stop --state-dir '", state, "' >/dev/null"));
}

struct Outcome {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  bool answered = false;
  absl::Time written, answered_at;
  bool while_down = false;  // written after Kafka was stopped, before it was started again
};

TEST(KafkaDown, SendAnswersUnavailableWhileKafkaIsDownAndNothingAcceptedIsLost) {
  const char* env = std::getenv("LIAISON_KAFKA_DOWN_STATE");
  ASSERT_NE(env, nullptr) << "set LIAISON_KAFKA_DOWN_STATE (ctest does)";
  const std::string state = env;
  ASSERT_EQ(StopKafka(state), 0);
  ASSERT_EQ(Shell(absl::StrCat("rm -rf '", state, "'")), 0);
  ASSERT_EQ(StartKafka(state), 0);
  ASSERT_EQ(Shell(absl::StrCat("eval \"$('", kCluster, "' env --state-dir '", state, "')\" && '",
                               kAcls, "' >'", state, "/acls.log' 2>&1")),
            0)
      << "acls.sh failed: see " << state << "/acls.log";
  setenv("LIAISON_TEST_KAFKA_STATE", state.c_str(), 1);

  // How long Kafka may take to acknowledge before a sender gets UNAVAILABLE.
  constexpr int kProduceTimeoutMs = 5000;
  TestBrokerOptions options;
  options.produce_timeout_ms = kProduceTimeoutMs;
  options.registry_path = RegistryWithHighBulkCaps();
  options.admin_listen_address = "";
  options.http_listen_address = "";
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  std::vector<std::unique_ptr<endpoint::Client>> clients;
  absl::StatusOr<std::vector<std::unique_ptr<Subscription>>> subs =
      SubscribeAll(**broker, {"DE-BKA"}, clients, 1000);
  ASSERT_TRUE(subs.ok()) << subs.status();
  absl::StatusOr<std::unique_ptr<endpoint::Client>> ro = (*broker)->Client("RO-IGPR");
  ASSERT_TRUE(ro.ok()) << ro.status();

  // The sender: one alert every 50 ms on one stream, until told to stop.
  absl::Mutex mu;
  std::vector<liaison::v1::SignedEnvelope> envelopes;
  std::vector<std::string> ids;
  std::vector<Outcome> outcomes;
  std::atomic<bool> down{false}, stop{false};
  std::unique_ptr<endpoint::SendStream> stream =
      (*ro)->OpenSendStream([&](const liaison::v1::SendResult& r) {
        absl::MutexLock lock(&mu);
        Outcome& o = outcomes.at(r.sequence());
        o.code = static_cast<absl::StatusCode>(r.code());
        o.answered = true;
        o.answered_at = absl::Now();
      });
  std::thread sender([&] {
    for (int i = 0; !stop; ++i) {
      liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA"}, absl::Now());
      m.mutable_header()->set_case_ref(absl::StrCat("RO-2026-", 100 + i % 12));
      absl::StatusOr<liaison::v1::SignedEnvelope> e = (*ro)->Seal(m, absl::Now());
      ASSERT_TRUE(e.ok()) << e.status();
      {
        absl::MutexLock lock(&mu);
        envelopes.push_back(*e);
        ids.push_back(m.header().message_id());
        outcomes.push_back(Outcome{.written = absl::Now(), .while_down = down.load()});
      }
      // The stream's sequence numbers count writes from 0: index i.
      ASSERT_TRUE(stream->Write(*e).ok());
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  auto count = [&](auto pred) {
    absl::MutexLock lock(&mu);
    int n = 0;
    for (const Outcome& o : outcomes) n += pred(o) ? 1 : 0;
    return n;
  };

  // Kafka up: the first sends are accepted.
  ASSERT_TRUE(WaitFor(
      [&] {
        return count([](const Outcome& o) {
                 return o.answered && o.code == absl::StatusCode::kOk;
               }) >= 10;
      },
      absl::Seconds(60)));
  // The whole cluster goes away under the sender.
  const absl::Time stopping = absl::Now();
  ASSERT_EQ(StopKafka(state), 0) << "no Kafka process may be left";
  down = true;
  std::cerr << "Kafka stopped in " << absl::ToDoubleSeconds(absl::Now() - stopping) << " s\n";
  // Sends written while it is down are answered UNAVAILABLE, each within
  // the produce timeout (plus scheduling slack on a loaded machine).
  ASSERT_TRUE(WaitFor(
      [&] {
        return count([](const Outcome& o) {
                 return o.while_down && o.answered && o.code == absl::StatusCode::kUnavailable;
               }) >= 5;
      },
      absl::Milliseconds(kProduceTimeoutMs) + absl::Seconds(30)))
      << "no UNAVAILABLE answer while Kafka was down";
  {
    absl::MutexLock lock(&mu);
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const Outcome& o = outcomes[i];
      if (!o.while_down || !o.answered) continue;
      EXPECT_EQ(o.code, absl::StatusCode::kUnavailable)
          << "message " << i
          << " written while Kafka was down: " << absl::StatusCodeToString(o.code);
      EXPECT_LE(o.answered_at - o.written,
                absl::Milliseconds(kProduceTimeoutMs) + absl::Seconds(10))
          << "message " << i << ": the answer took too long";
    }
  }

  // Kafka again, on the same data: sends are accepted again.
  ASSERT_EQ(StartKafka(state), 0);
  down = false;
  const int accepted_before_restart =
      count([](const Outcome& o) { return o.answered && o.code == absl::StatusCode::kOk; });
  ASSERT_TRUE(WaitFor(
      [&] {
        return count([](const Outcome& o) {
                 return o.answered && o.code == absl::StatusCode::kOk;
               }) >= accepted_before_restart + 10;
      },
      absl::Seconds(120)))
      << "sends are not accepted again after Kafka came back";
  stop = true;
  sender.join();
  ASSERT_TRUE(stream->Close().ok());

  // Every answer is OK or UNAVAILABLE; an UNAVAILABLE one is sent again
  // with the same id (safe to retry: at most a duplicate).
  std::vector<std::string> all_ids;
  std::map<std::string, absl::StatusCode> first_answer;
  int unavailable = 0;
  {
    absl::MutexLock lock(&mu);
    all_ids = ids;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      ASSERT_TRUE(outcomes[i].answered) << "message " << i << " never answered";
      const absl::StatusCode code = outcomes[i].code;
      first_answer[ids[i]] = code;
      EXPECT_TRUE(code == absl::StatusCode::kOk || code == absl::StatusCode::kUnavailable)
          << "message " << i << ": " << absl::StatusCodeToString(code);
      if (code == absl::StatusCode::kUnavailable) ++unavailable;
    }
  }
  for (size_t i = 0; i < all_ids.size(); ++i) {
    if (first_answer[all_ids[i]] == absl::StatusCode::kOk) continue;
    absl::StatusOr<liaison::v1::SendResult> r;
    for (int attempt = 0; attempt < 5; ++attempt) {
      r = (*ro)->Send(envelopes[i], absl::Seconds(20));
      if (r.ok()) break;
    }
    ASSERT_TRUE(r.ok()) << "retry of message " << i << ": " << r.status();
  }
  std::cerr << all_ids.size() << " messages, " << unavailable
            << " answered UNAVAILABLE while Kafka was down (then sent again)\n";

  // Every message is delivered exactly once.
  std::multiset<std::string> delivered;
  WaitFor(
      [&] {
        for (auto& r : Collect(*(*subs)[0], 1000, absl::Seconds(1))) {
          if (r.verified.ok() && r.verified->kind() == VerifiedItem::Kind::kDelivery) {
            delivered.insert(r.verified->message()->header().message_id());
          }
        }
        for (const std::string& id : all_ids) {
          if (delivered.count(id) == 0) return false;
        }
        return true;
      },
      absl::Seconds(120));
  for (const std::string& id : all_ids) {
    EXPECT_EQ(delivered.count(id), 1u)
        << id
        << (first_answer[id] == absl::StatusCode::kOk ? " was accepted" : " was accepted on retry");
  }

  subs->clear();
  clients.clear();
  ro->reset();
  broker->reset();
  EXPECT_EQ(StopKafka(state), 0);
}

}  // namespace
}  // namespace liaison::testing
