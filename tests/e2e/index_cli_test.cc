// `liaison index publish | withdraw` end to end: the real liaison-broker
// process on the embedded default, the real `liaison` CLI reading files of
// synthetic cleartext identifiers, blinding them with the dev PKI's linkage
// key and publishing them; the broker's counts and the audit trail show
// what was stored.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/broker_process.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

// Three cases of mixed types, synthetic values only.
constexpr char kCases[] =
    "case_handle,type,value,country,document_type,date_of_birth\n"
    "LNK-ZZ-0001,iban,RO49 AAAA 1B31 0075 9384 0000,,,\n"
    "LNK-ZZ-0001,phone,+40 721 000 111,,,\n"
    "LNK-ZZ-0002,name_dob,\"ZZTEST, Ion\",,,1990-02-28\n"
    "LNK-ZZ-0002,plate,B 123 ZZT,RO,,\n"
    "LNK-ZZ-0002,email,ion.zztest@example.org,,,\n"
    "LNK-ZZ-0003,document,ZZ1234567,RO,P,\n"
    "LNK-ZZ-0003,phone,0721 000 222,,,\n";

class IndexCli : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = MakeTempDir("liaison-e2e-index");
    broker_ = std::make_unique<BrokerProcess>(state_);
    ASSERT_TRUE(broker_->WaitServing()) << ReadFileOrDie(broker_->log());
  }

  CommandResult Cli(const std::string& args) {
    return RunCommand(absl::StrCat(LIAISON_CLI_BIN, " ", args, " --state-dir ", state_, " 2>&1"));
  }
  // Only stdout (for --json).
  CommandResult CliStdout(const std::string& args) {
    return RunCommand(absl::StrCat(LIAISON_CLI_BIN, " ", args, " --state-dir ", state_));
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = state_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // `audit list ID` once the entry has reached the audit topic.
  std::string AuditOf(const std::string& id) {
    CommandResult listed;
    WaitFor(
        [&] {
          listed = RunCommand(absl::StrCat(LIAISON_CLI_BIN, " audit list --timeout 10 --state-dir ",
                                           state_, " ", id, " 2>&1"));
          return listed.exit_code == 0;
        },
        absl::Seconds(60));
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    return listed.output;
  }

  std::string state_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(IndexCli, PublishBlindsLocallyIsAuditedAndCasesAreWithdrawn) {
  const std::string cases = Write("cases.csv", kCases);
  CommandResult published = CliStdout("index publish --as RO-IGPR --expires-in 30 --json " + cases);
  ASSERT_EQ(published.exit_code, 0) << published.output << ReadFileOrDie(broker_->log());
  nlohmann::json results = nlohmann::json::parse(published.output);
  ASSERT_EQ(results.size(), 1u) << published.output;
  EXPECT_EQ(results[0]["status"], "stored");
  EXPECT_EQ(results[0]["code"], 0);
  EXPECT_EQ(results[0]["sequence"], 0);
  EXPECT_EQ(results[0]["error"], "");
  EXPECT_EQ(results[0]["stored"], 7);
  EXPECT_EQ(results[0]["withdrawn"], 0);
  const std::string batch_id = results[0]["batch_id"];

  // The audit trail records the publication, with counts and no value.
  const std::string audit = AuditOf(batch_id);
  EXPECT_TRUE(absl::StrContains(audit, "index-published")) << audit;
  EXPECT_TRUE(absl::StrContains(audit, "linkage: epoch 1, 7 entries")) << audit;
  EXPECT_TRUE(absl::StrContains(audit, "RO-IGPR")) << audit;
  EXPECT_FALSE(absl::StrContains(audit, "721")) << audit;

  // Another endpoint cannot publish into RO-IGPR's cases: the broker refuses
  // the batch, the CLI names the file line of the entry and exits 77.
  CommandResult foreign = Cli("index publish --as BG-GDNP --expires-in 30 " + cases);
  EXPECT_EQ(foreign.exit_code, 77) << foreign.output;
  EXPECT_TRUE(absl::StrContains(foreign.output, "REFUSED PERMISSION_DENIED")) << foreign.output;
  EXPECT_TRUE(absl::StrContains(foreign.output, "entries[0].case_handle: belongs to another"))
      << foreign.output;
  EXPECT_TRUE(absl::StrContains(foreign.output, "cases.csv:2)")) << foreign.output;

  // Smaller batches: one line each. Publishing again renews the entries.
  CommandResult batched = Cli("index publish --as ro-igpr --expires-in 30 --batch 3 " + cases);
  ASSERT_EQ(batched.exit_code, 0) << batched.output;
  EXPECT_TRUE(absl::StrContains(batched.output, "batch 1/3 ")) << batched.output;
  EXPECT_TRUE(absl::StrContains(batched.output, ": stored 3 entries (epoch 1)")) << batched.output;
  EXPECT_TRUE(absl::StrContains(batched.output, "batch 3/3 ")) << batched.output;
  EXPECT_TRUE(absl::StrContains(batched.output, ": stored 1 entries (epoch 1)")) << batched.output;
  EXPECT_TRUE(absl::StrContains(batched.output, "3 batches: 7 entries stored")) << batched.output;

  // JSON input, with its own expiry per row.
  const std::string json = Write("more.json", R"([
  {"case_handle": "LNK-ZZ-0004", "type": "vin", "value": "WVWZZZ1JZXW000001",
   "expires_at": "2099-01-01"},
  {"case_handle": "LNK-ZZ-0004", "type": "phone", "value": "+40 721 000 333"}
])");
  CommandResult too_far = Cli("index publish --as RO-IGPR --expires-in 30 " + json);
  EXPECT_EQ(too_far.exit_code, 65) << too_far.output;
  EXPECT_TRUE(absl::StrContains(too_far.output, "more.json:2: expires_at: more than 180 days"))
      << too_far.output;
  Write("more.json", R"([
  {"case_handle": "LNK-ZZ-0004", "type": "vin", "value": "WVWZZZ1JZXW000001"},
  {"case_handle": "LNK-ZZ-0004", "type": "phone", "value": "+40 721 000 333"}
])");
  CommandResult from_json = Cli("index publish --as RO-IGPR --expires-in 30 " + json);
  ASSERT_EQ(from_json.exit_code, 0) << from_json.output;
  EXPECT_TRUE(absl::StrContains(from_json.output, ": stored 2 entries")) << from_json.output;

  // Withdrawing one identifier of a case (blinded here too), then the case
  // by handle: only the other identifier was left. Then by the published file.
  const std::string drop = Write("drop.csv",
                                 "case_handle,type,value\n"
                                 "LNK-ZZ-0004,phone,0721 000 333\n");
  CommandResult single = Cli("index withdraw --as RO-IGPR --entries " + drop);
  ASSERT_EQ(single.exit_code, 0) << single.output;
  EXPECT_TRUE(absl::StrContains(single.output, "withdrew 1 entries of 1 identifiers"))
      << single.output;
  CommandResult one = CliStdout("index withdraw --as RO-IGPR --json LNK-ZZ-0004");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  nlohmann::json withdrawn = nlohmann::json::parse(one.output);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0]["withdrawn"], 1) << one.output;
  const std::string erasure = AuditOf(withdrawn[0]["batch_id"]);
  EXPECT_TRUE(absl::StrContains(erasure, "index-withdrawn  ERASURE")) << erasure;
  EXPECT_TRUE(absl::StrContains(erasure, "linkage: epoch 1, 1 entries")) << erasure;
  CommandResult rest = Cli("index withdraw --as RO-IGPR --file " + cases);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_TRUE(absl::StrContains(rest.output, "withdrew 7 entries of 3 cases")) << rest.output;
  CommandResult again = Cli("index withdraw --as RO-IGPR LNK-ZZ-0001");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "withdrew 0 entries of 1 cases")) << again.output;

  CommandResult bad_handle = Cli("index withdraw --as RO-IGPR CASE-7");
  EXPECT_EQ(bad_handle.exit_code, 2) << bad_handle.output;
  EXPECT_TRUE(absl::StrContains(bad_handle.output, "'CASE-7': case_handle: must be \"LNK-\""))
      << bad_handle.output;
}

