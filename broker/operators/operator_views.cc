#include "broker/operators/operator_views.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"

namespace liaison::broker {
namespace {

constexpr int kMaxWindows = 10;

google::protobuf::Duration DurationProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t s = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(s);
  out.set_nanos(static_cast<int32_t>(d / absl::Nanoseconds(1)));
  return out;
}

absl::Duration FromDurationProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// Unset (zero) times stay unset.
void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  if (t == absl::Time() || t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  *out = ToProto(t);
}

}  // namespace

liaison::v1::FlowEventInfo ToFlowEventInfo(const FlowRecord& record) {
  const FlowEvent& e = record.event;
  liaison::v1::FlowEventInfo out;
  out.set_seq(record.seq);
  out.set_message_id(e.message_id);
  out.set_kind(e.kind);
  out.set_sender(e.sender);
  out.set_recipient(e.recipient);
  out.set_bytes(static_cast<int64_t>(e.bytes));
  out.set_outcome(e.outcome);
  for (const std::string& r : e.rule_ids) out.add_rule_ids(r);
  if (e.accepted_at != absl::Time() && e.decided_at != absl::Time()) {
    *out.mutable_latency() =
        DurationProto(std::max(absl::ZeroDuration(), e.decided_at - e.accepted_at));
  }
  SetTime(e.accepted_at, out.mutable_accepted_at());
  SetTime(e.decided_at, out.mutable_decided_at());
  out.set_event(std::string(FlowStepLabel(e.step)));
  return out;
}

liaison::v1::ListEndpointsResponse OperatorViews::Endpoints() const {
  liaison::v1::ListEndpointsResponse out;
  std::map<std::string, liaison::v1::EndpointState> by_id;
  for (const liaison::v1::Endpoint& e : deps_.chain()->registry().proto().endpoints()) {
    liaison::v1::EndpointState& s = by_id[e.id()];
    s.set_endpoint_id(e.id());
    s.set_country(e.country());
    s.set_display_name(e.display_name());
    s.set_in_registry(true);
    s.set_pending_in_kafka(-1);
  }
  for (const std::string& id : deps_.exchange->EndpointsWithStats()) {
    liaison::v1::EndpointState& s = by_id[id];
    if (s.endpoint_id().empty()) {
      s.set_endpoint_id(id);
      s.set_pending_in_kafka(-1);
    }
  }
  if (deps_.cluster != nullptr) {
    for (const ClusterSnapshot::Lag& lag : deps_.cluster->Snapshot().lags) {
      auto it = by_id.find(lag.endpoint);
      if (!lag.endpoint.empty() && it != by_id.end()) it->second.set_pending_in_kafka(lag.records);
    }
  }
  for (auto& [id, s] : by_id) {
    const EndpointDeliveryStats* stats = deps_.exchange->StatsFor(id);
    s.set_subscribers(stats->subscribers.load());
    s.set_backlog(stats->in_flight.load());
    s.set_delivered(stats->delivered.load());
    s.set_acknowledged(stats->acknowledged.load());
    s.set_duplicates_dropped(stats->duplicates_dropped.load());
    s.set_lost(stats->lost.load());
    s.set_expired(stats->expired.load());
    if (const int64_t ms = stats->last_seen_unix_ms.load(); ms > 0) {
      *s.mutable_last_seen() = ToProto(absl::FromUnixMillis(ms));
    }
    *out.add_endpoints() = std::move(s);
  }
  *out.mutable_generated_at() = ToProto(absl::Now());
  return out;
}

absl::StatusOr<liaison::v1::FlowStatsResponse> OperatorViews::Flows(
    const liaison::v1::FlowStatsRequest& request) const {
  std::vector<absl::Duration> windows;
  for (int i = 0; i < request.windows_size(); ++i) {
    const absl::Duration w = FromDurationProto(request.windows(i));
    if (w <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("windows[", i, "]: must be positive"));
    }
    windows.push_back(w);
  }
  if (windows.size() > kMaxWindows) {
    return absl::InvalidArgumentError(absl::StrCat("windows: at most ", kMaxWindows));
  }
  if (windows.empty()) windows = {absl::Minutes(1), absl::Minutes(15), absl::Hours(1)};
  liaison::v1::FlowStatsResponse out;
  for (absl::Duration w : windows) {
    const FlowWindowStats stats = deps_.operations->flows().Stats(w);
    liaison::v1::FlowWindow* window = out.add_windows();
    *window->mutable_window() = DurationProto(w);
    *window->mutable_covered() = DurationProto(stats.covered);
    window->set_decisions(stats.decisions);
    for (const FlowWindowStats::Flow& f : stats.flows) {
      liaison::v1::FlowCount* c = window->add_flows();
      c->set_sender(f.sender);
      c->set_recipient(f.recipient);
      c->set_kind(f.kind);
      c->set_outcome(f.outcome);
      c->set_count(f.count);
      c->set_bytes(f.bytes);
    }
    for (const FlowWindowStats::Rule& r : stats.rules) {
      liaison::v1::RuleCount* c = window->add_rules();
      c->set_rule_id(r.rule_id);
      c->set_outcome(r.outcome);
      c->set_count(r.count);
    }
  }
  *out.mutable_generated_at() = ToProto(absl::Now());
  return out;
}

