// `liaison link query | follow-up | decide` end to end (AC-14, AC-15): the
// real liaison-broker process on the embedded default, the real `liaison`
// CLI for every endpoint. RO-IGPR publishes the identifiers of a case; ES-PN
// queries with identifiers written its own way, gets hit / no hit with the
// owner and its case handle, follows up; RO-IGPR sees the hit, decides; the
// details travel as an ordinary message. Synthetic values only.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/broker_process.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using Json = nlohmann::json;

// RO-IGPR's case LNK-RO-0713: an account and a phone number.
constexpr char kCase[] =
    "case_handle,type,value\n"
    "LNK-RO-0713,iban,RO49 AAAA 1B31 0075 9384 0000\n"
    "LNK-RO-0713,phone,+40 721 000 111\n";

// ES-PN's analyst types the same two identifiers differently, and a Spanish
// number nobody has published.
constexpr char kQuery[] =
    "type,value\n"
    "iban,ro49aaaa1b31007593840000\n"
    "phone,0040 721-000-111\n"
    "phone,+34 612 345 678\n";

class LinkCli : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = MakeTempDir("liaison-e2e-link");
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
  Json CliJson(const std::string& args, int want_exit = 0) {
    CommandResult r = CliStdout(args);
    EXPECT_EQ(r.exit_code, want_exit) << args << "\n" << r.output << ReadFileOrDie(broker_->log());
    try {
      return Json::parse(r.output);
    } catch (const Json::parse_error& e) {
      ADD_FAILURE() << args << ": not JSON: " << r.output;
      return Json();
    }
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = state_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // The first item `as` received (and acknowledged) that satisfies `want`:
  // among those read before, else reading until one comes or 60 s pass.
  // Every item read is kept in `seen_` (once per item id).
  Json ReceiveUntil(const std::string& as, const std::function<bool(const Json&)>& want) {
    for (const Json& item : seen_[as]) {
      if (want(item)) return item;
    }
    Json found;
    WaitFor(
        [&] {
          CommandResult r = CliStdout(absl::StrCat("subscribe --as ", as, " --idle 3"));
          for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
            if (line.empty() || line[0] != '{') continue;
            Json item = Json::parse(line);
            if (!ids_[as].insert(item.value("item_id", "")).second) continue;
            seen_[as].push_back(item);
            if (found.is_null() && want(item)) found = item;
          }
          return !found.is_null();
        },
        absl::Seconds(60));
    EXPECT_FALSE(found.is_null()) << as << " received: " << Json(seen_[as]).dump(1);
    return found;
  }
  static std::function<bool(const Json&)> Notice(const std::string& kind, const std::string& id) {
    return [kind, id](const Json& item) {
      return item.value("kind", "") == "notice" && item["notice"].value("kind", "") == kind &&
             item["notice"].value("message_id", "") == id;
    };
  }
  static std::function<bool(const Json&)> Delivery(const std::string& id) {
    return [id](const Json& item) {
      return item.value("kind", "") == "delivery" && item["attestation"]["message_id"] == id;
    };
  }

  // RO-IGPR publishes its case; ES-PN queries it. The query's JSON result.
  Json PublishAndQuery() {
    CommandResult published =
        Cli("index publish --as RO-IGPR --expires-in 90 " + Write("case.csv", kCase));
    EXPECT_EQ(published.exit_code, 0) << published.output;
    return CliJson(
        "link query --as ES-PN --to RO-IGPR --case-ref ES-2026-0091 --offence THB "
        "--wait 60 --json " +
        Write("ids.csv", kQuery));
  }

  std::string state_;
  std::unique_ptr<BrokerProcess> broker_;
  std::map<std::string, std::vector<Json>> seen_;
  std::map<std::string, std::set<std::string>> ids_;
};

