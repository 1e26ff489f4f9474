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
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/broker_process.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

std::string Cli(const std::string& args) { return absl::StrCat(LIAISON_CLI_BIN, " ", args); }

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

  CommandResult sent =
      RunCommand(Cli("send --as RO-IGPR --review-in 14d --erase-in 30d" + dir + " " +
                     SourcePath("deploy/examples/missing-child-alert.json")));
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
  CommandResult explained = RunCommand(Cli("explain --as RO-IGPR --to GB-NCA,MD-IGP" + dir + " " +
                                           SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(explained.exit_code, 0) << explained.output;
  EXPECT_TRUE(absl::StrContains(explained.output, "MD-IGP: REJECT"));
  EXPECT_TRUE(absl::StrContains(explained.output, "DP-XFER-01"));
  // With retention limits (the README's step 7): DE-BKA is allowed, GB-NCA
  // would wait for the sender's approval of the child's identity.
  CommandResult explained_with_limits =
      RunCommand(Cli("explain --as RO-IGPR --to DE-BKA,GB-NCA --review-in 14d --erase-in 30d" +
                     dir + " " + SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(explained_with_limits.exit_code, 0) << explained_with_limits.output;
  EXPECT_TRUE(absl::StrContains(explained_with_limits.output, "DE-BKA: ALLOW"))
      << explained_with_limits.output;
  EXPECT_TRUE(absl::StrContains(explained_with_limits.output, "DP-CHILD-01  HOLD"))
      << explained_with_limits.output;
  EXPECT_FALSE(absl::StrContains(explained_with_limits.output, "DP-RET-01  REJECT"))
      << explained_with_limits.output;
  CommandResult bad_span =
      RunCommand(Cli("explain --as RO-IGPR --erase-in 30fortnights" + dir + " " +
                     SourcePath("deploy/examples/missing-child-alert.json")));
  EXPECT_EQ(bad_span.exit_code, 65) << bad_span.output;
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
  // A unique prefix, as ids are shown shortened.
  CommandResult by_prefix = RunCommand(Cli("audit list" + dir + " " + id.substr(0, 18)));
  EXPECT_EQ(by_prefix.exit_code, 0) << by_prefix.output;
  EXPECT_EQ(by_prefix.output, listed.output);

  // Bad input: the error names the file and the field; nothing is sent.
  const std::string bad = state + "/bad.json";
  std::ofstream(bad) << R"({"header": {"kind": "KIND_ALERT", "recipent": ["DE-BKA"]}})";
  CommandResult refused =
      RunCommand(Cli("send --as RO-IGPR --review-in 14d --erase-in 30d" + dir + " " + bad));
  EXPECT_EQ(refused.exit_code, 65) << refused.output;  // EX_DATAERR
  EXPECT_TRUE(absl::StrContains(refused.output, bad + ":1:35: header.recipent: unknown field"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "did you mean 'recipients'?")) << refused.output;

  EXPECT_EQ(broker.Stop(), 0) << ReadFileOrDie(broker.log());
  EXPECT_FALSE(std::filesystem::exists(state + "/broker.json"));
}

// Usage errors: the problem named, the usage of the command concerned, exit
// 2; help and version on stdout, exit 0. No broker needed.
TEST(CommandLineUsage, UsageErrorsNameTheProblemAndExitTwo) {
  CommandResult bare = RunCommand(Cli(""));
  EXPECT_EQ(bare.exit_code, 0) << bare.output;
  EXPECT_TRUE(absl::StrContains(bare.output, "Usage: liaison")) << bare.output;
  EXPECT_TRUE(absl::StrContains(bare.output, "Exit codes:")) << bare.output;
  EXPECT_TRUE(absl::StrContains(bare.output, "77  permission denied")) << bare.output;

  CommandResult version = RunCommand(Cli("--version"));
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_TRUE(absl::StartsWith(version.output, "liaison ")) << version.output;

  CommandResult help_send = RunCommand(Cli("help send"));
  EXPECT_EQ(help_send.exit_code, 0) << help_send.output;
  EXPECT_TRUE(absl::StrContains(help_send.output, "Usage: liaison send")) << help_send.output;
  EXPECT_TRUE(absl::StrContains(help_send.output, "--review-in")) << help_send.output;
  CommandResult help_flows = RunCommand(Cli("help admin flows"));
  EXPECT_EQ(help_flows.exit_code, 0) << help_flows.output;
  EXPECT_TRUE(absl::StrContains(help_flows.output, "Usage: liaison admin flows"))
      << help_flows.output;
  CommandResult admin = RunCommand(Cli("admin"));
  EXPECT_EQ(admin.exit_code, 0) << admin.output;
  EXPECT_TRUE(absl::StrContains(admin.output, "endpoints")) << admin.output;

  CommandResult typo = RunCommand(Cli("sned --as RO-IGPR x.json"));
  EXPECT_EQ(typo.exit_code, 2) << typo.output;
  EXPECT_TRUE(
      absl::StrContains(typo.output, "unknown command 'sned' for 'liaison'; did you mean 'send'?"))
      << typo.output;
  EXPECT_TRUE(absl::StrContains(typo.output, "Usage: liaison")) << typo.output;
  CommandResult sub_typo = RunCommand(Cli("admin flow --as ops-duty-1"));
  EXPECT_EQ(sub_typo.exit_code, 2) << sub_typo.output;
  EXPECT_TRUE(absl::StrContains(
      sub_typo.output, "unknown command 'flow' for 'liaison admin'; did you mean 'flows'?"))
      << sub_typo.output;
  CommandResult help_typo = RunCommand(Cli("help sned"));
  EXPECT_EQ(help_typo.exit_code, 2) << help_typo.output;
  EXPECT_TRUE(absl::StrContains(help_typo.output, "unknown command 'sned'")) << help_typo.output;

  CommandResult option = RunCommand(Cli("send --as RO-IGPR --reveiw-in 14d x.json"));
  EXPECT_EQ(option.exit_code, 2) << option.output;
  EXPECT_TRUE(absl::StrContains(
      option.output,
      "unknown option '--reveiw-in' for 'liaison send'; did you mean '--review-in'?"))
      << option.output;
  EXPECT_TRUE(absl::StrContains(option.output, "Usage: liaison send")) << option.output;
  CommandResult missing = RunCommand(Cli("send x.json"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_TRUE(absl::StrContains(missing.output, "--as is required")) << missing.output;
  CommandResult not_a_number = RunCommand(Cli("subscribe --as DE-BKA --count many"));
  EXPECT_EQ(not_a_number.exit_code, 2) << not_a_number.output;
  EXPECT_TRUE(absl::StrContains(not_a_number.output, "--count")) << not_a_number.output;
}

// Every option of every command has a description in its help.
TEST(CommandLineUsage, EveryFlagHasADescription) {
  const std::vector<std::string> commands = {
      "send",         "subscribe",    "verify",          "explain",
      "audit verify", "audit list",   "admin endpoints", "admin flows",
      "admin holds",  "admin health", "admin linkage",   "admin watch",
      "admin top",    "help",         "audit export",    "evidence custody"};
  for (const std::string& command : commands) {
    CommandResult help = RunCommand(Cli("help " + command));
    ASSERT_EQ(help.exit_code, 0) << command << ": " << help.output;
    bool in_lists = false;
    int checked = 0;
    std::istringstream lines(help.output);
    for (std::string line; std::getline(lines, line);) {
      if (line == "Options:" || line == "Positionals:") {
        in_lists = true;
        continue;
      }
      if (line.empty() || line[0] != ' ') {
        in_lists = false;
        continue;
      }
      if (!in_lists) continue;
      // "  --name TYPE REQUIRED        Description": the description starts
      // after a run of at least two spaces past the flag.
      const std::string flag = line.substr(2, line.find(' ', 2) - 2);
      EXPECT_TRUE(std::regex_search(line, std::regex(R"(^  \S.*\S {2,}\S)")))
          << "liaison " << command << ": " << flag << " has no description:\n"
          << line;
      ++checked;
    }
    EXPECT_GT(checked, 0) << command << ":\n" << help.output;
  }
}

// The broker's --help: every flag has a description (on its line or on the
// next, indented one), and choices read as words, not as CLI11's raw enum
// mappings ("{auto->0,plain->2,tls->1} OR {0,2,1}") they once showed.
TEST(CommandLineUsage, BrokerHelpDescribesEveryFlagInWords) {
  CommandResult help = RunCommand(absl::StrCat(LIAISON_BROKER_BIN, " --help 2>&1"));
  ASSERT_EQ(help.exit_code, 0) << help.output;
  std::vector<std::string> lines;
  std::istringstream in(help.output);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  int checked = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StartsWith(lines[i], "  -")) continue;
    const bool same_line = std::regex_search(lines[i], std::regex(R"(^  \S.*\S {2,}\S)"));
    const bool next_line =
        i + 1 < lines.size() && std::regex_search(lines[i + 1], std::regex(R"(^ {10,}\S)"));
    EXPECT_TRUE(same_line || next_line) << "no description:\n" << lines[i];
    ++checked;
  }
  EXPECT_GT(checked, 20) << help.output;
  for (const char* flag : {"--topic-prefix", "--max-message-bytes", "--no-mint-dev-pki"}) {
    EXPECT_TRUE(absl::StrContains(help.output, flag)) << flag;
  }
  EXPECT_FALSE(absl::StrContains(help.output, "->")) << help.output;
  EXPECT_FALSE(absl::StrContains(help.output, " OR {")) << help.output;
  EXPECT_TRUE(absl::StrContains(help.output, "--http-security auto|tls|plain")) << help.output;
  // A number in place of a word is a usage error naming the choices.
  CommandResult numeric = RunCommand(absl::StrCat(LIAISON_BROKER_BIN, " --http-security 1 2>&1"));
  EXPECT_NE(numeric.exit_code, 0) << numeric.output;
  EXPECT_TRUE(absl::StrContains(numeric.output, "{auto,tls,plain}")) << numeric.output;
}

// Mistakes explained where they are made: --as, retention limits, JSON.
TEST(CommandLineUsage, MistakesAreExplainedBeforeAnythingIsSent) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string conn =
      absl::StrCat(" --target ", (*broker)->target(), " --pki ", SharedTestPki().dir, " ");
  const std::string alert = SourcePath("deploy/examples/missing-child-alert.json");

  // Lower case is the same endpoint.
  CommandResult lower = RunCommand(
      Cli("explain --as ro-igpr --to DE-BKA --review-in 14d --erase-in 30d" + conn + alert));
  EXPECT_EQ(lower.exit_code, 0) << lower.output;
  EXPECT_TRUE(absl::StrContains(lower.output, "DE-BKA: ALLOW")) << lower.output;

  // A typo: unknown, the nearest id and every valid id, exit 2.
  CommandResult typo =
      RunCommand(Cli("send --as RO-IGRP --review-in 14d --erase-in 30d" + conn + alert));
  EXPECT_EQ(typo.exit_code, 2) << typo.output;
  EXPECT_TRUE(
      absl::StrContains(typo.output, "--as 'RO-IGRP': unknown endpoint id; did you mean RO-IGPR?"))
      << typo.output;
  for (const char* id : {"DE-BKA", "NL-NP", "RO-IGPR", "BG-GDNP", "FR-OCRTEH", "ES-PN", "LV-VP",
                         "SE-NOA", "GB-NCA", "MD-IGP"}) {
    EXPECT_TRUE(absl::StrContains(typo.output, id)) << id << ": " << typo.output;
  }
  EXPECT_FALSE(absl::StrContains(typo.output, "tls.pem")) << typo.output;

  // No retention limits: refused before signing, naming the flags; nothing
  // reaches the broker (no decision is ever made for it).
  CommandResult no_limits = RunCommand(Cli("send --as RO-IGPR" + conn + alert));
  EXPECT_EQ(no_limits.exit_code, 65) << no_limits.output;
  EXPECT_TRUE(absl::StrContains(no_limits.output, "nothing was signed or sent"))
      << no_limits.output;
  EXPECT_TRUE(absl::StrContains(no_limits.output, "--review-in")) << no_limits.output;
  EXPECT_TRUE(absl::StrContains(no_limits.output, "--erase-in")) << no_limits.output;
  EXPECT_FALSE(absl::StrContains(no_limits.output, "accepted")) << no_limits.output;
  CommandResult half = RunCommand(Cli("send --as RO-IGPR --review-in 14d" + conn + alert));
  EXPECT_EQ(half.exit_code, 65) << half.output;
  EXPECT_TRUE(absl::StrContains(half.output, "Add --erase-in")) << half.output;

  // Malformed JSON: file:line:column.
  const std::string dir = MakeTempDir("liaison-cli-mistakes");
  const std::string broken = dir + "/broken.json";
  std::ofstream(broken)
      << "{\n  \"header\": {\n    \"kind\": \"KIND_ALERT\"\n    \"urgency\": 1\n  }\n}\n";
  CommandResult malformed =
      RunCommand(Cli("send --as RO-IGPR --review-in 14d --erase-in 30d" + conn + broken));
  EXPECT_EQ(malformed.exit_code, 65) << malformed.output;
  EXPECT_TRUE(absl::StrContains(malformed.output, broken + ":4:5: header: expected ',' or '}'"))
      << malformed.output;
  const std::string misspelled = dir + "/misspelled.json";
  std::ofstream(misspelled) << R"({"header": {"kind": "KIND_ALERT", "purposes": ["INVESTIGTE"]}})";
  CommandResult enum_typo = RunCommand(Cli("explain --as RO-IGPR" + conn + misspelled));
  EXPECT_EQ(enum_typo.exit_code, 65) << enum_typo.output;
  EXPECT_TRUE(absl::StrContains(enum_typo.output, "did you mean 'PURPOSE_INVESTIGATE'?"))
      << enum_typo.output;

  // Nothing above was accepted: the broker made no decision at all.
  int code = -1;
  CommandResult flows =
      RunCommand(absl::StrCat(LIAISON_CLI_BIN, " admin flows --json --as ops-duty-1 --target ",
                              (*broker)->admin_target(), " --pki ", SharedTestPki().dir));
  code = flows.exit_code;
  ASSERT_EQ(code, 0) << flows.output;
  EXPECT_FALSE(absl::StrContains(flows.output, "RO-IGPR")) << flows.output;
}

// `send --explain` asks the policy first and shows the outcome per
// recipient: AC-04 (ES-PN to SE-NOA for PROTECT_VICTIM) would be refused by
// DP-PURPOSE-01 alone, so it is not signed or sent; the missing-child alert
// to DE-BKA would be delivered, so it is sent, its JSON line carrying the
// outcome.
TEST(CommandLine, SendExplainShowsTheOutcomePerRecipientBeforeSending) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string conn =
      absl::StrCat(" --target ", (*broker)->target(), " --pki ", SharedTestPki().dir, " ");
  const std::string retention = " --review-in 14d --erase-in 30d";

  CommandResult refused = RunCommand(Cli("send --explain --as ES-PN" + retention + conn +
                                         SourcePath("deploy/examples/protect-victim-to-se.json")));
  EXPECT_EQ(refused.exit_code, 65) << refused.output;
  EXPECT_TRUE(std::regex_search(
      refused.output, std::regex(R"(\n  SE-NOA  REJECT +REJECT to SE-NOA: DP-PURPOSE-01: )")))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "(accepted: PREVENT, DETECT, INVESTIGATE"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "every recipient would refuse it"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "nothing was signed or sent")) << refused.output;
  EXPECT_FALSE(absl::StrContains(refused.output, "\"accepted\"")) << refused.output;

  CommandResult sent = RunCommand(Cli("send --explain --as RO-IGPR --to DE-BKA" + retention + conn +
                                      SourcePath("deploy/examples/missing-child-alert.json")));
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  EXPECT_TRUE(std::regex_search(sent.output, std::regex(R"(\n  DE-BKA  ALLOW +ALLOW to DE-BKA)")))
      << sent.output;
  std::string json_line;
  std::istringstream lines(sent.output);
  for (std::string line; std::getline(lines, line);) {
    if (absl::StartsWith(line, "{")) json_line = line;
  }
  ASSERT_FALSE(json_line.empty()) << sent.output;
  const nlohmann::json out = nlohmann::json::parse(json_line);
  EXPECT_EQ(out["status"], "accepted") << json_line;
  ASSERT_EQ(out["explain"].size(), 1u) << json_line;
  EXPECT_EQ(out["explain"][0]["recipient"], "DE-BKA");
  EXPECT_EQ(out["explain"][0]["outcome"], "ALLOW");

  // Only the second message reached the broker: one decision, for DE-BKA.
  CommandResult flows =
      RunCommand(absl::StrCat(LIAISON_CLI_BIN, " admin flows --json --as ops-duty-1 --target ",
                              (*broker)->admin_target(), " --pki ", SharedTestPki().dir));
  ASSERT_EQ(flows.exit_code, 0) << flows.output;
  EXPECT_FALSE(absl::StrContains(flows.output, "ES-PN")) << flows.output;
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
  CommandResult sent =
      RunCommand(Cli("send --as RO-IGPR --review-in 14d --erase-in 30d" + dir + " " +
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
