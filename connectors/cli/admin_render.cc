#include "connectors/cli/admin_render.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/proto_time.h"

namespace liaison::cli {
namespace {

std::string Strip(const std::string& name, absl::string_view prefix) {
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

std::string Outcome(liaison::v1::Outcome o) {
  return Strip(liaison::v1::Outcome_Name(o), "OUTCOME_");
}

std::string Kind(liaison::v1::Kind k) { return Strip(liaison::v1::Kind_Name(k), "KIND_"); }

std::string Time(const google::protobuf::Timestamp& ts, bool has) {
  if (!has) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", FromProto(ts), absl::UTCTimeZone());
}

std::string Clock(const google::protobuf::Timestamp& ts, bool has) {
  if (!has) return "-";
  return absl::FormatTime("%H:%M:%SZ", FromProto(ts), absl::UTCTimeZone());
}

// A span as an operator reads it: whole seconds from a minute on
// ("2h3m46s"), milliseconds from a second on ("3.25s"), microseconds below
// ("870us"), never the nanoseconds the wire carries.
std::string Span(const google::protobuf::Duration& d) {
  const absl::Duration span = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  const absl::Duration unit = span >= absl::Minutes(1)   ? absl::Seconds(1)
                              : span >= absl::Seconds(1) ? absl::Milliseconds(1)
                                                         : absl::Microseconds(1);
  return absl::FormatDuration(absl::Trunc(span, unit));
}

std::string Count(int64_t n) { return n < 0 ? "?" : absl::StrCat(n); }

// "1 record", "3 records", "unknown" for -1: a figure with its unit.
std::string Counted(int64_t n, absl::string_view one, absl::string_view many) {
  if (n < 0) return "unknown";
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// What each column means, printed under the table (the dashboard shows the
// same texts as tooltips, broker/operators/dashboard/index.html).
std::string Legend(const std::vector<std::pair<std::string, std::string>>& entries,
                   absl::string_view indent) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [column, meaning] : entries) {
    rows.push_back({absl::StrCat(indent, column), meaning});
  }
  return Table(rows);
}

}  // namespace

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string RenderEndpoints(const liaison::v1::ListEndpointsResponse& endpoints) {
  std::vector<std::vector<std::string>> rows = {{"ENDPOINT", "COUNTRY", "SUBSCRIBERS", "BACKLOG",
                                                 "PENDING", "DELIVERED", "ACKED", "LAST SEEN"}};
  for (const liaison::v1::EndpointState& e : endpoints.endpoints()) {
    rows.push_back({absl::StrCat(e.endpoint_id(), e.in_registry() ? "" : " (not in registry)"),
                    e.country(), absl::StrCat(e.subscribers()), absl::StrCat(e.backlog()),
                    Count(e.pending_in_kafka()), absl::StrCat(e.delivered()),
                    absl::StrCat(e.acknowledged()), Time(e.last_seen(), e.has_last_seen())});
  }
  return Table(rows) + "\n" +
         Legend({{"SUBSCRIBERS", "Subscribe streams open on this node"},
                 {"BACKLOG", "items pushed to the endpoint on this node, not yet acknowledged"},
                 {"PENDING",
                  "records of its delivery topic its consumer group has not "
                  "committed, all nodes (? = unknown)"},
                 {"DELIVERED", "items pushed on this node since start (redeliveries included)"},
                 {"ACKED", "items the endpoint acknowledged on this node since start"},
                 {"LAST SEEN", "last subscribe or acknowledgement on this node (UTC)"}},
                "");
}

std::string RenderFlows(const liaison::v1::FlowStatsResponse& flows) {
  std::string out;
  bool tables = false;
  for (const liaison::v1::FlowWindow& w : flows.windows()) {
    absl::StrAppend(&out, "last ", Span(w.window()), " (figures cover ", Span(w.covered()),
                    "): ", w.decisions(), " decisions\n");
    if (w.flows_size() > 0) {
      std::vector<std::vector<std::string>> rows = {
          {"  SENDER", "RECIPIENT", "KIND", "OUTCOME", "COUNT", "BYTES"}};
      for (const liaison::v1::FlowCount& f : w.flows()) {
        rows.push_back({"  " + f.sender(), f.recipient(), Kind(f.kind()), Outcome(f.outcome()),
                        absl::StrCat(f.count()), absl::StrCat(f.bytes())});
      }
      out += Table(rows);
      tables = true;
    }
    if (w.rules_size() > 0) {
      std::vector<std::vector<std::string>> rows = {{"  RULE", "OUTCOME", "DECISIONS"}};
      for (const liaison::v1::RuleCount& r : w.rules()) {
        rows.push_back({"  " + r.rule_id(), Outcome(r.outcome()), absl::StrCat(r.count())});
      }
      out += Table(rows);
      tables = true;
    }
  }
  if (tables) {
    out += "\n" + Legend({{"COUNT", "decisions (message, recipient) in the window"},
                          {"BYTES", "size of the signed messages, summed"},
                          {"DECISIONS",
                           "decisions whose outcome the rule decided (rules that "
                           "merely evaluated are not counted)"}},
                         "");
  }
  return out;
}

std::string RenderHolds(const liaison::v1::ListHoldsResponse& holds) {
  if (holds.holds_size() == 0) return "no held messages\n";
  std::vector<std::vector<std::string>> rows = {
      {"HOLD", "MESSAGE", "SENDER → RECIPIENT", "OUTCOME", "AWAITING", "SINCE", "DUE"}};
  for (const liaison::v1::HoldInfo& h : holds.holds()) {
    rows.push_back({h.hold_id(), h.message_id(), absl::StrCat(h.sender(), " → ", h.recipient()),
                    Outcome(h.outcome()), absl::StrJoin(h.awaiting(), "; "),
                    Time(h.created_at(), h.has_created_at()), Time(h.due(), h.has_due())});
  }
  return Table(rows) + "\n" +
         Legend({{"OUTCOME", "HOLD (waits for a consent) or DELAY (waits for a time)"},
                 {"AWAITING", "who must act: endpoint (consent kind, rule)"},
                 {"SINCE", "when the hold was placed (UTC)"},
                 {"DUE", "hold timeout, or end of the delay (UTC)"}},
                "");
}

std::string RenderLinkage(const liaison::v1::LinkageIndexResponse& linkage) {
  std::string out =
      absl::StrCat("linkage index on this node: ", Counted(linkage.entries(), "entry", "entries"),
                   "; epochs in force: ", absl::StrJoin(linkage.epochs_in_force(), ", "),
                   "; at most ", linkage.max_entries_per_endpoint(), " entries per endpoint; ",
                   Counted(linkage.records_skipped(), "record", "records"), " skipped\n");
  if (linkage.counts_size() == 0) return out;
  std::vector<std::vector<std::string>> rows = {{"ENDPOINT", "EPOCH", "ENTRIES"}};
  for (const liaison::v1::LinkageIndexCount& c : linkage.counts()) {
    rows.push_back({absl::StrCat(c.endpoint_id(), c.in_registry() ? "" : " (not in registry)"),
                    absl::StrCat(c.epoch()), absl::StrCat(c.entries())});
  }
  return out + Table(rows) + "\n" +
         Legend({{"EPOCH", "linkage key epoch the entries were blinded under"},
                 {"ENTRIES",
                  "live index entries (blinded identifiers of open cases) the endpoint "
                  "published, on this node; expired ones count until the next purge (10 s)"},
                 {"skipped",
                  "records of liaison.linkage.index this node could not apply since it "
                  "started (must stay 0)"}},
                "");
}

std::string RenderHealth(const liaison::v1::HealthResponse& h) {
  std::vector<std::vector<std::string>> rows = {
      {"node", h.node_id()},
      {"started", Time(h.started_at(), h.has_started_at())},
      {"uptime", Span(h.uptime())},
      {"kafka", absl::StrCat(h.kafka_reachable() ? "reachable" : "UNREACHABLE",
                             h.embedded_kafka() ? " (embedded mock cluster, in memory)" : "",
                             h.kafka_error().empty() ? "" : ": " + h.kafka_error())},
      {"kafka checked", Time(h.kafka_checked_at(), h.has_kafka_checked_at())},
      {"policy version", h.policy_version()},
      {"registry version", h.registry_version()},
      {"policy stage",
       h.policy_stage()
           ? absl::StrCat("ingress partitions ", absl::StrJoin(h.owned_ingress_partitions(), ","))
           : "not run on this node"},
      {"holds pending", Counted(h.holds_pending(), "hold", "holds")},
      // One figure per line, with its unit, worded as on the dashboard: the
      // entries this node wrote and the records in the topic differ (one
      // record holds the entries of one message or event).
      {"audit entries written",
       Counted(h.audit_entries_written(), "entry", "entries") + " (this node)"},
      {"audit topic", Counted(h.audit_topic_records(), "record", "records")},
      {"sends", absl::StrCat(h.accepted(), " accepted, ", h.duplicates(), " duplicates, ",
                             h.refused(), " refused")},
      {"kafka records lost", absl::StrCat(h.kafka_records_lost())},
  };
  for (const liaison::v1::TopicLag& l : h.lags()) {
    rows.push_back({absl::StrCat("lag ", l.topic()), Counted(l.records(), "record", "records")});
  }
  return Table(rows);
}

std::string RenderEvent(const liaison::v1::FlowEventInfo& e) {
  return absl::StrCat("#", e.seq(), " ", Clock(e.decided_at(), e.has_decided_at()), " ",
                      e.message_id(), " ", Kind(e.kind()), " ", e.sender(), " → ", e.recipient(),
                      " ", e.bytes(), " B ", Outcome(e.outcome()),
                      e.rule_ids_size() > 0 ? " [" + absl::StrJoin(e.rule_ids(), ",") + "]" : "",
                      e.has_latency() ? " in " + Span(e.latency()) : "", " (", e.event(), ")");
}

std::string RenderTop(const TopView& v) {
  const liaison::v1::HealthResponse& h = v.health;
  std::string out = absl::StrCat(
      "liaison admin top — node ", h.node_id(), ", up ", Span(h.uptime()), ", Kafka ",
      h.kafka_reachable() ? "reachable" : "UNREACHABLE", ", policy ", h.policy_version(),
      ", registry ", h.registry_version(), "\n", "sends: ", h.accepted(), " accepted, ",
      h.refused(), " refused; holds pending ", h.holds_pending(), "; audit entries written ",
      Counted(h.audit_entries_written(), "entry", "entries"), " (this node)\n\n");
  if (v.flows.windows_size() > 0) {
    const liaison::v1::FlowWindow& w = v.flows.windows(0);
    // sender → recipient: counts by outcome.
    std::map<std::pair<std::string, std::string>, std::map<std::string, int64_t>> cells;
    for (const liaison::v1::FlowCount& f : w.flows()) {
      cells[{f.sender(), f.recipient()}][Outcome(f.outcome())] += f.count();
    }
    absl::StrAppend(&out, "flows, last ", Span(w.window()), ": ", w.decisions(), " decisions\n");
    std::vector<std::vector<std::string>> rows = {{"  SENDER → RECIPIENT", "DECISIONS"}};
    for (const auto& [pair, outcomes] : cells) {
      std::vector<std::string> parts;
      for (const auto& [o, n] : outcomes) parts.push_back(absl::StrCat(o, " ", n));
      rows.push_back(
          {absl::StrCat("  ", pair.first, " → ", pair.second), absl::StrJoin(parts, ", ")});
    }
    out +=
        Table(rows) +
        Legend({{"  DECISIONS", "decisions per outcome, sender → recipient, in the window"}}, "") +
        "\n";
  }
  out += RenderEndpoints(v.endpoints) + "\n";
  absl::StrAppend(&out, "held messages: ", v.holds.holds_size(), "\n");
  if (v.holds.holds_size() > 0) out += RenderHolds(v.holds);
  out += "\nrecent decisions:\n";
  for (auto it = v.events.rbegin(); it != v.events.rend(); ++it) {
    absl::StrAppend(&out, "  ", RenderEvent(*it), "\n");
  }
  return out;
}

}  // namespace liaison::cli
