// The exchange benchmark: a program that prints figures, not a test (in the
// manner of leveldb's db_bench).
//
// One process: an in-process broker (TestBroker: embedded mock Kafka, real
// mTLS on loopback, the development registry with DP-BULK-01 caps raised),
// S sender clients streaming signed ~1 KiB alerts with OpenSendStream, and R
// subscriber clients that verify every item (broker countersignature and
// sender signature) and acknowledge in batches. Before the pipeline runs, the
// same process measures the raw cost of the same work on this machine:
// ECDSA P-256 sign and verify of the same bytes through certs::Signer and
// certs::Verifier, and librdkafka produce -> consume through
// connectors/kafka on a fresh embedded cluster. See README.md.
//
//   build/tests/bench/exchange_bench                      # flood, then 0.5x paced
//   build/tests/bench/exchange_bench --mode=rate --rate=800 --messages=8000
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/core/topics.h"
#include "certs/envelope.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "connectors/endpoint/client.h"
#include "connectors/kafka/embedded_cluster.h"
#include "tests/bench/process_stats.h"
#include "tests/bench/raw_costs.h"
#include "tests/fixtures/test_broker.h"

namespace liaison::bench {
namespace {

// --------------------------------------------------------------- pipeline

// One measured run (or the warm-up).
struct Run {
  std::string name;
  int64_t messages = 0;
  int recipients = 0;
  // Written under Tracker::mu_.
  int64_t sealed = 0, accepted = 0, rejected = 0, completed = 0;
  int64_t deliveries = 0, duplicates = 0;
  int64_t first_seal_ns = 0, last_accept_ns = 0, last_delivery_ns = 0;
  std::vector<int64_t> e2e_ns;     // Seal start -> a recipient verified it
  std::vector<int64_t> accept_ns;  // Seal start -> SendResult at the sender
  // Where the end-to-end time goes, per delivery, from the wall-clock times
  // the attestation carries (accepted_at: ingress is about to write the
  // record to Kafka; decided_at: the policy stage starts deciding):
  std::vector<int64_t> to_ingress_ns;   // Seal start -> accepted_at
  std::vector<int64_t> to_policy_ns;    // accepted_at -> decided_at
  std::vector<int64_t> to_verified_ns;  // decided_at -> recipient verified
  // CPU of threads that end with the run (senders, send-stream readers).
  int64_t sender_cpu_ns = 0, send_reader_cpu_ns = 0;
  int64_t max_schedule_lag_ns = 0;  // paced runs: how late senders started a message
};

// Who sent what when; shared by senders, their result readers and the
// recipients. One lock: a few lock operations per message, next to ~1 ms of
// signature CPU per message.
class Tracker {
 public:
  explicit Tracker(int recipients) : all_((1u << recipients) - 1) {}

  void Sealed(const std::string& message_id, int64_t seal_ns, absl::Time seal_wall, Run* run)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    entries_[message_id] = Entry{seal_ns, seal_wall, run, 0, false};
    if (run->sealed++ == 0) run->first_seal_ns = seal_ns;
  }

  void Result(const liaison::v1::SendResult& result) ABSL_LOCKS_EXCLUDED(mu_) {
    const int64_t now = NowNs();
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(result.message_id());
    if (it == entries_.end()) {
      ++orphan_results_;
      return;
    }
    Run* run = it->second.run;
    if (result.code() != 0) {
      if (run->rejected++ < 5) {
        std::fprintf(stderr, "%s: send rejected: code %d: %s\n", run->name.c_str(), result.code(),
                     result.error().c_str());
      }
      entries_.erase(it);
      return;
    }
    ++run->accepted;
    run->accept_ns.push_back(now - it->second.seal_ns);
    run->last_accept_ns = std::max(run->last_accept_ns, now);
    it->second.result = true;
    if (it->second.delivered == all_) entries_.erase(it);
  }

  void Delivered(const endpoint::VerifiedItem& item, int recipient, int64_t now,
                 absl::Time now_wall) ABSL_LOCKS_EXCLUDED(mu_) {
    const std::string& message_id = item.message()->header().message_id();
    const liaison::v1::Attestation& a = item.statement().attestation();
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(message_id);
    if (it == entries_.end()) {
      ++unknown_deliveries_;  // a redelivery of a completed message
      return;
    }
    Entry& e = it->second;
    if (e.delivered == all_) {
      ++e.run->duplicates;
      return;
    }
    Run* run = e.run;
    if (e.delivered & (1u << recipient)) {
      ++run->duplicates;
      return;
    }
    e.delivered |= 1u << recipient;
    ++run->deliveries;
    run->e2e_ns.push_back(now - e.seal_ns);
    const absl::Time accepted = FromProto(a.accepted_at()), decided = FromProto(a.decided_at());
    run->to_ingress_ns.push_back(absl::ToInt64Nanoseconds(accepted - e.seal_wall));
    run->to_policy_ns.push_back(absl::ToInt64Nanoseconds(decided - accepted));
    run->to_verified_ns.push_back(absl::ToInt64Nanoseconds(now_wall - decided));
    run->last_delivery_ns = std::max(run->last_delivery_ns, now);
    if (e.delivered == all_) {
      ++run->completed;
      // The SendResult may come after the last delivery.
      if (e.result) entries_.erase(it);
    }
  }

  // Blocks while `run` has `cap` or more messages sealed but not delivered
  // to every recipient (end-to-end flow control for flood runs).
  void AwaitRoom(const Run* run, int64_t cap) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return run->sealed - run->completed - run->rejected < cap;
    };
    mu_.AwaitWithTimeout(absl::Condition(&room), absl::Seconds(30));
  }

  void NoteScheduleLag(Run* run, int64_t lag_ns) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    run->max_schedule_lag_ns = std::max(run->max_schedule_lag_ns, lag_ns);
  }

  void NoteSenderCpu(Run* run, int64_t sender_ns, int64_t reader_ns) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    run->sender_cpu_ns += sender_ns;
    run->send_reader_cpu_ns += reader_ns;
  }

  // Waits until every message of `run` is delivered everywhere or rejected;
  // false if nothing moved for `idle`, or at `deadline`.
  bool AwaitDone(const Run* run, absl::Duration idle, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    int64_t seen = -1;
    while (true) {
      const int64_t progress = run->deliveries + run->rejected + run->accepted;
      if (run->completed + run->rejected >= run->messages) return true;
      if (progress == seen || absl::Now() >= deadline) return false;
      seen = progress;
      auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return run->completed + run->rejected >= run->messages;
      };
      mu_.AwaitWithTimeout(absl::Condition(&done), std::min(idle, deadline - absl::Now()));
    }
  }

  // Forgets what `run` left undelivered (after a failed run).
  void Drop(const Run* run) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.run == run) {
        entries_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  // Deliveries of messages already delivered everywhere (redeliveries), and
  // results for messages the bench did not send.
  std::pair<int64_t, int64_t> strays() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return {unknown_deliveries_, orphan_results_};
  }

  // Reads a finished run's figures (the lock orders them after the writers').
  template <typename F>
  void Read(F f) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    f();
  }

 private:
  struct Entry {
    int64_t seal_ns;
    absl::Time seal_wall;
    Run* run;
    uint32_t delivered;  // bit per recipient
    bool result;         // the SendResult arrived
  };
  const uint32_t all_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t orphan_results_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unknown_deliveries_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Options {
  std::string mode = "both";
  int64_t messages = 15000;
  int senders = 4;
  int recipients = 2;
  std::vector<double> rates;  // paced runs, msg/s
  int64_t warmup = 1000;
  size_t window = 256;
  uint32_t subscribe_window = 1024;
  size_t ack_batch = 64;
  int64_t flood_in_flight = 2000;
  unsigned workers = 0;
  int cases = 8;
  size_t message_bytes = 1024;
  int64_t kafka_records = 100000;
  double crypto_seconds = 1.0;
  double idle_seconds = 5.0;
  int64_t hop_records = 500;
  double probe_seconds = 10;  // the broker's operator probe of Kafka (its default)
  // Kafka tuning of the broker under test (0 = the broker's defaults).
  int fetch_wait_ms = 0;
  double linger_ms = 0;
  double ack_linger_ms = -1;
  std::string delivery_consumer = "shared";  // the broker's --delivery-consumer
  int ingress_partitions = 0;
  int deliver_partitions = 0;
  // The broker's --policy-transactions: auto (transactions on real Kafka),
  // on, off (at-least-once with dedup, for a before/after comparison).
  std::string policy_transactions = "auto";
  // Which Kafka: "mock", "real" or "both" ("" = mock, or both when a real
  // cluster is named or started).
  std::string kafka;
  std::string kafka_state_dir;
  std::string kafka_bootstrap;
  bool start_kafka = false;
  bool serve_broker = false;  // internal: this process is the broker
  // The policy stage's signing: "on" = statements and receipts signed in
  // batches (the broker's default), "off" = one signature per statement.
  std::string batch_signing = "on";
  // One run per signing mode (on, then off), each in a fresh bench process,
  // and a table side by side.
  bool ab_batch_signing = false;
  int64_t rate_messages = 0;  // messages per paced run (0 = `messages`)
};

// Distinct sets: nobody sends to itself.
const std::vector<std::string> kSenders = {"RO-IGPR", "NL-NP", "DE-BKA", "FR-OCRTEH"};
const std::vector<std::string> kRecipients = {"ES-PN", "SE-NOA", "LV-VP", "BG-GDNP"};

// An alert from `sender` whose signed bytes (the serialised Message) are
// `target` bytes long, on one of `cases` case references (cases spread over
// ingress partitions; one case keeps its order).
liaison::v1::Message SizedAlert(const std::string& sender, const std::vector<std::string>& to,
                                size_t target, int64_t sequence, int cases) {
  auto build = [&](size_t summary) {
    liaison::v1::Message m = testing::TestAlert(sender, to, absl::Now(), summary);
    m.mutable_header()->set_case_ref(
        absl::StrFormat("%s-2026-9%03d", sender.substr(0, 2), sequence % cases));
    return m;
  };
  static absl::Mutex mu(absl::kConstInit);
  static auto* summaries = new std::map<std::string, size_t>();
  {
    absl::MutexLock lock(&mu);
    if (auto it = summaries->find(sender); it != summaries->end()) return build(it->second);
  }
  size_t summary = 0;
  for (int i = 0; i < 8; ++i) {
    liaison::v1::Message m = build(summary);
    const size_t size = m.ByteSizeLong();
    if (size == target) break;
    const size_t current = m.alert().summary().size();
    summary =
        size < target ? current + (target - size) : current - std::min(current, size - target);
  }
  absl::MutexLock lock(&mu);
  (*summaries)[sender] = summary;
  return build(summary);
}

