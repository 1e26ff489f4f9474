// End to end through the command line, as a newcomer follows the README:
// the real liaison-broker process on the embedded default (or, for the
// `real.` registration, on the fixture's real Kafka), the real `liaison` CLI
// in other processes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "certs/signature.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/dev_pki.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

// The broker as a child process, stopped with SIGTERM like Ctrl-C.
class BrokerProcess {
 public:
  explicit BrokerProcess(const std::string& state_dir) : state_dir_(state_dir) {
    log_ = state_dir + "/broker.log";
    if (OnRealKafka()) {  // a real Kafka: the secret is given, never created
      (void)SharedDevPki();  // minted before fork()
      std::ofstream(state_dir + "/pseudonym.key") << "e2e-test-pseudonym-secret-32-byte";
    }
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = freopen(log_.c_str(), "w", stdout);
      FILE* err = freopen(log_.c_str(), "a", stderr);
      (void)out;
      (void)err;
      std::vector<std::string> args = {LIAISON_BROKER_BIN, "--state-dir", state_dir,
                                       "--listen", "127.0.0.1:0", "--admin-listen",
                                       "127.0.0.1:0", "--http-listen", "127.0.0.1:0"};
      if (const std::string real = RealKafkaStateDir(); !real.empty()) {
        // The fixture's real cluster, as production starts a broker: the
        // network's PKI given (none is minted next to a real Kafka), the
        // mutual-TLS client properties of the cluster, a topic prefix of its
        // own (the fixture lets liaison-auditor read liaison.e2e.audit).
        args.insert(args.end(), {"--kafka-state-dir", real, "--pki", SharedDevPki().dir,
                                 "--pseudonym-key", state_dir + "/pseudonym.key",
                                 "--topic-prefix", "liaison.e2e"});
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(LIAISON_BROKER_BIN, argv.data());
      _exit(127);
    }
  }
  ~BrokerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool WaitServing() {
    return WaitFor([&] { return std::filesystem::exists(state_dir_ + "/broker.json"); },
                   absl::Seconds(60));
  }
  // SIGTERM, then the exit status.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& log() const { return log_; }

 private:
  std::string state_dir_;
  std::string log_;
  pid_t pid_ = -1;
};

std::string Cli(const std::string& args) {
  return absl::StrCat(LIAISON_CLI_BIN, " ", args);
}

TEST(CommandLine, ReadmeWalkthroughWorksEndToEnd) {
  const std::string state = MakeTempDir("liaison-e2e");
  BrokerProcess broker(state);
  ASSERT_TRUE(broker.WaitServing()) << ReadFileOrDie(broker.log());
  const std::string dir = " --state-dir " + state;

  // A subscriber for DE-BKA in the background, stopping after one item.
  const std::string sub_out = state + "/sub.out";
  const std::string sub_cmd =
      Cli("subscribe --as DE-BKA --count 1 --idle 90" + dir) + " > " + sub_out + " 2>&1";
  FILE* subscriber = popen(sub_cmd.c_str(), "r");
  ASSERT_NE(subscriber, nullptr);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::ifstream in(sub_out);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return absl::StrContains(text, "waiting for items");
      },
      absl::Seconds(60)));

  CommandResult sent = RunCommand(Cli("send --as RO-IGPR --review-in 14d --erase-in 30d" + dir +
                                      " " + SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  nlohmann::json answer = nlohmann::json::parse(sent.output);
  EXPECT_EQ(answer["status"], "accepted");
  const std::string id = answer["message_id"];

  EXPECT_EQ(pclose(subscriber), 0);
  std::ifstream in(sub_out);
  std::string line;
  nlohmann::json item;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') item = nlohmann::json::parse(line);
  }
  ASSERT_FALSE(item.is_null()) << ReadFileOrDie(sub_out);
  EXPECT_EQ(item["kind"], "delivery");
  EXPECT_EQ(item["verified"], true);
  EXPECT_EQ(item["sender_signature"], "verified");
  EXPECT_EQ(item["attestation"]["message_id"], id);
  EXPECT_EQ(item["attestation"]["outcome"], "OUTCOME_ALLOW");
  EXPECT_EQ(item["message"]["header"]["sender"], "RO-IGPR");

  // The sender's receipt.
  CommandResult receipts = RunCommand(Cli("subscribe --as RO-IGPR --count 1 --idle 60" + dir));
  ASSERT_EQ(receipts.exit_code, 0) << receipts.output;
  EXPECT_TRUE(absl::StrContains(receipts.output, "\"kind\":\"receipt\"")) << receipts.output;
  EXPECT_TRUE(absl::StrContains(receipts.output, "\"recipient\":\"DE-BKA\""));

  // Explain without sending.
  CommandResult explained =
      RunCommand(Cli("explain --as RO-IGPR --to GB-NCA,MD-IGP" + dir + " " +
                     SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_TRUE(absl::StrContains(explained.output, "MD-IGP: REJECT"));
  EXPECT_TRUE(absl::StrContains(explained.output, "DP-XFER-01"));
  // With retention limits (the README's step 7): DE-BKA is allowed, GB-NCA
  // would wait for the sender's approval of the child's identity.
  CommandResult explained_with_limits = RunCommand(
      Cli("explain --as RO-IGPR --to DE-BKA,GB-NCA --review-in 14d --erase-in 30d" + dir + " " +
          SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(explained_with_limits.exit_code, 0) << explained_with_limits.output;
  EXPECT_TRUE(absl::StrContains(explained_with_limits.output, "DE-BKA: ALLOW"))
      << explained_with_limits.output;
  EXPECT_TRUE(absl::StrContains(explained_with_limits.output, "DP-CHILD-01  HOLD"))
      << explained_with_limits.output;
  EXPECT_FALSE(absl::StrContains(explained_with_limits.output, "DP-RET-01  REJECT"))
      << explained_with_limits.output;
  CommandResult bad_span = RunCommand(
      Cli("explain --as RO-IGPR --erase-in 30fortnights" + dir + " " +
          SourcePath("deploy/examples/missing-child-alert.json")));
  EXPECT_NE(bad_span.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(bad_span.output, "--erase-in")) << bad_span.output;

  // The audit trail is intact and lists the decisions for the message.
  CommandResult verified = RunCommand(Cli("audit verify" + dir));
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_TRUE(absl::StrContains(verified.output, "audit chain intact"));
  EXPECT_TRUE(absl::StrContains(verified.output, "signed checkpoints")) << verified.output;
  // An auditor keeps the verified checkpoints outside Kafka (--pin); the next
  // run checks the trail against them too. A damaged pin file is refused.
  const std::string pin = state + "/audit-pin.json";
  CommandResult pinned = RunCommand(Cli("audit verify --pin " + pin + dir));
  EXPECT_EQ(pinned.exit_code, 0) << pinned.output;
  EXPECT_TRUE(std::filesystem::exists(pin));
  CommandResult repinned = RunCommand(Cli("audit verify --pin " + pin + dir));
  EXPECT_EQ(repinned.exit_code, 0) << repinned.output;
  const std::string bad_pin = state + "/bad-pin.json";
  std::ofstream(bad_pin) << R"([{"checkpont": ""}])";
  CommandResult refused_pin = RunCommand(Cli("audit verify --pin " + bad_pin + dir));
  EXPECT_NE(refused_pin.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused_pin.output, "bad-pin.json[0]")) << refused_pin.output;
  CommandResult listed = RunCommand(Cli("audit list" + dir + " " + id));
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(absl::StrContains(listed.output, "RO-IGPR -> DE-BKA  ALLOW"));

  // Bad input: the error names the file and the field; nothing is sent.
  const std::string bad = state + "/bad.json";
  std::ofstream(bad) << R"({"header": {"kind": "KIND_ALERT", "recipent": ["DE-BKA"]}})";
  CommandResult refused = RunCommand(Cli("send --as RO-IGPR" + dir + " " + bad));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.output, bad)) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "recipent")) << refused.output;

  EXPECT_EQ(broker.Stop(), 0) << ReadFileOrDie(broker.log());
  EXPECT_FALSE(std::filesystem::exists(state + "/broker.json"));
}

