// hold_bench: what a large book of held messages costs a broker node.
//
// Senders decide how much is held (a derived message waits for its
// provider's consent, DP-HC-03), so held content must not live in every
// node's memory. This program runs the real `liaison-broker` process on a
// real one-node Kafka (deploy/kafka/cluster.sh), makes NL-NP send
// --messages derived messages of --bytes each to ES-PN, all held for
// DE-BKA's consent, and prints the broker process's resident memory (VmRSS,
// and the peak VmHWM from /proc/<pid>/status):
//   1. started, nothing held;
//   2. every message held (HELD notice received for each);
//   3. after a restart of the broker (the hold book is rebuilt from Kafka);
//   4. after DE-BKA's consents released every hold (each delivered to ES-PN).
// Next to them: the bytes held (messages x size), the time each phase took.
// Figures, not assertions (tests/bench/README.md).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "certs/testing/test_pki.h"
#include "connectors/endpoint/client.h"
#include "nlohmann/json.hpp"
#include "policy/testing/scenario.h"
#include "tests/fixtures/test_broker.h"

namespace liaison::bench {
namespace {

namespace sc = liaison::policy::scenario;
using liaison::v1::Message;
using testing::RunCommand;
using testing::SourcePath;

struct Memory {
  long rss_kib = -1;
  long hwm_kib = -1;
};

Memory MemoryOf(pid_t pid) {
  Memory m;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kib = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kib = std::stol(line.substr(6));
  }
  return m;
}

std::string MiB(long kib) { return absl::StrFormat("%.1f MiB", kib / 1024.0); }

void Die(const std::string& what) {
  std::cerr << "hold_bench: " << what << "\n";
  std::exit(1);
}

void Run(const std::string& command) {
  testing::CommandResult r = RunCommand(command);
  if (r.exit_code != 0) Die(absl::StrCat("`", command, "` failed:\n", r.output));
}

// The broker as a child process (as tests/e2e does), on the real cluster.
class Broker {
 public:
  Broker(std::vector<std::string> args, std::string state_dir)
      : args_(std::move(args)), state_dir_(std::move(state_dir)) {}
  ~Broker() { Stop(); }

  void Start() {
    std::filesystem::remove(state_dir_ + "/broker.json");
    const std::string log = state_dir_ + "/broker.log";
    std::cout.flush();
    std::fflush(nullptr);  // the child must not write this process's buffers again
    pid_ = fork();
    if (pid_ == 0) {
      if (freopen(log.c_str(), "a", stdout) == nullptr) _exit(126);
      if (freopen(log.c_str(), "a", stderr) == nullptr) _exit(126);
      std::vector<char*> argv;
      for (std::string& a : args_) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const absl::Time deadline = absl::Now() + absl::Minutes(5);
    while (!std::filesystem::exists(state_dir_ + "/broker.json")) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        Die(absl::StrCat("the broker exited; see ", log));
      }
      if (absl::Now() > deadline) Die(absl::StrCat("the broker did not start; see ", log));
      absl::SleepFor(absl::Milliseconds(100));
    }
    absl::SleepFor(absl::Milliseconds(200));  // broker.json written in full
    std::ifstream in(state_dir_ + "/broker.json");
    target_ = nlohmann::json::parse(in)["target"];
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  const std::string& target() const { return target_; }

 private:
  std::vector<std::string> args_;
  std::string state_dir_;
  pid_t pid_ = -1;
  std::string target_;
};

std::unique_ptr<endpoint::Client> ClientFor(const std::string& pki, const std::string& id,
                                            const std::string& target) {
  absl::StatusOr<endpoint::ClientOptions> options =
      endpoint::ClientOptions::FromPkiDir(pki, id, target);
  if (!options.ok()) Die(options.status().ToString());
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client =
      endpoint::Client::Create(*std::move(options));
  if (!client.ok()) Die(client.status().ToString());
  return *std::move(client);
}

// Reads `sub` until `done` holds or `timeout` passes, acknowledging
// everything; `on_item` sees each verified item.
bool Drain(endpoint::Subscription& sub, absl::Duration timeout,
           const std::function<void(const endpoint::VerifiedItem&)>& on_item,
           const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> acks;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::StatusOr<endpoint::Subscription::Received> r = sub.Next(absl::Milliseconds(200));
    if (!r.ok()) {
      if (absl::IsDeadlineExceeded(r.status())) continue;
      Die(absl::StrCat("subscription ended: ", r.status().ToString()));
    }
    if (r->verified.ok()) on_item(*r->verified);
    acks.push_back(r->item.item_id());
    if (acks.size() >= 64) {
      (void)sub.Ack(acks);
      acks.clear();
    }
  }
  if (!acks.empty()) (void)sub.Ack(acks);
  return true;
}

void Line(const std::string& phase, const Memory& m, absl::Duration took) {
  std::cout << absl::StrFormat("%-34s VmRSS %12s   VmHWM (peak) %12s   %8.1f s\n", phase,
                               MiB(m.rss_kib), MiB(m.hwm_kib), absl::ToDoubleSeconds(took));
}

