// liaison-soak (issue 14 item 5; not a test): a long flood through two
// liaison-broker nodes on the 3-node KRaft cluster of deploy/kafka/cluster.sh,
// with one fault every --fault-every seconds, the faults in turn:
//
//   kafka-node-killed            kill -9 the Kafka node leading the fewest
//                                ingress partitions, start it again
//   kafka-ingress-leader-killed  kill -9 the one leading the most, start it again
//   liaison-node-killed          kill -9 one Liaison node (A, B in turn), start it again
//   liaison-rolling-restart      stop and start both Liaison nodes, one after the other
//   subscriber-reconnects        a recipient closes its stream mid-window and
//                                subscribes again on the other node
//   kafka-node-cut-off           Kafka node 3 cut off the network for at least
//                                20 s, then healed (netcut.sh: node 3 runs in a
//                                network namespace from the start; the kill
//                                faults then choose among nodes 1 and 2). Left
//                                out of the default where namespaces cannot
//                                be created (root or CAP_NET_ADMIN needed).
//
// Every endpoint and the audit trail are recorded (tests/history) into a
// file; at the end the history is checked in shards by message id (every
// rule of the checker concerns one message) so that a million messages fit,
// and the program prints accepted, delivered, lost, duplicated, the longest
// sender unavailability after each fault, the send-to-delivery latency
// outside fault windows, the checker's verdict and the peak memory.
//
// SIGINT or SIGTERM (Ctrl-C) stops the run early and cleanly: a fault under
// way is finished (a killed node started again, a cut healed), the senders
// stop, everything accepted so far is drained and checked and the report
// printed as for a whole run. A second signal ends the program at once.
//
// Exit: 0 clean; 1 lost, duplicated, violations, audit forks or a flood error; 2 usage;
// 3 the run could not be set up (cluster, nodes, subscriptions); 130 stopped
// by a signal, what ran checked clean.
// tests/README.md ("Fault tests") shows how to run it.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/core/topics.h"
#include "certs/testing/test_pki.h"
#include "connectors/kafka/admin.h"
#include "connectors/kafka/reader.h"
#include "liaison/v1/broker_state.pb.h"
#include "tests/fixtures/test_broker.h"
#include "tests/history/checker.h"
#include "tests/history/history.h"
#include "tests/history/recorder.h"
#include "tests/kafka_real/faults/harness.h"