class Pipeline {
 public:
  Pipeline(Options options, std::vector<std::unique_ptr<endpoint::Client>> senders,
           std::vector<std::unique_ptr<endpoint::Subscription>> subscriptions)
      : options_(std::move(options)),
        senders_(std::move(senders)),
        subscriptions_(std::move(subscriptions)),
        tracker_(options_.recipients) {
    for (size_t r = 0; r < subscriptions_.size(); ++r) {
      recipient_threads_.emplace_back([this, r] { Receive(static_cast<int>(r)); });
    }
  }

  ~Pipeline() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : recipient_threads_) {
      if (t.joinable()) t.join();
    }
    // Closing waits for the broker to end each stream: in parallel.
    std::vector<std::thread> closing;
    for (auto& s : subscriptions_) {
      closing.emplace_back([&s] { (void)s->Close(); });
    }
    for (std::thread& t : closing) t.join();
    subscriptions_.clear();
  }

  // Sends `run->messages` messages, paced at `rate` msg/s in total (0 =
  // flood, bounded by options_.flood_in_flight messages not yet delivered
  // everywhere), and waits until all are delivered. False on a stall.
  bool Execute(Run* run, double rate) {
    std::vector<std::thread> threads;
    const int senders = static_cast<int>(senders_.size());
    const int64_t start = NowNs() + 2'000'000;  // every sender ready before the first slot
    std::atomic<int> failures{0};
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&, s] {
        NameThisThread("sender");
        endpoint::Client& client = *senders_[s];
        // The stream's reader thread (which runs the callback) ends with the
        // stream: its CPU time is taken from inside the callback.
        std::atomic<int64_t> reader_cpu{0};
        std::unique_ptr<endpoint::SendStream> stream = client.OpenSendStream(
            [this, &reader_cpu](const liaison::v1::SendResult& r) {
              tracker_.Result(r);
              reader_cpu = ThreadCpuNs();
            },
            options_.window);
        NameThisThread("sender");
        std::vector<std::string> to(kRecipients.begin(), kRecipients.begin() + options_.recipients);
        for (int64_t k = s; k < run->messages; k += senders) {
          if (rate > 0) {
            const int64_t due = start + static_cast<int64_t>(k * 1e9 / rate);
            const int64_t now = NowNs();
            if (due > now) {
              std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
            } else {
              tracker_.NoteScheduleLag(run, now - due);
            }
          } else {
            tracker_.AwaitRoom(run, options_.flood_in_flight);
          }
          liaison::v1::Message m =
              SizedAlert(client.endpoint_id(), to, options_.message_bytes, k, options_.cases);
          const int64_t seal_start = NowNs();
          const absl::Time seal_wall = absl::Now();
          absl::StatusOr<liaison::v1::SignedEnvelope> envelope = client.Seal(m, seal_wall);
          if (!envelope.ok()) {
            std::fprintf(stderr, "seal: %s\n", envelope.status().ToString().c_str());
            ++failures;
            break;
          }
          tracker_.Sealed(m.header().message_id(), seal_start, seal_wall, run);
          if (absl::Status w = stream->Write(*envelope); !w.ok()) {
            std::fprintf(stderr, "send stream: %s\n", w.ToString().c_str());
            ++failures;
            break;
          }
        }
        if (absl::Status c = stream->Close(); !c.ok()) {
          std::fprintf(stderr, "send stream close: %s\n", c.ToString().c_str());
          ++failures;
        }
        tracker_.NoteSenderCpu(run, ThreadCpuNs(), reader_cpu);
      });
    }
    for (std::thread& t : threads) t.join();
    // A pipeline that keeps up drains in a few seconds; one that fell behind
    // gets as long again as the sending took (at least 20 s), then the run
    // is reported INCOMPLETE.
    const absl::Duration sending = absl::Nanoseconds(NowNs() - start);
    const bool done =
        failures == 0 && tracker_.AwaitDone(run, absl::Seconds(20),
                                            absl::Now() + std::max(absl::Seconds(20), sending));
    if (!done) tracker_.Drop(run);
    return done;
  }

  Tracker& tracker() { return tracker_; }
  int64_t verify_failures() const { return verify_failures_; }
  int64_t other_items() const { return other_items_; }
  size_t delivery_item_bytes() const { return delivery_item_bytes_; }

 private:
  void Receive(int r) {
    NameThisThread("recipient");
    endpoint::Subscription& sub = *subscriptions_[r];
    std::vector<std::string> acks;
    auto flush = [&] {
      if (acks.empty()) return;
      if (absl::Status s = sub.Ack(acks); !s.ok()) {
        std::fprintf(stderr, "ack: %s\n", s.ToString().c_str());
      }
      acks.clear();
    };
    while (!stop_) {
      absl::StatusOr<endpoint::Subscription::Received> next =
          sub.Next(acks.empty() ? absl::Milliseconds(100) : absl::Milliseconds(1));
      if (!next.ok()) {
        flush();
        if (absl::IsDeadlineExceeded(next.status())) continue;
        if (!stop_) std::fprintf(stderr, "subscription: %s\n", next.status().ToString().c_str());
        return;
      }
      const int64_t now = NowNs();
      const absl::Time now_wall = absl::Now();
      if (!next->verified.ok()) {
        if (verify_failures_++ < 5) {
          std::fprintf(stderr, "item does not verify: %s\n",
                       next->verified.status().ToString().c_str());
        }
        continue;  // never acknowledged
      }
      acks.push_back(next->item.item_id());
      if (next->verified->kind() == endpoint::VerifiedItem::Kind::kDelivery) {
        if (r == 0 && delivery_item_bytes_ == 0) delivery_item_bytes_ = next->item.ByteSizeLong();
        tracker_.Delivered(*next->verified, r, now, now_wall);
      } else if (other_items_++ < 5) {
        std::fprintf(stderr, "recipient %d got a notice or receipt (policy held or refused?)\n", r);
      }
      if (acks.size() >= options_.ack_batch) flush();
    }
    flush();
  }

  const Options options_;
  std::vector<std::unique_ptr<endpoint::Client>> senders_;
  std::vector<std::unique_ptr<endpoint::Subscription>> subscriptions_;
  Tracker tracker_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> verify_failures_{0};
  std::atomic<int64_t> other_items_{0};
  std::atomic<size_t> delivery_item_bytes_{0};
  std::vector<std::thread> recipient_threads_;
};

struct RunFigures {
  bool complete = false;
  double seconds = 0;
  double accepted_per_s = 0;    // messages accepted (durable in Kafka) per second
  double deliveries_per_s = 0;  // deliveries verified by recipients per second
  double messages_per_s = 0;    // messages delivered to every recipient per second
  Percentiles e2e, accept;
  // CPU per message delivered and cores busy: the broker process (with the
  // embedded mock inside it), this process (senders and recipients), and the
  // Kafka JVMs (real Kafka only).
  double broker_us_per_message = 0, broker_cores = 0;
  double clients_us_per_message = 0, clients_cores = 0;
  double jvm_us_per_message = 0, jvm_cores = 0;
  int64_t peak_rss_kb = 0, rss_kb = 0;
  // The broker process's peak RSS during the run (and its drain), and its RSS after.
  int64_t broker_peak_rss_kb = -1, broker_rss_kb = -1;
  double max_schedule_lag_ms = 0;
  // Signatures per message delivered, counted (certs::ProcessSignatureCounts)
  // in the broker process and in this one (senders sign, recipients verify),
  // over the run and until the broker's Kafka writes stop (its receipts).
  double broker_signs = -1, broker_verifies = -1, clients_signs = 0, clients_verifies = 0;
  // Kafka records per message by topic group ("total": all), counted from
  // the topics' high watermarks, over the same interval.
  std::map<std::string, double> records;
  // CPU per message by thread group (us), broker process and this one.
  std::vector<std::pair<std::string, double>> broker_groups, clients_groups, jvm_groups;
};

// What the broker process says about itself (its "STATS" answer): signatures
// so far, and its peak RSS since the previous question (each question resets
// it) and RSS now.
struct BrokerStats {
  bool ok = false;
  int64_t signs = 0, verifies = 0, peak_rss_kb = -1, rss_kb = -1;
};
using AskBroker = std::function<BrokerStats()>;
std::map<std::string, std::string> ParseResult(const std::string& line);

void Settle(TopicCounter* counter);

// Thread groups, as named by the bench (see NameThisThread calls), gRPC and librdkafka.
const char* Explain(const std::string& group) {
  static const std::map<std::string, const char*> kWhat = {
      {"broker",
       "broker threads made at start: worker pool (ingress verify, policy chain, "
       "countersign, receipts), policy loop, mirrors, producer poller"},
      {"recipient",
       "bench recipients: Subscription::Next = ItemVerifier (the sender's signature, and "
       "a batch root once per batch or each item's countersignature), acks"},
      {"sender", "bench senders: TestAlert + Seal (sign) + SendStream::Write"},
      {"send-reader", "client SendStream reader threads (results)"},
      {"sub-reader", "client Subscription reader threads (gRPC reads, queueing)"},
      {"rdk:broker", "librdkafka client I/O threads (broker: its producer and consumers)"},
      {"rdk:main", "librdkafka client main threads"},
      {"rdk:mock", "the embedded mock Kafka cluster (inside the broker process)"},
      {"nexting_thread",
       "gRPC callback threads (server reactors, client); broker "
       "Subscription loops inherit this name"},
      {"default-executo", "gRPC executor"},
      {"other/exited", "threads that ended during the interval"},
  };
  auto it = kWhat.find(group);
  return it == kWhat.end() ? "" : it->second;
}

// What the bench watches besides itself: the broker process and, on real
// Kafka, the cluster's JVMs.
struct Watched {
  int broker_pid = 0;
  std::vector<int> jvm_pids;
};

struct CpuMark {
  int64_t wall = 0, clients = 0, broker = 0, jvm = 0;
  // Run-queue waits (runnable, no CPU free) of live threads.
  int64_t clients_wait = 0, broker_wait = 0, jvm_wait = 0;
  std::map<int, ThreadSample> client_threads, broker_threads, jvm_threads;
};

CpuMark MarkCpu(const Watched& w) {
  CpuMark m;
  m.client_threads = SampleThreads();
  m.broker_threads = SampleThreads(w.broker_pid);
  for (int pid : w.jvm_pids) m.jvm_threads.merge(SampleThreads(pid));  // thread ids are unique
  m.clients = ProcessCpuNs();
  m.broker = PidCpuNs(w.broker_pid);
  m.jvm = PidsCpuNs(w.jvm_pids);
  m.clients_wait = RunQueueWaitNs({0});
  m.broker_wait = RunQueueWaitNs({w.broker_pid});
  m.jvm_wait = RunQueueWaitNs(w.jvm_pids);
  m.wall = NowNs();
  return m;
}

