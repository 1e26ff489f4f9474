// The operators' views through a running broker (embedded Kafka, real mTLS):
// the admin gRPC service (operator certificates only), /metrics, the JSON
// and event-stream endpoints of the dashboard server (HTTP in the embedded
// mode, HTTPS with operator certificates otherwise). That none of them shows
// content is operator_privacy_test.cc.
#include <httplib.h>

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "broker/core/clock.h"
#include "broker/operators/http_server.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/prometheus_text.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"
#include "tests/integration/operator_test_util.h"

namespace liaison::testing {
namespace {

namespace sc = liaison::policy::scenario;
using endpoint::Client;
using liaison::v1::Admin;

// ---- authentication -----------------------------------------------------

TEST(OperatorAdmin, OnlyOperatorCertificatesAreServedOnTheAdminListener) {
  const TestPki& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string revoked,
                               pki.Issue("operator", "ops-revoked", "ops-revoked"));
  LIAISON_ASSERT_OK(pki.Revoke(revoked));
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  ASSERT_GT(broker->node().admin_port(), 0);
  ASSERT_NE(broker->node().admin_port(), broker->node().port()) << "its own listener";

  // An operator certificate: served.
  auto ops = AdminStub(*broker, OperatorPrefix());
  liaison::v1::HealthResponse health = Health(*ops);
  EXPECT_EQ(health.node_id(), broker->node().node_id());
  EXPECT_FALSE(health.policy_version().empty());
  EXPECT_FALSE(health.registry_version().empty());

