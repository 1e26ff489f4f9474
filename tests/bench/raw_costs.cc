#include "tests/bench/raw_costs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "connectors/kafka/cluster_probe.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "tests/bench/process_stats.h"

namespace liaison::bench {
namespace {

template <typename Op>
double CpuMicrosPerOp(Op op, double seconds) {
  const int64_t wall0 = NowNs(), cpu0 = ThreadCpuNs();
  int64_t n = 0;
  while (NowNs() - wall0 < seconds * 1e9) {
    for (int i = 0; i < 32; ++i) op();
    n += 32;
  }
  return (ThreadCpuNs() - cpu0) / 1e3 / n;
}

// "liaison.deliver.ES-PN" -> "deliver.<recipient>" etc.
std::string TopicGroup(const std::string& topic, const std::vector<std::string>& recipients) {
  // The name after the broker's prefix, which may hold dots itself (on real
  // Kafka "liaison.t<pid>-<n>"): from the first known topic name on.
  size_t at = std::string::npos;
  for (const char* name : {".ingress", ".audit", ".deliver.", ".registry.", ".index.", ".holds",
                           ".linkage.", ".evidence"}) {
    at = std::min(at, topic.find(name));
  }
  if (at == std::string::npos) at = topic.find('.');
  std::string t = topic.substr(at + 1);
  if (t.rfind("deliver.", 0) == 0) {
    const std::string endpoint = t.substr(8);
    const bool recipient =
        std::find(recipients.begin(), recipients.end(), endpoint) != recipients.end();
    return recipient ? "deliver.<recipient>" : "deliver.<sender>";
  }
  return t;
}

}  // namespace

CryptoCost MeasureCrypto(const std::string& bytes, const certs::Signer& signer,
                         const certs::Verifier& verifier, double seconds, unsigned cores) {
  CryptoCost c;
  absl::StatusOr<std::string> signature = signer.Sign(bytes);
  if (!signature.ok()) {
    std::fprintf(stderr, "sign: %s\n", signature.status().ToString().c_str());
    std::exit(1);
  }
  const std::string der = signer.certificate().der();
  auto verify = [&] {
    absl::StatusOr<certs::Identity> id =
        verifier.Verify(bytes, *signature, der, certs::Role::kEndpointSigning, absl::Now());
    if (!id.ok()) {
      std::fprintf(stderr, "verify: %s\n", id.status().ToString().c_str());
      std::exit(1);
    }
  };
  verify();  // validates and caches the certificate, as a busy broker has
  c.sign_us = CpuMicrosPerOp([&] { (void)signer.Sign(bytes); }, seconds);
  c.verify_us = CpuMicrosPerOp(verify, seconds);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> threads;
  const int64_t t0 = NowNs();
  for (unsigned i = 0; i < cores; ++i) {
    threads.emplace_back([&] {
      int64_t n = 0;
      while (NowNs() - t0 < seconds * 1e9) {
        verify();
        ++n;
      }
      total += n;
    });
  }
  for (std::thread& t : threads) t.join();
  c.verify_all_cores_per_s = total / ((NowNs() - t0) / 1e9);
  return c;
}

// 1 KiB records, acks=all idempotent producer (connectors/kafka defaults)
// into 6 partitions of a fresh 3-broker embedded cluster, read back by a
// reader-mode consumer (no group join) polling concurrently. The producer
// keeps at most `in_flight` records ahead of the consumer: the mock keeps
// only 5 MiB per partition, so a flood would outrun the consumer and lose
// records (reported as a gap), and the figure wanted is the sustained rate.
absl::StatusOr<KafkaCost> MeasureKafka(int64_t records, int64_t in_flight) {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
      kafka::EmbeddedCluster::Start(3);
  if (!cluster.ok()) return cluster.status();
  const std::string topic = "bench.raw";
  if (absl::Status s = (*cluster)->CreateTopic(topic, 6, 3); !s.ok()) return s;
  kafka::ClientConfig config;
  config.bootstrap_servers = (*cluster)->bootstrap_servers();
  config.fetch_wait_max_ms = 5;  // as the broker sets it against the mock
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
  if (!producer.ok()) return producer.status();
  kafka::ConsumerOptions options;
  options.topics = {topic};
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(config, options);
  if (!consumer.ok()) return consumer.status();

  const int64_t warm = std::min<int64_t>({1000, records / 10, in_flight});
  std::atomic<int64_t> acked{0}, failed{0}, last_ack_ns{0}, consumed_so_far{0};
  auto produce = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      while (i - consumed_so_far.load() >= in_flight)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::string value(1024, 'k');
      const int64_t now = NowNs();
      std::memcpy(value.data(), &now, sizeof now);
      (*producer)->Produce(topic, "", std::move(value), [&](const kafka::DeliveryReport& r) {
        if (!r.status.ok()) ++failed;
        ++acked;
        last_ack_ns = NowNs();
      });
    }
  };
  std::vector<int64_t> latencies;
  latencies.reserve(records);
  int64_t consumed = 0, lost = 0, last_ns = 0;
  auto consume_until = [&](int64_t target, bool measure) {
    int64_t idle_since = NowNs();
    while (consumed + lost < target && NowNs() - idle_since < 10'000'000'000LL) {
      absl::StatusOr<kafka::PollResult> polled = (*consumer)->Poll(absl::Milliseconds(100), 1000);
      if (!polled.ok()) return polled.status();
      for (const kafka::Gap& g : polled->gaps) lost += g.to - g.from;
      const int64_t now = NowNs();
      for (const kafka::Record& r : polled->records) {
        if (measure && r.value.size() >= sizeof(int64_t)) {
          int64_t sent = 0;
          std::memcpy(&sent, r.value.data(), sizeof sent);
          latencies.push_back(now - sent);
        }
        ++consumed;
        last_ns = now;
        if (measure) consumed_so_far = consumed - warm;
        idle_since = now;
      }
    }
    return absl::OkStatus();
  };
  consumed_so_far = warm;  // the warm-up is smaller than in_flight
  produce(warm);
  if (absl::Status s = consume_until(warm, false); !s.ok()) return s;
  consumed_so_far = 0;
  acked = 0;

  KafkaCost cost;
  const int64_t t0 = NowNs();
  std::thread producing([&] { produce(records); });
  absl::Status consumed_status = consume_until(warm + records, true);
  producing.join();
  (void)(*producer)->Flush(absl::Seconds(30));
  if (!consumed_status.ok()) return consumed_status;
  cost.records = consumed - warm;
  cost.lost = lost + failed;
  cost.produce_per_s = acked / ((last_ack_ns - t0) / 1e9);
  cost.e2e_per_s = cost.records / ((last_ns - t0) / 1e9);
  cost.latency = Summarise(std::move(latencies));
  producer->reset();
  (void)(*consumer)->Close();
  consumer->reset();
  return cost;
}

