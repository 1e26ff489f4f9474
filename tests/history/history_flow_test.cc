// The history checker on a real run: an in-process broker on the embedded
// Kafka mock (tests/fixtures/test_broker.h), real mTLS and signatures. Two
// senders (one unary, one streaming) send alerts to NL-NP, FR-OCRTEH and
// MD-IGP, which the policy refuses (no legal basis covers an EU alert to
// Moldova: DP-BASIS-01). Every endpoint records what it sends and receives;
// the audit trail is dumped at the end. The history must check clean, and
// the same history with one delivery dropped, or one duplicated, must not.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/history/checker.h"
#include "tests/history/history.h"
#include "tests/history/recorder.h"

namespace liaison::history {
namespace {

using endpoint::Subscription;
using endpoint::VerifiedItem;
using testing::RegistryWithHighBulkCaps;
using testing::SubscribeAll;
using testing::TestAlert;
using testing::TestBroker;
using testing::TestBrokerOptions;

constexpr int kPerSender = 10;
const std::vector<std::string> kRecipients = {"NL-NP", "FR-OCRTEH", "MD-IGP"};

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/history_flow_", getpid(), "_", name);
}

// Reads `subscription` as `endpoint`, recording and acknowledging every
// verified item, until `done` says so or `deadline`.
void Drain(Recorder& recorder, const std::string& endpoint, Subscription& subscription,
           const std::function<bool(const Subscription::Received&)>& done, absl::Time deadline) {
  while (absl::Now() < deadline) {
    absl::StatusOr<Subscription::Received> next = subscription.Next(absl::Milliseconds(200));
    if (!next.ok()) {
      if (absl::IsDeadlineExceeded(next.status())) continue;
      ADD_FAILURE() << endpoint << ": subscription ended: " << next.status();
      return;
    }
    ASSERT_TRUE(next->verified.ok()) << endpoint << ": " << next->verified.status();
    recorder.Received(endpoint, *next);
    ASSERT_TRUE(subscription.Ack({next->item.item_id()}).ok());
    recorder.Acknowledged(endpoint, *next);
    if (done(*next)) return;
  }
  ADD_FAILURE() << endpoint << ": not everything arrived in time";
}

class HistoryFlow : public ::testing::Test {
 protected:
  // One recorded run for every test of the suite (a broker start and the
  // consumer-group joins take most of the time).
  static void SetUpTestSuite() {
    path_ = new std::string(TempPath("run.history"));
    std::remove(path_->c_str());
    Run();
    ran_ = !::testing::Test::HasFailure();
  }
  // LIAISON_HISTORY_KEEP=1 keeps the recorded history (its path is printed).
  static void TearDownTestSuite() {
    if (std::getenv("LIAISON_HISTORY_KEEP") != nullptr) {
      std::cout << "history kept: " << *path_ << "\n";
    } else {
      std::remove(path_->c_str());
      std::remove((*path_ + ".audit").c_str());
    }
    delete path_;
  }

