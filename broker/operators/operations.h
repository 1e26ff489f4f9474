// The broker's own Observer (observer.h): counts what the components report
// for /metrics and keeps the FlowLog behind the admin API and the dashboard.
// Metadata only, like the hooks it implements.
//
// Thread-safe; every hook is a few short critical sections. Must outlive
// every component that reports to it (Broker destroys it last).
#ifndef LIAISON_BROKER_OPERATORS_OPERATIONS_H_
#define LIAISON_BROKER_OPERATORS_OPERATIONS_H_

#include <string>

#include "broker/core/clock.h"
#include "broker/core/observer.h"
#include "broker/operators/flow_log.h"
#include "broker/operators/metrics.h"

namespace liaison::broker {

class Operations final : public Observer {
 public:
  // `clock` (not owned) times the flow windows. Every hook is also passed on
  // to `also` when set (a caller's own observer; not owned).
  explicit Operations(const Clock* clock, Observer* also = nullptr);

  void OnSend(const std::string& sender, absl::StatusCode code, bool duplicate,
              size_t bytes) override;
  void OnIngressProduce(absl::Duration latency, bool ok) override;
  void OnFlow(const FlowEvent& event) override;
  void OnDelivered(const std::string& endpoint, bool is_delivery) override;
  void OnAcknowledged(const std::string& endpoint, bool is_delivery,
                      absl::Duration since_accepted) override;
  void OnLoss(LossSource source, int64_t records) override;
  void OnRpc(const std::string& method, absl::StatusCode code) override;
  void OnStateRecordSkipped(const std::string& topic) override;
  void OnCommitFailed(const std::string& group) override;
  void OnEvidenceChunkDeletion(const std::string& outcome, int64_t records) override;

  // The HTTP server's own requests (handler = route, e.g. "/api/flows").
  void OnHttp(const std::string& handler, int status);

  FlowLog& flows() { return flows_; }
  const FlowLog& flows() const { return flows_; }
  int64_t records_lost() const { return lost_.Total(); }

  // Appends every counter and histogram family kept here.
  void Render(MetricsText& out) const;

 private:
  Observer* const also_;
  FlowLog flows_;
  CounterVec accepted_{"liaison_messages_accepted_total",
                       "Messages the front door accepted (durable in Kafka), by sender; "
                       "re-sent duplicates excluded.",
                       {"sender"}};
  CounterVec accepted_bytes_{"liaison_messages_accepted_bytes_total",
                             "Bytes of the signed messages accepted, by sender.",
                             {"sender"}};
  CounterVec duplicates_{"liaison_messages_duplicate_total",
                         "Re-sent messages answered from the deduplication window, by sender.",
                         {"sender"}};
  CounterVec rejected_{"liaison_messages_rejected_total",
                       "Sends the front door refused, by gRPC status code (the reason class).",
                       {"code"}};
  CounterVec decisions_{"liaison_policy_decisions_total",
                        "Policy decisions per (message, recipient), by kind, outcome and event "
                        "(decided, released, hold-timeout, expired-before-delivery).",
                        {"kind", "outcome", "event"}};
  CounterVec rule_hits_{"liaison_policy_rule_decisions_total",
                        "Decisions by the rule that decided the outcome (redacted, delayed, "
                        "held, rejected, or attached obligations to an ALLOW), by rule id and "
                        "outcome.",
                        {"rule_id", "outcome"}};
  CounterVec flows_total_{"liaison_flows_total",
                          "Policy decisions by sender endpoint, recipient endpoint and outcome "
                          "(the country-to-country matrix).",
                          {"sender", "recipient", "outcome"}};
  CounterVec pushed_{"liaison_deliveries_pushed_total",
                     "Items pushed to Subscribe streams (redeliveries included), by endpoint and "
                     "type (delivery, or notice/receipt).",
                     {"endpoint", "type"}};
  CounterVec acked_{"liaison_deliveries_acknowledged_total",
                    "Items acknowledged by their endpoint, by endpoint and type.",
                    {"endpoint", "type"}};
  CounterVec lost_{"liaison_kafka_records_lost_total",
                   "Records Kafka deleted before the broker read them (reported loudly to the "
                   "senders), by topic kind.",
                   {"topic_kind"}};
  CounterVec skipped_{"liaison_state_records_skipped_total",
                      "Records of a state topic that could not be read into their book and "
                      "were skipped (a bug or tampering: only the broker writes them), by topic.",
                      {"topic"}};
  CounterVec commit_failures_{"liaison_kafka_commit_failures_total",
                              "Offset commits Kafka refused, by consumer group (the records "
                              "are read again after a rebalance and deduplicated).",
                              {"group"}};
  CounterVec chunk_deletions_{"liaison_evidence_chunk_deletions_total",
                              "DeleteRecords requests on the evidence chunk topic, by outcome "
                              "(deleted, unsupported: the embedded mock, failed).",
                              {"outcome"}};
  CounterVec chunk_records_deleted_{"liaison_evidence_chunk_records_deleted_total",
                                    "Chunk records of erased items (or of abandoned uploads) "
                                    "deleted from the evidence chunk topic.",
                                    {}};
  CounterVec rpcs_{"liaison_grpc_requests_total",
                   "Finished gRPC calls, by method and status code.",
                   {"method", "code"}};
  CounterVec http_{"liaison_http_requests_total",
                   "HTTP requests to the dashboard and metrics server, by handler and status.",
                   {"handler", "status"}};
  HistogramVec end_to_end_{"liaison_end_to_end_latency_seconds",
                           "From the front door's acceptance to the recipient's acknowledgement "
                           "(deliveries).",
                           {},
                           LongLatencyBounds()};
  HistogramVec decision_{"liaison_policy_decision_latency_seconds",
                         "From the front door's acceptance to the policy decision "
                         "(event=decided, policy clock).",
                         {},
                         LongLatencyBounds()};
  HistogramVec produce_{
      "liaison_kafka_produce_latency_seconds",
      "Ingress writes to Kafka: produce to acknowledgement (acks=all), by result.",
      {"result"},
      ShortLatencyBounds()};
};

// "KIND_ALERT" -> "ALERT", "OUTCOME_HOLD" -> "HOLD", "INVALID_ARGUMENT".
std::string KindLabel(liaison::v1::Kind kind);
std::string OutcomeLabel(liaison::v1::Outcome outcome);
std::string CodeLabel(absl::StatusCode code);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_OPERATIONS_H_