namespace liaison::testing {

// Set by the first SIGINT or SIGTERM (InstallStopHandler).
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void InstallStopHandler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop_requested.store(true); };
  sa.sa_flags = SA_RESETHAND;  // a second signal: the default action
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}
namespace {

struct Options {
  int64_t messages = 1'000'000;
  double fault_every = 60;
  double settle = 30;
  std::string state_dir;
  bool start_kafka = false;
  std::string work_dir;
  std::string policy_transactions = "auto";  // the broker's default
  int threads = 4;
  int64_t shard_events = 200'000;
  std::vector<std::string> faults;  // the kinds in turn (default: kKinds)
  int min_faults = 0;
  bool keep = false;
};

struct Fault {
  std::string kind;
  std::string detail;
  absl::Time start, end;
  bool ok = true;
};

const std::string kCutOff = "kafka-node-cut-off";
const std::vector<std::string> kKinds = {"kafka-node-killed",     "kafka-ingress-leader-killed",
                                         "liaison-node-killed",   "liaison-rolling-restart",
                                         "subscriber-reconnects", kCutOff};

// Peak and current resident memory of this process (MB), from /proc.
std::string Memory() {
  std::ifstream in("/proc/self/status");
  std::string peak = "?", now = "?";
  for (std::string line; std::getline(in, line);) {
    auto value = [&](const char* key, std::string& out) {
      if (line.rfind(key, 0) != 0) return;
      const int64_t kb = std::atoll(line.c_str() + std::string(key).size());
      out = absl::StrFormat("%.0f MB", kb / 1024.0);
    };
    value("VmHWM:", peak);
    value("VmRSS:", now);
  }
  return absl::StrCat("peak RSS ", peak, ", now ", now);
}

void Add(history::Summary& to, const history::Summary& s) {
  to.sent += s.sent;
  to.accepted += s.accepted;
  to.rejected += s.rejected;
  for (const auto& [code, n] : s.rejected_by_code) to.rejected_by_code[code] += n;
  to.pairs += s.pairs;
  to.delivered += s.delivered;
  to.deliveries += s.deliveries;
  to.redelivered += s.redelivered;
  to.duplicates += s.duplicates;
  to.acknowledged += s.acknowledged;
  to.refused_with_notice += s.refused_with_notice;
  to.lost_with_notice += s.lost_with_notice;
  to.expired_with_notice += s.expired_with_notice;
  to.held += s.held;
  to.unobserved += s.unobserved;
  to.receipts += s.receipts;
  to.pending_receipts += s.pending_receipts;
  to.audit_entries += s.audit_entries;
  to.violations += s.violations;
}

// history::RecordAuditTrail in pieces: audit::AllEntries holds the whole
// topic twice over (records and entries; about 1.5 KB an entry, and a
// million messages make four million entries), this reads each partition
// 20,000 offsets at a time and records as it goes. The same entries: one of
// each (chain, seq), the first read; `forks` counts entries that share a
// (chain, seq) with a different one read before (audit verify's fork).
absl::Status RecordAuditInPieces(const kafka::ClientConfig& kafka, const std::string& topic,
                                 history::Recorder& rec, absl::Duration timeout, int64_t* entries,
                                 int64_t* forks) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<int> partitions = kafka::PartitionCount(kafka, topic, timeout);
  if (!partitions.ok()) return partitions.status();
  absl::StatusOr<std::unique_ptr<kafka::RecordDeleter>> admin = kafka::RecordDeleter::Create(kafka);
  if (!admin.ok()) return admin.status();
  absl::flat_hash_map<std::pair<int32_t, uint64_t>, uint64_t> seen;  // (chain, seq) -> entry hash
  for (int32_t p = 0; p < *partitions; ++p) {
    absl::StatusOr<std::pair<int64_t, int64_t>> marks =
        (*admin)->Watermarks({topic, p}, deadline - absl::Now());
    if (!marks.ok()) return marks.status();
    for (int64_t from = marks->first; from < marks->second; from += 20000) {
      absl::StatusOr<std::vector<kafka::Record>> part = kafka::ReadPartition(
          kafka, topic, p, from, std::min(from + 20000, marks->second), deadline - absl::Now());
      if (!part.ok()) return part.status();
      for (const kafka::Record& r : *part) {
        liaison::v1::AuditRecord record;
        if (!record.ParseFromString(r.value)) continue;
        for (const liaison::v1::AuditEntry& e : record.entries()) {
          const uint64_t hash = absl::HashOf(e.SerializeAsString());
          auto [it, added] = seen.try_emplace(std::make_pair(e.chain(), e.seq()), hash);
          if (!added) {
            if (it->second != hash) ++*forks;
            continue;
          }
          ++*entries;
          if (!e.message_id().empty()) rec.Record(history::AuditEvent(e));
        }
      }
    }
  }
  return rec.status();
}

class Soak {
 public:
  explicit Soak(Options o) : o_(std::move(o)) {}
  ~Soak() {
    flood_.reset();
    nodes_.clear();
    if (isolated_) NetworkCut("restore", o_.state_dir, kCutNode);
    if (own_cluster_) {
      Shell(absl::StrCat("'", kCluster, "' stop --state-dir '", o_.state_dir, "' >/dev/null"));
    }
  }