  static void Run() {
    TestBrokerOptions options;
    options.registry_path = RegistryWithHighBulkCaps();
    absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status();
    absl::StatusOr<std::unique_ptr<Recorder>> recorder = Recorder::Open(*path_);
    ASSERT_TRUE(recorder.ok()) << recorder.status();
    Recorder& rec = **recorder;

    const std::vector<std::string> endpoints = {"RO-IGPR", "DE-BKA", "NL-NP", "FR-OCRTEH",
                                                "MD-IGP"};
    std::vector<std::unique_ptr<endpoint::Client>> clients;
    absl::StatusOr<std::vector<std::unique_ptr<Subscription>>> subs =
        SubscribeAll(**broker, endpoints, clients);
    ASSERT_TRUE(subs.ok()) << subs.status();
    for (const std::string& e : endpoints) rec.Subscribed(e);

    // RO-IGPR sends one at a time, DE-BKA over a stream; both at once.
    auto ro = (*broker)->Client("RO-IGPR");
    auto de = (*broker)->Client("DE-BKA");
    ASSERT_TRUE(ro.ok() && de.ok());
    std::thread unary([&] {
      for (int i = 0; i < kPerSender; ++i) {
        liaison::v1::Message m = TestAlert("RO-IGPR", kRecipients, absl::Now());
        absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*ro)->Seal(m, absl::Now());
        ASSERT_TRUE(envelope.ok()) << envelope.status();
        rec.Sent("RO-IGPR", m);
        rec.SendOutcome("RO-IGPR", m, (*ro)->Send(*envelope));
      }
    });
    std::unique_ptr<endpoint::SendStream> stream = (*de)->OpenSendStream(
        [&](const liaison::v1::SendResult& r) { rec.StreamResult("DE-BKA", "DE-BKA", r); });
    for (int i = 0; i < kPerSender; ++i) {
      liaison::v1::Message m = TestAlert("DE-BKA", kRecipients, absl::Now());
      absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*de)->Seal(m, absl::Now());
      rec.Sent("DE-BKA", m);
      if (!envelope.ok() || !stream->Write(*envelope).ok()) {
        ADD_FAILURE() << "DE-BKA could not send message " << i;
        break;
      }
    }
    EXPECT_TRUE(stream->Close().ok());
    unary.join();
    ASSERT_FALSE(::testing::Test::HasFailure());

    // This test checks what arrives, not how fast: the bounds leave room for
    // a real cluster on CI's 2 busy cores, where requests time out and a
    // transaction is fenced and redone now and then (a run there once took
    // over 30 s to its first delivery).
    const absl::Time deadline = absl::Now() + absl::Seconds(240);
    // NL-NP reads its first delivery without acknowledging it and
    // reconnects: that item (and whatever else was in flight) comes again.
    {
      absl::StatusOr<Subscription::Received> first = (*subs)[2]->Next(absl::Seconds(120));
      ASSERT_TRUE(first.ok()) << first.status();
      rec.Received("NL-NP", *first);
      ASSERT_TRUE((*subs)[2]->Close().ok());
      (*subs)[2].reset();
      absl::StatusOr<std::unique_ptr<Subscription>> again = clients[2]->Subscribe();
      ASSERT_TRUE(again.ok()) << again.status();
      (*subs)[2] = std::move(*again);
      rec.Subscribed("NL-NP");
    }
    // Each allowed recipient acknowledges every message; each sender gets a
    // receipt per allowed recipient and a NON_DELIVERY notice for MD-IGP.
    std::vector<std::thread> readers;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const std::string e = endpoints[i];
      if (e == "MD-IGP") continue;  // refused: it must receive nothing (checked below)
      Subscription* sub = (*subs)[i].get();
      readers.emplace_back([&rec, e, sub, deadline] {
        std::set<std::string> seen;
        const bool sender = e == "RO-IGPR" || e == "DE-BKA";
        Drain(
            rec, e, *sub,
            [&](const Subscription::Received& r) {
              const liaison::v1::Statement& s = r.verified->statement();
              if (r.verified->kind() == VerifiedItem::Kind::kDelivery) {
                seen.insert(s.attestation().message_id());
              } else if (r.verified->kind() == VerifiedItem::Kind::kReceipt) {
                seen.insert("receipt " + s.receipt().message_id() + " " + s.receipt().recipient());
              } else {
                seen.insert("notice " + s.notice().message_id() + " " + s.notice().recipient());
              }
              // Senders: 2 receipts + 1 notice per message; recipients: 2 x 10.
              return seen.size() == (sender ? 3u * kPerSender : 2u * kPerSender);
            },
            deadline);
      });
    }
    for (std::thread& t : readers) t.join();
    // MD-IGP got nothing, not even after everyone else had everything.
    absl::StatusOr<Subscription::Received> md = (*subs)[4]->Next(absl::Seconds(1));
    EXPECT_TRUE(absl::IsDeadlineExceeded(md.status())) << "MD-IGP received an item";
    subs->clear();

    absl::Status dumped =
        RecordAuditTrail((*broker)->KafkaClient(), (*broker)->topics().Audit(), rec);
    ASSERT_TRUE(dumped.ok()) << dumped;

    // The same trail through the program, into a file of its own.
    const kafka::ClientConfig kafka = (*broker)->KafkaClient();
    std::string command = absl::StrCat(LIAISON_HISTORY_CHECK_BIN, " --dump-audit ", *path_,
                                       ".audit", " --kafka-bootstrap ", kafka.bootstrap_servers,
                                       " --topic ", (*broker)->topics().Audit(), " --timeout 30");
    for (const auto& [key, value] : kafka.properties) {
      absl::StrAppend(&command, " --kafka-property '", key, "=", value, "'");
    }
    EXPECT_EQ(WEXITSTATUS(std::system(command.c_str())), 0) << command;
  }

  static std::vector<Event> Recorded() {
    absl::StatusOr<std::vector<Event>> h = ReadHistory({*path_});
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : std::vector<Event>{};
  }

  static std::string Describe(const CheckResult& r) {
    std::string out;
    for (const Violation& v : r.violations) absl::StrAppend(&out, v.ToString(), "\n");
    return out + FormatSummary(r.summary);
  }

  static std::string* path_;
  static bool ran_;
};

