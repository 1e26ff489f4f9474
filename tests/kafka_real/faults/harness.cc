#include "tests/kafka_real/faults/harness.h"

#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "certs/testing/test_pki.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {

using endpoint::Client;
using endpoint::ClientOptions;
using endpoint::Subscription;
using endpoint::VerifiedItem;

const std::string kCluster = std::string(LIAISON_SOURCE_DIR) + "/deploy/kafka/cluster.sh";
const std::string kNetcut = std::string(LIAISON_SOURCE_DIR) + "/tests/kafka_real/faults/netcut.sh";
const std::vector<std::string> kSenders = {"RO-IGPR", "DE-BKA"};
const std::vector<std::string> kRecipients = {"NL-NP", "FR-OCRTEH"};

int Shell(const std::string& command) {
  std::cout.flush();  // the command's output after what was said before it
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

absl::Time harness_start = absl::Now();
std::ostream& Say() {
  return std::cout << absl::StrFormat("[%6.1f s] ",
                                      absl::ToDoubleSeconds(absl::Now() - harness_start));
}

std::string Secs(absl::Duration d) { return absl::StrFormat("%.2f s", absl::ToDoubleSeconds(d)); }

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  const size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

int KillKafkaNode(const std::string& state, int n) {
  return Shell(absl::StrCat("'", kCluster, "' kill --node ", n, " --state-dir '", state, "'"));
}

int StartKafkaNode(const std::string& state, int n) {
  return Shell(absl::StrCat("'", kCluster, "' start --node ", n, " --state-dir '", state,
                            "' --timeout 240 >/dev/null"));
}

int NetworkCut(const std::string& command, const std::string& state, int n) {
  std::string cmd = absl::StrCat("'", kNetcut, "' ", command);
  if (command != "check") absl::StrAppend(&cmd, " --state-dir '", state, "' --node ", n);
  return Shell(cmd);
}

bool EnsureKafkaNode(const std::string& state, int n) {
  const std::string pid_file = absl::StrCat(state, "/node-", n, "/kafka.pid");
  if (std::filesystem::exists(pid_file)) return true;
  return StartKafkaNode(state, n) == 0;
}

std::vector<std::string> FaultNodeArgs(const std::string& name, const std::string& kafka_state,
                                       const std::string& pseudonym_key, const std::string& prefix,
                                       const std::string& registry) {
  return {"--kafka-state-dir", kafka_state, "--pki", SharedTestPki().dir, "--pseudonym-key",
          pseudonym_key, "--topic-prefix", prefix, "--registry", registry, "--produce-timeout-ms",
          "20000", "--audit-checkpoint-seconds", "5",
          // The nodes share one certificate (one node id): each needs a
          // transactional id of its own, or they fence each other.
          "--transactional-id", absl::StrCat(prefix, ".policy.node-", name)};
}

BrokerNode::BrokerNode(std::string name, std::string dir, std::vector<std::string> args)
    : name_(std::move(name)), dir_(std::move(dir)), args_(std::move(args)), port_(FreePort()) {
  std::filesystem::create_directories(dir_);
}

absl::Status BrokerNode::Start(absl::Duration timeout) {
  std::filesystem::remove(dir_ + "/broker.json");
  const std::string log = dir_ + "/broker.log";
  std::vector<std::string> args = {LIAISON_BROKER_BIN,
                                   "--state-dir",
                                   dir_,
                                   "--listen",
                                   target(),
                                   "--admin-listen",
                                   "",
                                   "--http-listen",
                                   ""};
  args.insert(args.end(), args_.begin(), args_.end());
  std::cout.flush();  // the child must not write the parent's buffered output again
  std::fflush(stdout);
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // A process group of its own: Ctrl-C in the terminal reaches the test or
    // the soak, which stops its nodes itself (a fault under way finished).
    setpgid(0, 0);
    FILE* out = freopen(log.c_str(), "a", stdout);
    FILE* err = freopen(log.c_str(), "a", stderr);
    (void)out;
    (void)err;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(LIAISON_BROKER_BIN, argv.data());
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (!std::filesystem::exists(dir_ + "/broker.json")) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat(name_, " exited during start-up; ", log, ":\n", Tail(log, 20)));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(name_, " not serving after ",
                                                      absl::FormatDuration(timeout), "; ", log,
                                                      ":\n", Tail(log, 20)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

void BrokerNode::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void BrokerNode::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void BrokerNode::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

int BrokerNode::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string BrokerNode::target() const { return absl::StrCat("127.0.0.1:", port_); }

LeaderProbe::LeaderProbe(const kafka::ClientConfig& config) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", config.bootstrap_servers.c_str(), err, sizeof(err));
  for (const auto& [k, v] : config.properties) {
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
  }
  // A metadata request to a node cut off the network would otherwise wait
  // 60 s (librdkafka's default) before asking another node: the leaders'
  // move measured was that wait.
  rd_kafka_conf_set(conf, "socket.timeout.ms", "2000", err, sizeof(err));
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk_ == nullptr) rd_kafka_conf_destroy(conf);
}

