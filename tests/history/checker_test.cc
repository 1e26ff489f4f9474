// The checker's rules on synthetic histories: a clean run passes, and each
// invariant broken on purpose fails with its precise message.
#include "tests/history/checker.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace liaison::history {
namespace {

// Builds a history in time order, 10 ms between events.
class History {
 public:
  absl::Time now() const { return t_; }
  void Wait(absl::Duration d) { t_ += d; }

  void Subscribed(const std::string& by) { Add({.type = EventType::kSubscribed, .by = by}); }
  void Sent(const std::string& m, const std::string& sender, std::vector<std::string> recipients) {
    Add({.type = EventType::kSent,
         .by = sender,
         .message_id = m,
         .sender = sender,
         .recipients = std::move(recipients)});
  }
  void Accepted(const std::string& m, const std::string& sender) {
    Add({.type = EventType::kAccepted, .by = sender, .message_id = m, .sender = sender});
  }
  void Rejected(const std::string& m, const std::string& sender, const std::string& code) {
    Add({.type = EventType::kRejected,
         .by = sender,
         .message_id = m,
         .sender = sender,
         .code = code,
         .error = "synthetic"});
  }
  void Audit(const std::string& m, const std::string& sender, const std::string& r,
             const std::string& operation, const std::string& event, const std::string& decision,
             std::vector<std::string> rules = {}) {
    Add({.type = EventType::kAudit,
         .by = "audit",
         .message_id = m,
         .sender = sender,
         .recipient = r,
         .chain = 0,
         .seq = ++seq_,
         .operation = operation,
         .audit_event = event,
         .decision = decision,
         .rule_ids = std::move(rules)});
  }
  void Delivered(const std::string& m, const std::string& r, Content content = Content::kOriginal) {
    Add({.type = EventType::kDelivered,
         .by = r,
         .message_id = m,
         .recipient = r,
         .item_id = Item(m, r),
         .content = content});
  }
  void Acked(const std::string& m, const std::string& r) {
    Add({.type = EventType::kAcknowledged,
         .by = r,
         .message_id = m,
         .recipient = r,
         .item_id = Item(m, r)});
  }
  // The broker took the acknowledgement now: its audit entry, then the
  // sender's receipt.
  void Receipt(const std::string& m, const std::string& sender, const std::string& r) {
    const absl::Time taken = t_;
    Audit(m, sender, r, "DISCLOSURE", "acknowledged", "ALLOW");
    Add({.type = EventType::kReceipt,
         .by = sender,
         .message_id = m,
         .sender = sender,
         .recipient = r,
         .item_id = "r-" + Item(m, r),
         .acknowledged_at = taken});
  }
  void Notice(const std::string& by, const std::string& kind, const std::string& m,
              const std::string& r = "") {
    Add({.type = EventType::kNotice,
         .by = by,
         .message_id = m,
         .recipient = r,
         .item_id = absl::StrCat("n-", m, "-", kind),
         .notice_kind = kind});
  }
  // Sent, accepted, allowed for `r`, delivered, acknowledged, receipted.
  void Flow(const std::string& m, const std::string& sender, const std::string& r) {
    Sent(m, sender, {r});
    Accepted(m, sender);
    Audit(m, sender, r, "DISCLOSURE", "decided", "ALLOW");
    Delivered(m, r);
    Acked(m, r);
    Receipt(m, sender, r);
  }

  std::vector<Event> events;

