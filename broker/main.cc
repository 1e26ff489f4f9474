// liaison-broker: flags → BrokerConfig → Broker::Start → wait for a signal.
//
// With no Kafka named (--kafka-bootstrap, --kafka-config with
// bootstrap.servers, or --kafka-state-dir) the broker runs on the embedded
// default: an in-process mock Kafka cluster (in memory: for development,
// demos and tests) and a development PKI minted into the state folder on
// first start. With a real Kafka the PKI must exist: none is minted.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "base/log.h"
#include "broker/broker.h"
#include "broker/dev_bootstrap.h"
#include "nlohmann/json.hpp"

namespace {

std::atomic<int> last_signal{0};

void OnSignal(int signal) { last_signal = signal; }

std::string Absolute(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// Reads a librdkafka properties file (`key=value` lines; blank lines and
// lines starting with # or ! are ignored), as deploy/kafka/cluster.sh writes
// them in <state>/clients/<CN>.librdkafka.properties.
bool ReadKafkaProperties(const std::string& path, std::map<std::string, std::string>& out) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "error: --kafka-config " << path << ": cannot be read\n";
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::StripAsciiWhitespace(&line);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    const size_t eq = line.find('=');
    std::string key = line.substr(0, eq);
    absl::StripAsciiWhitespace(&key);
    if (eq == std::string::npos || key.empty()) {
      std::cerr << "error: " << path << ":" << number << ": expected key=value\n";
      return false;
    }
    std::string value = line.substr(eq + 1);
    absl::StripAsciiWhitespace(&value);
    out[key] = value;
  }
  return true;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  absl::StripAsciiWhitespace(&line);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"liaison-broker: one node of the Liaison exchange"};
  // Wide enough that a flag with its default never runs into its description.
  app.get_formatter()->column_width(34);
  std::string state_dir = "var/dev";
  std::string pki_dir;
  std::string registry = LIAISON_DEFAULT_REGISTRY;
  std::string listen = "127.0.0.1:7443";
  std::string bootstrap;
  std::vector<std::string> kafka_properties;
  std::string kafka_config;
  std::string kafka_state_dir;
  int replication_factor = 0;
  std::string topic_prefix = "liaison";
  size_t max_message_bytes = 4 * 1024 * 1024;
  int produce_timeout_ms = 30000;
  double audit_checkpoint_seconds = 10;
  double state_catch_up_seconds = 600;
  double ack_linger_ms = 20;
  std::string delivery_consumer = "shared";
  unsigned workers = 0;
  bool mint = true;
  bool policy_stage = true;
  std::string pseudonym_key;
  std::string admin_listen = "127.0.0.1:7444";
  std::string http_listen = "127.0.0.1:7480";
  liaison::broker::HttpSecurity http_security = liaison::broker::HttpSecurity::kAuto;
  app.add_option("--state-dir", state_dir,
                 "Folder for the broker's local files (dev PKI, broker.json)")
      ->capture_default_str();
  app.add_option("--pki", pki_dir,
                 "PKI folder (ca.pem, crl.pem, broker/tls.{pem,key}); default <state-dir>/pki");
  app.add_option("--registry", registry, "Registry file (text-format liaison.v1.Registry)")
      ->capture_default_str();
  app.add_option("--listen", listen, "Exchange gRPC address")->capture_default_str();
  app.add_option("--kafka-bootstrap", bootstrap,
                 "Kafka bootstrap servers; empty = embedded mock cluster (in memory)");
  app.add_option("--kafka-property", kafka_properties,
                 "Extra librdkafka property key=value (repeatable), e.g. security.protocol=ssl");
  app.add_option("--kafka-config", kafka_config,
                 "librdkafka properties file (key=value lines: security.protocol, ssl.*, ...; "
                 "bootstrap.servers there is used when --kafka-bootstrap is not given); "
                 "--kafka-property values override it");
  app.add_option("--kafka-state-dir", kafka_state_dir,
                 "Folder of a cluster started by deploy/kafka/cluster.sh: its bootstrap address "
                 "and the mutual-TLS client properties of principal liaison-policy "
                 "(liaison-front with --no-policy-stage)")
      ->excludes("--kafka-config");
  app.add_option("--replication-factor", replication_factor,
                 "Replication factor of the topics the broker creates on a real Kafka; "
                 "0 = the cluster's default.replication.factor (3 on the 3-node cluster of "
                 "deploy/kafka, 1 on one node)")
      ->check(CLI::Range(0, 32))
      ->capture_default_str();
  app.add_option("--topic-prefix", topic_prefix,
                 "First part of every topic and consumer-group name (<prefix>.ingress, "
                 "<prefix>.deliver.<endpoint>, <prefix>.audit, ...); must match PREFIX of "
                 "deploy/kafka/topics.sh and acls.sh")
      ->capture_default_str();
  app.add_option("--max-message-bytes", max_message_bytes,
                 "Largest signed message a sender may send, in bytes (larger: "
                 "RESOURCE_EXHAUSTED); Kafka records may reach twice this plus 1 MiB")
      ->capture_default_str();
  app.add_option("--produce-timeout-ms", produce_timeout_ms,
                 "How long Kafka may take to acknowledge before senders get UNAVAILABLE")
      ->capture_default_str();
  app.add_option("--audit-checkpoint-seconds", audit_checkpoint_seconds,
                 "How often each audit chain that grew gets a signed checkpoint")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--ack-linger-ms", ack_linger_ms,
                 "How long acknowledgements gather before a Subscribe stream writes them as one "
                 "batch (receipts to the senders, the acknowledged-items record)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--delivery-consumer", delivery_consumer,
                 "shared: one Kafka consumer reads for every Subscribe stream of the node "
                 "(group liaison-deliver); per-stream: one consumer per stream (group "
                 "liaison-deliver.<endpoint>). Every node of a network must use the same")
      ->check(CLI::IsMember({"shared", "per-stream"}))
      ->capture_default_str();
  app.add_option("--state-catch-up-seconds", state_catch_up_seconds,
                 "How long the node may take at start to read the state topics to their ends "
                 "(it serves only then; past it, it stops with an error naming the partition "
                 "behind)")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--workers", workers, "Verification/signing threads (0 = one per core)");
  app.add_option("--pseudonym-key", pseudonym_key,
                 "Network-wide secret for pseudonymous victim references (all nodes share it); "
                 "default <state-dir>/pseudonym.key, created only with embedded Kafka");
  app.add_flag("!--no-policy-stage", policy_stage,
               "Run only the front door and delivery (no member of the liaison-policy group)");
  app.add_option("--admin-listen", admin_listen,
                 "Admin gRPC address for operators (mTLS, operator certificates only); "
                 "empty = off")
      ->capture_default_str();
  app.add_option("--http-listen", http_listen,
                 "Dashboard, /metrics and /api/* address; empty = off")
      ->capture_default_str();
  // Words on the command line and in --help, mapped after parsing: the help
  // shows the words only, and numbers are not accepted in their place.
  std::string http_security_word = "auto";
  app.add_option("--http-security", http_security_word,
                 "auto: plain HTTP only with embedded Kafka on loopback, else HTTPS with operator "
                 "client certificates; tls: always HTTPS; plain: refused outside that dev mode")
      ->type_name("auto|tls|plain")
      ->check(CLI::IsMember({"auto", "tls", "plain"}, CLI::ignore_case).description(""))
      ->capture_default_str();
  std::string transactions_word = "auto";
  std::string transactional_id;
  app.add_option("--policy-transactions", transactions_word,
                 "on: the policy stage writes in Kafka transactions (exactly once; real Kafka "
                 "only); auto: on for a real cluster, off on the embedded mock; off: at-least-once "
                 "with deduplication")
      ->type_name("auto|on|off")
      ->check(CLI::IsMember({"auto", "on", "off"}, CLI::ignore_case).description(""))
      ->capture_default_str();
  app.add_option("--transactional-id", transactional_id,
                 "The policy stage's Kafka transactional.id; default <topic-prefix>.policy.<node "
                 "id>. Stable and unique per node (ACL: TransactionalId prefix <topic-prefix>.)");
  liaison::broker::CrlExpiredPolicy crl_expired = liaison::broker::CrlExpiredPolicy::kRefuse;
  std::string crl_expired_word = "refuse";
  app.add_option("--crl-expired", crl_expired_word,
                 "Past the CRL's nextUpdate: refuse (new endpoint connections are refused until "
                 "a current CRL is loaded) or warn (accept, log loudly)")
      ->type_name("refuse|warn")
      ->check(CLI::IsMember({"refuse", "warn"}, CLI::ignore_case).description(""))
      ->capture_default_str();
  app.add_flag("!--no-mint-dev-pki", mint,
               "Do not mint a development PKI when the PKI folder is missing");
  CLI11_PARSE(app, argc, argv);
  http_security = http_security_word == "tls"     ? liaison::broker::HttpSecurity::kTls
                  : http_security_word == "plain" ? liaison::broker::HttpSecurity::kPlain
                                                  : liaison::broker::HttpSecurity::kAuto;
  crl_expired = crl_expired_word == "warn" ? liaison::broker::CrlExpiredPolicy::kWarn
                                           : liaison::broker::CrlExpiredPolicy::kRefuse;

  namespace log = liaison::log;
  std::map<std::string, std::string> file_properties;
  if (!kafka_state_dir.empty()) {
    const std::string dir = Absolute(kafka_state_dir);
    const std::string principal = policy_stage ? "liaison-policy" : "liaison-front";
    kafka_config = dir + "/clients/" + principal + ".librdkafka.properties";
    if (!std::filesystem::exists(dir + "/bootstrap") || !std::filesystem::exists(kafka_config)) {
      std::cerr << "error: --kafka-state-dir " << dir
                << ": no cluster started there (bootstrap and " << kafka_config
                << " are written by deploy/kafka/cluster.sh start --state-dir " << dir << ")\n";
      return 1;
    }
    if (bootstrap.empty()) bootstrap = FirstLine(dir + "/bootstrap");
  }
  if (!kafka_config.empty()) {
    if (!ReadKafkaProperties(kafka_config, file_properties)) return 1;
    if (auto it = file_properties.find("bootstrap.servers"); it != file_properties.end()) {
      if (bootstrap.empty()) bootstrap = it->second;
      file_properties.erase(it);
    }
    if (bootstrap.empty()) {
      std::cerr << "error: --kafka-config " << kafka_config
                << " names no bootstrap.servers and --kafka-bootstrap is not given\n";
      return 1;
    }
  }
  std::filesystem::create_directories(state_dir);
  if (pki_dir.empty()) pki_dir = state_dir + "/pki";
  pki_dir = Absolute(pki_dir);
  if (!std::filesystem::exists(pki_dir + "/ca.pem")) {
    if (!bootstrap.empty()) {
      // Minting a fresh CA next to a Kafka this broker did not start would
      // give it an identity nobody there trusts, or worse, a second network.
      std::cerr << "error: " << pki_dir << "/ca.pem not found; with a real Kafka (" << bootstrap
                << ") the broker never mints a development PKI: give --pki the network's PKI "
                   "folder (ca.pem, crl.pem, broker/tls.{pem,key})\n";
      return 1;
    }
    if (!mint) {
      std::cerr << "error: " << pki_dir << "/ca.pem not found (and --no-mint-dev-pki given)\n";
      return 1;
    }
    log::Info("broker.minting_dev_pki", {{"dir", pki_dir}});
    if (absl::Status minted = liaison::broker::MintDevPki(LIAISON_MINT_SCRIPT, pki_dir);
        !minted.ok()) {
      std::cerr << "error: " << minted.message() << "\n";
      return 1;
    }
  }

  liaison::broker::BrokerConfig config;
  config.listen_address = listen;
  config.ca_path = pki_dir + "/ca.pem";
  config.crl_path = pki_dir + "/crl.pem";
  config.crl_expired = crl_expired;
  config.cert_path = pki_dir + "/broker/tls.pem";
  config.key_path = pki_dir + "/broker/tls.key";
  config.registry_path = registry;
  config.pseudonym_key_path = pseudonym_key.empty() ? state_dir + "/pseudonym.key" : pseudonym_key;
  config.create_pseudonym_key = bootstrap.empty();
  config.kafka.bootstrap_servers = bootstrap;
  config.kafka.properties = file_properties;
  if (!bootstrap.empty()) config.replication_factor = replication_factor;
  for (const std::string& kv : kafka_properties) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first.empty() || kv.find('=') == std::string::npos) {
      std::cerr << "error: --kafka-property '" << kv << "': expected key=value\n";
      return 1;
    }
    config.kafka.properties[p.first] = p.second;
  }
  config.topic_prefix = topic_prefix;
  config.max_message_bytes = max_message_bytes;
  config.produce_timeout_ms = produce_timeout_ms;
  config.audit_checkpoint_interval = absl::Seconds(audit_checkpoint_seconds);
  config.state_catch_up_timeout = absl::Seconds(state_catch_up_seconds);
  config.ack_linger = absl::Milliseconds(ack_linger_ms);
  config.shared_delivery = delivery_consumer == "shared";
  config.worker_threads = workers;
  config.run_policy_stage = policy_stage;
  {
    const std::string w = absl::AsciiStrToLower(transactions_word);
    config.policy_transactions = w == "on"    ? liaison::broker::PolicyTransactions::kOn
                                 : w == "off" ? liaison::broker::PolicyTransactions::kOff
                                              : liaison::broker::PolicyTransactions::kAuto;
  }
  config.transactional_id = transactional_id;
  config.admin_listen_address = admin_listen;
  config.http_listen_address = http_listen;
  config.http_security = http_security;

  absl::StatusOr<std::unique_ptr<liaison::broker::Broker>> broker =
      liaison::broker::Broker::Start(config);
  if (!broker.ok()) {
    std::cerr << "error: " << broker.status().message() << "\n";
    return 1;
  }
  const std::string target = "127.0.0.1:" + std::to_string((*broker)->port());
  {
    // Tells the CLI where this broker is (`liaison --state-dir ...`).
    nlohmann::ordered_json info;
    info["target"] = target;
    info["pki_dir"] = pki_dir;
    info["node_id"] = (*broker)->node_id();
    info["kafka_bootstrap"] = (*broker)->bootstrap_servers();
    info["embedded_kafka"] = (*broker)->embedded_cluster() != nullptr;
    info["topic_prefix"] = topic_prefix;
    // `liaison audit verify` reads the audit trail as principal liaison-auditor.
    if (!kafka_state_dir.empty()) {
      info["kafka_auditor_config"] =
          Absolute(kafka_state_dir) + "/clients/liaison-auditor.librdkafka.properties";
    }
    info["pid"] = static_cast<int64_t>(getpid());
    // Operators: `liaison admin ... --as ops-duty-1` reads admin_target.
    if ((*broker)->admin_port() > 0) {
      info["admin_target"] = "127.0.0.1:" + std::to_string((*broker)->admin_port());
    }
    if (!(*broker)->http_url().empty()) info["http_url"] = (*broker)->http_url();
    std::ofstream(state_dir + "/broker.json") << info.dump(2) << "\n";
  }
  std::cout << "liaison-broker " << (*broker)->node_id() << " serving on " << target
            << (bootstrap.empty() ? " (embedded Kafka, in memory: data are lost on exit)"
                                  : " (Kafka " + bootstrap + ")")
            << "\n  Kafka bootstrap: " << (*broker)->bootstrap_servers()
            << "\n  state: " << Absolute(state_dir) << "  PKI: " << pki_dir
            << ((*broker)->admin_port() > 0
                    ? "\n  admin (operators): 127.0.0.1:" + std::to_string((*broker)->admin_port())
                    : std::string())
            << ((*broker)->http_url().empty()
                    ? std::string()
                    : "\n  dashboard and /metrics: " + (*broker)->http_url())
            << "\n  Ctrl-C stops; SIGHUP reloads the registry and the CRL" << std::endl;

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnSignal);
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int sig = last_signal.exchange(0);
    if (sig == SIGHUP) {
      // Only wakes the config watcher: it re-reads both files on its own
      // thread and logs `broker.reload`.
      (*broker)->RequestReload();
    } else if (sig == SIGINT || sig == SIGTERM) {
      break;
    }
  }
  log::Info("broker.stopping");
  (*broker)->Shutdown();
  std::filesystem::remove(state_dir + "/broker.json");
  return 0;
}