LeaderProbe::~LeaderProbe() {
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

absl::StatusOr<std::map<int32_t, int32_t>> LeaderProbe::Leaders(const std::string& topic) {
  if (rk_ == nullptr) return absl::InternalError("no librdkafka handle");
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, t, &md, 3000);
  rd_kafka_topic_destroy(t);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("metadata of ", topic, ": ", rd_kafka_err2str(err)));
  }
  std::map<int32_t, int32_t> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    for (int j = 0; j < md->topics[i].partition_cnt; ++j) {
      const rd_kafka_metadata_partition_t& p = md->topics[i].partitions[j];
      out[p.id] = p.err == RD_KAFKA_RESP_ERR_NO_ERROR ? p.leader : -1;
    }
  }
  rd_kafka_metadata_destroy(md);
  if (out.empty()) return absl::NotFoundError(absl::StrCat(topic, ": no partitions"));
  return out;
}

std::map<int32_t, int32_t> IngressLeaders(LeaderProbe& probe, const std::string& topic) {
  std::map<int32_t, int32_t> leaders;
  WaitFor(
      [&] {
        absl::StatusOr<std::map<int32_t, int32_t>> l = probe.Leaders(topic);
        if (!l.ok()) return false;
        leaders = *l;
        return std::none_of(leaders.begin(), leaders.end(),
                            [](const auto& p) { return p.second < 0; });
      },
      absl::Minutes(1));
  return leaders;
}

std::string Describe(const std::map<int32_t, int32_t>& leaders) {
  std::string out;
  for (const auto& [p, l] : leaders) absl::StrAppend(&out, out.empty() ? "" : ",", p, "->", l);
  return out;
}

absl::Duration WaitLeadersMoved(LeaderProbe& probe, const std::string& topic, int dead,
                                absl::Time since) {
  absl::Duration took = absl::InfiniteDuration();
  WaitFor(
      [&] {
        absl::StatusOr<std::map<int32_t, int32_t>> l = probe.Leaders(topic);
        if (!l.ok()) return false;
        for (const auto& [p, leader] : *l) {
          if (leader == dead || leader < 0) return false;
        }
        took = absl::Now() - since;
        Say() << "ingress leaders after the fault: " << Describe(*l) << "\n";
        return true;
      },
      absl::Minutes(2));
  return took;
}

absl::StatusOr<std::unique_ptr<Client>> ClientFor(const std::string& endpoint_id,
                                                  std::vector<std::string> targets) {
  absl::StatusOr<ClientOptions> options =
      ClientOptions::FromPkiDir(SharedTestPki().dir, endpoint_id, targets.front());
  if (!options.ok()) return options.status();
  options->targets = std::move(targets);
  return Client::Create(*std::move(options));
}