RunFigures Measure(Pipeline& pipeline, Run* run, double rate, const Options& o,
                   TopicCounter* counter, const std::vector<std::string>& recipients,
                   const Watched& watched, const AskBroker& ask_broker) {
  const std::map<std::string, int64_t> records0 =
      counter != nullptr ? counter->Snapshot() : std::map<std::string, int64_t>();
  const BrokerStats b0 = ask_broker();  // also resets the broker's peak RSS
  const certs::SignatureCounts c0 = certs::ProcessSignatureCounts();
  const bool peak_reset = ResetPeakRss();
  const CpuMark m0 = MarkCpu(watched);
  RunFigures f;
  f.complete = pipeline.Execute(run, rate);
  const CpuMark m1 = MarkCpu(watched);
  const int64_t wall = m1.wall - m0.wall;
  const int64_t clients_cpu = m1.clients - m0.clients, broker_cpu = m1.broker - m0.broker,
                jvm_cpu = m1.jvm - m0.jvm;
  f.peak_rss_kb = StatusKb("VmHWM");
  f.rss_kb = StatusKb("VmRSS");
  pipeline.tracker().Read([&] {
    const double accept_s = (run->last_accept_ns - run->first_seal_ns) / 1e9;
    const double deliver_s = (run->last_delivery_ns - run->first_seal_ns) / 1e9;
    f.seconds = deliver_s;
    f.accepted_per_s = accept_s > 0 ? run->accepted / accept_s : 0;
    f.deliveries_per_s = deliver_s > 0 ? run->deliveries / deliver_s : 0;
    f.messages_per_s = deliver_s > 0 ? run->completed / deliver_s : 0;
    f.e2e = Summarise(run->e2e_ns);
    f.accept = Summarise(run->accept_ns);
    f.max_schedule_lag_ms = run->max_schedule_lag_ns / 1e6;
    const double n = std::max<int64_t>(1, run->completed);
    f.broker_us_per_message = broker_cpu / 1e3 / n;
    f.clients_us_per_message = clients_cpu / 1e3 / n;
    f.jvm_us_per_message = jvm_cpu / 1e3 / n;
    f.broker_cores = static_cast<double>(broker_cpu) / wall;
    f.clients_cores = static_cast<double>(clients_cpu) / wall;
    f.jvm_cores = static_cast<double>(jvm_cpu) / wall;
    std::printf("\n== run %s: %lld messages x %d recipients from %zu senders, %s\n",
                run->name.c_str(), static_cast<long long>(run->messages), run->recipients,
                static_cast<size_t>(o.senders),
                rate > 0 ? absl::StrFormat("paced at %.0f msg/s", rate).c_str()
                         : absl::StrFormat("flood (at most %lld messages not yet delivered "
                                           "everywhere)",
                                           static_cast<long long>(o.flood_in_flight))
                               .c_str());
    std::printf(
        "  %s: sealed %lld, accepted %lld, rejected %lld, delivered everywhere %lld, "
        "deliveries %lld, duplicate deliveries %lld\n",
        f.complete ? "complete" : "INCOMPLETE (stalled)", static_cast<long long>(run->sealed),
        static_cast<long long>(run->accepted), static_cast<long long>(run->rejected),
        static_cast<long long>(run->completed), static_cast<long long>(run->deliveries),
        static_cast<long long>(run->duplicates));
    std::printf("  accepted     %9.0f msg/s        (first Seal start -> last SendResult)\n",
                f.accepted_per_s);
    std::printf(
        "  delivered    %9.0f msg/s        %9.0f deliveries verified/s  (first Seal "
        "start -> last verified delivery, %.2f s)\n",
        f.messages_per_s, f.deliveries_per_s, f.seconds);
    std::printf("  end to end   %s  (Seal start -> recipient verified)\n", Format(f.e2e).c_str());
    std::printf("  to accepted  %s  (Seal start -> SendResult)\n", Format(f.accept).c_str());
    std::printf(
        "  where the end-to-end time goes (per delivery, wall clock; attestation "
        "accepted_at / decided_at):\n");
    std::printf("    seal -> ingress writes to Kafka   %s\n",
                Format(Summarise(run->to_ingress_ns)).c_str());
    std::printf("    -> policy stage starts deciding   %s\n",
                Format(Summarise(run->to_policy_ns)).c_str());
    std::printf("    -> recipient verified             %s\n",
                Format(Summarise(run->to_verified_ns)).c_str());
    if (rate > 0) {
      std::printf("  pacing       senders started a message at most %.2f ms after its slot\n",
                  f.max_schedule_lag_ms);
    }
  });
  std::printf("  cpu          broker process %.0f us per message delivered (%.2f cores)%s\n",
              f.broker_us_per_message, f.broker_cores,
              watched.jvm_pids.empty() ? ", embedded mock Kafka included" : "");
  std::printf("               senders and recipients (this process) %.0f us (%.2f cores)\n",
              f.clients_us_per_message, f.clients_cores);
  if (!watched.jvm_pids.empty()) {
    std::printf("               Kafka JVMs (%zu) %.0f us (%.2f cores)\n", watched.jvm_pids.size(),
                f.jvm_us_per_message, f.jvm_cores);
  }
  {
    // On a shared machine other processes take the cores: how long this
    // run's threads were ready to run but waited for a CPU (live threads).
    const double n = std::max<int64_t>(1, run->completed);
    std::printf(
        "  cpu waits    runnable but waiting for a core, ms per message: broker %.2f, "
        "clients %.2f%s  (load average %s)\n",
        (m1.broker_wait - m0.broker_wait) / 1e6 / n, (m1.clients_wait - m0.clients_wait) / 1e6 / n,
        watched.jvm_pids.empty()
            ? ""
            : absl::StrFormat(", Kafka JVMs %.2f", (m1.jvm_wait - m0.jvm_wait) / 1e6 / n).c_str(),
        LoadAverage().c_str());
  }
  std::printf("  memory       this process: peak RSS %.1f MiB %s, RSS now %.1f MiB\n",
              f.peak_rss_kb / 1024.0, peak_reset ? "during this run" : "since start",
              f.rss_kb / 1024.0);
  // Records and signatures: until the broker's writes stop (the last
  // acknowledgements become receipts after the last delivery).
  Settle(counter);
  const double n = static_cast<double>(std::max<int64_t>(1, run->completed));
  if (counter != nullptr) {
    f.records =
        PrintKafkaWrites(records0, counter->Snapshot(), run->completed, f.seconds, recipients);
  }
  const BrokerStats b1 = ask_broker();
  const certs::SignatureCounts c1 = certs::ProcessSignatureCounts();
  f.clients_signs = (c1.signs - c0.signs) / n;
  f.clients_verifies = (c1.verifies - c0.verifies) / n;
  if (b0.ok && b1.ok) {
    f.broker_signs = (b1.signs - b0.signs) / n;
    f.broker_verifies = (b1.verifies - b0.verifies) / n;
    f.broker_peak_rss_kb = b1.peak_rss_kb;
    f.broker_rss_kb = b1.rss_kb;
  }
  std::printf(
      "  signatures   per message, counted: broker process %.3f signed, %.3f verified; "
      "senders %.3f signed, recipients (this process) %.3f verified\n",
      f.broker_signs, f.broker_verifies, f.clients_signs, f.clients_verifies);
  std::printf(
      "  memory       broker process: peak RSS %.1f MiB during this run, RSS now %.1f MiB%s\n",
      f.broker_peak_rss_kb / 1024.0, f.broker_rss_kb / 1024.0,
      watched.jvm_pids.empty() ? " (embedded mock included)" : "");
  auto per_message = [n](const std::vector<std::pair<std::string, int64_t>>& groups) {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [g, ns] : groups) out.emplace_back(g, ns / 1e3 / n);
    return out;
  };
  std::printf("  broker process:\n");
  const std::vector<std::pair<std::string, int64_t>> broker_groups =
      CpuByGroup(m0.broker_threads, m1.broker_threads);
  f.broker_groups = per_message(broker_groups);
  PrintCpuTable(broker_groups, broker_cpu, run->completed, "message", &Explain);
  if (!watched.jvm_pids.empty()) {
    std::printf("  Kafka JVMs (Java thread names):\n");
    const std::vector<std::pair<std::string, int64_t>> jvm_groups =
        CpuByGroup(m0.jvm_threads, m1.jvm_threads);
    f.jvm_groups = per_message(jvm_groups);
    PrintCpuTable(jvm_groups, jvm_cpu, run->completed, "message", &Explain);
  }
  std::vector<std::pair<std::string, int64_t>> groups =
      CpuByGroup(m0.client_threads, m1.client_threads);
  pipeline.tracker().Read([&] {
    groups.emplace_back("sender", run->sender_cpu_ns);
    groups.emplace_back("send-reader", run->send_reader_cpu_ns);
  });
  f.clients_groups = per_message(groups);
  std::printf("  senders and recipients (this process):\n");
  PrintCpuTable(groups, clients_cpu, run->completed, "message", &Explain);
  return f;
}

// --------------------------------------------------------- child processes

std::string SelfExe() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("exchange_bench") : p.string();
}

// A child process with its stdout on a pipe (and, when asked, its stdin).
struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;
  FILE* out = nullptr;
};

// Starts `args[0]` with `args` and the environment plus `env`. The child
// gets SIGTERM when this process ends (PR_SET_PDEATHSIG): no bench process
// outlives the bench.
absl::StatusOr<Child> Spawn(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            bool pipe_stdin, bool pipe_stdout) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if ((pipe_stdin && pipe2(in, O_CLOEXEC) != 0) || (pipe_stdout && pipe2(out, O_CLOEXEC) != 0)) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    if (pipe_stdin) dup2(in[0], 0);
    if (pipe_stdout) dup2(out[1], 1);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  Child c;
  c.pid = pid;
  if (pipe_stdin) {
    close(in[0]);
    c.stdin_fd = in[1];
  }
  if (pipe_stdout) {
    close(out[1]);
    c.out = fdopen(out[0], "r");
  }
  return c;
}

