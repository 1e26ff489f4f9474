// The raw cost of the exchange's work on this machine, measured in the
// benchmark's own process: signatures through certs::Signer/Verifier and
// Kafka through connectors/kafka on a fresh embedded cluster; and a count of
// the records a running broker writes, per topic.
#ifndef LIAISON_TESTS_BENCH_RAW_COSTS_H_
#define LIAISON_TESTS_BENCH_RAW_COSTS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "certs/signature.h"
#include "connectors/kafka/cluster_probe.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "tests/bench/process_stats.h"

namespace liaison::bench {

struct CryptoCost {
  double sign_us = 0;                 // CPU per Sign, one thread
  double verify_us = 0;               // CPU per Verify, one thread
  double verify_all_cores_per_s = 0;  // wall rate, one thread per core
};

// Sign and verify `bytes` for `seconds` each on one thread (CPU time per
// operation), then verify on `cores` threads at once (wall rate). The
// certificate is validated once first, as a busy broker has it cached.
CryptoCost MeasureCrypto(const std::string& bytes, const certs::Signer& signer,
                         const certs::Verifier& verifier, double seconds, unsigned cores);

struct KafkaCost {
  int64_t records = 0;
  double produce_per_s = 0;  // first Produce -> last delivery report
  double e2e_per_s = 0;      // first Produce -> last record consumed
  Percentiles latency;       // Produce -> consumed
  int64_t lost = 0;
};

// `records` 1 KiB records produced and consumed through a fresh 3-broker
// embedded cluster, at most `in_flight` ahead of the consumer.
absl::StatusOr<KafkaCost> MeasureKafka(int64_t records, int64_t in_flight);

// One Kafka hop at a gentle rate, the latency floor under the exchange:
// `records` 1 KiB records at `rate` per second (acks=all, idempotent,
// `linger_ms`) into a fresh topic of 6 partitions, read back by a reader-mode
// consumer (fetch.wait.max.ms of `config`). On real Kafka (`real_kafka`) the
// topic `topic` is created with the cluster's replication factor; otherwise
// a fresh 3-broker embedded cluster is started for it (`config` then only
// gives the fetch wait).
struct KafkaHop {
  Percentiles acked;     // Produce -> delivery report (durable: acks=all)
  Percentiles consumed;  // Produce -> the consumer has it
  int64_t failed = 0;
};
absl::StatusOr<KafkaHop> MeasureKafkaHop(kafka::ClientConfig config, bool real_kafka,
                                         const std::string& topic, double rate, int64_t records,
                                         double linger_ms);

// How many records the broker writes to each of its topics: the sum of the
// partitions' high watermarks, through a ClusterProbe (it never fetches).
class TopicCounter {
 public:
  // Counts `topics` of the broker's Kafka (`config`: the embedded mock or a
  // real cluster).
  static absl::StatusOr<std::unique_ptr<TopicCounter>> Create(const kafka::ClientConfig& config,
                                                              std::vector<std::string> topics);
  // Records written so far, by topic.
  std::map<std::string, int64_t> Snapshot();

 private:
  TopicCounter() = default;
  std::vector<std::string> topics_;
  std::unique_ptr<kafka::ClusterProbe> probe_;
};

// Prints the records written per message between two snapshots, by topic
// group ("deliver.<recipient>", "ingress", ...), and returns them ("total":
// all topics).
std::map<std::string, double> PrintKafkaWrites(const std::map<std::string, int64_t>& before,
                                               const std::map<std::string, int64_t>& after,
                                               int64_t messages, double seconds,
                                               const std::vector<std::string>& recipients);

}  // namespace liaison::bench

#endif  // LIAISON_TESTS_BENCH_RAW_COSTS_H_
