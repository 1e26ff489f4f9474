#include "broker/broker.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "broker/config_watcher.h"
#include "broker/core/countersigner.h"
#include "broker/core/verified_envelopes.h"
#include "broker/core/worker_pool.h"
#include "broker/delivery/delivery_hub.h"
#include "broker/dev_bootstrap.h"
#include "broker/frontdoor/evidence_service.h"
#include "broker/frontdoor/exchange_service.h"
#include "broker/frontdoor/explain.h"
#include "broker/frontdoor/index_publisher.h"
#include "broker/frontdoor/ingress.h"
#include "broker/frontdoor/linkage_service.h"
#include "broker/frontdoor/peer.h"
#include "broker/operators/operations.h"
#include "broker/operators/operator_surface.h"
#include "broker/stage/audit.h"
#include "broker/stage/evidence_keeper.h"
#include "broker/stage/hold_book.h"
#include "broker/stage/notices.h"
#include "broker/stage/policy_stage.h"
#include "broker/state/accepted_ids.h"
#include "broker/state/acked_items.h"
#include "broker/state/evidence_book.h"
#include "broker/state/linkage_book.h"
#include "broker/state/state_indexes.h"
#include "broker/state/state_mirrors.h"
#include "broker/state/topic_mirror.h"
#include "certs/signature.h"
#include "certs/trust_store.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/producer.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "policy/chain.h"
#include "policy/counters.h"
#include "policy/decision.h"
#include "policy/registry.h"

namespace liaison::broker {
namespace {

// The file's bytes; an error names what the file is for ("registry: cannot
// read PATH: ...").
absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> text = liaison::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(what, ": ", text.status().message()));
  }
  return text;
}

// The hold book is made before the policy stage (the state mirror feeds it
// from the node's start); it reaches the stage through this, set before the
// book starts working holds.
class StageForHolds final : public HoldResolver {
 public:
  HoldResolver* target = nullptr;

  std::vector<int32_t> OwnedPartitions() const override { return target->OwnedPartitions(); }
  Outputs Reevaluate(const liaison::v1::HeldDelivery& held, absl::Time now) const override {
    return target->Reevaluate(held, now);
  }
  std::optional<Outputs::Record> NoticeRecord(liaison::v1::Notice notice,
                                              absl::Time now) const override {
    return target->NoticeRecord(std::move(notice), now);
  }
  void Write(int32_t chain, Outputs outputs, std::function<void(absl::Status)> done) override {
    target->Write(chain, std::move(outputs), std::move(done));
  }
  void WriteErasurePoint(int32_t chain, const liaison::v1::EvidenceItemRecord& item,
                         std::function<void(absl::StatusOr<int64_t>)> done) override {
    target->WriteErasurePoint(chain, item, std::move(done));
  }
  bool SealedPast(int32_t chain, int64_t offset) const override {
    return target->SealedPast(chain, offset);
  }
};

}  // namespace

struct Broker::Impl {
  // The mirrors feed books declared after them (the hold book): stopped
  // before any member goes, also when Create fails half-way.
  ~Impl() {
    for (auto& m : mirrors) m->Stop();
  }

  BrokerConfig config;
  RealClock real_clock;
  // The broker's own observer (metrics, flow log) is declared before every
  // component that reports to it, so it is destroyed after them.
  std::unique_ptr<Operations> operations;
  absl::Time started_at;
  const Clock* clock = nullptr;
  Topics topics;
  kafka::ClientConfig kafka;
  std::string bootstrap;
  std::unique_ptr<kafka::EmbeddedCluster> embedded;

  std::unique_ptr<certs::Signer> signer;
  std::unique_ptr<certs::Verifier> verifier;
  // Envelopes verified by this node's front door, which its policy stage
  // does not verify again.
  VerifiedEnvelopes verified_envelopes;
  std::unique_ptr<PeerAuthenticator> peers;

  absl::Mutex chain_mu;
  std::shared_ptr<const policy::Chain> chain ABSL_GUARDED_BY(chain_mu);

  std::unique_ptr<kafka::Producer> producer;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<AcceptedIds> accepted;
  std::unique_ptr<AckedItems> acked;
  SourceBook sources;
  ConsentBook consents;
  policy::SlidingWindowCounters counters;
  std::vector<std::unique_ptr<TopicMirror>> mirrors;