// Closes the child's stdin (the broker child's signal to stop), reads and
// echoes what is left of its stdout, and waits for it. Its exit status.
int Finish(Child& c, std::vector<std::string>* lines = nullptr) {
  if (c.stdin_fd >= 0) close(c.stdin_fd);
  c.stdin_fd = -1;
  if (c.out != nullptr) {
    char* line = nullptr;
    size_t cap = 0;
    while (getline(&line, &cap, c.out) > 0) {
      std::fputs(line, stdout);
      if (lines != nullptr) lines->emplace_back(line);
    }
    std::free(line);
    std::fclose(c.out);
    c.out = nullptr;
  }
  int status = 0;
  if (c.pid > 0 && waitpid(c.pid, &status, 0) < 0) return -1;
  c.pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The pids of a deploy/kafka/cluster.sh cluster's nodes (its pid files).
std::vector<int> KafkaJvmPids(const std::string& state) {
  std::vector<int> out;
  for (int n = 1; n <= 3; ++n) {
    std::ifstream in(absl::StrCat(state, "/node-", n, "/kafka.pid"));
    int pid = 0;
    if (in >> pid && pid > 0) out.push_back(pid);
  }
  return out;
}

// The options as flags, for a child bench process.
std::vector<std::string> AsFlags(const Options& o) {
  std::vector<std::string> f = {
      "--mode=" + o.mode,
      absl::StrCat("--messages=", o.messages),
      absl::StrCat("--senders=", o.senders),
      absl::StrCat("--recipients=", o.recipients),
      absl::StrCat("--warmup=", o.warmup),
      absl::StrCat("--window=", o.window),
      absl::StrCat("--subscribe-window=", o.subscribe_window),
      absl::StrCat("--ack-batch=", o.ack_batch),
      absl::StrCat("--flood-in-flight=", o.flood_in_flight),
      absl::StrCat("--workers=", o.workers),
      absl::StrCat("--cases=", o.cases),
      absl::StrCat("--message-bytes=", o.message_bytes),
      absl::StrCat("--kafka-records=", o.kafka_records),
      absl::StrCat("--crypto-seconds=", o.crypto_seconds),
      absl::StrCat("--idle-seconds=", o.idle_seconds),
      absl::StrCat("--hop-records=", o.hop_records),
      absl::StrCat("--probe-seconds=", o.probe_seconds),
      absl::StrCat("--fetch-wait-ms=", o.fetch_wait_ms),
      absl::StrCat("--linger-ms=", o.linger_ms),
      absl::StrCat("--ack-linger-ms=", o.ack_linger_ms),
      "--delivery-consumer=" + o.delivery_consumer,
      "--policy-transactions=" + o.policy_transactions,
      absl::StrCat("--ingress-partitions=", o.ingress_partitions),
      absl::StrCat("--deliver-partitions=", o.deliver_partitions),
      "--batch-signing=" + o.batch_signing,
      absl::StrCat("--rate-messages=", o.rate_messages),
  };
  for (double r : o.rates) f.push_back(absl::StrCat("--rate=", r));
  if (!o.kafka_bootstrap.empty()) f.push_back("--kafka-bootstrap=" + o.kafka_bootstrap);
  return f;
}

// ------------------------------------------------------------ broker child

// `--serve-broker` (internal): the broker under test in a process of its
// own. Prints "BROKER target=... prefix=... bootstrap=..." when ready, then
// answers each "STATS" line on its stdin with one line "STATS signs=N
// verifies=N peak_rss_kb=N rss_kb=N" (signatures so far; peak RSS since the
// previous question, then reset), until its stdin closes; then stops the
// broker.
int ServeBroker(const Options& o) {
  if (std::getenv("LIAISON_LOG_LEVEL") == nullptr) log::SetMinLevel(log::Level::kWarning);
  testing::TestBrokerOptions broker_options;
  broker_options.registry_path = testing::RegistryWithHighBulkCaps();
  broker_options.worker_threads = o.workers;
  broker_options.produce_timeout_ms = 30000;
  broker_options.fetch_wait_max_ms = o.fetch_wait_ms;
  broker_options.producer_linger_ms = o.linger_ms;
  broker_options.ack_linger_ms = o.ack_linger_ms;
  broker_options.shared_delivery = o.delivery_consumer == "shared";
  broker_options.policy_transactions =
      o.policy_transactions == "off"  ? broker::PolicyTransactions::kOff
      : o.policy_transactions == "on" ? broker::PolicyTransactions::kOn
                                      : broker::PolicyTransactions::kAuto;
  broker_options.ingress_partitions = o.ingress_partitions;
  broker_options.deliver_partitions = o.deliver_partitions;
  broker_options.batch_signing = o.batch_signing == "on";
  // The bench's figures are about the exchange: no operator surface.
  broker_options.operator_probe_interval = absl::Seconds(o.probe_seconds);
  broker_options.admin_listen_address = "";
  broker_options.http_listen_address = "";
  NameThisThread("broker");  // the broker's own threads inherit the name
  absl::StatusOr<std::unique_ptr<testing::TestBroker>> broker =
      testing::TestBroker::Start(broker_options);
  NameThisThread("broker-main");
  if (!broker.ok()) {
    std::fprintf(stderr, "broker: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  std::string prefix = (*broker)->topics().Ingress();
  prefix.resize(prefix.size() - std::strlen(".ingress"));
  std::printf("BROKER target=%s prefix=%s bootstrap=%s\n", (*broker)->target().c_str(),
              prefix.c_str(), (*broker)->node().bootstrap_servers().c_str());
  std::fflush(stdout);
  ResetPeakRss();
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, stdin) > 0) {
    if (std::strncmp(line, "STATS", 5) != 0) continue;
    const certs::SignatureCounts c = certs::ProcessSignatureCounts();
    std::printf("STATS signs=%lld verifies=%lld peak_rss_kb=%lld rss_kb=%lld\n",
                static_cast<long long>(c.signs), static_cast<long long>(c.verifies),
                static_cast<long long>(StatusKb("VmHWM")),
                static_cast<long long>(StatusKb("VmRSS")));
    std::fflush(stdout);
    ResetPeakRss();
  }
  std::free(line);
  const int64_t stop0 = NowNs();
  broker->reset();
  std::printf("(broker process: shut down in %.1f s)\n", (NowNs() - stop0) / 1e9);
  return 0;
}

struct BrokerChild {
  Child child;
  std::string target, prefix, bootstrap;
};

absl::StatusOr<BrokerChild> StartBrokerChild(const Options& o, const std::string& real_state) {
  std::vector<std::string> args = {SelfExe(), "--serve-broker"};
  for (std::string& f : AsFlags(o)) args.push_back(std::move(f));
  std::vector<std::pair<std::string, std::string>> env = {
      {"LIAISON_TEST_PKI_ROOT", testing::SharedTestPki().root}};
  if (!real_state.empty()) {
    env.emplace_back("LIAISON_TEST_KAFKA_STATE", real_state);
    if (!o.kafka_bootstrap.empty())
      env.emplace_back("LIAISON_TEST_KAFKA_BOOTSTRAP", o.kafka_bootstrap);
  }
  absl::StatusOr<Child> c = Spawn(args, env, /*pipe_stdin=*/true, /*pipe_stdout=*/true);
  if (!c.ok()) return c.status();
  BrokerChild b;
  b.child = *c;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, b.child.out) > 0) {
    std::string s(line);
    if (s.rfind("BROKER ", 0) != 0) {
      std::fputs(line, stdout);
      continue;
    }
    for (absl::string_view kv : absl::StrSplit(absl::StripAsciiWhitespace(s), ' ')) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (p.first == "target") b.target = p.second;
      if (p.first == "prefix") b.prefix = p.second;
      if (p.first == "bootstrap") b.bootstrap = p.second;
    }
    break;
  }
  std::free(line);
  if (b.target.empty()) {
    const int status = Finish(b.child);
    return absl::UnavailableError(
        absl::StrCat("the broker process did not start (exit status ", status, ", see above)"));
  }
  return b;
}

// Asks the broker process for its STATS line (lines before it are echoed).
BrokerStats AskBrokerChild(BrokerChild& b) {
  BrokerStats out;
  if (b.child.stdin_fd < 0 || b.child.out == nullptr) return out;
  if (write(b.child.stdin_fd, "STATS\n", 6) != 6) return out;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, b.child.out) > 0) {
    std::string s(line);
    if (s.rfind("STATS ", 0) != 0) {
      std::fputs(line, stdout);
      continue;
    }
    std::map<std::string, std::string> kv = ParseResult(absl::StrCat("X ", s.substr(6)));
    out.signs = std::strtoll(kv["signs"].c_str(), nullptr, 10);
    out.verifies = std::strtoll(kv["verifies"].c_str(), nullptr, 10);
    out.peak_rss_kb = std::strtoll(kv["peak_rss_kb"].c_str(), nullptr, 10);
    out.rss_kb = std::strtoll(kv["rss_kb"].c_str(), nullptr, 10);
    out.ok = true;
    break;
  }
  std::free(line);
  return out;
}

absl::StatusOr<std::vector<std::unique_ptr<endpoint::Subscription>>> SubscribeAll(
    const std::string& target, const std::vector<std::string>& endpoints,
    std::vector<std::unique_ptr<endpoint::Client>>& clients, uint32_t window) {
  return testing::SubscribeAll(
      [&target](const std::string& e) -> absl::StatusOr<std::unique_ptr<endpoint::Client>> {
        absl::StatusOr<endpoint::ClientOptions> options =
            endpoint::ClientOptions::FromPkiDir(testing::SharedTestPki().dir, e, target);
        if (!options.ok()) return options.status();
        return endpoint::Client::Create(std::move(*options));
      },
      endpoints, clients, window, absl::Seconds(120));
}

// ------------------------------------------------------------- one Kafka

// Waits until the broker's Kafka writes stop (no topic grows for 1 s; at most
// 30 s).
void Settle(TopicCounter* counter) {
  if (counter == nullptr) {
    absl::SleepFor(absl::Seconds(1));
    return;
  }
  const int64_t settle0 = NowNs();
  std::map<std::string, int64_t> last = counter->Snapshot();
  const double snapshot_s = (NowNs() - settle0) / 1e9;
  int quiet = 0;
  std::string moving;
  while (quiet < 4 && NowNs() - settle0 < 30'000'000'000) {
    absl::SleepFor(absl::Milliseconds(250));
    std::map<std::string, int64_t> now = counter->Snapshot();
    quiet = now == last ? quiet + 1 : 0;
    moving.clear();
    for (const auto& [topic, n] : now) {
      if (last[topic] != n) absl::StrAppend(&moving, " ", topic, " +", n - last[topic]);
    }
    last = std::move(now);
  }
  if (quiet >= 4) {
    std::printf("\n(broker's Kafka writes quiet after %.1f s)\n", (NowNs() - settle0) / 1e9);
  } else {
    std::printf(
        "\n(broker's Kafka writes not quiet after %.1f s; one count of every topic takes "
        "%.1f s; still growing:%s)\n",
        (NowNs() - settle0) / 1e9, snapshot_s, moving.empty() ? " -" : moving.c_str());
  }
}

