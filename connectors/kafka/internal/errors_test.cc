#include "connectors/kafka/internal/errors.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace liaison::kafka::internal {
namespace {

TEST(KafkaErrors, MapsToCanonicalCodes) {
  EXPECT_TRUE(ToStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR__TIMED_OUT), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR__QUEUE_FULL), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC), absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR__FATAL), absl::StatusCode::kInternal);
  EXPECT_EQ(CodeFor(RD_KAFKA_RESP_ERR_UNKNOWN), absl::StatusCode::kUnknown);
}

TEST(KafkaErrors, MessageNamesTheErrorAndTheContext) {
  absl::Status s = ToStatus(RD_KAFKA_RESP_ERR__QUEUE_FULL, "produce to t");
  EXPECT_TRUE(absl::StrContains(s.message(), "_QUEUE_FULL")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "produce to t")) << s;
}

TEST(KafkaErrors, DeliveryFailuresThatMayPassOnRetryAreUnavailable) {
  for (rd_kafka_resp_err_t err : {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__PURGE_QUEUE,
                                  RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, RD_KAFKA_RESP_ERR__TIMED_OUT,
                                  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
                                  RD_KAFKA_RESP_ERR_UNKNOWN}) {
    EXPECT_EQ(DeliveryStatus(err, false).code(), absl::StatusCode::kUnavailable)
        << rd_kafka_err2name(err);
  }
  EXPECT_EQ(DeliveryStatus(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, false).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeliveryStatus(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, false).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(DeliveryStatus(RD_KAFKA_RESP_ERR__QUEUE_FULL, false).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DeliveryStatus(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, true).code(),
            absl::StatusCode::kInternal);
  EXPECT_TRUE(DeliveryStatus(RD_KAFKA_RESP_ERR_NO_ERROR, true).ok());
}

TEST(KafkaErrors, ConnectionErrorsNameTheirCause) {
  EXPECT_EQ(DescribeConnectionError(RD_KAFKA_RESP_ERR__SSL,
                                    "ssl://127.0.0.1:9093/bootstrap: SSL handshake failed"),
            "TLS: ssl://127.0.0.1:9093/bootstrap: SSL handshake failed");
  EXPECT_EQ(DescribeConnectionError(RD_KAFKA_RESP_ERR__TRANSPORT,
                                    "ssl://127.0.0.1:9093/bootstrap: SSL transport error while "
                                    "reading: tlsv1 alert unknown ca"),
            "TLS: ssl://127.0.0.1:9093/bootstrap: SSL transport error while reading: tlsv1 alert "
            "unknown ca");
  EXPECT_TRUE(absl::StartsWith(
      DescribeConnectionError(RD_KAFKA_RESP_ERR__TRANSPORT,
                              "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: "
                              "Connection refused"),
      "refused: "));
  EXPECT_TRUE(absl::StartsWith(DescribeConnectionError(RD_KAFKA_RESP_ERR__RESOLVE, "x"), "DNS: "));
  EXPECT_EQ(DescribeConnectionError(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down"),
            "");
}

TEST(KafkaErrors, WithBootstrapKeepsTheCodeAndAddsTheAddress) {
  const absl::Status s = WithBootstrap(absl::DeadlineExceededError("kafka metadata: _TIMED_OUT"),
                                       "127.0.0.1:9093", "TLS: x");
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.message(),
            "kafka metadata: _TIMED_OUT; bootstrap 127.0.0.1:9093: last connection error: TLS: x");
  EXPECT_EQ(WithBootstrap(absl::UnavailableError("u"), "h:1", "").message(), "u; bootstrap h:1");
  EXPECT_TRUE(WithBootstrap(absl::OkStatus(), "h:1", "x").ok());
}

}  // namespace
}  // namespace liaison::kafka::internal