  std::unique_ptr<Countersigner> countersigner;
  std::unique_ptr<ItemSigner> items;
  std::unique_ptr<HmacPseudonymiser> pseudonymiser;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<PolicyStage> stage;
  // One root signature per batch of the stage's statements. Shutdown stops
  // it after the stage and destroys it after the producer, whose last
  // delivery reports still submit to it.
  std::unique_ptr<BatchSigner> batch_signer;
  std::unique_ptr<HoldBook> holds;
  StageForHolds stage_for_holds;
  std::unique_ptr<EvidenceKeeper> evidence_keeper;
  std::unique_ptr<Ingress> ingress;
  std::unique_ptr<Explainer> explainer;
  std::unique_ptr<DeliveryHub> delivery_hub;  // BrokerConfig::shared_delivery
  std::unique_ptr<ExchangeService> exchange;
  // Case linkage: the index every node holds, and the Publish service.
  LinkageBook linkage;
  std::unique_ptr<IndexPublisher> index_publisher;
  std::unique_ptr<LinkageService> linkage_service;
  // JIT evidence: complete items, wrapped keys and grants, and the service.
  EvidenceBook evidence;
  // The reader of the evidence topics (in `mirrors`), for the read-to-the-end
  // barrier of the evidence service.
  TopicMirror* evidence_mirror = nullptr;
  std::unique_ptr<EvidenceService> evidence_service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  // Admin listener, dashboard and /metrics (docs/operators.md).
  std::unique_ptr<OperatorSurface> surface;

  // Re-reads the registry and the CRL; after Start, LoadChain and LoadCrl
  // run on its thread only. Declared last: stopped first.
  std::unique_ptr<ConfigWatcher> config_watcher;
  bool shut_down = false;

  std::shared_ptr<const policy::Chain> Chain() ABSL_LOCKS_EXCLUDED(chain_mu) {
    absl::MutexLock lock(&chain_mu);
    return chain;
  }

  absl::Status LoadChain() ABSL_LOCKS_EXCLUDED(chain_mu);
  absl::Status LoadCrl();
  absl::Status StartKafka();
  // Creates the broker's topics (AlreadyExists is fine); `endpoints_only`:
  // just the delivery topics of the registry's endpoints.
  absl::Status CreateTopics(const policy::Registry& registry, bool endpoints_only);
  // Makes the hold book (not started: the state mirror feeds it first).
  void MakeHoldBook(const std::string& node_id);
  absl::Status StartMirrors();
  // The client configuration of the clients that only follow state: a
  // longer fetch wait against the mock (BrokerConfig::mirror_fetch_wait_max_ms).
  kafka::ClientConfig MirrorKafka() const;
  absl::Status StartOperatorSurface(const std::string& node_id, std::string key_pem,
                                    std::string cert_pem);
  // Purges expired linkage entries now and every 10 s after, on the pool.
  void MaintainLinkage();
};

absl::Status Broker::Impl::LoadChain() {
  LIAISON_ASSIGN_OR_RETURN(std::string text, ReadFile(config.registry_path, "registry"));
  LIAISON_ASSIGN_OR_RETURN(std::shared_ptr<const policy::Registry> registry,
                           policy::Registry::Parse(text, config.registry_path));
  LIAISON_ASSIGN_OR_RETURN(std::shared_ptr<const policy::Chain> next,
                           policy::Chain::Create(registry));
  {
    absl::MutexLock lock(&chain_mu);
    chain = next;
  }
  log::Info("broker.registry_loaded", {{"registry_version", next->registry().version()},
                                       {"policy_version", next->policy_version()},
                                       {"endpoints", next->registry().proto().endpoints_size()}});
  // A reload may retire a linkage key epoch: its entries stop answering.
  if (const int64_t dropped = linkage.RetireEpochsNotIn(next->registry().linkage_epochs());
      dropped > 0) {
    log::Info("linkage.epochs_retired", {{"entries_dropped", dropped}});
  }
  // A reload may bring new endpoints: their delivery topics must exist.
  if (producer != nullptr) return CreateTopics(next->registry(), /*endpoints_only=*/true);
  return absl::OkStatus();
}

