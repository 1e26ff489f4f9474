// Liaison's own Kafka client path (liaison::kafka over librdkafka) against a
// real Apache Kafka: the 3-node KRaft cluster of deploy/kafka/cluster.sh,
// started once per ctest run by the `kafka_real` fixture (fixture.sh), with
// topics.sh and acls.sh applied. Mutual TLS with the development PKI's Kafka
// certificates; Kafka itself enforces the ACLs. Nothing is mocked.
//
// LIAISON_KAFKA_REAL_STATE names the cluster's state folder (bootstrap,
// clients/<CN>.librdkafka.properties, pki/).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/testing/log_capture.h"
#include "connectors/kafka/admin.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/cluster_probe.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"

namespace liaison::kafka {
namespace {

std::string StateDir() {
  const char* dir = std::getenv("LIAISON_KAFKA_REAL_STATE");
  return dir != nullptr ? dir : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A librdkafka properties file as written by cluster.sh: key=value lines,
// '#' comments.
std::map<std::string, std::string> ReadProperties(const std::string& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::string Bootstrap() {
  return std::string(absl::StripAsciiWhitespace(ReadFile(StateDir() + "/bootstrap")));
}

// The client configuration of principal `cn` (liaison-front, liaison-policy,
// liaison-auditor, liaison-kafka-admin).
ClientConfig ConfigAs(const std::string& cn) {
  ClientConfig config;
  config.bootstrap_servers = Bootstrap();
  config.client_id = "kafka-real-test-" + cn;
  config.properties = ReadProperties(StateDir() + "/clients/" + cn + ".librdkafka.properties");
  return config;
}

struct ShellResult {
  int exit_code = -1;
  std::string output;
};

ShellResult Shell(const std::string& command) {
  ShellResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Produces one record and waits for its report (the producer's own
// message timeout bounds the wait; the deadline here is only a backstop).
DeliveryReport ProduceOne(const ClientConfig& config, const std::string& topic,
                          int message_timeout_ms = 20000) {
  ProducerOptions options;
  options.message_timeout_ms = message_timeout_ms;
  options.shutdown_flush_ms = 1000;
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config, options);
  if (!producer.ok()) {
    DeliveryReport r;
    r.status = producer.status();
    return r;
  }
  absl::Mutex mu;
  bool done = false;
  DeliveryReport report;
  (*producer)->Produce(topic, "case-1", "synthetic alert body", [&](const DeliveryReport& r) {
    absl::MutexLock lock(&mu);
    report = r;
    done = true;
  });
  absl::MutexLock lock(&mu);
  const bool arrived = mu.AwaitWithTimeout(
      absl::Condition(&done), absl::Milliseconds(message_timeout_ms) + absl::Seconds(30));
  if (!arrived) report.status = absl::DeadlineExceededError("no delivery report (test backstop)");
  return report;
}

class KafkaReal : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(StateDir().empty())
        << "LIAISON_KAFKA_REAL_STATE is not set: run through ctest (label kafka-real), whose "
           "fixture starts the cluster";
    ASSERT_TRUE(std::filesystem::exists(StateDir() + "/bootstrap"))
        << "no running cluster in " << StateDir();
  }
};

TEST_F(KafkaReal, PolicyStageMayWriteADeliveryTopic) {
  const DeliveryReport r = ProduceOne(ConfigAs("liaison-policy"), "liaison.deliver.DE-BKA");
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_GE(r.offset, 0);
}

TEST_F(KafkaReal, KafkaRefusesTheFrontDoorWritingADeliveryTopic) {
  const DeliveryReport r = ProduceOne(ConfigAs("liaison-front"), "liaison.deliver.DE-BKA");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kPermissionDenied) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "TOPIC_AUTHORIZATION_FAILED")) << r.status;
  EXPECT_FALSE(r.possibly_persisted);
}

TEST_F(KafkaReal, FrontDoorMayWriteIngress) {
  const DeliveryReport r = ProduceOne(ConfigAs("liaison-front"), "liaison.ingress");
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_GE(r.offset, 0);
}

// The auditor only reads: without IdempotentWrite on the cluster, Kafka
// refuses it a producer id, so it cannot write anything (the audit trail
// included). librdkafka treats that as fatal for the producer.
TEST_F(KafkaReal, AuditorCannotWriteTheAuditTrail) {
  liaison::testing::LogCapture log_lines;
  const DeliveryReport r = ProduceOne(ConfigAs("liaison-auditor"), "liaison.audit");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInternal) << r.status;
  EXPECT_TRUE(log_lines.Has({"kafka.producer.fatal", "CLUSTER_AUTHORIZATION_FAILED"}))
      << log_lines.Text();
}