// `liaison audit verify` fails, with exit code 3 and the reason, when the
// audit topic holds a checkpoint that no broker key signed (here: an
// endpoint's signing key, written straight into Kafka by an insider).
// Embedded mode only: on a real cluster the test has no write access.
TEST(AuditCommandLine, VerifyFailsOnACheckpointNotSignedByABroker) {
  if (OnRealKafka()) GTEST_SKIP() << "writes straight into the embedded Kafka";
  const std::string state = MakeTempDir("liaison-e2e-audit");
  BrokerProcess broker(state);
  ASSERT_TRUE(broker.WaitServing()) << ReadFileOrDie(broker.log());
  const std::string dir = " --state-dir " + state;
  CommandResult sent = RunCommand(Cli("send --as RO-IGPR" + dir + " " +
                                      SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  CommandResult intact;
  ASSERT_TRUE(WaitFor(
      [&] {
        intact = RunCommand(Cli("audit verify" + dir));
        return intact.exit_code == 0 &&
               absl::StrContains(intact.output, "0 entries not yet covered");
      },
      absl::Seconds(60)))
      << intact.output;

  nlohmann::json info = nlohmann::json::parse(ReadFileOrDie(state + "/broker.json"));
  kafka::ClientConfig kafka;
  kafka.bootstrap_servers = info["kafka_bootstrap"].get<std::string>();
  const std::string pki = info["pki_dir"].get<std::string>();
  absl::StatusOr<std::unique_ptr<certs::Signer>> endpoint = certs::Signer::FromPemFiles(
      pki + "/endpoints/DE-BKA/sign.key", pki + "/endpoints/DE-BKA/sign.pem");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  liaison::v1::AuditCheckpoint c;
  c.set_chain(0);
  c.set_seq(1);
  c.set_head_hash(std::string(32, 'x'));
  *c.mutable_signed_at() = ToProto(absl::Now());
  absl::StatusOr<liaison::v1::SignedAuditCheckpoint> forged = audit::SignCheckpoint(c, **endpoint);
  ASSERT_TRUE(forged.ok()) << forged.status();
  liaison::v1::AuditRecord record;
  *record.mutable_checkpoint() = *forged;
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(kafka);
  ASSERT_TRUE(producer.ok()) << producer.status();
  absl::Notification done;
  absl::Status written;
  (*producer)->Produce(
      info["topic_prefix"].get<std::string>() + ".audit", "", record.SerializeAsString(),
      [&](const kafka::DeliveryReport& r) {
        written = r.status;
        done.Notify();
      },
      0);
  done.WaitForNotification();
  ASSERT_TRUE(written.ok()) << written;

  CommandResult refused = RunCommand(Cli("audit verify" + dir));
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "AUDIT CHAIN BROKEN")) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "partition 0 offset")) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "checkpoint refused")) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "expected broker")) << refused.output;
  CommandResult json = RunCommand(Cli("audit verify --json" + dir));
  EXPECT_EQ(json.exit_code, 3) << json.output;
  nlohmann::json out = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << json.output;
  EXPECT_FALSE(out["ok"].get<bool>());
  EXPECT_EQ(out["problems"].size(), 1u) << json.output;
  EXPECT_EQ(broker.Stop(), 0);
}

}  // namespace
}  // namespace liaison::testing
