// evidence_bench: a JIT evidence item of --mib MiB (default 2 GiB) uploaded
// and downloaded through the real `liaison-broker` process on real Kafka,
// with the peak memory of each side and, measured in the same run, the raw
// ceilings the transfer is compared with (issue 13, item 7; README.md).
//
// Three kinds of process, so that no figure mixes two of them:
//  - this program: starts the cluster (unless one is named), the broker and
//    the client, measures the raw ceilings (AES-256-GCM, SHA-256, the chunk
//    encryptor and decryptor, 1 MiB Kafka produce and consume), writes the
//    grant the policy stage would write, and reads the other processes'
//    memory and CPU from /proc;
//  - the broker under test: `liaison-broker` on the cluster (its own topic
//    prefix), as principal liaison-policy;
//  - the client: this program run again with --client-child: RO-IGPR
//    uploads (Client::UploadItem: encrypt to the spool, then send), DE-BKA
//    downloads (Client::DownloadItem: receive, decrypt, verify, write). It
//    takes one command per line on stdin and answers one line on stdout.
//
// Peak RSS: before each phase the bench writes 5 to /proc/PID/clear_refs of
// the client and of the broker (VmHWM := VmRSS) and reads VmRSS ("idle");
// after it, VmHWM. "Above idle" is the difference: the kernel's own peak,
// not a sample. Figures, not assertions; the exit status is non-zero only
// when a transfer fails or a file is not the one sent.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "broker/core/topics.h"
#include "broker/state/evidence_book.h"
#include "certs/evidence_crypto.h"
#include "certs/key_wrap.h"
#include "certs/testing/test_pki.h"
#include "connectors/endpoint/client.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/reader.h"
#include "nlohmann/json.hpp"
#include "tests/bench/process_stats.h"
#include "tests/fixtures/test_broker.h"

extern char** environ;

namespace liaison::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr char kJit[] = "JIT-2025-014";  // AMBER ROUTE: RO-IGPR, DE-BKA, NL-NP, ...
constexpr char kSender[] = "RO-IGPR";
constexpr char kRecipient[] = "DE-BKA";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "evidence_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(absl::StrCat(what, ": ", v.status().ToString()));
  return *std::move(v);
}

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

struct Options {
  int64_t mib = 2048;
  int runs = 3;
  std::string kafka_state_dir;  // a running cluster; empty: start one
  int nodes = 3;                // of the cluster the bench starts
  std::string work_dir;
  std::string broker_bin = LIAISON_BROKER_BIN;
  int64_t raw_mib = 256;
  double crypto_seconds = 1;
  unsigned workers = 0;
  bool keep_kafka = false;
  size_t read_ahead = endpoint::DownloadItemOptions{}.read_ahead;
  bool ab_read_ahead = false;
  // --client-child
  bool client_child = false;
  std::string pki;
  std::string target;
};

// ------------------------------------------------------------ the client

// One line on stdout per command, flushed.
void Answer(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// The client process: RO-IGPR uploads, DE-BKA lists and downloads.
// Commands: "upload ITEM_ID FILE", "wait-grant ITEM_ID",
// "download BASE64_ITEM OUT [READ_AHEAD]", "rss". Answers "ok ..." or
// "error ...".
int RunClientChild(const Options& o) {
  NameThisThread("client");
  auto client_for = [&](const char* id) {
    endpoint::ClientOptions options =
        OrDie(endpoint::ClientOptions::FromPkiDir(o.pki, id, o.target), id);
    return OrDie(endpoint::Client::Create(std::move(options)), id);
  };
  std::unique_ptr<endpoint::Client> sender = client_for(kSender);
  std::unique_ptr<endpoint::Client> recipient = client_for(kRecipient);
  const std::string enc = absl::StrCat(o.pki, "/endpoints/", kRecipient, "/enc");
  certs::RecipientKey key =
      OrDie(certs::RecipientKey::FromPemFiles(enc + ".key", enc + ".pem"), "recipient key");
  endpoint::EvidenceRecipient to{
      kRecipient, OrDie(certs::Certificate::FromPemFile(enc + ".pem"), "recipient certificate")};
  // Connections are made before the first phase (not inside its figures).
  if (absl::StatusOr<liaison::v1::ListResponse> l = recipient->ListItems(); !l.ok()) {
    Die(absl::StrCat("client: List: ", l.status().ToString()));
  }
  Answer("ready");
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> w = absl::StrSplit(line, ' ');
    if (w[0] == "upload" && w.size() == 3) {
      endpoint::UploadItemOptions up;
      up.jit_id = kJit;
      up.item_id = w[1];
      up.recipients = {to};
      up.spool_dir = o.work_dir;
      const int64_t start = NowNs();
      int64_t first_sent = 0;  // the spool is complete when the first chunk goes
      up.progress = [&](int64_t, int64_t) {
        if (first_sent == 0) first_sent = NowNs();
      };
      absl::StatusOr<liaison::v1::EvidenceItem> item = sender->UploadItem(w[2], up);
      const int64_t end = NowNs();
      if (!item.ok()) {
        Answer(absl::StrCat("error ", item.status().ToString()));
        continue;
      }
      Answer(absl::StrFormat("ok %.6f %.6f %s", Seconds(end - start), Seconds(first_sent - start),
                             absl::Base64Escape(item->SerializeAsString())));
    } else if (w[0] == "wait-grant" && w.size() == 2) {
      const absl::Time deadline = absl::Now() + absl::Minutes(2);
      bool granted = false;
      while (!granted && absl::Now() < deadline) {
        absl::StatusOr<liaison::v1::ListResponse> l = recipient->ListItems();
        if (l.ok()) {
          for (const liaison::v1::GrantedItem& g : l->items()) {
            granted |= g.grant().item_id() == w[1] && g.complete();
          }
        }
        if (!granted) absl::SleepFor(absl::Milliseconds(100));
      }
      Answer(granted ? "ok" : "error the grant did not reach the broker within 2 minutes");
    } else if (w[0] == "download" && (w.size() == 3 || w.size() == 4)) {
      std::string bytes;
      liaison::v1::EvidenceItem item;
      if (!absl::Base64Unescape(w[1], &bytes) || !item.ParseFromString(bytes)) {
        Answer("error bad item");
        continue;
      }
      endpoint::DownloadItemOptions down;
      if (w.size() == 4 && !absl::SimpleAtoi(w[3], &down.read_ahead)) {
        Answer("error bad read-ahead");
        continue;
      }
      const int64_t start = NowNs();
      absl::Status s = recipient->DownloadItem(item, key, w[2], down);
      const int64_t end = NowNs();
      Answer(s.ok() ? absl::StrFormat("ok %.6f", Seconds(end - start))
                    : absl::StrCat("error ", s.ToString()));
    } else {
      Answer(absl::StrCat("error unknown command: ", line));
    }
  }
  return 0;
}