namespace {

// The keys of what readers see (Flood::Seen).
uint64_t IdKey(const std::string& message_id) { return absl::HashOf(message_id); }
uint64_t ReceiptKey(uint64_t id, const std::string& recipient) {
  return absl::HashOf(id, std::string("receipt"), recipient);
}
uint64_t NoticeKey(const std::string& message_id) {
  return absl::HashOf(IdKey(message_id), std::string("notice"));
}

}  // namespace

Flood::Flood(history::Recorder& rec, std::map<std::string, std::vector<std::string>> targets,
             int threads_per_sender)
    : rec_(rec),
      targets_(std::move(targets)),
      threads_per_sender_(std::max(1, threads_per_sender)) {}

Flood::~Flood() { Shutdown(); }

std::vector<std::string> Flood::Shutdown() {
  StopSending();
  stop_readers_ = true;
  for (std::thread& t : readers_) t.join();
  readers_.clear();
  absl::MutexLock lock(&mu_);
  return std::exchange(errors_, {});
}

void Flood::Fail(std::string what) {
  std::cerr << "flood: " << what << "\n";
  absl::MutexLock lock(&mu_);
  errors_.push_back(std::move(what));
}

absl::Status Flood::Start() {
  endpoints_ = kSenders;
  endpoints_.insert(endpoints_.end(), kRecipients.begin(), kRecipients.end());
  absl::StatusOr<std::vector<std::unique_ptr<Subscription>>> subs =
      SubscribeAll([&](const std::string& e) { return ClientFor(e, targets_.at(e)); }, endpoints_,
                   sub_clients_, 256, absl::Seconds(180));
  if (!subs.ok()) return subs.status();
  subs_ = std::move(*subs);
  for (const std::string& e : endpoints_) rec_.Subscribed(e);
  for (size_t i = 0; i < endpoints_.size(); ++i) readers_.emplace_back([this, i] { Read(i); });
  for (const std::string& s : kSenders) {
    absl::StatusOr<std::unique_ptr<Client>> c = ClientFor(s, targets_.at(s));
    if (!c.ok()) return c.status();
    senders_.push_back(*std::move(c));
  }
  for (size_t i = 0; i < kSenders.size(); ++i) {
    for (int t = 0; t < threads_per_sender_; ++t) {
      sending_.emplace_back([this, i, t] { Send(i, t); });
    }
  }
  return absl::OkStatus();
}

bool Flood::WaitMoreAccepted(int64_t more, absl::Duration timeout) {
  return WaitAccepted(accepted() + more, timeout);
}

bool Flood::WaitAccepted(int64_t total, absl::Duration timeout) {
  return WaitFor([&] { return accepted() >= total; }, timeout);
}

void Flood::StopSending() {
  keep_sending_ = false;
  for (std::thread& t : sending_) t.join();
  sending_.clear();
  absl::MutexLock lock(&mu_);
  final_ = true;
}

bool Flood::WaitDrained(absl::Duration timeout) {
  const bool done = WaitFor([&] { return readers_done_.load() == endpoints_.size(); }, timeout);
  stop_readers_ = true;
  for (std::thread& t : readers_) t.join();
  readers_.clear();
  return done;
}

bool Flood::ReconnectMidWindow(const std::string& endpoint, std::vector<std::string> targets) {
  {
    absl::MutexLock lock(&mu_);
    reconnect_[endpoint] = std::move(targets);
  }
  return WaitFor(
      [&] {
        absl::MutexLock lock(&mu_);
        return reconnect_.count(endpoint) == 0;
      },
      absl::Seconds(180));
}

absl::Duration Flood::LongestUnavailable(absl::Time since, std::string* who) const {
  return LongestUnavailable(since, absl::InfiniteFuture(), who);
}