 private:
  static std::string Item(const std::string& m, const std::string& r) {
    return absl::StrCat("d-", m, "-", r);
  }
  void Add(Event e) {
    t_ += absl::Milliseconds(10);
    e.at = t_;
    e.source = absl::StrCat("synthetic:", events.size() + 1);
    events.push_back(std::move(e));
  }
  absl::Time t_ = absl::FromUnixSeconds(1796400000);  // 2026-12-04
  uint64_t seq_ = 0;
};

// A run with every clean outcome: RO-IGPR sends m1 to NL-NP and FR-OCRTEH
// (allowed; FR-OCRTEH gets it twice before acknowledging) and MD-IGP
// (refused, NON_DELIVERY notice); DE-BKA sends m2 redacted to NL-NP, m3 lost
// before the policy stage (LOST notice), m4 accepted after an UNAVAILABLE,
// m5 held for NL-NP, m6 acknowledged just before the end (receipt pending).
History CleanRun() {
  History h;
  for (const char* e : {"RO-IGPR", "DE-BKA", "NL-NP", "FR-OCRTEH", "MD-IGP"}) h.Subscribed(e);
  h.Sent("m1", "RO-IGPR", {"NL-NP", "FR-OCRTEH", "MD-IGP"});
  h.Accepted("m1", "RO-IGPR");
  h.Audit("m1", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Audit("m1", "RO-IGPR", "FR-OCRTEH", "DISCLOSURE", "decided", "ALLOW");
  h.Audit("m1", "RO-IGPR", "MD-IGP", "REFUSAL", "decided", "REJECT", {"DP-BASIS-01"});
  h.Notice("RO-IGPR", "NON_DELIVERY", "m1", "MD-IGP");
  h.Delivered("m1", "NL-NP");
  h.Acked("m1", "NL-NP");
  h.Delivered("m1", "FR-OCRTEH");
  h.Delivered("m1", "FR-OCRTEH");  // again on a new stream: not acknowledged yet
  h.Acked("m1", "FR-OCRTEH");
  h.Receipt("m1", "RO-IGPR", "NL-NP");
  h.Receipt("m1", "RO-IGPR", "FR-OCRTEH");

  h.Sent("m2", "DE-BKA", {"NL-NP"});
  h.Accepted("m2", "DE-BKA");
  h.Audit("m2", "DE-BKA", "NL-NP", "ALTERATION", "decided", "REDACT", {"DP-CAT-02"});
  h.Delivered("m2", "NL-NP", Content::kRedacted);
  h.Acked("m2", "NL-NP");
  h.Receipt("m2", "DE-BKA", "NL-NP");

  h.Sent("m3", "DE-BKA", {"FR-OCRTEH"});
  h.Accepted("m3", "DE-BKA");
  h.Notice("DE-BKA", "LOST", "m3");

  h.Sent("m4", "DE-BKA", {"FR-OCRTEH"});
  h.Rejected("m4", "DE-BKA", "UNAVAILABLE");
  h.Accepted("m4", "DE-BKA");
  h.Audit("m4", "DE-BKA", "FR-OCRTEH", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m4", "FR-OCRTEH");
  h.Acked("m4", "FR-OCRTEH");
  h.Receipt("m4", "DE-BKA", "FR-OCRTEH");

  h.Sent("m5", "DE-BKA", {"NL-NP"});
  h.Accepted("m5", "DE-BKA");
  h.Audit("m5", "DE-BKA", "NL-NP", "RETENTION", "decided", "HOLD", {"DP-JIT-02"});
  h.Notice("DE-BKA", "HELD", "m5", "NL-NP");

  h.Sent("m6", "RO-IGPR", {"NL-NP"});
  h.Accepted("m6", "RO-IGPR");
  h.Audit("m6", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m6", "NL-NP");
  h.Acked("m6", "NL-NP");
  return h;
}

std::vector<Event> Without(std::vector<Event> events,
                           const std::function<bool(const Event&)>& drop) {
  std::erase_if(events, drop);
  return events;
}

std::string Describe(const CheckResult& r) {
  std::string out;
  for (const Violation& v : r.violations) absl::StrAppend(&out, v.ToString(), "\n");
  return out;
}

// The one violation of `r`; fails unless there is exactly one.
Violation Only(const CheckResult& r) {
  EXPECT_EQ(r.violations.size(), 1u) << Describe(r);
  return r.violations.empty() ? Violation{} : r.violations.front();
}

TEST(HistoryChecker, CleanRunPassesWithEveryOutcomeCounted) {
  const CheckResult r = Check(CleanRun().events);
  EXPECT_TRUE(r.ok()) << Describe(r);
  const Summary& s = r.summary;
  EXPECT_EQ(s.sent, 6);
  EXPECT_EQ(s.accepted, 6);
  EXPECT_EQ(s.rejected, 0);  // m4 was accepted in the end
  EXPECT_EQ(s.rejected_by_code.at("UNAVAILABLE"), 1);
  EXPECT_EQ(s.pairs, 8);
  EXPECT_EQ(s.delivered, 5);
  EXPECT_EQ(s.deliveries, 6);
  EXPECT_EQ(s.redelivered, 1);
  EXPECT_EQ(s.duplicates, 0);
  EXPECT_EQ(s.acknowledged, 5);
  EXPECT_EQ(s.refused_with_notice, 1);
  EXPECT_EQ(s.lost_with_notice, 1);
  EXPECT_EQ(s.held, 1);
  EXPECT_EQ(s.receipts, 4);
  EXPECT_EQ(s.pending_receipts, 1);
  EXPECT_EQ(s.violations, 0);
  EXPECT_NE(FormatSummary(s).find("lost with notice: 1\n"), std::string::npos) << FormatSummary(s);
}

TEST(HistoryChecker, AcceptedButNeverDeliveredNorNoticedIsReported) {
  const std::vector<Event> h = Without(CleanRun().events, [](const Event& e) {
    return e.message_id == "m1" && e.recipient == "NL-NP" && e.type != EventType::kAudit;
  });
  const Violation v = Only(Check(h));
  EXPECT_EQ(v.rule, "never-delivered");
  EXPECT_EQ(v.message_id, "m1");
  EXPECT_EQ(v.recipient, "NL-NP");
  EXPECT_NE(v.what.find("never delivered to NL-NP and the sender RO-IGPR got no LOST, EXPIRED or "
                        "NON_DELIVERY notice"),
            std::string::npos)
      << v.what;
  EXPECT_NE(v.what.find("DISCLOSURE decided ALLOW"), std::string::npos) << v.what;
}

TEST(HistoryChecker, RefusedRecipientWithoutNonDeliveryNoticeIsReported) {
  const std::vector<Event> h = Without(CleanRun().events, [](const Event& e) {
    return e.type == EventType::kNotice && e.notice_kind == "NON_DELIVERY";
  });
  const Violation v = Only(Check(h));
  EXPECT_EQ(v.rule, "refused-without-notice");
  EXPECT_EQ(v.recipient, "MD-IGP");
  EXPECT_NE(v.what.find("REFUSAL decided REJECT [DP-BASIS-01]"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("the sender RO-IGPR got no NON_DELIVERY notice"), std::string::npos);
}

TEST(HistoryChecker, DeliveryToARefusedRecipientIsReported) {
  History h = CleanRun();
  h.Delivered("m1", "MD-IGP");
  const Violation v = Only(Check(h.events));
  EXPECT_EQ(v.rule, "delivered-refused");
  EXPECT_EQ(v.message_id, "m1");
  EXPECT_EQ(v.recipient, "MD-IGP");
  EXPECT_NE(v.what.find("item d-m1-MD-IGP"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("the policy refused this recipient"), std::string::npos) << v.what;
}

TEST(HistoryChecker, DeliveryOfASendNeverAcceptedIsReported) {
  History h = CleanRun();
  h.Sent("m7", "RO-IGPR", {"NL-NP"});
  h.Rejected("m7", "RO-IGPR", "UNAVAILABLE");
  h.Audit("m7", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m7", "NL-NP");
  const Violation v = Only(Check(h.events));
  EXPECT_EQ(v.rule, "delivered-unaccepted");
  EXPECT_NE(v.what.find("its send was never accepted (last answer UNAVAILABLE: synthetic"),
            std::string::npos)
      << v.what;
}

TEST(HistoryChecker, DeliveryAfterASendThatTimedOutIsIndeterminateNotAViolation) {
  History h = CleanRun();
  h.Sent("m7", "RO-IGPR", {"NL-NP"});
  h.Rejected("m7", "RO-IGPR", "DEADLINE_EXCEEDED");
  h.Audit("m7", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m7", "NL-NP");
  const CheckResult r = Check(h.events);
  EXPECT_TRUE(r.ok()) << Describe(r);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("m7 delivered to NL-NP after a send that ended DEADLINE_EXCEEDED"),
            std::string::npos)
      << r.notes.back();
}

TEST(HistoryChecker, DeliveryOfAMessageNobodySentIsReported) {
  History h = CleanRun();
  h.Audit("m9", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m9", "NL-NP");
  const Violation v = Only(Check(h.events));
  EXPECT_EQ(v.rule, "delivered-unsent");
  EXPECT_EQ(v.message_id, "m9");
  EXPECT_NE(v.what.find("no send of this message is in the history"), std::string::npos);
}

TEST(HistoryChecker, DeliveryWithoutAnAuditEntryIsReported) {
  const std::vector<Event> h = Without(CleanRun().events, [](const Event& e) {
    return e.type == EventType::kAudit && e.message_id == "m2" && e.audit_event == "decided";
  });
  const Violation v = Only(Check(h));
  EXPECT_EQ(v.rule, "delivered-unaudited");
  EXPECT_EQ(v.message_id, "m2");
  EXPECT_EQ(v.recipient, "NL-NP");
  EXPECT_NE(v.what.find("no audit entry allows it (audit: DISCLOSURE acknowledged ALLOW"),
            std::string::npos)
      << v.what;
}

TEST(HistoryChecker, WithoutAnyAuditTrailTheAuditHalfIsSkippedAndSaidSo) {
  const std::vector<Event> h =
      Without(CleanRun().events, [](const Event& e) { return e.type == EventType::kAudit; });
  const CheckResult r = Check(h);
  // m1's MD-IGP is still known refused from its NON_DELIVERY notice.
  EXPECT_TRUE(r.ok()) << Describe(r);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.front().find("no audit entries in the history"), std::string::npos);
}

TEST(HistoryChecker, RedactedContentWhereTheAuditSaysAllowIsReported) {
  History h;
  for (const char* e : {"RO-IGPR", "NL-NP"}) h.Subscribed(e);
  h.Sent("m1", "RO-IGPR", {"NL-NP"});
  h.Accepted("m1", "RO-IGPR");
  h.Audit("m1", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m1", "NL-NP", Content::kRedacted);
  h.Acked("m1", "NL-NP");
  h.Receipt("m1", "RO-IGPR", "NL-NP");
  const Violation v = Only(Check(h.events));
  EXPECT_EQ(v.rule, "content-mismatch");
  EXPECT_NE(v.what.find("delivered redacted"), std::string::npos) << v.what;
}

TEST(HistoryChecker, NewDeliveryAfterAnAcknowledgementTheBrokerTookIsADuplicate) {
  History h = CleanRun();
  h.Wait(absl::Seconds(1));
  h.Delivered("m1", "NL-NP");  // the receipt says the broker took the ack before
  const CheckResult r = Check(h.events);
  const Violation v = Only(r);
  EXPECT_EQ(v.rule, "duplicate-delivery");
  EXPECT_EQ(v.message_id, "m1");
  EXPECT_EQ(v.recipient, "NL-NP");
  EXPECT_NE(v.what.find("delivered again at"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("after the recipient acknowledged it at"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("and the broker took that acknowledgement at"), std::string::npos);
  EXPECT_EQ(r.summary.duplicates, 1);
}

TEST(HistoryChecker, RedeliveryAfterAnAcknowledgementTheBrokerNeverTookIsCounted) {
  // NL-NP acknowledges, its stream breaks before the broker reads the ack,
  // the item comes again on the next stream and is acknowledged again; the
  // broker takes that second acknowledgement.
  History h;
  for (const char* e : {"RO-IGPR", "NL-NP"}) h.Subscribed(e);
  h.Sent("m1", "RO-IGPR", {"NL-NP"});
  h.Accepted("m1", "RO-IGPR");
  h.Audit("m1", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Delivered("m1", "NL-NP");
  h.Acked("m1", "NL-NP");
  h.Subscribed("NL-NP");
  h.Delivered("m1", "NL-NP");
  h.Acked("m1", "NL-NP");
  h.Receipt("m1", "RO-IGPR", "NL-NP");
  const CheckResult r = Check(h.events);
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.summary.redelivered, 1);
  EXPECT_EQ(r.summary.duplicates, 0);
}

TEST(HistoryChecker, ClockSkewToleranceForgivesADeliveryRacingTheAcknowledgement) {
  History h = CleanRun();
  h.Delivered("m1", "NL-NP");  // under a second after the broker took m1's ack
  CheckOptions options;
  EXPECT_FALSE(Check(h.events, options).ok());
  options.clock_skew = absl::Seconds(5);
  EXPECT_TRUE(Check(h.events, options).ok());
}

TEST(HistoryChecker, ReceiptWithoutAnAcknowledgementIsReported) {
  const std::vector<Event> h = Without(CleanRun().events, [](const Event& e) {
    return e.type == EventType::kAcknowledged && e.message_id == "m2";
  });
  const Violation v = Only(Check(h));
  EXPECT_EQ(v.rule, "receipt-without-ack");
  EXPECT_EQ(v.message_id, "m2");
  EXPECT_EQ(v.recipient, "NL-NP");
  EXPECT_NE(v.what.find("receipt received by DE-BKA at"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("but NL-NP never acknowledged the message"), std::string::npos);
}

TEST(HistoryChecker, AcknowledgementWithoutReceiptIsPendingWithinTheGraceThenAViolation) {
  History h = CleanRun();
  CheckResult r = Check(h.events);
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.summary.pending_receipts, 1);  // m6, acknowledged at the end

  h.Wait(absl::Seconds(31));
  h.Subscribed("GB-NCA");  // the run goes on past the grace
  r = Check(h.events);
  const Violation v = Only(r);
  EXPECT_EQ(v.rule, "ack-without-receipt");
  EXPECT_EQ(v.message_id, "m6");
  EXPECT_EQ(v.recipient, "NL-NP");
  EXPECT_NE(v.what.find("the sender RO-IGPR got no receipt by the end of the history"),
            std::string::npos)
      << v.what;
  EXPECT_NE(v.what.find("grace 30s"), std::string::npos) << v.what;
  EXPECT_EQ(r.summary.pending_receipts, 0);
}

TEST(HistoryChecker, ExpiredAndGapNoticesAccountForAMessageNeverDelivered) {
  History h;
  for (const char* e : {"RO-IGPR", "NL-NP", "FR-OCRTEH"}) h.Subscribed(e);
  h.Sent("m1", "RO-IGPR", {"NL-NP", "FR-OCRTEH"});
  h.Accepted("m1", "RO-IGPR");
  h.Audit("m1", "RO-IGPR", "NL-NP", "DISCLOSURE", "decided", "ALLOW");
  h.Audit("m1", "RO-IGPR", "FR-OCRTEH", "DISCLOSURE", "decided", "ALLOW");
  h.Audit("m1", "RO-IGPR", "NL-NP", "ERASURE", "expired-before-delivery", "REJECT");
  h.Notice("RO-IGPR", "EXPIRED", "m1", "NL-NP");
  h.Notice("FR-OCRTEH", "GAP", "m1", "FR-OCRTEH");
  const CheckResult r = Check(h.events);
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.summary.expired_with_notice, 1);
  EXPECT_EQ(r.summary.lost_with_notice, 1);
}

TEST(HistoryChecker, RecipientsThatRecordedNothingAreUnobservedNotLost) {
  History h;
  h.Subscribed("RO-IGPR");
  h.Sent("m1", "RO-IGPR", {"NL-NP"});
  h.Accepted("m1", "RO-IGPR");
  const CheckResult r = Check(h.events);
  EXPECT_TRUE(r.ok()) << Describe(r);
  EXPECT_EQ(r.summary.unobserved, 1);
}

}  // namespace
}  // namespace liaison::history
