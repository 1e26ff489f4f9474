// What the policy stage writes for one message, receipt, expiry, released
// hold or erasure: audit entries (written first), then records. Built by the
// applier (applier.h) from a plan, or directly by the hold book, and written
// by the stage (PolicyStage::Write, HoldResolver::Write).
#ifndef LIAISON_BROKER_STAGE_OUTPUTS_H_
#define LIAISON_BROKER_STAGE_OUTPUTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/observer.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {

struct Outputs {
  struct Record {
    std::string topic;
    std::string key;
    std::string value;
    int32_t partition = kafka::kAnyPartition;
    // For deliveries: the index entry to write once the record's offset is known.
    std::optional<liaison::v1::DeliveryIndexEntry> index;
    // Batch signing: `value` is a DeliveryItem without its signature and
    // `leaf` its serialised Statement; the stage appends the signed leaf
    // (DeliveryItem.batched) once the batch is signed, after the audit
    // entries are written. Empty: `value` is complete.
    std::string leaf = {};
    // Batch signing of a record that groups several items (a receipt batch
    // for one sender, DeliveryItem.grouped): `value` is the outer item
    // (item_id, recipient), `group_items` the unsigned items and
    // `group_leaves` their statements; once the batch is signed the stage
    // appends each item, with its signed leaf, to `value`. Empty otherwise.
    std::vector<std::string> group_items = {};
    std::vector<std::string> group_leaves = {};
    // A tombstone of `key` (a null value: deletes the key of a compacted
    // topic; `value` is ignored), e.g. an erased evidence item's keys.
    bool tombstone = false;
  };
  std::vector<liaison::v1::AuditEntry> audit;
  std::vector<Record> records;
  std::vector<liaison::v1::HeldDelivery> held;
  std::vector<FlowEvent> flow;
  // The evidence item these outputs erase (the evidence keeper's erasure):
  // the stage remembers it when it seals the audit entries, and a download
  // of the item it seals after that is recorded as refused.
  std::string erased_item = {};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_OUTPUTS_H_