absl::Status Broker::Impl::CreateTopics(const policy::Registry& registry, bool endpoints_only) {
  std::vector<kafka::TopicSpec> specs;
  // On a real cluster: replication factor 0 = the cluster's default (and its
  // min.insync.replicas); retention as deploy/kafka/topics.sh sets it.
  const bool real = embedded == nullptr;
  const std::string retention = std::to_string(400LL * 24 * 3600 * 1000);  // 400 days
  auto add = [&](std::string name, int partitions, bool compact) {
    kafka::TopicSpec t;
    t.name = std::move(name);
    t.partitions = partitions;
    t.replication_factor = config.replication_factor > 0 ? config.replication_factor : -1;
    if (compact) t.configs.push_back({"cleanup.policy", "compact"});
    if (real && !compact) {
      t.configs.push_back({"unclean.leader.election.enable", "false"});
      t.configs.push_back({"retention.ms", retention});
    }
    specs.push_back(std::move(t));
  };
  if (!endpoints_only) {
    add(topics.Ingress(), config.ingress_partitions, false);
    add(topics.Audit(), config.ingress_partitions, false);  // one chain per ingress partition
    if (real) {                                             // the audit trail is never deleted
      specs.back().configs.back() = {"retention.ms", "-1"};
      specs.back().configs.push_back({"retention.bytes", "-1"});
    }
    // A record per message, each key once: compaction alone never shrinks
    // them, and every node start reads them. Nodes forget both after the
    // deduplication window, so the records go a day after it.
    for (const std::string& t : {topics.AcceptedIds(), topics.AckedItems()}) {
      add(t, 3, true);
      if (real) {
        specs.back().configs.back() = {"cleanup.policy", "compact,delete"};
        specs.back().configs.push_back(
            {"retention.ms",
             std::to_string(absl::ToInt64Milliseconds(config.dedup_window + absl::Hours(24)))});
        specs.back().configs.push_back({"segment.ms", std::to_string(int64_t{24} * 3600 * 1000)});
      }
    }
    add(topics.Sources(), 3, true);
    add(topics.Consents(), 3, true);
    add(topics.Holds(), 3, true);
    add(topics.DeliveryIndex(), 3, false);
    add(topics.LinkageIndex(), 3, true);
    if (real) {  // no entry outlives 180 days (DP-RET-01), so neither may its record
      specs.back().configs.back() = {"cleanup.policy", "compact,delete"};
      specs.back().configs.push_back(
          {"retention.ms", std::to_string(int64_t{180} * 24 * 3600 * 1000)});
    }
    // JIT evidence (docs/evidence.md): nothing outlives 28 days; chunk
    // records are 1 MiB + 16 bytes, above Kafka's default record limit.
    const std::string evidence_retention = std::to_string(int64_t{28} * 24 * 3600 * 1000);
    add(topics.EvidenceChunks(), 6, false);
    if (real) {
      specs.back().configs.back() = {"retention.ms", evidence_retention};
      specs.back().configs.push_back({"max.message.bytes", std::to_string(2 * 1024 * 1024)});
    }
    for (const std::string& t :
         {topics.EvidenceItems(), topics.EvidenceKeys(), topics.EvidenceGrants()}) {
      add(t, 3, true);
      if (real) {
        specs.back().configs.back() = {"cleanup.policy", "compact,delete"};
        specs.back().configs.push_back({"retention.ms", evidence_retention});
      }
    }
  }
  for (const liaison::v1::Endpoint& e : registry.proto().endpoints()) {
    add(topics.Deliver(e.id()), config.deliver_partitions, false);
  }
  if (embedded != nullptr) {
    for (const kafka::TopicSpec& t : specs) {
      absl::Status s = embedded->CreateTopic(
          t.name, t.partitions,
          t.replication_factor > 0 ? t.replication_factor : config.embedded_brokers);
      if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
    }
    return absl::OkStatus();
  }
  if (!config.create_topics) return absl::OkStatus();
  return kafka::CreateTopics(kafka, specs, absl::Seconds(30));
}

absl::Status Broker::Impl::LoadCrl() {
  LIAISON_ASSIGN_OR_RETURN(std::shared_ptr<const certs::TrustStore> trust,
                           certs::TrustStore::Load(config.ca_path, config.crl_path));
  if (verifier != nullptr && trust->crl_number() < verifier->trust_store()->crl_number()) {
    // An older CRL would un-revoke certificates: keep the one in force.
    return absl::FailedPreconditionError(absl::StrCat(
        config.crl_path, ": CRL number ", trust->crl_number(), " is lower than ",
        verifier->trust_store()->crl_number(), ", the one in force; refusing a rollback"));
  }
  if (absl::Now() >= trust->crl_next_update()) {
    log::Error("broker.crl_stale",
               {{"crl_number", trust->crl_number()},
                {"next_update", absl::FormatTime(absl::RFC3339_sec, trust->crl_next_update(),
                                                 absl::UTCTimeZone())},
                {"policy", config.crl_expired == CrlExpiredPolicy::kRefuse
                               ? "refusing new endpoint connections"
                               : "accepting (--crl-expired=warn)"}});
  }
  if (verifier == nullptr) {
    verifier = std::make_unique<certs::Verifier>(trust);
    peers = std::make_unique<PeerAuthenticator>(trust);
    peers->SetCrlExpiredPolicy(config.crl_expired);
  } else {
    verifier->SetTrustStore(trust);
    peers->SetTrustStore(trust);
  }
  // Streams opened with a certificate this CRL revokes end now, not at the
  // client's next reconnect.
  if (exchange != nullptr) {
    if (int ended = exchange->EndRevokedStreams(*trust); ended > 0) {
      log::Warning("broker.revoked_streams_ended", {{"streams", ended}});
    }
  }
  log::Info("broker.crl_loaded", {{"crl_number", trust->crl_number()}});
  return absl::OkStatus();
}

