#include "connectors/cli/audit_commands.h"

#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/proto_time.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/cli/context.h"
#include "connectors/cli/exit_codes.h"
#include "nlohmann/json.hpp"

namespace liaison::cli {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return ExitCodeFor(status);
}

absl::StatusOr<kafka::ClientConfig> KafkaConfig(const AuditArgs& args) {
  kafka::ClientConfig config;
  config.client_id = "liaison-audit-cli";
  config.bootstrap_servers = args.bootstrap;
  if (config.bootstrap_servers.empty()) {
    const std::string path = args.state_dir + "/broker.json";
    std::ifstream in(path);
    nlohmann::json info = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!in || info.is_discarded() || !info.contains("kafka_bootstrap")) {
      return absl::NotFoundError(
          absl::StrCat(path, ": no kafka_bootstrap (start the broker, or pass --kafka-bootstrap)"));
    }
    config.bootstrap_servers = info["kafka_bootstrap"].get<std::string>();
    if (info.value("embedded_kafka", false)) config.fetch_wait_max_ms = 5;
    // A broker on a cluster of deploy/kafka/cluster.sh names the auditor's
    // mutual-TLS properties (principal liaison-auditor: reads the audit trail).
    if (info.contains("kafka_auditor_config")) {
      const std::string props = info["kafka_auditor_config"].get<std::string>();
      std::ifstream file(props);
      if (!file) return absl::NotFoundError(absl::StrCat(props, ": cannot be read (named in ", path, ")"));
      std::string line;
      while (std::getline(file, line)) {
        const size_t eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
        config.properties[line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
  }
  for (const std::string& kv : args.properties) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--kafka-property '", kv, "': expected key=value"));
    }
    config.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return config;
}

// <prefix>.audit: --topic-prefix, else the running broker's (broker.json),
// else the default "liaison".
std::string AuditTopic(const AuditArgs& args) {
  std::string prefix = args.topic_prefix;
  if (prefix.empty() && args.bootstrap.empty()) {
    std::ifstream in(args.state_dir + "/broker.json");
    nlohmann::json info = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (in && !info.is_discarded() && info.contains("topic_prefix")) {
      prefix = info["topic_prefix"].get<std::string>();
    }
  }
  return (prefix.empty() ? std::string("liaison") : prefix) + ".audit";
}

int RunVerify(const AuditArgs& args) {
  absl::StatusOr<kafka::ClientConfig> config = KafkaConfig(args);
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<audit::Verification> v = audit::VerifyTopic(
      *config, AuditTopic(args), absl::Seconds(args.timeout_seconds));
  if (!v.ok()) return Fail(v.status());
  if (args.json) {
    nlohmann::ordered_json out;
    out["ok"] = v->ok;
    out["entries"] = v->entries;
    out["chains"] = v->chains;
    out["duplicates"] = v->duplicates;
    out["first_break"] = v->first_break;
    out["notes"] = v->notes;
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << (v->ok ? "audit chain intact" : "AUDIT CHAIN BROKEN") << ": " << v->entries
              << " entries in " << v->chains << " chains";
    if (v->duplicates > 0) std::cout << " (" << v->duplicates << " retried writes)";
    std::cout << "\n";
    if (!v->ok) std::cout << "first broken link: " << v->first_break << "\n";
    for (const std::string& n : v->notes) std::cout << "note: " << n << "\n";
  }
  return v->ok ? kExitOk : kExitVerifyFailed;
}

int RunList(const AuditArgs& args) {
  absl::StatusOr<kafka::ClientConfig> config = KafkaConfig(args);
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<std::vector<liaison::v1::AuditEntry>> entries =
      audit::EntriesFor(*config, AuditTopic(args), args.message_id,
                        absl::Seconds(args.timeout_seconds));
  if (!entries.ok()) return Fail(entries.status());
  if (entries->empty()) {
    std::cerr << "no audit entries for message " << args.message_id << "\n";
    return kExitNothingFound;
  }
  for (const liaison::v1::AuditEntry& e : *entries) {
    if (args.json) {
      std::cout << ToJson(e).dump() << std::endl;
      continue;
    }
    std::cout << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(e.ts()), absl::UTCTimeZone())
              << "  chain " << e.chain() << " #" << e.seq() << "  " << e.event() << "  "
              << liaison::v1::AuditOperation_Name(e.operation()).substr(16) << "  " << e.sender()
              << " -> " << e.recipient() << "  "
              << liaison::v1::Outcome_Name(e.decision()).substr(8);
    if (e.rule_ids_size() > 0) {
      std::cout << "  rules:";
      for (const std::string& r : e.rule_ids()) std::cout << " " << r;
    }
    if (e.redacted_paths_size() > 0) std::cout << "  redacted: " << e.redacted_paths_size() << " paths";
    std::cout << "\n";
  }
  return 0;
}

void AddKafkaFlags(CLI::App* cmd, AuditArgs& args) {
  cmd->add_option("--state-dir", args.state_dir, "Broker state folder (reads broker.json)")
      ->capture_default_str();
  cmd->add_option("--kafka-bootstrap", args.bootstrap,
                  "Kafka bootstrap servers (default: from broker.json)");
  cmd->add_option("--kafka-property", args.properties,
                  "librdkafka property key=value (repeatable; TLS/SASL of the auditor)");
  cmd->add_option("--topic-prefix", args.topic_prefix,
                  "Topic prefix (default: the running broker's, from broker.json; else liaison)");
  cmd->add_option("--timeout", args.timeout_seconds, "Seconds to read the topic")
      ->capture_default_str();
  cmd->add_flag("--json", args.json, "JSON output");
}

}  // namespace

void AddAuditCommands(CLI::App& app, AuditArgs& args, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Audit trail (LED art 25): verify, list");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check every hash chain of the audit topic; report the first broken link");
  AddKafkaFlags(verify, args);
  verify->callback([&] { exit_code = RunVerify(args); });
  CLI::App* list = audit->add_subcommand("list", "List the audit entries of one message id");
  AddKafkaFlags(list, args);
  list->add_option("message_id", args.message_id, "Message id (UUIDv7)")->required();
  list->callback([&] { exit_code = RunList(args); });
}

}  // namespace liaison::cli
