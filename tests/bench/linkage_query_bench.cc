// Case linkage through a running broker, end to end (the targets: a
// 20-identifier query answered in p99 < 2 ms inside the broker and < 10 ms
// end to end; bulk publishing >= 200,000 identifiers/s). One process: an
// in-process broker (TestBroker: mutual TLS gRPC, the policy stage, the
// embedded mock Kafka, or the real cluster when LIAISON_TEST_KAFKA_STATE is
// set, see tests/README.md) and two endpoint clients. Prints:
//  - publishing: RO-IGPR streams blinded entries to Linkage.Publish in signed
//    batches of 10,000; identifiers per second until the last batch is
//    acknowledged (in Kafka with acks=all, audited, answerable), and the
//    endpoint's signing alone;
//  - queries: ES-PN sends 20-identifier LINKAGE_QUERY messages one at a time
//    (half the identifiers hit), each timed from Send to the broker's signed
//    reply arriving on its Subscribe stream and verified (end to end), and
//    inside the broker from the front door's acceptance to the stage's
//    decision (the reply attestation's accepted_at and decided_at: the
//    ingress hop through Kafka, verification, the policy chain, the index
//    lookup and the plan);
//  - peak RSS of the process (broker, clients and, on the mock, Kafka).
// The lookup alone at 10 million entries is linkage_bench's figure.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "base/uuid.h"
#include "broker/stage/decide.h"
#include "broker/stage/plan.h"
#include "broker/state/linkage_book.h"
#include "certs/testing/test_pki.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "policy/counters.h"
#include "policy/testing/scenario.h"
#include "process_stats.h"
#include "tests/fixtures/test_broker.h"