liaison::v1::ListHoldsResponse OperatorViews::Holds() const {
  liaison::v1::ListHoldsResponse out;
  std::vector<HoldBook::Pending> pending = deps_.holds->List();
  std::sort(pending.begin(), pending.end(),
            [](const HoldBook::Pending& a, const HoldBook::Pending& b) {
              return std::tie(a.created_at, a.hold_id) < std::tie(b.created_at, b.hold_id);
            });
  for (const HoldBook::Pending& p : pending) {
    liaison::v1::HoldInfo* h = out.add_holds();
    h->set_hold_id(p.hold_id);
    h->set_message_id(p.message_id);
    h->set_sender(p.sender);
    h->set_recipient(p.recipient);
    h->set_outcome(p.outcome);
    for (const std::string& a : p.awaiting) h->add_awaiting(a);
    SetTime(p.created_at, h->mutable_created_at());
    SetTime(p.due, h->mutable_due());
  }
  *out.mutable_generated_at() = ToProto(absl::Now());
  return out;
}

liaison::v1::HealthResponse OperatorViews::Health() const {
  liaison::v1::HealthResponse out;
  const absl::Time now = absl::Now();
  out.set_node_id(deps_.node_id);
  *out.mutable_started_at() = ToProto(deps_.started_at);
  *out.mutable_uptime() = DurationProto(now - deps_.started_at);
  out.set_embedded_kafka(deps_.embedded_kafka);
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();
  out.set_policy_version(chain->policy_version());
  out.set_registry_version(chain->registry().version());
  out.set_policy_stage(deps_.policy_stage);
  if (deps_.policy_stage) {
    for (int32_t p : deps_.stage->OwnedPartitions()) out.add_owned_ingress_partitions(p);
  }
  out.set_holds_pending(static_cast<int64_t>(deps_.holds->size()));
  out.set_audit_entries_written(deps_.audit->entries_written());
  out.set_audit_topic_records(-1);
  if (deps_.cluster != nullptr) {
    const ClusterSnapshot snapshot = deps_.cluster->Snapshot();
    out.set_kafka_reachable(snapshot.reachable);
    out.set_kafka_error(snapshot.error);
    SetTime(snapshot.checked_at, out.mutable_kafka_checked_at());
    for (const ClusterSnapshot::Lag& lag : snapshot.lags) {
      liaison::v1::TopicLag* l = out.add_lags();
      l->set_topic(lag.topic);
      l->set_group(lag.group);
      l->set_records(lag.records);
    }
    out.set_audit_topic_records(snapshot.audit_records);
  }
  const IngressStats& ingress = deps_.ingress->stats();
  out.set_accepted(ingress.accepted.load());
  out.set_duplicates(ingress.duplicates.load());
  out.set_refused(ingress.rejected.load() + ingress.unavailable.load());
  out.set_kafka_records_lost(deps_.operations->records_lost());
  return out;
}

liaison::v1::LinkageIndexResponse OperatorViews::Linkage() const {
  liaison::v1::LinkageIndexResponse out;
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();
  const policy::Registry& registry = chain->registry();
  // Every registry endpoint in every epoch in force gets a row, 0 when it
  // has no entries, so a withdrawal reads as 0 rather than as a missing row.
  std::map<std::pair<std::string, uint32_t>, int64_t> counts;
  std::set<std::string> in_registry;
  for (const liaison::v1::Endpoint& e : registry.proto().endpoints()) {
    in_registry.insert(e.id());
    for (uint32_t epoch : registry.linkage_epochs()) counts[{e.id(), epoch}] = 0;
  }
  if (deps_.linkage != nullptr) {
    for (const auto& [key, n] : deps_.linkage->Counts()) {
      if (n > 0 || counts.count(key) > 0) counts[key] = n;
    }
    out.set_records_skipped(deps_.linkage->skipped());
  }
  int64_t total = 0;
  for (const auto& [key, n] : counts) {
    liaison::v1::LinkageIndexCount* c = out.add_counts();
    c->set_endpoint_id(key.first);
    c->set_epoch(key.second);
    c->set_entries(n);
    c->set_in_registry(in_registry.count(key.first) > 0);
    total += n;
  }
  for (uint32_t epoch : registry.linkage_epochs()) out.add_epochs_in_force(epoch);
  out.set_entries(total);
  out.set_max_entries_per_endpoint(registry.max_linkage_entries_per_endpoint());
  out.set_registry_version(registry.version());
  *out.mutable_generated_at() = ToProto(absl::Now());
  return out;
}