// Everything on one Kafka: raw costs, then the pipeline against a broker
// process. `real_state`: the cluster.sh state folder, or "" for the mock.
int RunOnOneKafka(const Options& o, const std::string& real_state) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int R = o.recipients;
  const char* kafka_name = real_state.empty() ? "mock" : "real";
  std::printf("exchange_bench: %u cores, load average %s (1/5/15 min), Kafka: %s\n", cores,
              LoadAverage().c_str(),
              real_state.empty() ? "embedded mock (in the broker process)"
                                 : ("real, cluster of " + real_state).c_str());

  // ---- raw costs, same process, before the pipeline
  const testing::TestPki& pki = testing::SharedTestPki();
  absl::StatusOr<std::unique_ptr<certs::Signer>> signer = certs::Signer::FromPemFiles(
      pki.EndpointFile("RO-IGPR", "sign.key"), pki.EndpointFile("RO-IGPR", "sign.pem"));
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust =
      certs::TrustStore::Load(pki.ca(), pki.crl());
  if (!signer.ok() || !trust.ok()) {
    std::fprintf(stderr, "dev PKI: %s %s\n", signer.status().ToString().c_str(),
                 trust.status().ToString().c_str());
    return 1;
  }
  std::vector<std::string> to(kRecipients.begin(), kRecipients.begin() + R);
  liaison::v1::Message sample = SizedAlert("RO-IGPR", to, o.message_bytes, 0, o.cases);
  const std::string bytes = sample.SerializeAsString();
  absl::StatusOr<liaison::v1::SignedEnvelope> sample_envelope =
      certs::SignEnvelope(bytes, **signer);
  if (!sample_envelope.ok()) return 1;
  std::printf(
      "\nmessage: %zu signed bytes (serialised Message); envelope %zu bytes with "
      "signature and signer certificate\n",
      bytes.size(), sample_envelope->ByteSizeLong());

  certs::Verifier verifier(*trust);
  const CryptoCost crypto = MeasureCrypto(bytes, **signer, verifier, o.crypto_seconds, cores);
  std::printf(
      "\n== raw signatures (certs::Signer / certs::Verifier, ECDSA P-256, %zu bytes, one "
      "thread, CPU time)\n",
      bytes.size());
  std::printf("  sign    %7.1f us  = %8.0f /s per core\n", crypto.sign_us, 1e6 / crypto.sign_us);
  std::printf("  verify  %7.1f us  = %8.0f /s per core   (%u threads together: %.0f /s)\n",
              crypto.verify_us, 1e6 / crypto.verify_us, cores, crypto.verify_all_cores_per_s);

  // Signature ceilings (messages per second on `cores` cores doing nothing
  // but signatures).
  const double ts = crypto.sign_us, tv = crypto.verify_us;
  const double ceiling_four = cores * 1e6 / (2 * ts + 2 * tv);
  const double ceiling_message = cores * 1e6 / (2 * ts + (1 + R) * tv);
  const double ceiling_full = cores * 1e6 / ((2 + R) * ts + (1 + 2 * R) * tv);
  // The work nothing can batch: the sender signs once, the broker verifies
  // once, each recipient verifies the sender's own signature once.
  const double floor_message = cores * 1e6 / (ts + (1 + R) * tv);
  std::printf("\n== signature ceiling on this machine (%u cores)\n", cores);
  std::printf(
      "  the floor (batch signing): 1 sender sign + 1 broker verify + R recipient verifies of "
      "the\n    sender's signature; the broker's batch roots amortised to nothing: %u / (%.1f + "
      "%d x %.1f us) = %.0f msg/s\n",
      cores, ts, 1 + R, tv, floor_message);
  std::printf(
      "  four operations (sender sign + broker verify + broker countersign + recipient "
      "verify):\n    %u / (2 x %.1f + 2 x %.1f us) = %.0f deliveries/s  (one recipient)\n",
      cores, ts, tv, ceiling_four);
  std::printf(
      "  per message to R=%d recipients: the broker signs once per distinct body, so\n"
      "    1 sign + 1 verify + 1 countersign + R verifies: %u / (2 x %.1f + %d x %.1f us) "
      "= %.0f msg/s   <- the target's ceiling\n",
      R, cores, ts, 1 + R, tv, ceiling_message);
  std::printf(
      "  what the protocol actually signs per message: + R signed receipts (broker, on "
      "each ack)\n    and 2 verifies per delivery (ItemVerifier checks the countersignature "
      "and the sender's\n    signature): %u / (%d x %.1f + %d x %.1f us) = %.0f msg/s\n",
      cores, 2 + R, ts, 1 + 2 * R, tv, ceiling_full);

  std::optional<KafkaCost> kafka_cost;
  if (o.kafka_records > 0) {
    ResetPeakRss();
    absl::StatusOr<KafkaCost> k = MeasureKafka(o.kafka_records, 5000);
    if (!k.ok()) {
      std::fprintf(stderr, "raw kafka: %s\n", k.status().ToString().c_str());
      return 1;
    }
    kafka_cost = *k;
    std::printf(
        "\n== raw Kafka (connectors/kafka Producer -> Consumer, fresh embedded cluster: 3 "
        "brokers, 6 partitions,\n   1 KiB records, acks=all, at most 5000 records ahead "
        "of the consumer)\n");
    std::printf("  %lld records: produced %.0f /s, produce -> consume %.0f /s, latency %s%s\n",
                static_cast<long long>(k->records), k->produce_per_s, k->e2e_per_s,
                Format(k->latency).c_str(),
                k->lost ? absl::StrFormat(", %lld LOST", k->lost).c_str() : "");
  }

  // ---- one Kafka hop at a gentle rate, on the Kafka the pipeline uses: its
  // latency floor (the exchange makes three such hops in a row)
  std::optional<KafkaHop> hop;
  if (o.hop_records > 0) {
    kafka::ClientConfig config;
    config.fetch_wait_max_ms = o.fetch_wait_ms > 0 ? o.fetch_wait_ms : (real_state.empty() ? 5 : 0);
    if (!real_state.empty()) {
      absl::StatusOr<kafka::ClientConfig> c = testing::RealKafkaClient(real_state);
      if (!c.ok()) {
        std::fprintf(stderr, "real kafka: %s\n", c.status().ToString().c_str());
        return 1;
      }
      config = *c;
      if (o.fetch_wait_ms > 0) config.fetch_wait_max_ms = o.fetch_wait_ms;
    }
    const double linger = o.linger_ms > 0 ? o.linger_ms : 2;
    absl::StatusOr<KafkaHop> h =
        MeasureKafkaHop(config, !real_state.empty(), absl::StrCat("liaison.bench-hop-", getpid()),
                        100, o.hop_records, linger);
    if (!h.ok()) {
      std::fprintf(stderr, "kafka hop: %s\n", h.status().ToString().c_str());
      return 1;
    }
    hop = *h;
    std::printf(
        "\n== one Kafka hop on %s Kafka (%lld records of 1 KiB at 100/s, 6 partitions, "
        "acks=all, linger %.1f ms, fetch.wait.max.ms %s)\n",
        kafka_name, static_cast<long long>(o.hop_records), linger,
        config.fetch_wait_max_ms > 0 ? std::to_string(config.fetch_wait_max_ms).c_str()
                                     : "500 (librdkafka default)");
    std::printf("  produce -> acknowledged  %s\n  produce -> consumed      %s%s\n",
                Format(h->acked).c_str(), Format(h->consumed).c_str(),
                h->failed > 0 ? absl::StrFormat("\n  %lld records failed or not read",
                                                static_cast<long long>(h->failed))
                                    .c_str()
                              : "");
  }

  // ---- the pipeline: the broker in a process of its own
  std::printf(
      "\n== pipeline: starting the broker process (worker threads: %s) and %d "
      "recipients\n",
      o.workers == 0 ? "one per core" : std::to_string(o.workers).c_str(), R);
  const int64_t start0 = NowNs();
  absl::StatusOr<BrokerChild> broker = StartBrokerChild(o, real_state);
  if (!broker.ok()) {
    std::fprintf(stderr, "broker: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  Watched watched;
  watched.broker_pid = broker->child.pid;
  if (!real_state.empty()) watched.jvm_pids = KafkaJvmPids(real_state);
  std::vector<std::unique_ptr<endpoint::Client>> subscriber_clients;
  NameThisThread("sub-reader");  // the subscriptions' reader threads
  absl::StatusOr<std::vector<std::unique_ptr<endpoint::Subscription>>> subscriptions =
      SubscribeAll(broker->target, to, subscriber_clients, o.subscribe_window);
  NameThisThread("bench-main");
  if (!subscriptions.ok()) {
    std::fprintf(stderr, "subscribe: %s\n", subscriptions.status().ToString().c_str());
    Finish(broker->child);
    return 1;
  }
  std::vector<std::unique_ptr<endpoint::Client>> sender_clients;
  for (int s = 0; s < o.senders; ++s) {
    absl::StatusOr<endpoint::ClientOptions> options =
        endpoint::ClientOptions::FromPkiDir(pki.dir, kSenders[s], broker->target);
    if (!options.ok()) return 1;
    absl::StatusOr<std::unique_ptr<endpoint::Client>> c =
        endpoint::Client::Create(std::move(*options));
    if (!c.ok()) return 1;
    sender_clients.push_back(std::move(*c));
  }
  std::printf("  ready in %.1f s (broker pid %d", (NowNs() - start0) / 1e9, broker->child.pid);
  if (!watched.jvm_pids.empty()) {
    std::printf(", Kafka JVM pids");
    for (int pid : watched.jvm_pids) std::printf(" %d", pid);
  }
  std::printf("): senders");
  for (int s = 0; s < o.senders; ++s) std::printf(" %s", kSenders[s].c_str());
  std::printf(" -> recipients");
  for (const std::string& r : to) std::printf(" %s", r.c_str());
  std::printf("\n  send window %zu, subscribe window %u, acknowledgements in batches of %zu\n",
              o.window, o.subscribe_window, o.ack_batch);

  std::unique_ptr<TopicCounter> counter;
  const int64_t counter0 = NowNs();
  {
    broker::Topics topics(broker->prefix);
    std::vector<std::string> names = {
        topics.Ingress(),       topics.Audit(),   topics.AcceptedIds(), topics.AckedItems(),
        topics.DeliveryIndex(), topics.Sources(), topics.Consents(),    topics.Holds()};
    for (int s = 0; s < o.senders; ++s) names.push_back(topics.Deliver(kSenders[s]));
    for (const std::string& r : to) names.push_back(topics.Deliver(r));
    kafka::ClientConfig config;
    if (real_state.empty()) {
      config.bootstrap_servers = broker->bootstrap;
    } else {
      absl::StatusOr<kafka::ClientConfig> c = testing::RealKafkaClient(real_state);
      if (c.ok()) config = *c;
      config.bootstrap_servers = broker->bootstrap;
    }
    absl::StatusOr<std::unique_ptr<TopicCounter>> c = TopicCounter::Create(config, names);
    if (c.ok()) {
      counter = std::move(*c);
    } else {
      std::fprintf(stderr, "kafka record counts unavailable: %s\n", c.status().ToString().c_str());
    }
  }
  auto pipeline =
      std::make_unique<Pipeline>(o, std::move(sender_clients), std::move(*subscriptions));
  std::printf("  kafka record counter ready in %.1f s\n", (NowNs() - counter0) / 1e9);
  Run warm{.name = "warm-up", .messages = o.warmup, .recipients = R};
  const int64_t warm0 = NowNs();
  if (o.warmup > 0 && !pipeline->Execute(&warm, 0)) {
    std::fprintf(stderr, "warm-up stalled: %lld of %lld delivered\n",
                 static_cast<long long>(warm.completed), static_cast<long long>(warm.messages));
    pipeline.reset();
    Finish(broker->child);
    return 1;
  }
  std::printf("  warm-up: %lld messages in %.1f s\n", static_cast<long long>(o.warmup),
              (NowNs() - warm0) / 1e9);

  AskBroker ask_broker = [&broker] { return AskBrokerChild(*broker); };
  double idle_broker = 0, idle_clients = 0, idle_jvm = 0;
  double idle_broker_signs = 0, idle_broker_verifies = 0;
  if (o.idle_seconds > 0) {
    // What the running pipeline costs with no traffic at all: the broker with
    // its open streams, the idle clients, the Kafka JVMs. The warm-up's last
    // acknowledgements turn into receipts first.
    Settle(counter.get());
    const BrokerStats b0 = ask_broker();
    const CpuMark m0 = MarkCpu(watched);
    absl::SleepFor(absl::Seconds(o.idle_seconds));
    const CpuMark m1 = MarkCpu(watched);
    const BrokerStats b1 = ask_broker();
    idle_broker_signs = static_cast<double>(b1.signs - b0.signs);
    idle_broker_verifies = static_cast<double>(b1.verifies - b0.verifies);
    const double wall = m1.wall - m0.wall;
    idle_broker = (m1.broker - m0.broker) / wall;
    idle_clients = (m1.clients - m0.clients) / wall;
    idle_jvm = (m1.jvm - m0.jvm) / wall;
    std::printf(
        "\n== idle (no traffic, %.0f s): broker process %.3f cores, senders and "
        "recipients %.3f cores",
        o.idle_seconds, idle_broker, idle_clients);
    if (!watched.jvm_pids.empty()) std::printf(", Kafka JVMs %.3f cores", idle_jvm);
    std::printf("; the broker signed %.0f and verified %.0f times", idle_broker_signs,
                idle_broker_verifies);
    std::printf("\n  broker process:\n");
    PrintCpuTable(CpuByGroup(m0.broker_threads, m1.broker_threads), m1.broker - m0.broker, 0, "",
                  &Explain);
    if (!watched.jvm_pids.empty()) {
      std::printf("  Kafka JVMs (Java thread names):\n");
      PrintCpuTable(CpuByGroup(m0.jvm_threads, m1.jvm_threads), m1.jvm - m0.jvm, 0, "", &Explain);
    }
  }

  std::optional<RunFigures> flood;
  std::vector<std::pair<double, RunFigures>> paced;
  std::vector<std::unique_ptr<Run>> runs;
  if (o.mode != "rate") {
    runs.push_back(
        std::make_unique<Run>(Run{.name = "flood", .messages = o.messages, .recipients = R}));
    flood = Measure(*pipeline, runs.back().get(), 0, o, counter.get(), to, watched, ask_broker);
  }
  std::vector<double> rates = o.rates;
  if (o.mode == "both" && rates.empty() && flood) rates.push_back(0.5 * flood->messages_per_s);
  if (o.mode == "flood") rates.clear();
  for (double rate : rates) {
    // The last run's last acknowledgements still turn into receipts
    // (ingress control record, audit, receipt record) after its last
    // delivery: let the broker's writes stop first, so each paced run
    // measures its own messages only.
    if (flood || !paced.empty()) Settle(counter.get());
    runs.push_back(
        std::make_unique<Run>(Run{.name = absl::StrFormat("paced %.0f/s", rate),
                                  .messages = o.rate_messages > 0 ? o.rate_messages : o.messages,
                                  .recipients = R}));
    paced.emplace_back(rate, Measure(*pipeline, runs.back().get(), rate, o, counter.get(), to,
                                     watched, ask_broker));
  }
  const int64_t verify_failures = pipeline->verify_failures();
  const int64_t other_items = pipeline->other_items();
  const size_t item_bytes = pipeline->delivery_item_bytes();
  const auto [redeliveries, stray_results] = pipeline->tracker().strays();
  const int64_t stop0 = NowNs();
  pipeline.reset();
  counter.reset();
  subscriber_clients.clear();
  const int broker_status = Finish(broker->child);
  std::printf("\n(shut down in %.1f s; broker process exit status %d)\n", (NowNs() - stop0) / 1e9,
              broker_status);
  if (verify_failures > 0 || other_items > 0 || redeliveries > 0 || stray_results > 0) {
    std::printf(
        "\nWARNING: %lld items failed verification, %lld notices/receipts received, "
        "%lld redeliveries, %lld stray send results\n",
        static_cast<long long>(verify_failures), static_cast<long long>(other_items),
        static_cast<long long>(redeliveries), static_cast<long long>(stray_results));
  }

  // ---- summary
  std::printf("\n== summary (delivery item as received: %zu bytes)\n", item_bytes);
  std::printf(
      "RESULT kafka=%s batch_signing=%s cores=%u load_avg=\"%s\" senders=%d recipients=%d "
      "messages=%lld message_bytes=%zu envelope_bytes=%zu\n",
      kafka_name, o.batch_signing.c_str(), cores, LoadAverage().c_str(), o.senders, R,
      static_cast<long long>(o.messages), bytes.size(), sample_envelope->ByteSizeLong());
  std::printf(
      "RESULT sign_us=%.1f verify_us=%.1f sign_per_s=%.0f verify_per_s=%.0f "
      "verify_per_s_all_cores=%.0f\n",
      ts, tv, 1e6 / ts, 1e6 / tv, crypto.verify_all_cores_per_s);
  std::printf(
      "RESULT floor_msg_per_s=%.0f ceiling_four_ops_per_s=%.0f ceiling_msg_per_s=%.0f "
      "ceiling_with_receipts_msg_per_s=%.0f\n",
      floor_message, ceiling_four, ceiling_message, ceiling_full);
  if (o.idle_seconds > 0) {
    std::printf(
        "RESULT idle_seconds=%.0f idle_broker_cores=%.3f idle_clients_cores=%.3f "
        "idle_kafka_jvm_cores=%.3f idle_broker_signs=%.0f idle_broker_verifies=%.0f "
        "target_idle_broker_cores=0.05 idle_met=%s\n",
        o.idle_seconds, idle_broker, idle_clients, idle_jvm, idle_broker_signs,
        idle_broker_verifies, idle_broker <= 0.05 ? "yes" : "no");
  }
  if (kafka_cost) {
    std::printf(
        "RESULT kafka_produce_per_s=%.0f kafka_e2e_per_s=%.0f kafka_p50_ms=%.2f "
        "kafka_p99_ms=%.2f\n",
        kafka_cost->produce_per_s, kafka_cost->e2e_per_s, kafka_cost->latency.p50_ms,
        kafka_cost->latency.p99_ms);
  }
  if (hop) {
    std::printf(
        "RESULT hop_acked_p50_ms=%.2f hop_acked_p99_ms=%.2f hop_consumed_p50_ms=%.2f "
        "hop_consumed_p99_ms=%.2f\n",
        hop->acked.p50_ms, hop->acked.p99_ms, hop->consumed.p50_ms, hop->consumed.p99_ms);
  }
  auto result = [&](const char* name, const RunFigures& f, double rate) {
    std::printf(
        "RESULT run=%s rate=%.0f complete=%d accepted_msg_per_s=%.0f "
        "delivered_msg_per_s=%.0f deliveries_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
        "max_ms=%.2f broker_us_per_msg=%.0f broker_cores=%.2f clients_us_per_msg=%.0f "
        "clients_cores=%.2f kafka_jvm_us_per_msg=%.0f kafka_jvm_cores=%.2f "
        "peak_rss_mib=%.1f\n",
        name, rate, f.complete ? 1 : 0, f.accepted_per_s, f.messages_per_s, f.deliveries_per_s,
        f.e2e.p50_ms, f.e2e.p99_ms, f.e2e.max_ms, f.broker_us_per_message, f.broker_cores,
        f.clients_us_per_message, f.clients_cores, f.jvm_us_per_message, f.jvm_cores,
        f.peak_rss_kb / 1024.0);
    // Counted per message: signatures, Kafka records by topic group, CPU by
    // thread group (us); the broker's peak RSS.
    std::string counted = absl::StrFormat(
        "RESULT run=%s rate=%.0f broker_peak_rss_mib=%.1f broker_rss_mib=%.1f "
        "broker_signs_per_msg=%.3f broker_verifies_per_msg=%.3f sender_signs_per_msg=%.3f "
        "recipient_verifies_per_msg=%.3f",
        name, rate, f.broker_peak_rss_kb / 1024.0, f.broker_rss_kb / 1024.0, f.broker_signs,
        f.broker_verifies, f.clients_signs, f.clients_verifies);
    auto key = [](const std::string& k) {
      std::string out;
      for (char c : k) {
        if (c == '<' || c == '>') continue;
        out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '.' ? c : '_');
      }
      return out;
    };
    for (const auto& [group, per] : f.records) {
      absl::StrAppendFormat(&counted, " records.%s=%.2f", key(group), per);
    }
    std::printf("%s\n", counted.c_str());
    std::string cpu = absl::StrFormat("RESULT run=%s rate=%.0f", name, rate);
    // Groups under 1 us per message are left out.
    for (const auto& [group, us] : f.broker_groups) {
      if (us >= 1) absl::StrAppendFormat(&cpu, " cpu.broker.%s=%.0f", key(group), us);
    }
    for (const auto& [group, us] : f.clients_groups) {
      if (us >= 1) absl::StrAppendFormat(&cpu, " cpu.clients.%s=%.0f", key(group), us);
    }
    for (const auto& [group, us] : f.jvm_groups) {
      if (us >= 1) absl::StrAppendFormat(&cpu, " cpu.jvm.%s=%.0f", key(group), us);
    }
    std::printf("%s\n", cpu.c_str());
  };
  if (flood) result("flood", *flood, 0);
  for (const auto& [rate, f] : paced) result("paced", f, rate);
  if (flood) {
    const double ratio_floor = flood->messages_per_s / floor_message;
    const double ratio = flood->messages_per_s / ceiling_message;
    const double ratio_full = flood->messages_per_s / ceiling_full;
    std::printf(
        "\n== flood throughput next to the floor and the old ceilings (%u cores, this run's "
        "raw costs)\n",
        cores);
    std::printf("  %-66s %9s %9s\n", "", "msg/s", "flood/it");
    std::printf("  %-66s %9.0f\n", "flood, delivered to every recipient", flood->messages_per_s);
    std::printf("  %-66s %9.0f %9.2f   (target >= 0.5)\n",
                "floor: cores / (t_sign + (1+R) t_verify)", floor_message, ratio_floor);
    std::printf("  %-66s %9.0f %9.2f\n", "old target ceiling: cores / (2 t_sign + (1+R) t_verify)",
                ceiling_message, ratio);
    std::printf("  %-66s %9.0f %9.2f\n",
                "old ceiling with receipts: cores / ((2+R) t_sign + (1+2R) t_verify)", ceiling_full,
                ratio_full);
    // The ceiling of what was really signed and verified, counted in this
    // run (all processes), at this run's raw costs.
    const double signs = std::max(0.0, flood->broker_signs) + flood->clients_signs;
    const double verifies = std::max(0.0, flood->broker_verifies) + flood->clients_verifies;
    const double ceiling_counted = cores * 1e6 / (signs * ts + verifies * tv);
    std::printf(
        "  %-66s %9.0f %9.2f\n",
        absl::StrFormat("counted: cores / (%.2f t_sign + %.2f t_verify)", signs, verifies).c_str(),
        ceiling_counted, flood->messages_per_s / ceiling_counted);
    std::printf(
        "RESULT ratio_to_floor=%.2f ratio_to_ceiling=%.2f ratio_to_ceiling_with_receipts=%.2f "
        "ceiling_counted_msg_per_s=%.0f ratio_to_ceiling_counted=%.2f target_ratio=0.50 "
        "floor_ratio_met=%s\n",
        ratio_floor, ratio, ratio_full, ceiling_counted, flood->messages_per_s / ceiling_counted,
        ratio_floor >= 0.5 ? "yes" : "no");
  }
  for (const auto& [rate, f] : paced) {
    std::printf("RESULT paced_rate=%.0f paced_p99_ms=%.2f target_p99_ms=25 p99_met=%s\n", rate,
                f.e2e.p99_ms, f.e2e.p99_ms < 25 ? "yes" : "no");
    if (flood) {
      // The polling tax: CPU per message when paced against the flood's
      // (target: at most 2x at 100 msg/s).
      const double broker_ratio = f.broker_us_per_message / flood->broker_us_per_message;
      const double total =
          f.broker_us_per_message + f.clients_us_per_message + f.jvm_us_per_message;
      const double flood_total =
          flood->broker_us_per_message + flood->clients_us_per_message + flood->jvm_us_per_message;
      std::printf(
          "RESULT run=paced rate=%.0f cpu_per_msg_vs_flood_broker=%.2f "
          "cpu_per_msg_vs_flood_all=%.2f target_cpu_per_msg_vs_flood=2\n",
          rate, broker_ratio, total / flood_total);
    }
  }
  bool complete = !flood || flood->complete;
  for (const auto& [rate, f] : paced) complete = complete && f.complete;
  return complete && verify_failures == 0 ? 0 : 1;
}