int Main(int argc, char** argv) {
  CLI::App app{"hold_bench: broker memory with a large book of held messages, on real Kafka"};
  int messages = 10000;
  int bytes = 64 * 1024;
  std::string state = SourcePath("build/bench-holds");
  std::string broker_bin = LIAISON_BROKER_BIN;
  int release_batch = 500;
  bool restart = true;
  app.add_option("--messages", messages, "Held messages (derived, waiting for consent)")
      ->capture_default_str();
  app.add_option("--bytes", bytes, "Size of each message's free-text summary in bytes")
      ->capture_default_str();
  app.add_option("--state-dir", state,
                 "Folder for the PKI, the one-node Kafka cluster and the broker's files "
                 "(reused; the cluster is stopped at the end)")
      ->capture_default_str();
  app.add_option("--broker-bin", broker_bin, "The liaison-broker binary")->capture_default_str();
  app.add_option("--release-batch", release_batch, "Message ids per consent when releasing")
      ->capture_default_str();
  app.add_flag("!--no-restart", restart, "Skip the restart phase");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::create_directories(state + "/broker");
  const std::string pki = state + "/pki";
  const std::string kafka = state + "/kafka";
  const std::string cluster = SourcePath("deploy/kafka/cluster.sh");
  if (!std::filesystem::exists(pki + "/ca.pem")) {
    Run(absl::StrCat(SourcePath("certs/scripts/mint-dev-pki.sh"), " init ", pki));
  }
  if (!std::filesystem::exists(state + "/pseudonym.key")) {
    std::ofstream(state + "/pseudonym.key") << "hold-bench-pseudonym-secret-32-b";
  }
  std::cout << "== starting a one-node Kafka in " << kafka << "\n" << std::flush;
  Run(absl::StrCat(cluster, " start --nodes 1 --state-dir ", kafka, " --pki ", pki, " --stop-with ",
                   getpid()));
  if (!std::filesystem::exists(kafka + "/acls.applied")) {
    Run(absl::StrCat("eval \"$(", cluster, " env --state-dir ", kafka, ")\" && ",
                     SourcePath("deploy/kafka/acls.sh"), " > ", kafka, "/acls.log 2>&1"));
    std::ofstream(kafka + "/acls.applied") << "1\n";
  }
  struct StopKafka {
    std::string command;
    ~StopKafka() { (void)RunCommand(command); }
  } stop_kafka{absl::StrCat(cluster, " stop --state-dir ", kafka)};

  // Topics of their own each run: held messages of an earlier run stay out.
  const std::string prefix = absl::StrCat("liaison.holdbench", absl::ToUnixSeconds(absl::Now()));
  Broker broker({broker_bin, "--state-dir", state + "/broker", "--kafka-state-dir", kafka, "--pki",
                 pki, "--pseudonym-key", state + "/pseudonym.key", "--registry",
                 testing::RegistryWithHighBulkCaps(), "--topic-prefix", prefix, "--listen",
                 "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"},
                state + "/broker");
  absl::Time t0 = absl::Now();
  broker.Start();
  std::cout << absl::StrFormat(
                   "hold_bench: %d held messages x %d bytes (%.1f MiB of content), broker pid %d, "
                   "topics %s.*\n\n",
                   messages, bytes, static_cast<double>(messages) * bytes / (1 << 20), broker.pid(),
                   prefix)
            << std::flush;
  Line("1. started, nothing held", MemoryOf(broker.pid()), absl::Now() - t0);

  auto de = ClientFor(pki, "DE-BKA", broker.target());
  auto nl = ClientFor(pki, "NL-NP", broker.target());
  absl::StatusOr<std::unique_ptr<endpoint::Subscription>> nl_sub = nl->Subscribe();
  if (!nl_sub.ok()) Die(nl_sub.status().ToString());
  const absl::Time now = absl::Now();
  auto fresh = [&](Message& m) {
    m.mutable_header()->clear_message_id();
    m.mutable_header()->clear_created_at();
    *m.mutable_header()->mutable_retention()->mutable_review_by() =
        ToProto(now + absl::Hours(24 * 14));
    *m.mutable_header()->mutable_retention()->mutable_erase_by() =
        ToProto(now + absl::Hours(24 * 30));
  };

  // The H2 source, DE-BKA to NL-NP; NL-NP's copies derive from it.
  Message source = sc::Ac07SourceMessage();
  fresh(source);
  absl::StatusOr<liaison::v1::SignedEnvelope> source_env = de->Seal(source, absl::Now());
  if (!source_env.ok()) Die(source_env.status().ToString());
  const std::string source_id = source.header().message_id();
  if (absl::StatusOr<liaison::v1::SendResult> r = de->Send(*source_env); !r.ok()) {
    Die(absl::StrCat("source: ", r.status().ToString()));
  }
  bool got_source = false;
  if (!Drain(
          **nl_sub, absl::Minutes(2),
          [&](const endpoint::VerifiedItem& v) {
            if (v.kind() == endpoint::VerifiedItem::Kind::kDelivery &&
                v.message()->header().message_id() == source_id) {
              got_source = true;
            }
          },
          [&] { return got_source; })) {
    Die("the source message was not delivered to NL-NP");
  }

  // NL-NP's derived messages: every one held for DE-BKA's consent.
  t0 = absl::Now();
  std::vector<std::string> ids;
  absl::Mutex mu;
  int refused = 0;
  std::unique_ptr<endpoint::SendStream> stream = nl->OpenSendStream(
      [&](const liaison::v1::SendResult& r) {
        if (r.code() != 0) {
          absl::MutexLock lock(&mu);
          if (++refused <= 3) std::cerr << "refused: " << r.ShortDebugString() << "\n";
        }
      },
      /*window=*/32);
  const std::string summary(bytes, 's');
  for (int i = 0; i < messages; ++i) {
    Message m = sc::Ac07DerivedFromH2();
    fresh(m);
    m.mutable_header()->mutable_provenance()->set_derived_from(0, source_id);
    m.mutable_header()->mutable_provenance()->mutable_sources(0)->set_message_id(source_id);
    m.mutable_info()->set_summary(summary);
    absl::StatusOr<liaison::v1::SignedEnvelope> e = nl->Seal(m, absl::Now());
    if (!e.ok()) Die(e.status().ToString());
    ids.push_back(m.header().message_id());
    if (absl::Status s = stream->Write(*e); !s.ok()) Die(s.ToString());
  }
  if (absl::Status s = stream->Close(); !s.ok()) Die(s.ToString());
  if (refused > 0) Die(absl::StrCat(refused, " messages refused"));
  const std::set<std::string> wanted(ids.begin(), ids.end());
  std::set<std::string> held;
  if (!Drain(
          **nl_sub, absl::Minutes(30),
          [&](const endpoint::VerifiedItem& v) {
            if (v.kind() == endpoint::VerifiedItem::Kind::kNotice &&
                v.statement().notice().kind() == liaison::v1::NOTICE_KIND_HELD &&
                wanted.contains(v.statement().notice().message_id())) {
              held.insert(v.statement().notice().message_id());
            }
          },
          [&] { return held.size() == wanted.size(); })) {
    Die(absl::StrCat("only ", held.size(), " of ", wanted.size(), " HELD notices arrived"));
  }
  Line(absl::StrCat("2. ", messages, " held"), MemoryOf(broker.pid()), absl::Now() - t0);
  (void)(*nl_sub)->Close();
  nl_sub->reset();

  if (restart) {
    t0 = absl::Now();
    broker.Stop();
    broker.Start();
    Line("3. restarted, holds rebuilt", MemoryOf(broker.pid()), absl::Now() - t0);
    de = ClientFor(pki, "DE-BKA", broker.target());
  }

  // DE-BKA consents, --release-batch ids per consent; ES-PN receives all.
  t0 = absl::Now();
  auto es = ClientFor(pki, "ES-PN", broker.target());
  absl::StatusOr<std::unique_ptr<endpoint::Subscription>> es_sub = es->Subscribe(1024);
  if (!es_sub.ok()) Die(es_sub.status().ToString());
  for (size_t first = 0; first < ids.size(); first += release_batch) {
    std::vector<std::string> batch(ids.begin() + first,
                                   ids.begin() + std::min(ids.size(), first + release_batch));
    Message consent =
        sc::ConsentMessage(sc::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP", batch,
                                       now + absl::Hours(24 * 7), true),
                           std::string());
    consent.mutable_consent()->set_consent_id(absl::StrCat("HOLD-BENCH-", first));
    fresh(consent);
    absl::StatusOr<liaison::v1::SignedEnvelope> e = de->Seal(consent, absl::Now());
    if (!e.ok()) Die(e.status().ToString());
    if (absl::StatusOr<liaison::v1::SendResult> r = de->Send(*e); !r.ok()) {
      Die(absl::StrCat("consent: ", r.status().ToString()));
    }
  }
  std::set<std::string> delivered;
  size_t intact = 0;
  if (!Drain(
          **es_sub, absl::Minutes(30),
          [&](const endpoint::VerifiedItem& v) {
            if (v.kind() == endpoint::VerifiedItem::Kind::kDelivery &&
                wanted.contains(v.message()->header().message_id())) {
              if (delivered.insert(v.message()->header().message_id()).second &&
                  v.message()->info().summary() == summary) {
                ++intact;
              }
            }
          },
          [&] { return delivered.size() == wanted.size(); })) {
    Die(absl::StrCat("only ", delivered.size(), " of ", wanted.size(), " released"));
  }
  Line(absl::StrCat("4. ", messages, " released and delivered"), MemoryOf(broker.pid()),
       absl::Now() - t0);
  std::cout << "\ndelivered with their content intact: " << intact << " of " << messages
            << "\n(VmHWM is the process's peak since its start: phase 3 and 4 count from the "
               "restart)\n";
  (void)(*es_sub)->Close();
  broker.Stop();
  return 0;
}

}  // namespace
}  // namespace liaison::bench

int main(int argc, char** argv) { return liaison::bench::Main(argc, argv); }