absl::Duration Flood::LongestUnavailable(absl::Time since, absl::Time until,
                                         std::string* who) const {
  absl::MutexLock lock(&mu_);
  absl::Duration longest;
  for (const Wait& w : waits_) {
    if (w.accepted_at < since || w.accepted_at >= until) continue;
    if (w.took > longest) {
      longest = w.took;
      *who = absl::StrCat(kSenders[w.sender], " (", w.attempts, " attempts, ", w.refusals,
                          " refused)");
    }
  }
  return longest;
}

Subscription& Flood::subscription(const std::string& e) {
  return *subs_[std::find(endpoints_.begin(), endpoints_.end(), e) - endpoints_.begin()];
}

void Flood::Send(size_t i, int thread) {
  Client& c = *senders_[i];
  const std::string& s = kSenders[i];
  for (int k = 0; keep_sending_.load(); ++k) {
    const int n = k * threads_per_sender_ + thread;
    liaison::v1::Message m = TestAlert(s, kRecipients, absl::Now());
    // A case of its own per message: one case keeps to one ingress
    // partition, and every partition must see traffic.
    m.mutable_header()->set_case_ref(absl::StrCat(s.substr(0, 2), "-2026-", 10000 + n));
    absl::StatusOr<liaison::v1::SignedEnvelope> envelope = c.Seal(m, absl::Now());
    if (!envelope.ok()) {
      Fail(absl::StrCat(s, ": could not seal: ", envelope.status().ToString()));
      return;
    }
    rec_.Sent(s, m);
    const absl::Time first = absl::Now();
    Wait w{{}, {}, 0, 0, static_cast<uint8_t>(i)};
    while (true) {
      ++w.attempts;
      absl::StatusOr<liaison::v1::SendResult> r = c.Send(*envelope, absl::Seconds(30));
      rec_.SendOutcome(s, m, r);
      if (r.ok()) break;
      ++w.refusals;
      ++refusals_;
      // Only "try again" answers are expected from a fault.
      if (!(absl::IsUnavailable(r.status()) || absl::IsDeadlineExceeded(r.status()) ||
            absl::IsCancelled(r.status()))) {
        Fail(absl::StrCat(s, " ", m.header().message_id(), ": ", r.status().ToString()));
      }
      if (absl::Now() - first > absl::Minutes(3)) {
        Fail(absl::StrCat(s, " ", m.header().message_id(),
                          " not accepted in 3 min: ", r.status().ToString()));
        return;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    w.accepted_at = absl::Now();
    w.took = w.accepted_at - first;
    absl::MutexLock lock(&mu_);
    accepted_ids_[s].insert(IdKey(m.header().message_id()));
    waits_.push_back(w);
    ++accepted_;
  }
}

bool Flood::Complete(const std::string& e, Seen& seen) {
  absl::MutexLock lock(&mu_);
  if (!final_) return false;
  const bool sender = std::find(kSenders.begin(), kSenders.end(), e) != kSenders.end();
  // A cheap count first (deliveries are of accepted sends, receipts of
  // one's own), then, at most twice a second, the full comparison.
  int64_t expected = 0;
  for (const auto& [by, ids] : accepted_ids_) {
    if (!sender) expected += static_cast<int64_t>(ids.size());
    if (sender && by == e) expected += static_cast<int64_t>(ids.size() * kRecipients.size());
  }
  if (seen.expected_seen < expected) return false;
  if (absl::Now() - seen.last_full_check < absl::Milliseconds(500)) return false;
  seen.last_full_check = absl::Now();
  for (const auto& [by, ids] : accepted_ids_) {
    for (const uint64_t id : ids) {
      if (!sender && !seen.keys.contains(id)) return false;
      if (!sender || by != e) continue;
      for (const std::string& r : kRecipients) {
        if (!seen.keys.contains(ReceiptKey(id, r))) return false;
      }
    }
  }
  return true;
}

void Flood::Read(size_t i) {
  const std::string e = endpoints_[i];
  Seen seen;
  auto take = [&](const Subscription::Received& r) {
    const liaison::v1::Statement& st = r.verified->statement();
    switch (r.verified->kind()) {
      case VerifiedItem::Kind::kDelivery:
        if (seen.keys.insert(IdKey(st.attestation().message_id())).second) ++seen.expected_seen;
        break;
      case VerifiedItem::Kind::kReceipt:
        if (seen.keys.insert(ReceiptKey(IdKey(st.receipt().message_id()), st.receipt().recipient()))
                .second) {
          ++seen.expected_seen;
        }
        break;
      default:
        seen.keys.insert(NoticeKey(st.notice().message_id()));
        break;
    }
  };
  while (!stop_readers_.load()) {
    if (Complete(e, seen)) {
      ++readers_done_;
      return;
    }
    std::vector<std::string> again;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = reconnect_.find(e); it != reconnect_.end()) again = it->second;
    }
    if (!again.empty()) {
      MidWindowReconnect(i, again, take);
      absl::MutexLock lock(&mu_);
      reconnect_.erase(e);
      continue;
    }
    absl::StatusOr<Subscription::Received> next = subs_[i]->Next(absl::Milliseconds(200));
    if (!next.ok()) {
      if (absl::IsDeadlineExceeded(next.status())) continue;
      Fail(absl::StrCat(e, ": subscription ended: ", next.status().ToString()));
      return;
    }
    if (!next->verified.ok()) {
      Fail(absl::StrCat(e, ": ", next->verified.status().ToString()));
      return;
    }
    rec_.Received(e, *next);
    if (absl::Status s = subs_[i]->Ack({next->item.item_id()}); !s.ok()) {
      Fail(absl::StrCat(e, ": acknowledgement refused: ", s.ToString()));
      return;
    }
    rec_.Acknowledged(e, *next);
    take(*next);
  }
}