namespace liaison::bench {
namespace {

using liaison::v1::Message;

// 32 pseudo-random bytes, never all printable (what an HMAC looks like).
std::string Value(std::mt19937_64& rng) {
  std::string v(32, '\0');
  for (char& c : v) c = static_cast<char>(rng() & 0xff);
  v[0] = '\x01';
  return v;
}

// The development registry with a daily query limit the run cannot reach.
std::string BenchRegistry() {
  const std::string path =
      testing::MakeTempDir("liaison-linkage-query-bench") + "/registry.textproto";
  std::string text = testing::ReadFileOrDie(testing::SourcePath("deploy/registry/dev.textproto"));
  // ... and no DP-BULK-01 cap on the identifiers queried either.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"max_queries_per_day: 500", "max_queries_per_day: 100000000"},
           {"metric: VOLUME_METRIC_QUERIES  window { seconds: 600 }  cap: 200",
            "metric: VOLUME_METRIC_QUERIES  window { seconds: 600 }  cap: 1000000000"}}) {
    const size_t at = text.find(from);
    if (at == std::string::npos) {
      std::fprintf(stderr, "linkage_query_bench: '%s' not in the development registry\n",
                   from.c_str());
      std::exit(2);
    }
    text.replace(at, from.size(), to);
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

// The broker's own work on one query, without Kafka: the chain decides the
// recipient, the index is searched, the plan builds the reply, the hit
// notices and the audit entries (what PolicyStage::Evaluate does between
// reading the ingress record and handing the outputs to the producer, less
// the signatures, which exchange_bench's raw costs give).
std::vector<int64_t> ComputeOnly(const std::vector<std::string>& published, int queries,
                                 std::mt19937_64& rng) {
  broker::LinkageBook book;
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < published.size(); ++i) {
    broker::LinkageRecord r;
    r.epoch = 1;
    std::copy(published[i].begin(), published[i].end(), r.value.begin());
    r.owner = "RO-IGPR";
    r.handle = absl::StrCat("LNK-BENCH-", i / 5);
    r.kind_expiry =
        std::make_pair(uint8_t{liaison::v1::IDENTIFIER_TYPE_IBAN}, now + absl::Hours(24 * 30));
    (void)book.ApplyWritten(r, now);
  }
  const std::shared_ptr<const policy::Chain> chain = policy::scenario::DevChain();
  policy::InMemorySourceIndex sources;
  policy::InMemoryConsentIndex consents;
  policy::scenario::TestPseudonymiser pseudonymiser;
  std::vector<int64_t> ns;
  for (int q = 0; q < queries; ++q) {
    Message m = policy::scenario::Ac14LinkageQuery(NewUuidV7(now));
    *m.mutable_header()->mutable_created_at() = ToProto(now);
    *m.mutable_header()->mutable_retention()->mutable_erase_by() =
        ToProto(now + absl::Hours(24 * 90));
    liaison::v1::LinkageQuery* body = m.mutable_linkage_query();
    body->clear_identifiers();
    for (int i = 0; i < 20; ++i) {
      liaison::v1::BlindedIdentifier* id = body->add_identifiers();
      id->set_type(liaison::v1::IDENTIFIER_TYPE_IBAN);
      id->set_scheme("HMAC-SHA256/epoch-1");
      id->set_value(i % 2 == 0 ? published[rng() % published.size()] : Value(rng));
    }
    liaison::v1::IngressRecord ingress;
    ingress.mutable_envelope()->set_message(m.SerializeAsString());
    *ingress.mutable_accepted_at() = ToProto(now);
    // Fresh volumes per query: the development registry's DP-BULK-01 and
    // daily caps would otherwise hold the bench's thousands of queries.
    policy::SlidingWindowCounters counters;
    const int64_t t0 = NowNs();
    broker::PlanInput input;
    broker::PlanContext& c = input.context;
    c.ingress = &ingress;
    c.message = &m;
    c.payload_sha256 = "bench";
    c.case_ref_hash = "bench";
    c.message_bytes = ingress.envelope().message().size();
    c.registry = &chain->registry();
    c.policy_version = chain->policy_version();
    c.broker_id = "liaison-broker-1";
    c.now = now;
    input.decisions = broker::DecideEach(*chain, m, {"RO-IGPR"}, c.message_bytes, now,
                                         {&counters, &sources, &consents});
    absl::flat_hash_set<std::string> allowed = {"RO-IGPR"};
    std::vector<std::string> values;
    for (const auto& id : body->identifiers()) values.push_back(id.value());
    absl::StatusOr<std::vector<broker::LinkageHitEntry>> hits =
        book.Lookup(1, values, allowed, now);
    broker::LinkageLookup lookup;
    if (hits.ok()) {
      for (broker::LinkageHitEntry& h : *hits) {
        lookup.matches.push_back({h.index, h.owner, h.handle, "hash"});
      }
    }
    input.linkage = std::move(lookup);
    input.pseudonymiser = &pseudonymiser;
    const broker::Plan plan = broker::PlanDecision(std::move(input));
    ns.push_back(NowNs() - t0);
    if (plan.deliveries.size() != 1) {
      std::fprintf(stderr, "compute: the plan has no reply (%zu deliveries)\n",
                   plan.deliveries.size());
      std::exit(1);
    }
  }
  return ns;
}

// Sequential round trips through Kafka alone: one small record produced
// (acks=all) and read back by a consumer of the same settings as the
// broker's. A reply needs at least three of these one after the other (the
// ingress record; the audit entries, then the delivery; reading it).
std::vector<int64_t> KafkaRoundTrips(testing::TestBroker& broker, int n) {
  const std::string topic = broker.topics().Ingress() + ".bench-rtt";
  absl::Status created =
      testing::OnRealKafka()
          ? kafka::CreateTopics(broker.KafkaClient(), {{topic, 1, 3, {}}}, absl::Seconds(30))
          : broker.kafka()->CreateTopic(topic, 1);
  if (!created.ok()) return {};
  kafka::ClientConfig config = broker.KafkaClient();
  if (config.fetch_wait_max_ms == 0 && !testing::OnRealKafka()) config.fetch_wait_max_ms = 5;
  auto producer = kafka::Producer::Create(config);
  kafka::ConsumerOptions options;
  options.topics = {topic};
  auto consumer = kafka::Consumer::Create(config, options);
  if (!producer.ok() || !consumer.ok()) return {};
  std::vector<int64_t> ns;
  for (int i = 0; i < n + 10; ++i) {
    const int64_t t0 = NowNs();
    (*producer)->Produce(topic, "k", "v", [](const kafka::DeliveryReport&) {});
    bool got = false;
    while (!got) {
      absl::StatusOr<kafka::PollResult> r = (*consumer)->Poll(absl::Seconds(5), 1);
      if (!r.ok()) return {};
      got = !r->records.empty();
    }
    if (i >= 10) ns.push_back(NowNs() - t0);  // the first ones pay for connections
  }
  return ns;
}

struct Tuning {
  int fetch_wait_max_ms = 0;  // 0: the broker's defaults
  double linger_ms = 0;
};

int Run(int64_t entries, int queries, int warmup, const Tuning& tuning) {
  std::printf(
      "linkage_query_bench: load average %s, Kafka: %s, fetch.wait.max.ms %s, linger.ms %s\n",
      LoadAverage().c_str(), testing::OnRealKafka() ? "real cluster" : "embedded mock",
      tuning.fetch_wait_max_ms > 0 ? absl::StrCat(tuning.fetch_wait_max_ms).c_str() : "default",
      tuning.linger_ms > 0 ? absl::StrCat(tuning.linger_ms).c_str() : "default");
  testing::TestBrokerOptions options;
  options.registry_path = BenchRegistry();
  options.fetch_wait_max_ms = tuning.fetch_wait_max_ms;
  options.producer_linger_ms = tuning.linger_ms;
  absl::StatusOr<std::unique_ptr<testing::TestBroker>> broker = testing::TestBroker::Start(options);
  if (!broker.ok()) {
    std::fprintf(stderr, "broker: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  auto ro = (*broker)->Client("RO-IGPR");
  auto es = (*broker)->Client("ES-PN");
  if (!ro.ok() || !es.ok()) {
    std::fprintf(stderr, "clients: %s %s\n", ro.status().ToString().c_str(),
                 es.status().ToString().c_str());
    return 1;
  }
  const int64_t rss_idle_kb = StatusKb("VmRSS");

  // Publishing: 5 identifiers per case, batches of 10,000.
  std::mt19937_64 rng(20261205);
  std::vector<std::string> published;
  published.reserve(entries);
  std::vector<liaison::v1::IndexBatch> batches;
  const absl::Time expires = absl::Now() + absl::Hours(24 * 30);
  for (int64_t i = 0; i < entries; ++i) {
    if (i % 10000 == 0) {
      batches.emplace_back().set_epoch(1);
    }
    liaison::v1::IndexEntry* e = batches.back().add_entries();
    e->set_type(liaison::v1::IDENTIFIER_TYPE_IBAN);
    published.push_back(Value(rng));
    e->set_value(published.back());
    e->set_case_handle(absl::StrCat("LNK-BENCH-", i / 5));
    *e->mutable_expires_at() = ToProto(expires);
  }
  // A first batch of one entry, timed apart: a node's first publication
  // pays for Kafka metadata and connections (the ingress topic's included).
  {
    liaison::v1::IndexBatch first;
    first.set_epoch(1);
    liaison::v1::IndexEntry* e = first.add_entries();
    e->set_type(liaison::v1::IDENTIFIER_TYPE_IBAN);
    e->set_value(Value(rng));
    e->set_case_handle("LNK-BENCH-FIRST");
    *e->mutable_expires_at() = ToProto(expires);
    const int64_t t = NowNs();
    absl::StatusOr<std::vector<liaison::v1::IndexBatchResult>> r = (*ro)->PublishIndex({first});
    if (!r.ok() || r->size() != 1 || (*r)[0].code() != 0) {
      std::fprintf(stderr, "first batch: %s\n",
                   r.ok() ? (*r)[0].error().c_str() : r.status().ToString().c_str());
      return 1;
    }
    std::printf("\nfirst batch (1 identifier, a fresh stream and node): %.1f ms\n",
                (NowNs() - t) / 1e6);
  }
  int64_t sign_ns = NowNs();
  std::vector<liaison::v1::SignedIndexBatch> sealed;
  for (liaison::v1::IndexBatch& b : batches) {
    absl::StatusOr<liaison::v1::SignedIndexBatch> s = (*ro)->SealIndexBatch(b, absl::Now());
    if (!s.ok()) {
      std::fprintf(stderr, "seal: %s\n", s.status().ToString().c_str());
      return 1;
    }
    sealed.push_back(*std::move(s));
  }
  sign_ns = NowNs() - sign_ns;
  const int64_t publish_start = NowNs();
  absl::StatusOr<std::vector<liaison::v1::IndexBatchResult>> results = (*ro)->PublishSigned(sealed);
  const int64_t publish_ns = NowNs() - publish_start;
  if (!results.ok()) {
    std::fprintf(stderr, "publish: %s\n", results.status().ToString().c_str());
    return 1;
  }
  int64_t stored = 0;
  for (const liaison::v1::IndexBatchResult& r : *results) {
    if (r.code() != 0) {
      std::fprintf(stderr, "publish refused: %s\n", r.error().c_str());
      return 1;
    }
    stored += r.stored();
  }
  // The raw ceiling in the same run: the same number of records of the index
  // topic's key and value sizes, produced with acks=all by one producer to a
  // scratch topic of the same partition count, waiting for every report.
  // Under the broker's topic prefix (on real Kafka the ACLs allow no other).
  const std::string scratch = (*broker)->topics().Ingress() + ".bench-raw";
  absl::Status created =
      testing::OnRealKafka()
          ? kafka::CreateTopics((*broker)->KafkaClient(), {{scratch, 3, 3, {}}}, absl::Seconds(30))
          : (*broker)->kafka()->CreateTopic(scratch, 3);
  double raw_per_s = 0;
  if (created.ok()) {
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
        kafka::Producer::Create((*broker)->KafkaClient());
    if (producer.ok()) {
      std::atomic<int64_t> failed{0};
      const int64_t raw_start = NowNs();
      for (int64_t i = 0; i < entries; ++i) {
        (*producer)->Produce(scratch, absl::StrCat(published[i], "RO-IGPR/", i / 5),
                             std::string(24, 'v'), [&failed](const kafka::DeliveryReport& r) {
                               if (!r.status.ok()) ++failed;
                             });
      }
      if ((*producer)->Flush(absl::Minutes(5)).ok() && failed == 0) {
        raw_per_s = entries / ((NowNs() - raw_start) / 1e9);
      }
    }
  }

  std::printf("\npublishing (RO-IGPR, %zu signed batches of <= 10,000 blinded identifiers)\n",
              sealed.size());
  std::printf("  stored       %lld identifiers in %.2f s: %.0f identifiers/s through the broker\n",
              static_cast<long long>(stored), publish_ns / 1e9, stored / (publish_ns / 1e9));
  std::printf("  raw          the endpoint's batch signing alone: %.0f identifiers/s\n",
              entries / (sign_ns / 1e9));
  if (raw_per_s > 0) {
    std::printf(
        "  raw          Kafka alone, one producer, acks=all, as many records: %.0f records/s "
        "(publishing at %.2f of it)\n",
        raw_per_s, stored / (publish_ns / 1e9) / raw_per_s);
  } else {
    std::printf("  raw          Kafka alone: not measured (%s)\n", created.ToString().c_str());
  }

  // Queries, one at a time.
  absl::StatusOr<std::unique_ptr<endpoint::Subscription>> sub = (*es)->Subscribe();
  if (!sub.ok()) {
    std::fprintf(stderr, "subscribe: %s\n", sub.status().ToString().c_str());
    return 1;
  }
  std::vector<int64_t> end_to_end, inside, hits_seen;
  int64_t hits = 0;
  for (int q = 0; q < warmup + queries; ++q) {
    Message m = policy::scenario::Ac14LinkageQuery(NewUuidV7(absl::Now()));
    m.mutable_header()->clear_created_at();
    *m.mutable_header()->mutable_retention()->mutable_erase_by() =
        ToProto(absl::Now() + absl::Hours(24 * 90));
    liaison::v1::LinkageQuery* body = m.mutable_linkage_query();
    body->clear_identifiers();
    for (int i = 0; i < 20; ++i) {
      liaison::v1::BlindedIdentifier* id = body->add_identifiers();
      id->set_type(liaison::v1::IDENTIFIER_TYPE_IBAN);
      id->set_scheme("HMAC-SHA256/epoch-1");
      id->set_value(i % 2 == 0 ? published[rng() % published.size()] : Value(rng));
    }
    const int64_t t0 = NowNs();
    absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*es)->Seal(m, absl::Now());
    if (!envelope.ok()) return 1;
    absl::StatusOr<liaison::v1::SendResult> sent = (*es)->Send(*envelope);
    if (!sent.ok()) {
      std::fprintf(stderr, "send: %s\n", sent.status().ToString().c_str());
      return 1;
    }
    const std::string& query_id = m.header().message_id();
    bool answered = false;
    while (!answered) {
      absl::StatusOr<endpoint::Subscription::Received> got = (*sub)->Next(absl::Seconds(30));
      if (!got.ok()) {
        std::fprintf(stderr, "no reply to query %d: %s\n", q, got.status().ToString().c_str());
        return 1;
      }
      (void)(*sub)->Ack({got->item.item_id()});
      if (!got->verified.ok()) {
        std::fprintf(stderr, "reply does not verify: %s\n",
                     got->verified.status().ToString().c_str());
        return 1;
      }
      const endpoint::VerifiedItem& v = *got->verified;
      if (v.kind() == endpoint::VerifiedItem::Kind::kNotice &&
          v.statement().notice().message_id() == query_id) {
        std::fprintf(stderr, "query %d not answered: %s\n", q,
                     v.statement().notice().ShortDebugString().c_str());
        return 1;
      }
      if (v.kind() != endpoint::VerifiedItem::Kind::kDelivery ||
          v.message()->linkage_reply().query_id() != query_id) {
        continue;
      }
      answered = true;
      if (q < warmup) break;
      end_to_end.push_back(NowNs() - t0);
      const liaison::v1::Attestation& a = v.statement().attestation();
      inside.push_back(
          absl::ToInt64Nanoseconds(FromProto(a.decided_at()) - FromProto(a.accepted_at())));
      for (const liaison::v1::LinkageHit& h : v.message()->linkage_reply().hits()) hits += h.hit();
    }
  }
  std::printf("\nqueries (ES-PN, %d of 20 identifiers, half of them published, one at a time)\n",
              queries);
  std::printf("  hits         %lld (expected at least %d)\n", static_cast<long long>(hits),
              queries * 10);
  std::printf("  end to end   %s  (Send to the verified reply on the Subscribe stream)\n",
              Format(Summarise(end_to_end)).c_str());
  std::printf("  in broker    %s  (accepted at the front door to decided by the stage)\n",
              Format(Summarise(inside)).c_str());
  const std::vector<int64_t> compute = ComputeOnly(published, queries, rng);
  std::printf(
      "  compute      %s  (decide, search the index, plan the reply, notices and audit: no "
      "Kafka, no signatures)\n",
      Format(Summarise(compute)).c_str());
  const std::vector<int64_t> rtt = KafkaRoundTrips(**broker, queries);
  if (!rtt.empty()) {
    const Percentiles p = Summarise(rtt);
    std::printf(
        "  raw          Kafka round trip, one record produced (acks=all) and read back: %s\n",
        Format(p).c_str());
    std::printf(
        "  bound        a reply takes at least 3 such round trips one after the other: "
        "p50 %.2f ms\n",
        3 * p.p50_ms);
  }
  std::printf("\nmemory         peak RSS %lld MiB, %lld MiB above the idle broker\n",
              static_cast<long long>(StatusKb("VmHWM") / 1024),
              static_cast<long long>((StatusKb("VmHWM") - rss_idle_kb) / 1024));
  std::printf("load average %s\n", LoadAverage().c_str());
  (void)(*sub)->Close();
  return 0;
}

}  // namespace
}  // namespace liaison::bench

int main(int argc, char** argv) {
  CLI::App app("Case linkage through a running broker: publishing and query latency");
  int64_t entries = 200'000;
  int queries = 500, warmup = 20;
  app.add_option("--entries", entries, "identifiers RO-IGPR publishes")->capture_default_str();
  app.add_option("--queries", queries, "20-identifier queries timed")->capture_default_str();
  app.add_option("--warmup", warmup, "queries sent first, not timed")->capture_default_str();
  liaison::bench::Tuning tuning;
  app.add_option("--fetch-wait-max-ms", tuning.fetch_wait_max_ms,
                 "the broker's consumers' fetch.wait.max.ms (0: its default)");
  app.add_option("--linger-ms", tuning.linger_ms,
                 "the broker's producer linger.ms (0: its default)");
  CLI11_PARSE(app, argc, argv);
  return liaison::bench::Run(entries, queries, warmup, tuning);
}