  int Run() {
    harness_start = absl::Now();
    if (int rc = SetUp(); rc != 0) return rc;
    const absl::Time flood_start = absl::Now();
    Inject();
    const int64_t target = o_.messages;
    const bool stopped = g_stop_requested.load();
    if (!stopped && !flood_->WaitAccepted(target, absl::Minutes(10))) {
      errors_.push_back(absl::StrCat("the flood stalled at ", flood_->accepted(), " accepted"));
    }
    flood_->StopSending();
    const absl::Time flood_end = absl::Now();
    const int64_t accepted = flood_->accepted();
    Say() << "senders stopped" << (stopped ? " (stop requested by a signal)" : "") << ": "
          << accepted << " accepted in " << Secs(flood_end - flood_start) << "\n";
    const absl::Duration drain = absl::Minutes(5) + absl::Seconds(accepted / 200);
    if (!flood_->WaitDrained(drain)) {
      errors_.push_back(absl::StrCat("not everything arrived within ", Secs(drain),
                                     " after the senders stopped"));
    }
    Say() << "readers done\n";
    for (std::string& e : flood_->Shutdown()) errors_.push_back(std::move(e));
    for (size_t i = 0; i < kSenders.size(); ++i) {
      const endpoint::Client::Failovers f = flood_->senders()[i]->failovers();
      Say() << kSenders[i] << ": " << f.count << " sends moved to another node (longest "
            << Secs(f.longest) << ")\n";
    }
    std::vector<absl::Duration> unavailable;
    std::vector<std::string> who(faults_.size());
    for (size_t i = 0; i < faults_.size(); ++i) {
      const absl::Time until =
          i + 1 < faults_.size() ? faults_[i + 1].start : absl::InfiniteFuture();
      unavailable.push_back(flood_->LongestUnavailable(faults_[i].start, until, &who[i]));
    }
    const int64_t refusals = flood_->refusals();
    flood_->CloseSubscriptions();
    int64_t audit_entries = 0, forks = 0;
    absl::Status audit = RecordAuditInPieces(kafka_, broker::Topics(prefix_).Audit(), *rec_,
                                             absl::Minutes(20), &audit_entries, &forks);
    if (!audit.ok()) errors_.push_back(absl::StrCat("audit trail: ", audit.ToString()));
    Say() << "audit trail recorded: " << audit_entries << " entries; " << Memory() << "\n";
    flood_.reset();
    for (auto& n : nodes_) n->Stop();
    nodes_.clear();

    // The check, and the latencies, shard by shard.
    history::Summary sum;
    std::vector<std::string> violations;
    int64_t violation_count = 0;
    std::vector<int64_t> latencies_us;
    int64_t in_windows = 0;
    if (absl::Status s = CheckInShards(sum, violations, violation_count, latencies_us, in_windows);
        !s.ok()) {
      errors_.push_back(absl::StrCat("history: ", s.ToString()));
    }

    // The report.
    const int64_t lost = sum.pairs - sum.delivered - sum.refused_with_notice;
    std::cout << "\n==== liaison-soak: " << o_.messages << " messages asked"
              << (stopped ? absl::StrCat(", stopped by a signal at ", accepted, " accepted") : "")
              << ", " << faults_.size() << " faults (one every " << o_.fault_every
              << " s after the last one ended), policy transactions " << o_.policy_transactions
              << " ====\n";
    std::cout << absl::StrFormat(
        "flood: %d accepted in %.0f s (%.1f accepted/s), %d sends "
        "refused and sent again with the same id\n",
        accepted, absl::ToDoubleSeconds(flood_end - flood_start),
        accepted / absl::ToDoubleSeconds(flood_end - flood_start), refusals);
    std::cout << "accepted:   " << sum.accepted << " messages (" << sum.pairs
              << " message-recipient pairs)\n";
    std::cout << "delivered:  " << sum.delivered << " pairs (" << sum.deliveries << " deliveries, "
              << sum.redelivered << " redelivered before an acknowledgement the broker took)\n";
    std::cout << "lost:       " << lost
              << " (must be 0; of them the sender told LOST: " << sum.lost_with_notice << ")\n";
    std::cout << "duplicated: " << sum.duplicates << " (must be 0)\n";
    std::cout << "longest sender unavailability after each fault (first attempt of a send to "
                 "its acceptance, for sends accepted from the fault to the next one):\n";
    for (size_t i = 0; i < faults_.size(); ++i) {
      const Fault& f = faults_[i];
      std::cout << absl::StrFormat(
          "  fault %2d at %7.1f s  %-28s %-44s lasted %7.2f s, longest "
          "unavailability %6.2f s%s%s\n",
          i + 1, absl::ToDoubleSeconds(f.start - harness_start), f.kind, f.detail,
          absl::ToDoubleSeconds(f.end - f.start), absl::ToDoubleSeconds(unavailable[i]),
          who[i].empty() ? "" : " by " + who[i], f.ok ? "" : " FAILED");
    }
    std::sort(latencies_us.begin(), latencies_us.end());
    auto pct = [&](double p) {
      if (latencies_us.empty()) return std::string("-");
      const size_t k =
          std::min(latencies_us.size() - 1, static_cast<size_t>(p / 100.0 * latencies_us.size()));
      return absl::StrFormat("%.1f ms", latencies_us[k] / 1000.0);
    };
    std::cout << "latency send -> delivered outside fault windows (a fault window runs from the "
                 "fault's start to "
              << o_.settle
              << " s after it ended; a pair counts when its send and its first delivery both "
                 "fall outside every window): "
              << latencies_us.size() << " pairs (" << in_windows << " in windows), p50 " << pct(50)
              << ", p99 " << pct(99) << ", max " << pct(100) << "\n";
    std::cout << "audit trail: " << audit_entries << " entries, " << forks
              << " entries sharing a (chain, seq) with a different entry (forks, must be 0: "
                 "audit verify refuses them; the first read is the one checked)\n";
    std::cout << "checker: " << (violation_count == 0 ? "OK" : "VIOLATIONS") << ", "
              << violation_count << " violations\n";
    for (const std::string& v : violations) std::cout << "  " << v << "\n";
    std::cout << history::FormatSummary(sum);
    for (const std::string& e : errors_) std::cout << "error: " << e << "\n";
    std::cout << "memory: " << Memory() << "\n";
    const bool ok = lost == 0 && sum.duplicates == 0 && violation_count == 0 && forks == 0 &&
                    errors_.empty() && sum.accepted == accepted;
    if (sum.accepted != accepted) {
      std::cout << "error: the senders saw " << accepted << " accepted, the history "
                << sum.accepted << "\n";
    }
    std::cout << "verdict: " << (ok ? "PASS" : "FAIL")
              << (stopped ? absl::StrCat(" (stopped early: ", accepted, " of ", o_.messages,
                                         " messages)")
                          : "")
              << "\n";
    if (ok && !o_.keep) {
      std::filesystem::remove_all(o_.work_dir);
    } else {
      std::cout << "kept: " << o_.work_dir << " (history, broker logs)\n";
    }
    if (!ok) return 1;
    return stopped ? 130 : 0;
  }

