// `liaison audit verify | list`: for auditors and DPOs. Reads the audit topic
// directly from Kafka (the auditor's Kafka principal is the one allowed to).
#ifndef LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"

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
  bool json = false;
  double timeout_seconds = 60;
};

void AddAuditCommands(CLI::App& app, AuditArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_