// --------------------------------------------------------- child processes

std::string SelfExe() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("evidence_bench") : p.string();
}

// A child process; it gets SIGTERM when the bench ends (PR_SET_PDEATHSIG).
struct Child {
  pid_t pid = -1;
  int in = -1;          // its stdin, when piped
  FILE* out = nullptr;  // its stdout, when piped
};

// Starts `args`; stdout and stderr go to `log` unless `pipes` (then stdin and
// stdout are pipes to this process and stderr is shared).
Child Spawn(const std::vector<std::string>& args, bool pipes, const std::string& log) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if (pipes && (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)) Die("pipe failed");
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    if (pipes) {
      dup2(in[0], 0);
      dup2(out[1], 1);
    } else if (!log.empty()) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) _exit(126);
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  Child c;
  c.pid = pid;
  if (pipes) {
    close(in[0]);
    close(out[1]);
    c.in = in[1];
    c.out = fdopen(out[0], "r");
  }
  return c;
}

// Exit status of a finished child (128 + signal if killed).
int Wait(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int RunScript(const std::vector<std::string>& args) { return Wait(Spawn(args, false, "").pid); }

// The client's next answer line: the words after "ok" (or "ready"); dies on
// "error ...".
std::vector<std::string> Answered(Child& client, const std::string& command) {
  char* answer = nullptr;
  size_t cap = 0;
  const ssize_t n = getline(&answer, &cap, client.out);
  if (n <= 0) Die(absl::StrCat("the client process ended during: ", command.substr(0, 40)));
  std::string a(answer, static_cast<size_t>(n));
  free(answer);
  if (!a.empty() && a.back() == '\n') a.pop_back();
  if (a.rfind("ok", 0) != 0 && a != "ready") {
    Die(absl::StrCat("client: ", command.substr(0, command.find(' ')), ": ", a));
  }
  std::vector<std::string> words = absl::StrSplit(a, ' ');
  words.erase(words.begin());
  return words;
}

// Sends one command to the client and returns its answer.
std::vector<std::string> Ask(Child& client, const std::string& command) {
  const std::string line = command + "\n";
  if (write(client.in, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    Die("the client process is gone");
  }
  return Answered(client, command);
}

// --------------------------------------------------- memory of a process

int64_t StatusKbOf(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// VmHWM := VmRSS (Linux >= 4.0); the process must be ours.
void ResetPeak(pid_t pid) {
  std::ofstream out(absl::StrCat("/proc/", pid, "/clear_refs"));
  out << "5";
  out.flush();
  if (!out) Die(absl::StrCat("cannot reset VmHWM of pid ", pid, " (/proc/PID/clear_refs)"));
}

// One side's memory and CPU over a phase.
struct Side {
  int64_t idle_kb = 0;  // VmRSS when the phase starts
  int64_t peak_kb = 0;  // VmHWM when it ends
  int64_t cpu_ns = 0;
  int64_t wait_ns = 0;  // runnable, waiting for a core
  // A peak a few KiB below the idle read just after the reset shows as 0.
  double AboveIdleMib() const {
    return std::max(0.0, static_cast<double>(peak_kb - idle_kb) / 1024.0);
  }
};

class Phase {
 public:
  Phase(pid_t client, pid_t broker, const std::vector<int>& jvms)
      : client_(client), broker_(broker), jvms_(jvms) {
    ResetPeak(client_);
    ResetPeak(broker_);
    c_.idle_kb = StatusKbOf(client_, "VmRSS");
    b_.idle_kb = StatusKbOf(broker_, "VmRSS");
    c_.cpu_ns = PidCpuNs(client_);
    b_.cpu_ns = PidCpuNs(broker_);
    jvm_cpu_ns_ = PidsCpuNs(jvms_);
    c_.wait_ns = RunQueueWaitNs({client_});
    b_.wait_ns = RunQueueWaitNs({broker_});
    jvm_wait_ns_ = RunQueueWaitNs(jvms_);
    start_ = NowNs();
  }
  void End() {
    seconds_ = Seconds(NowNs() - start_);
    c_.peak_kb = StatusKbOf(client_, "VmHWM");
    b_.peak_kb = StatusKbOf(broker_, "VmHWM");
    c_.cpu_ns = PidCpuNs(client_) - c_.cpu_ns;
    b_.cpu_ns = PidCpuNs(broker_) - b_.cpu_ns;
    jvm_cpu_ns_ = PidsCpuNs(jvms_) - jvm_cpu_ns_;
    c_.wait_ns = RunQueueWaitNs({client_}) - c_.wait_ns;
    b_.wait_ns = RunQueueWaitNs({broker_}) - b_.wait_ns;
    jvm_wait_ns_ = RunQueueWaitNs(jvms_) - jvm_wait_ns_;
  }
  // Seconds the threads of each process were runnable but waited for a
  // core (summed over threads): what other work on the machine cost them.
  std::string Waits() const {
    return absl::StrFormat("waited for a core: client %.1f s, broker %.1f s, Kafka %.1f s",
                           Seconds(c_.wait_ns), Seconds(b_.wait_ns), Seconds(jvm_wait_ns_));
  }
  const Side& client() const { return c_; }
  const Side& broker() const { return b_; }
  double Cores(int64_t ns) const { return Seconds(ns) / seconds_; }
  double jvm_cores() const { return Cores(jvm_cpu_ns_); }
  int64_t jvm_cpu_ns() const { return jvm_cpu_ns_; }

 private:
  pid_t client_, broker_;
  std::vector<int> jvms_;
  Side c_, b_;
  int64_t jvm_cpu_ns_ = 0;
  int64_t jvm_wait_ns_ = 0;
  int64_t start_ = 0;
  double seconds_ = 1;
};

// ------------------------------------------------------------ raw ceilings

template <typename Step>
double MibPerSecond(double seconds, Step step) {
  for (int i = 0; i < 3; ++i) step();  // warm up
  int64_t steps = 0;
  const int64_t start = NowNs();
  const int64_t until = start + static_cast<int64_t>(seconds * 1e9);
  int64_t now = start;
  while (now < until) {
    for (int i = 0; i < 4; ++i) step();
    steps += 4;
    now = NowNs();
  }
  return static_cast<double>(steps) / Seconds(now - start);  // one step = 1 MiB
}

struct CryptoCeilings {
  double aes_gcm_seal = 0, sha256 = 0, encrypt_chunk = 0, decrypt_chunk = 0;  // MiB/s
};

// One thread, 1 MiB chunks (the evidence chunk), `seconds` each.
CryptoCeilings MeasureCrypto(double seconds) {
  const size_t chunk = certs::kEvidenceChunkBytes;
  std::string plain(chunk, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  CryptoCeilings c;
  {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    unsigned char key[32], nonce[12] = {};
    RAND_bytes(key, sizeof key);
    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nullptr);
    std::string sealed(chunk + 16, '\0');
    uint64_t counter = 0;
    c.aes_gcm_seal = MibPerSecond(seconds, [&] {
      ++counter;
      std::memcpy(nonce + 4, &counter, 8);
      auto* dst = reinterpret_cast<unsigned char*>(sealed.data());
      int len = 0, tail = 0;
      if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
          EVP_EncryptUpdate(ctx, dst, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                            static_cast<int>(chunk)) != 1 ||
          EVP_EncryptFinal_ex(ctx, dst + len, &tail) != 1 ||
          EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, dst + chunk) != 1) {
        Die("raw AES-GCM seal failed");
      }
    });
    EVP_CIPHER_CTX_free(ctx);
  }
  certs::Sha256Stream sha;
  c.sha256 = MibPerSecond(seconds, [&] { sha.Update(plain); });
  auto enc = OrDie(certs::EvidenceEncryptor::Create("BENCH-RAW"), "encryptor");
  std::vector<std::string> records;
  c.encrypt_chunk = MibPerSecond(seconds, [&] {
    std::string r = OrDie(enc.EncryptChunk(plain, certs::ChunkPosition::kMiddle), "encrypt");
    if (records.size() < 64) records.push_back(std::move(r));
  });
  // Records sealed as middle chunks, opened in order by a fresh decryptor
  // per pass (each pass stops before the last: it would be the final one).
  size_t next = 0;
  std::optional<certs::EvidenceDecryptor> dec;
  c.decrypt_chunk = MibPerSecond(seconds, [&] {
    if (next == 0) {
      dec.emplace(OrDie(certs::EvidenceDecryptor::Create(
                            enc.key(), "BENCH-RAW", static_cast<int64_t>(records.size() * chunk),
                            std::string(32, '\0')),
                        "decryptor"));
    }
    (void)OrDie(dec->DecryptChunk(records[next]), "decrypt");
    next = (next + 1) % (records.size() - 1);
  });
  return c;
}

struct KafkaCeilings {
  int64_t records = 0;
  double produce = 0;          // MiB/s, every record in flight at once
  double produce_window = 0;   // MiB/s, at most 8 in flight (the broker's upload window)
  double consume = 0;          // MiB/s, one forward pass (RecordReader::ReadEach)
  double read_one_by_one = 0;  // MiB/s, Read per offset (the broker's download)
};

// `records` records of 1 MiB + 16 bytes into one partition of `topic`
// (acks=all, one key, as an item's chunks), with every record in flight,
// then as many again with at most `window` in flight; read back in one
// forward pass, and one Read per record.
KafkaCeilings MeasureKafka(const kafka::ClientConfig& config, const std::string& topic,
                           int64_t records, int window) {
  KafkaCeilings k;
  k.records = records;
  const double mib = static_cast<double>(records) * certs::kEvidenceMaxRecordBytes / kMiB;
  std::string payload(certs::kEvidenceMaxRecordBytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(payload.data()), static_cast<int>(payload.size()));
  kafka::ProducerOptions po;
  po.max_message_bytes = 4 << 20;
  std::unique_ptr<kafka::Producer> producer =
      OrDie(kafka::Producer::Create(config, po), "producer");
  absl::Mutex mu;
  int in_flight = 0;
  int64_t failed = 0;
  int32_t partition = -1;
  std::vector<int64_t> offsets;
  struct Gate {
    int* in_flight;
    int limit;
    static bool Open(Gate* g) { return *g->in_flight < g->limit; }
  };
  auto produce = [&](int limit) {
    Gate gate{&in_flight, limit};
    const int64_t start = NowNs();
    for (int64_t i = 0; i < records; ++i) {
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(&Gate::Open, &gate));
        ++in_flight;
      }
      producer->Produce(topic, "RAW-CEILING", payload, [&](const kafka::DeliveryReport& r) {
        absl::MutexLock lock(&mu);
        --in_flight;
        if (!r.status.ok()) {
          ++failed;
          return;
        }
        partition = r.partition;
        offsets.push_back(r.offset);
      });
    }
    if (absl::Status s = producer->Flush(absl::Minutes(10)); !s.ok()) Die(s.ToString());
    const double seconds = Seconds(NowNs() - start);
    if (failed > 0) Die(absl::StrCat(failed, " raw records not acknowledged by Kafka"));
    return mib / seconds;
  };
  // Warm-up: the producer's id, the partition's leader, the connections.
  const int64_t measured = records;
  records = 4;
  (void)produce(static_cast<int>(records));
  offsets.clear();
  records = measured;
  k.produce = produce(static_cast<int>(records) + 1);
  std::vector<int64_t> first = offsets;
  k.produce_window = produce(window);

  std::unique_ptr<kafka::RecordReader> reader =
      OrDie(kafka::RecordReader::Create(config), "reader");
  int64_t bad = 0;
  int64_t start = NowNs();
  reader->ReadEach(topic, partition, first, absl::Minutes(5),
                   [&](int64_t, absl::StatusOr<kafka::Record> r) {
                     if (!r.ok() || r->value.size() != payload.size()) ++bad;
                   });
  k.consume = mib / Seconds(NowNs() - start);
  reader.reset();
  reader = OrDie(kafka::RecordReader::Create(config), "reader");
  std::sort(offsets.begin(), offsets.end());
  start = NowNs();
  for (size_t i = first.size(); i < offsets.size(); ++i) {
    absl::StatusOr<kafka::Record> r = reader->Read(topic, partition, offsets[i], absl::Seconds(30));
    if (!r.ok() || r->value.size() != payload.size()) ++bad;
  }
  k.read_one_by_one = mib / Seconds(NowNs() - start);
  if (bad > 0) Die(absl::StrCat(bad, " raw records not read back"));
  return k;
}