absl::StatusOr<KafkaHop> MeasureKafkaHop(kafka::ClientConfig config, bool real_kafka,
                                         const std::string& topic, double rate, int64_t records,
                                         double linger_ms) {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  if (real_kafka) {
    kafka::TopicSpec spec{.name = topic, .partitions = 6, .replication_factor = -1};
    if (absl::Status s = kafka::CreateTopics(config, {spec}, absl::Seconds(30)); !s.ok()) return s;
  } else {
    absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> c = kafka::EmbeddedCluster::Start(3);
    if (!c.ok()) return c.status();
    cluster = std::move(*c);
    if (absl::Status s = cluster->CreateTopic(topic, 6, 3); !s.ok()) return s;
    config.bootstrap_servers = cluster->bootstrap_servers();
  }
  kafka::ProducerOptions producer_options;
  producer_options.linger_ms = linger_ms;
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(config, producer_options);
  if (!producer.ok()) return producer.status();
  kafka::ConsumerOptions options;
  options.topics = {topic};
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(config, options);
  if (!consumer.ok()) return consumer.status();

  absl::Mutex mu;
  std::vector<int64_t> acked;
  std::atomic<int64_t> failed{0};
  // The first records also wait for metadata, connections, the producer id
  // and the consumer's first fetches: the measured ones start once the
  // consumer has read every one of them.
  const int64_t warm = 20;
  std::atomic<int64_t> seen_so_far{0};
  std::thread producer_thread([&] {
    int64_t start = NowNs();
    for (int64_t i = 0; i < warm + records; ++i) {
      if (i == warm) {
        const int64_t give_up = NowNs() + 60'000'000'000LL;
        while (seen_so_far < warm && NowNs() < give_up) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        start = NowNs() - static_cast<int64_t>(warm * 1e9 / rate);
      }
      const int64_t due = start + static_cast<int64_t>(i * 1e9 / rate);
      if (const int64_t now = NowNs(); due > now) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
      }
      std::string value(1024, 'k');
      const int64_t sent = NowNs();
      std::memcpy(value.data(), &sent, sizeof sent);
      std::memcpy(value.data() + sizeof sent, &i, sizeof i);
      (*producer)->Produce(topic, std::to_string(i), std::move(value),
                           [&, sent, i](const kafka::DeliveryReport& r) {
                             if (!r.status.ok()) ++failed;
                             if (i < warm) return;
                             absl::MutexLock lock(&mu);
                             acked.push_back(NowNs() - sent);
                           });
    }
  });
  std::vector<int64_t> consumed;
  int64_t seen = 0, idle_since = NowNs();
  while (seen < warm + records && NowNs() - idle_since < 30'000'000'000LL) {
    absl::StatusOr<kafka::PollResult> polled = (*consumer)->Poll(absl::Milliseconds(100), 1000);
    if (!polled.ok()) {
      producer_thread.join();
      return polled.status();
    }
    const int64_t now = NowNs();
    for (const kafka::Record& r : polled->records) {
      if (r.value.size() < 2 * sizeof(int64_t)) continue;
      int64_t sent = 0, i = 0;
      std::memcpy(&sent, r.value.data(), sizeof sent);
      std::memcpy(&i, r.value.data() + sizeof sent, sizeof i);
      if (i >= warm) consumed.push_back(now - sent);
      seen_so_far = ++seen;
      idle_since = now;
    }
  }
  producer_thread.join();
  (void)(*producer)->Flush(absl::Seconds(30));
  KafkaHop hop;
  {
    absl::MutexLock lock(&mu);
    hop.acked = Summarise(acked);
  }
  hop.consumed = Summarise(std::move(consumed));
  hop.failed = failed + (warm + records - seen);
  producer->reset();
  (void)(*consumer)->Close();
  return hop;
}