absl::Status Broker::Impl::StartKafka() {
  kafka = config.kafka;
  kafka.client_id = signer->certificate().common_name();
  if (kafka.bootstrap_servers.empty()) {
    LIAISON_ASSIGN_OR_RETURN(embedded, kafka::EmbeddedCluster::Start(config.embedded_brokers));
    kafka.bootstrap_servers = embedded->bootstrap_servers();
    kafka.mock = true;
    // The mock holds an empty fetch for the full fetch.wait.max.ms.
    if (kafka.fetch_wait_max_ms == 0) kafka.fetch_wait_max_ms = 5;
    log::Warning("broker.embedded_kafka",
                 {{"bootstrap", kafka.bootstrap_servers},
                  {"note",
                   "in-memory mock cluster: for development, demos and tests only; "
                   "everything is lost when the broker stops"}});
  }
  bootstrap = kafka.bootstrap_servers;

  if (absl::Status s = CreateTopics(Chain()->registry(), /*endpoints_only=*/false); !s.ok()) {
    // Operators must see which Kafka refused (an ACL, say), not only why.
    if (absl::StrContains(s.message(), kafka.bootstrap_servers)) return s;
    return absl::Status(s.code(),
                        absl::StrCat(s.message(), " (Kafka ", kafka.bootstrap_servers, ")"));
  }

  kafka::ProducerOptions options;
  options.message_timeout_ms = config.produce_timeout_ms;
  options.linger_ms = config.producer_linger_ms;
  options.max_message_bytes = static_cast<int>(config.max_message_bytes * 2 + 1024 * 1024);
  LIAISON_ASSIGN_OR_RETURN(producer, kafka::Producer::Create(kafka, options));
  return absl::OkStatus();
}

kafka::ClientConfig Broker::Impl::MirrorKafka() const {
  kafka::ClientConfig mirror = kafka;
  // Only a short wait (the mock) is lengthened; 0 stays the long poll.
  if (mirror.fetch_wait_max_ms > 0 && config.mirror_fetch_wait_max_ms > mirror.fetch_wait_max_ms) {
    mirror.fetch_wait_max_ms = config.mirror_fetch_wait_max_ms;
  }
  return mirror;
}

void Broker::Impl::MakeHoldBook(const std::string& node_id) {
  HoldBookDeps deps;
  deps.kafka = MirrorKafka();
  deps.topics = topics;
  deps.stage = &stage_for_holds;
  deps.sources = &sources;
  deps.producer = producer.get();
  deps.clock = clock;
  deps.broker_id = node_id;
  deps.own_mirror = false;  // liaison.holds is on the state mirror
  holds = std::make_unique<HoldBook>(std::move(deps));
}

absl::Status Broker::Impl::StartMirrors() {
  accepted = std::make_unique<AcceptedIds>(config.dedup_window);
  acked = std::make_unique<AckedItems>(config.dedup_window);
  // One Kafka client follows every state topic: the registry's, the linkage
  // index, the hold book's and the evidence books'. Against the mock each
  // client costs CPU when idle (it fetches every fetch.wait.max.ms from each
  // mock broker; docs/architecture.md "Kafka clients per node").
  StateBooks books;
  books.accepted = accepted.get();
  books.acked = acked.get();
  books.sources = &sources;
  books.consents = &consents;
  books.verifier = verifier.get();
  books.observer = config.observer;
  books.linkage = &linkage;
  books.clock = clock;
  std::vector<std::pair<std::string, TopicMirror::Apply>> state = StateMirrorTopics(topics, books);
  state.emplace_back(topics.Holds(), [this](const kafka::Record& r) { holds->ApplyRecord(r); });
  auto hooked = [this](absl::Status (EvidenceBook::*apply)(const kafka::Record&)) {
    return [this, apply](const kafka::Record& r) {
      if (config.evidence_record_hook) config.evidence_record_hook(r);
      (void)(evidence.*apply)(r);
    };
  };
  state.emplace_back(topics.EvidenceItems(), hooked(&EvidenceBook::ApplyItem));
  state.emplace_back(topics.EvidenceKeys(), hooked(&EvidenceBook::ApplyKey));
  state.emplace_back(topics.EvidenceGrants(), hooked(&EvidenceBook::ApplyGrant));
  mirrors.push_back(std::make_unique<TopicMirror>(MirrorKafka(), std::move(state)));
  // The evidence service's barrier (TopicMirror::AfterReadToEnd) waits on it.
  evidence_mirror = mirrors.back().get();
  for (auto& m : mirrors) LIAISON_RETURN_IF_ERROR(m->Start());
  for (auto& m : mirrors) LIAISON_RETURN_IF_ERROR(m->WaitCaughtUp(config.state_catch_up_timeout));
  return absl::OkStatus();
}

void Broker::Impl::MaintainLinkage() {
  linkage.Maintain(clock->Now());
  pool->SubmitAfter(absl::Seconds(10), [this] { MaintainLinkage(); });
}