// ------------------------------------------------------------ set-up

// `mib` MiB of pseudo-random bytes (xorshift64*): incompressible, synthetic.
void WriteItemFile(const std::string& path, int64_t mib) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) == static_cast<uintmax_t>(mib) << 20) return;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint64_t> block((1 << 20) / 8);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < mib; ++i) {
    for (uint64_t& v : block) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      v = x * 0x2545F4914F6CDD1Dull;
    }
    out.write(reinterpret_cast<const char*>(block.data()), 1 << 20);
  }
  out.close();
  if (!out) Die(absl::StrCat(path, ": cannot write (", mib, " MiB needed)"));
}

// The development registry with JIT-2025-014's end moved into the future (it
// ended 2026-05-31), as tests/e2e/evidence_cli_test.cc does.
std::string WriteRegistry(const std::string& dir) {
  std::ifstream in(testing::SourcePath("deploy/registry/dev.textproto"));
  std::string registry((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string from :
       {"end { seconds: 1780272000 }    # 2026-06-01 (valid through 2026-05-31)",
        "new_end { seconds: 1780272000 }       # 2026-06-01"}) {
    const size_t at = registry.find(from);
    if (at == std::string::npos) Die(absl::StrCat("dev.textproto: '", from, "' not found"));
    registry.replace(at, from.size(),
                     absl::StrCat(from.substr(0, from.find('{')), "{ seconds: 4102444800 }"));
  }
  const std::string path = dir + "/registry.textproto";
  std::ofstream(path) << registry;
  return path;
}

std::vector<int> KafkaJvmPids(const std::string& state) {
  std::vector<int> out;
  for (int n = 1; n <= 3; ++n) {
    std::ifstream in(absl::StrCat(state, "/node-", n, "/kafka.pid"));
    int pid = 0;
    if (in >> pid && pid > 0) out.push_back(pid);
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --ab-read-ahead's second download: read-ahead 0, or the library's default
// when --read-ahead is 0.
size_t OtherReadAhead(const Options& o) {
  return o.read_ahead == 0 ? endpoint::DownloadItemOptions{}.read_ahead : 0;
}

struct Run {
  double upload_s = 0, encrypt_s = 0, download_s = 0;
  double download_other_s = 0;  // --ab-read-ahead: the other read-ahead
  Side up_client, up_broker, down_client, down_broker;
  double up_jvm_cores = 0, down_jvm_cores = 0;
  double up_client_cores = 0, up_broker_cores = 0, down_client_cores = 0, down_broker_cores = 0;
  std::string up_waits, down_waits;
  int64_t up_jvm_cpu_ns = 0, down_jvm_cpu_ns = 0;
  // CPU of client, broker and Kafka together per MiB, ms.
  double UpCpuMsPerMib(double mib) const {
    return static_cast<double>(up_client.cpu_ns + up_broker.cpu_ns + up_jvm_cpu_ns) / 1e6 / mib;
  }
  double DownCpuMsPerMib(double mib) const {
    return static_cast<double>(down_client.cpu_ns + down_broker.cpu_ns + down_jvm_cpu_ns) / 1e6 /
           mib;
  }
};

int RunBench(Options& o) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (std::getenv("LIAISON_LOG_LEVEL") == nullptr) log::SetMinLevel(log::Level::kWarning);
  if (o.work_dir.empty()) {
    o.work_dir = (std::filesystem::path(SelfExe()).parent_path() / "evidence-bench").string();
  }
  o.work_dir = std::filesystem::absolute(o.work_dir).string();
  std::filesystem::create_directories(o.work_dir + "/broker");

  // The cluster: a running one, or a fresh one of our own.
  std::string started;
  if (o.kafka_state_dir.empty()) {
    started = o.work_dir + "/kafka";
    std::printf("evidence_bench: starting a fresh %d-node Kafka cluster in %s\n", o.nodes,
                started.c_str());
    int status;
    if (o.nodes == 3) {
      status = RunScript(
          {"/bin/bash", testing::SourcePath("tests/kafka_real/fixture.sh"), "start", started});
    } else {
      const std::string cluster = testing::SourcePath("deploy/kafka/cluster.sh");
      (void)RunScript({cluster, "stop", "--state-dir", started});
      std::filesystem::remove_all(started);
      status = RunScript({cluster, "start", "--nodes", "1", "--state-dir", started, "--stop-with",
                          std::to_string(getpid())});
      if (status == 0) {
        status = RunScript({"/bin/bash", "-c",
                            absl::StrCat("eval \"$(", cluster, " env --state-dir ", started,
                                         ")\" && ", testing::SourcePath("deploy/kafka/acls.sh"),
                                         " > ", started, "/acls.log 2>&1")});
      }
    }
    if (status != 0) {
      (void)RunScript(
          {testing::SourcePath("deploy/kafka/cluster.sh"), "stop", "--state-dir", started});
      Die(absl::StrCat("starting Kafka failed (exit status ", status, ")"));
    }
    o.kafka_state_dir = started;
  }
  o.kafka_state_dir = std::filesystem::absolute(o.kafka_state_dir).string();
  struct StopKafka {
    std::string state;
    bool keep;
    ~StopKafka() {
      if (state.empty()) return;
      if (keep) {
        std::printf("evidence_bench: the cluster of %s keeps running (--keep-kafka)\n",
                    state.c_str());
        return;
      }
      std::printf("evidence_bench: stopping the Kafka cluster of %s and removing its data\n",
                  state.c_str());
      if (RunScript({testing::SourcePath("deploy/kafka/cluster.sh"), "stop", "--state-dir",
                     state}) == 0) {
        std::error_code ec;
        std::filesystem::remove_all(state, ec);
      }
    }
  } stop_kafka{started, o.keep_kafka};
  const kafka::ClientConfig kafka_config =
      OrDie(testing::RealKafkaClient(o.kafka_state_dir), "real Kafka");
  const std::vector<int> jvms = KafkaJvmPids(o.kafka_state_dir);
  const std::string pki = o.kafka_state_dir + "/pki";

  const std::string item_path = absl::StrCat(o.work_dir, "/item-", o.mib, "MiB.bin");
  std::printf("evidence_bench: writing the %lld MiB item file %s\n", static_cast<long long>(o.mib),
              item_path.c_str());
  WriteItemFile(item_path, o.mib);
  const std::string pseudonym = o.work_dir + "/pseudonym.key";
  std::ofstream(pseudonym) << "evidence-bench-pseudonym-secret!";

  // The broker, with topics of its own.
  const std::string prefix = absl::StrCat("liaison.evb", absl::ToUnixSeconds(absl::Now()));
  const broker::Topics topics(prefix);
  const std::string broker_dir = o.work_dir + "/broker";
  std::filesystem::remove(broker_dir + "/broker.json");
  std::vector<std::string> broker_args = {o.broker_bin,
                                          "--state-dir",
                                          broker_dir,
                                          "--kafka-state-dir",
                                          o.kafka_state_dir,
                                          "--pki",
                                          pki,
                                          "--pseudonym-key",
                                          pseudonym,
                                          "--registry",
                                          WriteRegistry(o.work_dir),
                                          "--topic-prefix",
                                          prefix,
                                          "--listen",
                                          "127.0.0.1:0",
                                          "--admin-listen",
                                          "",
                                          "--http-listen",
                                          ""};
  if (o.workers > 0) {
    broker_args.push_back("--workers");
    broker_args.push_back(std::to_string(o.workers));
  }
  const std::string broker_log = broker_dir + "/broker.log";
  Child broker = Spawn(broker_args, false, broker_log);
  struct StopChild {
    pid_t pid;
    ~StopChild() {
      kill(pid, SIGTERM);
      (void)Wait(pid);
    }
  } stop_broker{broker.pid};
  const absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (!std::filesystem::exists(broker_dir + "/broker.json")) {
    if (waitpid(broker.pid, nullptr, WNOHANG) == broker.pid) {
      Die(absl::StrCat("the broker exited; see ", broker_log));
    }
    if (absl::Now() > deadline) Die(absl::StrCat("the broker did not start; see ", broker_log));
    absl::SleepFor(absl::Milliseconds(100));
  }
  absl::SleepFor(absl::Milliseconds(200));  // broker.json written in full
  std::string target;
  {
    std::ifstream in(broker_dir + "/broker.json");
    target = nlohmann::json::parse(in)["target"];
  }

  // The client process.
  Child client = Spawn(
      {SelfExe(), "--client-child", "--pki", pki, "--target", target, "--work-dir", o.work_dir},
      true, "");
  (void)Answered(client, "start");  // "ready", once connected
  struct StopClient {
    Child& c;
    ~StopClient() {
      close(c.in);
      (void)Wait(c.pid);
    }
  } stop_client{client};

  std::printf(
      "\nevidence_bench: one item of %lld MiB, %d runs; broker pid %d (liaison-broker, topics "
      "%s.*), client pid %d, Kafka %s (%zu JVMs on this machine)\n",
      static_cast<long long>(o.mib), o.runs, broker.pid, prefix.c_str(), client.pid,
      kafka_config.bootstrap_servers.c_str(), jvms.size());
  std::printf("machine: %u cores; load average at start %s\n", std::thread::hardware_concurrency(),
              LoadAverage().c_str());

  // Raw ceilings, measured here (one thread) and on the same cluster.
  std::printf("\nraw ceilings (this run)\n");
  const CryptoCeilings crypto = MeasureCrypto(o.crypto_seconds);
  std::printf("  AES-256-GCM seal, 1 MiB (EVP)          %8.0f MiB/s\n", crypto.aes_gcm_seal);
  std::printf("  SHA-256                                %8.0f MiB/s\n", crypto.sha256);
  std::printf("  EvidenceEncryptor::EncryptChunk, 1 MiB %8.0f MiB/s\n", crypto.encrypt_chunk);
  std::printf("  EvidenceDecryptor::DecryptChunk, 1 MiB %8.0f MiB/s\n", crypto.decrypt_chunk);
  const KafkaCeilings raw = MeasureKafka(kafka_config, topics.EvidenceChunks(), o.raw_mib, 8);
  std::printf("  Kafka produce, %lld x (1 MiB + 16), acks=all, all in flight   %6.1f MiB/s\n",
              static_cast<long long>(raw.records), raw.produce);
  std::printf("  Kafka produce, the same, at most 8 in flight (upload window) %6.1f MiB/s\n",
              raw.produce_window);
  std::printf("  Kafka consume, one forward pass over the partition          %6.1f MiB/s\n",
              raw.consume);
  std::printf("  Kafka read one record at a time (as the download reads)     %6.1f MiB/s\n",
              raw.read_one_by_one);
  // A stage's ceiling is the better of its raw figures.
  const double produce = std::max(raw.produce, raw.produce_window);
  const double consume = std::max(raw.consume, raw.read_one_by_one);
  const double up_floor =
      std::min({crypto.aes_gcm_seal, crypto.sha256, crypto.encrypt_chunk, produce});
  const double down_floor =
      std::min({crypto.aes_gcm_seal, crypto.sha256, crypto.decrypt_chunk, consume});
  std::printf(
      "  slowest stage (a stage's better figure): upload %.1f MiB/s (%s), download %.1f MiB/s "
      "(%s)\n",
      up_floor, up_floor == produce ? "Kafka produce" : "crypto", down_floor,
      down_floor == consume ? "Kafka consume" : "crypto");

  std::printf(
      "\nround trips: peak RSS above idle per side (VmHWM reset through /proc/PID/clear_refs at "
      "the start of each phase); cores = CPU time / wall time\n");
  std::unique_ptr<kafka::Producer> grants =
      OrDie(kafka::Producer::Create(kafka_config), "grant producer");
  const double mib = static_cast<double>(o.mib);
  std::vector<Run> runs;
  const int64_t broker_first_idle_kb = StatusKbOf(broker.pid, "VmRSS");
  const int64_t client_first_idle_kb = StatusKbOf(client.pid, "VmRSS");
  for (int r = 1; r <= o.runs; ++r) {
    Run run;
    const std::string item_id = absl::StrCat("EVB-", prefix.substr(11), "-", r);
    Phase up(client.pid, broker.pid, jvms);
    std::vector<std::string> a = Ask(client, absl::StrCat("upload ", item_id, " ", item_path));
    up.End();
    run.upload_s = std::stod(a.at(0));
    run.encrypt_s = std::stod(a.at(1));
    run.up_client = up.client();
    run.up_broker = up.broker();
    run.up_client_cores = up.Cores(run.up_client.cpu_ns);
    run.up_broker_cores = up.Cores(run.up_broker.cpu_ns);
    run.up_jvm_cores = up.jvm_cores();
    run.up_waits = up.Waits();
    run.up_jvm_cpu_ns = up.jvm_cpu_ns();
    std::string bytes;
    liaison::v1::EvidenceItem item;
    if (!absl::Base64Unescape(a.at(2), &bytes) || !item.ParseFromString(bytes)) Die("bad item");
    if (item.size() != o.mib << 20) Die("the uploaded item has another size");

    // What the policy stage writes when it delivers the manifest to DE-BKA.
    broker::KeyedRecord g = broker::BuildEvidenceGrantRecord(
        item, kRecipient, kJit, absl::StrCat("M-EVIDENCE-BENCH-", item_id), absl::Now());
    std::atomic<bool> granted{false};
    grants->Produce(topics.EvidenceGrants(), g.key, g.value,
                    [&](const kafka::DeliveryReport& d) { granted = d.status.ok(); });
    if (!grants->Flush(absl::Minutes(1)).ok() || !granted) Die("the grant was not written");
    (void)Ask(client, "wait-grant " + item_id);

    const std::string out = absl::StrCat(o.work_dir, "/", item_id, ".out");
    const std::string download =
        absl::StrCat("download ", absl::Base64Escape(item.SerializeAsString()), " ", out, " ");
    Phase down(client.pid, broker.pid, jvms);
    a = Ask(client, absl::StrCat(download, o.read_ahead));
    down.End();
    run.download_s = std::stod(a.at(0));
    run.down_client = down.client();
    run.down_broker = down.broker();
    run.down_client_cores = down.Cores(run.down_client.cpu_ns);
    run.down_broker_cores = down.Cores(run.down_broker.cpu_ns);
    run.down_jvm_cores = down.jvm_cores();
    run.down_waits = down.Waits();
    run.down_jvm_cpu_ns = down.jvm_cpu_ns();
    std::error_code ec;
    if (std::filesystem::file_size(out, ec) != static_cast<uintmax_t>(o.mib) << 20) {
      Die("the downloaded file has another size");
    }
    std::filesystem::remove(out, ec);  // verified by the client (SHA-256)
    if (o.ab_read_ahead) {
      // The same item again with the other read-ahead (0, or the
      // library's default when --read-ahead is 0), right after.
      a = Ask(client, absl::StrCat(download, OtherReadAhead(o)));
      run.download_other_s = std::stod(a.at(0));
      std::filesystem::remove(out, ec);
    }

    std::printf(
        "run %d  upload %7.1f MiB/s (%.1f s: encrypt to spool %.1f s, send %.1f s = %.1f MiB/s)"
        "  peak above idle: client %5.1f MiB, broker %5.1f MiB; cores client %.2f broker %.2f "
        "Kafka %.2f\n",
        r, mib / run.upload_s, run.upload_s, run.encrypt_s, run.upload_s - run.encrypt_s,
        mib / (run.upload_s - run.encrypt_s), run.up_client.AboveIdleMib(),
        run.up_broker.AboveIdleMib(), run.up_client_cores, run.up_broker_cores, run.up_jvm_cores);
    std::printf(
        "run %d  download %5.1f MiB/s (%.1f s)%*s  peak above idle: client %5.1f MiB, broker "
        "%5.1f MiB; cores client %.2f broker %.2f Kafka %.2f\n",
        r, mib / run.download_s, run.download_s, 50, "", run.down_client.AboveIdleMib(),
        run.down_broker.AboveIdleMib(), run.down_client_cores, run.down_broker_cores,
        run.down_jvm_cores);
    if (o.ab_read_ahead) {
      std::printf("run %d  download %5.1f MiB/s (%.1f s) with read-ahead %zu (A/B)\n", r,
                  mib / run.download_other_s, run.download_other_s, OtherReadAhead(o));
    }
    std::printf("       upload %s; download %s\n", run.up_waits.c_str(), run.down_waits.c_str());
    std::printf(
        "       CPU per MiB (client + broker + Kafka): upload %.1f ms (%.1f + %.1f + %.1f), "
        "download %.1f ms (%.1f + %.1f + %.1f)\n",
        run.UpCpuMsPerMib(mib), run.up_client.cpu_ns / 1e6 / mib, run.up_broker.cpu_ns / 1e6 / mib,
        run.up_jvm_cpu_ns / 1e6 / mib, run.DownCpuMsPerMib(mib), run.down_client.cpu_ns / 1e6 / mib,
        run.down_broker.cpu_ns / 1e6 / mib, run.down_jvm_cpu_ns / 1e6 / mib);
    std::printf("       idle RSS before the upload: client %.1f MiB, broker %.1f MiB\n",
                run.up_client.idle_kb / 1024.0, run.up_broker.idle_kb / 1024.0);
    runs.push_back(run);
  }

  auto median = [&](auto f) {
    std::vector<double> v;
    for (const Run& r : runs) v.push_back(f(r));
    return Median(v);
  };
  auto worst = [&](auto f) {
    double m = 0;
    for (const Run& r : runs) m = std::max(m, f(r));
    return m;
  };
  const double up = median([&](const Run& r) { return mib / r.upload_s; });
  const double down = median([&](const Run& r) { return mib / r.download_s; });
  const double up_c = worst([](const Run& r) { return r.up_client.AboveIdleMib(); });
  const double up_b = worst([](const Run& r) { return r.up_broker.AboveIdleMib(); });
  const double down_c = worst([](const Run& r) { return r.down_client.AboveIdleMib(); });
  const double down_b = worst([](const Run& r) { return r.down_broker.AboveIdleMib(); });
  auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  // Memory the allocators keep after a phase raises the next phase's idle:
  // the highest peak of all phases above the RSS before the first run.
  const double broker_overall =
      (worst([](const Run& r) {
         return static_cast<double>(std::max(r.up_broker.peak_kb, r.down_broker.peak_kb));
       }) -
       static_cast<double>(broker_first_idle_kb)) /
      1024.0;
  const double client_overall =
      (worst([](const Run& r) {
         return static_cast<double>(std::max(r.up_client.peak_kb, r.down_client.peak_kb));
       }) -
       static_cast<double>(client_first_idle_kb)) /
      1024.0;
  std::printf("\nmedian of %zu runs (peaks: the largest of the runs)\n", runs.size());
  std::printf(
      "  upload   %7.1f MiB/s = %.2f x the slowest raw stage on its path (%.1f MiB/s); target "
      ">= 0.5: %s\n",
      up, up / up_floor, up_floor, verdict(up / up_floor >= 0.5));
  std::printf(
      "  download %7.1f MiB/s = %.2f x the slowest raw stage on its path (%.1f MiB/s); target "
      ">= 0.5: %s\n",
      down, down / down_floor, down_floor, verdict(down / down_floor >= 0.5));
  if (o.ab_read_ahead) {
    const double other = median([&](const Run& r) { return mib / r.download_other_s; });
    std::printf(
        "  download with read-ahead %zu: %.1f MiB/s = %.2f x; with read-ahead %zu (above): %.2f "
        "x\n",
        OtherReadAhead(o), other, other / down_floor, o.read_ahead, down / down_floor);
    std::printf("RESULT download_read_ahead_%zu=%.1f download_read_ahead_%zu=%.1f\n", o.read_ahead,
                down, OtherReadAhead(o), other);
  }
  std::printf(
      "  peak RSS above idle: upload client %.1f MiB, broker %.1f MiB; download client %.1f MiB, "
      "broker %.1f MiB; target < 64 MiB each: %s\n",
      up_c, up_b, down_c, down_b, verdict(std::max({up_c, up_b, down_c, down_b}) < 64));
  // Every process of the path on this machine's cores, nothing else running.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double up_cpu = median([&](const Run& r) { return r.UpCpuMsPerMib(mib); });
  const double down_cpu = median([&](const Run& r) { return r.DownCpuMsPerMib(mib); });
  std::printf(
      "  CPU per MiB of client, broker and Kafka together: upload %.1f ms, download %.1f ms; on "
      "%u idle cores at most %.0f and %.0f MiB/s (%.2f and %.2f x the slowest raw stage)\n",
      up_cpu, down_cpu, cores, 1000.0 * cores / up_cpu, 1000.0 * cores / down_cpu,
      1000.0 * cores / up_cpu / up_floor, 1000.0 * cores / down_cpu / down_floor);
  std::printf(
      "  highest peak of any phase above the RSS before run 1 (%.1f / %.1f MiB): client %.1f "
      "MiB, broker %.1f MiB\n",
      client_first_idle_kb / 1024.0, broker_first_idle_kb / 1024.0, client_overall, broker_overall);
  std::printf("load average at end: %s\n", LoadAverage().c_str());

  std::printf("\nRESULT mib=%lld runs=%zu nodes=%zu\n", static_cast<long long>(o.mib), runs.size(),
              jvms.size());
  std::printf(
      "RESULT raw_aes_gcm_seal=%.0f raw_sha256=%.0f raw_encrypt_chunk=%.0f raw_decrypt_chunk=%.0f "
      "raw_kafka_produce=%.1f raw_kafka_produce_window8=%.1f raw_kafka_consume=%.1f "
      "raw_kafka_read_one_by_one=%.1f\n",
      crypto.aes_gcm_seal, crypto.sha256, crypto.encrypt_chunk, crypto.decrypt_chunk, raw.produce,
      raw.produce_window, raw.consume, raw.read_one_by_one);
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    std::printf(
        "RESULT run=%zu upload=%.1f download=%.1f up_client_peak=%.1f up_broker_peak=%.1f "
        "down_client_peak=%.1f down_broker_peak=%.1f\n",
        i + 1, mib / r.upload_s, mib / r.download_s, r.up_client.AboveIdleMib(),
        r.up_broker.AboveIdleMib(), r.down_client.AboveIdleMib(), r.down_broker.AboveIdleMib());
  }
  std::printf(
      "RESULT upload=%.1f download=%.1f upload_ratio=%.2f download_ratio=%.2f "
      "client_peak_over_first_idle=%.1f broker_peak_over_first_idle=%.1f\n",
      up, down, up / up_floor, down / down_floor, client_overall, broker_overall);
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "evidence_bench: a JIT evidence item uploaded and downloaded through the liaison-broker "
      "process on real Kafka, with each side's peak memory and the raw ceilings (README.md)"};
  Options o;
  app.add_option("--mib", o.mib, "Size of the item, MiB")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--runs", o.runs, "Measured round trips (upload, then download)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--kafka-state-dir", o.kafka_state_dir,
                 "State folder of a running deploy/kafka/cluster.sh cluster with acls.sh applied "
                 "(default: start a fresh cluster in WORK-DIR/kafka, stop it and remove its data "
                 "at the end)");
  app.add_option("--nodes", o.nodes,
                 "Nodes of the cluster the bench starts (3: tests/kafka_real/"
                 "fixture.sh; 1: deploy/kafka/cluster.sh --nodes 1)")
      ->check(CLI::IsMember({1, 3}))
      ->capture_default_str();
  app.add_flag("--keep-kafka", o.keep_kafka, "Leave the cluster the bench started running");
  app.add_option("--work-dir", o.work_dir,
                 "Folder for the item file, the spool, the download, the broker's files and the "
                 "cluster (default: evidence-bench beside this program); needs about 3 x MiB free, "
                 "plus the cluster's copies");
  app.add_option("--broker-bin", o.broker_bin, "The liaison-broker binary")->capture_default_str();
  app.add_option("--raw-mib", o.raw_mib,
                 "Records of 1 MiB per raw Kafka produce figure (two figures, so twice this)")
      ->check(CLI::Range(int64_t{16}, int64_t{1} << 16))
      ->capture_default_str();
  app.add_option("--crypto-seconds", o.crypto_seconds, "Time per raw crypto figure")
      ->check(CLI::Range(0.1, 60.0))
      ->capture_default_str();
  app.add_option("--workers", o.workers, "The broker's worker threads (0: its default)");
  app.add_option("--read-ahead", o.read_ahead,
                 "Chunks the downloading client receives ahead of the one it decrypts and "
                 "writes (DownloadItemOptions::read_ahead; 0: one thread does all in turn)")
      ->check(CLI::Range(size_t{0}, size_t{64}))
      ->capture_default_str();
  app.add_flag("--ab-read-ahead", o.ab_read_ahead,
               "Each run downloads the item a second time with the other read-ahead (0, or the "
               "default when --read-ahead is 0) and prints both");
  app.add_flag("--client-child", o.client_child)->group("");
  app.add_option("--pki", o.pki)->group("");
  app.add_option("--target", o.target)->group("");
  CLI11_PARSE(app, argc, argv);
  if (o.client_child) return RunClientChild(o);
  return RunBench(o);
}

}  // namespace
}  // namespace liaison::bench

int main(int argc, char** argv) { return liaison::bench::Main(argc, argv); }