// Operators see the index as counts per endpoint and epoch
// (`liaison admin linkage`, table and --json), never a handle or a value.
class AdminCliLinkage : public IndexCli {};

TEST_F(AdminCliLinkage, CountsPerEndpointAndEpochFollowPublishAndWithdraw) {
  auto admin_json = [&] {
    CommandResult r = CliStdout("admin linkage --as ops-duty-1 --json");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.exit_code == 0 ? nlohmann::json::parse(r.output) : nlohmann::json();
  };
  auto entries_of = [](const nlohmann::json& index, const std::string& endpoint) {
    for (const auto& c : index["counts"]) {
      if (c["endpoint_id"] == endpoint && c["epoch"] == 1)
        return int64_t{std::stoll(c["entries"].get<std::string>())};
    }
    return int64_t{-1};
  };
  nlohmann::json before = admin_json();
  EXPECT_EQ(before["epochs_in_force"], nlohmann::json::array({1})) << before;
  EXPECT_EQ(entries_of(before, "RO-IGPR"), 0) << before;

  const std::string cases = Write("cases.csv", kCases);
  CommandResult published = Cli("index publish --as RO-IGPR --expires-in 30 " + cases);
  ASSERT_EQ(published.exit_code, 0) << published.output;
  nlohmann::json after = admin_json();
  EXPECT_EQ(entries_of(after, "RO-IGPR"), 7) << after;
  EXPECT_EQ(entries_of(after, "BG-GDNP"), 0) << after;
  EXPECT_EQ(after["entries"], "7") << after;

  CommandResult table = Cli("admin linkage --as ops-duty-1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(absl::StrContains(table.output,
                                "linkage index on this node: 7 entries; epochs in "
                                "force: 1;"))
      << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex(R"(\nRO-IGPR\s+1\s+7\n)")))
      << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex(R"(\nENTRIES\s+live index entries)")))
      << table.output;
  EXPECT_FALSE(absl::StrContains(table.output + after.dump(), "LNK-")) << table.output;

  CommandResult withdrawn = Cli("index withdraw --as RO-IGPR --file " + cases);
  ASSERT_EQ(withdrawn.exit_code, 0) << withdrawn.output;
  EXPECT_EQ(entries_of(admin_json(), "RO-IGPR"), 0);
}