// ------------------------------------------------------ mock next to real

// "RESULT a=1 b=\"x y\"" -> {a: 1, b: x y}.
std::map<std::string, std::string> ParseResult(const std::string& line) {
  std::map<std::string, std::string> out;
  size_t i = line.find(' ');
  while (i != std::string::npos && i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const size_t eq = line.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = line.substr(i, eq - i), value;
    size_t j = eq + 1;
    if (j < line.size() && line[j] == '"') {
      const size_t end = line.find('"', j + 1);
      value = line.substr(j + 1, end == std::string::npos ? std::string::npos : end - j - 1);
      j = end == std::string::npos ? line.size() : end + 1;
    } else {
      size_t end = j;
      while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
      value = line.substr(j, end - j);
      j = end;
    }
    out[key] = value;
    i = j;
  }
  return out;
}

// One child bench per Kafka, one after the other; every figure by section
// ("" for the general ones, "flood", "paced 100", ...).
using Figures = std::map<std::string, std::map<std::string, std::string>>;

Figures Collect(const std::vector<std::string>& lines) {
  Figures f;
  for (const std::string& line : lines) {
    if (line.rfind("RESULT ", 0) != 0) continue;
    std::map<std::string, std::string> kv = ParseResult(line);
    std::string section;
    if (kv.count("run")) section = kv["run"] == "flood" ? "flood" : "paced " + kv["rate"];
    for (auto& [k, v] : kv) f[section][k] = v;
  }
  return f;
}