  // An endpoint's TLS certificate (valid, wrong role): PERMISSION_DENIED on
  // every method, the stream included.
  auto endpoint = AdminStub(*broker, pki.dir + "/endpoints/DE-BKA/tls");
  {
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::HealthResponse out;
    grpc::Status s = endpoint->GetHealth(&c, {}, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "role 'endpoint-tls'")) << s.error_message();
  }
  {
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::ListHoldsResponse out;
    EXPECT_EQ(endpoint->ListHolds(&c, {}, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    FlowWatch watch(*endpoint, 10);
    EXPECT_EQ(watch.Finished().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // No client certificate: UNAUTHENTICATED.
  auto anonymous = AdminStub(*broker, "");
  {
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::ListEndpointsResponse out;
    grpc::Status s = anonymous->ListEndpoints(&c, {}, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "no client certificate"));
  }
  // A revoked operator certificate: UNAUTHENTICATED.
  auto revoked_ops = AdminStub(*broker, revoked);
  {
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::HealthResponse out;
    grpc::Status s = revoked_ops->GetHealth(&c, {}, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "revoked")) << s.error_message();
  }
  // The Exchange listener does not serve the Admin service.
  {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrDie(pki.ca());
    ssl.pem_cert_chain = ReadFileOrDie(OperatorPrefix() + ".pem");
    ssl.pem_private_key = ReadFileOrDie(OperatorPrefix() + ".key");
    auto on_exchange =
        Admin::NewStub(grpc::CreateChannel(broker->target(), grpc::SslCredentials(ssl)));
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::HealthResponse out;
    EXPECT_EQ(on_exchange->GetHealth(&c, {}, &out).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
}

// ---- flows, events, endpoints, health --------------------------------------

// One message to three recipients: three decisions, three audit entries
// sealed into one Kafka record. Health and /metrics count entries; the topic
// figure counts records (a bug once reported records as entries), signed
// checkpoints included.
TEST(OperatorAdmin, AuditFiguresCountEntriesAndRecordsApart) {
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  auto ops = AdminStub(*broker, OperatorPrefix());
  FlowWatch watch(*ops, 0);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));
  liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA", "NL-NP", "FR-OCRTEH"}, absl::Now());
  const std::string id = m.header().message_id();
  LIAISON_ASSERT_OK(SealAndSend(*ro, m, absl::Now()));
  // Flow events are published once the audit record is acknowledged.
  watch.WaitFor([&](const auto& got) {
    int n = 0;
    for (const auto& e : got) n += e.message_id() == id ? 1 : 0;
    return n == 3;
  });
  // The topic holds that record and, once the node signed it, one checkpoint
  // of the chain's head (the chain does not grow again: no second one).
  liaison::v1::HealthResponse health;
  EXPECT_TRUE(liaison::testing::WaitFor(
      [&] {
        broker->node().ProbeKafkaForTest();
        health = Health(*ops);
        return health.audit_topic_records() == 2;
      },
      absl::Seconds(30)))
      << health.DebugString();
  EXPECT_EQ(health.audit_entries_written(), 3) << health.DebugString();
}

TEST(OperatorAdmin, FlowStatsEventStreamAndEndpointsShowAMessageSentDuringTheTest) {
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  auto ops = AdminStub(*broker, OperatorPrefix());
  FlowWatch watch(*ops, 0);
  std::vector<std::unique_ptr<Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs, SubscribeAll(*broker, {"DE-BKA"}, clients));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));

  // NL-NP does not subscribe: its delivery waits in Kafka.
  liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA", "NL-NP"}, absl::Now());
  const std::string id = m.header().message_id();
  LIAISON_ASSERT_OK(SealAndSend(*ro, m, absl::Now()));

  std::vector<liaison::v1::FlowEventInfo> events = watch.WaitFor([&](const auto& got) {
    std::set<std::string> recipients;
    for (const auto& e : got) {
      if (e.message_id() == id) recipients.insert(e.recipient());
    }
    return recipients.size() == 2;
  });
  std::set<std::string> recipients;
  for (const auto& e : events) {
    if (e.message_id() != id) continue;
    recipients.insert(e.recipient());
    EXPECT_EQ(e.kind(), liaison::v1::KIND_ALERT);
    EXPECT_EQ(e.sender(), "RO-IGPR");
    EXPECT_GT(e.bytes(), 100);
    EXPECT_EQ(e.outcome(), liaison::v1::OUTCOME_ALLOW);
    EXPECT_EQ(e.event(), "decided");
    EXPECT_TRUE(e.has_latency());
    EXPECT_GT(e.seq(), 0u);
  }
  EXPECT_EQ(recipients, (std::set<std::string>{"DE-BKA", "NL-NP"}));

  // Flow statistics: the default windows (1 min, 15 min, 1 h) all count it.
  liaison::v1::FlowStatsResponse flows = Flows(*ops);
  ASSERT_EQ(flows.windows_size(), 3);
  EXPECT_EQ(flows.windows(0).window().seconds(), 60);
  EXPECT_EQ(flows.windows(2).window().seconds(), 3600);
  for (const auto& w : flows.windows()) {
    int64_t to_de = 0;
    for (const auto& f : w.flows()) {
      if (f.sender() == "RO-IGPR" && f.recipient() == "DE-BKA" &&
          f.kind() == liaison::v1::KIND_ALERT && f.outcome() == liaison::v1::OUTCOME_ALLOW) {
        to_de += f.count();
        EXPECT_GT(f.bytes(), 100);
      }
    }
    EXPECT_EQ(to_de, 1) << w.DebugString();
    EXPECT_GE(w.decisions(), 2);
  }
  // A bad window is INVALID_ARGUMENT naming the field.
  {
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::FlowStatsRequest bad;
    bad.add_windows()->set_seconds(-5);
    liaison::v1::FlowStatsResponse out;
    grpc::Status s = ops->GetFlowStats(&c, bad, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "windows[0]"));
  }

  // DE-BKA receives and acknowledges; NL-NP's copy is pending in Kafka.
  ASSERT_EQ(Collect(*subs[0], 1, absl::Seconds(30)).size(), 1u);
  broker->node().ProbeKafkaForTest();
  ASSERT_TRUE(WaitFor([&] {
    liaison::v1::ListEndpointsResponse list = Endpoints(*ops);
    const liaison::v1::EndpointState* de = FindEndpoint(list, "DE-BKA");
    return de != nullptr && de->acknowledged() >= 1 && de->backlog() == 0;
  }));
  broker->node().ProbeKafkaForTest();
  liaison::v1::ListEndpointsResponse list = Endpoints(*ops);
  EXPECT_EQ(list.endpoints_size(), 10);
  const liaison::v1::EndpointState* de = FindEndpoint(list, "DE-BKA");
  ASSERT_NE(de, nullptr);
  EXPECT_TRUE(de->in_registry());
  EXPECT_EQ(de->country(), "DE");
  EXPECT_EQ(de->subscribers(), 1);
  EXPECT_GE(de->delivered(), 1);
  EXPECT_TRUE(de->has_last_seen());
  const liaison::v1::EndpointState* nl = FindEndpoint(list, "NL-NP");
  ASSERT_NE(nl, nullptr);
  EXPECT_EQ(nl->subscribers(), 0);
  EXPECT_FALSE(nl->has_last_seen());
  EXPECT_GE(nl->pending_in_kafka(), 1) << "NL-NP's delivery waits in its topic";

  // Health: Kafka reachable, lag per topic, versions, partitions, uptime.
  liaison::v1::HealthResponse health = Health(*ops);
  EXPECT_TRUE(health.kafka_reachable()) << health.kafka_error();
  EXPECT_EQ(health.embedded_kafka(), !OnRealKafka());
  EXPECT_TRUE(health.policy_stage());
  EXPECT_EQ(health.owned_ingress_partitions_size(), 6);
  EXPECT_GT(health.uptime().seconds() + health.uptime().nanos(), 0);
  EXPECT_GE(health.accepted(), 1);
  EXPECT_GE(health.audit_entries_written(), 2);
  EXPECT_GE(health.audit_topic_records(), 2);
  std::map<std::string, int64_t> lags;
  for (const auto& l : health.lags()) lags[l.topic()] = l.records();
  ASSERT_TRUE(lags.count("liaison.ingress")) << health.DebugString();
  EXPECT_GE(lags["liaison.ingress"], 0);
  EXPECT_GE(lags["liaison.deliver.NL-NP"], 1);
}