std::string* HistoryFlow::path_ = nullptr;
bool HistoryFlow::ran_ = false;

TEST_F(HistoryFlow, ARealRunChecksClean) {
  ASSERT_TRUE(ran_) << "the recorded run failed (see above)";
  const std::vector<Event> h = Recorded();
  const CheckResult r = Check(h);
  EXPECT_TRUE(r.ok()) << Describe(r);
  const Summary& s = r.summary;
  EXPECT_EQ(s.sent, 2 * kPerSender);
  EXPECT_EQ(s.accepted, 2 * kPerSender);
  EXPECT_EQ(s.pairs, 3 * 2 * kPerSender);
  EXPECT_EQ(s.delivered, 2 * 2 * kPerSender);
  EXPECT_EQ(s.acknowledged, 2 * 2 * kPerSender);
  EXPECT_EQ(s.refused_with_notice, 2 * kPerSender);  // MD-IGP
  EXPECT_EQ(s.receipts, 2 * 2 * kPerSender);
  EXPECT_GE(s.redelivered, 1);  // NL-NP's first item came again
  EXPECT_EQ(s.duplicates, 0);
  EXPECT_EQ(s.lost_with_notice + s.expired_with_notice + s.held + s.unobserved, 0);
  EXPECT_EQ(s.pending_receipts, 0);
  // Per pair: a decision entry, and for the delivered an acknowledgement entry.
  EXPECT_GE(s.audit_entries, 3 * 2 * kPerSender + 2 * 2 * kPerSender);
  std::cout << FormatSummary(s);

  // liaison-history-check --dump-audit wrote the same audit events.
  std::vector<std::string> from_library, from_program;
  for (const Event& e : h) {
    if (e.type == EventType::kAudit) from_library.push_back(ToJsonLine(e));
  }
  absl::StatusOr<std::vector<Event>> dumped = ReadHistory({*path_ + ".audit"});
  ASSERT_TRUE(dumped.ok()) << dumped.status();
  for (const Event& e : *dumped) from_program.push_back(ToJsonLine(e));
  EXPECT_EQ(from_program, from_library);
}