 private:
  int SetUp() {
    if (o_.work_dir.empty()) o_.work_dir = absl::StrCat("/tmp/liaison-soak-", getpid());
    std::filesystem::remove_all(o_.work_dir);
    std::filesystem::create_directories(o_.work_dir);
    (void)SharedTestPki();  // minted before any fork()
    if (o_.start_kafka) {
      o_.state_dir = o_.work_dir + "/kafka";
      const std::string kafka = std::string(LIAISON_SOURCE_DIR) + "/deploy/kafka";
      Say() << "starting a 3-node cluster in " << o_.state_dir << "\n";
      if (Shell(absl::StrCat("'", kCluster, "' start --nodes 3 --state-dir '", o_.state_dir,
                             "' --stop-with ", getpid(), " --timeout 600 >'", o_.work_dir,
                             "/cluster.log' 2>&1 && eval \"$('", kCluster, "' env --state-dir '",
                             o_.state_dir, "')\" && '", kafka, "/acls.sh' >'", o_.work_dir,
                             "/acls.log' 2>&1")) != 0) {
        std::cerr << "error: the cluster did not start; see " << o_.work_dir
                  << "/cluster.log and acls.log\n";
        return 3;
      }
      own_cluster_ = true;
    }
    for (int n = 1; n <= 3; ++n) {
      if (!EnsureKafkaNode(o_.state_dir, n)) {
        std::cerr << "error: Kafka node " << n << " of " << o_.state_dir << " could not start\n";
        return 3;
      }
    }
    if (std::find(o_.faults.begin(), o_.faults.end(), kCutOff) != o_.faults.end()) {
      if (NetworkCut("restore", o_.state_dir, kCutNode) != 0 ||
          NetworkCut("check", o_.state_dir, kCutNode) != 0) {
        std::cerr << "error: " << kCutOff
                  << " needs network namespaces and veth pairs (netcut.sh check said why "
                     "above); leave it out of --faults\n";
        return 3;
      }
      const absl::Time t = absl::Now();
      isolated_ = true;
      if (NetworkCut("isolate", o_.state_dir, kCutNode) != 0) {
        std::cerr << "error: Kafka node " << kCutNode
                  << " could not be moved into a network namespace\n";
        return 3;
      }
      Say() << "Kafka node " << kCutNode << " runs in a network namespace of its own (moved in "
            << Secs(absl::Now() - t) << ")\n";
    }
    absl::StatusOr<kafka::ClientConfig> kafka = RealKafkaClient(o_.state_dir);
    if (!kafka.ok()) {
      std::cerr << "error: " << kafka.status() << "\n";
      return 3;
    }
    kafka_ = *kafka;
    prefix_ = absl::StrCat("liaison.s", getpid(), "-", absl::ToUnixMicros(absl::Now()) % 1000000);
    std::ofstream(o_.work_dir + "/pseudonym.key") << "soak-run-pseudonym-secret-32-bytes-long";
    const std::string registry = RegistryWithHighBulkCaps();
    absl::StatusOr<std::unique_ptr<history::Recorder>> rec =
        history::Recorder::Open(o_.work_dir + "/run.history");
    if (!rec.ok()) {
      std::cerr << "error: " << rec.status() << "\n";
      return 3;
    }
    rec_ = *std::move(rec);
    for (const std::string name : {"A", "B"}) {
      std::vector<std::string> args =
          FaultNodeArgs(name, o_.state_dir, o_.work_dir + "/pseudonym.key", prefix_, registry);
      args.push_back("--policy-transactions");
      args.push_back(o_.policy_transactions);
      nodes_.push_back(
          std::make_unique<BrokerNode>(name, absl::StrCat(o_.work_dir, "/node-", name), args));
      const absl::Time t = absl::Now();
      if (absl::Status s = nodes_.back()->Start(); !s.ok()) {
        std::cerr << "error: " << s << "\n";
        return 3;
      }
      Say() << "node " << name << " serving on " << nodes_.back()->target() << " after "
            << Secs(absl::Now() - t) << "\n";
    }
    const std::string a = nodes_[0]->target(), b = nodes_[1]->target();
    targets_ = {{"RO-IGPR", {a, b}}, {"NL-NP", {a, b}}, {"DE-BKA", {b, a}}, {"FR-OCRTEH", {b, a}}};
    flood_ = std::make_unique<Flood>(*rec_, targets_, o_.threads);
    if (absl::Status s = flood_->Start(); !s.ok()) {
      std::cerr << "error: " << s << "\n";
      return 3;
    }
    Say() << "subscribed; flooding " << o_.messages << " messages, " << o_.threads
          << " sending threads per sender\n";
    return 0;
  }