absl::Status Broker::Impl::StartOperatorSurface(const std::string& node_id, std::string key_pem,
                                                std::string cert_pem) {
  OperatorSurfaceOptions options;
  options.admin_listen_address = config.admin_listen_address;
  options.http_listen_address = config.http_listen_address;
  options.http_security = config.http_security;
  options.probe_interval = config.operator_probe_interval;
  options.kafka = kafka;
  options.topics = topics;
  options.ca_path = config.ca_path;
  options.cert_path = config.cert_path;
  options.key_path = config.key_path;
  options.ca_pem = verifier->trust_store()->ca_pem();
  options.cert_pem = std::move(cert_pem);
  options.key_pem = std::move(key_pem);
  OperatorDeps deps;
  deps.node_id = node_id;
  deps.started_at = started_at;
  deps.embedded_kafka = embedded != nullptr;
  deps.policy_stage = config.run_policy_stage;
  deps.exchange = exchange.get();
  deps.stage = stage.get();
  deps.holds = holds.get();
  deps.consents = &consents;
  deps.audit = audit.get();
  deps.ingress = ingress.get();
  deps.chain = [this] { return Chain(); };
  deps.operations = operations.get();
  deps.linkage = &linkage;
  LIAISON_ASSIGN_OR_RETURN(
      surface, OperatorSurface::Start(std::move(options), std::move(deps), peers.get()));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Broker>> Broker::Start(BrokerConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  Impl& b = *impl;
  b.clock = b.config.clock != nullptr ? b.config.clock : &b.real_clock;
  b.started_at = absl::Now();
  // Every component reports to the broker's own observer, which passes the
  // hooks on to the caller's (if any).
  b.operations = std::make_unique<Operations>(&b.real_clock, b.config.observer);
  b.config.observer = b.operations.get();
  b.topics = Topics(b.config.topic_prefix).WithSharedDeliveryGroup(b.config.shared_delivery);

  LIAISON_ASSIGN_OR_RETURN(b.signer,
                           certs::Signer::FromPemFiles(b.config.key_path, b.config.cert_path));
  ConfigWatcherOptions watched;
  watched.registry = {b.config.registry_path, b.config.registry_refresh,
                      [&b] { return b.LoadChain(); }};
  watched.crl = {b.config.crl_path, b.config.crl_refresh, [&b] { return b.LoadCrl(); }};
  b.config_watcher = std::make_unique<ConfigWatcher>(std::move(watched));
  LIAISON_RETURN_IF_ERROR(b.config_watcher->LoadBeforeStart(ConfigFile::kCrl));
  if (absl::StatusOr<certs::Identity> self = b.verifier->trust_store()->Validate(
          b.signer->certificate(), certs::Role::kBroker, absl::Now());
      !self.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("broker certificate ", b.config.cert_path, ": ", self.status().message()));
  }
  LIAISON_RETURN_IF_ERROR(b.config_watcher->LoadBeforeStart(ConfigFile::kRegistry));
  LIAISON_ASSIGN_OR_RETURN(std::string secret, PseudonymSecret(b.config.pseudonym_key_path,
                                                               b.config.create_pseudonym_key));
  b.pseudonymiser = std::make_unique<HmacPseudonymiser>(std::move(secret));
  if (b.config.policy_transactions == PolicyTransactions::kOn &&
      (b.config.kafka.bootstrap_servers.empty() || b.config.kafka.mock)) {
    return absl::InvalidArgumentError(
        "policy_transactions=on needs a real Kafka cluster (bootstrap servers): the embedded mock "
        "accepts transactions but ignores them");
  }
  LIAISON_RETURN_IF_ERROR(b.StartKafka());
  const std::string node_id = b.signer->certificate().common_name();
  b.MakeHoldBook(node_id);
  LIAISON_RETURN_IF_ERROR(b.StartMirrors());

  b.pool = std::make_unique<WorkerPool>(b.config.worker_threads);
  b.countersigner = std::make_unique<Countersigner>(b.signer.get());
  b.items = std::make_unique<ItemSigner>(b.countersigner.get());
  b.audit = std::make_unique<AuditLog>(b.topics, b.kafka, b.producer.get(), b.signer.get(),
                                       b.config.audit_checkpoint_interval);

  PolicyStageDeps stage;
  stage.kafka = b.kafka;
  stage.topics = b.topics;
  stage.producer = b.producer.get();
  stage.countersigner = b.countersigner.get();
  stage.verifier = b.verifier.get();
  stage.verified_envelopes = &b.verified_envelopes;
  stage.items = b.items.get();
  if (b.config.run_policy_stage && b.config.batch_signing) {
    b.batch_signer = std::make_unique<BatchSigner>(b.countersigner.get(), BatchSigner::Options{});
    stage.batch_signer = b.batch_signer.get();
  }
  stage.pool = b.pool.get();
  stage.chain = [&b] { return b.Chain(); };
  stage.clock = b.clock;
  stage.accepted = b.accepted.get();
  stage.audit = b.audit.get();
  stage.sources = &b.sources;
  stage.consents = &b.consents;
  stage.counters = &b.counters;
  stage.linkage = &b.linkage;
  stage.evidence = &b.evidence;
  stage.pseudonymiser = b.pseudonymiser.get();
  stage.broker_id = node_id;
  stage.session_timeout_ms = b.config.consumer_session_timeout_ms;
  if (!b.kafka.mock && b.config.policy_transactions != PolicyTransactions::kOff) {
    stage.transactional_id = b.config.transactional_id.empty()
                                 ? absl::StrCat(b.config.topic_prefix, ".policy.", node_id)
                                 : b.config.transactional_id;
    stage.transaction_producer.message_timeout_ms = b.config.produce_timeout_ms;
    stage.transaction_producer.linger_ms = b.config.producer_linger_ms;
    stage.transaction_producer.max_message_bytes =
        static_cast<int>(b.config.max_message_bytes * 2 + 1024 * 1024);
    stage.transaction_producer.transaction_timeout_ms = b.config.transaction_timeout_ms;
    stage.transaction_max_wait = b.config.transaction_max_wait;
  }
  stage.observer = b.config.observer;
  stage.on_held = [&b](const liaison::v1::HeldDelivery& h) { b.holds->Add(h); };
  stage.on_consent = [&b](const liaison::v1::ConsentGrant& g) { b.holds->OnConsent(g); };
  stage.evidence_caught_up = [&b](absl::Duration timeout) {
    return b.evidence_mirror->ReadToEnd(timeout);
  };
  b.stage = std::make_unique<PolicyStage>(std::move(stage));

  b.stage_for_holds.target = b.stage.get();
  LIAISON_RETURN_IF_ERROR(b.holds->Start(absl::Seconds(60)));
  if (b.config.run_policy_stage) LIAISON_RETURN_IF_ERROR(b.stage->Start());
  // JIT evidence erasure and JIT extensions (docs/evidence.md, "Erasure").
  EvidenceKeeperDeps keeper;
  keeper.topics = b.topics;
  keeper.stage = b.stage.get();
  keeper.book = &b.evidence;
  keeper.registry = [&b] { return b.Chain()->registry_ptr(); };
  keeper.clock = b.clock;
  keeper.broker_id = node_id;
  keeper.ingress_partitions = b.config.ingress_partitions;
  if (absl::StatusOr<int> n = kafka::PartitionCount(b.kafka, b.topics.Ingress(), absl::Seconds(10));
      n.ok()) {
    keeper.ingress_partitions = *n;
  }
  // Chunk records of erased items leave Kafka (docs/evidence.md, "Deleting
  // chunk records").
  keeper.kafka = b.kafka;
  int chunk_partitions = 0;
  if (absl::StatusOr<int> n =
          kafka::PartitionCount(b.kafka, b.topics.EvidenceChunks(), absl::Seconds(10));
      n.ok()) {
    keeper.chunk_partitions = chunk_partitions = *n;
  } else {
    log::Warning("evidence.chunk_deletion_off", {{"error", n.status().ToString()}});
  }
  keeper.upload_horizon =
      b.config.evidence_upload_max_age + std::min(absl::Hours(1), b.config.evidence_upload_max_age);
  keeper.chunk_retry = std::min(absl::Seconds(60), keeper.upload_horizon);
  keeper.observer = b.config.observer;
  keeper.erasure_hook = b.config.evidence_erasure_hook;
  const int evidence_chains = keeper.ingress_partitions;
  b.evidence_keeper = std::make_unique<EvidenceKeeper>(std::move(keeper));
  b.evidence_keeper->Start();

  IngressOptions ingress;
  ingress.node_id = node_id;
  ingress.max_message_bytes = b.config.max_message_bytes;
  ingress.limits.max_age = b.config.dedup_window;
  ingress.observer = b.config.observer;
  ingress.verified = &b.verified_envelopes;
  b.ingress = std::make_unique<Ingress>(
      b.topics, b.producer.get(), b.verifier.get(), [&b] { return b.Chain()->registry_ptr(); },
      b.accepted.get(), b.pool.get(), b.clock, ingress);

  SubscriptionDeps sub;
  sub.kafka = b.kafka;
  sub.topics = b.topics;
  sub.producer = b.producer.get();
  sub.acked = b.acked.get();
  sub.countersigner = b.countersigner.get();
  sub.pool = b.pool.get();
  sub.session_timeout_ms = b.config.consumer_session_timeout_ms;
  sub.ack_linger = b.config.ack_linger;
  if (b.config.shared_delivery) {
    DeliveryHubOptions hub;
    hub.kafka = b.kafka;
    hub.topics = b.topics;
    hub.session_timeout_ms = b.config.consumer_session_timeout_ms;
    if (b.kafka.mock) {
      // The mock holds every rebalance of a group with members for the
      // session timeout less a second, however quickly all have rejoined
      // (Kafka ends it once they have): the node's one delivery group
      // rebalances whenever a stream comes or goes.
      hub.session_timeout_ms = std::min(hub.session_timeout_ms, 3000);
      hub.heartbeat_interval_ms = 500;
    }
    hub.observer = b.config.observer;
    b.delivery_hub = std::make_unique<DeliveryHub>(std::move(hub));
    sub.hub = b.delivery_hub.get();
  }
  sub.clock = b.clock;
  sub.observer = b.config.observer;
  ExchangeOptions exchange;
  exchange.observer = b.config.observer;
  exchange.limits = [&b](const std::string& endpoint) {
    return b.Chain()->registry().LimitsFor(endpoint);
  };
  ExplainDeps explain;
  explain.clock = b.clock;
  explain.chain = [&b] { return b.Chain(); };
  explain.max_age = b.config.dedup_window;
  explain.decide = [&b](const liaison::v1::Message& message,
                        const std::vector<std::string>& recipients, size_t bytes, absl::Time now) {
    return b.stage->Explain(message, recipients, bytes, now);
  };
  b.explainer = std::make_unique<Explainer>(std::move(explain));
  exchange.explain = [&b](const liaison::v1::ExplainRequest& request, const std::string& peer) {
    return b.explainer->Explain(request, peer);
  };
  b.exchange = std::make_unique<ExchangeService>(b.ingress.get(), b.peers.get(), sub, exchange);

  IndexPublisherDeps publisher;
  publisher.topics = b.topics;
  publisher.producer = b.producer.get();
  publisher.verifier = b.verifier.get();
  publisher.countersigner = b.countersigner.get();
  publisher.registry = [&b] { return b.Chain()->registry_ptr(); };
  publisher.book = &b.linkage;
  publisher.pool = b.pool.get();
  publisher.clock = b.clock;
  publisher.node_id = node_id;
  b.index_publisher = std::make_unique<IndexPublisher>(std::move(publisher));
  b.linkage_service =
      std::make_unique<LinkageService>(b.index_publisher.get(), b.peers.get(), b.config.observer);
  b.linkage.RetireEpochsNotIn(b.Chain()->registry().linkage_epochs());
  b.MaintainLinkage();

  EvidenceServiceDeps evidence;
  evidence.topics = b.topics;
  evidence.kafka = b.kafka;
  evidence.producer = b.producer.get();
  evidence.registry = [&b] { return b.Chain()->registry_ptr(); };
  evidence.book = &b.evidence;
  evidence.pool = b.pool.get();
  evidence.clock = b.clock;
  evidence.peers = b.peers.get();
  evidence.observer = b.config.observer;
  evidence.max_item_bytes = b.embedded != nullptr ? kEmbeddedEvidenceMaxItemBytes : 0;
  evidence.countersigner = b.countersigner.get();
  evidence.node_id = node_id;
  evidence.upload_max_age = b.config.evidence_upload_max_age;
  evidence.download_started_hook = b.config.download_started_hook;
  evidence.read_to_end = [&b](absl::Duration timeout, std::function<void(absl::Status)> done) {
    b.evidence_mirror->AfterReadToEnd(timeout, std::move(done));
  };
  // An item's custody events go to the chain whose owner erases it: all its
  // entries sit in one audit chain, in order.
  evidence.custody_partition = [evidence_chains](absl::string_view item_id) {
    return EvidenceChainOf(item_id, evidence_chains);
  };
  // Every chunk of an item in one partition chosen from its id, the same on
  // every node, so that any node can read an unfinished upload back.
  if (chunk_partitions > 0) {
    evidence.chunk_partition = [chunk_partitions](absl::string_view item_id) {
      return EvidenceChainOf(item_id, chunk_partitions);
    };
  }
  b.evidence_service = std::make_unique<EvidenceService>(std::move(evidence));

  LIAISON_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(b.config.key_path, "broker key"));
  LIAISON_ASSIGN_OR_RETURN(std::string cert_pem,
                           ReadFile(b.config.cert_path, "broker certificate"));
  grpc::SslServerCredentialsOptions ssl(
      // Requested and verified when presented; a call without one gets a
      // precise UNAUTHENTICATED (from PeerCheckBeforeRequest, before its
      // request is read) instead of a failed handshake.
      GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = b.verifier->trust_store()->ca_pem();
  ssl.pem_key_cert_pairs.push_back({key_pem, cert_pem});
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(ssl);
  creds->SetAuthMetadataProcessor(PeerCheckBeforeRequest(b.peers.get(), certs::Role::kEndpointTls));
  builder.AddListeningPort(b.config.listen_address, creds, &b.port);
  builder.RegisterService(b.exchange.get());
  builder.RegisterService(b.linkage_service.get());
  builder.RegisterService(b.evidence_service.get());
  // Room for the largest envelope plus its certificate and framing; larger
  // ones get our own RESOURCE_EXHAUSTED naming the limit.
  // An evidence chunk message is one 1 MiB + 16-byte record and its index.
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::max<size_t>(b.config.max_message_bytes, certs::kEvidenceMaxRecordBytes) + 1024 * 1024));
  builder.SetMaxSendMessageSize(64 * 1024 * 1024);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  // A fixed 4 MiB receive window per stream instead of one sized by
  // bandwidth-delay probing: a client streaming evidence chunks faster than
  // Kafka takes them fills the window while the upload waits for Kafka, and
  // a probed window grew to tens of MiB held in this process per upload
  // (tests/bench/evidence_bench). 4 MiB still carries 80 MB/s at 50 ms RTT.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4 * 1024 * 1024);
  b.server = builder.BuildAndStart();
  if (b.server == nullptr || b.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", b.config.listen_address, " (address in use?)"));
  }
  b.server->GetHealthCheckService()->SetServingStatus(true);
  LIAISON_RETURN_IF_ERROR(b.StartOperatorSurface(node_id, key_pem, cert_pem));
  b.config_watcher->Start();
  log::Info("broker.started", {{"node_id", node_id},
                               {"port", b.port},
                               {"kafka", b.bootstrap},
                               {"embedded_kafka", b.embedded != nullptr}});
  return std::unique_ptr<Broker>(new Broker(std::move(impl)));
}