TEST(OperatorAdmin, HeldMessageIsListedWithMetadataOnly) {
  broker::ManualClock clock(sc::T0());
  TestBrokerOptions options;
  options.clock = &clock;
  auto broker = StartOperatorBroker(options);
  ASSERT_NE(broker, nullptr);
  auto ops = AdminStub(*broker, OperatorPrefix());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));
  // AC-02: the missing-child alert to GB-NCA waits for RO-IGPR's approval.
  liaison::v1::Message alert = sc::Ac02MissingChildAlertWide();
  const std::string id = alert.header().message_id();
  LIAISON_ASSERT_OK(SealAndSend(*ro, alert, sc::T0()));

  liaison::v1::ListHoldsResponse holds;
  ASSERT_TRUE(WaitFor([&] {
    holds = Holds(*ops);
    return holds.holds_size() > 0;
  })) << "no hold listed";
  ASSERT_EQ(holds.holds_size(), 1) << holds.DebugString();
  const liaison::v1::HoldInfo& h = holds.holds(0);
  EXPECT_EQ(h.message_id(), id);
  EXPECT_EQ(h.sender(), "RO-IGPR");
  EXPECT_EQ(h.recipient(), "GB-NCA");
  EXPECT_EQ(h.outcome(), liaison::v1::OUTCOME_HOLD);
  ASSERT_GE(h.awaiting_size(), 1);
  EXPECT_TRUE(absl::StrContains(h.awaiting(0), "RO-IGPR"));
  EXPECT_TRUE(absl::StrContains(h.awaiting(0), "DP-CHILD-01"));
  EXPECT_FALSE(h.hold_id().empty());
  EXPECT_TRUE(h.has_due());
  for (const std::string& value : sc::PersonalValues()) {
    EXPECT_FALSE(absl::StrContains(h.DebugString(), value)) << value;
  }
  // The same on the dashboard server, and in the health view.
  HttpResult api = HttpGet(*broker, "/api/holds");
  EXPECT_EQ(api.status, 200);
  EXPECT_TRUE(absl::StrContains(api.body, id));
  EXPECT_TRUE(absl::StrContains(api.body, "\"OUTCOME_HOLD\""));
  EXPECT_EQ(Health(*ops).holds_pending(), 1);
  // The flow view shows the three outcomes of AC-02 (reported once every
  // record the decisions caused is durable in Kafka).
  std::map<std::string, liaison::v1::Outcome> outcomes;
  EXPECT_TRUE(WaitFor([&] {
    const liaison::v1::FlowStatsResponse flows = Flows(*ops);
    if (flows.windows_size() == 0) return false;
    for (const auto& f : flows.windows(0).flows()) {
      if (f.sender() == "RO-IGPR") outcomes[f.recipient()] = f.outcome();
    }
    return outcomes.size() == 9;
  }));
  EXPECT_EQ(outcomes["GB-NCA"], liaison::v1::OUTCOME_HOLD);
  EXPECT_EQ(outcomes["MD-IGP"], liaison::v1::OUTCOME_REJECT);
  EXPECT_EQ(outcomes["DE-BKA"], liaison::v1::OUTCOME_ALLOW);
}

