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
  std::string bootstrap;                 // default: kafka_bootstrap from broker.json
  std::vector<std::string> properties;   // librdkafka key=value (TLS, SASL)
  std::string topic_prefix;               // default: topic_prefix from broker.json, else liaison
  std::string message_id;                // for `list`
  bool json = false;
  double timeout_seconds = 60;
};

void AddAuditCommands(CLI::App& app, AuditArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_AUDIT_COMMANDS_H_