TEST_F(LinkCli, Ac14QueryHitFollowUpApprovedAndTheDetailsArrive) {
  // ES-PN: hit / no hit per identifier, owner and handle only (DP-LINK-02).
  const Json query = PublishAndQuery();
  ASSERT_EQ(query["status"], "answered") << query.dump(1);
  const std::string query_id = query["query_id"];
  EXPECT_EQ(query["sent_to"], Json::array({"RO-IGPR"}));
  EXPECT_EQ(query["epoch"], 1);
  EXPECT_FALSE(query["broker"].get<std::string>().empty());
  const Json& ids = query["identifiers"];
  ASSERT_EQ(ids.size(), 3u) << query.dump(1);
  for (int i : {0, 1}) {
    EXPECT_EQ(ids[i]["hit"], true) << query.dump(1);
    EXPECT_EQ(ids[i]["hits"], Json::parse(R"([{"owner": "RO-IGPR", "owner_ref": "LNK-RO-0713"}])"))
        << query.dump(1);
  }
  EXPECT_EQ(ids[0]["line"], 2);
  EXPECT_EQ(ids[0]["type"], "iban");
  EXPECT_EQ(ids[2]["hit"], false) << query.dump(1);
  EXPECT_EQ(ids[2]["hits"], Json::array());
  EXPECT_EQ(query["refused"], Json::array());

  // RO-IGPR: the hit notice names who asked, their case and the types
  // matched, never a value; the query itself is not forwarded.
  const Json hit = ReceiveUntil("RO-IGPR", Notice("NOTICE_KIND_LINKAGE_HIT", query_id));
  EXPECT_EQ(hit["notice"]["requester"], "ES-PN") << hit.dump(1);
  EXPECT_EQ(hit["notice"]["case_ref"], "ES-2026-0091");
  EXPECT_EQ(hit["notice"]["owner_ref"], "LNK-RO-0713");
  EXPECT_EQ(hit["notice"]["identifier_types"],
            Json::array({"IDENTIFIER_TYPE_PHONE", "IDENTIFIER_TYPE_IBAN"}))
      << hit.dump(1);
  for (const Json& item : seen_["RO-IGPR"]) {
    EXPECT_FALSE(item.value("kind", "") == "delivery" &&
                 item["attestation"]["message_id"] == query_id)
        << "the query reached RO-IGPR: " << item.dump(1);
    EXPECT_FALSE(absl::StrContains(item.dump(), "721")) << item.dump(1);
  }

  // ES-PN follows up: held for RO-IGPR (DP-LINK-02).
  const Json followup = CliJson(
      "link follow-up --as ES-PN --owner RO-IGPR --owner-ref LNK-RO-0713 --query-id " + query_id +
      " --case-ref ES-2026-0091 --purpose investigate --justification ES-JUST-0091 --wait 60 "
      "--json");
  ASSERT_EQ(followup["status"], "held") << followup.dump(1);
  const std::string followup_id = followup["followup_id"];
  EXPECT_EQ(followup["broker"]["rule_ids"], Json::array({"DP-LINK-02"})) << followup.dump(1);
  EXPECT_TRUE(absl::StrContains(followup["broker"]["reasons"].dump(),
                                "follow-up for LNK-RO-0713 awaits RO-IGPR approval"))
      << followup.dump(1);

  // RO-IGPR is asked, and approves.
  const Json asked = ReceiveUntil("RO-IGPR", Notice("NOTICE_KIND_CONSENT_REQUESTED", followup_id));
  EXPECT_EQ(asked["notice"]["requester"], "ES-PN") << asked.dump(1);
  EXPECT_EQ(asked["notice"]["owner_ref"], "LNK-RO-0713") << asked.dump(1);
  const Json decided = CliJson("link decide --as RO-IGPR --followup-id " + followup_id +
                               " --to ES-PN --approve --json");
  ASSERT_EQ(decided["status"], "accepted") << decided.dump(1);
  EXPECT_EQ(decided["decision"], "approve");
  const std::string details_id = decided["details_message_id"];
  const std::string decision_id = decided["decision_id"];

  // The follow-up is released to RO-IGPR; ES-PN receives the decision.
  const Json released = ReceiveUntil("RO-IGPR", Delivery(followup_id));
  EXPECT_EQ(released["message"]["followup_request"]["owner_ref"], "LNK-RO-0713");
  const Json decision = ReceiveUntil("ES-PN", Delivery(decision_id));
  EXPECT_EQ(decision["message"]["followup_decision"]["approve"], true) << decision.dump(1);
  EXPECT_EQ(decision["message"]["followup_decision"]["details_message_id"], details_id);

  // The details: an ordinary INFO_EXCHANGE under the announced id (the
  // README's example file), through every rule.
  const std::string details_file = SourcePath("deploy/examples/linkage-details.json");
  CommandResult bad_id =
      Cli("send --as RO-IGPR --message-id D-1 --review-in 30d --erase-in 90d " + details_file);
  EXPECT_EQ(bad_id.exit_code, 2) << bad_id.output;
  EXPECT_TRUE(absl::StrContains(bad_id.output, "--message-id: must be a lower-case UUIDv7"))
      << bad_id.output;
  CommandResult sent = Cli("send --as RO-IGPR --to ES-PN --message-id " + details_id +
                           " --review-in 30d --erase-in 90d " + details_file);
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  EXPECT_TRUE(absl::StrContains(sent.output, "\"status\":\"accepted\"")) << sent.output;
  const Json details = ReceiveUntil("ES-PN", Delivery(details_id));
  EXPECT_EQ(details["attestation"]["outcome"], "OUTCOME_ALLOW") << details.dump(1);
  EXPECT_EQ(details["message"]["header"]["sender"], "RO-IGPR");
  EXPECT_EQ(details["message"]["info"]["entities"][1]["account"]["entity_id"], "A-141");
}

