// The one place where librdkafka error codes become absl::Status.
//
// Messages carry the librdkafka error name and a short context (which call,
// which topic/partition); never payload bytes, keys or property values.
#ifndef LIAISON_CONNECTORS_KAFKA_INTERNAL_ERRORS_H_
#define LIAISON_CONNECTORS_KAFKA_INTERNAL_ERRORS_H_

#include <librdkafka/rdkafka.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace liaison::kafka::internal {

// The canonical code for a librdkafka / Kafka protocol error:
//   timeouts of a request, broker or coordinator trouble, anything librdkafka
//   retries by itself                 -> Unavailable
//   __TIMED_OUT of a blocking call    -> DeadlineExceeded
//   record too large, bad argument    -> InvalidArgument
//   authorisation                     -> PermissionDenied
//   authentication                    -> Unauthenticated
//   local queue full                  -> ResourceExhausted
//   unknown topic or partition        -> NotFound
//   topic already exists              -> AlreadyExists
//   feature not offered by the broker -> Unimplemented
//   wrong client state                -> FailedPrecondition
//   __FATAL (client unusable)         -> Internal
//   anything else                     -> Unknown
absl::StatusCode CodeFor(rd_kafka_resp_err_t err);

// `context` names the operation, e.g. "produce", "commit", "query watermarks".
// NO_ERROR gives OkStatus().
absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context);
// Same, with librdkafka's own description (an rd_kafka_error_t string, an
// event string) instead of rd_kafka_err2str(err).
absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context, absl::string_view detail);
// Takes ownership of `error` (may be null = OK) and destroys it.
absl::Status ToStatus(rd_kafka_error_t* error, absl::string_view context);

// The status of a delivery report (producer.h DeliveryReport::status). Every
// error that might go away by sending again (timeouts, brokers down,
// retriable protocol errors, purge at shutdown) is Unavailable; permanent ones
// keep their specific code. `fatal` = the idempotent producer raised a fatal
// error: then every failure is Internal.
absl::Status DeliveryStatus(rd_kafka_resp_err_t err, bool fatal);

// A client's connection-level error (an error event: TLS handshake,
// refused connection, name resolution...) as "<cause>: <librdkafka's text>",
// cause one of TLS, authentication, DNS, refused, connection. librdkafka's
// text names the broker address and, for TLS, OpenSSL's reason (e.g.
// "certificate verify failed", "alert unknown ca"). Empty for errors that
// say nothing about a connection (__ALL_BROKERS_DOWN only counts brokers).
std::string DescribeConnectionError(rd_kafka_resp_err_t err, absl::string_view reason);

// `status` with "; bootstrap <servers>[: last connection error: <error>]"
// appended (same code): what an operator needs when Kafka cannot be reached.
absl::Status WithBootstrap(const absl::Status& status, absl::string_view bootstrap,
                           absl::string_view connection_error);

}  // namespace liaison::kafka::internal

#endif  // LIAISON_CONNECTORS_KAFKA_INTERNAL_ERRORS_H_