// Test processes delete their topics when they end (tests/fixtures/
// test_broker.cc): ListTopics names a topic just created, DeleteTopics
// removes it (a second deletion is no error), and Kafka refuses the deletion
// to a principal without the DELETE ACL.
TEST_F(KafkaReal, TopicsAreListedAndDeleted) {
  const ClientConfig policy = ConfigAs("liaison-policy");
  const std::string topic = absl::StrCat("liaison.kr", getpid(), ".scratch");
  ASSERT_TRUE(CreateTopics(policy, {{.name = topic, .partitions = 2}}, absl::Seconds(60)).ok());
  absl::StatusOr<std::vector<std::string>> listed = ListTopics(policy, absl::Seconds(15));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_NE(std::find(listed->begin(), listed->end(), topic), listed->end());
  EXPECT_NE(std::find(listed->begin(), listed->end(), "liaison.ingress"), listed->end());

  absl::Status refused = DeleteTopics(ConfigAs("liaison-front"), {topic}, absl::Seconds(30));
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), topic)) << refused;

  ASSERT_TRUE(DeleteTopics(policy, {topic}, absl::Seconds(30)).ok());
  // The controller has accepted the deletion; the brokers' metadata follows.
  bool gone = false;
  for (int i = 0; i < 60 && !gone; ++i) {
    listed = ListTopics(policy, absl::Seconds(15));
    ASSERT_TRUE(listed.ok()) << listed.status();
    gone = std::find(listed->begin(), listed->end(), topic) == listed->end();
    if (!gone) absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(gone) << topic << " still listed 30 s after its deletion";
  EXPECT_TRUE(DeleteTopics(policy, {topic}, absl::Seconds(30)).ok());
}

// With Nagle's algorithm on (librdkafka's default), a request over TLS that
// leaves in two segments waits for the ACK of the first, which Linux delays
// 40 ms: every acks=all produce then took 40+ ms on an idle cluster (the
// median here was 42 ms). Liaison's clients set socket.nagle.disable.
TEST_F(KafkaReal, ProduceOverTlsIsNotHeldByTheDelayedAck) {
  ProducerOptions options;
  options.linger_ms = 0;
  absl::StatusOr<std::unique_ptr<Producer>> producer =
      Producer::Create(ConfigAs("liaison-policy"), options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  // Held by the delayed ACK, no produce completes in under 40 ms, however
  // many are tried. A loaded machine (the suite runs two tests at a time
  // next to three Kafka nodes on two cores) slows every produce without any
  // ACK delay (seen: 39 ms median, 13 ms fastest; with a build beside the
  // suite 98 ms median, 31 ms fastest; once in CI 218 ms median, 40.4 ms
  // fastest of 40), so the test asks for one produce that was not held, not
  // for a speed, and keeps trying, at least 40 and for up to 60 s, until one
  // completes under the 40 ms the delayed ACK never beats.
  std::vector<absl::Duration> took;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  for (int i = 0; i <= 40 || absl::Now() < give_up; ++i) {
    absl::Mutex mu;
    bool done = false;
    absl::Status status;
    const absl::Time start = absl::Now();
    (*producer)->Produce("liaison.deliver.DE-BKA", absl::StrCat("case-", i), std::string(1024, 'z'),
                         [&](const DeliveryReport& r) {
                           absl::MutexLock lock(&mu);
                           status = r.status;
                           done = true;
                         });
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30)));
    ASSERT_TRUE(status.ok()) << status;
    if (i == 0) continue;  // it also connected: not counted
    took.push_back(absl::Now() - start);
    if (i >= 40 && *std::min_element(took.begin(), took.end()) < absl::Milliseconds(40)) break;
  }
  std::sort(took.begin(), took.end());
  const absl::Duration median = took[took.size() / 2];
  EXPECT_LT(took.front(), absl::Milliseconds(40))
      << took.size() << " produces, median produce -> acknowledged " << median << " (fastest "
      << took.front() << ", slowest " << took.back() << ")";
}