TEST_F(LinkCli, ARefusedFollowUpTellsTheRequesterAndNothingIsReleased) {
  const Json query = PublishAndQuery();
  ASSERT_EQ(query["status"], "answered") << query.dump(1);
  const Json followup =
      CliJson("link follow-up --as ES-PN --owner RO-IGPR --owner-ref LNK-RO-0713 --query-id " +
              query["query_id"].get<std::string>() +
              " --purpose investigate --justification ES-JUST-0092 --wait 60 --json");
  ASSERT_EQ(followup["status"], "held") << followup.dump(1);
  const std::string followup_id = followup["followup_id"];

  // A refusal needs a reason code, never free text.
  CommandResult no_reason =
      Cli("link decide --as RO-IGPR --followup-id " + followup_id + " --to ES-PN --refuse");
  EXPECT_EQ(no_reason.exit_code, 2) << no_reason.output;
  EXPECT_TRUE(absl::StrContains(no_reason.output, "--reason: required with --refuse"))
      << no_reason.output;
  CommandResult prose = Cli("link decide --as RO-IGPR --followup-id " + followup_id +
                            " --to ES-PN --refuse --reason 'our informant'");
  EXPECT_EQ(prose.exit_code, 2) << prose.output;
  EXPECT_TRUE(absl::StrContains(prose.output, "--reason (followup_decision.reason_code)"))
      << prose.output;

  const Json decided = CliJson("link decide --as RO-IGPR --followup-id " + followup_id +
                               " --to ES-PN --refuse --reason ONGOING_OPERATION --json");
  ASSERT_EQ(decided["status"], "accepted") << decided.dump(1);
  EXPECT_FALSE(decided.contains("details_message_id"));

  const Json decision = ReceiveUntil("ES-PN", Delivery(decided["decision_id"]));
  // (proto3 JSON leaves out approve: false)
  EXPECT_FALSE(decision["message"]["followup_decision"].value("approve", false))
      << decision.dump(1);
  EXPECT_EQ(decision["message"]["followup_decision"]["reason_code"], "ONGOING_OPERATION");
  const Json refused = ReceiveUntil("ES-PN", Notice("NOTICE_KIND_NON_DELIVERY", followup_id));
  EXPECT_EQ(refused["notice"]["recipient"], "RO-IGPR") << refused.dump(1);
  EXPECT_EQ(refused["notice"]["rule_ids"], Json::array({"DP-LINK-02"})) << refused.dump(1);
  EXPECT_TRUE(absl::StrContains(refused["notice"]["reasons"].dump(),
                                "DP-LINK-02: RO-IGPR refused the follow-up for LNK-RO-0713"))
      << refused.dump(1);
  // RO-IGPR never receives the refused follow-up.
  ReceiveUntil("RO-IGPR", [](const Json&) { return true; });
  for (const Json& item : seen_["RO-IGPR"]) {
    EXPECT_FALSE(Delivery(followup_id)(item)) << item.dump(1);
  }
}