  // Waits for `more` accepted sends after a step of a fault (the fault's
  // end is when the flood goes on).
  bool Progress(Fault& f, int64_t more = 20) {
    if (flood_->WaitMoreAccepted(more, absl::Minutes(4))) return true;
    f.ok = false;
    errors_.push_back(
        absl::StrCat(f.kind, " at ", Secs(f.start - harness_start), ": no progress within 4 min"));
    return false;
  }

  // The flood has its messages and at least --min-faults faults came.
  bool Done() const {
    return g_stop_requested.load() || (flood_->accepted() >= o_.messages &&
                                       faults_.size() >= static_cast<size_t>(o_.min_faults));
  }

  // Injects faults one after the other until Done(): the next one starts
  // --fault-every seconds after the last one ended.
  void Inject() {
    absl::Time next = absl::Now() + absl::Seconds(o_.fault_every);
    LeaderProbe probe(kafka_);
    const std::string ingress = broker::Topics(prefix_).Ingress();
    for (size_t i = 0;; ++i) {
      while (absl::Now() < next) {
        if (Done()) return;
        absl::SleepFor(absl::Milliseconds(100));
      }
      if (Done()) return;
      Fault f{o_.faults[i % o_.faults.size()], "", absl::Now(), {}};
      Say() << "fault " << i + 1 << ": " << f.kind << " (" << flood_->accepted() << " accepted)\n";
      if (f.kind == "kafka-node-killed" || f.kind == "kafka-ingress-leader-killed") {
        const std::map<int32_t, int32_t> leaders = IngressLeaders(probe, ingress);
        // The node in its namespace is not killed: it could not be started
        // again there (netcut.sh isolate does that once).
        std::map<int, int> led = {{1, 0}, {2, 0}, {3, 0}};
        if (isolated_) led.erase(kCutNode);
        for (const auto& [p, l] : leaders) {
          if (led.count(l) > 0) ++led[l];
        }
        auto fewer = [](const auto& x, const auto& y) { return x.second < y.second; };
        const int victim = f.kind == "kafka-node-killed"
                               ? std::min_element(led.begin(), led.end(), fewer)->first
                               : std::max_element(led.begin(), led.end(), fewer)->first;
        f.start = absl::Now();
        if (KillKafkaNode(o_.state_dir, victim) != 0) f.ok = false;
        f.detail = absl::StrCat("node ", victim, " (led ", led[victim], " of ", leaders.size(),
                                " ingress partitions)");
        if (led[victim] > 0) {
          const absl::Duration moved = WaitLeadersMoved(probe, ingress, victim, f.start);
          absl::StrAppend(&f.detail, ", leaders moved in ", Secs(moved));
        }
        Progress(f);
        if (StartKafkaNode(o_.state_dir, victim) != 0) {
          f.ok = false;
          errors_.push_back(absl::StrCat("Kafka node ", victim, " did not start again"));
        }
        Progress(f);
      } else if (f.kind == kCutOff) {
        const std::map<int32_t, int32_t> leaders = IngressLeaders(probe, ingress);
        int led = 0;
        for (const auto& [p, l] : leaders) led += l == kCutNode;
        f.start = absl::Now();
        if (NetworkCut("cut", o_.state_dir, kCutNode) != 0) f.ok = false;
        f.detail = absl::StrCat("node ", kCutNode, " (led ", led, " of ", leaders.size(),
                                " ingress partitions)");
        if (led > 0) {
          const absl::Duration moved = WaitLeadersMoved(probe, ingress, kCutNode, f.start);
          absl::StrAppend(&f.detail, ", leaders moved in ", Secs(moved));
        }
        Progress(f);
        absl::SleepFor(f.start + absl::Seconds(20) - absl::Now());
        if (NetworkCut("heal", o_.state_dir, kCutNode) != 0) {
          f.ok = false;
          errors_.push_back(absl::StrCat("Kafka node ", kCutNode, " could not be healed"));
        }
        absl::StrAppend(&f.detail, ", healed after ", Secs(absl::Now() - f.start));
        Progress(f);
      } else if (f.kind == "liaison-node-killed") {
        BrokerNode& node = *nodes_[liaison_kills_++ % nodes_.size()];
        f.detail = absl::StrCat("node ", node.name());
        node.Kill();
        Progress(f);
        if (absl::Status s = node.Start(); !s.ok()) {
          f.ok = false;
          errors_.push_back(s.ToString());
        }
        Progress(f);
      } else if (f.kind == "liaison-rolling-restart") {
        f.detail = "nodes A then B";
        for (auto& node : nodes_) {
          if (node->Stop() != 0) {
            f.ok = false;
            errors_.push_back(absl::StrCat("node ", node->name(), " did not stop cleanly"));
          }
          if (absl::Status s = node->Start(); !s.ok()) {
            f.ok = false;
            errors_.push_back(s.ToString());
          }
          Progress(f);
        }
      } else {
        const std::string& e = kRecipients[reconnects_++ % kRecipients.size()];
        std::vector<std::string>& t = targets_[e];
        std::reverse(t.begin(), t.end());
        f.detail = absl::StrCat(e, " to ", t.front() == nodes_[0]->target() ? "A" : "B");
        if (!flood_->ReconnectMidWindow(e, t)) f.ok = false;
        absl::StrAppend(&f.detail, ", ", flood_->mid_window_unacked_.load(), " unacknowledged");
        Progress(f);
      }
      f.end = absl::Now();
      Say() << "fault " << i + 1 << " over after " << Secs(f.end - f.start) << ": " << f.detail
            << (f.ok ? "" : " (FAILED)") << "\n";
      faults_.push_back(f);
      if (!f.ok) return;  // no more faults on a run gone wrong; it drains and is checked
      next = f.end + absl::Seconds(o_.fault_every);
    }
  }