TEST_F(HistoryFlow, ADroppedDeliveryIsCaught) {
  ASSERT_TRUE(ran_) << "the recorded run failed (see above)";
  std::vector<Event> h = Recorded();
  // Forget that FR-OCRTEH received (and acknowledged) one message.
  std::string dropped;
  for (const Event& e : h) {
    if (e.type == EventType::kDelivered && e.recipient == "FR-OCRTEH") {
      dropped = e.message_id;
      break;
    }
  }
  ASSERT_FALSE(dropped.empty());
  std::erase_if(h, [&](const Event& e) {
    return e.message_id == dropped && e.recipient == "FR-OCRTEH" &&
           (e.type == EventType::kDelivered || e.type == EventType::kAcknowledged);
  });
  const CheckResult r = Check(h);
  ASSERT_EQ(r.violations.size(), 2u) << Describe(r);
  // Sorted by (message, recipient), then as found: the loss, then the
  // receipt nobody's acknowledgement explains.
  EXPECT_EQ(r.violations[0].rule, "never-delivered");
  EXPECT_EQ(r.violations[0].message_id, dropped);
  EXPECT_EQ(r.violations[0].recipient, "FR-OCRTEH");
  EXPECT_NE(r.violations[0].what.find("DISCLOSURE decided ALLOW"), std::string::npos)
      << r.violations[0].what;
  EXPECT_EQ(r.violations[1].rule, "receipt-without-ack");
  EXPECT_EQ(r.violations[1].message_id, dropped);
}

TEST_F(HistoryFlow, ADuplicatedDeliveryIsCaughtByTheProgram) {
  ASSERT_TRUE(ran_) << "the recorded run failed (see above)";
  std::vector<Event> h = Recorded();
  // NL-NP receives one message again, a second after its last event.
  const Event* first = nullptr;
  for (const Event& e : h) {
    if (e.type == EventType::kDelivered && e.recipient == "NL-NP") first = &e;
  }
  ASSERT_NE(first, nullptr);
  Event again = *first;
  absl::Time last;
  for (const Event& e : h) last = std::max(last, e.at);
  again.at = last + absl::Seconds(1);
  h.push_back(again);

  const std::string tampered = TempPath("tampered.history");
  {
    std::ofstream out(tampered);
    for (const Event& e : h) out << ToJsonLine(e) << "\n";
  }
  const std::string command = absl::StrCat(LIAISON_HISTORY_CHECK_BIN, " ", tampered, " ", *path_,
                                           ".missing", " > ", tampered, ".out 2>&1");
  // A missing file is exit 66, naming it.
  EXPECT_EQ(WEXITSTATUS(std::system(command.c_str())), 66);
  const std::string check =
      absl::StrCat(LIAISON_HISTORY_CHECK_BIN, " ", tampered, " > ", tampered, ".out 2>&1");
  EXPECT_EQ(WEXITSTATUS(std::system(check.c_str())), 1);
  std::ifstream in(tampered + ".out");
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(
      output.find(absl::StrCat("VIOLATION duplicate-delivery: message ", again.message_id,
                               " recipient NL-NP: delivered again at ", HistoryTime(again.at))),
      std::string::npos)
      << output;
  EXPECT_NE(output.find("duplicates: 1\n"), std::string::npos) << output;
  EXPECT_NE(output.find("HISTORY VIOLATED"), std::string::npos) << output;

  // A malformed line: exit 65, naming the file, line and field.
  {
    std::ofstream out(tampered, std::ios::app);
    out << R"({"event":"delivered","at":"2026-12-05T08:00:00Z","by":"NL-NP"})"
        << "\n";
  }
  EXPECT_EQ(WEXITSTATUS(std::system(check.c_str())), 65);
  std::ifstream bad(tampered + ".out");
  const std::string error((std::istreambuf_iterator<char>(bad)), std::istreambuf_iterator<char>());
  EXPECT_NE(error.find(absl::StrCat(tampered, ":", h.size() + 1,
                                    ": delivered: field 'message_id' missing")),
            std::string::npos)
      << error;

  // The untouched history through the program: clean, exit 0.
  const std::string clean =
      absl::StrCat(LIAISON_HISTORY_CHECK_BIN, " ", *path_, " > ", tampered, ".out 2>&1");
  EXPECT_EQ(WEXITSTATUS(std::system(clean.c_str())), 0);
  std::remove(tampered.c_str());
  std::remove((tampered + ".out").c_str());
}

}  // namespace
}  // namespace liaison::history