TEST_F(KafkaReal, ProbeReadsMetadataOverMutualTls) {
  absl::StatusOr<std::unique_ptr<ClusterProbe>> probe =
      ClusterProbe::Create(ConfigAs("liaison-policy"));
  ASSERT_TRUE(probe.ok()) << probe.status();
  absl::StatusOr<int> partitions = (*probe)->Partitions("liaison.ingress", absl::Seconds(10));
  ASSERT_TRUE(partitions.ok()) << partitions.status();
  EXPECT_EQ(*partitions, 12);  // topics.sh: INGRESS_PARTITIONS
}

// A second CA with the same name as the network CA (mint-dev-pki.sh
// foreign-ca) and, from it, a Kafka certificate for CN=liaison-policy: same
// principal name, wrong key. Minted once per test process.
const std::string& ForeignPki() {
  static const std::string* dir = [] {
    auto* d = new std::string(StateDir() + "/foreign-pki-" + std::to_string(getpid()));
    std::filesystem::remove_all(*d);
    const std::string mint = std::string(LIAISON_SOURCE_DIR) + "/certs/scripts/mint-dev-pki.sh";
    ShellResult init = Shell(mint + " foreign-ca " + *d);
    ShellResult issue =
        Shell(mint + " issue " + *d + " kafka liaison-policy " + *d + "/kafka/liaison-policy");
    if (init.exit_code != 0 || issue.exit_code != 0) {
      ADD_FAILURE() << init.output << issue.output;
    }
    return d;
  }();
  return *dir;
}

void ExpectNamesBootstrapAndTls(const absl::Status& status) {
  EXPECT_TRUE(absl::StrContains(status.message(), "bootstrap " + Bootstrap())) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "TLS")) << status;
}

TEST_F(KafkaReal, ClientCertificateOfAnotherCaIsRefused) {
  ClientConfig config = ConfigAs("liaison-policy");
  config.properties["ssl.certificate.location"] = ForeignPki() + "/kafka/liaison-policy.pem";
  config.properties["ssl.key.location"] = ForeignPki() + "/kafka/liaison-policy.key";

  // The producer's report reaches senders, so it names no address; the log
  // line for operators says where and why.
  {
    liaison::testing::LogCapture log_lines;
    const DeliveryReport r = ProduceOne(config, "liaison.ingress", /*message_timeout_ms=*/6000);
    EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
    EXPECT_FALSE(absl::StrContains(r.status.message(), "127.0.0.1")) << r.status;
    EXPECT_TRUE(log_lines.Has({"kafka.delivery_failed", Bootstrap(), "TLS: "})) << log_lines.Text();
  }

  absl::StatusOr<std::unique_ptr<ClusterProbe>> probe = ClusterProbe::Create(config);
  ASSERT_TRUE(probe.ok()) << probe.status();
  absl::StatusOr<int> partitions = (*probe)->Partitions("liaison.ingress", absl::Seconds(5));
  ASSERT_FALSE(partitions.ok());
  ExpectNamesBootstrapAndTls(partitions.status());
}

TEST_F(KafkaReal, BrokerCertificateOfAnotherCaIsNotTrusted) {
  ClientConfig config = ConfigAs("liaison-policy");
  config.properties["ssl.ca.location"] = ForeignPki() + "/ca.pem";

  absl::StatusOr<std::unique_ptr<ClusterProbe>> probe = ClusterProbe::Create(config);
  ASSERT_TRUE(probe.ok()) << probe.status();
  absl::StatusOr<int> partitions = (*probe)->Partitions("liaison.ingress", absl::Seconds(5));
  ASSERT_FALSE(partitions.ok());
  ExpectNamesBootstrapAndTls(partitions.status());
  // Whose certificate and why.
  EXPECT_TRUE(absl::StrContains(partitions.status().message(), "certificate verify failed"))
      << partitions.status();
}

TEST_F(KafkaReal, UnreachableBootstrapIsNamedAsRefused) {
  ClientConfig config = ConfigAs("liaison-policy");
  config.bootstrap_servers = "127.0.0.1:1";  // tcpmux: nothing listens there
  absl::StatusOr<std::unique_ptr<ClusterProbe>> probe = ClusterProbe::Create(config);
  ASSERT_TRUE(probe.ok()) << probe.status();
  absl::StatusOr<int> partitions = (*probe)->Partitions("liaison.ingress", absl::Seconds(3));
  ASSERT_FALSE(partitions.ok());
  EXPECT_TRUE(absl::StrContains(partitions.status().message(), "bootstrap 127.0.0.1:1"))
      << partitions.status();
  EXPECT_TRUE(absl::StrContains(partitions.status().message(), "refused")) << partitions.status();
}

}  // namespace
}  // namespace liaison::kafka