  bool InWindow(absl::Time t) const {
    for (const Fault& f : faults_) {
      if (t >= f.start && t <= f.end + absl::Seconds(o_.settle)) return true;
    }
    return false;
  }

  // Splits the history into shards by message id (subscriptions go to
  // every shard; events of no message to the first), each closed by a
  // marker at the history's last instant so that the checker's end of run
  // is the same in every shard; checks each and sums up.
  absl::Status CheckInShards(history::Summary& sum, std::vector<std::string>& violations,
                             int64_t& violation_count, std::vector<int64_t>& latencies_us,
                             int64_t& in_windows) {
    const std::string path = o_.work_dir + "/run.history";
    int64_t lines = 0;
    {
      std::ifstream in(path);
      for (std::string line; std::getline(in, line);) ++lines;
    }
    const int shards = static_cast<int>(std::max<int64_t>(
        1, (lines + o_.shard_events - 1) / std::max<int64_t>(1, o_.shard_events)));
    Say() << "checking " << lines << " events in " << shards << " shard(s)\n";
    absl::Time last = absl::InfinitePast();
    {
      std::vector<std::ofstream> out;
      for (int k = 0; k < shards; ++k) out.emplace_back(absl::StrCat(path, ".", k));
      std::ifstream in(path);
      int64_t n = 0;
      for (std::string line; std::getline(in, line);) {
        ++n;
        if (line.empty()) continue;
        absl::StatusOr<history::Event> e = history::ParseEvent(line, absl::StrCat(path, ":", n));
        if (!e.ok()) return e.status();
        last = std::max(last, e->at);
        if (e->type == history::EventType::kSubscribed) {
          for (auto& o : out) o << line << "\n";
        } else {
          const size_t k =
              e->message_id.empty() ? 0 : absl::HashOf(e->message_id) % static_cast<size_t>(shards);
          out[k] << line << "\n";
        }
      }
      history::Event end;
      end.type = history::EventType::kSubscribed;
      end.by = "soak-end-of-run";
      end.at = last;
      for (auto& o : out) {
        o << history::ToJsonLine(end) << "\n";
        if (!o.good()) return absl::DataLossError(absl::StrCat("writing shards of ", path));
      }
    }
    for (int k = 0; k < shards; ++k) {
      const std::string shard = absl::StrCat(path, ".", k);
      absl::StatusOr<std::vector<history::Event>> h = history::ReadHistory({shard});
      if (!h.ok()) return h.status();
      const history::CheckResult r = history::Check(*h);
      Add(sum, r.summary);
      violation_count += static_cast<int64_t>(r.violations.size());
      for (const history::Violation& v : r.violations) {
        if (violations.size() < 50) violations.push_back(v.ToString());
      }
      // Send -> first delivery of each pair.
      absl::flat_hash_map<std::string, absl::Time> sent;
      absl::flat_hash_map<std::string, absl::Time> first;  // "ID RECIPIENT"
      for (const history::Event& e : *h) {
        if (e.type == history::EventType::kSent) {
          sent.try_emplace(e.message_id, e.at);
        } else if (e.type == history::EventType::kDelivered) {
          auto [it, added] = first.try_emplace(absl::StrCat(e.message_id, " ", e.recipient), e.at);
          if (!added && e.at < it->second) it->second = e.at;
        }
      }
      for (const auto& [pair, at] : first) {
        auto s = sent.find(pair.substr(0, pair.find(' ')));
        if (s == sent.end()) continue;
        if (InWindow(s->second) || InWindow(at)) {
          ++in_windows;
          continue;
        }
        latencies_us.push_back(absl::ToInt64Microseconds(at - s->second));
      }
      std::filesystem::remove(shard);
      if (shards > 1) {
        Say() << "shard " << k + 1 << "/" << shards << " checked; " << Memory() << "\n";
      }
    }
    return absl::OkStatus();
  }

