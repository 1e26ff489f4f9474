// Checks a run's history (history.h) offline against the exchange's promises
// (the rules, precisely, are in tests/README.md "History checker"):
//
//  1. accepted => delivered to each recipient the policy allowed, or the
//     sender told with a LOST / EXPIRED notice; a recipient the policy
//     refused gets nothing and the sender a NON_DELIVERY notice;
//  2. no delivery without an accepted send and an audit entry allowing it
//     for (message, recipient);
//  3. no duplicate delivery to the application: after the broker took an
//     acknowledgement of (message, recipient), that pair is never delivered
//     again (a redelivery before it is allowed and counted);
//  4. receipts match acknowledgements: each receipt has an acknowledgement,
//     each acknowledgement a receipt (pending when the run ended first).
//
// Pure: no clock, no I/O; the history is data.
#ifndef LIAISON_TESTS_HISTORY_CHECKER_H_
#define LIAISON_TESTS_HISTORY_CHECKER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/history/history.h"

namespace liaison::history {

struct CheckOptions {
  // An acknowledgement without a receipt is pending (not a violation) when
  // it was recorded less than this before the history's last event.
  absl::Duration receipt_grace = absl::Seconds(30);
  // Tolerance between the broker's clock (receipts' acknowledged_at, audit
  // ts) and the recipient's when ordering a redelivery after an
  // acknowledgement the broker took.
  absl::Duration clock_skew = absl::ZeroDuration();
};

struct Violation {
  // A stable short name of the broken invariant, e.g. "never-delivered".
  std::string rule;
  std::string message_id;
  std::string recipient;  // may be empty
  // What is wrong, with times, item ids and the file:line of the events.
  std::string what;
  // "rule: message M recipient R: what"
  std::string ToString() const;
};

struct Summary {
  int64_t sent = 0;      // distinct message ids sent
  int64_t accepted = 0;  // distinct message ids accepted
  int64_t rejected = 0;  // distinct ids never accepted, rejected at least once
  std::map<std::string, int64_t> rejected_by_code;  // rejection events by code
  int64_t pairs = 0;                                // (accepted message, recipient) pairs
  int64_t delivered = 0;                            // pairs delivered at least once
  int64_t deliveries = 0;                           // delivered events
  int64_t redelivered = 0;          // deliveries again before an acknowledgement the broker took
  int64_t duplicates = 0;           // deliveries again after it (violations)
  int64_t acknowledged = 0;         // pairs acknowledged
  int64_t refused_with_notice = 0;  // pairs refused by the policy, sender told
  int64_t lost_with_notice = 0;     // pairs not delivered, sender told LOST
  int64_t expired_with_notice = 0;  // pairs not delivered, sender told EXPIRED
  int64_t held = 0;                 // pairs held or delayed at the end of the run
  int64_t unobserved = 0;           // pairs whose recipient recorded nothing
  int64_t receipts = 0;             // pairs with a receipt
  int64_t pending_receipts = 0;     // acknowledged pairs without one, within the grace
  int64_t audit_entries = 0;
  int64_t violations = 0;
};

struct CheckResult {
  std::vector<Violation> violations;
  Summary summary;
  // Remarks that are no violation (e.g. "no audit entries: rule 2's audit
  // half not checked").
  std::vector<std::string> notes;
  bool ok() const { return violations.empty(); }
};

CheckResult Check(const std::vector<Event>& history, const CheckOptions& options = {});

// The summary as printed by liaison-history-check (one "name: value" a line).
std::string FormatSummary(const Summary& summary);

}  // namespace liaison::history

#endif  // LIAISON_TESTS_HISTORY_CHECKER_H_
