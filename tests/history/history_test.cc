// The history format (JSON lines) and the recorder, without a broker.
#include "tests/history/history.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/history/recorder.h"

namespace liaison::history {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/history_test_", getpid(), "_", name);
}

TEST(HistoryFormat, EveryEventTypeRoundTrips) {
  const absl::Time t = absl::FromUnixMicros(1796400000123456);
  std::vector<Event> events = {
      {.type = EventType::kSubscribed, .at = t, .by = "NL-NP"},
      {.type = EventType::kSent,
       .at = t,
       .by = "RO-IGPR",
       .message_id = "m1",
       .sender = "RO-IGPR",
       .recipients = {"NL-NP", "MD-IGP"}},
      {.type = EventType::kAccepted,
       .at = t,
       .by = "RO-IGPR",
       .message_id = "m1",
       .sender = "RO-IGPR",
       .duplicate = true},
      {.type = EventType::kRejected,
       .at = t,
       .by = "RO-IGPR",
       .message_id = "m1",
       .sender = "RO-IGPR",
       .code = "UNAVAILABLE",
       .error = "Kafka did not acknowledge"},
      {.type = EventType::kDelivered,
       .at = t,
       .by = "NL-NP",
       .message_id = "m1",
       .sender = "RO-IGPR",
       .recipient = "NL-NP",
       .item_id = "d-1",
       .content = Content::kRedacted},
      {.type = EventType::kAcknowledged,
       .at = t,
       .by = "NL-NP",
       .message_id = "m1",
       .recipient = "NL-NP",
       .item_id = "d-1"},
      {.type = EventType::kReceipt,
       .at = t,
       .by = "RO-IGPR",
       .message_id = "m1",
       .sender = "RO-IGPR",
       .recipient = "NL-NP",
       .item_id = "r-1",
       .acknowledged_at = t - absl::Milliseconds(5)},
      {.type = EventType::kNotice,
       .at = t,
       .by = "RO-IGPR",
       .message_id = "m1",
       .recipient = "MD-IGP",
       .item_id = "n-1",
       .notice_kind = "NON_DELIVERY"},
      {.type = EventType::kAudit,
       .at = t,
       .by = "audit",
       .message_id = "m1",
       .sender = "RO-IGPR",
       .recipient = "MD-IGP",
       .chain = 2,
       .seq = 17,
       .operation = "REFUSAL",
       .audit_event = "decided",
       .decision = "REJECT",
       .rule_ids = {"DP-BASIS-01"},
       .broker_id = "liaison-broker-1"},
  };
  for (const Event& e : events) {
    const std::string line = ToJsonLine(e);
    absl::StatusOr<Event> back = ParseEvent(line, "x:1");
    ASSERT_TRUE(back.ok()) << back.status() << " " << line;
    EXPECT_EQ(ToJsonLine(*back), line);
    EXPECT_EQ(back->at, t);
    EXPECT_EQ(back->source, "x:1");
  }
  EXPECT_EQ(ToJsonLine(events[1]),
            R"({"at":"2026-12-04T16:00:00.123456Z","by":"RO-IGPR","event":"sent",)"
            R"("message_id":"m1","recipients":["NL-NP","MD-IGP"],"sender":"RO-IGPR"})");
}

TEST(HistoryFormat, BadLinesNameTheFileLineAndField) {
  struct Case {
    std::string line;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"not json", "f:3: not a JSON object"},
      {R"({"event":"sent","at":"2026-12-04T17:20:00Z"})", "f:3: field 'by' missing"},
      {R"({"event":"posted","at":"2026-12-04T17:20:00Z","by":"X"})",
       "f:3: event 'posted' unknown (expected one of subscribed, sent, accepted, rejected, "
       "delivered, acknowledged, receipt, notice, audit)"},
      {R"({"event":"delivered","at":"2026-12-04T17:20:00Z","by":"X","message_id":"m",)"
       R"("recipient":"X","content":"original"})",
       "f:3: delivered: field 'item_id' missing"},
      {R"({"event":"subscribed","at":"yesterday","by":"X"})",
       "f:3: subscribed: field 'at': 'yesterday' is not an RFC 3339 time"},
      {R"({"event":"subscribed","at":"2026-12-04T17:20:00Z","by":"X","colour":"red"})",
       "f:3: field 'colour' unknown"},
      {R"({"event":"delivered","at":"2026-12-04T17:20:00Z","by":"X","message_id":"m",)"
       R"("recipient":"X","item_id":"d","content":"abridged"})",
       "f:3: delivered: field 'content': 'abridged' (expected original or redacted)"},
      {R"({"event":"sent","at":"2026-12-04T17:20:00Z","by":"X","message_id":"m",)"
       R"("sender":"X","recipients":[]})",
       "f:3: sent: field 'recipients': expected non-empty strings"},
      {R"({"event":"audit","at":"2026-12-04T17:20:00Z","by":"audit","message_id":"m",)"
       R"("chain":0,"seq":-1,"operation":"REFUSAL","audit_event":"decided"})",
       "f:3: audit: field 'seq': expected a non-negative integer"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Event> e = ParseEvent(c.line, "f:3");
    ASSERT_FALSE(e.ok()) << c.line;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.status().message()).substr(0, c.error.size()), c.error)
        << e.status().message();
  }
}