void PrintComparison(const std::vector<std::pair<std::string, Figures>>& all,
                     const std::vector<double>& rates) {
  std::printf(
      "\n== side by side (each column: its own bench process and run; broker in its own "
      "process)\n");
  std::printf("  %-44s", "");
  for (const auto& [name, f] : all) std::printf(" %20s", name.c_str());
  std::printf("\n");
  auto row = [&](const std::string& label, const std::string& section,
                 std::vector<std::string> keys, const char* sep = " / ") {
    std::printf("  %-44s", label.c_str());
    for (const auto& [name, f] : all) {
      std::string cell;
      auto it = f.find(section);
      for (size_t k = 0; k < keys.size(); ++k) {
        std::string v = "-";
        if (it != f.end()) {
          if (auto kv = it->second.find(keys[k]); kv != it->second.end()) v = kv->second;
        }
        cell += (k ? sep : "") + v;
      }
      std::printf(" %20s", cell.c_str());
    }
    std::printf("\n");
  };
  // Keys of `section` starting with `prefix`, over every column.
  auto keys_of = [&](const std::string& section, const std::string& prefix) {
    std::set<std::string> keys;
    for (const auto& [name, f] : all) {
      auto it = f.find(section);
      if (it == f.end()) continue;
      for (const auto& [k, v] : it->second) {
        if (k.rfind(prefix, 0) == 0) keys.insert(k);
      }
    }
    return keys;
  };
  row("load average at the end (1/5/15 min)", "", {"load_avg"});
  row("batch signing", "", {"batch_signing"});
  row("raw sign / verify us", "", {"sign_us", "verify_us"});
  row("floor msg/s: cores/(ts+(1+R)tv)", "", {"floor_msg_per_s"});
  row("old target ceiling msg/s: cores/(2ts+(1+R)tv)", "", {"ceiling_msg_per_s"});
  row("old ceiling with receipts msg/s", "", {"ceiling_with_receipts_msg_per_s"});
  row("ceiling of the counted signatures msg/s", "", {"ceiling_counted_msg_per_s"});
  row("flood / floor", "", {"ratio_to_floor"});
  row("flood / old target ceiling", "", {"ratio_to_ceiling"});
  row("flood / old ceiling with receipts", "", {"ratio_to_ceiling_with_receipts"});
  row("flood / ceiling of the counted signatures", "", {"ratio_to_ceiling_counted"});
  row("one Kafka hop p50 / p99 ms: acknowledged", "", {"hop_acked_p50_ms", "hop_acked_p99_ms"});
  row("one Kafka hop p50 / p99 ms: consumed", "", {"hop_consumed_p50_ms", "hop_consumed_p99_ms"});
  row("flood delivered msg/s", "flood", {"delivered_msg_per_s"});
  row("flood p50 / p99 ms", "flood", {"p50_ms", "p99_ms"});
  row("flood cpu us/msg: broker / clients", "flood", {"broker_us_per_msg", "clients_us_per_msg"});
  row("flood cpu us/msg: Kafka JVMs", "flood", {"kafka_jvm_us_per_msg"});
  row("flood signatures/msg: broker sign / verify", "flood",
      {"broker_signs_per_msg", "broker_verifies_per_msg"});
  row("flood signatures/msg: sender sign", "flood", {"sender_signs_per_msg"});
  row("flood signatures/msg: recipients verify", "flood", {"recipient_verifies_per_msg"});
  row("flood peak RSS MiB: broker process", "flood", {"broker_peak_rss_mib"});
  row("flood peak RSS MiB: bench (clients)", "flood", {"peak_rss_mib"});
  for (const std::string& k : keys_of("flood", "records.")) {
    row("flood Kafka records/msg: " + k.substr(8), "flood", {k});
  }
  for (const std::string& k : keys_of("flood", "cpu.")) {
    row("flood cpu us/msg: " + k.substr(4), "flood", {k});
  }
  std::set<std::string> sections;
  for (const auto& [name, f] : all) {
    for (const auto& [section, kv] : f) {
      if (section.rfind("paced ", 0) == 0) sections.insert(section);
    }
  }
  for (const std::string& s : sections) {
    row(s + " msg/s: p50 / p99 ms", s, {"p50_ms", "p99_ms"});
    row(s + " msg/s: complete", s, {"complete"});
    row(s + " msg/s: cores broker / clients", s, {"broker_cores", "clients_cores"});
    row(s + " msg/s: cores Kafka JVMs", s, {"kafka_jvm_cores"});
    row(s + " msg/s: cpu us/msg broker / clients", s, {"broker_us_per_msg", "clients_us_per_msg"});
    row(s + " msg/s: cpu us/msg Kafka JVMs", s, {"kafka_jvm_us_per_msg"});
    row(s + " msg/s: cpu/msg vs flood: broker / all", s,
        {"cpu_per_msg_vs_flood_broker", "cpu_per_msg_vs_flood_all"});
    row(s + " msg/s: Kafka records/msg", s, {"records.total"});
    row(s + " msg/s: broker signs / verifies per msg", s,
        {"broker_signs_per_msg", "broker_verifies_per_msg"});
  }
  row("idle cores: broker process", "", {"idle_broker_cores"});
  row("idle cores: senders and recipients", "", {"idle_clients_cores"});
  row("idle cores: Kafka JVMs", "", {"idle_kafka_jvm_cores"});
  row("idle: broker signs / verifies (whole sample)", "",
      {"idle_broker_signs", "idle_broker_verifies"});
  (void)rates;
}

