// Everything a broker node needs to start. main.cc fills it from flags;
// tests fill it directly.
#ifndef LIAISON_BROKER_CONFIG_H_
#define LIAISON_BROKER_CONFIG_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "broker/core/clock.h"
#include "broker/core/observer.h"
#include "broker/frontdoor/peer.h"
#include "broker/operators/http_server.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"

namespace liaison::broker {

// Whether the policy stage writes in Kafka transactions (exactly once:
// docs/architecture.md "Exactly once on real Kafka").
enum class PolicyTransactions {
  kAuto,  // on for a real cluster, off for the embedded mock (which ignores them)
  kOn,    // on (refused with the embedded mock)
  kOff,   // at-least-once with deterministic ids and delivery-side dedup
};

struct BrokerConfig {
  // gRPC listener for liaison.v1.Exchange ("127.0.0.1:0" picks a free port).
  std::string listen_address = "127.0.0.1:7443";

  // Identity (certs/scripts/mint-dev-pki.sh layout: DIR/ca.pem, DIR/crl.pem,
  // DIR/broker/tls.{pem,key}). The broker certificate serves TLS and
  // countersigns; its CN is the node id.
  std::string ca_path;
  std::string crl_path;
  std::string cert_path;
  std::string key_path;
  // How often the CRL file is re-read (0 = never). A reload ends open
  // streams of certificates it revokes; a CRL with a lower CRL number than
  // the one in force is refused (no rollback).
  absl::Duration crl_refresh = absl::Seconds(10);
  // Past the CRL's nextUpdate: refuse new endpoint connections (default,
  // fail closed) or only report it loudly. Operators can still connect to
  // the admin API and dashboard either way, to see what is wrong.
  CrlExpiredPolicy crl_expired = CrlExpiredPolicy::kRefuse;

  // The registry (text-format liaison.v1.Registry). Re-read when the file
  // changes (checked every registry_refresh) and on ReloadRegistry().
  std::string registry_path;
  absl::Duration registry_refresh = absl::Seconds(5);

  // The network-wide secret behind pseudonymous victim references
  // (DP-CAT-02, DP-CHILD-01): every broker node must use the same one.
  // Read from pseudonym_key_path; created there (32 random bytes, mode 600)
  // when missing and create_pseudonym_key is set (the embedded default).
  std::string pseudonym_key_path;
  bool create_pseudonym_key = false;

  // Kafka. Empty bootstrap_servers: start librdkafka's mock cluster in-process
  // (the embedded default: in memory, for development, demos and tests).
  kafka::ClientConfig kafka;
  int embedded_brokers = 3;
  // fetch.wait.max.ms of the clients that only follow state (the state and
  // evidence mirrors, the hold book's mirror) when `kafka` sets a short wait,
  // i.e. against the mock, which holds every empty fetch for the full wait:
  // each such client then fetches 1000 / this times a second per mock broker
  // instead of 1000 / kafka.fetch_wait_max_ms, at the price of seeing another
  // node's state writes up to this much later. 0 = kafka.fetch_wait_max_ms.
  // On real Kafka (fetch_wait_max_ms 0: the long poll) it changes nothing.
  int mirror_fetch_wait_max_ms = 50;
  std::string topic_prefix = "liaison";
  int ingress_partitions = 6;
  int deliver_partitions = 3;
  // linger.ms of the broker's producer (librdkafka accepts fractions).
  double producer_linger_ms = 2;
  // Of the topics the broker creates; 0 = on a real cluster its
  // default.replication.factor (and min.insync.replicas), on the embedded
  // one every mock broker.
  int replication_factor = 3;
  // Create missing topics at start (Admin API on a real cluster; also sets
  // retention as deploy/kafka/topics.sh does: 400 days, the audit trail never
  // deleted).
  bool create_topics = true;
  // How long Kafka may take to acknowledge a write before the sender is told
  // UNAVAILABLE (message.timeout.ms).
  int produce_timeout_ms = 30000;
  // How long a node may go silent before Kafka gives its partitions (policy
  // stage, Subscribe streams) to the other nodes: the bound on a crashed
  // node's partitions standing still. 6 s is the smallest a Kafka broker
  // accepts by default (group.min.session.timeout.ms); heartbeats go every
  // second (connectors/kafka ConsumerOptions) from librdkafka's own thread,
  // so a busy node is not mistaken for a dead one. A node that stops
  // cleanly leaves its groups at once and does not wait for this.
  int consumer_session_timeout_ms = 6000;

  // How long a Subscribe stream lets acknowledgements gather before it
  // writes them as one batch when none is being written (docs/architecture.md,
  // "Acknowledgements in batches"): fewer records, signatures and round trips
  // at moderate rates, for receipts and offset commits that much later. Under
  // load batches form while the previous one is written, whatever this is.
  absl::Duration ack_linger = absl::Milliseconds(20);