// A bad row refuses the whole file before anything is signed or sent, named
// by file, line and field, without its value.
TEST_F(IndexCli, ABadRowRefusesTheFileAndNothingIsPublished) {
  const std::string bad = Write("bad.csv",
                                "case_handle,type,value\n"
                                "LNK-ZZ-0009,phone,+40 721 000 111\n"
                                "LNK-ZZ-0009,email,ion.zztest@example.org\n"
                                "LNK-ZZ-0009,iban,RO48 AAAA 1B31 0075 9384 0000\n");
  CommandResult refused = Cli("index publish --as RO-IGPR --expires-in 30 " + bad);
  EXPECT_EQ(refused.exit_code, 65) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "bad.csv:4: value: iban: checksum (mod 97) fails"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "1 of 3 rows refused; nothing was published"))
      << refused.output;
  EXPECT_FALSE(absl::StrContains(refused.output, "RO48")) << refused.output;
  EXPECT_FALSE(absl::StrContains(refused.output, "batch ")) << refused.output;

  // The two good rows of the case were not published either: withdrawing
  // the case finds nothing.
  CommandResult withdrawn = Cli("index withdraw --as RO-IGPR LNK-ZZ-0009");
  ASSERT_EQ(withdrawn.exit_code, 0) << withdrawn.output;
  EXPECT_TRUE(absl::StrContains(withdrawn.output, "withdrew 0 entries of 1 cases"))
      << withdrawn.output;

  // No expiry anywhere: refused too, naming the flag.
  CommandResult no_expiry =
      Cli("index publish --as RO-IGPR " + Write("ok.csv",
                                                "case_handle,type,value\n"
                                                "LNK-ZZ-0009,vin,WVWZZZ1JZXW000001\n"));
  EXPECT_EQ(no_expiry.exit_code, 65) << no_expiry.output;
  EXPECT_TRUE(absl::StrContains(no_expiry.output, "ok.csv: no expiry: give an expires_at column"))
      << no_expiry.output;
  EXPECT_TRUE(absl::StrContains(no_expiry.output, "--expires-in")) << no_expiry.output;

  // The help says where the cleartext goes (nowhere).
  CommandResult help = RunCommand(absl::StrCat(LIAISON_CLI_BIN, " help index publish"));
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_TRUE(absl::StrContains(help.output, "Cleartext never leaves this process")) << help.output;
  EXPECT_TRUE(absl::StrContains(help.output, "Exit codes: see")) << help.output;
  // (The footer of `send` survives the exit-code footer too.)
  CommandResult help_send = RunCommand(absl::StrCat(LIAISON_CLI_BIN, " help send"));
  EXPECT_TRUE(absl::StrContains(help_send.output, "retention limits")) << help_send.output;
}

}  // namespace
}  // namespace liaison::testing
