// `liaison admin ...` end to end: the real CLI binary against an in-process
// test broker's admin listener, with the operator certificate of the test
// PKI (and without it).
#include <regex>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

std::string Admin(const TestBroker& broker, const std::string& command, const std::string& as,
                  int* exit_code) {
  const std::string line =
      absl::StrCat(LIAISON_CLI_BIN, " admin ", command, " --as ", as, " --target ",
                   broker.admin_target(), " --pki ", SharedTestPki().dir, " 2>&1");
  CommandResult r = RunCommand(line);
  *exit_code = r.exit_code;
  return r.output;
}

TEST(AdminCli, CommandsPrintJsonAndTablesWithTheOperatorCertificate) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, (*broker)->Client("RO-IGPR"));
  liaison::v1::Message m = TestAlert("RO-IGPR", {"SE-NOA"}, absl::Now());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, ro->Seal(m, absl::Now()));
  LIAISON_ASSERT_OK(ro->Send(envelope).status());
  const std::string id = m.header().message_id();
  int code = -1;

  std::string out = Admin(**broker, "health --json", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  nlohmann::json health = nlohmann::json::parse(out);
  EXPECT_EQ(health["node_id"], (*broker)->node().node_id());
  EXPECT_TRUE(health.contains("policy_version"));

  // `watch` prints the decision as it comes (replaying recent ones).
  out = Admin(**broker, "watch --count 1 --replay 10 --json", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  nlohmann::json event = nlohmann::json::parse(out);
  EXPECT_EQ(event["message_id"], id);
  EXPECT_EQ(event["recipient"], "SE-NOA");

  out = Admin(**broker, "flows --window 60", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "RO-IGPR")) << out;
  EXPECT_TRUE(absl::StrContains(out, "SE-NOA")) << out;
  EXPECT_TRUE(absl::StrContains(out, "ALLOW")) << out;

  out = Admin(**broker, "endpoints --json", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["endpoints"].size(), 10u);

  out = Admin(**broker, "holds", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "no held messages")) << out;

  // `top` draws N screens (JSON lines with --json), then exits.
  out = Admin(**broker, "top --iterations 2 --interval 0.2 --json", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out;
  nlohmann::json screen = nlohmann::json::parse(lines[1]);
  EXPECT_TRUE(screen.contains("health") && screen.contains("flows") &&
              screen.contains("endpoints") && screen.contains("holds") &&
              screen.contains("events"));
  out = Admin(**broker, "top --iterations 1", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "liaison admin top")) << out;
  EXPECT_TRUE(absl::StrContains(out, "RO-IGPR → SE-NOA")) << out;

  // Spans read as an operator reads them, not to the nanosecond.
  out = Admin(**broker, "health", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "uptime")) << out;
  EXPECT_FALSE(std::regex_search(out, std::regex(R"(uptime\s+\S*\.\d{4})"))) << out;
  // Audit figures: one per line, with its unit, worded as on the dashboard.
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(audit entries written\s+\d+ entr(y|ies) \(this node\)\n)")))
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(audit topic\s+(\d+ records?|unknown)\n)")))
      << out;

  // Every column of the endpoint table is explained under it.
  out = Admin(**broker, "endpoints", "ops-duty-1", &code);
  ASSERT_EQ(code, 0) << out;
  for (const char* column :
       {"SUBSCRIBERS", "BACKLOG", "PENDING", "DELIVERED", "ACKED", "LAST SEEN"}) {
    EXPECT_TRUE(std::regex_search(out, std::regex(absl::StrCat("\n", column, R"(\s+\w)"))))
        << column << " unexplained:\n"
        << out;
  }

  // An operator id in another case is the same operator.
  out = Admin(**broker, "health --json", "OPS-DUTY-1", &code);
  EXPECT_EQ(code, 0) << out;

  // No operator certificate under that id: a usage error (exit 2) naming
  // the valid operator ids and the folder they come from.
  out = Admin(**broker, "health", "DE-BKA", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_TRUE(absl::StrContains(out, "--as 'DE-BKA': unknown operator id")) << out;
  EXPECT_TRUE(absl::StrContains(out, "ops-duty-1")) << out;
  EXPECT_TRUE(absl::StrContains(out, "/operators/)")) << out;
  out = Admin(**broker, "health", "ops-duty-2", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_TRUE(absl::StrContains(out, "did you mean ops-duty-1?")) << out;
}

TEST(AdminCli, EndpointCertificateIsRefused) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  // A PKI folder where "operators/DE-BKA" holds DE-BKA's endpoint certificate.
  const std::string dir = MakeTempDir("liaison-admin-cli");
  const TestPki& pki = SharedTestPki();
  ASSERT_EQ(RunCommand(absl::StrCat("mkdir -p ", dir, "/operators/DE-BKA && cp ", pki.ca(), " ",
                                    dir, "/ca.pem && cp ", pki.dir, "/endpoints/DE-BKA/tls.* ", dir,
                                    "/operators/DE-BKA/"))
                .exit_code,
            0);
  const std::string line = absl::StrCat(LIAISON_CLI_BIN, " admin health --as DE-BKA --target ",
                                        (*broker)->admin_target(), " --pki ", dir, " 2>&1");
  CommandResult r = RunCommand(line);
  EXPECT_EQ(r.exit_code, 77) << r.output;  // EX_NOPERM
  EXPECT_TRUE(absl::StrContains(r.output, "PERMISSION_DENIED")) << r.output;
}

}  // namespace
}  // namespace liaison::testing