TEST(HistoryFormat, ReadHistoryReadsFilesInOrderAndNamesTheBadLine) {
  const std::string a = TempPath("a"), b = TempPath("b");
  std::ofstream(a) << R"({"event":"subscribed","at":"2026-12-04T17:20:00Z","by":"NL-NP"})"
                   << "\n\n";
  std::ofstream(b) << R"({"event":"subscribed","at":"2026-12-04T17:20:01Z","by":"FR-OCRTEH"})"
                   << "\n{\n";
  absl::StatusOr<std::vector<Event>> h = ReadHistory({a});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].source, a + ":1");
  h = ReadHistory({a, b});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), b + ":2: not a JSON object");
  h = ReadHistory({a + ".missing"});
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(HistoryRecorder, ThreadsAppendWholeLines) {
  const std::string path = TempPath("threads");
  std::remove(path.c_str());
  {
    absl::StatusOr<std::unique_ptr<Recorder>> recorder = Recorder::Open(path);
    ASSERT_TRUE(recorder.ok()) << recorder.status();
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i) {
          liaison::v1::Message m;
          m.mutable_header()->set_message_id(absl::StrCat("m-", t, "-", i));
          m.mutable_header()->set_sender("RO-IGPR");
          m.mutable_header()->add_recipients("NL-NP");
          (*recorder)->Sent("RO-IGPR", m);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_TRUE((*recorder)->status().ok());
  }
  // A second recorder appends.
  {
    absl::StatusOr<std::unique_ptr<Recorder>> recorder = Recorder::Open(path);
    ASSERT_TRUE(recorder.ok());
    (*recorder)->Subscribed("NL-NP");
  }
  absl::StatusOr<std::vector<Event>> h = ReadHistory({path});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->size(), 2001u);
  std::set<std::string> ids;
  for (size_t i = 0; i < 2000; ++i) ids.insert((*h)[i].message_id);
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(h->back().type, EventType::kSubscribed);
  std::remove(path.c_str());
}

TEST(HistoryRecorder, OpeningAnUnwritablePathNamesIt) {
  absl::StatusOr<std::unique_ptr<Recorder>> recorder = Recorder::Open("/nonexistent/dir/h");
  ASSERT_FALSE(recorder.ok());
  EXPECT_EQ(recorder.status().message(), "/nonexistent/dir/h: cannot be opened for appending");
}

TEST(HistoryRecorder, AuditEntriesBecomeAuditEvents) {
  liaison::v1::AuditEntry a;
  a.set_chain(3);
  a.set_seq(9);
  a.set_operation(liaison::v1::AUDIT_OPERATION_ALTERATION);
  a.set_event("decided");
  a.set_message_id("m1");
  a.set_sender("NL-NP");
  a.set_recipient("BG-GDNP");
  a.set_decision(liaison::v1::OUTCOME_REDACT);
  a.add_rule_ids("DP-CAT-02");
  a.set_broker_id("liaison-broker-1");
  a.mutable_ts()->set_seconds(1796400000);
  const Event e = AuditEvent(a);
  EXPECT_EQ(ToJsonLine(e),
            R"({"at":"2026-12-04T16:00:00.000000Z","audit_event":"decided",)"
            R"("broker_id":"liaison-broker-1","by":"audit","chain":3,"decision":"REDACT",)"
            R"("event":"audit","message_id":"m1","operation":"ALTERATION","recipient":"BG-GDNP",)"
            R"("rule_ids":["DP-CAT-02"],"sender":"NL-NP","seq":9})");
}

}  // namespace
}  // namespace liaison::history
