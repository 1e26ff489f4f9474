// `liaison audit verify | list | export`: for auditors and DPOs. Reads the
// audit topic directly from Kafka (the auditor's Kafka principal is the one
// allowed to), or (`--from`) a copy `liaison audit export` saved.
#ifndef LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "certs/trust_store.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::cli {

struct AuditArgs {
  std::string state_dir = "var/dev";
  std::string bootstrap;                // default: kafka_bootstrap from broker.json
  std::vector<std::string> properties;  // librdkafka key=value (TLS, SASL)
  std::string topic_prefix;             // default: topic_prefix from broker.json, else liaison
  std::string message_id;               // for `list`
  // `verify`: the PKI folder whose ca.pem and crl.pem the checkpoints'
  // broker certificates are checked against (default: pki_dir of broker.json).
  std::string pki_dir;
  // `verify`: entries older than this and covered by no signed checkpoint
  // fail the check (0: only reported).
  double uncovered_grace_seconds = 300;
  // `verify`: a file of checkpoints kept outside Kafka: checked if present,
  // rewritten with the newest verified checkpoints after a successful check.
  std::string pin_file;
  // `verify`, `evidence custody`: read this export file instead of Kafka.
  std::string from_file;
  // `export`: where to write (- for standard output).
  std::string export_path;
  bool json = false;
  double timeout_seconds = 60;
};

void AddAuditCommands(CLI::App& app, AuditArgs& args, int& exit_code);

// For other commands reading the audit trail as the auditor (`liaison
// evidence custody`):
// The Kafka client of the auditor: --kafka-bootstrap and --kafka-property,
// else the running broker's broker.json (its auditor TLS properties).
absl::StatusOr<kafka::ClientConfig> AuditKafkaConfig(const AuditArgs& args);
// <prefix>.audit (--topic-prefix, else broker.json's, else liaison).
std::string AuditTopicName(const AuditArgs& args);
// The network's trust store: --pki, else broker.json's pki_dir.
absl::StatusOr<std::shared_ptr<const certs::TrustStore>> AuditTrustStore(const AuditArgs& args);
// The records of the audit topic: from --from FILE, else from Kafka.
absl::StatusOr<std::vector<kafka::Record>> ReadAuditRecords(const AuditArgs& args);
// The checkpoints of --pin FILE (none when it does not exist yet).
absl::StatusOr<std::vector<liaison::v1::SignedAuditCheckpoint>> ReadPinnedCheckpoints(
    const std::string& path);
// --state-dir, --kafka-bootstrap, --kafka-property, --topic-prefix, --timeout, --json.
void AddAuditKafkaFlags(CLI::App* cmd, AuditArgs& args);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_