// AC-15. Through the CLI a cleartext name cannot be put into a query: there
// is no column type for a name alone, the file is refused before anything
// is signed. A hand-written message with one (sent with `liaison send`, as
// another client could) is refused by the broker under DP-LINK-01.
TEST_F(LinkCli, Ac15ACleartextNameIsRefusedOnTheEndpointAndByTheBroker) {
  CommandResult refused =
      Cli("link query --as ES-PN --to RO-IGPR --case-ref ES-2026-0091 --offence THB " +
          Write("names.csv",
                "type,value\n"
                "iban,RO49 AAAA 1B31 0075 9384 0000\n"
                "name,ZZTEST-IVANOVA ZZTEST-ELENA\n"));
  EXPECT_EQ(refused.exit_code, 65) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output,
                                "names.csv:3: type: a name alone is never searched or indexed "
                                "(DP-LINK-01)"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "1 of 2 rows refused; nothing was sent"))
      << refused.output;
  EXPECT_FALSE(absl::StrContains(refused.output, "query ")) << refused.output;
  EXPECT_FALSE(absl::StrContains(refused.output, "IVANOVA")) << refused.output;

  const std::string cleartext = Write("ac15.json", R"({
 "header": {"kind": "KIND_LINKAGE_QUERY", "recipients": ["RO-IGPR"], "case_ref": "ES-2026-0091",
  "legal_basis": ["EU-DIR-2023/977"], "purposes": ["PURPOSE_INVESTIGATE"],
  "urgency": "URGENCY_ROUTINE", "handling": {"code": "HANDLING_CODE_H0"}},
 "linkage_query": {"case_ref": "ES-2026-0091", "offence_code": "THB", "identifiers": [
  {"type": "IDENTIFIER_TYPE_PERSON_NAME", "scheme": "none",
   "value": "WlpURVNULUlWQU5PVkEgWlpURVNULUVMRU5B"}]}
})");
  CommandResult sent = CliStdout("send --as ES-PN --review-in 30d --erase-in 90d " + cleartext);
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  const std::string id = Json::parse(sent.output)["message_id"];
  const Json notice = ReceiveUntil("ES-PN", Notice("NOTICE_KIND_NON_DELIVERY", id));
  EXPECT_EQ(notice["notice"]["rule_ids"], Json::array({"DP-LINK-01"})) << notice.dump(1);
  EXPECT_TRUE(absl::StrContains(notice["notice"]["reasons"].dump(),
                                "linkage_query.identifiers[0] is cleartext (type PERSON_NAME)"))
      << notice.dump(1);
}

// A query the policy refuses for every recipient gets no reply: the command
// prints each refusal and exits 77 instead of waiting out --wait. With one
// recipient refused and one searched, the reply comes and the refusal is
// named beside it.
TEST_F(LinkCli, RefusedRecipientsAreNamedAndAQueryAllRefuseEndsWithExit77) {
  CommandResult refused =
      Cli("link query --as ES-PN --to GB-NCA --case-ref ES-2026-0091 --offence THB --wait 120 " +
          Write("ids.csv", kQuery));
  EXPECT_EQ(refused.exit_code, 77) << refused.output;
  EXPECT_TRUE(
      absl::StrContains(refused.output, "refused for GB-NCA: REJECT to GB-NCA: DP-BASIS-01"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "the policy refused the query for every recipient"))
      << refused.output;
  // One recipient refused, one searched: the reply, and the refusal named.
  RunCommand(absl::StrCat(LIAISON_CLI_BIN,
                          " index publish --as RO-IGPR --expires-in 90 --state-dir ", state_, " ",
                          Write("case.csv", kCase)));
  const Json mixed = CliJson(
      "link query --as ES-PN --to RO-IGPR,GB-NCA --case-ref ES-2026-0091 --offence THB --json " +
      Write("ids.csv", kQuery));
  EXPECT_EQ(mixed["status"], "answered") << mixed.dump(1);
  EXPECT_EQ(mixed["identifiers"][0]["hits"][0]["owner"], "RO-IGPR") << mixed.dump(1);
  ASSERT_EQ(mixed["refused"].size(), 1u) << mixed.dump(1);
  EXPECT_EQ(mixed["refused"][0]["recipient"], "GB-NCA") << mixed.dump(1);
  EXPECT_EQ(mixed["refused"][0]["rule_ids"], Json::array({"DP-BASIS-01"})) << mixed.dump(1);
  // With the basis that covers ES-PN -> GB-NCA the index is searched.
  const Json answered = CliJson(
      "link query --as ES-PN --to GB-NCA --legal-basis EU-UK-TCA --case-ref ES-2026-0091 "
      "--offence THB --json " +
      Write("ids.csv", kQuery));
  EXPECT_EQ(answered["status"], "answered") << answered.dump(1);
  EXPECT_EQ(answered["identifiers"][0]["hit"], false) << answered.dump(1);
}