  // One Kafka consumer per node reads for all its Subscribe streams
  // (broker/delivery/delivery_hub.h), in the one group `liaison-deliver`,
  // instead of one consumer per stream in a group per endpoint: fewer
  // clients, connections and fetches (docs/architecture.md, "One delivery
  // consumer per node"). Every node of a network must use the same setting:
  // the two read in different groups.
  bool shared_delivery = true;

  // Largest accepted message (SignedEnvelope.message), in bytes.
  size_t max_message_bytes = 4 * 1024 * 1024;
  // How long accepted ids and acknowledged items are remembered for
  // deduplication.
  absl::Duration dedup_window = absl::Hours(24 * 7);
  // How long a starting node may take to read the state topics to their
  // ends before it gives up (it serves only then; docs/architecture.md,
  // "State lives in Kafka"). Reading grows with what the state topics hold:
  // about 20 s for 800,000 state records on 2 busy cores.
  absl::Duration state_catch_up_timeout = absl::Minutes(10);
  // Run the policy stage (a member of the `liaison-policy` consumer group).
  // A node without it only accepts and delivers: front-door nodes can scale
  // apart from policy nodes.
  bool run_policy_stage = true;
  // The policy stage signs its delivery statements and receipts in batches
  // (one signature over a Merkle root per batch, broker/core/batch_signer.h).
  // false = one signature per statement, as before batch signing: kept for
  // measuring the difference (tests/bench/exchange_bench --ab-batch-signing);
  // recipients verify either form.
  bool batch_signing = true;
  // Exactly-once fan-out (real Kafka): the policy stage's audit entries,
  // delivery records, notices, holds and bookkeeping records are committed
  // in one Kafka transaction with its ingress offsets. kAuto: on for a real
  // cluster, off on the embedded mock (it has no transactions).
  PolicyTransactions policy_transactions = PolicyTransactions::kAuto;
  // The stage's transactional.id; "" = "<topic_prefix>.policy.<node id>".
  // Stable per node (a restarted node fences its previous incarnation and
  // aborts what it left open) and unique per node: two running nodes with
  // one id fence each other (the second one's stage stops consuming).
  std::string transactional_id;
  // A transaction closes once all it holds is acknowledged and nothing new
  // is queued, at the latest after this long (or 1000 items).
  absl::Duration transaction_max_wait = absl::Milliseconds(20);
  // How long Kafka keeps a crashed node's open transaction before aborting
  // it; its partitions stand still that long at most after a crash (a
  // restart with the same node id aborts it at once).
  int transaction_timeout_ms = 10000;
  // How often the policy stage signs a checkpoint of each audit chain that
  // grew (broker/stage/audit.h); also when a partition is released and at stop.
  absl::Duration audit_checkpoint_interval = absl::Seconds(10);
  // JIT evidence (docs/evidence.md, "Deleting chunk records"): an upload is
  // completed only if it began at most this long ago (kEvidenceUploadMaxAge,
  // 24 h), and the evidence keeper deletes no chunk record younger than
  // this plus the lesser of an hour and this (the upload horizon). Tests
  // shorten it to see chunks deleted.
  absl::Duration evidence_upload_max_age = absl::Hours(24);
  // Tests only: called on the evidence books' reader thread before each
  // record of the evidence topics is applied to the node's book (a test
  // blocks it to hold this node behind what another node wrote).
  std::function<void(const kafka::Record&)> evidence_record_hook;
  // Tests only: asked by the evidence keeper before it erases an item marked
  // for erasure whose erasure point the policy stage has passed; false
  // postpones the erasure to a later tick (the item stays marked).
  std::function<bool(const std::string& item_id)> evidence_erasure_hook;
  // Tests only: called once Kafka acknowledged a download's start, before
  // the front door checks the item again and sends the member's key.
  std::function<void(const std::string& item_id)> download_started_hook;

  // Threads verifying and countersigning (0 = one per core).
  unsigned worker_threads = 0;

  // Policy time (created_at skew, erase_by, holds). Not owned; null = real
  // clock. Certificates and Kafka always use the real clock.
  const Clock* clock = nullptr;

  // Told what the components do, for operators' views. Not owned; null =
  // nobody listens.
  Observer* observer = nullptr;

  // Operators (docs/operators.md); metadata only. liaison.v1.Admin over
  // gRPC on its own listener: mutual TLS, operator certificates only.
  // "" = no admin listener.
  std::string admin_listen_address = "127.0.0.1:7444";
  // The dashboard, /metrics and /api/* ("" = off), protected as
  // `http_security` says.
  std::string http_listen_address = "127.0.0.1:7480";
  HttpSecurity http_security = HttpSecurity::kAuto;
  // How often Kafka is probed for reachability, consumer lag and the audit
  // trail's length.
  absl::Duration operator_probe_interval = absl::Seconds(10);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CONFIG_H_
