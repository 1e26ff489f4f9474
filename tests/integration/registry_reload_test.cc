// The registry is configuration: the broker reloads it without a restart,
// refuses a broken file (keeping the one in force), creates delivery topics
// for new endpoints, and every decision records the versions it used.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "broker/core/clock.h"
#include "certs/testing/test_pki.h"
#include "connectors/kafka/reader.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

namespace sc = liaison::policy::scenario;

// Replaces the file in one step (rename), as configuration management does.
void WriteRegistry(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST(RegistryReload, ChangesTakeEffectWithoutRestartAndBrokenFilesAreRefused) {
  const std::string original = ReadFileOrDie(SourcePath("deploy/registry/dev.textproto"));
  const std::string path = MakeTempDir("liaison-registry") + "/registry.textproto";
  WriteRegistry(path, original);
  broker::ManualClock clock(sc::T0());
  TestBrokerOptions options;
  options.clock = &clock;
  options.registry_path = path;
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto es, (*broker)->Client("ES-PN"));

  // AC-04: SE-NOA does not accept PROTECT_VICTIM.
  liaison::v1::Message ac04 = sc::Ac04ProtectVictimToSe();
  LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::ExplainResponse before, es->Explain(ac04, {}));
  ASSERT_EQ(before.decisions_size(), 1);
  EXPECT_EQ(before.decisions(0).outcome(), liaison::v1::OUTCOME_REJECT);
  EXPECT_TRUE(absl::StartsWith(before.registry_version(), "dev-2026-05-04.1+"));

  // SE-NOA now accepts it, and a new endpoint joins the network.
  std::string changed = absl::StrReplaceAll(
      original, {{"version: \"dev-2026-05-04.1\"", "version: \"dev-2026-05-04.2\""},
                 {"accepted_purposes: [PURPOSE_PREVENT, PURPOSE_DETECT, PURPOSE_INVESTIGATE,\n"
                  "    PURPOSE_LOCATE_MISSING_PERSON]\n}\nendpoints {\n  id: \"GB-NCA\"",
                  "accepted_purposes: [PURPOSE_PREVENT, PURPOSE_DETECT, PURPOSE_INVESTIGATE,\n"
                  "    PURPOSE_LOCATE_MISSING_PERSON, PURPOSE_PROTECT_VICTIM]\n}\nendpoints {\n"
                  "  id: \"GB-NCA\""}});
  ASSERT_NE(changed, original);
  changed += R"(
endpoints {
  id: "LT-LKPB"  country: "LT"  jurisdiction: JURISDICTION_EU_MEMBER_STATE
  competent_authority: true
  display_name: "Lietuvos kriminalines policijos biuras"
  roles: [ROLE_SPOC]
  accepted_purposes: [PURPOSE_DETECT, PURPOSE_INVESTIGATE]
}
)";
  WriteRegistry(path, changed);
  liaison::v1::ExplainResponse after;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<liaison::v1::ExplainResponse> r = es->Explain(ac04, {});
        if (!r.ok()) return false;
        after = *r;
        return absl::StartsWith(after.registry_version(), "dev-2026-05-04.2+");
      },
      absl::Seconds(30)))
      << "the broker did not pick up the changed registry";
  ASSERT_EQ(after.decisions_size(), 1);
  for (const liaison::v1::PolicyRuleResult& r : after.decisions(0).rules()) {
    if (r.rule_id() == "DP-PURPOSE-01") EXPECT_EQ(r.verdict(), liaison::v1::RULE_VERDICT_PASS);
  }
  // A delivered decision records the registry version it used.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto se, (*broker)->Client("SE-NOA"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto se_sub, se->Subscribe());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, es->Seal(ac04, clock.Now()));
  LIAISON_ASSERT_OK(es->Send(envelope).status());
  auto got = Collect(*se_sub, 1, absl::Seconds(30));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].verified.ok()) << got[0].verified.status();
  EXPECT_TRUE(absl::StartsWith(got[0].verified->statement().attestation().registry_version(),
                               "dev-2026-05-04.2+"));
  EXPECT_FALSE(got[0].verified->statement().attestation().policy_version().empty());

  // The new endpoint got its delivery topic: a message to it is written there.
  liaison::v1::Message to_lt = TestAlert("ES-PN", {"LT-LKPB"}, clock.Now());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto lt_envelope, es->Seal(to_lt, clock.Now()));
  LIAISON_ASSERT_OK(es->Send(lt_envelope).status());
  const kafka::ClientConfig kafka = (*broker)->KafkaClient();
  EXPECT_TRUE(WaitFor(
      [&] {
        for (int32_t p = 0; p < 3; ++p) {
          auto records = kafka::ReadPartition(kafka, (*broker)->topics().Deliver("LT-LKPB"), p, 0,
                                              kafka::kToEnd, absl::Seconds(5));
          if (records.ok() && !records->empty()) return true;
        }
        return false;
      },
      absl::Seconds(30)));

  // A broken file is refused, naming file, line and field; v2 stays in force.
  absl::Mutex mu;
  std::string refused;
  log::SetSink([&](std::string_view line) {
    if (line.find("broker.registry_reload_failed") != std::string_view::npos) {
      absl::MutexLock lock(&mu);
      refused = std::string(line);
    }
  });
  WriteRegistry(path, absl::StrReplaceAll(changed, {{"id: \"LT-LKPB\"  country: \"LT\"",
                                                     "id: \"LT-LKPB\"  country: \"XX\""}}));
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return !refused.empty();
      },
      absl::Seconds(30)));
  log::ResetSink();
  EXPECT_TRUE(absl::StrContains(refused, path)) << refused;
  EXPECT_TRUE(absl::StrContains(refused, "country")) << refused;
  LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::ExplainResponse still, es->Explain(ac04, {}));
  EXPECT_EQ(still.registry_version(), after.registry_version());
}

}  // namespace
}  // namespace liaison::testing
