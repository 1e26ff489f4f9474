// Looks up `liaison.index.deliver`: which items were written at which offsets
// of an endpoint's delivery topic. Used only when Kafka lost a range, to name
// the lost messages; a full scan is acceptable on that rare path.
#ifndef LIAISON_BROKER_DELIVERY_DELIVERY_INDEX_H_
#define LIAISON_BROKER_DELIVERY_DELIVERY_INDEX_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/core/observer.h"
#include "connectors/kafka/client_config.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {

// Entries for `recipient` with partition == `partition` and offset in [from, to),
// reading `index_topic` to its end. DeadlineExceeded when that takes longer
// than `timeout`. A record that is not a DeliveryIndexRecord is skipped,
// logged (`delivery.unreadable_index_record`) and counted
// (Observer::OnStateRecordSkipped; `observer` may be null).
absl::StatusOr<std::vector<liaison::v1::DeliveryIndexEntry>> FindIndexed(
    const kafka::ClientConfig& config, const std::string& index_topic, std::string_view recipient,
    int32_t partition, int64_t from, int64_t to, absl::Duration timeout,
    Observer* observer = nullptr);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_DELIVERY_DELIVERY_INDEX_H_