// ------------------------------------------------------------------- main

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Liaison exchange benchmark: signed 1 KiB alerts through the real broker (in a "
      "process of its own) and Kafka (the embedded mock or a real cluster), next to the "
      "raw signature and Kafka costs on this machine"};
  app.add_option("--mode", o.mode,
                 "flood | rate (paced at each --rate) | both (flood, then paced at each --rate, "
                 "or at 0.5x the flood rate without one)")
      ->check(CLI::IsMember({"flood", "rate", "both"}))
      ->capture_default_str();
  app.add_option("--messages", o.messages, "messages per measured run")->capture_default_str();
  app.add_option("--senders", o.senders, "concurrent sender endpoints (1-4)")
      ->check(CLI::Range(1, static_cast<int>(kSenders.size())))
      ->capture_default_str();
  app.add_option("--recipients", o.recipients, "recipients of every message (1-4)")
      ->check(CLI::Range(1, static_cast<int>(kRecipients.size())))
      ->capture_default_str();
  app.add_option("--rate", o.rates,
                 "total send rate of a paced run in msg/s (repeatable: "
                 "--rate=100 --rate=400)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "messages sent and delivered before measuring")
      ->capture_default_str();
  app.add_option("--window", o.window, "send stream window (results outstanding per sender)")
      ->capture_default_str();
  app.add_option("--subscribe-window", o.subscribe_window, "unacknowledged items per recipient")
      ->capture_default_str();
  app.add_option("--ack-batch", o.ack_batch, "item ids per acknowledgement")->capture_default_str();
  app.add_option("--flood-in-flight", o.flood_in_flight,
                 "flood: messages sealed but not yet delivered everywhere")
      ->capture_default_str();
  app.add_option("--workers", o.workers, "broker worker threads (0 = one per core)")
      ->capture_default_str();
  app.add_option("--cases", o.cases, "case references per sender (spread over partitions)")
      ->capture_default_str();
  app.add_option("--message-bytes", o.message_bytes, "size of the signed message bytes")
      ->capture_default_str();
  app.add_option("--kafka-records", o.kafka_records,
                 "records for the raw Kafka figure (0 = skip it)")
      ->capture_default_str();
  app.add_option("--crypto-seconds", o.crypto_seconds, "seconds per raw signature figure")
      ->capture_default_str();
  app.add_option("--hop-records", o.hop_records,
                 "records for the one-hop Kafka latency at 100/s on the pipeline's Kafka (0 = "
                 "skip)")
      ->capture_default_str();
  app.add_option("--probe-seconds", o.probe_seconds,
                 "interval of the broker's operator probe of Kafka (reachability, group lags: "
                 "one short-lived client per group and round)")
      ->capture_default_str();
  app.add_option("--idle-seconds", o.idle_seconds,
                 "seconds to sample the idle broker's CPU after the warm-up (0 = skip)")
      ->capture_default_str();
  app.add_option("--fetch-wait-ms", o.fetch_wait_ms,
                 "broker consumers' fetch.wait.max.ms (0 = the broker's default: 5 on the mock, "
                 "librdkafka's 500 on real Kafka)");
  app.add_option("--linger-ms", o.linger_ms, "broker producer's linger.ms (0 = the default)");
  app.add_option(
      "--ack-linger-ms", o.ack_linger_ms,
      "how long a Subscribe stream lets acknowledgements gather (BrokerConfig::ack_linger; "
      "negative = the broker's default, 20 ms)");
  app.add_option("--delivery-consumer", o.delivery_consumer,
                 "the broker's Subscribe streams: shared = one consumer per node, per-stream = "
                 "one consumer per stream (BrokerConfig::shared_delivery)")
      ->check(CLI::IsMember({"shared", "per-stream"}))
      ->capture_default_str();
  app.add_option("--policy-transactions", o.policy_transactions,
                 "the broker's policy stage on real Kafka: auto/on = Kafka transactions (exactly "
                 "once), off = at-least-once with dedup (the mock always runs without)")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_option("--ingress-partitions", o.ingress_partitions,
                 "partitions of liaison.ingress and liaison.audit (0 = the default)");
  app.add_option("--deliver-partitions", o.deliver_partitions,
                 "partitions of each liaison.deliver.<endpoint> (0 = the default)");
  app.add_option("--kafka", o.kafka,
                 "mock | real | both: which Kafka the pipeline runs on (default: mock, or both "
                 "when a real cluster is named or started); both = one run per Kafka and a "
                 "table side by side")
      ->check(CLI::IsMember({"mock", "real", "both"}));
  auto* state_opt = app.add_option(
      "--kafka-state-dir", o.kafka_state_dir,
      "state folder of a running deploy/kafka/cluster.sh cluster (its bootstrap address, the "
      "liaison-policy client certificate, the nodes' pids for their CPU); ACLs of "
      "deploy/kafka/acls.sh applied");
  app.add_option("--kafka-bootstrap", o.kafka_bootstrap,
                 "real Kafka's bootstrap servers, instead of the state folder's (needs "
                 "--kafka-state-dir or --start-kafka for the mutual-TLS client configuration)");
  app.add_flag("--start-kafka", o.start_kafka,
               "start a fresh local 3-node cluster (tests/kafka_real/fixture.sh: cluster.sh, "
               "topics.sh, acls.sh) under <build>/tests/bench/kafka-state, and stop it at the "
               "end")
      ->excludes(state_opt);
  app.add_option("--batch-signing", o.batch_signing,
                 "on: the policy stage signs statements and receipts in batches (one signature "
                 "per Merkle root, the broker's default); off: one signature per statement")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  app.add_flag("--ab-batch-signing", o.ab_batch_signing,
               "run everything twice, batch signing on then off (each in a fresh bench "
               "process), and print both side by side");
  app.add_option("--rate-messages", o.rate_messages, "messages per paced run (0 = --messages)")
      ->capture_default_str();
  app.add_flag("--serve-broker", o.serve_broker, "internal: be the broker process")->group("");
  CLI11_PARSE(app, argc, argv);
  if (o.mode == "rate" && o.rates.empty()) {
    std::fprintf(stderr, "error: --mode=rate needs --rate=R (msg/s)\n");
    return 2;
  }
  if (!o.kafka_bootstrap.empty() && o.kafka_state_dir.empty() && !o.start_kafka) {
    std::fprintf(stderr,
                 "error: --kafka-bootstrap %s needs --kafka-state-dir DIR (or --start-kafka): the "
                 "bench reaches Kafka over mutual TLS with DIR/clients/"
                 "liaison-policy.librdkafka.properties\n",
                 o.kafka_bootstrap.c_str());
    return 2;
  }
  const bool real_named = !o.kafka_state_dir.empty() || o.start_kafka;
  if (o.kafka.empty()) o.kafka = real_named ? "both" : "mock";
  if (o.kafka != "mock" && !real_named) {
    std::fprintf(stderr,
                 "error: --kafka=%s needs a real cluster: --kafka-state-dir DIR or "
                 "--start-kafka\n",
                 o.kafka.c_str());
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  if (o.serve_broker) return ServeBroker(o);
  if (std::getenv("LIAISON_LOG_LEVEL") == nullptr) log::SetMinLevel(log::Level::kWarning);
  NameThisThread("bench-main");

  if (!o.kafka_state_dir.empty()) {
    std::error_code ec;
    o.kafka_state_dir = std::filesystem::absolute(o.kafka_state_dir, ec).string();
    if (!std::filesystem::exists(o.kafka_state_dir + "/bootstrap")) {
      std::fprintf(stderr,
                   "error: --kafka-state-dir %s: no cluster started there (no bootstrap "
                   "file; deploy/kafka/cluster.sh start --state-dir %s writes it)\n",
                   o.kafka_state_dir.c_str(), o.kafka_state_dir.c_str());
      return 2;
    }
  }
  std::string started_state;
  if (o.start_kafka) {
    started_state = (std::filesystem::path(SelfExe()).parent_path() / "kafka-state").string();
    std::printf("exchange_bench: starting a 3-node Kafka cluster in %s\n", started_state.c_str());
    absl::StatusOr<Child> c = Spawn(
        {"/bin/bash", testing::SourcePath("tests/kafka_real/fixture.sh"), "start", started_state},
        {}, false, false);
    const int status = c.ok() ? Finish(*c) : -1;
    if (status != 0) {
      std::fprintf(stderr,
                   "error: starting Kafka failed (exit status %d, see above); the "
                   "cluster of %s is stopped\n",
                   status, started_state.c_str());
      if (c.ok()) {
        absl::StatusOr<Child> stop =
            Spawn({"/bin/bash", testing::SourcePath("tests/kafka_real/fixture.sh"), "stop",
                   started_state},
                  {}, false, false);
        if (stop.ok()) Finish(*stop);
      }
      return 1;
    }
    o.kafka_state_dir = started_state;
  }
  auto stop_kafka = [&] {
    if (started_state.empty()) return 0;
    std::printf("exchange_bench: stopping the Kafka cluster of %s\n", started_state.c_str());
    absl::StatusOr<Child> c = Spawn(
        {"/bin/bash", testing::SourcePath("tests/kafka_real/fixture.sh"), "stop", started_state},
        {}, false, false);
    return c.ok() ? Finish(*c) : -1;
  };

  int status = 0;
  std::vector<std::string> kafkas = {o.kafka};
  if (o.kafka == "both") kafkas = {"mock", "real"};
  std::vector<std::string> signings = {o.batch_signing};
  if (o.ab_batch_signing) signings = {"on", "off"};
  if (kafkas.size() * signings.size() == 1) {
    status = RunOnOneKafka(o, o.kafka == "real" ? o.kafka_state_dir : "");
  } else {
    // One child bench per Kafka and signing mode: each measures from a
    // fresh process, so none inherits another's threads, caches or heap.
    std::vector<std::pair<std::string, Figures>> all;
    for (const std::string& kafka : kafkas) {
      for (const std::string& signing : signings) {
        Options child = o;
        child.batch_signing = signing;
        std::vector<std::string> args = {SelfExe(), "--kafka=" + kafka};
        for (std::string& f : AsFlags(child)) args.push_back(std::move(f));
        if (kafka == "real") args.push_back("--kafka-state-dir=" + o.kafka_state_dir);
        const std::string name =
            o.ab_batch_signing ? kafka + (signing == "on" ? " batched" : " per-statement") : kafka;
        std::printf("\n######## exchange_bench on %s Kafka, batch signing %s\n", kafka.c_str(),
                    signing.c_str());
        absl::StatusOr<Child> c = Spawn(args, {}, false, true);
        if (!c.ok()) {
          std::fprintf(stderr, "error: %s\n", c.status().ToString().c_str());
          status = 1;
          continue;
        }
        std::vector<std::string> lines;
        if (const int s = Finish(*c, &lines); s != 0) {
          std::printf("(the %s run ended with exit status %d)\n", name.c_str(), s);
          status = 1;
        }
        all.emplace_back(name, Collect(lines));
      }
    }
    PrintComparison(all, o.rates);
  }
  if (const int s = stop_kafka(); s != 0) {
    std::fprintf(stderr, "error: stopping Kafka failed (exit status %d)\n", s);
    status = status == 0 ? 1 : status;
  }
  return status;
}

}  // namespace
}  // namespace liaison::bench

int main(int argc, char** argv) { return liaison::bench::Main(argc, argv); }