std::map<std::pair<std::string, uint32_t>, int64_t> Broker::LinkageCounts() const {
  return impl_->linkage.Counts();
}

Broker::Broker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Broker::~Broker() { Shutdown(); }

void Broker::Shutdown() {
  Impl& b = *impl_;
  if (b.shut_down) return;
  b.shut_down = true;
  if (b.surface != nullptr) b.surface->Shutdown();
  if (b.config_watcher != nullptr) b.config_watcher->Stop();
  if (b.server != nullptr) {
    b.server->GetHealthCheckService()->SetServingStatus(false);
    b.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  }
  if (b.exchange != nullptr) b.exchange->Shutdown();
  // The streams' final commits (they wait for their acknowledgements to be
  // durable, which needs the pool and the producer).
  if (b.delivery_hub != nullptr) b.delivery_hub->Shutdown();
  if (b.evidence_keeper != nullptr) b.evidence_keeper->Stop();
  if (b.stage != nullptr) b.stage->Stop();
  // Signs and produces what the stage handed it, while the producer lives.
  // Stopped, not destroyed: the producer's flush below still runs the
  // continuations of audit writes Kafka acknowledges now, and they submit
  // to it (answered UNAVAILABLE; the work stays uncommitted and the
  // partition's next owner decides it again). Destroyed after the producer.
  if (b.batch_signer != nullptr) b.batch_signer->Stop();
  if (b.holds != nullptr) b.holds->Stop();
  for (auto& m : b.mirrors) m->Stop();
  // Queued work may still produce; producer callbacks may still queue work:
  // drain the pool first, then the producer (its callbacks' new tasks are
  // dropped: what did not finish is replayed from Kafka).
  if (b.pool != nullptr) b.pool->Shutdown();
  // The chains' last heads get a signed checkpoint: what Kafka acknowledged
  // by now (bounded waits: a node whose Kafka is gone still stops; the next
  // owner of each partition checkpoints what is left uncovered).
  if (b.audit != nullptr && b.producer != nullptr) {
    (void)b.producer->Flush(absl::Seconds(2));
    b.audit->CheckpointAll(absl::Seconds(2));
  }
  b.producer.reset();
  b.batch_signer.reset();
  if (b.server != nullptr) b.server->Wait();
  log::Info("broker.stopped", {{"port", b.port}});
}