// No fishing expeditions: past the registry's linkage.max_queries_per_day
// (2 here) a query is refused for every recipient with the limit named.
TEST(LinkCliLimit, AQueryOverTheDailyLimitIsRefusedWithTheLimitNamed) {
  const std::string state = MakeTempDir("liaison-e2e-link-limit");
  std::string registry = ReadFileOrDie(SourcePath("deploy/registry/dev.textproto"));
  const std::string from = "max_queries_per_day: 500";
  ASSERT_NE(registry.find(from), std::string::npos);
  registry.replace(registry.find(from), from.size(), "max_queries_per_day: 2");
  const std::string registry_path = state + "/registry.textproto";
  std::ofstream(registry_path) << registry;
  BrokerProcess broker(state, {"--registry", registry_path});
  ASSERT_TRUE(broker.WaitServing()) << ReadFileOrDie(broker.log());
  const std::string ids = state + "/ids.csv";
  std::ofstream(ids) << kQuery;
  const std::string query =
      absl::StrCat(LIAISON_CLI_BIN, " link query --as ES-PN --to RO-IGPR,DE-BKA --case-ref ",
                   "ES-2026-0091 --offence THB --state-dir ", state, " ", ids, " 2>&1");
  for (int i = 0; i < 2; ++i) {
    CommandResult answered = RunCommand(query);
    EXPECT_EQ(answered.exit_code, 0) << answered.output << ReadFileOrDie(broker.log());
    EXPECT_TRUE(absl::StrContains(answered.output, "reply from the index")) << answered.output;
  }
  CommandResult refused = RunCommand(query);
  EXPECT_EQ(refused.exit_code, 77) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output,
                                "refused for RO-IGPR: REJECT to RO-IGPR: DP-LINK-01: ES-PN"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output,
                                "2 linkage queries answered today (UTC); the limit is "
                                "linkage.max_queries_per_day = 2"))
      << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "refused for DE-BKA:")) << refused.output;
}

// Bad input to `link query` is named precisely and nothing is sent.
TEST_F(LinkCli, BadQueriesAreRefusedBeforeSending) {
  const std::string ids = Write("ids.csv", kQuery);
  CommandResult bad_row =
      Cli("link query --as ES-PN --to RO-IGPR --case-ref ES-2026-0091 --offence THB " +
          Write("bad.csv", "type,value\niban,RO48 AAAA 1B31 0075 9384 0000\n"));
  EXPECT_EQ(bad_row.exit_code, 65) << bad_row.output;
  EXPECT_TRUE(absl::StrContains(bad_row.output, "bad.csv:2: value: iban: checksum (mod 97) fails"))
      << bad_row.output;
  EXPECT_FALSE(absl::StrContains(bad_row.output, "RO48")) << bad_row.output;

  CommandResult handle =
      Cli("link query --as ES-PN --to RO-IGPR --case-ref ES-2026-0091 --offence THB " +
          Write("published.csv", kCase));
  EXPECT_EQ(handle.exit_code, 65) << handle.output;
  EXPECT_TRUE(absl::StrContains(handle.output,
                                "published.csv:1: column 'case_handle': not part of a query"))
      << handle.output;

  CommandResult offence =
      Cli("link query --as ES-PN --to RO-IGPR --case-ref ES-2026-0091 --offence 'THB*' " + ids);
  EXPECT_EQ(offence.exit_code, 2) << offence.output;
  EXPECT_TRUE(absl::StrContains(offence.output, "--offence (linkage_query.offence_code): must be"))
      << offence.output;

  CommandResult purpose =
      Cli("link query --as ES-PN --to RO-IGPR --case-ref ES-2026-0091 --offence THB --purpose "
          "investgate " +
          ids);
  EXPECT_EQ(purpose.exit_code, 2) << purpose.output;
  EXPECT_TRUE(absl::StrContains(purpose.output,
                                "--purpose 'investgate': unknown; did you mean 'investigate'?"))
      << purpose.output;

  CommandResult follow =
      Cli("link follow-up --as ES-PN --owner RO-IGPR --owner-ref RO-2026-0502 --query-id q1 "
          "--purpose investigate --justification J-1");
  EXPECT_EQ(follow.exit_code, 2) << follow.output;
  EXPECT_TRUE(absl::StrContains(follow.output, "--owner-ref (followup_request.owner_ref): must be"))
      << follow.output;
}

}  // namespace
}  // namespace liaison::testing