void Flood::MidWindowReconnect(size_t i, const std::vector<std::string>& targets,
                               const std::function<void(const Subscription::Received&)>& take) {
  const std::string e = endpoints_[i];
  std::vector<Subscription::Received> got;
  for (const absl::Time until = absl::Now() + absl::Seconds(30);
       got.size() < 20 && absl::Now() < until;) {
    absl::StatusOr<Subscription::Received> next = subs_[i]->Next(absl::Milliseconds(200));
    if (!next.ok()) continue;
    if (!next->verified.ok()) {
      Fail(absl::StrCat(e, ": ", next->verified.status().ToString()));
      return;
    }
    rec_.Received(e, *next);
    got.push_back(*std::move(next));
  }
  for (size_t k = 0; k < got.size() / 2; ++k) {
    if (absl::Status s = subs_[i]->Ack({got[k].item.item_id()}); !s.ok()) {
      Fail(absl::StrCat(e, ": acknowledgement refused: ", s.ToString()));
      return;
    }
    rec_.Acknowledged(e, got[k]);
    take(got[k]);
  }
  mid_window_unacked_ = static_cast<int>(got.size() - got.size() / 2);
  if (absl::Status s = subs_[i]->Close(); !s.ok()) {
    Fail(absl::StrCat(e, ": closing the stream mid-window: ", s.ToString()));
  }
  absl::StatusOr<std::unique_ptr<Client>> c = ClientFor(e, targets);
  if (!c.ok()) {
    Fail(absl::StrCat(e, ": ", c.status().ToString()));
    return;
  }
  absl::StatusOr<std::unique_ptr<Subscription>> s = (*c)->Subscribe(256, absl::Seconds(180));
  if (!s.ok()) {
    Fail(absl::StrCat(e, " could not subscribe again: ", s.status().ToString()));
    return;
  }
  sub_clients_.push_back(*std::move(c));
  subs_[i] = *std::move(s);
  rec_.Subscribed(e);
}

}  // namespace liaison::testing