// The counter reads watermarks through a ClusterProbe, which never fetches:
// a watermark query on a consumer's connection waits behind its held fetch
// (Kafka answers one request per connection at a time; the mock holds an
// empty fetch the full fetch.wait.max.ms), and the counter adds no load.
absl::StatusOr<std::unique_ptr<TopicCounter>> TopicCounter::Create(
    const kafka::ClientConfig& config, std::vector<std::string> topics) {
  absl::StatusOr<std::unique_ptr<kafka::ClusterProbe>> probe = kafka::ClusterProbe::Create(config);
  if (!probe.ok()) return probe.status();
  auto out = std::unique_ptr<TopicCounter>(new TopicCounter());
  out->probe_ = std::move(*probe);
  out->topics_ = std::move(topics);
  return out;
}

std::map<std::string, int64_t> TopicCounter::Snapshot() {
  std::map<std::string, int64_t> out;
  for (const std::string& topic : topics_) {
    absl::StatusOr<int64_t> written = probe_->Written(topic, absl::Seconds(5));
    if (written.ok()) out[topic] = *written;
  }
  return out;
}

std::map<std::string, double> PrintKafkaWrites(const std::map<std::string, int64_t>& before,
                                               const std::map<std::string, int64_t>& after,
                                               int64_t messages, double seconds,
                                               const std::vector<std::string>& recipients) {
  std::map<std::string, int64_t> groups;
  int64_t total = 0;
  for (const auto& [topic, high] : after) {
    auto it = before.find(topic);
    const int64_t n = high - (it == before.end() ? 0 : it->second);
    if (n <= 0) continue;
    groups[TopicGroup(topic, recipients)] += n;
    total += n;
  }
  std::printf("  kafka writes %.2f records per message (%.0f records/s):",
              static_cast<double>(total) / std::max<int64_t>(1, messages),
              seconds > 0 ? total / seconds : 0.0);
  std::map<std::string, double> per_message;
  const double m = static_cast<double>(std::max<int64_t>(1, messages));
  per_message["total"] = total / m;
  for (const auto& [group, n] : groups) {
    std::printf(" %s %.2f", group.c_str(), n / m);
    per_message[group] = n / m;
  }
  std::printf("\n");
  return per_message;
}

}  // namespace liaison::bench
