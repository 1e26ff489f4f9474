// A run's history (the Jepsen idea): every event an endpoint or the broker's
// audit trail saw, one JSON object per line, so that checker.h can verify
// offline that nothing accepted was lost or delivered twice. The format is
// described in tests/README.md ("History checker").
//
// Thread-compatible values; ReadHistory / ParseEvent are pure.
#ifndef LIAISON_TESTS_HISTORY_HISTORY_H_
#define LIAISON_TESTS_HISTORY_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liaison::history {

enum class EventType {
  kSubscribed,    // `by` opened a Subscribe stream (it records what it receives)
  kSent,          // `sender` sent `message_id` to `recipients`
  kAccepted,      // the broker answered "accepted" (durable in Kafka)
  kRejected,      // the broker (or the transport) answered `code`: nothing accepted
  kDelivered,     // `recipient` received a verified delivery of `message_id`
  kAcknowledged,  // `recipient` acknowledged that delivery (item_id)
  kReceipt,       // the sender received a verified signed receipt: `recipient` acknowledged
  kNotice,        // `by` received a verified signed notice (`notice_kind`) about message_id
  kAudit,         // one entry of the broker's audit trail (liaison.audit)
};

// "sent", "accepted", ... as in the file; ParseEventType is its inverse.
const char* EventTypeName(EventType type);
absl::StatusOr<EventType> ParseEventType(const std::string& name);

// What a delivery carried: the sender's own signed bytes, or a copy the
// broker derived (redacted).
enum class Content { kOriginal, kRedacted };

struct Event {
  EventType type = EventType::kSent;
  absl::Time at;           // when it was recorded (audit: the entry's ts)
  std::string by;          // who recorded it: an endpoint id, or "audit"
  std::string message_id;  // every type except subscribed
  std::string sender;      // sent, accepted, rejected; delivered; receipt (its addressee); audit
  std::string recipient;   // delivered, acknowledged, receipt, notice (may be empty), audit
  std::vector<std::string> recipients;   // sent
  std::string item_id;                   // delivered, acknowledged, receipt, notice
  bool duplicate = false;                // accepted: the broker already had this id
  std::string code;                      // rejected: canonical status code ("UNAVAILABLE")
  std::string error;                     // rejected: the status message
  Content content = Content::kOriginal;  // delivered
  absl::Time acknowledged_at;            // receipt: when the broker took the acknowledgement
  std::string notice_kind;               // notice: "NON_DELIVERY", "LOST", "EXPIRED", "HELD", ...
  // audit: where the entry is, what it records (AuditOperation without its
  // prefix, "DISCLOSURE"), the event ("decided", "acknowledged",
  // "expired-before-delivery", ...), the decision (Outcome without its
  // prefix, "ALLOW"), the rules and the broker node that wrote it.
  int32_t chain = 0;
  uint64_t seq = 0;
  std::string operation;
  std::string audit_event;
  std::string decision;
  std::vector<std::string> rule_ids;
  std::string broker_id;
  // Not in the file: "FILE:LINE" it was read from (for messages).
  std::string source;
};

// One line of JSON (no newline). Empty fields are left out.
std::string ToJsonLine(const Event& event);

// Parses one line. InvalidArgument naming `source` ("FILE:LINE") and the
// field: not JSON, unknown event, a field missing or of the wrong type, a
// time that is not RFC 3339.
absl::StatusOr<Event> ParseEvent(const std::string& line, const std::string& source);

// Reads every file (empty lines skipped), events in file order, the files
// one after another. The first error names the file and line.
absl::StatusOr<std::vector<Event>> ReadHistory(const std::vector<std::string>& paths);

// RFC 3339 UTC with microseconds ("2026-12-05T08:30:00.123456Z").
std::string HistoryTime(absl::Time t);

}  // namespace liaison::history

#endif  // LIAISON_TESTS_HISTORY_HISTORY_H_
