#include "connectors/cli/audit_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/file.h"
#include "base/proto_time.h"
#include "certs/signature.h"
#include "certs/trust_store.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/export_file.h"
#include "connectors/cli/context.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/cli/json_input.h"
#include "nlohmann/json.hpp"

namespace liaison::cli {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  return ExitCodeFor(status);
}

}  // namespace

absl::StatusOr<kafka::ClientConfig> AuditKafkaConfig(const AuditArgs& args) {
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
      if (!file)
        return absl::NotFoundError(absl::StrCat(props, ": cannot be read (named in ", path, ")"));
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
std::string AuditTopicName(const AuditArgs& args) {
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

// The trust store the checkpoints' signatures are checked against:
// --pki, else the running broker's PKI folder (broker.json).
absl::StatusOr<std::shared_ptr<const certs::TrustStore>> AuditTrustStore(const AuditArgs& args) {
  std::string dir = args.pki_dir;
  if (dir.empty()) {
    const std::string path = args.state_dir + "/broker.json";
    std::ifstream in(path);
    nlohmann::json info = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!in || info.is_discarded() || !info.contains("pki_dir") || !info["pki_dir"].is_string()) {
      return absl::NotFoundError(absl::StrCat(
          path, ": no pki_dir (pass --pki, the folder holding the network's ca.pem and crl.pem)"));
    }
    dir = info["pki_dir"].get<std::string>();
  }
  return certs::TrustStore::Load(dir + "/ca.pem", dir + "/crl.pem");
}

// The pin file: a JSON array of SignedAuditCheckpoint (proto3 JSON).
absl::StatusOr<std::vector<liaison::v1::SignedAuditCheckpoint>> ReadPinnedCheckpoints(
    const std::string& path) {
  std::vector<liaison::v1::SignedAuditCheckpoint> out;
  if (!std::ifstream(path)) return out;  // first run: nothing pinned yet
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  nlohmann::json list = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (list.is_discarded() || !list.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected a JSON array of signed checkpoints"));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    liaison::v1::SignedAuditCheckpoint c;
    if (absl::Status s = ParseJson(list[i].dump(), absl::StrCat(path, "[", i, "]"), &c); !s.ok()) {
      return s;
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<kafka::Record>> ReadAuditRecords(const AuditArgs& args) {
  if (!args.from_file.empty()) return audit::ReadExport(args.from_file);
  absl::StatusOr<kafka::ClientConfig> config = AuditKafkaConfig(args);
  if (!config.ok()) return config.status();
  return audit::ReadTopic(*config, AuditTopicName(args), absl::Seconds(args.timeout_seconds));
}

namespace {

absl::Status WritePinned(const std::string& path,
                         const std::vector<liaison::v1::SignedAuditCheckpoint>& checkpoints) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& c : checkpoints) list.push_back(ToJson(c));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << list.dump(2) << "\n";
    if (!out) return absl::FailedPreconditionError(absl::StrCat(tmp, ": cannot be written"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot be replaced"));
  }
  return absl::OkStatus();
}

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

int RunVerify(const AuditArgs& args) {
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust = AuditTrustStore(args);
  if (!trust.ok()) return Fail(trust.status());
  const certs::Verifier verifier(*trust);
  audit::VerifyOptions options;
  options.timeout = absl::Seconds(args.timeout_seconds);
  if (args.uncovered_grace_seconds < 0) {
    return Fail(absl::InvalidArgumentError("--uncovered-grace: must be 0 or more seconds"));
  }
  options.uncovered_grace = absl::Seconds(args.uncovered_grace_seconds);
  if (!args.pin_file.empty()) {
    absl::StatusOr<std::vector<liaison::v1::SignedAuditCheckpoint>> pinned =
        ReadPinnedCheckpoints(args.pin_file);
    if (!pinned.ok()) return Fail(pinned.status());
    options.pinned = std::move(*pinned);
  }
  absl::StatusOr<std::vector<kafka::Record>> records = ReadAuditRecords(args);
  if (!records.ok()) return Fail(records.status());
  const audit::Verification verification = audit::VerifyRecords(*records, verifier, options);
  const audit::Verification* v = &verification;
  uint64_t uncovered = 0;
  for (const audit::ChainReport& c : v->chain_reports) uncovered += c.uncovered();
  if (args.json) {
    nlohmann::ordered_json out;
    out["ok"] = v->ok;
    out["entries"] = v->entries;
    out["chains"] = v->chains;
    out["duplicates"] = v->duplicates;
    out["checkpoints"] = v->checkpoints;
    out["uncovered"] = uncovered;
    out["first_break"] = v->first_break;
    out["problems"] = v->problems;
    out["notes"] = v->notes;
    nlohmann::ordered_json chains = nlohmann::ordered_json::array();
    for (const audit::ChainReport& c : v->chain_reports) {
      nlohmann::ordered_json j;
      j["chain"] = c.chain;
      j["entries"] = c.entries;
      j["first_seq"] = c.first_seq;
      j["last_seq"] = c.last_seq;
      j["checkpointed_seq"] = c.checkpointed_seq;
      j["checkpointed_at"] = c.checkpointed_seq > 0 ? Utc(c.checkpointed_at) : "";
      j["checkpoint_signer"] = c.checkpoint_signer;
      j["uncovered"] = c.uncovered();
      chains.push_back(std::move(j));
    }
    out["per_chain"] = std::move(chains);
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << (v->ok ? "audit chain intact" : "AUDIT CHAIN BROKEN") << ": " << v->entries
              << " entries in " << v->chains << " chains";
    if (v->duplicates > 0) std::cout << " (" << v->duplicates << " retried writes)";
    std::cout << "; " << v->checkpoints << " signed checkpoints, " << uncovered
              << " entries not yet covered by one\n";
    for (const audit::ChainReport& c : v->chain_reports) {
      std::cout << "  chain " << c.chain << ": seq " << c.first_seq << ".." << c.last_seq;
      if (c.checkpointed_seq == 0) {
        std::cout << ", no signed checkpoint";
      } else {
        std::cout << ", signed checkpoint up to seq " << c.checkpointed_seq << " ("
                  << c.checkpoint_signer << ", " << Utc(c.checkpointed_at) << ")";
      }
      if (c.uncovered() > 0) std::cout << ", " << c.uncovered() << " uncovered";
      std::cout << "\n";
    }
    if (!v->ok) std::cout << "first broken link: " << v->first_break << "\n";
    for (size_t i = 1; i < v->problems.size(); ++i) {
      std::cout << "also: " << v->problems[i] << "\n";
    }
    for (const std::string& n : v->notes) std::cout << "note: " << n << "\n";
  }
  if (v->ok && !args.pin_file.empty()) {
    if (absl::Status s = WritePinned(args.pin_file, v->latest_checkpoints); !s.ok()) return Fail(s);
  }
  return v->ok ? kExitOk : kExitVerifyFailed;
}

int RunList(const AuditArgs& args) {
  absl::StatusOr<kafka::ClientConfig> config = AuditKafkaConfig(args);
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<std::vector<liaison::v1::AuditEntry>> entries = audit::EntriesFor(
      *config, AuditTopicName(args), args.message_id, absl::Seconds(args.timeout_seconds));
  if (!entries.ok()) return Fail(entries.status());
  if (entries->empty()) {
    std::cerr << "no audit entries for a message id starting with " << args.message_id << "\n";
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
    if (e.redacted_paths_size() > 0)
      std::cout << "  redacted: " << e.redacted_paths_size() << " paths";
    if (e.linkage_epoch() > 0) {
      std::cout << "  linkage: epoch " << e.linkage_epoch() << ", " << e.linkage_entries()
                << " entries";
    } else if (e.operation() == liaison::v1::AUDIT_OPERATION_COMBINATION) {
      // A linkage match: what matched, and the owner case as a hash only.
      std::cout << "  matched: " << e.linkage_entries() << " identifier(s) (";
      for (int i = 0; i < e.linkage_types_size(); ++i) {
        std::cout << (i > 0 ? ", " : "")
                  << liaison::v1::IdentifierType_Name(e.linkage_types(i)).substr(16);
      }
      std::cout << ")  owner case " << e.owner_ref_hash();
    } else if (e.kind() == liaison::v1::KIND_LINKAGE_QUERY && e.linkage_entries() > 0) {
      std::cout << "  searched: " << e.linkage_entries() << " identifier(s)";
    }
    std::cout << "\n";
  }
  return 0;
}

int RunExport(const AuditArgs& args) {
  absl::StatusOr<std::vector<kafka::Record>> records = ReadAuditRecords(args);
  if (!records.ok()) return Fail(records.status());
  const std::string topic = AuditTopicName(args);
  if (args.export_path == "-") {
    if (absl::Status s = audit::WriteExport(topic, *records, std::cout); !s.ok()) return Fail(s);
    return kExitOk;
  }
  const std::string tmp = args.export_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    if (!out) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(tmp, ": cannot be written")));
    }
    if (absl::Status s = audit::WriteExport(topic, *records, out); !s.ok()) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(tmp, ": ", s.message())));
    }
  }
  if (std::rename(tmp.c_str(), args.export_path.c_str()) != 0) {
    return Fail(
        absl::FailedPreconditionError(absl::StrCat(args.export_path, ": cannot be replaced")));
  }
  std::cerr << "exported " << records->size() << " records of " << topic << " to "
            << args.export_path << "\n";
  return kExitOk;
}

}  // namespace

