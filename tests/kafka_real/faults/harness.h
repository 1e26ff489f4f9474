// The fault harness shared by the fault tests (faults_test.cc) and the soak
// (soak_main.cc): real liaison-broker processes that can be killed
// (BrokerNode), the leaders of a topic's partitions (LeaderProbe), and a
// flood of alerts from two senders to two recipients through several
// nodes, with failover and resends, every endpoint recorded into a history
// (Flood, tests/history).
//
// No gtest here: what goes wrong inside the flood's threads is collected
// (Flood::Shutdown) for the caller to report.
#ifndef LIAISON_TESTS_KAFKA_REAL_FAULTS_HARNESS_H_
#define LIAISON_TESTS_KAFKA_REAL_FAULTS_HARNESS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/endpoint/client.h"
#include "connectors/kafka/client_config.h"
#include "tests/history/recorder.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace liaison::testing {

// deploy/kafka/cluster.sh of this source tree.
extern const std::string kCluster;
// tests/kafka_real/faults/netcut.sh of this source tree.
extern const std::string kNetcut;
extern const std::vector<std::string> kSenders;
extern const std::vector<std::string> kRecipients;

// The exit status of `command` run by the shell (-1 when it did not exit).
int Shell(const std::string& command);

// Progress lines carry the time since `harness_start` (set it when a run
// begins).
extern absl::Time harness_start;
std::ostream& Say();
std::string Secs(absl::Duration d);

// A loopback port nothing listens on now (kept by a node across restarts).
int FreePort();
// The last `lines` lines of a file.
std::string Tail(const std::string& path, int lines);

// Kill (SIGKILL) and start node `n` of the cluster.sh cluster in `state`;
// the exit status of cluster.sh.
int KillKafkaNode(const std::string& state, int n);
int StartKafkaNode(const std::string& state, int n);
// tests/kafka_real/faults/netcut.sh `command` ("check", "isolate", "cut",
// "heal", "restore") for node `n` of the cluster in `state`: a node cut off
// the network with a network namespace; the exit status.
int NetworkCut(const std::string& command, const std::string& state, int n);
// The Kafka node the network-cut fault cuts off (the fault test and the soak).
constexpr int kCutNode = 3;
// Starts node `n` again when its pid file is missing (a run before left it
// down); false when it could not be started.
bool EnsureKafkaNode(const std::string& state, int n);

// The arguments of a fault run's broker node `name` (after --state-dir,
// --listen ...): the cluster of `kafka_state`, the shared test PKI, topics
// under `prefix`, a transactional id of its own.
std::vector<std::string> FaultNodeArgs(const std::string& name, const std::string& kafka_state,
                                       const std::string& pseudonym_key, const std::string& prefix,
                                       const std::string& registry);

// One liaison-broker process on a fixed port (the same after a restart, so
// that endpoints' target lists stay valid). Killed with the test process
// (PR_SET_PDEATHSIG) and at destruction.
class BrokerNode {
 public:
  BrokerNode(std::string name, std::string dir, std::vector<std::string> args);
  ~BrokerNode() { Kill(); }

  // Starts the process and waits until it serves (broker.json written).
  absl::Status Start(absl::Duration timeout = absl::Seconds(240));
  // SIGKILL: a crash, nothing flushed, no group left.
  void Kill();
  // SIGTERM (a clean stop); the exit status.
  int Stop();
  // SIGSTOP / SIGCONT: the process frozen (a VM paused, a long GC-like
  // stall): its Kafka sessions run out while it is; then it runs on.
  void Freeze();
  void Thaw();
  std::string target() const;
  const std::string& name() const { return name_; }

 private:
  const std::string name_, dir_;
  const std::vector<std::string> args_;
  const int port_;
  pid_t pid_ = -1;
};

// Leaders of a topic's partitions by metadata requests (partition -> Kafka
// node id; -1 while none).
class LeaderProbe {
 public:
  explicit LeaderProbe(const kafka::ClientConfig& config);
  ~LeaderProbe();
  absl::StatusOr<std::map<int32_t, int32_t>> Leaders(const std::string& topic);

 private:
  rd_kafka_t* rk_ = nullptr;
};

// Ingress leaders by Kafka node; waits for the metadata up to a minute.
std::map<int32_t, int32_t> IngressLeaders(LeaderProbe& probe, const std::string& topic);
// "0->1,1->3,..."
std::string Describe(const std::map<int32_t, int32_t>& leaders);
// Waits until no partition of `topic` names `dead` as its leader; the time
// since `since` (infinite after two minutes).
absl::Duration WaitLeadersMoved(LeaderProbe& probe, const std::string& topic, int dead,
                                absl::Time since);

