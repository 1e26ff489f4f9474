// liaison-history-check: verifies recorded histories offline (checker.h) and
// dumps a broker's audit trail into a history. tests/README.md describes the
// format and the rules.
//
//   liaison-history-check run.history audit.history
//   liaison-history-check --dump-audit audit.history --kafka-bootstrap 127.0.0.1:9092
//
// Exit: 0 no violation; 1 violations (each printed); 2 usage; 65 a history
// line is malformed (file:line and field named); 66 a file cannot be read;
// 75 the audit topic cannot be read.
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "tests/history/checker.h"
#include "tests/history/history.h"
#include "tests/history/recorder.h"

namespace {

int DumpAudit(const std::string& out, const std::string& bootstrap, const std::string& topic,
              const std::vector<std::string>& properties, int timeout_seconds) {
  liaison::kafka::ClientConfig config;
  config.client_id = "liaison-history-check";
  config.bootstrap_servers = bootstrap;
  for (const std::string& kv : properties) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: --kafka-property '" << kv << "': expected key=value\n";
      return 2;
    }
    config.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  absl::StatusOr<std::unique_ptr<liaison::history::Recorder>> recorder =
      liaison::history::Recorder::Open(out);
  if (!recorder.ok()) {
    std::cerr << "error: " << recorder.status().message() << "\n";
    return 66;
  }
  absl::Status s =
      liaison::history::RecordAuditTrail(config, topic, **recorder, absl::Seconds(timeout_seconds));
  if (!s.ok()) {
    std::cerr << "error: " << topic << ": " << s << "\n";
    return 75;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Checks recorded histories of a Liaison run: every accepted message delivered once to "
      "each allowed recipient or its sender told why not, no delivery without an accepted send "
      "and an audit entry, no duplicate after an acknowledgement, receipts matching "
      "acknowledgements (tests/README.md, \"History checker\")"};
  std::vector<std::string> files;
  double grace_seconds = 30;
  int skew_ms = 0;
  std::string dump_audit;
  std::string bootstrap;
  std::string topic = "liaison.audit";
  std::vector<std::string> properties;
  int timeout_seconds = 60;
  app.add_option("HISTORY", files, "History files (JSON lines), read together");
  app.add_option("--receipt-grace", grace_seconds,
                 "Seconds before the history's last event within which an acknowledgement "
                 "without a receipt is pending, not a violation")
      ->capture_default_str();
  app.add_option("--clock-skew-ms", skew_ms,
                 "Tolerance between the broker's and the recipients' clocks when ordering a "
                 "redelivery after an acknowledgement")
      ->capture_default_str();
  app.add_option("--dump-audit", dump_audit,
                 "Append the audit topic's entries to this history file and exit (no check)");
  app.add_option("--kafka-bootstrap", bootstrap, "Kafka bootstrap servers (with --dump-audit)");
  app.add_option("--topic", topic, "Audit topic (with --dump-audit)")->capture_default_str();
  app.add_option("--kafka-property", properties,
                 "librdkafka property key=value (repeatable; the auditor's TLS)");
  app.add_option("--timeout", timeout_seconds, "Seconds to read the audit topic")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!dump_audit.empty()) {
    if (bootstrap.empty()) {
      std::cerr << "error: --dump-audit needs --kafka-bootstrap\n";
      return 2;
    }
    return DumpAudit(dump_audit, bootstrap, topic, properties, timeout_seconds);
  }
  if (files.empty()) {
    std::cerr << "error: no HISTORY file given (see --help)\n";
    return 2;
  }
  absl::StatusOr<std::vector<liaison::history::Event>> history =
      liaison::history::ReadHistory(files);
  if (!history.ok()) {
    std::cerr << "error: " << history.status().message() << "\n";
    return history.status().code() == absl::StatusCode::kNotFound ? 66 : 65;
  }
  liaison::history::CheckOptions options;
  options.receipt_grace = absl::Seconds(grace_seconds);
  options.clock_skew = absl::Milliseconds(skew_ms);
  const liaison::history::CheckResult result = liaison::history::Check(*history, options);
  for (const liaison::history::Violation& v : result.violations) {
    std::cout << "VIOLATION " << v.ToString() << "\n";
  }
  for (const std::string& note : result.notes) std::cout << "note: " << note << "\n";
  std::cout << liaison::history::FormatSummary(result.summary);
  std::cout << (result.ok() ? "history clean" : "HISTORY VIOLATED") << ": " << history->size()
            << " events, " << result.violations.size() << " violations\n";
  return result.ok() ? 0 : 1;
}