// AC-04: only DP-PURPOSE-01 rejects ES-PN's PROTECT_VICTIM request to SE-NOA.
// Rules that merely redacted or attached obligations on the way (DP-HC-01's
// H0 condition, for one) did not decide the REJECT: the flow event, the
// "outcomes by rule" counts and the rule metric name the deciding rule only
// (they once counted every rule that hit).
TEST(OperatorAdmin, OutcomesByRuleCountOnlyTheDecidingRules) {
  broker::ManualClock clock(sc::T0());
  TestBrokerOptions options;
  options.clock = &clock;
  auto broker = StartOperatorBroker(options);
  ASSERT_NE(broker, nullptr);
  auto ops = AdminStub(*broker, OperatorPrefix());
  FlowWatch watch(*ops, 0);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto es, broker->Client("ES-PN"));
  liaison::v1::Message m = sc::Ac04ProtectVictimToSe();
  const std::string id = m.header().message_id();
  LIAISON_ASSERT_OK(SealAndSend(*es, m, sc::T0()));

  std::vector<liaison::v1::FlowEventInfo> events = watch.WaitFor([&](const auto& got) {
    for (const auto& e : got) {
      if (e.message_id() == id) return true;
    }
    return false;
  });
  for (const auto& e : events) {
    if (e.message_id() != id) continue;
    EXPECT_EQ(e.outcome(), liaison::v1::OUTCOME_REJECT);
    EXPECT_EQ(std::vector<std::string>(e.rule_ids().begin(), e.rule_ids().end()),
              std::vector<std::string>{"DP-PURPOSE-01"})
        << e.DebugString();
  }
  const liaison::v1::FlowStatsResponse flows = Flows(*ops);
  ASSERT_GT(flows.windows_size(), 0);
  std::map<std::string, int64_t> rejects;
  for (const auto& r : flows.windows(0).rules()) {
    if (r.outcome() == liaison::v1::OUTCOME_REJECT) rejects[r.rule_id()] += r.count();
  }
  EXPECT_EQ(rejects, (std::map<std::string, int64_t>{{"DP-PURPOSE-01", 1}}))
      << flows.windows(0).DebugString();

  HttpResult r = HttpGet(*broker, "/metrics");
  ASSERT_EQ(r.status, 200);
  LIAISON_ASSERT_OK_AND_ASSIGN(PromText metrics, ParsePrometheusText(r.body));
  EXPECT_EQ(metrics.Sum("liaison_policy_rule_decisions_total", {{"outcome", "REJECT"}}), 1);
  EXPECT_EQ(metrics.Value("liaison_policy_rule_decisions_total",
                          {{"rule_id", "DP-PURPOSE-01"}, {"outcome", "REJECT"}}),
            1);
}

// ---- /metrics ----------------------------------------------------------------