  Options o_;
  bool own_cluster_ = false;
  bool isolated_ = false;  // Kafka node kCutNode runs in its namespace
  kafka::ClientConfig kafka_;
  std::string prefix_;
  std::unique_ptr<history::Recorder> rec_;
  std::vector<std::unique_ptr<BrokerNode>> nodes_;
  std::map<std::string, std::vector<std::string>> targets_;
  std::unique_ptr<Flood> flood_;
  std::vector<Fault> faults_;
  std::vector<std::string> errors_;
  size_t liaison_kills_ = 1;  // B first, as the fault test
  size_t reconnects_ = 0;
};

}  // namespace
}  // namespace liaison::testing

int main(int argc, char** argv) {
  liaison::testing::Options o;
  CLI::App app{
      "liaison-soak: a long flood of alerts through two liaison-broker nodes on a 3-node Kafka "
      "cluster, one fault every --fault-every seconds (Kafka node killed, the ingress leader "
      "killed, a Liaison node killed, a rolling restart, a subscriber reconnecting elsewhere, in "
      "turn); checks the recorded history and prints accepted, delivered, lost, duplicated, "
      "unavailability per fault and latency (tests/README.md, \"Fault tests\")"};
  app.add_option("--messages", o.messages, "Accepted messages to reach")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--fault-every", o.fault_every,
                 "Seconds from the end of one fault to the start of the next")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--settle", o.settle,
                 "Seconds after a fault ended that still count as its window (latency figures "
                 "leave fault windows out)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto* state = app.add_option("--state-dir", o.state_dir,
                               "State folder of a running 3-node cluster.sh cluster");
  app.add_flag("--start-kafka", o.start_kafka,
               "Start a 3-node cluster of its own (in WORK_DIR/kafka; stopped at the end)")
      ->excludes(state);
  app.add_option("--work-dir", o.work_dir,
                 "Folder for the history and the nodes' logs (default /tmp/liaison-soak-PID; "
                 "removed after a clean run unless --keep)");
  app.add_option("--policy-transactions", o.policy_transactions,
                 "Passed to each liaison-broker node (auto, the broker's default: Kafka "
                 "transactions on a real cluster; off: the at-least-once path)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "on", "auto"}));
  app.add_option("--threads", o.threads, "Sending threads per sender endpoint")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--shard-events", o.shard_events,
                 "History events per shard the checker holds in memory at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--faults", o.faults,
                 "The fault kinds to inject in turn (comma-separated; default all six: "
                 "kafka-node-killed, kafka-ingress-leader-killed, liaison-node-killed, "
                 "liaison-rolling-restart, subscriber-reconnects, kafka-node-cut-off; the last "
                 "left out where network namespaces cannot be created)")
      ->delimiter(',')
      ->check(CLI::IsMember(liaison::testing::kKinds));
  app.add_option("--min-faults", o.min_faults,
                 "Go on flooding past --messages until this many faults came")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--keep", o.keep, "Keep the work folder after a clean run");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every other usage error 2, the flag named.
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::cout << std::unitbuf;  // progress as it happens, in order with cluster.sh's lines
  if (o.faults.empty()) {
    o.faults = liaison::testing::kKinds;
    if (liaison::testing::NetworkCut("check", "", 0) != 0) {
      std::cout << "liaison-soak: network namespaces cannot be created here: "
                << liaison::testing::kCutOff << " is left out\n";
      o.faults.pop_back();
    }
  }
  if (o.state_dir.empty() && !o.start_kafka) {
    std::cerr << "error: give --state-dir of a running 3-node cluster (deploy/kafka/cluster.sh "
                 "start --nodes 3) or --start-kafka\n";
    return 2;
  }
  liaison::testing::InstallStopHandler();
  liaison::testing::Soak soak(o);
  return soak.Run();
}
