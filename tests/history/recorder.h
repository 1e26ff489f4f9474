// Records a run's history (history.h) into a file: what an endpoint's test
// code or a bench sent, what the broker answered, what each recipient
// received and acknowledged, and the broker's audit trail.
//
//   auto recorder = Recorder::Open("/tmp/run.history");   // appends
//   (*recorder)->Sent("RO-IGPR", message);
//   (*recorder)->SendOutcome("RO-IGPR", message, client->Send(envelope));
//   (*recorder)->Received("DE-BKA", received);            // a Subscription item
//   (*recorder)->Acknowledged("DE-BKA", received);        // after Ack() returned OK
//   RecordAuditTrail(kafka, "liaison.audit", **recorder); // at the end of the run
//
// Thread-safe: every method may be called from any thread; each event is one
// line written and flushed under a lock, so lines never interleave and a
// crash loses at most the line being written.
#ifndef LIAISON_TESTS_HISTORY_RECORDER_H_
#define LIAISON_TESTS_HISTORY_RECORDER_H_

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "connectors/endpoint/client.h"
#include "connectors/kafka/client_config.h"
#include "liaison/v1/broker_state.pb.h"
#include "liaison/v1/exchange.pb.h"
#include "liaison/v1/message.pb.h"
#include "tests/history/history.h"

namespace liaison::history {

class Recorder {
 public:
  // Opens `path` for appending (created when missing). NotFound naming the
  // path when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<Recorder>> Open(const std::string& path);

  // Appends `event` as one line (`at` = now when unset) and flushes.
  void Record(Event event) ABSL_LOCKS_EXCLUDED(mu_);
  // OK, or the first write error (the events after it are lost too).
  absl::Status status() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& path() const { return path_; }

  // `endpoint` opened a Subscribe stream: it records what it receives, so
  // the checker expects its deliveries (and, for a sender, its notices and
  // receipts).
  void Subscribed(const std::string& endpoint);
  // `by` sent `message` (its header: id, sender, recipients).
  void Sent(const std::string& by, const liaison::v1::Message& message);
  // The broker's answer to a unary Send: accepted (duplicate or not) or
  // rejected with the status code.
  void SendOutcome(const std::string& by, const liaison::v1::Message& message,
                   const absl::StatusOr<liaison::v1::SendResult>& result);
  // The same for one result of a SendStream (code 0 = accepted; a refused
  // envelope whose id could not be read is recorded as "unreadable#SEQ").
  void StreamResult(const std::string& by, const std::string& sender,
                    const liaison::v1::SendResult& result);
  // A received item: a delivery (delivered), a receipt (receipt) or a notice
  // (notice; one event per message id it concerns). Items that failed
  // verification, and broker-authored deliveries (linkage replies: nobody
  // sent them), are not recorded; returns whether something was.
  bool Received(const std::string& by, const endpoint::Subscription::Received& received);
  // `by` acknowledged a delivery (call after Subscription::Ack returned OK);
  // receipts and notices acknowledged are not recorded.
  void Acknowledged(const std::string& by, const endpoint::Subscription::Received& received);

 private:
  Recorder(std::string path, std::ofstream out) : path_(std::move(path)), out_(std::move(out)) {}

  const std::string path_;
  mutable absl::Mutex mu_;
  std::ofstream out_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

// One audit entry as a history event (by "audit", at = the entry's ts).
Event AuditEvent(const liaison::v1::AuditEntry& entry);

// Reads every entry of the audit topic (audit::AllEntries: the auditor's
// reading of liaison.audit) and records each one. Errors when the topic
// cannot be read.
absl::Status RecordAuditTrail(const kafka::ClientConfig& kafka, const std::string& topic,
                              Recorder& recorder, absl::Duration timeout = absl::Seconds(60));

}  // namespace liaison::history

#endif  // LIAISON_TESTS_HISTORY_RECORDER_H_