std::vector<int32_t> Broker::OwnedIngressPartitions() const {
  if (impl_->stage == nullptr) return {};
  return impl_->stage->OwnedPartitions();
}

absl::Status Broker::WaitReady(absl::Duration timeout) {
  if (!impl_->config.run_policy_stage) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  while (impl_->stage->OwnedPartitions().empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("the policy stage has no ingress partitions yet");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

absl::Status Broker::ReloadRegistry() {
  return impl_->config_watcher->Reload(ConfigFile::kRegistry);
}
absl::Status Broker::ReloadCrl() { return impl_->config_watcher->Reload(ConfigFile::kCrl); }
void Broker::RequestReload() { impl_->config_watcher->RequestReload(); }
int Broker::port() const { return impl_->port; }
const std::string& Broker::node_id() const { return impl_->kafka.client_id; }
const std::string& Broker::bootstrap_servers() const { return impl_->bootstrap; }
kafka::EmbeddedCluster* Broker::embedded_cluster() const { return impl_->embedded.get(); }
int Broker::admin_port() const {
  return impl_->surface != nullptr ? impl_->surface->admin_port() : 0;
}
std::string Broker::http_url() const {
  return impl_->surface != nullptr ? impl_->surface->http_url() : "";
}
bool Broker::PolicyTransactional() const {
  return impl_->stage != nullptr && impl_->stage->transactional();
}

absl::Status Broker::AbortNextTransactionForTest() {
  if (!PolicyTransactional()) {
    return absl::FailedPreconditionError("the policy stage does not write in transactions");
  }
  impl_->stage->AbortNextTransactionForTest();
  return absl::OkStatus();
}

absl::Status Broker::AbandonNextTransactionForTest() {
  if (!PolicyTransactional()) {
    return absl::FailedPreconditionError("the policy stage does not write in transactions");
  }
  impl_->stage->AbandonNextTransactionForTest();
  return absl::OkStatus();
}

void Broker::ProbeKafkaForTest() {
  if (impl_->surface != nullptr) impl_->surface->cluster().ProbeNow();
}

}  // namespace liaison::broker