TEST(OperatorMetrics, MetricsParseAsPrometheusTextWithTheExpectedSeries) {
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs, SubscribeAll(*broker, {"DE-BKA"}, clients));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));
  LIAISON_ASSERT_OK(SealAndSend(*ro, TestAlert("RO-IGPR", {"DE-BKA"}, absl::Now()), absl::Now()));
  // A refused send: a tampered signature is INVALID_ARGUMENT.
  liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA"}, absl::Now());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, ro->Seal(m, absl::Now()));
  (*envelope.mutable_message())[10] ^= 1;
  EXPECT_FALSE(ro->Send(envelope).ok());
  ASSERT_EQ(Collect(*subs[0], 1, absl::Seconds(30)).size(), 1u);
  broker->node().ProbeKafkaForTest();

  PromText metrics;
  ASSERT_TRUE(WaitFor([&] {
    HttpResult r = HttpGet(*broker, "/metrics");
    if (r.status != 200) return false;
    EXPECT_TRUE(absl::StartsWith(r.content_type, "text/plain; version=0.0.4")) << r.content_type;
    absl::StatusOr<PromText> parsed = ParsePrometheusText(r.body);
    EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << r.body;
    if (!parsed.ok()) return true;
    metrics = *parsed;
    // Decisions are reported once everything they caused is durable, which
    // may be after the recipient already has the item.
    return metrics.Sum("liaison_end_to_end_latency_seconds_count") >= 1 &&
           metrics.Sum("liaison_policy_decisions_total") >= 1;
  }));
  EXPECT_EQ(metrics.Value("liaison_messages_accepted_total", {{"sender", "RO-IGPR"}}), 1);
  EXPECT_EQ(metrics.Value("liaison_messages_rejected_total", {{"code", "INVALID_ARGUMENT"}}), 1);
  EXPECT_EQ(metrics.Value("liaison_policy_decisions_total",
                          {{"kind", "ALERT"}, {"outcome", "ALLOW"}, {"event", "decided"}}),
            1);
  EXPECT_EQ(metrics.Value("liaison_flows_total",
                          {{"sender", "RO-IGPR"}, {"recipient", "DE-BKA"}, {"outcome", "ALLOW"}}),
            1);
  EXPECT_GE(metrics.Value("liaison_deliveries_pushed_total",
                          {{"endpoint", "DE-BKA"}, {"type", "delivery"}}),
            1);
  EXPECT_EQ(metrics.Value("liaison_deliveries_acknowledged_total",
                          {{"endpoint", "DE-BKA"}, {"type", "delivery"}}),
            1);
  EXPECT_EQ(metrics.Value("liaison_end_to_end_latency_seconds_count"), 1);
  EXPECT_EQ(metrics.Value("liaison_kafka_produce_latency_seconds_count", {{"result", "ok"}}), 1);
  EXPECT_EQ(metrics.Value("liaison_grpc_requests_total",
                          {{"method", "liaison.v1.Exchange/Send"}, {"code", "OK"}}),
            1);
  EXPECT_EQ(metrics.Value("liaison_subscribers_connected", {{"endpoint", "DE-BKA"}}), 1);
  EXPECT_EQ(metrics.Value("liaison_delivery_backlog_items", {{"endpoint", "DE-BKA"}}), 0);
  EXPECT_EQ(metrics.Value("liaison_holds_pending"), 0);
  EXPECT_GE(metrics.Value("liaison_audit_entries_written_total"), 1);
  EXPECT_GE(metrics.Value("liaison_audit_topic_records"), 1);
  EXPECT_EQ(metrics.Value("liaison_kafka_reachable"), 1);
  EXPECT_GE(metrics.Value("liaison_consumer_lag_records",
                          {{"topic", "liaison.ingress"}, {"group", "liaison-policy"}}),
            0);
  EXPECT_EQ(metrics.Value("liaison_policy_owned_partitions"), 6);
  EXPECT_GT(metrics.Value("liaison_uptime_seconds"), 0);
  for (const char* family :
       {"liaison_kafka_records_lost_total", "liaison_policy_rule_decisions_total",
        "liaison_http_requests_total", "liaison_policy_decision_latency_seconds",
        "liaison_node_info", "liaison_messages_duplicate_total"}) {
    EXPECT_TRUE(metrics.HasFamily(family)) << family;
  }
  EXPECT_EQ(metrics.types["liaison_end_to_end_latency_seconds"], "histogram");
  EXPECT_EQ(metrics.types["liaison_messages_accepted_total"], "counter");
  EXPECT_EQ(metrics.types["liaison_holds_pending"], "gauge");
  // Every name is liaison_* and counters end in _total.
  for (const auto& [family, type] : metrics.types) {
    EXPECT_TRUE(absl::StartsWith(family, "liaison_")) << family;
    if (type == "counter") EXPECT_TRUE(absl::EndsWith(family, "_total")) << family;
  }
  // docs/operators.md names every metric; the Grafana dashboard charts only
  // metrics that exist.
  const std::string docs = ReadFileOrDie(SourcePath("docs/operators.md"));
  for (const auto& [family, type] : metrics.types) {
    EXPECT_TRUE(absl::StrContains(docs, "`" + family + "`")) << family << " undocumented";
  }
  const std::string grafana = ReadFileOrDie(SourcePath("deploy/grafana/liaison-dashboard.json"));
  for (size_t at = grafana.find("liaison_"); at != std::string::npos;
       at = grafana.find("liaison_", at + 1)) {
    size_t end = at;
    while (end < grafana.size() &&
           (std::isalnum(static_cast<unsigned char>(grafana[end])) || grafana[end] == '_')) {
      ++end;
    }
    std::string name = grafana.substr(at, end - at);
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      if (absl::EndsWith(name, suffix) && !metrics.HasFamily(name)) {
        name.resize(name.size() - std::string(suffix).size());
      }
    }
    EXPECT_TRUE(metrics.HasFamily(name)) << name << " in the Grafana dashboard";
  }
}