absl::StatusOr<std::unique_ptr<endpoint::Client>> ClientFor(const std::string& endpoint_id,
                                                            std::vector<std::string> targets);

// Senders and readers of one run. Senders send unary, one message at a
// time (per thread), and resend an unanswered or refused envelope (same id)
// until it is accepted; readers record, acknowledge and collect everything.
// Memory per message is a few dozen bytes (what was seen is kept as 64-bit
// hashes), so that a soak of a million messages fits.
class Flood {
 public:
  // `threads_per_sender` threads send for each sender endpoint (one client
  // each endpoint).
  Flood(history::Recorder& rec, std::map<std::string, std::vector<std::string>> targets,
        int threads_per_sender = 1);
  ~Flood();

  // Opens the subscriptions (readers start at once) and starts the senders.
  absl::Status Start();

  int64_t accepted() const { return accepted_.load(); }
  // Waits until `more` sends beyond now were accepted (false after `timeout`).
  bool WaitMoreAccepted(int64_t more, absl::Duration timeout = absl::Seconds(240));
  // Waits until `total` sends were accepted in all.
  bool WaitAccepted(int64_t total, absl::Duration timeout);
  // The senders stop; from then on the readers know what to expect.
  void StopSending();
  // Waits until every reader has everything it expects.
  bool WaitDrained(absl::Duration timeout);
  void CloseSubscriptions() { subs_.clear(); }
  // Stops everything; what went wrong in the flood's threads (sends refused
  // with other than "try again", sends never accepted, subscriptions that
  // ended), each once.
  std::vector<std::string> Shutdown();

  // The next reader of `endpoint` reads up to 20 items, acknowledges the
  // first half, closes its stream mid-window and subscribes again with its
  // targets in the order `targets` (another node first). Returns when done.
  bool ReconnectMidWindow(const std::string& endpoint, std::vector<std::string> targets);

  // The longest time a sender waited from a send's first attempt to its
  // acceptance, for sends accepted from `since` on (before `until`; every
  // sender).
  absl::Duration LongestUnavailable(absl::Time since, std::string* who) const;
  absl::Duration LongestUnavailable(absl::Time since, absl::Time until, std::string* who) const;
  int64_t refusals() const { return refusals_.load(); }
  std::vector<std::unique_ptr<endpoint::Client>>& senders() { return senders_; }
  endpoint::Subscription& subscription(const std::string& e);

  std::atomic<int> mid_window_unacked_{0};

 private:
  struct Wait {
    absl::Time accepted_at;
    absl::Duration took;
    int32_t attempts = 0;
    int32_t refusals = 0;
    uint8_t sender = 0;
  };
  // What a reader has seen, as hashes of "ID", "receipt ID RECIPIENT",
  // "notice ID".
  struct Seen {
    absl::flat_hash_set<uint64_t> keys;
    int64_t expected_seen = 0;  // distinct deliveries (recipient) or receipts (sender)
    absl::Time last_full_check = absl::InfinitePast();
  };

  void Fail(std::string what) ABSL_LOCKS_EXCLUDED(mu_);
  void Send(size_t i, int thread);
  bool Complete(const std::string& e, Seen& seen);
  void Read(size_t i);
  void MidWindowReconnect(size_t i, const std::vector<std::string>& targets,
                          const std::function<void(const endpoint::Subscription::Received&)>& take);

  history::Recorder& rec_;
  const std::map<std::string, std::vector<std::string>> targets_;
  const int threads_per_sender_;
  std::vector<std::string> endpoints_;
  std::vector<std::unique_ptr<endpoint::Client>> sub_clients_;
  std::vector<std::unique_ptr<endpoint::Subscription>> subs_;
  std::vector<std::unique_ptr<endpoint::Client>> senders_;
  std::vector<std::thread> sending_, readers_;
  std::atomic<bool> keep_sending_{true}, stop_readers_{false};
  std::atomic<size_t> readers_done_{0};
  std::atomic<int64_t> accepted_{0}, refusals_{0};
  mutable absl::Mutex mu_;
  bool final_ ABSL_GUARDED_BY(mu_) = false;
  // Accepted message ids (hashed) by sender.
  std::map<std::string, absl::flat_hash_set<uint64_t>> accepted_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<Wait> waits_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> reconnect_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> errors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_KAFKA_REAL_FAULTS_HARNESS_H_