void AddAuditKafkaFlags(CLI::App* cmd, AuditArgs& args) {
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

void AddAuditCommands(CLI::App& app, AuditArgs& args, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Audit trail (LED art 25): verify, list, export");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Check every hash chain of the audit topic and the brokers' signed checkpoints; say how "
      "far each chain is covered by one; report the first broken link");
  AddAuditKafkaFlags(verify, args);
  verify->add_option("--from", args.from_file,
                     "Check this file of `liaison audit export` instead of reading Kafka");
  verify->add_option("--pki", args.pki_dir,
                     "Folder with the network's ca.pem and crl.pem, to check the checkpoints' "
                     "broker certificates (default: the running broker's, from broker.json)");
  verify
      ->add_option("--uncovered-grace", args.uncovered_grace_seconds,
                   "Seconds after which entries covered by no signed checkpoint fail the "
                   "check (0: only report them)")
      ->capture_default_str();
  verify->add_option("--pin", args.pin_file,
                     "Checkpoints kept outside Kafka (JSON): checked too if the file exists, "
                     "replaced by the newest verified ones when the check passes");
  verify->callback([&] { exit_code = RunVerify(args); });
  CLI::App* list = audit->add_subcommand("list", "List the audit entries of one message id");
  AddAuditKafkaFlags(list, args);
  list->add_option(
          "message_id", args.message_id,
          "Message id (UUIDv7), or a unique prefix of it (as the CLI prints ids shortened)")
      ->required();
  list->callback([&] { exit_code = RunList(args); });
  CLI::App* exp = audit->add_subcommand(
      "export", "Save every record of the audit topic to FILE, for offline checks (--from)");
  AddAuditKafkaFlags(exp, args);
  exp->add_option("file", args.export_path, "File to write (- for standard output)")->required();
  exp->footer(
      "JSON lines: a header, then each record's partition, offset, timestamp and bytes (base64)\n"
      "exactly as Kafka holds them, so `liaison audit verify --from FILE` and `liaison evidence\n"
      "custody --from FILE` check the copy as they would check the topic.");
  exp->callback([&] { exit_code = RunExport(args); });
}

}  // namespace liaison::cli