// ---- the dashboard server's JSON and event stream ------------------------------

TEST(OperatorHttp, JsonViewsAndEventStreamShowAMessageSentDuringTheTest) {
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  HttpResult page = HttpGet(*broker, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(absl::StrContains(page.body, "Liaison operations"));
  EXPECT_EQ(HttpGet(*broker, "/dashboard.js").status, 200);
  EXPECT_EQ(HttpGet(*broker, "/nothing-here").status, 404);

  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));
  liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA", "LV-VP"}, absl::Now());
  const std::string id = m.header().message_id();
  // Open the stream before sending: the event must arrive live.
  std::string stream;
  std::thread reader([&] {
    stream = ReadEvents(*broker, "/api/events?replay=0", [&](const std::string& body) {
      return absl::StrContains(body, id) && absl::StrContains(body, "LV-VP");
    });
  });
  absl::SleepFor(absl::Milliseconds(300));  // lets the stream open (it replays nothing)
  LIAISON_ASSERT_OK(SealAndSend(*ro, m, absl::Now()));
  reader.join();
  EXPECT_TRUE(absl::StrContains(stream, "retry: 2000"));
  EXPECT_TRUE(absl::StrContains(stream, "event: flow\ndata: {")) << stream;
  EXPECT_TRUE(absl::StrContains(stream, id)) << stream;

  HttpResult flows = HttpGet(*broker, "/api/flows?windows=60,900");
  EXPECT_EQ(flows.status, 200);
  EXPECT_EQ(flows.content_type, "application/json");
  EXPECT_TRUE(absl::StrContains(flows.body, "\"recipient\":\"LV-VP\"")) << flows.body;
  EXPECT_EQ(HttpGet(*broker, "/api/flows?windows=abc").status, 400);
  HttpResult recent = HttpGet(*broker, "/api/recent?max=10");
  EXPECT_TRUE(absl::StrContains(recent.body, id));
  HttpResult endpoints = HttpGet(*broker, "/api/endpoints");
  EXPECT_TRUE(absl::StrContains(endpoints.body, "\"endpoint_id\":\"MD-IGP\""));
  HttpResult health = HttpGet(*broker, "/api/health");
  EXPECT_TRUE(absl::StrContains(health.body, broker->node().node_id()));
  // A reconnecting browser resumes after the last event it saw.
  const std::string resumed = ReadEvents(*broker, "/api/events?replay=1000",
                                         [](const std::string& b) { return b.size() > 20; });
  EXPECT_TRUE(absl::StrContains(resumed, "id: 1\n")) << resumed;
}