std::string OperatorViews::Metrics() const {
  MetricsText text;
  const std::shared_ptr<const policy::Chain> chain = deps_.chain();
  text.Family("liaison_node_info", "gauge",
              "Always 1; labels name the node and the policy and registry versions in force.");
  text.Sample("liaison_node_info",
              {{"node_id", deps_.node_id},
               {"policy_version", chain->policy_version()},
               {"registry_version", chain->registry().version()},
               {"embedded_kafka", deps_.embedded_kafka ? "true" : "false"}},
              int64_t{1});
  text.Gauge("liaison_node_start_time_seconds", "When this node started (Unix time).",
             absl::ToDoubleSeconds(deps_.started_at - absl::UnixEpoch()));
  text.Gauge("liaison_uptime_seconds", "Seconds since this node started.",
             absl::ToDoubleSeconds(absl::Now() - deps_.started_at));

  deps_.operations->Render(text);

  // Delivery state per endpoint (this node).
  std::set<std::string> endpoints;
  for (const liaison::v1::Endpoint& e : chain->registry().proto().endpoints()) {
    endpoints.insert(e.id());
  }
  for (const std::string& id : deps_.exchange->EndpointsWithStats()) endpoints.insert(id);
  text.Family("liaison_subscribers_connected", "gauge",
              "Subscribe streams open on this node, by endpoint.");
  for (const std::string& id : endpoints) {
    text.Sample("liaison_subscribers_connected", {{"endpoint", id}},
                deps_.exchange->StatsFor(id)->subscribers.load());
  }
  text.Family("liaison_delivery_backlog_items", "gauge",
              "Items pushed to an endpoint and not yet acknowledged (this node), by endpoint.");
  for (const std::string& id : endpoints) {
    text.Sample("liaison_delivery_backlog_items", {{"endpoint", id}},
                deps_.exchange->StatsFor(id)->in_flight.load());
  }

  text.Gauge("liaison_holds_pending",
             "Held or delayed deliveries waiting (consent, approval, "
             "timeout or delay end).",
             static_cast<double>(deps_.holds->size()));
  text.Gauge("liaison_holds_content_bytes",
             "Bytes of held content in this node's memory: holds written here whose record "
             "the node has not read back from Kafka yet (the book keeps metadata only).",
             static_cast<double>(deps_.holds->content_bytes()));
  text.Counter("liaison_audit_entries_written_total",
               "Audit entries this node wrote to the audit topic since it started.",
               deps_.audit->entries_written());
  text.Counter("liaison_audit_checkpoints_written_total",
               "Signed checkpoints of audit chain heads this node wrote since it started.",
               deps_.audit->checkpoints_written());

  if (deps_.policy_stage) {
    const PolicyStageStats& s = deps_.stage->stats();
    text.Gauge("liaison_policy_owned_partitions",
               "Ingress partitions this node's policy stage owns.",
               static_cast<double>(deps_.stage->OwnedPartitions().size()));
    text.Counter("liaison_policy_retries_total",
                 "Ingress records the policy stage had to process again (Kafka or audit "
                 "write failed).",
                 s.retries.load());
    text.Counter("liaison_policy_audit_failures_total",
                 "Audit writes that failed (nothing was forwarded; the record was retried).",
                 s.audit_failures.load());
    text.Counter("liaison_policy_unreadable_total",
                 "Ingress records that could not be read (dropped loudly).", s.unreadable.load());
    text.Counter("liaison_policy_forged_total",
                 "Ingress, held or stored-consent records refused because a signature does "
                 "not verify (dropped loudly).",
                 s.forged.load() + (deps_.consents != nullptr ? deps_.consents->refused() : 0));
  }

  // The case-linkage index: counts only, one series per row of Linkage().
  text.Family("liaison_linkage_index_entries", "gauge",
              "Live entries of the case-linkage index on this node, by publishing endpoint and "
              "linkage key epoch (counts only).");
  const liaison::v1::LinkageIndexResponse linkage = Linkage();
  for (const liaison::v1::LinkageIndexCount& c : linkage.counts()) {
    text.Sample("liaison_linkage_index_entries",
                {{"endpoint", c.endpoint_id()}, {"epoch", absl::StrCat(c.epoch())}}, c.entries());
  }

  if (deps_.cluster != nullptr) {
    const ClusterSnapshot snapshot = deps_.cluster->Snapshot();
    text.Gauge("liaison_kafka_reachable",
               "1 when the last metadata request to the Kafka cluster succeeded.",
               snapshot.reachable ? 1 : 0);
    if (snapshot.checked_at != absl::Time()) {
      text.Gauge("liaison_kafka_probe_timestamp_seconds",
                 "When the Kafka cluster was last probed (Unix time).",
                 absl::ToDoubleSeconds(snapshot.checked_at - absl::UnixEpoch()));
    }
    text.Family("liaison_consumer_lag_records", "gauge",
                "Records of a topic its consumer group has not committed yet (cluster-wide).");
    for (const ClusterSnapshot::Lag& lag : snapshot.lags) {
      if (lag.records < 0) continue;
      text.Sample("liaison_consumer_lag_records", {{"topic", lag.topic}, {"group", lag.group}},
                  lag.records);
    }
    if (snapshot.audit_records >= 0) {
      text.Gauge("liaison_audit_topic_records",
                 "Records in the audit topic (all nodes and chains, as retained): the length "
                 "of the audit trail, signed checkpoints included.",
                 static_cast<double>(snapshot.audit_records));
    }
  }
  return text.Take();
}

}  // namespace liaison::broker