TEST(OperatorHttp, TlsDashboardRequiresAnOperatorCertificate) {
  TestBrokerOptions options;
  options.http_security = broker::HttpSecurity::kTls;
  auto broker = StartOperatorBroker(options);
  ASSERT_NE(broker, nullptr);
  ASSERT_TRUE(absl::StartsWith(broker->http_url(), "https://")) << broker->http_url();
  const HttpTarget t = ParseUrl(broker->http_url());
  const TestPki& pki = SharedTestPki();
  auto get = [&](const std::string& prefix, const std::string& path) {
    std::unique_ptr<httplib::SSLClient> client =
        prefix.empty() ? std::make_unique<httplib::SSLClient>(t.host, t.port)
                       : std::make_unique<httplib::SSLClient>(t.host, t.port, prefix + ".pem",
                                                              prefix + ".key");
    client->set_ca_cert_path(pki.ca().c_str());
    client->enable_server_certificate_verification(true);
    client->set_read_timeout(10, 0);
    httplib::Result r = client->Get(path.c_str());
    return r ? r->status : -1;
  };
  EXPECT_EQ(get(OperatorPrefix(), "/api/health"), 200);
  EXPECT_EQ(get(OperatorPrefix(), "/metrics"), 200);
  EXPECT_EQ(get(OperatorPrefix(), "/"), 200);
  EXPECT_EQ(get(pki.dir + "/endpoints/DE-BKA/tls", "/api/health"), 403);
  EXPECT_EQ(get(pki.dir + "/endpoints/DE-BKA/tls", "/metrics"), 403);
  EXPECT_EQ(get("", "/api/health"), 401);
  EXPECT_EQ(get("", "/"), 401);
}

TEST(OperatorHttp, PlainHttpIsRefusedOutsideTheEmbeddedModeOrOffLoopback) {
  const TestPki& pki = SharedTestPki();
  broker::HttpServerOptions o;
  o.ca_path = pki.ca();
  o.cert_path = pki.dir + "/broker/tls.pem";
  o.key_path = pki.dir + "/broker/tls.key";
  o.security = broker::HttpSecurity::kPlain;
  o.listen_address = "0.0.0.0:0";
  o.embedded_kafka = true;
  EXPECT_TRUE(IsError(broker::HttpServer::Start(o, nullptr, nullptr),
                      absl::StatusCode::kFailedPrecondition, "loopback"));
  o.listen_address = "127.0.0.1:0";
  o.embedded_kafka = false;
  EXPECT_TRUE(IsError(broker::HttpServer::Start(o, nullptr, nullptr),
                      absl::StatusCode::kFailedPrecondition, "embedded Kafka"));
  // kAuto picks HTTPS off loopback, or on a real cluster.
  o.security = broker::HttpSecurity::kAuto;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto tls, broker::HttpServer::Start(o, nullptr, nullptr));
  EXPECT_TRUE(tls->tls());
  EXPECT_TRUE(absl::StartsWith(tls->url(), "https://"));
  tls.reset();
  o.embedded_kafka = true;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto plain, broker::HttpServer::Start(o, nullptr, nullptr));
  EXPECT_FALSE(plain->tls());
  o.listen_address = "0.0.0.0:0";
  LIAISON_ASSERT_OK_AND_ASSIGN(auto wide, broker::HttpServer::Start(o, nullptr, nullptr));
  EXPECT_TRUE(wide->tls()) << "embedded mode, but not loopback: TLS";
  EXPECT_FALSE(broker::IsLoopbackHost("10.0.0.1"));
  EXPECT_TRUE(broker::IsLoopbackHost("127.0.0.2"));
  EXPECT_TRUE(broker::IsLoopbackHost("::1"));
}

}  // namespace
}  // namespace liaison::testing
